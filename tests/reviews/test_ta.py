"""Technical-assistance needs through the services (no HTTP): derived from
submitted answers and agreed observations (drafts never), idempotent, moved by
guarded transitions, compiled by the TA_REPORT job, exported safely."""

from __future__ import annotations

import io
import shutil
import subprocess

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parties.models import Membership, State
from questionnaire.models import Article
from reviews import services as review_services
from reviews.models import Job, Review, TechnicalAssistanceNeed
from reviews.services import ReviewError
from reviews.services_observations import observation_create
from reviews.services_ta import ta_compile, ta_need_move, ta_needs_refresh
from reviews.services_workflow import review_transition
from tests.factories import MembershipFactory, agree_by_all, question, review_to_drafting_observations, save, second_reviewer
from tests.views.conftest import fresh_review, submit

pytestmark = pytest.mark.django_db

Need = TechnicalAssistanceNeed
Status = Need.Status


def ta_value(*categories, priority="high", details="We need help with this.", needed=True):
    return {"needed": needed, "categories": list(categories), "priority": priority if needed else "", "details": details}


@pytest.fixture
def ta_question(version):
    return question(version, "FP-14.ta")


@pytest.fixture
def submitted_with_ta(review_a, response_a, focal_point_a, ta_question):
    save(response_a, focal_point_a, {ta_question: ta_value("marking_equipment", "training_customs")})
    submit(response_a, focal_point_a)
    return fresh_review(review_a)


def test_submitting_derives_one_need_per_category_from_its_answers(submitted_with_ta, state_a, ta_question):
    # The submission itself derived them (reviews.receivers); a refresh finds nothing new.
    needs = list(Need.objects.filter(state=state_a).order_by("category"))
    assert ta_needs_refresh(state=state_a).created == 0
    assert [n.category for n in needs] == ["marking_equipment", "training_customs"]
    assert all(n.status == Status.IDENTIFIED and n.priority == "high" and n.source == "answer" for n in needs)
    assert {n.question_id for n in needs} == {ta_question.pk}
    assert needs[0].article.number == 14
    assert needs[0].text == "We need help with this."


def test_it_makes_no_duplicate_when_run_twice(submitted_with_ta, state_a):
    ta_needs_refresh(state=state_a)
    again = ta_needs_refresh(state=None)

    assert (again.created, again.updated, again.retired) == (0, 0, 0)
    assert Need.objects.filter(state=state_a).count() == 2


def test_it_never_reads_a_draft(response_a, focal_point_a, state_a, ta_question):
    save(response_a, focal_point_a, {ta_question: ta_value("destruction")})

    result = ta_needs_refresh(state=None)

    assert result.created == 0
    assert not Need.objects.exists()


def test_it_ignores_an_answer_saying_no_assistance_is_needed(review_a, response_a, focal_point_a, ta_question, state_a):
    save(response_a, focal_point_a, {ta_question: ta_value(needed=False, details="")})
    submit(response_a, focal_point_a)

    ta_needs_refresh(state=state_a)

    assert not Need.objects.exists()


def test_a_changed_answer_updates_its_needs(submitted_with_ta, response_a, focal_point_a, reviewer, ta_question, state_a):
    ta_needs_refresh(state=state_a)
    marking = Need.objects.get(category="marking_equipment")
    ta_need_move(need=marking, to=Status.REQUESTED, by=focal_point_a)
    # The State revises its submitted answer while the review is in written feedback.
    review_transition(review=fresh_review(submitted_with_ta), to=Review.Status.WRITTEN_FEEDBACK, by=reviewer)
    save(response_a, focal_point_a, {ta_question: ta_value("marking_equipment", priority="low", details="Only marking now.")})

    result = ta_needs_refresh(state=state_a)

    assert (result.created, result.updated, result.retired) == (0, 1, 1)
    marking.refresh_from_db()
    assert (marking.priority, marking.text, marking.status, marking.current) == ("low", "Only marking now.", Status.REQUESTED, True)
    customs = Need.objects.get(category="training_customs")
    assert customs.current is False
    assert ta_compile().total == 1


def test_it_derives_needs_from_agreed_observations_only(submitted_with_ta, review_a, reviewer, focal_point_a, state_a, version):
    review_to_drafting_observations(fresh_review(review_a), reviewer)
    article = Article.objects.get(version=version, number=5)
    agreed = observation_create(
        review=fresh_review(review_a), article=article, kind="ta_need", text="A registry system.",
        ta_category="record_keeping", ta_priority="medium", by=reviewer,
    )
    observation_create(
        review=fresh_review(review_a), article=article, kind="ta_need", text="Still a draft.",
        ta_category="destruction", by=reviewer,
    )
    agree_by_all(agreed, [focal_point_a, reviewer, second_reviewer(review_a)])
    agreed.refresh_from_db()
    assert agreed.status == "agreed"

    ta_needs_refresh(state=state_a)
    ta_needs_refresh(state=state_a)

    from_observations = list(Need.objects.filter(source="observation"))
    assert [(n.category, n.priority, n.text, n.article.number) for n in from_observations] == [
        ("record_keeping", "medium", "A registry system.", 5)
    ]


# --- Transitions ---------------------------------------------------------------------


@pytest.fixture
def need(submitted_with_ta, state_a):
    ta_needs_refresh(state=state_a)
    return Need.objects.get(category="marking_equipment")


def test_the_focal_point_requests_and_the_secretariat_delivers(need, focal_point_a, secretariat):
    need = ta_need_move(need=need, to=Status.REQUESTED, by=focal_point_a)
    need = ta_need_move(need=need, to=Status.BEING_DELIVERED, by=secretariat)
    need = ta_need_move(need=need, to=Status.MET, by=focal_point_a)

    need.refresh_from_db()
    assert need.status == Status.MET
    assert need.status_changed_by == focal_point_a


def test_it_refuses_a_move_out_of_order_and_changes_nothing(need, focal_point_a):
    with pytest.raises(ReviewError):
        ta_need_move(need=need, to=Status.MET, by=focal_point_a)
    with pytest.raises(ReviewError):
        ta_need_move(need=need, to="delivered-yesterday", by=focal_point_a)

    need.refresh_from_db()
    assert need.status == Status.IDENTIFIED and need.status_changed_by is None


@pytest.mark.parametrize("persona", ["contributor_a", "focal_point_b", "reviewer", "observer_a"])
def test_it_refuses_a_move_by_the_wrong_role(request, need, persona):
    with pytest.raises(PermissionDenied):
        ta_need_move(need=need, to=Status.REQUESTED, by=request.getfixturevalue(persona))

    need.refresh_from_db()
    assert need.status == Status.IDENTIFIED


def test_only_the_secretariat_starts_a_delivery(need, focal_point_a):
    ta_need_move(need=need, to=Status.REQUESTED, by=focal_point_a)

    with pytest.raises(PermissionDenied):
        ta_need_move(need=need, to=Status.BEING_DELIVERED, by=focal_point_a)

    need.refresh_from_db()
    assert need.status == Status.REQUESTED


def test_a_withdrawn_need_stays_withdrawn_and_is_not_counted(need, focal_point_a):
    ta_need_move(need=need, to=Status.WITHDRAWN, by=focal_point_a)
    with pytest.raises(ReviewError):
        ta_need_move(need=need, to=Status.REQUESTED, by=focal_point_a)
    ta_needs_refresh(state=None)

    need.refresh_from_db()
    assert need.status == Status.WITHDRAWN
    assert ta_compile().total == 1


# --- Compilation ------------------------------------------------------------------------


def _many_states(n: int, version, secretariat):
    """n more States, each with a submitted TA answer (bypassing the UI, through the services)."""
    from questionnaire.services import response_get_or_create
    from tests.factories import StateFactory, make_party

    fp_role = Membership.Role.FOCAL_POINT
    for i in range(n):
        state = make_party(StateFactory(regional_group=State.RegionalGroup.values[i % 5]))
        focal_point = MembershipFactory(role=fp_role, state=state).user
        response = response_get_or_create(state=state, version=version, due_date=None)
        save(response, focal_point, {question(version, "FP-14.ta"): ta_value("legislative", "destruction")})
        submit(response, focal_point)


def test_it_compiles_counts_in_a_fixed_number_of_queries(submitted_with_ta, version, secretariat):
    ta_needs_refresh(state=None)
    with CaptureQueriesContext(connection) as few:
        small = ta_compile()
    _many_states(4, version, secretariat)
    ta_needs_refresh(state=None)
    with CaptureQueriesContext(connection) as many:
        large = ta_compile()

    assert len(many.captured_queries) == len(few.captured_queries) <= 10
    assert (small.total, large.total) == (2, 10)
    categories = dict(large.by_category)
    assert categories["Legislative drafting and legal advice"] == 4
    assert categories["Marking equipment"] == 1
    assert sum(n for _l, n in large.by_group) == 10
    assert sum(n for *_x, n in large.by_state) == 10 and len(large.by_state) == 5
    assert large.by_article == [(14, Article.objects.get(version=version, number=14).title, 10)]
    assert [n for _l, n in large.by_cluster] == [10]


def test_the_refresh_of_every_state_costs_a_fixed_number_of_queries(submitted_with_ta, version, secretariat):
    Need.objects.all().delete()  # both measurements create every need
    with CaptureQueriesContext(connection) as few:
        ta_needs_refresh(state=None)
    _many_states(4, version, secretariat)
    Need.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        ta_needs_refresh(state=None)

    assert len(many.captured_queries) == len(few.captured_queries)


# --- The job ---------------------------------------------------------------------------------


def _run(fmt, by, capture):
    with capture(execute=True):
        result = review_services.job_request(kind=Job.Kind.TA_REPORT, params={"format": fmt}, by=by)
    return Job.objects.get(pk=result.job.pk)


def test_the_job_refreshes_and_builds_the_xlsx_once(submitted_with_ta, secretariat, django_capture_on_commit_callbacks):
    job = _run("xlsx", secretariat, django_capture_on_commit_callbacks)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert Need.objects.count() == 2  # refreshed by the job
    # Delivered again (acks_late after a worker died): no second result.
    assert review_services.job_execute(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.attempts == 1
    book = openpyxl.load_workbook(io.BytesIO(job.result_file.read()))
    rows = list(book.worksheets[2].values)
    assert rows[0][0] == "State" and len(rows) == 3
    assert {r[5] for r in rows[1:]} == {"Marking equipment", "Training of customs and border officials"}


def test_a_double_request_makes_one_job(secretariat):
    first = review_services.job_request(kind=Job.Kind.TA_REPORT, params={"format": "pdf"}, by=secretariat)
    second = review_services.job_request(kind=Job.Kind.TA_REPORT, params={"format": "pdf"}, by=secretariat)

    assert first.created and not second.created and first.job.pk == second.job.pk


def test_only_the_secretariat_asks_for_the_report(focal_point_a):
    with pytest.raises(PermissionDenied):
        review_services.job_request(kind=Job.Kind.TA_REPORT, params={"format": "xlsx"}, by=focal_point_a)
    assert not Job.objects.exists()


# --- Exports -------------------------------------------------------------------------------------

HOSTILE = "=HYPERLINK(\"http://evil.example\",\"x\")"
RTL = "نحتاج إلى تدريب الجمارك 🔫🛃 שלום"


def test_the_xlsx_neutralises_formulas(
    review_a, response_a, focal_point_a, ta_question, secretariat, django_capture_on_commit_callbacks
):
    save(response_a, focal_point_a, {ta_question: ta_value("other", details=HOSTILE)})
    submit(response_a, focal_point_a)

    job = _run("xlsx", secretariat, django_capture_on_commit_callbacks)

    assert job.status == Job.Status.SUCCEEDED, job.error
    book = openpyxl.load_workbook(io.BytesIO(job.result_file.read()))
    sheet = book.worksheets[2]
    text = sheet.cell(row=2, column=10).value
    # Neutralised: text, not a formula.
    assert text == "'" + HOSTILE
    assert sheet.cell(row=2, column=10).data_type == "s"


def test_the_xlsx_keeps_a_megabyte_of_rtl_text_as_far_as_a_cell_holds(state_a, version, response_a, focal_point_a, ta_question):
    from reviews.exports.ta_report import ta_report_xlsx

    save(response_a, focal_point_a, {ta_question: ta_value("other", details="x")})
    submit(response_a, focal_point_a)
    ta_needs_refresh(state=None)
    Need.objects.update(text=(RTL + " ") * 16_000)

    content, filename = ta_report_xlsx(compilation=ta_compile(), progress=lambda p: None)

    cell = openpyxl.load_workbook(io.BytesIO(content)).worksheets[2].cell(row=2, column=10).value
    assert filename.endswith(".xlsx")
    # Cut at Excel's limit of a cell (32,767 characters), marked, the text before it intact.
    assert len(cell) > 30_000 and cell.endswith(" […]")
    assert cell[:-4] == ((RTL + " ") * 16_000)[: len(cell) - 4]


def test_the_pdf_holds_the_counts_and_the_rtl_text(
    review_a, response_a, focal_point_a, ta_question, secretariat, django_capture_on_commit_callbacks
):
    save(response_a, focal_point_a, {ta_question: ta_value("marking_equipment", details=RTL)})
    submit(response_a, focal_point_a)
    job = _run("pdf", secretariat, django_capture_on_commit_callbacks)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result_name.endswith(".pdf")
    pdf = job.result_file.read()
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    else:  # without poppler-utils: the lines of WeasyPrint's own layout of the same HTML
        from weasyprint import HTML
        from weasyprint.formatting_structure.boxes import LineBox, TextBox

        from reviews.exports.ta_report import ta_report_html

        rendered = HTML(string=ta_report_html(compilation=ta_compile())).render()
        text = "\n".join(
            "".join(box.text for box in line.descendants() if isinstance(box, TextBox))
            for page in rendered.pages
            for line in page._page_box.descendants()
            if isinstance(line, LineBox)
        )
    assert RTL.split()[0] in text
    assert "Marking equipment" in text
