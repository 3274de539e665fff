from django.urls import include, path
from rest_framework.routers import SimpleRouter

from workorders import api, api_lots

router = SimpleRouter()
router.register("products", api.ProductViewSet)
router.register("bom-lines", api.BomLineViewSet)
router.register("routings", api.RoutingViewSet)
router.register("reason-codes", api.ReasonCodeViewSet)
router.register("work-orders", api.WorkOrderViewSet, basename="workorder")
router.register("events", api.EventViewSet, basename="productionevent")
router.register("lots", api_lots.LotViewSet, basename="lot")

urlpatterns = [
    path("oee/", api.oee, name="api_oee"),
    path("operations/<int:pk>/consume/", api_lots.operation_consume, name="api_operation_consume"),
    path("", include(router.urls)),
]
