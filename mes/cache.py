"""Django's Redis cache, with one connection pool per process instead of one per request.

Django makes a new cache object for every request context (Django tickets #33625 and #35651),
and each object brings a connection pool of its own, so under ASGI every request opened a new
TCP connection to Redis just to read its session. Here the pools are kept per process, by
server and options. redis-py's pools are thread-safe and start afresh in a forked child.

So is the client over each pool: Django builds a new `redis.Redis` for every cache call, and
its constructor is a good part of a session read (a request reads the session and the
permission version, a production event nudges delivery). One client per pool is kept instead;
redis-py takes a connection from the pool per command, so threads can share it.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple[str, str], object] = {}
_clients: dict[int, object] = {}  # by id() of the pool, which _pools keeps alive
_pools_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        url = self._servers[self._get_connection_pool_index(write)]
        key = (url, repr(sorted(self._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(url, **self._pool_options)
        return pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = _clients.get(id(pool))
        if client is None:
            with _pools_lock:
                client = _clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
