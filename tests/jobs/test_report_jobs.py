"""Report jobs through a real Celery worker process: the general-review report,
and the cancellation of a job while the worker is in the middle of it."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from questionnaire.services import response_submit
from reviews import services
from reviews.models import Job
from tests.factories import fill_required

from .conftest import running_worker, wait_for, worker_log

pytestmark = [pytest.mark.worker]


@pytest.fixture
def slow_worker(transactional_db, media_root):
    """A real worker whose reports pause FP_SLOW_REPORT_SECONDS after reporting 10%
    (tests/ops/slow_worker.py): long enough to cancel the job while it runs."""
    with running_worker(media_root, program=("-m", "tests.ops.slow_worker"), extra_env={"FP_SLOW_REPORT_SECONDS": "3"}) as worker:
        yield worker


@pytest.fixture
def submitted_review(review_a, focal_point_a):
    fill_required(review_a.response, focal_point_a, overrides={})
    response_submit(response=review_a.response, by=focal_point_a)
    review_a.refresh_from_db()
    return review_a


def _ended(job_id):
    job = Job.objects.get(pk=job_id)
    return job if job.status not in Job.ACTIVE else None


def test_a_running_job_cancelled_stops_at_its_next_step_with_no_result(slow_worker, submitted_review, secretariat):
    request = services.job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": submitted_review.cycle_id}, by=secretariat)
    running = wait_for(
        lambda: Job.objects.filter(pk=request.job.pk, status=Job.Status.RUNNING, progress=10).first(),
        what="the job to be running", worker=slow_worker,
    )
    services.job_cancel(job=running, by=secretariat)
    job = wait_for(lambda: _ended(request.job.pk), what="the job to end", worker=slow_worker)

    assert job.status == Job.Status.CANCELLED, job.error
    assert not job.result_file and not job.result_name and job.progress == 10
    assert not list((Path(django_settings.MEDIA_ROOT)).rglob("*.xlsx"))
    # Not retried: the task ended normally, once.
    time.sleep(0.5)
    assert worker_log(slow_worker).count("succeeded in") == 1
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.attempts == 1


def test_the_general_report_is_built_in_the_worker_and_names_no_state(slow_worker, submitted_review, secretariat):
    request = services.job_request(
        kind=Job.Kind.GENERAL_REPORT, params={"cycle": submitted_review.cycle_id, "format": "docx"}, by=secretariat
    )
    job = wait_for(lambda: _ended(request.job.pk), what="the general report", worker=slow_worker)
    assert job.status == Job.Status.SUCCEEDED, job.error
    with zipfile.ZipFile(io.BytesIO(job.result_file.read())) as docx:
        text = docx.read("word/document.xml").decode()
    assert "African States" in text
    assert submitted_review.state.name not in text and submitted_review.state.iso3 not in text
