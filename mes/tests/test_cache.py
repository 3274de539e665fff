"""The Redis cache (sessions read from it on every request) keeps its connections between requests."""

import os

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
