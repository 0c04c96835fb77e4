"""A soft note of who else is editing an article: a cache entry with a short
life, never a lock (nobody can be blocked by a colleague who left for lunch)."""

from __future__ import annotations

import time

from django.core.cache import cache

PRESENCE_SECONDS = 120


def _key(response_id: int, article_id: int) -> str:
    return f"presence:{response_id}:{article_id}"


def presence_touch(*, response_id: int, article_id: int, user) -> None:
    key = _key(response_id, article_id)
    now = time.time()
    present = {
        uid: entry for uid, entry in (cache.get(key) or {}).items() if now - entry[1] < PRESENCE_SECONDS
    }
    present[user.pk] = (user.get_full_name() or user.username, now)
    # Two tabs racing here can only lose one name for one refresh: acceptable for a hint.
    cache.set(key, present, PRESENCE_SECONDS)


def presence_others(*, response_id: int, article_id: int, user) -> list[str]:
    now = time.time()
    return sorted(
        name
        for uid, (name, seen) in (cache.get(_key(response_id, article_id)) or {}).items()
        if uid != user.pk and now - seen < PRESENCE_SECONDS
    )
