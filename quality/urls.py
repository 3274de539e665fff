from quality.views import desk, tablet

urlpatterns = [*tablet.urlpatterns, *desk.urlpatterns]
