"""The secretariat's audit log: the filtered list, the CSV export (formula-safe,
UTC, recorded itself), refused to everybody else; and the downloads and
confidential documents that leave an event when they are opened."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record
from questionnaire import evidence as ev
from questionnaire.models import Answer
from tests.factories import question, save

from .conftest import client_for

pytestmark = pytest.mark.django_db
Event = AuditEvent.Event
LIST, EXPORT = reverse("audit:list"), reverse("audit:export")


def rows_of(page) -> list[list[str]]:
    body = b"".join(page.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def listed(page) -> str:
    return page.content.decode()


def table(page) -> str:
    """The rows of the table (the filter's options name every event too)."""
    return listed(page).split("<tbody>", 1)[1]


# --- Who may read it ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["focal_point_a", "focal_point_b", "contributor_a", "reviewer", "observer_a"])
@pytest.mark.parametrize("url", [LIST, EXPORT])
def test_it_refuses_the_log_to_everybody_but_the_secretariat(request, persona, url):
    client = client_for(request.getfixturevalue(persona))
    page = client.get(url)

    assert page.status_code == 403
    # A refused export is no export; the refusal itself is on record (ASVS 16.3.2).
    assert not AuditEvent.objects.filter(event=AuditEvent.Event.EXPORT_DOWNLOADED).exists()
    assert AuditEvent.objects.filter(event=AuditEvent.Event.ACCESS_REFUSED).count() == 1


def test_it_sends_an_anonymous_visitor_to_sign_in(db):
    assert client_for(None).get(LIST)["Location"].startswith("/accounts/login/")


def test_a_disabled_secretariat_account_is_signed_out(secretariat):
    client = client_for(secretariat)
    secretariat.is_active = False
    secretariat.save()

    assert client.get(LIST).status_code == 302


# --- The list ------------------------------------------------------------------------------


@pytest.fixture
def logged(response_a, focal_point_a, focal_point_b, state_a, state_b, version, secretariat):
    """An answer of A, two sign-ins of B's focal point (one 400 days ago), an export by the secretariat."""
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "Our customs act"})
    audit_record(event=Event.SIGN_IN, actor=focal_point_b, state=state_b)
    # Back-dated as it is created (no row can be changed afterwards).
    AuditEvent.objects.bulk_create([AuditEvent(
        event=Event.SIGN_IN, actor=focal_point_b, actor_label=focal_point_b.email, state=state_b,
        at=timezone.now() - datetime.timedelta(days=400),
    )])
    audit_record(event=Event.EXPORT_DOWNLOADED, actor=secretariat, extra={"export": "x", "format": "csv"})


def test_it_lists_the_events_newest_first_with_who_what_where(logged, secretariat, focal_point_a, state_a):
    page = client_for(secretariat).get(LIST)

    assert page.status_code == 200
    html = listed(page)
    assert html.count("<h1") == 1 and "<table" in html and "<caption" in html
    assert "Answer changed" in html and focal_point_a.email in html and "Our customs act" in html
    rows = table(page)
    assert rows.index("Export downloaded") < rows.index("Answer changed")  # newest first
    for field in ("event", "state", "actor", "date_from", "date_to"):
        assert f'for="id_{field}"' in html


@pytest.mark.parametrize(("query", "kept", "dropped"), [
    (lambda ctx: {"event": Event.ANSWER_CHANGED}, "Our customs act", "Export downloaded</td>"),
    (lambda ctx: {"state": ctx["state_b"].pk}, "Signed in</td>", "Our customs act"),
    (lambda ctx: {"actor": ctx["secretariat"].email.upper()}, "Export downloaded</td>", "Our customs act"),
    (lambda ctx: {"date_to": (timezone.now() - datetime.timedelta(days=300)).date().isoformat()},
     "Signed in</td>", "Our customs act"),
    (lambda ctx: {"date_from": timezone.now().date().isoformat()}, "Our customs act",
     (timezone.now() - datetime.timedelta(days=400)).strftime("%Y-%m-%d")),
])
def test_each_filter_narrows_the_list(logged, secretariat, state_b, query, kept, dropped):
    client = client_for(secretariat)
    everything = table(client.get(LIST))
    assert kept in everything and dropped in everything

    page = table(client.get(LIST, query({"state_b": state_b, "secretariat": secretariat})))

    assert kept in page and dropped not in page


def test_the_actor_filter_matches_the_login_name_of_the_time(logged, secretariat, focal_point_b):
    page = listed(client_for(secretariat).get(LIST, {"actor": focal_point_b.email}))

    assert page.count("<tr>") - 1 == 2  # its two sign-ins, the heading row aside


def test_it_shows_values_as_escaped_json(secretariat, focal_point_a):
    audit_record(event=Event.ANSWER_CHANGED, actor=focal_point_a, old={"v": 1}, new="<script>alert(1)</script>")

    page = table(client_for(secretariat).get(LIST, {"event": Event.ANSWER_CHANGED}))

    assert "{&quot;v&quot;: 1}" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


def test_it_refuses_dates_in_the_wrong_order_and_says_why(logged, secretariat):
    page = listed(client_for(secretariat).get(LIST, {"date_from": "2026-05-02", "date_to": "2026-05-01"}))

    assert "The end date comes before the start date." in page
    assert 'aria-describedby="id_date_to-error"' in page and 'id="id_date_to-error"' in page


def test_it_pages_fifty_events_at_a_time(secretariat, focal_point_a):
    client = client_for(secretariat)
    AuditEvent.objects.bulk_create([AuditEvent(event=Event.SIGN_IN, actor_label=f"p{i}@example.org")
                                    for i in range(60)])
    total = AuditEvent.objects.count()

    first = listed(client.get(LIST))
    second = listed(client.get(LIST, {"page": 2}))

    assert first.count("<tr>") - 1 == 50 and second.count("<tr>") - 1 == total - 50
    assert "Page 1 of 2" in first and "p59@example.org" in first and "p0@example.org" in second


# measured: 5 (user, roles, the count, the States of the filter, the page of events
# with their States in one join); the session comes from the cache.
AUDIT_LIST_BUDGET = 5


def test_the_list_costs_the_same_queries_however_many_events(secretariat, parties, django_assert_max_num_queries):
    client = client_for(secretariat)
    AuditEvent.objects.bulk_create([AuditEvent(event=Event.SIGN_IN, state=parties[0]) for _ in range(2)])
    client.get(LIST)
    with django_assert_max_num_queries(AUDIT_LIST_BUDGET):
        client.get(LIST)
    AuditEvent.objects.bulk_create([AuditEvent(event=Event.DRAW, state=s) for s in parties for _ in range(5)])
    with django_assert_max_num_queries(AUDIT_LIST_BUDGET):
        page = client.get(LIST, {"page": 1})
    assert table(page).count("<tr>") == 50


# --- The export ---------------------------------------------------------------------------


def test_it_exports_the_filtered_log_as_csv_in_utc_and_records_the_export(
    logged, secretariat, response_a, focal_point_a, version
):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): '=HYPERLINK("http://evil","x")'})

    page = client_for(secretariat).get(EXPORT, {"event": Event.ANSWER_CHANGED})

    assert page.status_code == 200 and page.streaming
    assert page["Content-Type"].startswith("text/csv")
    assert page["Content-Disposition"].startswith('attachment; filename="audit-log-')
    header, *rows = rows_of(page)
    assert header[0] == "Time (UTC)" and len(rows) == 2
    newest = rows[0]
    assert datetime.datetime.fromisoformat(newest[0]).utcoffset() == datetime.timedelta(0)
    assert newest[0].endswith("+00:00")
    assert newest[1] == Event.ANSWER_CHANGED and newest[3] == focal_point_a.email
    # The answer's old value is plain text; the new one, a formula, is neutralised
    # (a cell made of the JSON text of a string starts with a quote: still checked).
    assert newest[9] == '"Our customs act"'
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    (export,) = AuditEvent.objects.filter(event=Event.EXPORT_DOWNLOADED, extra__export="audit_log")
    assert (export.actor, export.extra["filters"]) == (secretariat, {"event": Event.ANSWER_CHANGED})


def test_a_formula_in_a_cell_of_its_own_is_neutralised(secretariat):
    audit_record(event=Event.SIGN_IN_FAILED, actor_label='=HYPERLINK("http://evil","click")')

    (_header, *rows) = rows_of(client_for(secretariat).get(EXPORT, {"event": Event.SIGN_IN_FAILED}))

    assert rows[0][3] == "'=HYPERLINK(\"http://evil\",\"click\")"


# --- Downloads and confidential documents leave an event ---------------------------------


def _last(kind: str) -> AuditEvent:
    return AuditEvent.objects.filter(event=kind).order_by("-pk").first()


def test_the_offline_workbook_download_is_recorded(response_a, focal_point_a, state_a):
    page = client_for(focal_point_a, REMOTE_ADDR="192.0.2.1").get(
        reverse("questionnaire:offline_download", args=[response_a.pk]))

    assert page.status_code == 200
    event = _last(Event.EXPORT_DOWNLOADED)
    assert (event.actor, event.state, event.object_id, event.extra, event.ip) == (
        focal_point_a, state_a, str(response_a.pk), {"export": "offline_workbook", "format": "xlsx"}, "192.0.2.1")


def test_a_refused_download_is_not_recorded(response_a, focal_point_b):
    client = client_for(focal_point_b)
    before = AuditEvent.objects.count()

    page = client.get(reverse("questionnaire:offline_download", args=[response_a.pk]))

    assert page.status_code == 404 and AuditEvent.objects.count() == before


def test_the_cycle_csv_and_a_job_result_are_recorded(review_a, succeeded_job, secretariat):
    client = client_for(secretariat)
    b"".join(client.get(reverse("reviews:cycle_csv", args=[review_a.cycle_id])).streaming_content)
    b"".join(client.get(reverse("reviews:job_download", args=[succeeded_job.pk])).streaming_content)

    csv_event, job_event = AuditEvent.objects.filter(event=Event.EXPORT_DOWNLOADED).order_by("pk")
    assert (csv_event.object_type, csv_event.extra["export"], csv_event.extra["format"]) == (
        "reviews.reviewcycle", "cycle_answers", "csv")
    assert (job_event.object_type, job_event.object_id, job_event.extra["format"]) == (
        "reviews.job", str(succeeded_job.pk), "xlsx")


def test_a_reviewer_reading_the_submitted_answers_is_recorded(submitted_a, review_a, reviewer):
    page = client_for(reviewer).get(reverse("reviews:article", args=[review_a.pk, 5]))

    assert page.status_code == 200
    event = _last(Event.DOCUMENT_VIEWED)
    assert (event.actor, event.state_id, event.object_id, event.extra["article"], event.extra["review"]) == (
        reviewer, review_a.state_id, str(submitted_a.pk), 5, review_a.pk)


def test_opening_an_evidence_file_is_recorded(response_a, focal_point_a, state_a):
    from tests.views.test_evidence_views import pdf_bytes

    evidence = ev.evidence_upload(
        state=state_a, upload=SimpleUploadedFile("act.pdf", pdf_bytes("act")), by=focal_point_a
    ).evidence

    page = client_for(focal_point_a).get(reverse("questionnaire:evidence_download", args=[evidence.pk]))

    b"".join(page.streaming_content)
    event = _last(Event.DOCUMENT_VIEWED)
    assert (event.object_type, event.object_id, event.state, event.extra["export"]) == (
        "questionnaire.evidence", str(evidence.pk), state_a, "evidence_file")


def test_opening_a_final_document_is_recorded(final_document_a, review_a, focal_point_a):
    page = client_for(focal_point_a).get(reverse("reviews:final_document", args=[final_document_a.pk]))

    b"".join(page.streaming_content)
    event = _last(Event.DOCUMENT_VIEWED)
    assert (event.object_type, event.object_id, event.state_id, event.extra["format"]) == (
        "reviews.finaldocument", str(final_document_a.pk), review_a.state_id, "pdf")


def test_the_answers_submitted_are_in_the_log_the_secretariat_reads(submitted_a, secretariat, focal_point_a):
    page = listed(client_for(secretariat).get(LIST, {"event": Event.RESPONSE_SUBMITTED}))

    assert "Response submitted" in page and focal_point_a.email in page
    assert Answer.objects.filter(response=submitted_a).exists()


def test_an_answer_saved_through_the_page_records_where_it_came_from(response_a, focal_point_a, state_a):
    client = client_for(focal_point_a, REMOTE_ADDR="192.0.2.33")

    page = client.post(reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.1.a.explanation"]),
                       {"FP-5.1.a.explanation": "Typed", "rev-FP-5.1.a.explanation": "0"})

    assert page.status_code == 200
    event = _last(Event.ANSWER_CHANGED)
    assert (event.actor, event.state, event.new, event.ip) == (focal_point_a, state_a, "Typed", "192.0.2.33")


@pytest.mark.parametrize(("url", "export", "fmt"), [
    ("reviews:overview_xlsx", "reviews_overview", "xlsx"),
    ("reviews:registry_xlsx", "recommendations_registry", "xlsx"),
    ("reviews:matching_xlsx", "expertise_matching", "xlsx"),
])
def test_the_secretariats_spreadsheets_are_recorded(secretariat, review_a, url, export, fmt):
    page = client_for(secretariat).get(reverse(url))

    assert page.status_code == 200
    event = _last(Event.EXPORT_DOWNLOADED)
    assert (event.actor, event.extra) == (secretariat, {"export": export, "format": fmt})


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_the_response_documents_are_recorded(response_a, focal_point_a, state_a, fmt):
    page = client_for(focal_point_a).get(reverse(f"questionnaire:document_{fmt}", args=[response_a.pk]))

    assert page.status_code == 200
    event = _last(Event.EXPORT_DOWNLOADED)
    assert (event.object_id, event.state, event.extra) == (
        str(response_a.pk), state_a, {"export": "response_document", "format": fmt})
