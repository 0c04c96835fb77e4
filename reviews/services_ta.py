"""Technical-assistance needs: derived from what States say, moved by their
focal points and the secretariat, compiled for the Conference.

- ``ta_needs_refresh`` derives the needs of one State (or of all) from the
  technical-assistance answers of its SUBMITTED responses (one need per category
  ticked) and from the agreed observations of kind "technical-assistance needs".
  Drafts never contribute. Running it twice changes nothing; a changed answer
  updates its needs; a category no longer asked for leaves its need "not current"
  (its delivery history is kept). A fixed number of queries, whatever the States.
- ``ta_need_move`` moves a need's status one step (identified → requested →
  being delivered → met, or withdrawn), refused out of order or by the wrong role.
- ``ta_compile`` counts the needs per State, cluster, article, category, regional
  group, priority and status in a fixed number of queries.
- ``ta_report_build`` is the Celery job's body (Job.Kind.TA_REPORT, through
  services.job_execute): refresh, compile, XLSX or PDF."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from parties.models import State
from questionnaire.kinds import TACategory
from questionnaire.models import Answer, Response

from .models import Observation, TechnicalAssistanceNeed
from .services import ReviewError

Need = TechnicalAssistanceNeed
Status = TechnicalAssistanceNeed.Status
Source = TechnicalAssistanceNeed.Source

# Target status → the transition's method on the model.
MOVES = {
    Status.REQUESTED: "request",
    Status.BEING_DELIVERED: "start_delivery",
    Status.MET: "mark_met",
    Status.WITHDRAWN: "withdraw",
}


@dataclass(frozen=True)
class RefreshResult:
    created: int
    updated: int
    retired: int


def _wanted(state: State | None) -> dict[tuple, dict]:
    """What the submitted answers and agreed observations ask for, by source key."""
    wanted: dict[tuple, dict] = {}
    answers = Answer.objects.filter(question__kind="technical_assistance", response__status=Response.Status.SUBMITTED)
    observations = Observation.objects.filter(kind=Observation.Kind.TA_NEED, status=Observation.Status.AGREED)
    if state is not None:
        answers = answers.filter(response__state=state)
        observations = observations.filter(review__state=state)
    for response_id, state_id, question_id, article_id, value in answers.values_list(
        "response_id", "response__state_id", "question_id", "question__article_id", "value"
    ).iterator(chunk_size=2000):
        if not isinstance(value, dict) or value.get("needed") is not True:
            continue
        categories = [c for c in value.get("categories") or [] if c in TACategory.values] or [TACategory.OTHER]
        for category in dict.fromkeys(categories):
            wanted[(Source.ANSWER, response_id, question_id, category)] = {
                "state_id": state_id,
                "article_id": article_id,
                "category": category,
                "priority": value.get("priority") or "",
                "text": value.get("details") or "",
                "response_id": response_id,
                "question_id": question_id,
            }
    for pk, state_id, article_id, category, priority, text in observations.values_list(
        "pk", "review__state_id", "article_id", "ta_category", "ta_priority", "text"
    ):
        wanted[(Source.OBSERVATION, pk)] = {
            "state_id": state_id,
            "article_id": article_id,
            "category": category or TACategory.OTHER,
            "priority": priority or "",
            "text": text,
            "observation_id": pk,
        }
    return wanted


def _key(need: TechnicalAssistanceNeed) -> tuple:
    if need.source == Source.OBSERVATION:
        return (Source.OBSERVATION, need.observation_id)
    return (Source.ANSWER, need.response_id, need.question_id, need.category)


@transaction.atomic
def ta_needs_refresh(*, state: State | None = None) -> RefreshResult:
    """Derive the needs of ``state`` (all States if None) from what it submitted
    and what the three States agreed. Idempotent; never reads a draft."""
    wanted = _wanted(state)
    existing_qs = Need.objects.select_for_update()
    if state is not None:
        existing_qs = existing_qs.filter(state=state)
    existing = {_key(n): n for n in existing_qs}
    now = timezone.now()
    to_create, to_update, retired = [], [], 0
    for key, data in wanted.items():
        need = existing.get(key)
        if need is None:
            to_create.append(Need(source=key[0], **data))
            continue
        changed = False
        for name in ("state_id", "article_id", "priority", "text"):
            if getattr(need, name) != data[name]:
                setattr(need, name, data[name])
                changed = True
        if not need.current:
            need.current = True
            changed = True
        if changed:
            need.updated_at = now
            to_update.append(need)
    for key, need in existing.items():
        if key not in wanted and need.current:
            need.current = False
            need.updated_at = now
            to_update.append(need)
            retired += 1
    Need.objects.bulk_create(to_create, batch_size=1000)
    Need.objects.bulk_update(
        to_update, ["state_id", "article_id", "priority", "text", "current", "updated_at"], batch_size=1000
    )
    return RefreshResult(created=len(to_create), updated=len(to_update) - retired, retired=retired)


def ta_moves_for(need: TechnicalAssistanceNeed, user) -> list[str]:
    """The statuses ``user`` may move ``need`` to now (the page's buttons)."""
    return [
        to for to, name in MOVES.items()
        if can_proceed(getattr(need, name)) and has_transition_perm(getattr(need, name), user)
    ]


@transaction.atomic
def ta_need_move(*, need: TechnicalAssistanceNeed, to: str, by) -> TechnicalAssistanceNeed:
    """Move a need one step. Refused, nothing changed: an unknown or out-of-order
    status (ReviewError), a person not entitled to that move (PermissionDenied)."""
    locked = Need.objects.select_for_update().get(pk=need.pk)
    if to not in MOVES:
        raise ReviewError(_("Unknown status."))
    method = getattr(locked, MOVES[to])
    if not can_proceed(method):
        raise ReviewError(
            _("A need that is “%(current)s” cannot move to “%(target)s”.")
            % {"current": locked.get_status_display(), "target": Status(to).label}
        )
    if not has_transition_perm(method, by):
        raise PermissionDenied(_("You may not move this need to “%(target)s”.") % {"target": Status(to).label})
    method()
    locked.status_changed_by = by
    locked.status_changed_at = timezone.now()
    locked.save()
    return locked


# --- Compilation ----------------------------------------------------------------------


@dataclass
class TACompilation:
    total: int = 0
    by_state: list[tuple[str, str, str, int]] = field(default_factory=list)  # name, iso3, group, count
    by_cluster: list[tuple[str, int]] = field(default_factory=list)
    by_article: list[tuple[int, str, int]] = field(default_factory=list)  # number, title, count
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_group: list[tuple[str, int]] = field(default_factory=list)
    by_priority: list[tuple[str, int]] = field(default_factory=list)
    by_status: list[tuple[str, int]] = field(default_factory=list)
    # category × regional group (the matrix of the report)
    category_by_group: dict[str, Counter] = field(default_factory=dict)


def counted_needs():
    """The needs that count: still asked for and not withdrawn."""
    return Need.objects.filter(current=True).exclude(status=Status.WITHDRAWN)


def ta_compile() -> TACompilation:
    """Counts of the needs, each dimension one grouped query (8 queries in all)."""
    needs = counted_needs()
    groups = dict(State.RegionalGroup.choices)
    categories = dict(TACategory.choices)
    priorities = dict(TechnicalAssistanceNeed._meta.get_field("priority").choices)
    statuses = dict(Status.choices)
    out = TACompilation(total=needs.count())
    out.by_state = [
        (row["state__name"], row["state__iso3"], str(groups.get(row["state__regional_group"], "")), row["n"])
        for row in needs.values("state__name", "state__iso3", "state__regional_group")
        .annotate(n=Count("pk"))
        .order_by("state__name")
    ]
    out.by_cluster = [
        (_("Cluster %(code)s: %(title)s") % {"code": row["code"], "title": row["title"]}, row["n"])
        for row in needs.values(
            order=F("article__version__cluster__order"),
            code=F("article__version__cluster__code"),
            title=F("article__version__cluster__title"),
        )
        .annotate(n=Count("pk"))
        .order_by("order", "code")
    ]
    out.by_article = [
        (row["article__number"], row["title"], row["n"])
        for row in needs.values("article__number").annotate(title=Max("article__title"), n=Count("pk")).order_by("article__number")
    ]
    out.by_category = _by(needs, "category", categories, TACategory.values)
    out.by_group = _by(needs, "state__regional_group", groups, State.RegionalGroup.values)
    out.by_priority = _by(needs, "priority", priorities | {"": _("Not set")}, [*priorities, ""])
    out.by_status = _by(Need.objects.filter(current=True), "status", statuses, Status.values)
    matrix: dict[str, Counter] = {str(categories[c]): Counter() for c in TACategory.values}
    for category, group, n in needs.values_list("category", "state__regional_group").annotate(n=Count("pk")):
        matrix[str(categories.get(category, category))][str(groups.get(group, group))] = n
    out.category_by_group = matrix
    return out


def _by(needs, name: str, labels: dict, order: list) -> list[tuple[str, int]]:
    counts = dict(needs.values_list(name).annotate(n=Count("pk")).values_list(name, "n"))
    return [(str(labels.get(value, value)), counts.get(value, 0)) for value in order]


def ta_report_build(*, params: dict, progress) -> tuple[bytes, str]:
    """The job: refresh every State's needs, compile, render (XLSX or PDF)."""
    from .exports.ta_report import ta_report_pdf, ta_report_xlsx

    fmt = params.get("format", "xlsx")
    if fmt not in ("xlsx", "pdf"):
        raise ValueError(f"unknown format {fmt!r}")
    ta_needs_refresh(state=None)
    progress(30)
    compilation = ta_compile()
    progress(60)
    if fmt == "pdf":
        return ta_report_pdf(compilation=compilation, progress=progress)
    return ta_report_xlsx(compilation=compilation, progress=progress)
