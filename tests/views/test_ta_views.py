"""HTTP tests of the technical-assistance pages: the secretariat's list (filters,
refresh, the report as a job), a State's needs (its people, its reviewers) and
the moves of a need's status. Refusals (wrong State 404, wrong role 403) leave
the data unchanged; the list keeps a fixed query budget."""

from __future__ import annotations

import pytest
from django.urls import reverse

from parties.models import State
from reviews.models import Job, TechnicalAssistanceNeed
from reviews.services_ta import ta_needs_refresh
from tests.factories import question, save

from .conftest import client_for, submit

pytestmark = pytest.mark.django_db

Need = TechnicalAssistanceNeed
TA = {"needed": True, "categories": ["marking_equipment", "destruction"], "priority": "high", "details": "Help us mark."}


def matrix_ta_need(ctx) -> Need:
    """A need of State A (for the access matrix): on a draft response, put there
    directly (the refresh never reads drafts); once submitted, derived from A's answer."""
    need = Need.objects.filter(state=ctx.state_a, category="marking_equipment").first()
    if need:
        return need
    ta = question(ctx.version, "FP-14.ta")
    return Need.objects.create(
        state=ctx.state_a, article=ta.article, category="marking_equipment", priority="high",
        source="answer", response=ctx.response, question=ta, text="Marking machines.",
    )


@pytest.fixture
def needs_a(review_a, response_a, focal_point_a, version, state_a):
    save(response_a, focal_point_a, {question(version, "FP-14.ta"): TA})
    submit(response_a, focal_point_a)
    ta_needs_refresh(state=state_a)
    return list(Need.objects.filter(state=state_a).order_by("category"))


def statuses():
    return list(Need.objects.order_by("pk").values_list("pk", "status"))


def test_the_secretariat_filters_the_list(needs_a, secretariat):
    client = client_for(secretariat)

    page = client.get(reverse("reviews:ta_needs"), {"category": "destruction"})
    assert page.status_code == 200
    rows = page.context["page"].object_list
    assert [n.category for n in rows] == ["destruction"]
    assert client.get(reverse("reviews:ta_needs"), {"region": "asia_pacific"}).context["page"].paginator.count == 0
    assert client.get(reverse("reviews:ta_needs"), {"article": "14", "priority": "high", "status": "identified"}).context["page"].paginator.count == 2
    # An unknown value is no filter, not an error.
    assert client.get(reverse("reviews:ta_needs"), {"category": "<script>"}).context["page"].paginator.count == 2


@pytest.mark.parametrize("persona", ["focal_point_a", "contributor_a", "reviewer", "observer_a"])
def test_only_the_secretariat_sees_the_list_of_every_state(request, needs_a, persona):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(reverse("reviews:ta_needs")).status_code == 403
    assert client.post(reverse("reviews:ta_refresh")).status_code == 403
    assert client.post(reverse("reviews:ta_report"), {"format": "xlsx"}).status_code == 403
    assert not Job.objects.exists()


def test_the_secretariat_asks_for_the_report_once(needs_a, secretariat, django_capture_on_commit_callbacks):
    client = client_for(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("reviews:ta_report"), {"format": "xlsx"})
    job = Job.objects.get()
    assert first.status_code == 302 and first["Location"] == reverse("reviews:job", args=[job.pk])
    assert job.kind == Job.Kind.TA_REPORT and job.status == Job.Status.SUCCEEDED, job.error
    assert client.get(reverse("reviews:job_download", args=[job.pk])).status_code == 200
    bad = client.post(reverse("reviews:ta_report"), {"format": "docx"})
    assert bad.status_code == 302 and Job.objects.count() == 1


def test_the_focal_point_sees_its_states_needs_and_requests_one(needs_a, focal_point_a, state_a):
    client = client_for(focal_point_a)
    page = client.get(reverse("reviews:ta_state", args=[state_a.iso3]))
    assert page.status_code == 200
    assert "Help us mark." in page.content.decode()
    marking = needs_a[1]
    assert marking.category == "marking_equipment"

    moved = client.post(reverse("reviews:ta_need_move", args=[marking.pk]), {"to": "requested"})

    assert moved.status_code == 302
    marking.refresh_from_db()
    assert marking.status == "requested"
    # Out of order: a message, nothing changed.
    before = statuses()
    again = client.post(reverse("reviews:ta_need_move", args=[marking.pk]), {"to": "met"}, follow=True)
    assert "cannot move" in again.content.decode()
    assert statuses() == before
    # Starting a delivery is the secretariat's.
    assert client.post(reverse("reviews:ta_need_move", args=[marking.pk]), {"to": "being_delivered"}).status_code == 403
    assert statuses() == before


def test_a_focal_point_of_another_state_gets_404_and_changes_nothing(needs_a, focal_point_b, state_a):
    client = client_for(focal_point_b)
    before = statuses()

    assert client.get(reverse("reviews:ta_state", args=[state_a.iso3])).status_code == 404
    assert client.post(reverse("reviews:ta_need_move", args=[needs_a[0].pk]), {"to": "requested"}).status_code == 404
    assert client.post(reverse("reviews:ta_state_refresh", args=[state_a.iso3])).status_code == 404
    assert statuses() == before


def test_the_assigned_reviewer_reads_but_may_not_move(needs_a, reviewer, unassigned_reviewer, state_a):
    client = client_for(reviewer)
    before = statuses()

    assert client.get(reverse("reviews:ta_state", args=[state_a.iso3])).status_code == 200
    assert client.post(reverse("reviews:ta_need_move", args=[needs_a[0].pk]), {"to": "requested"}).status_code == 403
    assert client_for(unassigned_reviewer).get(reverse("reviews:ta_state", args=[state_a.iso3])).status_code == 404
    assert statuses() == before


def test_the_reviewer_reads_nothing_before_submission(review_a, reviewer, state_a):
    assert client_for(reviewer).get(reverse("reviews:ta_state", args=[state_a.iso3])).status_code == 404


def test_the_focal_point_refreshes_its_needs(review_a, response_a, focal_point_a, contributor_a, version, state_a):
    save(response_a, focal_point_a, {question(version, "FP-14.ta"): TA})
    submit(response_a, focal_point_a)
    # As for a response submitted before needs were derived on submission.
    Need.objects.all().delete()

    assert client_for(contributor_a).post(reverse("reviews:ta_state_refresh", args=[state_a.iso3])).status_code == 403
    assert not Need.objects.exists()
    page = client_for(focal_point_a).post(reverse("reviews:ta_state_refresh", args=[state_a.iso3]))
    assert page.status_code == 302
    assert Need.objects.filter(state=state_a).count() == 2


# --- Query budget -----------------------------------------------------------------------------

TA_LIST_BUDGET = 12  # the request (6 at most, with the session saved), the articles of the filter, the count and the page


def _more_states(n, version):
    from questionnaire.services import response_get_or_create
    from parties.models import Membership
    from tests.factories import MembershipFactory, StateFactory, make_party

    for i in range(n):
        state = make_party(StateFactory(regional_group=State.RegionalGroup.values[i % 5]))
        focal_point = MembershipFactory(role=Membership.Role.FOCAL_POINT, state=state).user
        response = response_get_or_create(state=state, version=version, due_date=None)
        save(response, focal_point, {question(version, "FP-14.ta"): TA})
        submit(response, focal_point)
    ta_needs_refresh(state=None)


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_and_a_states_page_keep_a_fixed_query_budget(needs_a, secretariat, focal_point_a, version, state_a):
    client = client_for(secretariat)
    url = reverse("reviews:ta_needs")
    few = _queries(client, url)
    state_page = _queries(client_for(focal_point_a), reverse("reviews:ta_state", args=[state_a.iso3]))
    _more_states(5, version)
    for category in ("legislative", "training_customs", "record_keeping"):
        Need.objects.create(
            state=state_a, article=needs_a[0].article, category=category, source="answer",
            response=needs_a[0].response, question=needs_a[0].question, text="More.",
        )
    many = _queries(client, url)

    assert Need.objects.count() == 15
    assert many == few <= TA_LIST_BUDGET
    assert _queries(client_for(focal_point_a), reverse("reviews:ta_state", args=[state_a.iso3])) == state_page <= TA_LIST_BUDGET
