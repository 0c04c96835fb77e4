"""The dialogue on answers: threads (comment, request for clarification, request
for additional information), replies, assignees, resolution, and the
notifications they send to the people who must act.

A thread's status moves only through the model's transitions: the State under
review replying answers it (open → answered), a reviewer following up opens it
again, a reviewer resolves it. A resolved thread takes no reply: the refusal
changes nothing."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import audit_record
from parties.models import Membership
from parties.permissions import roles_of
from questionnaire.models import Question
from questionnaire.selectors import question_was_asked

from .models import Comment, Notification, Review, Thread
from .services import ReviewError, _require

log = logging.getLogger(__name__)

Role = Membership.Role


def _author_state(user, review: Review):
    roles = roles_of(user)
    if roles.has(review.state_id, Role.FOCAL_POINT, Role.CONTRIBUTOR):
        return review.state_id
    mine = roles.states_with(Role.REVIEWER) & {a.reviewing_state_id for a in review.assignments.all()}
    return min(mine) if mine else None


def thread_url(thread: Thread) -> str:
    """The thread where it is read: under its answer on the article page."""
    number = Question.objects.filter(pk=thread.question_id).values_list("article__number", flat=True).get()
    return reverse("reviews:article", kwargs={"pk": thread.review_id, "number": number}) + f"#thread-{thread.pk}"


# --- Notifications ----------------------------------------------------------------


def unread_cache_key(user) -> str:
    # The account's creation time makes the key unique to that account, also when
    # ids are reused (a database rebuilt behind the same cache).
    joined = int(user.date_joined.timestamp() * 1_000_000) if getattr(user, "date_joined", None) else 0
    return f"reviews:notifications-unread:{user.pk}:{joined}"


def _forget_unread(users) -> None:
    """Drop the cached counts now and again after the commit (a page read between
    the two may have cached the count before the change)."""
    keys = [unread_cache_key(u) for u in users]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def focal_points_of(state_id: int):
    return (
        Membership.objects.filter(state_id=state_id, role=Role.FOCAL_POINT, is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )


def notify(*, recipients, kind: str, review: Review, by, thread: Thread | None = None, observation=None) -> list[Notification]:
    """In-app notifications for ``recipients`` (never for the actor himself)."""
    seen: dict[int, object] = {}
    rows = []
    for user in recipients:
        if user is None or user.pk == by.pk or user.pk in seen or not user.is_active:
            continue
        seen[user.pk] = user
        rows.append(Notification(recipient=user, kind=kind, review=review, thread=thread, observation=observation, actor=by))
    Notification.objects.bulk_create(rows)
    _forget_unread(seen.values())
    return rows


def _email_state_under_review(*, thread: Thread, review: Review, follow_up: bool) -> None:
    """E-mail the focal points of the State under review, after the commit (a
    rolled-back thread sends nothing), in the language of the review."""
    recipients = [m.user.email for m in focal_points_of(review.state_id) if m.user.email]
    if not recipients:
        return
    url = settings_base_url() + thread_url(thread)
    with translation.override(review.language or settings.LANGUAGE_CODE):
        subject = (
            _("Follow-up on an answer of %(state)s") if follow_up else _("A reviewer commented on an answer of %(state)s")
        ) % {"state": review.state.name}
        body = _(
            "%(kind)s on question %(code)s of %(review)s.\n\n"
            "Read it and reply on the platform: %(url)s\n\n"
            "You can also revise the answer; the reviewers will see what changed."
        ) % {"kind": thread.get_kind_display(), "code": thread.question.code, "review": review, "url": url}
    transaction.on_commit(lambda: _send_quietly(subject, body, recipients))


def _send_quietly(subject: str, body: str, recipients: list[str]) -> None:
    """After commit: a mail server that is down must not turn a saved comment into an
    error page (the in-app notification is there); it is logged instead."""
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # noqa: BLE001 - any delivery failure
        log.exception("dialogue: notification e-mail not sent to %d recipient(s)", len(recipients))


def settings_base_url() -> str:
    return getattr(settings, "SITE_URL", "").rstrip("/")


@transaction.atomic
def notification_mark_read(*, user, notification_ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when no ids are given);
    other people's notifications are never touched. Returns how many changed."""
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        rows = rows.filter(pk__in=notification_ids)
    changed = rows.update(read_at=timezone.now())
    _forget_unread([user])
    return changed


def unread_count(user) -> int:
    """The number in the navigation: cached per user, forgotten when it changes."""
    if not getattr(user, "is_authenticated", False):
        return 0
    key = unread_cache_key(user)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
        cache.set(key, count, 300)
    return count


# --- Threads ------------------------------------------------------------------------


def _check_assignee(review: Review, assignee) -> None:
    """A person of the State under review or of one of the reviewing States."""
    roles = roles_of(assignee)
    of_state = roles.has(review.state_id, Role.FOCAL_POINT, Role.CONTRIBUTOR)
    reviewer = bool(roles.states_with(Role.REVIEWER) & {a.reviewing_state_id for a in review.assignments.all()})
    if not (of_state or reviewer):
        raise ReviewError(_("A thread can be assigned only to a person of the State under review or of a reviewing State."))


@transaction.atomic
def thread_start(*, review: Review, question: Question, kind: str, body: str, by, assignee=None) -> Thread:
    _require(by.has_perm("reviews.comment", review))
    if kind not in Thread.Kind.values:
        raise ReviewError(_("Choose the type of the comment."))
    if question.version_id != review.response.version_id:
        raise ReviewError(_("This question is not part of the questionnaire under review."))
    if not question_was_asked(response=review.response, question=question):
        raise ReviewError(_("This question was not asked in this response (its condition is not met)."))
    body = body.strip()
    if not body:
        raise ReviewError(_("Write a comment first."))
    if assignee is not None:
        _check_assignee(review, assignee)
    thread = Thread.objects.create(review=review, question=question, kind=kind, created_by=by, assignee=assignee)
    comment = Comment.objects.create(thread=thread, author=by, author_state_id=_author_state(by, review), body=body)
    _audit_comment(comment=comment, review=review, thread=thread, question_code=question.code, by=by)
    recipients = [m.user for m in focal_points_of(review.state_id)] + [assignee]
    notify(recipients=recipients, kind=Notification.Kind.THREAD_STARTED, review=review, by=by, thread=thread)
    _email_state_under_review(thread=thread, review=review, follow_up=False)
    return thread


def _audit_comment(*, comment: Comment, review: Review, thread: Thread, question_code: str, by) -> None:
    audit_record(
        event=AuditEvent.Event.COMMENT_ADDED, actor=by, state=review.state_id, obj=comment,
        obj_repr=f"{question_code} ({thread.get_kind_display()})", new=comment.body,
        extra={"review": review.pk, "thread": thread.pk, "kind": thread.kind, "question": question_code,
               "author_state": comment.author_state_id},
    )


def _thread_people(thread: Thread) -> list:
    """The reviewers who wrote in the thread, and its assignee."""
    authors = {
        c.author
        for c in Comment.objects.filter(thread=thread, by_state_under_review=False).select_related("author")
    }
    return sorted(authors, key=lambda u: u.pk) + [thread.assignee, thread.created_by]


@transaction.atomic
def comment_add(*, thread: Thread, body: str, by) -> Comment:
    """A reply in a thread. The State under review answering moves the thread to
    'answered'; a reviewer writing again opens it again. Nothing can be posted in
    a resolved thread."""
    review = thread.review
    is_state = by.has_perm("reviews.reply", review)
    is_reviewer = by.has_perm("reviews.comment", review)
    _require(is_state or is_reviewer)
    locked = Thread.objects.select_for_update(of=("self",)).select_related("question", "assignee", "created_by").get(
        pk=thread.pk
    )
    if locked.status == Thread.Status.RESOLVED:
        raise ReviewError(_("This thread is resolved; start a new one to raise something else."))
    body = body.strip()
    if not body:
        raise ReviewError(_("Write a reply first."))
    comment = Comment.objects.create(
        thread=locked, author=by, author_state_id=_author_state(by, review), body=body, by_state_under_review=is_state
    )
    _audit_comment(comment=comment, review=review, thread=locked, question_code=locked.question.code, by=by)
    if is_state:
        if locked.status == Thread.Status.OPEN:
            locked.mark_answered()
        notify(recipients=_thread_people(locked), kind=Notification.Kind.STATE_REPLIED, review=review, by=by, thread=locked)
    else:
        locked.reopen()
        recipients = [m.user for m in focal_points_of(review.state_id)] + [locked.assignee]
        notify(recipients=recipients, kind=Notification.Kind.FOLLOW_UP, review=review, by=by, thread=locked)
        _email_state_under_review(thread=locked, review=review, follow_up=True)
    locked.save(update_fields=["status"])
    thread.refresh_from_db(fields=["status"])
    return comment


@transaction.atomic
def thread_resolve(*, thread: Thread, by) -> Thread:
    _require(by.has_perm("reviews.comment", thread.review))
    locked = Thread.objects.select_for_update(of=("self",)).select_related("assignee", "created_by").get(pk=thread.pk)
    if locked.status == Thread.Status.RESOLVED:
        raise ReviewError(_("This thread is already resolved."))
    locked.resolve()
    locked.resolved_at, locked.resolved_by = timezone.now(), by
    locked.save(update_fields=["status", "resolved_at", "resolved_by"])
    recipients = [m.user for m in focal_points_of(thread.review.state_id)] + [locked.assignee, locked.created_by]
    notify(recipients=recipients, kind=Notification.Kind.THREAD_RESOLVED, review=thread.review, by=by, thread=locked)
    thread.refresh_from_db(fields=["status"])
    return locked


@transaction.atomic
def thread_assign(*, thread: Thread, assignee, by) -> Thread:
    """Name who should act next (or nobody, with ``assignee=None``): the reviewers
    and the State under review's answering people may; not on a resolved thread."""
    review = thread.review
    _require(by.has_perm("reviews.comment", review) or by.has_perm("reviews.reply", review))
    locked = Thread.objects.select_for_update().get(pk=thread.pk)
    if locked.status == Thread.Status.RESOLVED:
        raise ReviewError(_("This thread is resolved: it can no longer be assigned."))
    if assignee is not None:
        _check_assignee(review, assignee)
    if locked.assignee_id == (assignee.pk if assignee else None):
        return locked
    locked.assignee = assignee
    locked.save(update_fields=["assignee"])
    if assignee is not None:
        notify(recipients=[assignee], kind=Notification.Kind.THREAD_ASSIGNED, review=review, by=by, thread=locked)
    thread.assignee = assignee
    return locked


def assignable_people(review: Review):
    """The people a thread of this review can be assigned to, in one query."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    reviewing = [a.reviewing_state_id for a in review.assignments.all()]
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__is_active=True)
        .filter(
            Q(memberships__state_id=review.state_id, memberships__role__in=[Role.FOCAL_POINT, Role.CONTRIBUTOR])
            | Q(memberships__state_id__in=reviewing, memberships__role=Role.REVIEWER)
        )
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )
