"""The web server's HTTP handler (`config.asgi.OneHopASGIHandler`): a request crosses from the event
loop to a worker thread of the process's pool once, and still gets what Django's handler gives it: the request signals
once each (they close or recycle the database connection), a response in memory closed, a streamed
file sent whole and closed after it."""

import asyncio
import threading
from pathlib import Path

import pytest
from asgiref.sync import SyncToAsync
from django.core import signals
from django.db import close_old_connections
from django.urls import get_resolver

from mes import roles

pytestmark = pytest.mark.django_db(transaction=True)


def _get(app, path: str, cookie: str = "") -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = []

    async def run():
        body_sent = False
        disconnect = asyncio.Event()

        async def receive():
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            messages.append(message)

        await app(scope, receive, send)

    asyncio.run(run())
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return messages[0]["status"], body


@pytest.fixture
def handler():
    # Imported here: the module builds the whole ASGI application when it is imported.
    from config.asgi import OneHopASGIHandler

    yield OneHopASGIHandler()
    close_old_connections()


@pytest.fixture
def signed_in(client_for, make_user):
    client = client_for(make_user(roles.OPERATOR))
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.fixture
def signal_threads():
    """The thread each request signal was sent in, in order."""
    seen = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident()))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield seen
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def test_a_request_crosses_to_its_worker_thread_once(handler, signed_in):
    _get(handler, "/ping", signed_in)  # warm
    crossings = []
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        crossings.append(self.func)
        return await original(self, *args, **kwargs)

    SyncToAsync.__call__ = counted
    try:
        assert _get(handler, "/ping", signed_in) == (200, b"pong")
    finally:
        SyncToAsync.__call__ = original
    assert len(crossings) == 1


def test_the_request_signals_are_sent_once_each_in_the_request_thread(handler, signed_in, signal_threads):
    view_threads = []
    pattern = next(p for p in get_resolver().url_patterns if getattr(p, "name", None) == "ping")
    ping = pattern.callback

    def watched(request):
        view_threads.append(threading.get_ident())
        return ping(request)

    pattern.callback = watched
    try:
        assert _get(handler, "/ping", signed_in) == (200, b"pong")
    finally:
        pattern.callback = ping

    assert [name for name, _ in signal_threads] == ["started", "finished"]
    assert {thread for _, thread in signal_threads} == set(view_threads)


def test_a_streamed_file_is_sent_whole_and_closed_after_it(handler, signal_threads, settings):
    css = Path(settings.BASE_DIR) / "static" / "css" / "tablet.css"

    status, body = _get(handler, "/static/css/tablet.css")

    assert status == 200 and body == css.read_bytes()
    assert [name for name, _ in signal_threads] == ["started", "finished"]


def _view_threads(path: str):
    """Record the thread (name, ident) each request to the URL named `path` runs its view in."""
    pattern = next(p for p in get_resolver().url_patterns if getattr(p, "name", None) == path)
    original = pattern.callback
    seen = []

    def watched(request, *args, **kwargs):
        seen.append((threading.current_thread().name, threading.get_ident()))
        return original(request, *args, **kwargs)

    pattern.callback = watched
    return seen, lambda: setattr(pattern, "callback", original)


def test_requests_run_in_the_process_s_pool_of_threads(handler, signed_in, settings):
    seen, restore = _view_threads("ping")
    try:
        for _ in range(settings.REQUEST_THREADS + 5):
            assert _get(handler, "/ping", signed_in) == (200, b"pong")
    finally:
        restore()

    assert all(name.startswith("request") for name, _ in seen)
    # Threads are kept and reused: never more than the pool holds, not one per request.
    assert len({ident for _, ident in seen}) <= settings.REQUEST_THREADS


def test_the_view_thread_hands_its_connection_back_when_the_response_is_streamed(handler, monkeypatch):
    from django.db import connection
    from django.http import StreamingHttpResponse

    from config import asgi

    original = asgi.OneHopASGIHandler.get_response

    def streamed(self, request):
        original(self, request)  # the chain runs
        connection.ensure_connection()  # and the view uses this thread's connection
        return StreamingHttpResponse(iter([b"a", b"b"]))

    monkeypatch.setattr(asgi.OneHopASGIHandler, "get_response", streamed)
    after = []
    original_serve = asgi.OneHopASGIHandler._serve

    def serve(self, request):
        response = original_serve(self, request)
        after.append(connection.connection)  # still in the view's thread, once the response is made
        return response

    monkeypatch.setattr(asgi.OneHopASGIHandler, "_serve", serve)

    assert _get(handler, "/ping") == (200, b"ab")
    assert after == [None]
