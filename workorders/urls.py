from workorders.views import board, dashboard, tablet

urlpatterns = [*tablet.urlpatterns, *board.urlpatterns, *dashboard.urlpatterns]
