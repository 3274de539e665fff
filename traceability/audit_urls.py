"""The audit-trail pages (included from the project's URLconf)."""

from django.urls import path

from traceability import audit_views

urlpatterns = [
    path("audit/", audit_views.audit_trail, name="audit_trail"),
    path("audit/seal/", audit_views.audit_seal, name="audit_seal"),
    path("audit/<str:model>/<int:pk>/", audit_views.audit_record, name="audit_record"),
]
