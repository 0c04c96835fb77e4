"""Django's Redis cache, made to degrade to a miss when Redis is unreachable.

Everything this platform keeps in the cache can be recomputed (sessions are
cached_db: the database has them; presence is a hint; unread counts are counted
again), so a Redis outage must not fail a request: without this, Django's
cached_db session backend raises on its ``cache.set`` after reading a session
from the database, and every page and autosave answers 500 until Redis is back
(tests/ops/test_faults.py). Connection and timeout errors only: any other Redis
error is a bug and still raises.

- After a failure, this process does not try Redis again for ``SKIP_SECONDS``
  (a hung Redis costs one socket timeout per process, not one per cache call).
- A set or delete that could not reach Redis leaves the old value there if
  Redis kept its data (a network cut, a paused server): a session ended during
  the outage would come back. Such keys are remembered and deleted first thing
  once Redis answers again, before any other cache call of this process.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
SKIP_SECONDS = 5.0
MAX_STALE_KEYS = 100_000

_lock = threading.Lock()
_stale: set[str] = set()
_state = {"skip_until": 0.0}


def _keys_of(name: str, args: tuple, kwargs: dict) -> list[str]:
    if name == "set_many":
        return list(args[0] if args else kwargs.get("data", {}))
    if name == "delete_many":
        return list(args[0] if args else kwargs.get("keys", []))
    return [args[0] if args else kwargs["key"]]


def _or(fallback, *, writes: bool = False):
    def wrap(method):
        @functools.wraps(method)
        def safe(self, *args, **kwargs):
            if time.monotonic() >= _state["skip_until"]:
                try:
                    if _stale:
                        self._delete_stale()
                    return method(self, *args, **kwargs)
                except UNREACHABLE as exc:
                    _state["skip_until"] = time.monotonic() + SKIP_SECONDS
                    log.warning("cache unreachable (%s: %s): treated as a miss for %ss", type(exc).__name__, exc, SKIP_SECONDS)
            if writes:
                with _lock:
                    if len(_stale) < MAX_STALE_KEYS:
                        _stale.update(_keys_of(method.__name__, args, kwargs))
            return fallback(*args, **kwargs)

        return safe

    return wrap


def _default(key, default=None, *args, **kwargs):
    return default


class _ReusedClient(RedisCacheClient):
    """Django builds a new ``redis.Redis`` for every cache call, and its
    constructor (the table of response callbacks) costs about as much as the
    round trip: a tenth of an autosave's CPU time. A client is only a handle on
    the connection pool and is thread-safe, so one per pool is kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusedClient

    def _delete_stale(self) -> None:
        with _lock:
            keys = list(_stale)
        RedisCache.delete_many(self, keys)  # raises while Redis is still unreachable
        with _lock:
            _stale.difference_update(keys)
        log.warning("cache reachable again: %s keys written during the outage deleted", len(keys))

    get = _or(_default)(RedisCache.get)
    get_many = _or(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _or(lambda *a, **k: False)(RedisCache.has_key)
    set = _or(lambda *a, **k: None, writes=True)(RedisCache.set)
    # add() reports "not added": a caller using it as a lock does not get the lock.
    add = _or(lambda *a, **k: False)(RedisCache.add)
    touch = _or(lambda *a, **k: False)(RedisCache.touch)
    delete = _or(lambda *a, **k: False, writes=True)(RedisCache.delete)
    set_many = _or(lambda data, *a, **k: list(data), writes=True)(RedisCache.set_many)
    delete_many = _or(lambda *a, **k: None, writes=True)(RedisCache.delete_many)
    clear = _or(lambda *a, **k: False)(RedisCache.clear)
