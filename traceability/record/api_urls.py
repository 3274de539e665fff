from django.urls import path

from traceability.record import api

urlpatterns = [
    path("records/", api.RecordListView.as_view(), name="api_records"),
    path("records/<str:number>/", api.RecordView.as_view(), name="api_record"),
    path(
        "records/<str:number>/release/",
        api.RecordDecisionView.as_view(decision="release"),
        name="api_record_release",
    ),
    path(
        "records/<str:number>/reject/",
        api.RecordDecisionView.as_view(decision="reject"),
        name="api_record_reject",
    ),
]
