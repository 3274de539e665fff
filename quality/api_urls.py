from django.urls import include, path
from rest_framework.routers import SimpleRouter

from quality import api

router = SimpleRouter()
router.register("checklist-templates", api.TemplateViewSet, basename="checklisttemplate")
router.register("checklist-runs", api.RunViewSet, basename="checklistrun")
router.register("nonconformances", api.NonconformanceViewSet, basename="nonconformance")
router.register("holds", api.HoldViewSet, basename="hold")
router.register("signatures", api.SignatureViewSet, basename="signature")

urlpatterns = [path("", include(router.urls))]
