"""Under /api/v1/erp/."""

from django.urls import path

from integration import api

urlpatterns = [
    path("products/<str:key>/", api.ProductView.as_view(), name="erp_product"),
    path("boms/<str:key>/", api.BomView.as_view(), name="erp_bom"),
    path("routings/<str:product>/<str:code>/", api.RoutingView.as_view(), name="erp_routing"),
    path("work-orders/<str:key>/", api.WorkOrderView.as_view(), name="erp_work_order"),
    path("bulk/", api.BulkView.as_view(), name="erp_bulk"),
]
