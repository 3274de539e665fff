from django.urls import include, path

from traceability import api, api_shipping

urlpatterns = [
    path("trace/<str:code>/", api.TraceView.as_view(), name="api_trace"),
    path("reports/", api.ReportJobListCreate.as_view(), name="api_reports"),
    path("reports/<int:pk>/", api.ReportJobDetail.as_view(), name="api_report_detail"),
    path("reports/<int:pk>/download/", api.ReportJobDownload.as_view(), name="api_report_download"),
    path("shipments/", api_shipping.ShipmentListCreate.as_view(), name="api_shipments"),
    path("", include("traceability.record.api_urls")),
]
