from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from mes import api, identity_views, metrics, views

router = DefaultRouter()
router.register("sites", api.SiteViewSet)
router.register("lines", api.LineViewSet)
router.register("workstations", api.WorkstationViewSet)
router.register("shifts", api.ShiftViewSet)

api_v1 = [
    path("", include("workorders.api.urls")),  # production events first: the busiest routes
    path("me/", api.me, name="api_me"),
    path("auth/token/", api.auth_token, name="api_auth_token"),
    path("", include(router.urls)),
    path("", include("quality.api_urls")),
    path("", include("traceability.api_audit")),
    path("", include("traceability.api_urls")),
]

# Django tries the patterns in order, and every include with an empty prefix that a path falls
# through costs a walk of all its patterns. The probes and the API, which machines, tablets and
# the ERP call many times a second, come first under prefixes of their own; the pages follow.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path("metrics", metrics.serve, name="metrics"),
    path("api/v1/erp/", include("integration.api_urls")),
    path("api/v1/", include(api_v1)),
    path("", views.home, name="home"),
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("oidc/authenticate/", identity_views.StartSignIn.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", identity_views.FinishSignIn.as_view(), name="oidc_authentication_callback"),
    path("tablet/", views.tablet_home, name="tablet_home"),
    path("tablet/sign-in/", views.tablet_sign_in, name="tablet_sign_in"),
    path("plant/", views.plant_overview, name="plant_overview"),
    path("tablets/", views.tablet_list, name="tablet_list"),
    path("tablets/<int:pk>/unbind/", views.tablet_revoke, name="tablet_revoke"),
    path("", include("mes.people_views")),
    path("", include("mes.language_views")),
    # The scripts' translations (locale/<lang>/LC_MESSAGES/djangojs.po), served by the app: no CDN.
    # Kept an hour per language (the cache key carries the active language); pages link it with
    # their language in the query, so a browser's copy never answers for another language.
    path("jsi18n/", cache_page(3600)(JavaScriptCatalog.as_view()), name="javascript_catalog"),
    path("", include("workorders.urls")),
    path("", include("integration.urls")),
    path("", include("quality.urls")),
    path("", include("traceability.audit_urls")),
    path("", include("traceability.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api_schema"),
    path(
        "api/docs/",
        # The split view serves Swagger UI's start-up script from a URL, not inline (CSP).
        SpectacularSwaggerSplitView.as_view(url_name="api_schema", permission_classes=[IsAuthenticated]),
        name="api_docs",
    ),
]

handler403 = "mes.views.forbidden"
