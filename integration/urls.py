from integration.views import urlpatterns

__all__ = ["urlpatterns"]
