from django.urls import path

from traceability.record import views

urlpatterns = [
    path("records/", views.record_list, name="record_list"),
    path("records/<str:number>/", views.record_page, name="record_page"),
    path("records/<str:number>/comments/", views.record_comment, name="record_comment"),
    path(
        "records/<str:number>/release/", views.record_decide, {"decision": "release"}, name="record_release"
    ),
    path("records/<str:number>/reject/", views.record_decide, {"decision": "reject"}, name="record_reject"),
    path("records/<str:number>/record.pdf", views.record_export_pdf, name="record_pdf"),
]
