"""Django's Redis cache, made to degrade to a miss when Redis is unreachable.

Everything this platform keeps in the cache can be recomputed (sessions are
cached_db: the database has them; presence is a hint; unread counts are counted
again), so a Redis outage must not fail a request: without this, Django's
cached_db session backend raises on its ``cache.set`` after reading a session
from the database, and every page and autosave answers 500 until Redis is back
(tests/ops/test_faults.py). Connection and timeout errors only: any other Redis
error is a bug and still raises. The socket timeouts in settings bound the wait
on a Redis that hangs instead of refusing.
"""

from __future__ import annotations

import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _or(fallback):
    def wrap(method):
        @functools.wraps(method)
        def safe(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                log.warning("cache unreachable (%s: %s): %s treated as a miss", type(exc).__name__, exc, method.__name__)
                return fallback(*args, **kwargs)

        return safe

    return wrap


def _default(key, default=None, *args, **kwargs):
    return default


class ResilientRedisCache(RedisCache):
    get = _or(_default)(RedisCache.get)
    get_many = _or(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _or(lambda *a, **k: False)(RedisCache.has_key)
    set = _or(lambda *a, **k: None)(RedisCache.set)
    # add() reports "not added": a caller using it as a lock does not get the lock.
    add = _or(lambda *a, **k: False)(RedisCache.add)
    touch = _or(lambda *a, **k: False)(RedisCache.touch)
    delete = _or(lambda *a, **k: False)(RedisCache.delete)
    set_many = _or(lambda data, *a, **k: list(data))(RedisCache.set_many)
    delete_many = _or(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _or(lambda *a, **k: False)(RedisCache.clear)
