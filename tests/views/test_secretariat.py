"""The secretariat's pages: launching a cycle with its draw, and background jobs
(with REDIS_URL unset the task runs in process once the transaction commits)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from questionnaire.models import Response
from reviews.models import Job, Review, ReviewCycle, ReviewerAssignment
from tests.factories import StateFactory, make_party

from .conftest import db_fingerprint, messages_of

pytestmark = pytest.mark.django_db

SAFE_ATTACHMENT = re.compile(r'^attachment; filename="[A-Za-z0-9][A-Za-z0-9.-]*\.(xlsx|docx)"$')


# --- Cycles ------------------------------------------------------------------------


def test_it_shows_the_launch_form_with_the_parties_only(as_user, secretariat, parties, version):
    outsider = StateFactory(name="Outland")  # a UN Member State, not a party
    signatory = make_party(StateFactory(name="Signatoria"), status="signatory")

    page = as_user(secretariat).get(reverse("reviews:cycle_launch"))

    assert page.status_code == 200
    options = {name for _pk, name in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page.content.decode())}
    assert {s.name for s in parties} <= options
    assert outsider.name not in options and signatory.name not in options


def test_it_launches_a_cycle_and_shows_the_draw_and_its_seed(as_user, secretariat, parties, version):
    under_review = [parties[0], parties[5]]
    client = as_user(secretariat)

    page = client.post(
        reverse("reviews:cycle_launch"),
        {"cluster": version.cluster_id, "year": 2027, "states": [s.pk for s in under_review], "seed": "seed-for-2027"},
        follow=True,
    )

    cycle = ReviewCycle.objects.get()
    assert page.redirect_chain == [(reverse("reviews:cycle", args=[cycle.pk]), 302)]
    assert (cycle.cluster_id, cycle.year, cycle.draw_seed, cycle.launched_by) == (version.cluster_id, 2027, "seed-for-2027",
                                                                                  secretariat)
    assert "The cycle is launched and the reviewing States are drawn." in messages_of(page)
    body = page.content.decode()
    assert "<code>seed-for-2027</code>" in body
    for review in Review.objects.filter(cycle=cycle).prefetch_related("assignments__reviewing_state"):
        row = re.search(rf'<tr>\s*<td><a href="{reverse("reviews:review", args=[review.pk])}">{review.state.name}</a>.*?</tr>',
                        body, re.S)
        assert row, f"no row for {review.state.name}"
        drawn = [a.reviewing_state.name for a in review.assignments.all()]
        assert len(drawn) == 2
        assert all(f"<td>{name}</td>" in row.group(0) for name in drawn)
    assert set(Review.objects.filter(cycle=cycle).values_list("state", flat=True)) == {s.pk for s in under_review}
    assert Response.objects.filter(state__in=under_review, version=version, status=Response.Status.DRAFT).count() == 2


def test_it_shows_each_drawn_state_under_its_slot(as_user, secretariat, review_a):
    page = as_user(secretariat).get(reverse("reviews:cycle", args=[review_a.cycle_id]))

    body = page.content.decode()
    headers = re.findall(r'<th scope="col">([^<]*)</th>', body)
    assert headers[1:3] == ["Same regional group", "Other regional group"]
    row = re.search(r'<tr>\s*<td><a href="[^"]*">Arcadia</a>.*?</tr>', body, re.S).group(0)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    slots = dict(review_a.assignments.values_list("slot", "reviewing_state__name"))
    assert cells[:2] == [slots[ReviewerAssignment.Slot.SAME_GROUP], slots[ReviewerAssignment.Slot.OTHER_GROUP]]


def test_it_refuses_a_state_that_is_not_a_party(as_user, secretariat, parties, version):
    outsider = StateFactory(name="Outland")
    client = as_user(secretariat)
    before = db_fingerprint()

    page = client.post(
        reverse("reviews:cycle_launch"),
        {"cluster": version.cluster_id, "year": 2027, "states": [parties[0].pk, outsider.pk], "seed": "x"},
    )

    assert page.status_code == 200
    assert f"Select a valid choice. {outsider.pk} is not one of the available choices." in page.content.decode()
    assert db_fingerprint() == before


def test_it_refuses_a_second_cycle_for_the_same_cluster_and_year(as_user, secretariat, review_a, version, state_b):
    client = as_user(secretariat)
    before = db_fingerprint()

    page = client.post(
        reverse("reviews:cycle_launch"),
        {"cluster": version.cluster_id, "year": 2026, "states": [state_b.pk], "seed": "again"},
    )

    assert page.status_code == 200
    assert "A review cycle for this cluster and year already exists." in page.content.decode()
    assert db_fingerprint() == before
    assert not Response.objects.filter(state=state_b).exists()


def test_it_refuses_a_state_already_under_review_and_rolls_the_whole_launch_back(as_user, secretariat, review_a, version,
                                                                                  state_a, state_b):
    client = as_user(secretariat)
    before = db_fingerprint()

    page = client.post(
        reverse("reviews:cycle_launch"),
        {"cluster": version.cluster_id, "year": 2027, "states": [state_b.pk, state_a.pk], "seed": "again"},
    )

    assert page.status_code == 200
    assert "Arcadia is already under review for this questionnaire." in page.content.decode()
    assert db_fingerprint() == before


@pytest.mark.parametrize("persona", ["focal_point_a", "reviewer", "focal_point_b"])
def test_it_refuses_cycle_pages_to_everyone_else(request, as_user, persona, review_a, version, state_b):
    client = as_user(request.getfixturevalue(persona))
    before = db_fingerprint()

    assert client.get(reverse("reviews:cycle_launch")).status_code == 403
    post = {"cluster": version.cluster_id, "year": 2027, "states": [state_b.pk], "seed": "x"}
    assert client.post(reverse("reviews:cycle_launch"), post).status_code == 403
    assert client.get(reverse("reviews:cycle", args=[review_a.cycle_id])).status_code == 403
    assert db_fingerprint() == before


# --- Jobs --------------------------------------------------------------------------


def download(client, job) -> tuple[object, bytes]:
    page = client.get(reverse("reviews:job_download", args=[job.pk]))
    return page, b"".join(page.streaming_content) if page.status_code == 200 else b""


def test_it_builds_a_cluster_report_and_serves_it_as_an_attachment(as_user, secretariat, review_a,
                                                                   django_capture_on_commit_callbacks):
    client = as_user(secretariat)

    with django_capture_on_commit_callbacks() as callbacks:
        page = client.post(reverse("reviews:job_create"), {"kind": "cluster_report", "cycle": review_a.cycle_id})

    job = Job.objects.get()
    assert job.status == Job.Status.QUEUED  # nothing runs before the transaction commits
    for callback in callbacks:  # the commit: the (eager) task runs
        callback()
    assert page.status_code == 302
    assert page["Location"] == reverse("reviews:job", args=[job.pk])
    detail = client.get(page["Location"])
    assert detail.status_code == 200
    assert '<strong id="job-status">Succeeded</strong>' in detail.content.decode()
    assert 'http-equiv="refresh"' not in detail.content.decode()

    file, content = download(client, job)
    assert file.status_code == 200
    assert file["Content-Disposition"] == 'attachment; filename="cluster-report-cluster-I-2026.xlsx"'
    assert SAFE_ATTACHMENT.match(file["Content-Disposition"])
    assert content.startswith(b"PK")  # an Office Open XML (zip) file
    assert "no-store" in file["Cache-Control"]


def test_it_builds_the_review_summary_of_a_submitted_review(as_user, secretariat, review_a, submitted_a, state_a,
                                                            django_capture_on_commit_callbacks):
    client = as_user(secretariat)

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("reviews:job_create"), {"kind": "review_summary", "review": review_a.pk})

    job = Job.objects.get()
    assert page["Location"] == reverse("reviews:job", args=[job.pk])
    assert "Succeeded" in client.get(page["Location"]).content.decode()
    file, content = download(client, job)
    assert file["Content-Disposition"] == f'attachment; filename="summary-{state_a.iso3}-cluster-I-2026.docx"'
    assert content.startswith(b"PK")


def test_it_makes_one_job_of_a_double_click(as_user, secretariat, review_a):
    client = as_user(secretariat)
    post = {"kind": "cluster_report", "cycle": review_a.cycle_id}

    first = client.post(reverse("reviews:job_create"), post)
    second = client.post(reverse("reviews:job_create"), post, follow=True)

    job = Job.objects.get()
    assert first["Location"] == reverse("reviews:job", args=[job.pk])
    assert second.redirect_chain == [(reverse("reviews:job", args=[job.pk]), 302)]
    assert "This job was already queued; here it is." in messages_of(second)
    body = second.content.decode()
    assert "Queued" in body and 'http-equiv="refresh"' in body
    assert client.get(reverse("reviews:job_download", args=[job.pk])).status_code == 404  # nothing to download yet


@pytest.mark.parametrize("post", [{"kind": "coffee"}, {"kind": "cluster_report", "cycle": "x"}, {"kind": "review_summary"}])
def test_it_refuses_an_unknown_job(as_user, secretariat, review_a, post):
    page = as_user(secretariat).post(reverse("reviews:job_create"), post, follow=True)

    assert page.redirect_chain == [(reverse("reviews:jobs"), 302)]
    assert "Unknown job or parameters." in messages_of(page)
    assert not Job.objects.exists()


@pytest.mark.parametrize("persona", ["focal_point_a", "contributor_a", "reviewer", "unassigned_reviewer"])
def test_it_refuses_jobs_to_everyone_but_the_secretariat(request, as_user, persona, review_a, succeeded_job):
    client = as_user(request.getfixturevalue(persona))
    before = db_fingerprint()

    assert client.post(reverse("reviews:job_create"), {"kind": "cluster_report", "cycle": review_a.cycle_id}).status_code == 403
    assert client.post(reverse("reviews:job_create"), {"kind": "review_summary", "review": review_a.pk}).status_code == 403
    assert client.get(reverse("reviews:jobs")).status_code == 403
    assert client.get(reverse("reviews:job", args=[succeeded_job.pk])).status_code == 404
    assert client.get(reverse("reviews:job_download", args=[succeeded_job.pk])).status_code == 404
    assert db_fingerprint() == before
