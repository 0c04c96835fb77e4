"""Jobs through a real Celery worker process: enqueued after commit, run once,
recorded on the Job row, downloadable by the secretariat."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from config.celery import app as celery_app
from questionnaire.services import response_submit
from reviews.models import Job
from reviews.services import job_request
from tests.factories import fill_required

from .conftest import wait_for, worker_log

pytestmark = [pytest.mark.worker]


@pytest.fixture
def submitted_review(celery_worker_process, review_a, focal_point_a):
    fill_required(review_a.response, focal_point_a, overrides={})
    response_submit(response=review_a.response, by=focal_point_a)
    review_a.refresh_from_db()
    return review_a


def _finished(job_id):
    job = Job.objects.get(pk=job_id)
    return job if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED) else None


def test_it_builds_the_cluster_report_in_the_worker(celery_worker_process, submitted_review, secretariat):
    request = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": submitted_review.cycle_id}, by=secretariat)
    assert request.created
    job = wait_for(lambda: _finished(request.job.pk), what="the cluster report", worker=celery_worker_process)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.progress == 100 and job.attempts == 1
    book = openpyxl.load_workbook(io.BytesIO(job.result_file.read()), read_only=True)
    assert "TA needs" in book.sheetnames and "Progress" in book.sheetnames
    article_sheet = book[book.sheetnames[0]]
    states = [row[0] for row in article_sheet.iter_rows(min_row=3, values_only=True)]
    assert states == [submitted_review.state.name]


def test_it_builds_the_review_summary_in_the_worker(celery_worker_process, submitted_review, secretariat):
    request = job_request(kind=Job.Kind.REVIEW_SUMMARY, params={"review": submitted_review.pk}, by=secretariat)
    job = wait_for(lambda: _finished(request.job.pk), what="the review summary", worker=celery_worker_process)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result_name.endswith(".docx")
    with zipfile.ZipFile(job.result_file.open("rb")) as docx:
        document = docx.read("word/document.xml").decode()
    assert submitted_review.state.name in document


def test_it_produces_one_result_when_the_task_is_delivered_twice(celery_worker_process, submitted_review, secretariat):
    first = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": submitted_review.cycle_id}, by=secretariat)
    again = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": submitted_review.cycle_id}, by=secretariat)
    assert again.job.pk == first.job.pk and not again.created
    # A second delivery of the same message (what acks_late does after a lost worker).
    celery_app.send_task("reviews.tasks.run_job", args=[first.job.pk])
    job = wait_for(lambda: _finished(first.job.pk), what="the job", worker=celery_worker_process)
    # Let the duplicate delivery run too, then check it changed nothing.
    wait_for(lambda: "already finished" in worker_log(celery_worker_process) or worker_log(celery_worker_process).count("succeeded in") >= 2,
             what="the duplicate delivery", worker=celery_worker_process)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert Job.objects.filter(kind=Job.Kind.CLUSTER_REPORT).count() == 1
    stored = list((Path(job.result_file.storage.location) / "jobs").rglob("*.xlsx"))
    assert len(stored) == 1, stored
