from quality.views import desk, files, tablet

urlpatterns = [*tablet.urlpatterns, *desk.urlpatterns, *files.urlpatterns]
