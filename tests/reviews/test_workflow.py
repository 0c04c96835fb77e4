"""The review as the mechanism runs it (reviews/services_workflow.py): the three
review groups, redraws and swaps under the draw's rules and the cycle's cap, the
status of a review moved only by the role entitled to it, and appointments."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from parties.models import Membership, State
from questionnaire.services import response_submit
from reviews import services_workflow as workflow
from reviews.models import (
    AppendOnlyError,
    DrawEvent,
    ExpertAppointment,
    FocalPointAppointment,
    Review,
    ReviewCycle,
    ReviewerAssignment,
    ReviewGroup,
    ReviewGroupMember,
    StatusChange,
)
from reviews.services import DrawRefused, ReviewError, cycle_launch
from tests.factories import MembershipFactory, StateFactory, fill_required

pytestmark = pytest.mark.django_db
Role = Membership.Role
Status = Review.Status
Slot = ReviewerAssignment.Slot
Group = State.RegionalGroup


def person(role, state=None):
    return MembershipFactory(role=role, state=state).user


def fresh(review: Review) -> Review:
    return Review.objects.select_related("state", "cycle", "response").get(pk=review.pk)


def assignment(review: Review, slot: str) -> ReviewerAssignment:
    return ReviewerAssignment.objects.select_related("review__cycle", "review__state", "reviewing_state").get(
        review=review, slot=slot
    )


def snapshot(review: Review) -> tuple:
    """Everything a refused workflow action must leave as it was."""
    return (
        Review.objects.get(pk=review.pk).status,
        list(ReviewerAssignment.objects.filter(review=review).order_by("pk").values_list("slot", "reviewing_state_id")),
        DrawEvent.objects.count(),
        StatusChange.objects.count(),
        list(FocalPointAppointment.objects.order_by("pk").values_list("pk", "user_id", "ended_at")),
        list(ExpertAppointment.objects.order_by("pk").values_list("pk", "user_id", "ended_at")),
    )


# --- The draw at launch: cap, record, nearest valid draw ----------------------------------------


def test_it_records_the_draw_at_launch_with_its_seed_and_pairs(review_a, secretariat):
    event = DrawEvent.objects.get(cycle=review_a.cycle)

    assert (event.kind, event.seed, event.by) == (DrawEvent.Kind.LAUNCH, "fixed", secretariat)
    codes = sorted(a.reviewing_state.iso3 for a in review_a.assignments.select_related("reviewing_state"))
    assert sorted(event.details["pairs"][review_a.state.iso3]) == codes
    assert event.details["cap"] == review_a.cycle.max_reviews_per_state


def test_it_never_lets_a_draw_event_be_changed_or_deleted(review_a):
    event = DrawEvent.objects.get(cycle=review_a.cycle)
    event.reason = "rewritten history"

    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert DrawEvent.objects.get(pk=event.pk).reason == ""


def test_it_keeps_every_reviewing_state_under_the_cycles_cap(parties, version, secretariat):
    # Six States under review, twelve parties, one review each at most: exactly one each.
    cycle = cycle_launch(
        cluster=version.cluster, year=2026, states=parties[:6], by=secretariat, seed="cap",
        periods={"max_reviews_per_state": 1},
    )

    loads = {}
    for a in ReviewerAssignment.objects.filter(review__cycle=cycle):
        loads[a.reviewing_state_id] = loads.get(a.reviewing_state_id, 0) + 1
    assert set(loads.values()) == {1} and len(loads) == 12
    assert cycle.max_reviews_per_state == 1


def test_it_refuses_a_draw_over_the_cap_and_offers_the_nearest_valid_one(parties, version, secretariat):
    # 12 parties carrying at most one review each can review 6 States, not 7.
    with pytest.raises(DrawRefused) as caught:
        cycle_launch(cluster=version.cluster, year=2026, states=parties[:7], by=secretariat, seed="cap",
                     periods={"max_reviews_per_state": 1})

    refusal = caught.value
    assert "cannot satisfy the rules" in str(refusal) and "1 each" in str(refusal)
    assert refusal.postponed and refusal.drawable
    assert set(refusal.drawable) | set(refusal.postponed) == set(parties[:7])
    assert not ReviewCycle.objects.exists() and not DrawEvent.objects.exists()
    # The nearest draw is a valid one: launching it works and keeps the cap.
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=refusal.drawable, by=secretariat, seed="cap",
                         periods={"max_reviews_per_state": 1})
    assert cycle.reviews.count() == len(refusal.drawable)


def test_it_postpones_a_lone_party_of_its_region_in_the_nearest_draw(parties, version, secretariat):
    lonely = StateFactory(name="Solitaria", regional_group=Group.EASTERN_EUROPEAN, party=True)
    # Eastern European parties: Genovia, Hyrkania and Solitaria; make Solitaria the only one.
    State.objects.filter(pk__in=[parties[6].pk, parties[7].pk]).update(regional_group=Group.WESTERN_EUROPEAN_OTHERS)

    with pytest.raises(DrawRefused) as caught:
        cycle_launch(cluster=version.cluster, year=2026, states=[parties[0], lonely], by=secretariat, seed="x")

    assert caught.value.postponed == [lonely]
    assert caught.value.drawable == [parties[0]]
    assert "Solitaria" in str(caught.value)


def test_it_takes_the_deadlines_of_a_cycle_from_the_launch_or_the_settings(parties, version, secretariat, settings):
    settings.FOCAL_POINT_DUE_WEEKS = 3
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=[parties[0]], by=secretariat, seed="p",
                         periods={"experts_due_weeks": 5, "written_feedback_due_months": 4})

    assert (cycle.focal_point_due_weeks, cycle.experts_due_weeks, cycle.written_feedback_due_months) == (3, 5, 4)


def test_it_refuses_a_period_of_zero(parties, version, secretariat):
    with pytest.raises(ReviewError):
        cycle_launch(cluster=version.cluster, year=2026, states=[parties[0]], by=secretariat, seed="p",
                     periods={"experts_due_weeks": 0})
    assert not ReviewCycle.objects.exists()


# --- Review groups ----------------------------------------------------------------------------------


def test_it_splits_the_parties_into_three_groups_starting_in_consecutive_years(parties, secretariat):
    groups = workflow.review_groups_draw(first_year=2020, seed="lots", by=secretariat)

    assert [(g.number, g.start_year) for g in groups] == [(1, 2020), (2, 2021), (3, 2022)]
    members = dict(ReviewGroupMember.objects.values_list("state_id", "group__number"))
    assert set(members) == {s.pk for s in parties}
    sizes = sorted(list(members.values()).count(n) for n in (1, 2, 3))
    assert sizes == [4, 4, 4]
    event = DrawEvent.objects.get(kind=DrawEvent.Kind.GROUPS)
    assert event.seed == "lots" and sorted(sum((event.details[n] for n in "123"), [])) == sorted(s.iso3 for s in parties)


def test_it_draws_the_same_groups_from_the_same_seed(parties, secretariat):
    workflow.review_groups_draw(first_year=2020, seed="lots", by=secretariat)
    first = dict(ReviewGroupMember.objects.values_list("state__iso3", "group__number"))
    ReviewGroupMember.objects.all().delete()
    ReviewGroup.objects.all().delete()

    workflow.review_groups_draw(first_year=2020, seed="lots", by=secretariat)

    assert dict(ReviewGroupMember.objects.values_list("state__iso3", "group__number")) == first


def test_it_refuses_to_draw_the_groups_twice(parties, secretariat):
    workflow.review_groups_draw(first_year=2020, seed="lots", by=secretariat)
    before = list(ReviewGroupMember.objects.order_by("pk").values_list("state_id", "group_id"))

    with pytest.raises(ReviewError, match="drawn already"):
        workflow.review_groups_draw(first_year=2023, seed="again", by=secretariat)

    assert list(ReviewGroupMember.objects.order_by("pk").values_list("state_id", "group_id")) == before
    assert ReviewGroup.objects.count() == 3


@pytest.mark.parametrize("persona", ["focal_point_a", "anonymous"])
def test_it_lets_only_the_secretariat_draw_or_move_groups(request, parties, secretariat, persona):
    someone = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        workflow.review_groups_draw(first_year=2020, by=someone)
    groups = workflow.review_groups_draw(first_year=2020, seed="lots", by=secretariat)

    with pytest.raises(PermissionDenied):
        workflow.review_group_move(state=parties[0], group=groups[2], by=someone, reason="why not")


def test_it_moves_a_state_to_another_group_with_a_reason_on_record(parties, secretariat):
    groups = workflow.review_groups_draw(first_year=2020, seed="lots", by=secretariat)
    member = ReviewGroupMember.objects.get(state=parties[0])
    target = next(g for g in groups if g != member.group)

    with pytest.raises(ReviewError, match="reason"):
        workflow.review_group_move(state=parties[0], group=target, by=secretariat, reason="  ")
    assert ReviewGroupMember.objects.get(state=parties[0]).group == member.group

    workflow.review_group_move(state=parties[0], group=target, by=secretariat, reason="Asked by its mission")

    assert ReviewGroupMember.objects.get(state=parties[0]).group == target
    event = DrawEvent.objects.get(kind=DrawEvent.Kind.GROUP_CHANGE)
    assert (event.new_state, event.reason, event.details) == (
        parties[0], "Asked by its mission", {"from": member.group.number, "to": target.number}
    )


# --- Redraw and swap ---------------------------------------------------------------------------------


def test_it_redraws_one_reviewer_under_the_rules_with_the_reason_on_record(review_a, secretariat):
    slot = assignment(review_a, Slot.OTHER_GROUP)
    before = slot.reviewing_state

    workflow.reviewer_redraw(assignment=slot, by=secretariat, reason="Asked to be replaced", seed="r1")

    after = assignment(review_a, Slot.OTHER_GROUP).reviewing_state
    assert after != before and after != review_a.state
    assert after.regional_group != review_a.state.regional_group
    event = DrawEvent.objects.get(kind=DrawEvent.Kind.REDRAW)
    assert (event.previous_state, event.new_state, event.seed, event.reason, event.by, event.slot) == (
        before, after, "r1", "Asked to be replaced", secretariat, Slot.OTHER_GROUP
    )


def test_it_refuses_a_redraw_without_a_reason_or_by_anyone_but_the_secretariat(review_a, focal_point_a, secretariat):
    slot = assignment(review_a, Slot.OTHER_GROUP)
    before = snapshot(review_a)

    with pytest.raises(ReviewError, match="reason"):
        workflow.reviewer_redraw(assignment=slot, by=secretariat, reason="")
    with pytest.raises(PermissionDenied):
        workflow.reviewer_redraw(assignment=slot, by=focal_point_a, reason="I prefer another")

    assert snapshot(review_a) == before


def test_it_refuses_a_redraw_when_no_other_state_is_eligible(review_a, secretariat):
    # African parties: A (under review), B and Carpania; one of them is the same-group
    # reviewer, and with a cap of one review per State... the other is still free.
    # Make the other one no party: nobody else may review A in its own group.
    slot = assignment(review_a, Slot.SAME_GROUP)
    african = State.objects.filter(regional_group=Group.AFRICAN).exclude(pk__in=[review_a.state_id,
                                                                                  slot.reviewing_state_id])
    african.update(regional_group="")
    before = snapshot(review_a)

    with pytest.raises(ReviewError, match="No other State can be drawn"):
        workflow.reviewer_redraw(assignment=slot, by=secretariat, reason="Asked")

    assert snapshot(review_a) == before


def test_it_swaps_a_reviewer_by_hand_and_ends_the_old_states_appointments(review_a, secretariat):
    slot = assignment(review_a, Slot.OTHER_GROUP)
    old = slot.reviewing_state
    expert = person(Role.REVIEWER, old)
    workflow.experts_appoint(assignment=slot, users=[expert], by=secretariat)
    candidate = workflow.swap_candidates(slot)[0]

    workflow.reviewer_swap(assignment=slot, new_state=candidate, by=secretariat, reason="Conflict of interest")

    assert assignment(review_a, Slot.OTHER_GROUP).reviewing_state == candidate
    assert ExpertAppointment.objects.get(user=expert).ended_at is not None
    event = DrawEvent.objects.get(kind=DrawEvent.Kind.SWAP)
    assert (event.previous_state, event.new_state, event.reason, event.seed) == (old, candidate, "Conflict of interest", "")


def test_it_refuses_swaps_that_break_a_rule_and_changes_nothing(parties, version, secretariat):
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=[parties[0], parties[3]], by=secretariat,
                         seed="swap", periods={"max_reviews_per_state": 1})
    review = cycle.reviews.get(state=parties[0])
    other_review = cycle.reviews.get(state=parties[3])
    slot = assignment(review, Slot.OTHER_GROUP)
    same = assignment(review, Slot.SAME_GROUP)
    busy = assignment(other_review, Slot.OTHER_GROUP).reviewing_state  # carries its one review already
    outsider = StateFactory(name="Nonparty", regional_group=Group.ASIA_PACIFIC)
    african = next(s for s in parties[:3] if s.pk not in (review.state_id, same.reviewing_state_id))
    before = snapshot(review)

    cases = [
        (review.state, "never reviews itself"),
        (slot.reviewing_state, "this reviewer already"),
        (same.reviewing_state, "other reviewer of this review"),
        (african, "another regional group"),
        (outsider, "not a party"),
    ]
    if busy.regional_group != review.state.regional_group and busy.pk != review.state_id:
        cases.append((busy, "the most allowed"))
    for state, message in cases:
        with pytest.raises(ReviewError, match=message):
            workflow.reviewer_swap(assignment=slot, new_state=state, by=secretariat, reason="try")
    assert snapshot(review) == before


def test_it_refuses_a_swap_that_makes_two_states_review_each_other(parties, version, secretariat):
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=[parties[0], parties[3]], by=secretariat, seed="m")
    a_slot = assignment(cycle.reviews.get(state=parties[0]), Slot.OTHER_GROUP)
    d_slot = assignment(cycle.reviews.get(state=parties[3]), Slot.OTHER_GROUP)
    if a_slot.reviewing_state == parties[3]:
        # Dorvalia reviews Arcadia: Arcadia may not review Dorvalia.
        slot, newcomer = d_slot, parties[0]
    else:
        # Make Arcadia review Dorvalia: Dorvalia may then not review Arcadia.
        ReviewerAssignment.objects.filter(pk=d_slot.pk).update(reviewing_state=parties[0])
        slot, newcomer = a_slot, parties[3]
    before = slot.reviewing_state_id

    with pytest.raises(ReviewError, match="no mutual reviews"):
        workflow.reviewer_swap(assignment=slot, new_state=newcomer, by=secretariat, reason="try")

    assert ReviewerAssignment.objects.get(pk=slot.pk).reviewing_state_id == before
    assert newcomer not in workflow.swap_candidates(slot)


def test_it_refuses_to_change_reviewers_once_the_written_feedback_started(review_a, secretariat, reviewer,
                                                                           focal_point_a):
    submit_and_start_feedback(review_a, focal_point_a, reviewer)
    before = snapshot(review_a)

    with pytest.raises(ReviewError, match="no longer change"):
        workflow.reviewer_redraw(assignment=assignment(review_a, Slot.OTHER_GROUP), by=secretariat, reason="late")

    assert snapshot(review_a) == before


# --- Status ----------------------------------------------------------------------------------------


def submit(review: Review, focal_point) -> None:
    fill_required(review.response, focal_point)
    response_submit(response=fresh(review).response, by=focal_point)


def submit_and_start_feedback(review, focal_point, reviewer) -> Review:
    submit(review, focal_point)
    return workflow.review_transition(review=review, to=Status.WRITTEN_FEEDBACK, by=reviewer)


def appoint_everyone(review: Review, by) -> None:
    review = fresh(review)
    for state in [review.state] + [a.reviewing_state for a in review.assignments.all()]:
        focal = Membership.objects.filter(state=state, role=Role.FOCAL_POINT, is_active=True).first()
        workflow.focal_point_appoint(review=review, state=state, user=focal.user if focal else person(Role.FOCAL_POINT, state), by=by)
    for a in review.assignments.all():
        workflow.experts_appoint(assignment=a, users=[person(Role.REVIEWER, a.reviewing_state)], by=by)


def test_it_carries_a_review_from_launch_to_finalized_each_step_by_its_role(
    review_a, secretariat, focal_point_a, reviewer, monkeypatch
):
    monkeypatch.setattr(Review, "agreement_checks", [])  # no observations' rule in this test
    appoint_everyone(review_a, secretariat)

    workflow.review_transition(review=review_a, to=Status.APPOINTED, by=secretariat, reason="All appointed")
    workflow.review_transition(review=review_a, to=Status.IN_PREPARATION, by=focal_point_a)
    submit(review_a, focal_point_a)
    assert fresh(review_a).status == Status.SUBMITTED
    workflow.review_transition(review=review_a, to=Status.WRITTEN_FEEDBACK, by=reviewer)
    workflow.review_transition(review=review_a, to=Status.DIALOGUE, by=reviewer)
    workflow.review_transition(review=review_a, to=Status.DRAFTING_OBSERVATIONS, by=reviewer)
    workflow.review_transition(review=review_a, to=Status.AGREED, by=focal_point_a)
    workflow.review_transition(review=review_a, to=Status.FINALIZED, by=secretariat)

    assert fresh(review_a).status == Status.FINALIZED
    changes = list(StatusChange.objects.filter(review=review_a).values_list("source", "target", "by"))
    assert changes == [
        (Status.LAUNCHED, Status.APPOINTED, secretariat.pk),
        (Status.APPOINTED, Status.IN_PREPARATION, focal_point_a.pk),
        (Status.IN_PREPARATION, Status.SUBMITTED, focal_point_a.pk),
        (Status.SUBMITTED, Status.WRITTEN_FEEDBACK, reviewer.pk),
        (Status.WRITTEN_FEEDBACK, Status.DIALOGUE, reviewer.pk),
        (Status.DIALOGUE, Status.DRAFTING_OBSERVATIONS, reviewer.pk),
        (Status.DRAFTING_OBSERVATIONS, Status.AGREED, focal_point_a.pk),
        (Status.AGREED, Status.FINALIZED, secretariat.pk),
    ]
    assert StatusChange.objects.get(target=Status.APPOINTED).reason == "All appointed"


@pytest.mark.parametrize(
    "target", [Status.IN_PREPARATION, Status.WRITTEN_FEEDBACK, Status.DIALOGUE, Status.AGREED, Status.FINALIZED]
)
def test_it_refuses_a_move_out_of_order_and_changes_nothing(review_a, secretariat, target):
    before = snapshot(review_a)

    with pytest.raises(ReviewError, match="cannot move"):
        workflow.review_transition(review=review_a, to=target, by=secretariat)

    assert snapshot(review_a) == before


def test_it_refuses_to_mark_a_review_submitted_by_hand(review_a, secretariat):
    with pytest.raises(ReviewError, match="submitting the self-assessment"):
        workflow.review_transition(review=review_a, to=Status.SUBMITTED, by=secretariat)
    assert fresh(review_a).status == Status.LAUNCHED


def test_it_refuses_to_confirm_appointments_until_everyone_is_appointed(review_a, secretariat, focal_point_a):
    workflow.focal_point_appoint(review=review_a, state=review_a.state, user=focal_point_a, by=focal_point_a)
    before = snapshot(review_a)

    with pytest.raises(ReviewError) as caught:
        workflow.review_transition(review=review_a, to=Status.APPOINTED, by=secretariat)

    message = str(caught.value)
    for a in review_a.assignments.select_related("reviewing_state"):
        assert f"{a.reviewing_state.name} has no focal point" in message
        assert f"{a.reviewing_state.name} has appointed no expert" in message
    assert review_a.state.name + " has no focal point" not in message
    assert snapshot(review_a) == before


@pytest.mark.parametrize(
    ("target", "setup", "wrong"),
    [
        (Status.APPOINTED, "appointed", "focal_point_a"),
        (Status.APPOINTED, "appointed", "reviewer"),
        (Status.IN_PREPARATION, "confirmed", "secretariat"),
        (Status.IN_PREPARATION, "confirmed", "contributor_a"),
        (Status.IN_PREPARATION, "confirmed", "focal_point_b"),
        (Status.WRITTEN_FEEDBACK, "submitted", "focal_point_a"),
        (Status.WRITTEN_FEEDBACK, "submitted", "secretariat"),
        (Status.WRITTEN_FEEDBACK, "submitted", "unassigned_reviewer"),
        (Status.FINALIZED, "agreed", "focal_point_a"),
        (Status.FINALIZED, "agreed", "reviewer"),
    ],
)
def test_it_refuses_a_move_by_the_wrong_role_and_changes_nothing(
    request, review_a, secretariat, focal_point_a, reviewer, target, setup, wrong, monkeypatch
):
    monkeypatch.setattr(Review, "agreement_checks", [])
    appoint_everyone(review_a, secretariat)
    if setup != "appointed":
        workflow.review_transition(review=review_a, to=Status.APPOINTED, by=secretariat)
    if setup in ("submitted", "agreed"):
        submit(review_a, focal_point_a)
    if setup == "agreed":
        for step in (Status.WRITTEN_FEEDBACK, Status.DIALOGUE, Status.DRAFTING_OBSERVATIONS):
            workflow.review_transition(review=review_a, to=step, by=reviewer)
        workflow.review_transition(review=review_a, to=Status.AGREED, by=secretariat)
    someone = request.getfixturevalue(wrong)
    before = snapshot(review_a)

    with pytest.raises(PermissionDenied, match="Only"):
        workflow.review_transition(review=review_a, to=target, by=someone)

    assert snapshot(review_a) == before


def test_it_waits_for_what_the_observations_require_before_agreement(
    review_a, secretariat, focal_point_a, reviewer, monkeypatch
):
    monkeypatch.setattr(Review, "agreement_checks", [lambda review: ["Borduria has not agreed yet."]])
    submit(review_a, focal_point_a)
    for step in (Status.WRITTEN_FEEDBACK, Status.DIALOGUE, Status.DRAFTING_OBSERVATIONS):
        workflow.review_transition(review=review_a, to=step, by=reviewer)
    before = snapshot(review_a)

    with pytest.raises(ReviewError, match="Borduria has not agreed yet"):
        workflow.review_transition(review=review_a, to=Status.AGREED, by=focal_point_a)

    assert snapshot(review_a) == before
    monkeypatch.setattr(Review, "agreement_checks", [lambda review: []])
    assert workflow.review_transition(review=review_a, to=Status.AGREED, by=focal_point_a).status == Status.AGREED


def test_it_lists_the_moves_a_person_may_make(review_a, secretariat, focal_point_a, reviewer):
    assert workflow.transitions_for(review_a, secretariat) == [Status.APPOINTED]
    assert workflow.transitions_for(review_a, focal_point_a) == []
    submit(review_a, focal_point_a)
    review = fresh(review_a)
    assert workflow.transitions_for(review, reviewer) == [Status.WRITTEN_FEEDBACK]
    assert workflow.transitions_for(review, secretariat) == []


# --- Appointments ---------------------------------------------------------------------------------


def test_it_replaces_a_focal_point_keeping_who_appointed_whom(review_a, focal_point_a, secretariat, state_a):
    second = person(Role.FOCAL_POINT, state_a)

    first = workflow.focal_point_appoint(review=review_a, state=state_a, user=focal_point_a, by=focal_point_a)
    replacement = workflow.focal_point_appoint(review=review_a, state=state_a, user=second, by=secretariat)

    first.refresh_from_db()
    assert first.ended_at is not None and first.ended_by == secretariat
    assert (replacement.user, replacement.appointed_by, replacement.ended_at) == (second, secretariat, None)
    assert FocalPointAppointment.objects.filter(review=review_a, state=state_a, ended_at=None).get() == replacement


def test_it_refuses_a_focal_point_who_is_not_one_of_that_state(review_a, focal_point_a, contributor_a, focal_point_b,
                                                             state_a):
    before = snapshot(review_a)

    with pytest.raises(ReviewError, match="not a focal point"):
        workflow.focal_point_appoint(review=review_a, state=state_a, user=contributor_a, by=focal_point_a)
    with pytest.raises(ReviewError, match="not a focal point"):
        workflow.focal_point_appoint(review=review_a, state=state_a, user=focal_point_b, by=focal_point_a)
    with pytest.raises(PermissionDenied):
        workflow.focal_point_appoint(review=review_a, state=state_a, user=focal_point_a, by=contributor_a)
    with pytest.raises(ReviewError, match="already"):
        workflow.focal_point_appoint(review=review_a, state=state_a, user=focal_point_a, by=focal_point_a)
        workflow.focal_point_appoint(review=review_a, state=state_a, user=focal_point_a, by=focal_point_a)

    assert FocalPointAppointment.objects.count() == 1  # the one valid appointment above
    assert snapshot(review_a)[:4] == before[:4]


def test_it_refuses_a_focal_point_for_a_state_outside_the_review(review_a, secretariat, parties):
    outsider = next(s for s in parties if s.pk not in {review_a.state_id,
                                                       *review_a.assignments.values_list("reviewing_state_id", flat=True)})
    with pytest.raises(ReviewError, match="takes no part"):
        workflow.focal_point_appoint(review=review_a, state=outsider, user=person(Role.FOCAL_POINT, outsider),
                                     by=secretariat)
    assert not FocalPointAppointment.objects.exists()


def test_it_lets_a_reviewing_state_appoint_only_its_own_reviewers_as_experts(review_a, secretariat, reviewer,
                                                                            unassigned_reviewer, focal_point_a):
    slot = assignment(review_a, Slot.OTHER_GROUP)
    leader = person(Role.FOCAL_POINT, slot.reviewing_state)

    with pytest.raises(ReviewError, match="Not a governmental expert"):
        workflow.experts_appoint(assignment=slot, users=[reviewer, unassigned_reviewer], by=leader)
    with pytest.raises(PermissionDenied):
        workflow.experts_appoint(assignment=slot, users=[reviewer], by=focal_point_a)
    with pytest.raises(PermissionDenied):
        workflow.experts_appoint(assignment=slot, users=[reviewer], by=reviewer)
    assert not ExpertAppointment.objects.exists()

    made = workflow.experts_appoint(assignment=slot, users=[reviewer], by=leader)
    again = workflow.experts_appoint(assignment=slot, users=[reviewer], by=leader)

    assert [(e.user, e.appointed_by) for e in made] == [(reviewer, leader)] and again == []
    workflow.expert_release(appointment=made[0], by=leader)
    with pytest.raises(ReviewError, match="released already"):
        workflow.expert_release(appointment=made[0], by=leader)


def test_it_launches_the_reviews_in_the_language_chosen(parties, version, secretariat):
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=parties[:2], by=secretariat, seed="l", language="fr")

    assert set(cycle.reviews.values_list("language", flat=True)) == {"fr"}
    with pytest.raises(ReviewError, match="Unknown language"):
        cycle_launch(cluster=version.cluster, year=2027, states=parties[:2], by=secretariat, seed="l", language="xx")
    assert ReviewCycle.objects.count() == 1
