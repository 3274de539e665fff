"""ASGI entry point: HTTP through Django, websockets through Channels (authenticated by session).

HTTP requests run their whole middleware chain and view in one worker thread (`OneHopASGIHandler`).
"""

import asyncio
import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The web server pools its PostgreSQL connections (see DATABASES in settings); workers and
# commands keep a connection of their own.
os.environ.setdefault("DB_POOL", "on")


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain built synchronously and run, with the view,
    in the request's one worker thread: one hop from the event loop and one back per request.

    Every view is synchronous (the ORM is), and so are most middlewares: Django's own run their
    `process_request`/`process_response` through `sync_to_async` when the chain is async, one hop
    each, and a sync-only middleware (WhiteNoise) turns the chain back into a sync one through
    `async_to_sync`. Built the default way, a request hopped between the loop and its thread about
    ten times, some 2 ms of CPU on a request that does nothing (`/ping`). Reading the body,
    sending the response and the request signals stay on the loop as in Django's handler.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
django_asgi_app = OneHopASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
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
