from workorders.views import board, dashboard, handover, labor, losses, lots, tablet

urlpatterns = [
    *tablet.urlpatterns,
    *board.urlpatterns,
    *dashboard.urlpatterns,
    *lots.urlpatterns,
    *losses.urlpatterns,
    *handover.urlpatterns,
    *labor.urlpatterns,
]
