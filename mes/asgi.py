"""ASGI entry point: HTTP through Django, websockets through Channels (authenticated by session)."""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")
# The web server pools its PostgreSQL connections (see DATABASES in settings); workers and
# commands keep a connection of their own.
os.environ.setdefault("DB_POOL", "on")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from mes.routing import websocket_urlpatterns  # noqa: E402
from workorders.live import broadcast  # noqa: E402

line_simulator = None  # the embedded demo's simulator thread, when SIMULATE_LINES is on
if settings.SIMULATE_LINES:
    from integration.mqtt.simulator import start_in_server

    line_simulator = start_in_server()

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


async def application(scope, receive, send):
    """The router, on the loop that live deltas are sent from (see `workorders.live.broadcast`)."""
    broadcast.use_server_loop(asyncio.get_running_loop())
    return await router(scope, receive, send)
