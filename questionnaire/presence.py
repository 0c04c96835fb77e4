"""A soft note of who else is editing an article: a cache entry with a short
life, never a lock (nobody can be blocked by a colleague who left for lunch).

A hint, not data: a cache outage (Redis down) must never fail a save, so cache
errors are logged and ignored here."""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

PRESENCE_SECONDS = 120
# Autosave touches presence at every keystroke pause; refreshing the entry more
# often than this (per process, person and article) tells nobody anything new.
TOUCH_INTERVAL_SECONDS = 30
_last_touch: dict[tuple[int, int, int], float] = {}
_LAST_TOUCH_MAX = 10_000

log = logging.getLogger(__name__)


def _key(response_id: int, article_id: int) -> str:
    return f"presence:{response_id}:{article_id}"


def presence_touch(*, response_id: int, article_id: int, user, force: bool = False) -> None:
    now = time.time()
    memo = (response_id, article_id, user.pk)
    if not force and now - _last_touch.get(memo, 0) < TOUCH_INTERVAL_SECONDS:
        return
    if len(_last_touch) >= _LAST_TOUCH_MAX:
        _last_touch.clear()
    _last_touch[memo] = now
    key = _key(response_id, article_id)
    try:
        present = {
            uid: entry for uid, entry in (cache.get(key) or {}).items() if now - entry[1] < PRESENCE_SECONDS
        }
        present[user.pk] = (user.get_full_name() or user.username, now)
        # Two tabs racing here can only lose one name for one refresh: acceptable for a hint.
        cache.set(key, present, PRESENCE_SECONDS)
    except Exception:  # noqa: BLE001 - any cache backend error: the hint is lost, the save goes on
        log.warning("presence: cache unavailable, note not recorded", exc_info=True)


def presence_others(*, response_id: int, article_id: int, user) -> list[str]:
    return [name for name, _ids in presence_others_in(response_id=response_id, article_ids=[article_id], user=user)]


def presence_others_in(*, response_id: int, article_ids: list[int], user) -> list[tuple[str, list[int]]]:
    """Who else is editing any of these articles (the whole-cluster page): each
    name with the articles they are on, from one cache round trip."""
    now = time.time()
    keys = {_key(response_id, article_id): article_id for article_id in article_ids}
    try:
        found = cache.get_many(list(keys))
    except Exception:  # noqa: BLE001
        log.warning("presence: cache unavailable, note not shown", exc_info=True)
        return []
    where: dict[str, list[int]] = {}
    for key, present in found.items():
        for uid, (name, seen) in (present or {}).items():
            if uid != user.pk and now - seen < PRESENCE_SECONDS:
                where.setdefault(name, []).append(keys[key])
    return sorted((name, sorted(ids)) for name, ids in where.items())


def presence_forget() -> None:
    """For tests: forget the per-process touch memo."""
    _last_touch.clear()
