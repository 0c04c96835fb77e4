"""The review as the mechanism runs it: the three review groups, changes to the
draw, the status of a review, appointments, deadlines and reminders.

Status (``Review.Status``, an FSM on the model) moves only through
``review_transition(*, review, to, by, reason="") -> Review``, and only by the
role entitled to each move (predicates in permissions.py):

=======================  =======================  ==========================================
from                     to                       who
=======================  =======================  ==========================================
launched                 appointed                the secretariat, once the three States have
                                                  a focal point and both reviewing States
                                                  their experts for the review
appointed                in_preparation           a focal point of the State under review
launched/appointed/      submitted                nobody directly: submitting the response
in_preparation                                    (questionnaire's response_submitted signal)
submitted                written_feedback         a reviewer (expert) of a reviewing State
written_feedback         dialogue                 idem (the written feedback is given)
dialogue                 drafting_observations    idem
drafting_observations    agreed                   a focal point of one of the three States, or
                                                  the secretariat; the observations' code
                                                  registers in ``Review.agreement_checks`` what
                                                  must hold first (all three States agreed)
agreed                   finalized                the secretariat
=======================  =======================  ==========================================

Any other move, or a move by the wrong role, is refused with a clear error and
changes nothing. Every move is on record (StatusChange).

Draw changes (redraw of one reviewer, a swap by the secretariat) and the group
lots are on record in DrawEvent, append-only, with who, when, seed and reason;
both respect the cycle's cap on reviews per State.

Reminders: ``reminders_send`` (the periodic task calls it) e-mails the people who
must act before (REMINDER_DAYS_BEFORE days) and after each deadline; a
ReminderSent row per (review, step, kind, recipient, due date) under a unique
constraint makes running it twice, or twice at once, send nothing twice.
"""

from __future__ import annotations

import datetime
import random
import secrets
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import AuditEvent
from audit.services import audit_record
from parties.models import Membership, State
from parties.permissions import roles_of
from questionnaire.services import response_get_or_create

from . import draw as drawing
from .deadlines import deadline_of, experts_missing, focal_points_missing, review_deadlines
from .models import (
    DeadlineExtension,
    DrawEvent,
    ExpertAppointment,
    FocalPointAppointment,
    ReminderSent,
    Review,
    ReviewCycle,
    ReviewerAssignment,
    ReviewGroup,
    ReviewGroupMember,
    StatusChange,
    Step,
)
from .services import ReviewError, _candidate, _require, audit_draw, protocol_parties

Role = Membership.Role
Status = Review.Status
GROUP_COUNT = 3
# Reviewing States can be changed until the written feedback starts.
REVIEWERS_CHANGEABLE = (Status.LAUNCHED, Status.APPOINTED, Status.IN_PREPARATION, Status.SUBMITTED)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(_("Give the reason: it goes on record."))
    return reason


# --- Review groups --------------------------------------------------------------------


@transaction.atomic
def review_groups_draw(*, first_year: int, by, seed: str | None = None, instrument_code: str = "firearms_protocol"):
    """Split the parties into three groups by lot, starting their reviews in
    ``first_year`` and the two years after. Each regional group is dealt over the
    three groups in turn, so that every group has States of every region."""
    _require(roles_of(by).secretariat)
    if ReviewGroup.objects.exists():
        raise ReviewError(_("The review groups have been drawn already; move a State with a reason instead."))
    seed = seed or secrets.token_hex(8)
    rng = random.Random(f"groups:{seed}")
    groups = [ReviewGroup.objects.create(number=n, start_year=first_year + n - 1) for n in range(1, GROUP_COUNT + 1)]
    by_region: dict[str, list[State]] = defaultdict(list)
    for state in protocol_parties(instrument_code).order_by("iso3"):
        by_region[state.regional_group].append(state)
    members, turn = [], 0
    for region in sorted(by_region):
        states = by_region[region]
        rng.shuffle(states)
        for state in states:
            members.append(ReviewGroupMember(state=state, group=groups[turn % GROUP_COUNT]))
            turn += 1
    ReviewGroupMember.objects.bulk_create(members)
    draw = DrawEvent.objects.create(
        kind=DrawEvent.Kind.GROUPS,
        seed=seed,
        by=by,
        details={
            str(g.number): sorted(m.state.iso3 for m in members if m.group is g) for g in groups
        }
        | {"first_year": first_year},
    )
    audit_draw(draw=draw, by=by)
    return groups


@transaction.atomic
def review_group_move(*, state: State, group: ReviewGroup, by, reason: str) -> ReviewGroupMember:
    """Put a State in another group (or in one, if it had none), with a reason."""
    _require(roles_of(by).secretariat)
    reason = _reason(reason)
    member = ReviewGroupMember.objects.select_for_update().filter(state=state).first()
    previous = member.group if member else None
    if previous == group:
        raise ReviewError(_("%(state)s is in this group already.") % {"state": state.name})
    if member:
        member.group = group
        member.save(update_fields=["group"])
    else:
        member = ReviewGroupMember.objects.create(state=state, group=group)
    DrawEvent.objects.create(
        kind=DrawEvent.Kind.GROUP_CHANGE,
        new_state=state,
        reason=reason,
        by=by,
        details={"from": previous.number if previous else None, "to": group.number},
    )
    return member


# --- Changes to the draw -----------------------------------------------------------------


def _cycle_loads(cycle: ReviewCycle) -> dict[int, int]:
    return dict(
        ReviewerAssignment.objects.filter(review__cycle=cycle)
        .values("reviewing_state_id")
        .annotate(n=Count("pk"))
        .values_list("reviewing_state_id", "n")
    )


def _reviewed_by(cycle: ReviewCycle, state_id: int) -> set[int]:
    """The States ``state_id`` reviews in this cycle (it may not be reviewed by them)."""
    return set(
        Review.objects.filter(cycle=cycle, assignments__reviewing_state_id=state_id).values_list("state_id", flat=True)
    )


def _locked_assignment(assignment: ReviewerAssignment) -> ReviewerAssignment:
    # The cycle row is the lock of its draw: two changes to one cycle's draw (and
    # their load counts) run one after the other.
    ReviewCycle.objects.select_for_update().get(pk=assignment.review.cycle_id)
    locked = ReviewerAssignment.objects.select_related("review__state", "review__cycle__cluster__instrument",
                                                       "reviewing_state").get(pk=assignment.pk)
    if locked.review.status not in REVIEWERS_CHANGEABLE:
        raise ReviewError(_("The reviewing States can no longer change: the written feedback has started."))
    return locked


def swap_violations(assignment: ReviewerAssignment, new_state: State) -> list[str]:
    """Every rule a swap to ``new_state`` would break (empty: it may be made)."""
    review, cycle = assignment.review, assignment.review.cycle
    subject = review.state
    problems = []
    if not protocol_parties(cycle.cluster.instrument.code).filter(pk=new_state.pk).exists() or not new_state.regional_group:
        problems.append(_("%(state)s is not a party to the instrument.") % {"state": new_state.name})
    if new_state.pk == subject.pk:
        problems.append(_("A State never reviews itself."))
    if new_state.pk == assignment.reviewing_state_id:
        problems.append(_("%(state)s is this reviewer already.") % {"state": new_state.name})
    other = review.assignments.exclude(pk=assignment.pk).values_list("reviewing_state_id", flat=True)
    if new_state.pk in set(other):
        problems.append(_("%(state)s is the other reviewer of this review.") % {"state": new_state.name})
    same = assignment.slot == ReviewerAssignment.Slot.SAME_GROUP
    if (new_state.regional_group == subject.regional_group) != same:
        problems.append(
            _("This slot needs a State of the same regional group as %(state)s.") % {"state": subject.name}
            if same
            else _("This slot needs a State of another regional group than %(state)s.") % {"state": subject.name}
        )
    if new_state.pk in _reviewed_by(cycle, subject.pk):
        problems.append(
            _("%(new)s is reviewed by %(state)s in this cycle: no mutual reviews.") % {"new": new_state.name,
                                                                                          "state": subject.name}
        )
    if _cycle_loads(cycle).get(new_state.pk, 0) >= cycle.max_reviews_per_state:
        problems.append(
            _("%(state)s carries %(cap)s reviews in this cycle already, the most allowed.")
            % {"state": new_state.name, "cap": cycle.max_reviews_per_state}
        )
    return problems


def _replace_reviewer(*, assignment: ReviewerAssignment, new_state: State, by) -> State:
    previous = assignment.reviewing_state
    now = timezone.now()
    # The experts were appointed by the State that no longer reviews.
    experts = ExpertAppointment.objects.filter(assignment=assignment, ended_at__isnull=True)
    focal_points = FocalPointAppointment.objects.filter(review=assignment.review, state=previous, ended_at__isnull=True)
    ended = [("expert", a) for a in experts] + [("review_focal_point", a) for a in focal_points]
    experts.update(ended_at=now, ended_by=by)
    focal_points.update(ended_at=now, ended_by=by)
    for role, appointment in ended:
        _audit_appointment(event=AuditEvent.Event.ROLE_REMOVED, appointment=appointment, role=role,
                           review=assignment.review, state_id=previous.pk, user_id=appointment.user_id, by=by)
    assignment.reviewing_state = new_state
    assignment.save(update_fields=["reviewing_state"])
    return previous


@transaction.atomic
def reviewer_redraw(*, assignment: ReviewerAssignment, by, reason: str, seed: str | None = None) -> ReviewerAssignment:
    """Draw another reviewing State for one slot (a drawn State asked to be
    replaced, for instance), under the draw's rules and the cycle's cap."""
    _require(roles_of(by).secretariat)
    reason = _reason(reason)
    assignment = _locked_assignment(assignment)
    review, cycle = assignment.review, assignment.review.cycle
    seed = seed or secrets.token_hex(8)
    parties = list(protocol_parties(cycle.cluster.instrument.code).exclude(regional_group=""))
    exclude = {assignment.reviewing_state_id, *review.assignments.values_list("reviewing_state_id", flat=True)}
    exclude |= _reviewed_by(cycle, review.state_id)
    try:
        chosen = drawing.redraw_one(
            subject=_candidate(review.state),
            same_group=assignment.slot == ReviewerAssignment.Slot.SAME_GROUP,
            reviewers=[_candidate(p) for p in parties],
            exclude=exclude,
            load=_cycle_loads(cycle),
            cap=cycle.max_reviews_per_state,
            seed=seed,
        )
    except drawing.DrawImpossible as exc:
        raise ReviewError(
            _("No other State can be drawn for this slot: %(reasons)s") % {"reasons": "; ".join(exc.reasons)}
        ) from exc
    new_state = next(p for p in parties if p.pk == chosen.id)
    previous = _replace_reviewer(assignment=assignment, new_state=new_state, by=by)
    draw = DrawEvent.objects.create(
        kind=DrawEvent.Kind.REDRAW, cycle=cycle, review=review, slot=assignment.slot, previous_state=previous,
        new_state=new_state, seed=seed, reason=reason, by=by,
    )
    audit_draw(draw=draw, by=by, state=review.state_id, old={"reviewing_state": previous.iso3, "slot": assignment.slot},
               new={"reviewing_state": new_state.iso3, "slot": assignment.slot})
    return assignment


@transaction.atomic
def reviewer_swap(*, assignment: ReviewerAssignment, new_state: State, by, reason: str) -> ReviewerAssignment:
    """The secretariat puts ``new_state`` in one slot by hand, under the same rules."""
    _require(roles_of(by).secretariat)
    reason = _reason(reason)
    assignment = _locked_assignment(assignment)
    problems = swap_violations(assignment, new_state)
    if problems:
        raise ReviewError(" ".join(problems))
    previous = _replace_reviewer(assignment=assignment, new_state=new_state, by=by)
    draw = DrawEvent.objects.create(
        kind=DrawEvent.Kind.SWAP, cycle=assignment.review.cycle, review=assignment.review, slot=assignment.slot,
        previous_state=previous, new_state=new_state, reason=reason, by=by,
    )
    audit_draw(draw=draw, by=by, state=assignment.review.state_id,
               old={"reviewing_state": previous.iso3, "slot": assignment.slot},
               new={"reviewing_state": new_state.iso3, "slot": assignment.slot})
    return assignment


def swap_candidates(assignment: ReviewerAssignment) -> list[State]:
    """The States a swap of this slot may choose (every rule holds)."""
    review, cycle = assignment.review, assignment.review.cycle
    subject = review.state
    same = assignment.slot == ReviewerAssignment.Slot.SAME_GROUP
    loads = _cycle_loads(cycle)
    exclude = {subject.pk, *review.assignments.values_list("reviewing_state_id", flat=True)} | _reviewed_by(
        cycle, subject.pk
    )
    parties = protocol_parties(cycle.cluster.instrument.code).exclude(regional_group="").exclude(pk__in=exclude)
    parties = parties.filter(regional_group=subject.regional_group) if same else parties.exclude(
        regional_group=subject.regional_group
    )
    return [p for p in parties.order_by("name") if loads.get(p.pk, 0) < cycle.max_reviews_per_state]


# --- Status --------------------------------------------------------------------------------

# Who may make each move, as said to a person refused (the rules are in permissions.py).
WHO = {
    Status.APPOINTED: gettext_lazy("the secretariat"),
    Status.IN_PREPARATION: gettext_lazy("a focal point of the State under review"),
    Status.WRITTEN_FEEDBACK: gettext_lazy("a reviewer of a reviewing State"),
    Status.DIALOGUE: gettext_lazy("a reviewer of a reviewing State"),
    Status.DRAFTING_OBSERVATIONS: gettext_lazy("a reviewer of a reviewing State"),
    Status.AGREED: gettext_lazy("a focal point of one of the three States or the secretariat"),
    Status.FINALIZED: gettext_lazy("the secretariat"),
}


def _transition_to(review: Review, to: str):
    for transition in review.get_all_status_transitions():
        if transition.target == to and transition.source == review.status:
            return transition
    return None


def transitions_for(review: Review, user) -> list[str]:
    """The statuses ``user`` may move ``review`` to now (for the page's buttons;
    conditions not yet met are shown as blockers, not hidden)."""
    targets = []
    for transition in review.get_all_status_transitions():
        if transition.source == review.status and transition.target != Status.SUBMITTED:
            if transition.has_perm(review, user):
                targets.append(transition.target)
    return targets


@transaction.atomic
def review_transition(*, review: Review, to: str, by, reason: str = "") -> Review:
    """Move a review one step (see the table of this module). Refused — nothing
    changed — if the move is not the next one, if ``by`` is not entitled to it
    (PermissionDenied) or if what it needs does not hold yet (ReviewError)."""
    locked = (
        Review.objects.select_for_update(of=("self",))
        .select_related("state", "cycle", "response")
        .get(pk=review.pk)
    )
    if to not in Status.values:
        raise ReviewError(_("Unknown status."))
    if to == Status.SUBMITTED:
        raise ReviewError(_("A review is submitted by submitting the self-assessment, not by hand."))
    transition = _transition_to(locked, to)
    if transition is None:
        raise ReviewError(
            _("A review that is “%(current)s” cannot move to “%(target)s”.")
            % {"current": locked.get_status_display(), "target": Status(to).label}
        )
    if not transition.has_perm(locked, by):
        raise PermissionDenied(
            _("Only %(who)s may move a review to “%(target)s”.") % {"who": WHO[to], "target": Status(to).label}
        )
    blockers = locked.blockers(to)
    if blockers:
        raise ReviewError(" ".join([_("Not yet:")] + blockers))
    source = locked.status
    getattr(locked, transition.name)()
    locked.save()
    StatusChange.objects.create(review=locked, source=source, target=locked.status, by=by, reason=(reason or "").strip())
    return locked


# --- Appointments ----------------------------------------------------------------------------


def _participating_states(review: Review) -> dict[int, State]:
    states = {review.state_id: review.state}
    for a in review.assignments.select_related("reviewing_state"):
        states[a.reviewing_state_id] = a.reviewing_state
    return states


def _audit_appointment(*, event: str, appointment, role: str, review: Review, state_id: int, user_id: int, by) -> None:
    """A person given (or relieved of) a role for one review: the focal point of a
    participating State, or a governmental expert of a reviewing State. These are not
    memberships, so the membership receivers in audit do not see them."""
    values = {"role": role, "review": review.pk, "state": state_id, "user": user_id}
    audit_record(
        event=event, actor=by, state=state_id, obj=appointment, obj_repr=f"{role} #{appointment.pk}",
        old=values if event == AuditEvent.Event.ROLE_REMOVED else None,
        new=values if event == AuditEvent.Event.ROLE_GRANTED else None,
        extra={"role": role, "review": review.pk, "user": user_id, "state_under_review": review.state_id},
    )


def _may_appoint_for(user, state_id: int) -> bool:
    roles = roles_of(user)
    return roles.secretariat or roles.has(state_id, Role.FOCAL_POINT)


@transaction.atomic
def focal_point_appoint(*, review: Review, state: State, user, by) -> FocalPointAppointment:
    """Make ``user`` the focal point of ``state`` for this review, replacing the
    current one (whose row is ended, not deleted). By the secretariat or a focal
    point of that State; ``user`` must be a focal point of that State."""
    locked = Review.objects.select_for_update(of=("self",)).select_related("state").get(pk=review.pk)
    states = _participating_states(locked)
    if state.pk not in states:
        raise ReviewError(_("%(state)s takes no part in this review.") % {"state": state.name})
    _require(_may_appoint_for(by, state.pk))
    if locked.status == Status.FINALIZED:
        raise ReviewError(_("This review is finalized."))
    if not Membership.objects.filter(user=user, state=state, role=Role.FOCAL_POINT, is_active=True).exists():
        raise ReviewError(
            _("%(person)s is not a focal point of %(state)s.") % {"person": user.get_full_name() or user.username,
                                                                   "state": state.name}
        )
    current = FocalPointAppointment.objects.filter(review=locked, state=state, ended_at__isnull=True).first()
    if current and current.user_id == user.pk:
        raise ReviewError(_("This person is the focal point for this review already."))
    if current:
        current.ended_at, current.ended_by = timezone.now(), by
        current.save(update_fields=["ended_at", "ended_by"])
        _audit_appointment(event=AuditEvent.Event.ROLE_REMOVED, appointment=current, role="review_focal_point",
                           review=locked, state_id=state.pk, user_id=current.user_id, by=by)
    appointment = FocalPointAppointment.objects.create(review=locked, state=state, user=user, appointed_by=by)
    _audit_appointment(event=AuditEvent.Event.ROLE_GRANTED, appointment=appointment, role="review_focal_point",
                       review=locked, state_id=state.pk, user_id=user.pk, by=by)
    return appointment


@transaction.atomic
def experts_appoint(*, assignment: ReviewerAssignment, users: list, by) -> list[ExpertAppointment]:
    """A reviewing State appoints its governmental experts for this review: users
    with the reviewer role of that State. By the secretariat or a focal point of
    that State. Those appointed already stay as they are."""
    assignment = ReviewerAssignment.objects.select_related("review", "reviewing_state").get(pk=assignment.pk)
    _require(_may_appoint_for(by, assignment.reviewing_state_id))
    if assignment.review.status == Status.FINALIZED:
        raise ReviewError(_("This review is finalized."))
    if not users:
        raise ReviewError(_("Choose at least one expert."))
    reviewers = set(
        Membership.objects.filter(
            state_id=assignment.reviewing_state_id, role=Role.REVIEWER, is_active=True, user__in=users
        ).values_list("user_id", flat=True)
    )
    strangers = [u for u in users if u.pk not in reviewers]
    if strangers:
        raise ReviewError(
            _("Not a governmental expert (reviewer) of %(state)s: %(people)s.")
            % {"state": assignment.reviewing_state.name,
               "people": ", ".join(u.get_full_name() or u.username for u in strangers)}
        )
    current = set(assignment.expert_appointments.filter(ended_at__isnull=True).values_list("user_id", flat=True))
    appointments = [
        ExpertAppointment.objects.create(assignment=assignment, user=u, appointed_by=by)
        for u in users
        if u.pk not in current
    ]
    for appointment in appointments:
        _audit_appointment(event=AuditEvent.Event.ROLE_GRANTED, appointment=appointment, role="expert",
                           review=assignment.review, state_id=assignment.reviewing_state_id,
                           user_id=appointment.user_id, by=by)
    return appointments


@transaction.atomic
def expert_release(*, appointment: ExpertAppointment, by) -> ExpertAppointment:
    appointment = ExpertAppointment.objects.select_for_update().select_related("assignment").get(pk=appointment.pk)
    _require(_may_appoint_for(by, appointment.assignment.reviewing_state_id))
    if appointment.ended_at is not None:
        raise ReviewError(_("This expert was released already."))
    appointment.ended_at, appointment.ended_by = timezone.now(), by
    appointment.save(update_fields=["ended_at", "ended_by"])
    _audit_appointment(event=AuditEvent.Event.ROLE_REMOVED, appointment=appointment, role="expert",
                       review=appointment.assignment.review, state_id=appointment.assignment.reviewing_state_id,
                       user_id=appointment.user_id, by=by)
    return appointment


# --- Deadlines ---------------------------------------------------------------------------------


@transaction.atomic
def deadline_extend(*, review: Review, step: str, due_date: datetime.date, reason: str, by) -> DeadlineExtension:
    """The secretariat extends one step's deadline, with a reason (on record). A
    new deadline must be in the future and later than the current one."""
    _require(roles_of(by).secretariat)
    reason = _reason(reason)
    if step not in Step.values:
        raise ReviewError(_("Unknown step."))
    locked = Review.objects.select_for_update(of=("self",)).select_related("cycle", "response", "state").get(pk=review.pk)
    if locked.status == Status.FINALIZED:
        raise ReviewError(_("This review is finalized."))
    current = deadline_of(locked, step)
    if current.due is None:
        raise ReviewError(_("This step has no deadline yet (it starts with the submission)."))
    if current.done:
        raise ReviewError(_("This step is done: its deadline no longer needs extending."))
    today = timezone.localdate()
    if due_date <= today:
        raise ReviewError(_("A new deadline must be in the future."))
    if due_date <= current.due:
        raise ReviewError(
            _("An extension moves the deadline later than %(due)s.") % {"due": current.due.isoformat()}
        )
    extension = DeadlineExtension.objects.create(
        review=locked, step=step, previous_due_date=current.due, due_date=due_date, reason=reason, granted_by=by
    )
    if step == Step.SELF_ASSESSMENT:
        # The response carries its due date for the State's own pages.
        response_get_or_create(state=locked.state, version=locked.response.version, due_date=due_date)
    return extension


# --- Reminders -----------------------------------------------------------------------------------


def reminder_reviews():
    """Reviews not finalized, with everything their deadlines and recipients read."""
    from .selectors import with_deadline_data

    return with_deadline_data(Review.objects.exclude(status=Status.FINALIZED))


def _recipients(review: Review, step: str, people: dict) -> set:
    """Who must act on ``step``: the review's focal point of the State concerned
    (or, while none is appointed, all the State's focal points); for the written
    feedback, the appointed experts (or all reviewers of the reviewing States)."""
    appointed = {a.state_id: a.user for a in review.focal_points.all() if a.ended_at is None}

    def focal_of(state_id):
        return {appointed[state_id]} if state_id in appointed else set(people[(state_id, Role.FOCAL_POINT)])

    if step == Step.FOCAL_POINTS:
        return set().union(*[set(people[(s.pk, Role.FOCAL_POINT)]) for s in focal_points_missing(review)])
    if step == Step.EXPERTS:
        return set().union(*[focal_of(a.reviewing_state_id) for a in experts_missing(review)])
    if step == Step.SELF_ASSESSMENT:
        return focal_of(review.state_id)
    recipients = set()
    for assignment in review.assignments.all():
        experts = {e.user for e in assignment.expert_appointments.all() if e.ended_at is None}
        recipients |= experts or set(people[(assignment.reviewing_state_id, Role.REVIEWER)])
    return recipients


def reminders_send(*, today: datetime.date | None = None) -> int:
    """Send the reminders due today; return how many were sent.

    Not one transaction: each reminder is its own (its ReminderSent row and its
    e-mail together), so that a failure later in the run neither re-sends nor
    loses the reminders already sent. A second run, or one running at the same
    time, meets the unique constraint and sends nothing again."""
    today = today or timezone.localdate()
    days_before = datetime.timedelta(days=settings.REMINDER_DAYS_BEFORE)
    reviews = list(reminder_reviews())
    state_ids = {r.state_id for r in reviews} | {a.reviewing_state_id for r in reviews for a in r.assignments.all()}
    people: dict = defaultdict(list)
    secretariat = []
    for m in Membership.objects.filter(
        Q(state_id__in=state_ids, role__in=[Role.FOCAL_POINT, Role.REVIEWER]) | Q(role=Role.SECRETARIAT),
        is_active=True,
        user__is_active=True,
    ).select_related("user"):
        if m.role == Role.SECRETARIAT:
            secretariat.append(m.user)
        else:
            people[(m.state_id, m.role)].append(m.user)
    sent = 0
    for review in reviews:
        for deadline in review_deadlines(review):
            if not deadline.is_pending():
                continue
            if today > deadline.due:
                kind = ReminderSent.Kind.AFTER
            elif today >= deadline.due - days_before:
                kind = ReminderSent.Kind.BEFORE
            else:
                continue
            recipients = _recipients(review, deadline.step, people)
            if kind == ReminderSent.Kind.AFTER:
                recipients |= set(secretariat)
            for user in sorted(recipients, key=lambda u: u.pk):
                if user.email and _send_one(review=review, deadline=deadline, kind=kind, user=user, today=today):
                    sent += 1
    return sent


def _send_one(*, review: Review, deadline, kind: str, user, today: datetime.date) -> bool:
    try:
        with transaction.atomic():
            ReminderSent.objects.create(
                review=review, step=deadline.step, kind=kind, recipient=user, due_date=deadline.due
            )
            with translation.override(review.language or settings.LANGUAGE_CODE):
                context = {
                    "review": review,
                    "step": Step(deadline.step).label,
                    "due": deadline.due,
                    "overdue": kind == ReminderSent.Kind.AFTER,
                    "days": (deadline.due - today).days,
                    "user": user,
                    "path": getattr(settings, "SITE_URL", "").rstrip("/") + reverse("reviews:review", args=[review.pk]),
                }
                subject = render_to_string("reviews/email/reminder_subject.txt", context).strip()
                body = render_to_string("reviews/email/reminder_body.txt", context)
            send_mail(subject, body, None, [user.email])
    except IntegrityError:
        return False  # sent already (by an earlier run, or one running now)
    return True
