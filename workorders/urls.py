from workorders.views import board, dashboard, losses, lots, tablet

urlpatterns = [
    *tablet.urlpatterns,
    *board.urlpatterns,
    *dashboard.urlpatterns,
    *lots.urlpatterns,
    *losses.urlpatterns,
]
