"""Cycle reports (services and exports): the long-form CSV of the submitted
answers, the general-review report that names no State, job cancellation and the
dashboards' figures."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parties.models import Membership
from questionnaire.models import Answer, Question, Response
from reviews import services, services_reports
from reviews.dashboards import dashboard_charts
from reviews.exports.general_report import general_report
from reviews.models import Job, Review
from reviews.services import cycle_launch
from tests.factories import MembershipFactory, fill_required

pytestmark = pytest.mark.django_db

csv.field_size_limit(4_000_000)  # a 1 MB answer is one field
MB_TEXT = ("نص عربي 🚒 " * 100_000)[:1_000_000]


def _focal_point(state):
    return MembershipFactory(role=Membership.Role.FOCAL_POINT, state=state).user


def _submit(review: Review) -> Response:
    from questionnaire.services import response_submit

    response = Response.objects.get(pk=review.response_id)
    person = _focal_point(review.state)
    fill_required(response, person)
    response_submit(response=Response.objects.get(pk=response.pk), by=person)
    return response


# The 12 parties less one of each pair that would have to review each other.
REVIEWED = [0, 1, 2, 3, 4, 5, 6, 8, 10]


@pytest.fixture
def cycle(parties, version, secretariat):
    """A cycle of 9 parties: the first six (3 African, 3 Asia-Pacific) submitted,
    the other three (Genovia, Illyria, Krakozhia) drafts."""
    states = [parties[i] for i in REVIEWED]
    cycle = cycle_launch(cluster=version.cluster, year=2025, states=states, by=secretariat, seed="reports")
    for review in Review.objects.filter(cycle=cycle, state__in=parties[:6]).select_related("state"):
        _submit(review)
    return cycle


def _text_question(version) -> Question:
    return Question.objects.filter(version=version, kind__in=["long_text", "text"]).order_by("order").first()


def _put(state, question, value):
    """An answer stored as it is (what the export must cope with, whatever its size)."""
    response = Response.objects.get(review__state=state)
    Answer.objects.update_or_create(
        response=response, question=question, defaults={"value": value, "updated_by": get_user_model().objects.first()}
    )


def _csv_rows(cycle, by) -> tuple[bytes, list[list[str]]]:
    _name, lines = services_reports.cluster_csv(cycle=cycle, by=by)
    data = b"".join(lines)
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_csv_has_one_row_per_state_and_answered_question_of_submitted_responses_only(cycle, parties, secretariat):
    data, rows = _csv_rows(cycle, secretariat)
    assert data.startswith("\ufeff".encode())  # Excel reads UTF-8 only with the mark
    header, body = rows[0], rows[1:]
    assert len(header) == 8
    submitted = Answer.objects.filter(response__review__cycle=cycle, response__status=Response.Status.SUBMITTED).count()
    assert len(body) == submitted > 0
    isos = {row[0] for row in body}
    assert isos == {s.iso3 for s in parties[:6]}  # the drafts are their States' alone
    assert not isos & {parties[i].iso3 for i in REVIEWED[6:]}
    for row in body:
        json.loads(row[7])


def test_the_csv_neutralises_formulas_and_keeps_1_mb_rtl_and_emoji_text_intact(cycle, parties, secretariat, version):
    question = _text_question(version)
    _put(parties[0], question, "=HYPERLINK(\"http://evil\",\"x\")")
    _put(parties[1], question, MB_TEXT)
    for prefix, state in zip(["+1", "-1", "@SUM(A1)", "\tcmd", "\rcmd"], parties[2:6]):
        _put(state, question, prefix)
    _data, rows = _csv_rows(cycle, secretariat)
    by_state = {(row[0], row[4]): row for row in rows[1:]}
    cell = by_state[(parties[0].iso3, question.code)]
    assert cell[6] == "'=HYPERLINK(\"http://evil\",\"x\")"
    for prefix, state in zip(["+1", "-1", "@SUM(A1)", "\tcmd"], parties[2:6]):
        assert by_state[(state.iso3, question.code)][6] == "'" + prefix
    big = by_state[(parties[1].iso3, question.code)]
    assert big[6] == MB_TEXT  # whole, right to left and emoji as typed
    assert json.loads(big[7]) == MB_TEXT


def test_the_csv_leaves_out_answers_to_questions_that_were_not_asked(cycle, parties, secretariat, version):
    status, challenges = (Question.objects.get(version=version, code=c) for c in ("FP-5.1.a.status", "FP-5.1.a.challenges"))
    # Challenges are asked when the status is "no" or "partially": Ghana's stayed from
    # before its status became "yes"; the second State's status is "no".
    _put(parties[0], status, "yes")
    _put(parties[0], challenges, "Written when the status was no")
    _put(parties[1], status, "no")
    _put(parties[1], challenges, "No licensing law yet")

    _data, rows = _csv_rows(cycle, secretariat)

    cells = {(row[0], row[4]): row[6] for row in rows[1:]}
    assert (parties[0].iso3, "FP-5.1.a.challenges") not in cells
    assert cells[(parties[1].iso3, "FP-5.1.a.challenges")] == "No licensing law yet"
    assert (parties[0].iso3, "FP-5.1.a.status") in cells  # the answers that were asked stay


def test_the_walk_of_the_exports_knows_which_answers_were_asked(version):
    from questionnaire.selectors import AskedWalk

    status, challenges = (Question.objects.get(version=version, code=c) for c in ("FP-5.1.a.status", "FP-5.1.a.challenges"))
    walk = AskedWalk([status, challenges])

    # One response: status "yes" hides the challenges; the next response starts afresh.
    assert walk.asked(1, status.pk, "yes") is True
    assert walk.asked(1, challenges.pk) is False
    assert walk.asked(2, status.pk, "partially") is True
    assert walk.asked(2, challenges.pk) is True
    # A response with no status stored: its challenges were not asked either.
    assert walk.asked(3, challenges.pk) is False


def test_the_csv_costs_the_same_queries_for_one_or_six_submitted_states(parties, version, secretariat):
    small = cycle_launch(cluster=version.cluster, year=2027, states=parties[:1], by=secretariat, seed="s")
    large = cycle_launch(cluster=version.cluster, year=2028, states=parties[1:7], by=secretariat, seed="l")
    for review in Review.objects.filter(cycle__in=[small, large]).select_related("state"):
        _submit(review)
    counts = []
    for cycle in (small, large):
        with CaptureQueriesContext(connection) as captured:
            _csv_rows(cycle, secretariat)
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 6, counts


def test_the_csv_is_refused_to_anyone_but_the_secretariat(cycle, parties, focal_point_a):
    reviewer = MembershipFactory(role=Membership.Role.REVIEWER, state=parties[3]).user
    for person in (focal_point_a, reviewer):
        with pytest.raises(PermissionDenied):
            services_reports.cluster_csv(cycle=cycle, by=person)


def _pdf_text(pdf: bytes, cycle) -> str:
    """The PDF's text with pdftotext; without it, the text of WeasyPrint's own
    layout of the same HTML (as tests/questionnaire/test_documents.py does)."""
    import shutil
    import subprocess

    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    from reviews.exports.general_report import general_report_data, general_report_html

    rendered = HTML(string=general_report_html(general_report_data(cycle_id=cycle.pk))).render()
    return "\n".join(
        "".join(box.text for box in line.descendants() if isinstance(box, TextBox))
        for page in rendered.pages
        for line in page._page_box.descendants()
        if isinstance(line, LineBox)
    )


def test_the_general_report_counts_by_regional_group_and_names_no_state(cycle, parties, version):
    for fmt in ("docx", "pdf"):
        content, filename = general_report(cycle_id=cycle.pk, fmt=fmt, progress=lambda p: None)
        assert filename.endswith("." + fmt)
        if fmt == "docx":
            with zipfile.ZipFile(io.BytesIO(content)) as docx:
                text = docx.read("word/document.xml").decode()
        else:
            assert content.startswith(b"%PDF")
            text = _pdf_text(content, cycle)
        assert "African States" in text
        for state in parties:
            assert state.name not in text
            assert state.iso3 not in text


def test_the_general_report_counts_only_submitted_answers(cycle, parties, version):
    from reviews.exports.general_report import general_report_data

    data = general_report_data(cycle_id=cycle.pk)
    submitted_groups = [s.regional_group for s in parties[:6]]
    assert sum(data.submitted) == 6
    choice = Question.objects.filter(version=version, kind__in=["implementation", "yes_no", "choice"]).order_by("order").first()
    answered = Answer.objects.filter(
        question=choice, response__status=Response.Status.SUBMITTED, response__review__cycle=cycle
    ).count()
    first = next(q for _title, qs in data.articles for q in qs if q.code == choice.code)
    assert sum(total for _label, _groups, total in first.rows) == answered
    assert answered <= len(submitted_groups)


def test_a_general_report_job_builds_a_file(cycle, secretariat, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = services_reports.general_report_request(cycle=cycle, fmt="docx", by=secretariat)
    job = Job.objects.get(pk=request.job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result_name.endswith(".docx")


def test_a_general_report_is_refused_to_others_and_for_an_unknown_format(cycle, secretariat, focal_point_a):
    with pytest.raises(PermissionDenied):
        services_reports.general_report_request(cycle=cycle, fmt="docx", by=focal_point_a)
    with pytest.raises(services.ReviewError):
        services_reports.general_report_request(cycle=cycle, fmt="exe", by=secretariat)
    assert not Job.objects.exists()


# --- Cancellation -------------------------------------------------------------------


def _queued(cycle, secretariat) -> Job:
    return services.job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": cycle.pk}, by=secretariat).job


def test_a_queued_job_is_cancelled_at_once_and_never_runs(cycle, secretariat):
    job = _queued(cycle, secretariat)
    services.job_cancel(job=job, by=secretariat)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert services.job_execute(job_id=job.pk) is None  # a late delivery does nothing
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and not job.result_file


def test_a_running_job_stops_at_its_next_progress_step_without_result(cycle, secretariat):
    job = _queued(cycle, secretariat)
    claimed = services.job_claim(job_id=job.pk)
    services.job_cancel(job=claimed, by=secretariat)
    with pytest.raises(services.JobCancelled):
        services.job_progress(job=claimed, percent=50)
    # The worker, redelivered the same running job, stops at the first step.
    services.job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert not job.result_file and not job.result_name


def test_a_job_cancelled_after_its_last_step_records_no_result(cycle, secretariat):
    job = services.job_claim(job_id=_queued(cycle, secretariat).pk)
    services.job_cancel(job=job, by=secretariat)
    assert services.job_finish(job=job, content=b"x", filename="x.xlsx") is False
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and not job.result_file


def test_cancelling_is_refused_to_others_and_for_a_finished_job(cycle, secretariat, focal_point_a):
    job = _queued(cycle, secretariat)
    with pytest.raises(PermissionDenied):
        services.job_cancel(job=job, by=focal_point_a)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and not job.cancel_requested
    services.job_cancel(job=job, by=secretariat)
    with pytest.raises(services.ReviewError):
        services.job_cancel(job=job, by=secretariat)


def test_a_cancelled_job_can_be_asked_for_again(cycle, secretariat):
    job = _queued(cycle, secretariat)
    services.job_cancel(job=job, by=secretariat)
    again = services.job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": cycle.pk}, by=secretariat)
    assert again.created and again.job.pk != job.pk


# --- Dashboards ---------------------------------------------------------------------


def test_the_dashboard_figures(cycle, parties, version):
    charts = {chart.key: chart for chart in dashboard_charts()}
    completion = {bar.label: bar for bar in charts["completion"].bars}
    african = completion[f"Cluster {version.cluster.code} — African States"]
    # Arcadia, Borduria, Carpania are African and among the six submitted.
    assert african.value == 100 and "3 of 3" in african.text
    status = {bar.label: bar.value for bar in charts["status"].bars}
    assert sum(status.values()) == 9
    assert all(0 <= bar.width <= 640 for chart in charts.values() for bar in chart.bars)


def test_the_ta_needs_come_from_submitted_answers_only(cycle, parties, version):
    ta = Question.objects.filter(version=version, kind="technical_assistance").order_by("order").first()
    need = {"needed": True, "categories": ["training_customs", "destruction"], "priority": "high", "details": ""}
    _put(parties[0], ta, need)  # submitted
    _put(parties[6], ta, need)  # a draft: not counted
    charts = {chart.key: chart for chart in dashboard_charts()}
    categories = {bar.label: bar.value for bar in charts["ta_category"].bars}
    assert categories["Training of customs and border officials"] == 1
    assert categories["Destruction"] == 1
    regions = {bar.label: bar.value for bar in charts["ta_region"].bars}
    assert regions["African States"] == 1
    articles = {bar.label: bar.value for bar in charts["ta_article"].bars}
    assert sum(articles.values()) == 1


def test_the_cluster_xlsx_neutralises_formulas_and_keeps_rtl_and_emoji(cycle, parties, version):
    import openpyxl

    from reviews.exports.cluster_xlsx import cluster_report_xlsx

    question = _text_question(version)
    _put(parties[0], question, "=1+2")
    _put(parties[1], question, MB_TEXT)
    content, _name = cluster_report_xlsx(cycle_id=cycle.pk, progress=lambda p: None)
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    cells = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        if rows and question.code in rows[0]:
            col = rows[0].index(question.code)
            cells = {row[1]: row[col] for row in rows[2:]}
    assert cells[parties[0].iso3] == "'=1+2"  # text, never a formula
    big = cells[parties[1].iso3]
    # An Excel cell holds 32,767 UTF-16 units: the rest is cut with a marker, the start intact.
    assert len(big.encode("utf-16-le")) // 2 <= 32_767 and big.endswith(" […]")
    assert MB_TEXT.startswith(big.removesuffix(" […]"))
