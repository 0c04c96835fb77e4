"""The workflow's pages: launching with the nearest valid draw, redraw and swap,
groups, the workload, the status buttons, appointments, extensions, the next
steps on the home page and the secretariat's overview with its XLSX export
(formula cells neutralised, query count fixed)."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parties.models import Membership, State
from reviews import services_workflow as workflow
from reviews.models import (
    DeadlineExtension,
    DrawEvent,
    ExpertAppointment,
    FocalPointAppointment,
    Review,
    ReviewCycle,
    ReviewerAssignment,
    ReviewGroupMember,
    StatusChange,
    Step,
)
from reviews.services import cycle_launch
from tests.factories import MembershipFactory, StateFactory

from .conftest import client_for, messages_of

pytestmark = pytest.mark.django_db
Role = Membership.Role
Slot = ReviewerAssignment.Slot
OVERVIEW_BUDGET = 10  # measured: 7 (user, roles, the reviews with their 4 prefetches), +3 when the session is saved


def other_slot(review) -> ReviewerAssignment:
    return ReviewerAssignment.objects.select_related("reviewing_state").get(review=review, slot=Slot.OTHER_GROUP)


# --- Launch: the nearest valid draw ------------------------------------------------------------


def test_it_offers_the_nearest_valid_draw_and_launches_it(as_user, secretariat, parties, version):
    client = as_user(secretariat)
    post = {"cluster": version.cluster_id, "year": 2027, "states": [s.pk for s in parties[:7]], "seed": "near",
            "max_reviews_per_state": 1}

    page = client.post(reverse("reviews:cycle_launch"), post)

    assert page.status_code == 200 and not ReviewCycle.objects.exists()
    body = page.content.decode()
    assert "cannot satisfy the rules" in body and "The nearest valid draw" in body
    drawable = page.context["nearest"].drawable
    again = client.post(reverse("reviews:cycle_launch"),
                        post | {"states": [s.pk for s in drawable]}, follow=True)
    cycle = ReviewCycle.objects.get()
    assert again.redirect_chain[-1][0] == reverse("reviews:cycle", args=[cycle.pk])
    assert cycle.max_reviews_per_state == 1 and cycle.reviews.count() == len(drawable)


def test_it_launches_the_parties_of_a_review_group(as_user, secretariat, parties, version):
    groups = workflow.review_groups_draw(first_year=2020, seed="g", by=secretariat)
    members = set(ReviewGroupMember.objects.filter(group=groups[0]).values_list("state_id", flat=True))

    page = as_user(secretariat).post(
        reverse("reviews:cycle_launch"), {"cluster": version.cluster_id, "year": 2020, "group": groups[0].pk, "seed": "g"}
    )

    cycle = ReviewCycle.objects.get()
    assert page.status_code == 302
    assert cycle.group == groups[0]
    assert set(cycle.reviews.values_list("state_id", flat=True)) == members


def test_it_asks_for_states_or_a_group(as_user, secretariat, parties, version):
    page = as_user(secretariat).post(reverse("reviews:cycle_launch"), {"cluster": version.cluster_id, "year": 2027})

    assert page.status_code == 200 and "Choose the States under review, or a review group." in page.content.decode()
    assert not ReviewCycle.objects.exists()


# --- Cycle page, redraw and swap, workload -------------------------------------------------------


def test_it_shows_the_record_of_the_draw_on_the_cycle_page(as_user, secretariat, review_a):
    workflow.reviewer_redraw(assignment=other_slot(review_a), by=secretariat, reason="Conflict of interest", seed="r")

    body = as_user(secretariat).get(reverse("reviews:cycle", args=[review_a.cycle_id])).content.decode()

    assert "Record of the draw" in body and "Draw at launch" in body and "Redraw of one reviewer" in body
    assert "Conflict of interest" in body and "<code>r</code>" in body and "<code>fixed</code>" in body


def test_it_redraws_and_swaps_from_the_change_page(as_user, secretariat, review_a):
    client = as_user(secretariat)
    slot = other_slot(review_a)
    url = reverse("reviews:assignment_change", args=[slot.pk])

    page = client.get(url)
    assert page.status_code == 200 and "Redraw this reviewer" in page.content.decode()
    refused = client.post(url, {"action": "redraw", "reason": ""})
    assert refused.status_code == 422 and other_slot(review_a).reviewing_state == slot.reviewing_state
    assert 'aria-describedby="id_reason_error"' in refused.content.decode() or "This field is required" in \
        refused.content.decode()

    done = client.post(url, {"action": "redraw", "reason": "Asked", "seed": "s"})
    assert done.status_code == 302
    redrawn = other_slot(review_a).reviewing_state
    assert redrawn != slot.reviewing_state

    candidate = workflow.swap_candidates(other_slot(review_a))[0]
    client.post(url, {"action": "swap", "state": candidate.pk, "reason": "By hand"})
    assert other_slot(review_a).reviewing_state == candidate
    assert list(DrawEvent.objects.filter(review=review_a).values_list("kind", flat=True)) == ["redraw", "swap"]


def test_it_shows_a_refused_swap_with_its_reason_and_changes_nothing(as_user, secretariat, review_a):
    slot = other_slot(review_a)
    same_group_state = ReviewerAssignment.objects.get(review=review_a, slot=Slot.SAME_GROUP).reviewing_state

    page = as_user(secretariat).post(reverse("reviews:assignment_change", args=[slot.pk]),
                                     {"action": "swap", "state": same_group_state.pk, "reason": "try"})

    assert page.status_code == 422
    assert "other reviewer of this review" in page.content.decode()
    assert other_slot(review_a).reviewing_state == slot.reviewing_state
    assert not DrawEvent.objects.filter(kind__in=["redraw", "swap"]).exists()


def test_it_shows_the_workload_of_each_state_against_the_cap(as_user, secretariat, review_a):
    page = as_user(secretariat).get(reverse("reviews:workload"))

    body = page.content.decode()
    for a in review_a.assignments.select_related("reviewing_state"):
        assert f'id="state-{a.reviewing_state.iso3}"' in body
    assert f"{review_a.cycle}: 1 / 3" in body


# --- Groups -------------------------------------------------------------------------------------------


def test_it_draws_the_groups_and_moves_a_state_with_a_reason(as_user, secretariat, parties):
    client = as_user(secretariat)

    client.post(reverse("reviews:groups"), {"action": "draw", "first_year": 2020, "seed": "g"})
    member = ReviewGroupMember.objects.select_related("group").get(state=parties[0])
    target = 1 if member.group.number != 1 else 2
    from reviews.models import ReviewGroup

    refused = client.post(reverse("reviews:groups"), {"action": "move", "state": parties[0].pk,
                                                      "group": ReviewGroup.objects.get(number=target).pk, "reason": ""})
    assert refused.status_code == 422
    assert ReviewGroupMember.objects.get(state=parties[0]).group == member.group
    client.post(reverse("reviews:groups"), {"action": "move", "state": parties[0].pk,
                                            "group": ReviewGroup.objects.get(number=target).pk, "reason": "Asked"})
    page = client.get(reverse("reviews:groups"))
    assert ReviewGroupMember.objects.get(state=parties[0]).group.number == target
    assert "Group 1 (from 2020)" in page.content.decode() and "Asked" in page.content.decode()


# --- The review page: status, appointments, deadlines ---------------------------------------------------


def test_it_shows_the_status_deadlines_and_what_blocks_the_next_step(as_user, secretariat, review_a):
    body = as_user(secretariat).get(reverse("reviews:review", args=[review_a.pk])).content.decode()

    assert "Progress of the review" in body and "Deadlines" in body
    assert "has no focal point for this review" in body  # why the appointments cannot be confirmed
    assert "Extend a deadline" in body


def test_it_hides_the_secretariats_forms_from_the_state(as_user, focal_point_a, review_a):
    body = as_user(focal_point_a).get(reverse("reviews:review", args=[review_a.pk])).content.decode()

    assert "Extend a deadline" not in body
    assert reverse("reviews:focal_point_appoint", args=[review_a.pk]) in body  # its own focal point, though


def test_it_moves_the_status_from_the_page_and_refuses_the_wrong_role(as_user, focal_point_a, reviewer, review_a,
                                                                      submitted_a):
    url = reverse("reviews:review_transition", args=[review_a.pk])

    assert as_user(focal_point_a).post(url, {"to": "written_feedback"}).status_code == 403
    assert Review.objects.get(pk=review_a.pk).status == Review.Status.SUBMITTED
    page = as_user(reviewer).post(url, {"to": "written_feedback", "reason": "Starting"}, follow=True)

    assert Review.objects.get(pk=review_a.pk).status == Review.Status.WRITTEN_FEEDBACK
    assert "The review is now “Written feedback”." in messages_of(page)
    assert StatusChange.objects.filter(target="written_feedback", reason="Starting").exists()
    out_of_order = as_user(reviewer).post(url, {"to": "finalized"}, follow=True)
    assert any("cannot move" in m for m in messages_of(out_of_order))
    assert Review.objects.get(pk=review_a.pk).status == Review.Status.WRITTEN_FEEDBACK


def test_it_appoints_the_state_under_reviews_focal_point(as_user, focal_point_a, contributor_a, review_a, state_a):
    url = reverse("reviews:focal_point_appoint", args=[review_a.pk])

    assert as_user(contributor_a).post(url, {"state": state_a.pk, "user": contributor_a.pk}).status_code == 403
    refused = as_user(focal_point_a).post(url, {"state": state_a.pk, "user": contributor_a.pk}, follow=True)
    assert not FocalPointAppointment.objects.exists()
    assert any("Choose a focal point" in m for m in messages_of(refused))

    as_user(focal_point_a).post(url, {"state": state_a.pk, "user": focal_point_a.pk})

    assert FocalPointAppointment.objects.get().user == focal_point_a


def test_it_extends_a_deadline_and_refuses_one_in_the_past(as_user, secretariat, review_a):
    url = reverse("reviews:deadline_extend", args=[review_a.pk])
    client = as_user(secretariat)
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()

    refused = client.post(url, {"step": "self_assessment", "due_date": yesterday, "reason": "late"})

    assert refused.status_code == 422 and "must be in the future" in refused.content.decode()
    assert not DeadlineExtension.objects.exists()
    later = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
    assert client.post(url, {"step": "self_assessment", "due_date": later, "reason": "Elections"}).status_code == 302
    assert DeadlineExtension.objects.get().reason == "Elections"


# --- A reviewing State's page of the review ----------------------------------------------------------------


def test_it_lets_a_reviewing_states_focal_point_appoint_its_people_without_reading_answers(as_user, review_a, reviewer):
    slot = other_slot(review_a)
    leader = MembershipFactory(role=Role.FOCAL_POINT, state=slot.reviewing_state).user
    client = as_user(leader)
    url = reverse("reviews:assignment", args=[slot.pk])

    assert client.get(url).status_code == 200
    assert client.get(reverse("reviews:review", args=[review_a.pk])).status_code == 404  # no reading the review
    client.post(url, {"action": "focal_point", "state": slot.reviewing_state.pk, "user": leader.pk})
    client.post(url, {"action": "experts", "users": [reviewer.pk]})

    assert FocalPointAppointment.objects.get(state=slot.reviewing_state).user == leader
    assert ExpertAppointment.objects.get(assignment=slot).user == reviewer
    page = client.get(url)
    assert reviewer.get_full_name() in page.content.decode()


def test_it_refuses_a_reviewing_states_page_to_another_state(as_user, review_a, focal_point_b, reviewer):
    slot = other_slot(review_a)
    assert as_user(focal_point_b).get(reverse("reviews:assignment", args=[slot.pk])).status_code == 404
    page = as_user(reviewer).post(reverse("reviews:assignment", args=[slot.pk]),
                                  {"action": "experts", "users": [reviewer.pk]})
    assert page.status_code == 403 and not ExpertAppointment.objects.exists()


# --- Home: what I must do next -----------------------------------------------------------------------------


def test_it_lists_what_the_focal_point_must_do_next_on_the_home_page(as_user, focal_point_a, review_a):
    body = as_user(focal_point_a).get(reverse("home")).content.decode()

    assert "What I must do next" in body
    assert "Appoint your focal point" in body and "Answer and submit the self-assessment" in body


# --- Overview and export ----------------------------------------------------------------------------------


def many_reviews(secretariat, version, parties) -> None:
    cycle_launch(cluster=version.cluster, year=2027, states=parties[1:6], by=secretariat, seed="many")


def test_it_lists_every_review_with_its_next_deadline_and_filters_them(as_user, secretariat, review_a, parties, version):
    many_reviews(secretariat, version, parties)
    client = as_user(secretariat)

    page = client.get(reverse("reviews:overview"))
    assert len(page.context["rows"]) == 6
    assert "Focal points appointed" in page.content.decode()

    african = client.get(reverse("reviews:overview"), {"regional_group": State.RegionalGroup.AFRICAN})
    assert {r.review.state.regional_group for r in african.context["rows"]} == {State.RegionalGroup.AFRICAN}
    by_cycle = client.get(reverse("reviews:overview"), {"cycle": review_a.cycle_id})
    assert [r.review.pk for r in by_cycle.context["rows"]] == [review_a.pk]
    by_cluster = client.get(reverse("reviews:overview"), {"cluster": version.cluster_id})
    assert len(by_cluster.context["rows"]) == 6


def test_it_flags_overdue_reviews_in_words_not_colour_alone(as_user, secretariat, review_a, time_machine):
    time_machine.move_to(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=20), tick=False)

    page = as_user(secretariat).get(reverse("reviews:overview"), {"overdue": "on"})

    assert [r.review.pk for r in page.context["rows"]] == [review_a.pk]
    assert ">Overdue</span> Focal points appointed" in page.content.decode()


def test_it_filters_the_overview_by_review_group(as_user, secretariat, review_a, parties, version):
    many_reviews(secretariat, version, parties)
    groups = workflow.review_groups_draw(first_year=2020, seed="g", by=secretariat)
    members = set(ReviewGroupMember.objects.filter(group=groups[1]).values_list("state_id", flat=True))

    page = as_user(secretariat).get(reverse("reviews:overview"), {"group": groups[1].pk})

    assert {r.review.state_id for r in page.context["rows"]} <= members
    assert all(r.group == groups[1] for r in page.context["rows"])


def test_it_exports_the_overview_with_formulas_neutralised(as_user, secretariat, review_a):
    State.objects.filter(pk=review_a.state_id).update(name="=HYPERLINK(\"http://evil\")")

    page = as_user(secretariat).get(reverse("reviews:overview_xlsx"))

    assert page.status_code == 200
    assert page["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(page.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("State under review", "ISO code")
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\")"
    assert rows[1][7] == "Focal points appointed"


def test_it_renders_the_overview_and_its_export_in_the_same_queries_whatever_the_number_of_reviews(
    secretariat, review_a, parties, version, django_assert_max_num_queries
):
    client = client_for(secretariat)

    def count(url):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = count(reverse("reviews:overview")), count(reverse("reviews:overview_xlsx"))
    many_reviews(secretariat, version, parties)
    for review in Review.objects.all():
        workflow.deadline_extend(review=review, step=Step.SELF_ASSESSMENT,
                                 due_date=datetime.date.today() + datetime.timedelta(days=400), reason="r",
                                 by=secretariat)
    big = count(reverse("reviews:overview")), count(reverse("reviews:overview_xlsx"))

    assert small == big, f"1 review: {small}; 6 reviews: {big}"
    with django_assert_max_num_queries(OVERVIEW_BUDGET):
        client.get(reverse("reviews:overview"))


@pytest.mark.parametrize("persona", ["focal_point_a", "reviewer", "observer_a"])
def test_it_refuses_the_overview_and_its_export_to_everyone_but_the_secretariat(request, as_user, review_a, persona):
    client = as_user(request.getfixturevalue(persona))
    assert client.get(reverse("reviews:overview")).status_code == 403
    assert client.get(reverse("reviews:overview_xlsx")).status_code == 403


def test_it_keeps_a_new_state_outside_any_group_out_of_a_group_filter(as_user, secretariat, review_a, parties):
    groups = workflow.review_groups_draw(first_year=2020, seed="g", by=secretariat)
    newcomer = StateFactory(name="Newland", party=True)  # joined after the lots
    assert not ReviewGroupMember.objects.filter(state=newcomer).exists()

    page = as_user(secretariat).get(reverse("reviews:overview"), {"group": groups[0].pk})

    assert all(r.review.state != newcomer for r in page.context["rows"])


def test_it_renders_the_cycle_page_and_the_workload_in_the_same_queries_whatever_the_draw(
    secretariat, review_a, parties, version
):
    client = client_for(secretariat)

    def count(url):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    cycle_url = reverse("reviews:cycle", args=[review_a.cycle_id])
    small = count(cycle_url), count(reverse("reviews:workload"))
    big_cycle = cycle_launch(cluster=version.cluster, year=2027, states=parties[1:6], by=secretariat, seed="b")
    for review in big_cycle.reviews.all():
        workflow.reviewer_redraw(assignment=other_slot(review), by=secretariat, reason="r", seed=str(review.pk))
    big = count(reverse("reviews:cycle", args=[big_cycle.pk])), count(reverse("reviews:workload"))

    assert small == big, f"one review: {small}; five reviews redrawn: {big}"


def test_it_launches_a_cycle_in_the_language_chosen(as_user, secretariat, parties, version):
    as_user(secretariat).post(reverse("reviews:cycle_launch"), {"cluster": version.cluster_id, "year": 2027,
                                                                "states": [parties[0].pk], "language": "es"})

    assert Review.objects.get().language == "es"
