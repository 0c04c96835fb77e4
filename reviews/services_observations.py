"""The list of observations and its summary.

Per article, the reviewers draft observations of four kinds (gaps and
challenges, good practices, recommendations, technical-assistance needs); the
State under review and the reviewers comment on each; each of the three States
records its agreement (the State under review through its focal point, a
reviewing State through its experts). Any edit of an observation withdraws the
agreements given; once the three States agreed, it cannot change.

Once every observation is agreed, the reviewers draft the summary from them;
the State comments; each State clears the summary (any edit withdraws the
clearances); the secretariat finalizes it. The review's status moves through the
workflow's ``review_transition``: "agreed" (by a focal point or the secretariat,
once every observation is agreed: the check is registered from
models_observations), then "finalized" together with the summary.""" 

from __future__ import annotations

import unicodedata

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import audit_record
from parties.models import Membership, State
from parties.permissions import roles_of
from questionnaire.kinds import TACategory, TAPriority
from questionnaire.models import Article

from .models import (
    Job,
    Notification,
    Observation,
    ObservationAgreement,
    ObservationComment,
    Review,
    observations_agreement_missing,
    Summary,
    SummaryClearance,
    SummaryComment,
)
from .services import JobRequest, ReviewError, _require, job_request
from .services_dialogue import _author_state, focal_points_of, notify

Role = Membership.Role
MAX_TEXT = 20_000


def _review_transition(*, review: Review, to: str, by) -> None:
    """Move the review on through the workflow's one transition service."""
    from .services_workflow import review_transition

    review_transition(review=review, to=to, by=by)


def participating_states(review: Review) -> list[int]:
    """The State under review first, then the two reviewing States."""
    return [review.state_id] + sorted(a.reviewing_state_id for a in review.assignments.all())


def speaks_for(user, review: Review) -> int | None:
    """The State whose agreement (or clearance) ``user`` records: the State under
    review for its focal point, a reviewing State for its experts; None otherwise."""
    roles = roles_of(user)
    if roles.has(review.state_id, Role.FOCAL_POINT):
        return review.state_id
    mine = roles.states_with(Role.REVIEWER) & {a.reviewing_state_id for a in review.assignments.all()}
    return min(mine) if mine else None


def _clean_text(text: str, *, empty: str) -> str:
    text = (text or "").strip()
    # Invisible formatting characters alone (a right-to-left override, zero-width
    # spaces) are no text either.
    if not "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip():
        raise ReviewError(empty)
    if "\x00" in text:
        # PostgreSQL cannot store NUL in text; the forms' CharFields refuse it too.
        raise ReviewError(_("Null characters are not allowed."))
    if len(text) > MAX_TEXT:
        raise ReviewError(_("The text is too long (at most %(n)s characters).") % {"n": MAX_TEXT})
    return text


def _clean_fields(*, kind: str, ta_category: str, ta_priority: str) -> tuple[str, str, str]:
    if kind not in Observation.Kind.values:
        raise ReviewError(_("Choose the kind of the observation."))
    if kind == Observation.Kind.TA_NEED:
        if ta_category not in TACategory.values:
            raise ReviewError(_("Choose the category of the technical-assistance need."))
        if ta_priority and ta_priority not in TAPriority.values:
            raise ReviewError(_("Choose a priority from the list."))
        return kind, ta_category, ta_priority or ""
    # The taxonomy belongs to technical-assistance needs only.
    return kind, "", ""


def _list_open(review: Review) -> None:
    status = Review.objects.only("status").get(pk=review.pk).status
    if status in (Review.Status.AGREED, Review.Status.FINALIZED) or Summary.objects.filter(review=review).exists():
        raise ReviewError(
            _("The summary is being drafted from the agreed observations: the list of observations can no longer change.")
        )


# --- Observations ---------------------------------------------------------------------


@transaction.atomic
def observation_create(
    *, review: Review, article: Article, kind: str, text: str, by, ta_category: str = "", ta_priority: str = ""
) -> Observation:
    _require(by.has_perm("reviews.draft_observations", review))
    if article.version_id != review.response.version_id:
        raise ReviewError(_("This article is not part of the questionnaire under review."))
    kind, ta_category, ta_priority = _clean_fields(kind=kind, ta_category=ta_category, ta_priority=ta_priority)
    text = _clean_text(text, empty=_("Write the observation first."))
    Review.objects.select_for_update(of=("self",)).filter(pk=review.pk).first()
    _list_open(review)
    return Observation.objects.create(
        review=review, article=article, kind=kind, text=text, ta_category=ta_category, ta_priority=ta_priority,
        created_by=by, updated_by=by,
    )


def _locked(observation: Observation) -> Observation:
    return Observation.objects.select_for_update(of=("self",)).get(pk=observation.pk)


@transaction.atomic
def observation_update(
    *, observation: Observation, kind: str, text: str, by, ta_category: str = "", ta_priority: str = ""
) -> Observation:
    """Change a draft observation; every agreement already given is withdrawn.
    An agreed observation is refused, unchanged."""
    review = observation.review
    _require(by.has_perm("reviews.draft_observations", review))
    locked = _locked(observation)
    if locked.status == Observation.Status.AGREED:
        raise ReviewError(_("This observation is agreed by the three States: it can no longer be edited."))
    _list_open(review)
    kind, ta_category, ta_priority = _clean_fields(kind=kind, ta_category=ta_category, ta_priority=ta_priority)
    text = _clean_text(text, empty=_("Write the observation first."))
    if (locked.kind, locked.text, locked.ta_category, locked.ta_priority) == (kind, text, ta_category, ta_priority):
        return locked
    locked.kind, locked.text, locked.ta_category, locked.ta_priority = kind, text, ta_category, ta_priority
    locked.updated_by = by
    locked.save()
    ObservationAgreement.objects.filter(observation=locked).delete()
    return locked


@transaction.atomic
def observation_comment(*, observation: Observation, body: str, by) -> ObservationComment:
    review = observation.review
    _require(by.has_perm("reviews.comment_observations", review))
    body = _clean_text(body, empty=_("Write a comment first."))
    comment = ObservationComment.objects.create(
        observation=observation, author=by, author_state_id=_author_state(by, review), body=body
    )
    audit_record(
        event=AuditEvent.Event.COMMENT_ADDED, actor=by, state=review.state_id, obj=comment,
        obj_repr=f"observation #{observation.pk}", new=body,
        extra={"review": review.pk, "observation": observation.pk, "author_state": comment.author_state_id},
    )
    recipients = [observation.created_by] + [m.user for m in focal_points_of(review.state_id)]
    notify(recipients=recipients, kind=Notification.Kind.OBSERVATION_COMMENTED, review=review, by=by, observation=observation)
    return comment


@transaction.atomic
def observation_agree(*, observation: Observation, by) -> Observation:
    """Record the agreement of the State ``by`` speaks for on the current text.
    When the three States agreed, the observation is agreed (and frozen). The
    review itself becomes "agreed" through the workflow, which checks that every
    observation is (models_observations.observations_agreement_missing)."""
    review = observation.review
    _require(by.has_perm("reviews.agree", review))
    state_id = speaks_for(by, review)
    _require(state_id is not None)
    locked = _locked(observation)
    if locked.status == Observation.Status.AGREED:
        raise ReviewError(_("This observation is agreed already."))
    if ObservationAgreement.objects.filter(observation=locked, state_id=state_id).exists():
        raise ReviewError(_("Your State has already agreed on this text."))
    ObservationAgreement.objects.create(observation=locked, state_id=state_id, by=by)
    agreed = set(ObservationAgreement.objects.filter(observation=locked).values_list("state_id", flat=True))
    if agreed >= set(participating_states(review)):
        locked.agree()
        locked.save(update_fields=["status"])
    return locked


# --- The summary ----------------------------------------------------------------------


def summary_outline(review: Review) -> str:
    """A first draft of the summary: the agreed observations by kind and article."""
    lines: list[str] = []
    observations = list(Observation.objects.filter(review=review).select_related("article"))
    for kind, label in Observation.Kind.choices:
        mine = [o for o in observations if o.kind == kind]
        if not mine:
            continue
        lines.append(str(label))
        for o in mine:
            lines.append(f"- {_('Article %(n)s') % {'n': o.article.number}}: {o.text}")
        lines.append("")
    return "\n".join(lines).strip()


@transaction.atomic
def summary_save(*, review: Review, text: str, by) -> Summary:
    """Start or change the summary (the reviewers). It is started only once every
    observation is agreed; a change withdraws the clearances given; a cleared or
    finalized summary cannot change."""
    _require(by.has_perm("reviews.draft_observations", review))
    Review.objects.select_for_update(of=("self",)).filter(pk=review.pk).first()
    text = _clean_text(text, empty=_("Write the summary first."))
    summary = Summary.objects.select_for_update(of=("self",)).filter(review=review).first()
    if summary is None:
        missing = observations_agreement_missing(review)
        if missing:
            raise ReviewError(" ".join([_("The summary is drafted from the agreed observations.")] + missing))
        if Review.objects.only("status").get(pk=review.pk).status != Review.Status.AGREED:
            raise ReviewError(
                _("The summary is drafted once the review is recorded as agreed (on the review's page).")
            )
        return Summary.objects.create(review=review, text=text, created_by=by, updated_by=by)
    if summary.status != Summary.Status.DRAFTING:
        raise ReviewError(_("This summary is cleared by the three States: it can no longer be edited."))
    if summary.text != text:
        summary.text, summary.updated_by = text, by
        summary.save()
        SummaryClearance.objects.filter(summary=summary).delete()
    return summary


@transaction.atomic
def summary_comment(*, summary: Summary, body: str, by) -> SummaryComment:
    review = summary.review
    _require(by.has_perm("reviews.comment_observations", review))
    if summary.status == Summary.Status.FINALIZED:
        raise ReviewError(_("This summary is finalized."))
    body = _clean_text(body, empty=_("Write a comment first."))
    comment = SummaryComment.objects.create(
        summary=summary, author=by, author_state_id=_author_state(by, review), body=body
    )
    audit_record(
        event=AuditEvent.Event.COMMENT_ADDED, actor=by, state=review.state_id, obj=comment,
        obj_repr=f"summary #{summary.pk}", new=body,
        extra={"review": review.pk, "summary": summary.pk, "author_state": comment.author_state_id},
    )
    return comment


@transaction.atomic
def summary_clear(*, summary: Summary, by) -> Summary:
    """Record that the State ``by`` speaks for clears the summary as it stands.
    With the three clearances the summary is cleared, ready for the secretariat."""
    review = summary.review
    _require(by.has_perm("reviews.agree", review))
    state_id = speaks_for(by, review)
    _require(state_id is not None)
    locked = Summary.objects.select_for_update(of=("self",)).get(pk=summary.pk)
    if locked.status != Summary.Status.DRAFTING:
        raise ReviewError(_("This summary is cleared already."))
    if SummaryClearance.objects.filter(summary=locked, state_id=state_id).exists():
        raise ReviewError(_("Your State has already cleared this text."))
    SummaryClearance.objects.create(summary=locked, state_id=state_id, by=by)
    cleared = set(SummaryClearance.objects.filter(summary=locked).values_list("state_id", flat=True))
    if cleared >= set(participating_states(review)):
        locked.mark_cleared()
        locked.save(update_fields=["status"])
    return locked


@transaction.atomic
def summary_finalize(*, summary: Summary, by) -> Summary:
    """The secretariat finalizes a cleared summary; the review is finalized with
    it (the workflow refuses, and nothing changes, unless the review is agreed)."""
    review = summary.review
    _require(by.has_perm("reviews.finalize", review))
    locked = Summary.objects.select_for_update(of=("self",)).get(pk=summary.pk)
    if locked.status == Summary.Status.FINALIZED:
        raise ReviewError(_("This summary is finalized already."))
    if locked.status != Summary.Status.CLEARED:
        raise ReviewError(_("The summary can be finalized only once the three States have cleared it."))
    locked.finalize()
    locked.finalized_by, locked.finalized_at = by, timezone.now()
    locked.save(update_fields=["status", "finalized_by", "finalized_at"])
    if Review.objects.only("status").get(pk=review.pk).status != Review.Status.FINALIZED:
        _review_transition(review=review, to=Review.Status.FINALIZED, by=by)
    return locked


# --- Final documents ------------------------------------------------------------------


def final_documents_request(*, review: Review, by) -> JobRequest:
    """Queue the build of the final documents (a new version of each): only once
    the summary is finalized. A second request while one runs is the same job."""
    _require(by.has_perm("reviews.run_jobs"))
    if not Summary.objects.filter(review=review, status=Summary.Status.FINALIZED).exists():
        raise ReviewError(_("The final documents are produced once the summary is finalized."))
    return job_request(kind=Job.Kind.FINAL_DOCUMENTS, params={"review": review.pk}, by=by)


def state_names(review: Review) -> dict[int, State]:
    return {s.pk: s for s in State.objects.filter(pk__in=participating_states(review))}
