"""The secretariat's report pages: the streamed CSV, the general-review report,
job cancellation and the dashboards (inline SVG, CSP-safe, with their tables).
Wrong roles and wrong States are refused and change nothing."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from reviews import services
from reviews.models import Job

from .conftest import client_for, db_fingerprint

pytestmark = pytest.mark.django_db


def test_the_csv_is_streamed_with_a_bom_and_the_submitted_answers(submitted_a, review_a, secretariat, state_a):
    page = client_for(secretariat).get(reverse("reviews:cycle_csv", args=[review_a.cycle_id]))
    assert page.status_code == 200
    assert isinstance(page, StreamingHttpResponse)
    assert page["Content-Type"].startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="responses-cluster-[A-Za-z0-9-]+\.csv"', page["Content-Disposition"])
    body = b"".join(page.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert {row[0] for row in rows[1:]} == {state_a.iso3}


def test_the_csv_of_a_cycle_whose_responses_are_drafts_has_only_its_header(review_a, secretariat):
    page = client_for(secretariat).get(reverse("reviews:cycle_csv", args=[review_a.cycle_id]))
    assert len(b"".join(page.streaming_content).decode("utf-8-sig").splitlines()) == 1


@pytest.mark.parametrize("persona", ["focal_point_a", "focal_point_b", "reviewer", "observer_a"])
def test_the_report_pages_refuse_states_people(request, persona, submitted_a, review_a):
    client = client_for(request.getfixturevalue(persona))
    before = db_fingerprint()
    assert client.get(reverse("reviews:cycle_csv", args=[review_a.cycle_id])).status_code == 403
    assert client.get(reverse("reviews:dashboard")).status_code == 403
    assert client.post(reverse("reviews:general_report", args=[review_a.cycle_id]), {"format": "pdf"}).status_code == 403
    assert db_fingerprint() == before


def test_an_unknown_cycle_is_not_found(secretariat):
    client = client_for(secretariat)
    assert client.get(reverse("reviews:cycle_csv", args=[999999])).status_code == 404
    assert client.post(reverse("reviews:general_report", args=[999999]), {"format": "pdf"}).status_code == 404


def test_the_general_report_is_built_and_downloaded(submitted_a, review_a, secretariat, django_capture_on_commit_callbacks):
    client = client_for(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("reviews:general_report", args=[review_a.cycle_id]), {"format": "pdf"})
    job = Job.objects.get(kind=Job.Kind.GENERAL_REPORT)
    assert page.status_code == 302 and page["Location"] == reverse("reviews:job", args=[job.pk])
    assert job.status == Job.Status.SUCCEEDED, job.error
    download = client.get(reverse("reviews:job_download", args=[job.pk]))
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_an_unknown_format_is_refused_and_creates_no_job(review_a, secretariat):
    page = client_for(secretariat).post(reverse("reviews:general_report", args=[review_a.cycle_id]), {"format": "exe"})
    assert page.status_code == 302 and page["Location"] == reverse("reviews:jobs")
    assert not Job.objects.exists()


def test_the_secretariat_cancels_a_queued_job_from_its_page(review_a, secretariat):
    job = services.job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat).job
    client = client_for(secretariat)
    page = client.get(reverse("reviews:job", args=[job.pk]))
    assert reverse("reviews:job_cancel", args=[job.pk]).encode() in page.content
    assert b"<progress" in page.content
    page = client.post(reverse("reviews:job_cancel", args=[job.pk]), follow=True)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert b"no result" in page.content
    assert reverse("reviews:job_cancel", args=[job.pk]).encode() not in page.content


def test_a_running_job_shows_that_cancellation_was_asked_for(review_a, secretariat):
    job = services.job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat).job
    services.job_claim(job_id=job.pk)
    client = client_for(secretariat)
    page = client.post(reverse("reviews:job_cancel", args=[job.pk]), follow=True)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.cancel_requested
    assert b"stops at its next step" in page.content


@pytest.mark.parametrize("persona", ["focal_point_a", "reviewer", "anonymous"])
def test_others_cannot_cancel_a_job(request, persona, review_a, secretariat):
    job = services.job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat).job
    client = client_for(request.getfixturevalue(persona))
    before = db_fingerprint()
    page = client.post(reverse("reviews:job_cancel", args=[job.pk]))
    assert page.status_code in (302, 404)
    if page.status_code == 302:
        assert page["Location"].startswith("/accounts/login/")
    assert db_fingerprint() == before
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_the_dashboard_draws_its_charts_as_svg_with_tables_and_no_inline_style_or_script(submitted_a, secretariat):
    page = client_for(secretariat).get(reverse("reviews:dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    main = html[html.index("<main") : html.index("</main>")] if "<main" in html else html
    assert main.count("<figure") == 5
    # No TA need expressed yet: that chart says so; the four others are drawn,
    # each with its title and its table of the same figures.
    assert main.count("<svg") == main.count("<table") == main.count("<title") == 4
    assert "Nothing to show yet." in main
    assert "style=" not in html
    assert "<script" not in main
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
    # The State's submitted self-assessment shows in the completion figures.
    assert "1 of 1" in main
