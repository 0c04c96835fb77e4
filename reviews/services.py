"""Business rules of the review: launching a cycle with its draw, the dialogue on
answers, and background jobs. Views, commands and tasks only call these."""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnavailable

from audit.models import AuditEvent
from audit.services import audit_record
from parties.models import State, TreatyStatus
from parties.permissions import roles_of
from questionnaire.models import Cluster, Response
from questionnaire.selectors import latest_version
from questionnaire.services import response_get_or_create

from . import draw as drawing
from .models import DrawEvent, Job, Review, ReviewCycle, ReviewerAssignment, StatusChange


class ReviewError(Exception):
    """A rule of the review forbids this; the message says which."""


def _require(condition: bool) -> None:
    if not condition:
        raise PermissionDenied


def add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    # Clamp to the month's last day (31 August + 6 months = 28/29 February).
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def protocol_parties(instrument_code: str):
    return State.objects.filter(
        treaty_statuses__instrument_code=instrument_code, treaty_statuses__status=TreatyStatus.Status.PARTY
    )


def _candidate(state: State) -> drawing.Candidate:
    return drawing.Candidate(id=state.pk, code=state.iso3, group=state.regional_group)


class DrawRefused(ReviewError):
    """The draw cannot satisfy the rules. ``drawable`` is the nearest valid draw's
    set of States (the requested ones minus ``postponed``), empty if none."""

    def __init__(self, message: str, *, drawable: list[State], postponed: list[State]):
        super().__init__(message)
        self.drawable = drawable
        self.postponed = postponed


def draw_preview(
    *, cluster: Cluster, states: list[State], seed: str, cap: int | None = None
) -> dict[int, drawing.Pair]:
    """The draw of reviewing States for ``states`` (cap: reviews per reviewing State
    in the cycle; default from the settings). Raises DrawRefused with the nearest
    valid draw when the rules cannot be met: never a silent violation."""
    cap = settings.MAX_REVIEWS_PER_STATE_PER_CYCLE if cap is None else cap
    instrument_code = cluster.instrument.code
    parties = list(protocol_parties(instrument_code).exclude(regional_group=""))
    not_parties = [s for s in states if s.pk not in {p.pk for p in parties}]
    if not_parties:
        raise ReviewError(
            _("Only parties to the instrument are reviewed under it: %(states)s is not a party.")
            % {"states": ", ".join(s.name for s in not_parties)}
        )
    try:
        return drawing.draw([_candidate(s) for s in states], [_candidate(p) for p in parties], seed, cap=cap)
    except drawing.DrawImpossible as exc:
        by_id = {s.pk: s for s in states}
        postponed = [by_id[c.id] for c in exc.nearest.postponed] if exc.nearest else []
        drawable = [s for s in states if s not in postponed] if exc.nearest else []
        message = _("The draw cannot satisfy the rules: %(reasons)s") % {"reasons": "; ".join(exc.reasons)}
        if drawable:
            message += " " + _("The nearest valid draw postpones %(states)s.") % {
                "states": ", ".join(s.name for s in postponed)
            }
        raise DrawRefused(message, drawable=drawable, postponed=postponed) from exc


CYCLE_PERIODS = (
    "focal_point_due_weeks",
    "experts_due_weeks",
    "self_assessment_due_months",
    "written_feedback_due_months",
    "max_reviews_per_state",
)


@transaction.atomic
def cycle_launch(
    *,
    cluster: Cluster,
    year: int,
    states: list[State],
    by,
    seed: str | None = None,
    launch_date: datetime.date | None = None,
    group=None,
    periods: dict[str, int] | None = None,
    language: str | None = None,
) -> ReviewCycle:
    """Open a review cycle: draw the reviewing States, create a review and a draft
    response (due six months after launch) for each State under review.

    ``periods`` overrides the cycle's deadlines and cap (CYCLE_PERIODS; the
    defaults come from the settings); ``group`` is the review group launched;
    ``language`` the language its reviews are conducted in (default: the site's).
    The draw goes on record as a DrawEvent."""
    _require(roles_of(by).secretariat)
    if not states:
        raise ReviewError(_("Choose at least one State to review."))
    version = latest_version(cluster.pk)
    if version is None:
        raise ReviewError(_("No questionnaire has been loaded for this cluster."))
    if ReviewCycle.objects.filter(cluster=cluster, year=year).exists():
        raise ReviewError(_("A review cycle for this cluster and year already exists."))
    periods = {
        "focal_point_due_weeks": settings.FOCAL_POINT_DUE_WEEKS,
        "experts_due_weeks": settings.EXPERTS_DUE_WEEKS,
        "self_assessment_due_months": settings.SELF_ASSESSMENT_DUE_MONTHS,
        "written_feedback_due_months": settings.WRITTEN_FEEDBACK_DUE_MONTHS,
        "max_reviews_per_state": settings.MAX_REVIEWS_PER_STATE_PER_CYCLE,
    } | {k: v for k, v in (periods or {}).items() if v is not None}
    if set(periods) - set(CYCLE_PERIODS) or any(int(v) < 1 for v in periods.values()):
        raise ReviewError(_("Each period of the cycle is a whole number of at least one."))
    language = language or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        raise ReviewError(_("Unknown language."))
    seed = seed or secrets.token_hex(8)
    pairs = draw_preview(cluster=cluster, states=states, seed=seed, cap=periods["max_reviews_per_state"])
    launch_date = launch_date or timezone.localdate()
    due = add_months(launch_date, periods["self_assessment_due_months"])
    cycle = ReviewCycle.objects.create(
        cluster=cluster,
        year=year,
        launched_by=by,
        draw_seed=seed,
        draw_algorithm=drawing.ALGORITHM,
        group=group,
        launch_date=launch_date,
        **periods,
    )
    assignments = []
    for state in states:
        response = response_get_or_create(state=state, version=version, due_date=due)
        if Review.objects.filter(response=response).exists():
            raise ReviewError(_("%(state)s is already under review for this questionnaire.") % {"state": state.name})
        review = Review.objects.create(cycle=cycle, state=state, response=response, language=language)
        pair = pairs[state.pk]
        assignments += [
            ReviewerAssignment(review=review, reviewing_state_id=pair.same_group, slot=ReviewerAssignment.Slot.SAME_GROUP),
            ReviewerAssignment(review=review, reviewing_state_id=pair.other_group, slot=ReviewerAssignment.Slot.OTHER_GROUP),
        ]
    ReviewerAssignment.objects.bulk_create(assignments)
    codes = {p.pk: p.iso3 for p in State.objects.filter(pk__in={a.reviewing_state_id for a in assignments})}
    draw = DrawEvent.objects.create(
        kind=DrawEvent.Kind.LAUNCH,
        cycle=cycle,
        seed=seed,
        by=by,
        details={
            "algorithm": drawing.ALGORITHM,
            "cap": periods["max_reviews_per_state"],
            "pairs": {s.iso3: [codes[pairs[s.pk].same_group], codes[pairs[s.pk].other_group]] for s in states},
        },
    )
    audit_draw(draw=draw, by=by)
    return cycle


def audit_draw(*, draw: DrawEvent, by, state=None, old=None, new=None) -> None:
    """The audit log's copy of a draw of reviewers (the DrawEvent keeps the details)."""
    audit_record(
        event=AuditEvent.Event.DRAW, actor=by, state=state, obj=draw, obj_repr=f"{draw.get_kind_display()} #{draw.pk}",
        old=old, new=new if new is not None else draw.details,
        extra={"kind": draw.kind, "cycle": draw.cycle_id, "review": draw.review_id, "seed": draw.seed,
               "reason": draw.reason},
    )


def review_mark_submitted(*, response: Response, by=None) -> None:
    """Called inside the submitting transaction (questionnaire's signal): the one
    way a review reaches 'submitted'."""
    review = Review.objects.select_for_update().filter(response=response).first()
    if review and review.status in (Review.Status.LAUNCHED, Review.Status.APPOINTED, Review.Status.IN_PREPARATION):
        source = review.status
        review.mark_submitted()
        review.save()
        StatusChange.objects.create(review=review, source=source, target=review.status, by=by)


def __getattr__(name: str):
    """The dialogue services moved to services_dialogue; ``services.thread_start``
    and the like keep working (resolved lazily: services_dialogue imports this
    module)."""
    if name in {"thread_start", "comment_add", "thread_resolve", "thread_assign"}:
        from . import services_dialogue

        return getattr(services_dialogue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- Jobs -------------------------------------------------------------------


@dataclass(frozen=True)
class JobRequest:
    job: Job
    created: bool


def _dedupe_key(kind: str, params: dict) -> str:
    return kind + ":" + ",".join(f"{k}={params[k]}" for k in sorted(params))


@transaction.atomic
def job_request(*, kind: str, params: dict, by) -> JobRequest:
    """Queue a job, or return the same job if one with the same kind and parameters
    is already queued or running (a double click makes one job, one result)."""
    _require(by.has_perm("reviews.run_jobs"))
    if kind not in Job.Kind.values:
        raise ReviewError(_("Unknown job."))
    if kind == Job.Kind.REVIEW_SUMMARY:
        # A draft is its State's alone: nothing of it may reach a compiled document.
        review = Review.objects.select_related("response").get(pk=params["review"])
        if review.response.status != Response.Status.SUBMITTED:
            raise ReviewError(_("A summary can be compiled only once the self-assessment is submitted."))
    if kind == Job.Kind.GENERAL_REPORT:
        if params.get("format") not in ("docx", "pdf") or not ReviewCycle.objects.filter(pk=params.get("cycle")).exists():
            raise ReviewError(_("Unknown job or parameters."))
    key = _dedupe_key(kind, params)
    existing = Job.objects.filter(dedupe_key=key, status__in=Job.ACTIVE).first()
    if existing:
        return JobRequest(existing, False)
    try:
        # The partial unique constraint settles a race between two requests.
        with transaction.atomic():
            job = Job.objects.create(kind=kind, params=params, dedupe_key=key, requested_by=by)
    except IntegrityError:
        return JobRequest(Job.objects.get(dedupe_key=key, status__in=Job.ACTIVE), False)
    transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return JobRequest(job, True)


def job_enqueue(*, job_id: int) -> bool:
    """Hand a job to the broker (after commit). A broker that cannot take it (Redis
    down) must not fail the request that asked for it, whose job row is committed:
    the job stays queued and the stalled-job sweep (jobs_requeue_stalled, run by
    beat) sends it again once Redis is back (tests/ops/test_faults.py)."""
    from .tasks import run_job  # tasks import services; import here to keep the cycle one-way

    try:
        run_job.delay(job_id)
    except BrokerUnavailable:
        logging.getLogger(__name__).warning("broker unreachable: job %s stays queued for the stalled-job sweep", job_id)
        return False
    return True


def job_claim(*, job_id: int) -> Job | None:
    """Claim a job for this worker. Returns None if it is finished already (a
    redelivered task), so that running a task twice never makes two results."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status__in=Job.ACTIVE).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, error=""
    )
    if not claimed:
        return None
    Job.objects.filter(pk=job_id).update(attempts=F("attempts") + 1)
    return Job.objects.get(pk=job_id)


class JobCancelled(Exception):
    """Raised at a progress step of a job whose cancellation was asked for."""


def job_progress(*, job: Job, percent: int) -> None:
    updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, cancel_requested=False).update(
        progress=max(0, min(99, percent)), heartbeat_at=timezone.now()
    )
    if not updated:
        raise JobCancelled


@transaction.atomic
def job_cancel(*, job: Job, by) -> Job:
    """The secretariat cancels a job: a queued one at once; a running one stops at
    its next progress step (job_progress) and ends CANCELLED, with no result."""
    _require(roles_of(by).secretariat)
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if locked.status == Job.Status.QUEUED:
        locked.status = Job.Status.CANCELLED
        locked.cancel_requested = True
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "cancel_requested", "finished_at"])
    elif locked.status == Job.Status.RUNNING:
        locked.cancel_requested = True
        locked.save(update_fields=["cancel_requested"])
    else:
        raise ReviewError(_("This job has already ended."))
    return locked


def _job_mark_cancelled(*, job_id: int) -> None:
    Job.objects.filter(pk=job_id, status__in=Job.ACTIVE).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now()
    )


@transaction.atomic
def job_finish(*, job: Job, content: bytes, filename: str) -> bool:
    """Record the result and the final status together. The conditional update
    makes a second finisher (a duplicate delivery) a no-op that stores nothing."""
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if locked.status != Job.Status.RUNNING:
        return False
    if locked.cancel_requested:
        # Cancelled after its last progress step: it ends without a result.
        _job_mark_cancelled(job_id=job.pk)
        return False
    locked.result_file.save(filename, ContentFile(content), save=False)
    locked.result_name = filename
    locked.status = Job.Status.SUCCEEDED
    locked.progress = 100
    locked.finished_at = timezone.now()
    locked.save()
    return True


def job_fail(*, job_id: int, error: str) -> None:
    Job.objects.filter(pk=job_id).filter(Q(status__in=Job.ACTIVE)).update(
        status=Job.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def job_execute(*, job_id: int) -> Job | None:
    """Run a job end to end (the task calls this). Builders live in exports/."""
    from .exports import build_job_result

    job = job_claim(job_id=job_id)
    if job is None:
        return None
    try:
        if job.kind == Job.Kind.FINAL_DOCUMENTS:
            # Records its FinalDocument versions in the transaction that finishes the job.
            from .documents import final_documents_execute

            final_documents_execute(job=job, progress=lambda p: job_progress(job=job, percent=p))
        elif job.kind == Job.Kind.TA_REPORT:
            # Refreshes the needs from the submitted answers and agreed observations, then compiles them.
            from .services_ta import ta_report_build

            content, filename = ta_report_build(params=job.params, progress=lambda p: job_progress(job=job, percent=p))
            job_finish(job=job, content=content, filename=filename)
        else:
            content, filename = build_job_result(job, progress=lambda p: job_progress(job=job, percent=p))
            job_finish(job=job, content=content, filename=filename)
    except JobCancelled:
        _job_mark_cancelled(job_id=job.pk)
    job.refresh_from_db()
    return job


def jobs_requeue_stalled(*, older_than: datetime.timedelta = datetime.timedelta(minutes=20)) -> list[int]:
    """Jobs whose worker died without acking are redelivered by the broker; this
    catches the rest (a lost message) by re-sending jobs with a stale heartbeat."""
    from .tasks import run_job

    limit = timezone.now() - older_than
    stalled = list(
        Job.objects.filter(
            Q(status=Job.Status.QUEUED, created_at__lt=limit) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=limit)
        ).values_list("pk", flat=True)
    )
    for pk in stalled:
        run_job.delay(pk)
    return stalled
