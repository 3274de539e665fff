"""The production API's routes (mounted under /api/v1/ by `config.urls`)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from workorders.api import labor, losses, lots, views

router = SimpleRouter()
router.register("events", views.EventViewSet, basename="productionevent")  # the busiest: matched first
router.register("products", views.ProductViewSet)
router.register("bom-lines", views.BomLineViewSet)
router.register("routings", views.RoutingViewSet)
router.register("reason-codes", views.ReasonCodeViewSet)
router.register("work-orders", views.WorkOrderViewSet, basename="workorder")
router.register("lots", lots.LotViewSet, basename="lot")

urlpatterns = [
    path("", include(router.urls)),
    path("oee/", views.oee, name="api_oee"),
    path("losses/", losses.losses, name="api_losses"),
    path("labor/", labor.labor, name="api_labor"),
    path("operations/<int:pk>/consume/", lots.operation_consume, name="api_operation_consume"),
]
