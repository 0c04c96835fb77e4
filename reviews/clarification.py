"""When a submitted response may still be revised: while its review is in written
feedback or dialogue, the State answers the reviewers' questions and may correct
its answers (issue 4: "replies, and may revise the answer"). From the drafting of
the observations on, the answers stay as they are.

questionnaire never imports reviews; it keeps a registry of such windows
(``questionnaire.permissions.CLARIFICATION_WINDOWS``) and reviews registers this
one from ReviewsConfig.ready()."""

from __future__ import annotations

from questionnaire.permissions import CLARIFICATION_WINDOWS

from .models import Review

OPEN_STATUSES = (Review.Status.WRITTEN_FEEDBACK, Review.Status.DIALOGUE)


def review_in_dialogue(response_id: int) -> bool:
    return Review.objects.filter(response_id=response_id, status__in=OPEN_STATUSES).exists()


def register() -> None:
    if review_in_dialogue not in CLARIFICATION_WINDOWS:
        CLARIFICATION_WINDOWS.append(review_in_dialogue)
