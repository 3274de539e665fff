"""The Redis cache (sessions read from it on every request) keeps its connections between requests."""

import os
import threading

import pytest
import redis
from django.core.cache import caches

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="the Redis cache runs in the PostgreSQL + Redis pass")


def _connections_received() -> int:
    return redis.Redis.from_url(REDIS_URL).info("stats")["total_connections_received"]


def test_the_cache_objects_of_many_requests_share_their_connections():
    caches["default"].set("cache-test", "value", 30)
    before = _connections_received()
    # Django makes a cache object per request context; each reads as a request's session would.
    for _ in range(30):
        assert caches.create_connection("default").get("cache-test") == "value"
    opened = _connections_received() - before - 1  # less the counting connection itself
    assert opened <= 1, f"{opened} new connections for 30 reads"


def _request_context_cache():
    # What Django builds for each request context: a new cache object every time.
    return caches.create_connection("default")


def test_the_cache_objects_of_many_requests_share_one_client():
    first, second = _request_context_cache(), _request_context_cache()

    client = first._cache.get_client()

    assert second._cache.get_client() is client
    assert second._cache.get_client(write=True) is client  # one server: reads and writes alike


def test_a_value_written_by_one_request_is_read_by_others_in_many_threads():
    _request_context_cache().set("cache-threads", {"user": 7}, 30)
    seen, errors = [], []

    def read():
        try:
            reader = _request_context_cache()
            seen.extend(reader.get("cache-threads") for _ in range(20))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert seen == [{"user": 7}] * 160
