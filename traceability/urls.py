from django.urls import include, path

from traceability.views import reports, shipping, trace

urlpatterns = [
    path("trace/", trace.trace_page, name="trace"),
    path("trace/<str:code>/export.<str:fmt>", trace.trace_export, name="trace_export"),
    path("reports/", reports.report_list, name="report_list"),
    path("reports/new/", reports.report_create, name="report_create"),
    path("reports/<int:pk>/", reports.report_detail, name="report_detail"),
    path("reports/<int:pk>/download/", reports.report_download, name="report_download"),
    path("shipments/", shipping.ship, name="lot_ship"),
    path("", include("traceability.record.urls")),
]
