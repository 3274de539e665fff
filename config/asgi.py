"""ASGI entry point: HTTP through Django, websockets through Channels (authenticated by session).

HTTP requests run their whole middleware chain and view in one worker thread (`OneHopASGIHandler`),
taken from a pool of `REQUEST_THREADS` per process.
"""

import asyncio
import contextlib
import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.http import FileResponse
from django.urls import set_script_prefix

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
    ten times, some 2 ms of CPU on a request that does nothing (`/ping`). The request signals
    (which close or recycle the database connection) and the close of a response already in
    memory run in that same crossing too (`handle`); reading the body and sending the response
    stay on the loop, as in Django's handler.

    That thread comes from a pool kept for the process's life (`REQUEST_THREADS`), as a WSGI
    server's are. Django's handler gives each request a thread of its own, started and ended with
    it: at every request a new thread, and in it a new database wrapper taking a connection from
    the pool, and with fifty requests at once fifty threads contending for the interpreter while
    each waits on the database. The request signals still open and close each request's use of
    the database in its thread, as before.
    """

    threads: ThreadPoolExecutor | None = None

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await self._in_request_thread(self.get_response)(request)

    @classmethod
    def _in_request_thread(cls, func):
        if cls.threads is None:  # one pool per process, made on its first request
            cls.threads = ThreadPoolExecutor(settings.REQUEST_THREADS, thread_name_prefix="request")
        return sync_to_async(func, thread_sensitive=False, executor=cls.threads)

    def _serve(self, request):
        """In the request's worker thread: the request signal, the chain with the view and, for a
        response already in memory, its close (the finished signal) too, as the WSGI handler
        does. A streamed response is closed once sent, as in Django's handler; its content is
        read in a thread of Django's own for the request, which opens a connection of its own if
        it needs one, so this thread hands its connection back now rather than at its next
        request."""
        signals.request_started.send(sender=self.__class__, scope=request.scope)
        response = self.get_response(request)
        if response.streaming:
            close_old_connections()
        else:
            response.close()
        return response

    async def handle(self, scope, receive, send):
        """Django's `ASGIHandler.handle` with one hop instead of three (the request signal, the
        response and its close each crossed to the worker thread and back; every crossing copies
        the request's context, some fifty variables)."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            await signals.request_started.asend(sender=self.__class__, scope=scope)
            body_file.close()
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()
            return

        async def process_request(request, send):
            response = await self._in_request_thread(self._serve)(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size  # the server chunks it (as Django's handler)
            with contextlib.suppress(asyncio.CancelledError):  # the client left during the send
                await self.send_response(response, send)
            return response

        # As Django does: a disconnect while the response is being made cancels waiting for it.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            # As Django does; it runs in the request's thread once the view has finished there.
            await signals.request_finished.asend(sender=self.__class__)
        else:
            if response.streaming:
                await sync_to_async(response.close)()
        body_file.close()


django.setup(set_prefix=False)
django_asgi_app = OneHopASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

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
