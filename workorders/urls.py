from workorders.views import board, dashboard, lots, tablet

urlpatterns = [*tablet.urlpatterns, *board.urlpatterns, *dashboard.urlpatterns, *lots.urlpatterns]
