"""The frame of an answering page (navigation, heading, form, articles list) kept
per process with slots for what must be new on every request.

The questions are the page's bulk and come from the block cache (answer_page); on
a cluster page the Django templates of the frame around them then cost as much
again as everything else. A frame is stored as its encoded parts with four slots:
the CSRF token and the CSP nonce (fresh on every request, as the template would
give), the answers' revisions and the questions (both change with every save).
Everything else the frame shows is in its key: the person (and what the navigation
shows of them: name, roles, unread count), the response and its status, the page,
whether they may edit, the language, the address (the language form returns to
it), who else is editing, the load of the recommendations registry. A frame is
kept for FRAME_SECONDS at most, which bounds what a key cannot see (a State's
name renamed in the admin).

Never cached: a page that shows messages, a posted form or conflicts (rendered
whole, as before). The key holds the person's id and the view has checked access
before, so a frame is never shown to anyone but the person it was rendered for.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple

from django.conf import settings
from django.contrib.messages import get_messages
from django.middleware.csrf import get_token
from django.middleware.csp import get_nonce
from django.utils.html import conditional_escape
from django.utils.translation import get_language

from .answer_page import BlockCache

FRAME_SECONDS = 60

# Slot names in a skeleton, and the markers the frame template is given for the two
# slots that are the view's own values. The markers contain nothing that HTML
# escaping changes, and are unguessable, so that no text on the page can be one.
CSRF, NONCE, REVISIONS, QUESTIONS = "csrf", "nonce", "revisions", "questions"

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_NONCE_ATTR = re.compile(r' nonce="([^"]+)"')


class Skeleton(NamedTuple):
    parts: tuple[bytes | str, ...]  # encoded text, and slot names between
    expires: float

    def fill(self, *, csrf: bytes, nonce: bytes, revisions: bytes, questions: bytes) -> list[bytes]:
        values = {CSRF: csrf, NONCE: nonce, REVISIONS: revisions, QUESTIONS: questions}
        return [values[part] if isinstance(part, str) else part for part in self.parts]


class Rendered(NamedTuple):
    skeleton: Skeleton
    keepable: bool  # False: the token or the nonce could not be cut out (text, not slots)
    csrf: bytes
    nonce: bytes


_frames = BlockCache(max_entries=settings.ANSWER_FRAME_CACHE_ENTRIES)


def forget_frames() -> None:
    _frames.clear()


def cacheable(request, *, bound_form, conflicts) -> bool:
    # Messages are shown once: a page with some is rendered whole (which uses them).
    return bound_form is None and not conflicts and not len(get_messages(request))


def frame_key(*, request, response, article, can_edit: bool, others: list, extra: tuple = ()) -> tuple:
    from parties.permissions import roles_of
    from reviews.services_dialogue import unread_count

    user = request.user
    roles = roles_of(user)
    return (
        user.pk,
        user.get_full_name() or user.username,
        roles.secretariat,
        roles.is_focal_point,
        unread_count(user),
        response.pk,
        response.status,
        response.state_id,
        response.version_id,
        article.number if article is not None else None,
        can_edit,
        get_language(),
        request.get_full_path(),
        tuple(str(name) for name in others),
        *extra,
    )


def cached(key: tuple) -> Skeleton | None:
    skeleton = _frames.get_many([key]).get(key)
    if skeleton is None or skeleton.expires < time.monotonic():
        return None
    return skeleton


def keep(key: tuple, skeleton: Skeleton) -> None:
    _frames.set_many({key: skeleton})


def cut(html: str, *, revisions_marker: str, questions_marker: str) -> Rendered:
    """The rendered frame cut at its slots. The CSRF token and the nonce are found by
    their value (random, so they occur nowhere else); a frame where either is
    missing or differs between occurrences is not kept."""
    tokens = set(_CSRF_INPUT.findall(html))
    nonces = set(_NONCE_ATTR.findall(html))
    csrf = next(iter(tokens)) if len(tokens) == 1 else ""
    nonce = next(iter(nonces)) if len(nonces) == 1 else ""
    markers = {revisions_marker: REVISIONS, questions_marker: QUESTIONS}
    if csrf and nonce:
        markers |= {csrf: CSRF, nonce: NONCE}
    pattern = re.compile("|".join(re.escape(marker) for marker in markers))
    parts: list[bytes | str] = []
    position = 0
    for match in pattern.finditer(html):
        parts.append(html[position : match.start()].encode())
        parts.append(markers[match.group()])
        position = match.end()
    parts.append(html[position:].encode())
    skeleton = Skeleton(tuple(parts), time.monotonic() + FRAME_SECONDS)
    return Rendered(skeleton, bool(csrf and nonce), csrf.encode(), nonce.encode())


def fresh_values(request) -> tuple[bytes, bytes]:
    """What the template's {% csrf_token %} and {{ csp_nonce }} would give this request
    (a newly masked token, a nonce that the CSP header then names)."""
    return get_token(request).encode(), str(get_nonce(request)).encode()


def revisions_value(revisions_json: str) -> bytes:
    # As the template's {{ revisions_json }} in an attribute: escaped.
    return str(conditional_escape(revisions_json)).encode()
