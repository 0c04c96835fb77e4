"""Evidence over HTTP: the library page, uploads and their limits, downloads and
their headers, attaching and detaching, and who gets what."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from questionnaire import evidence as ev
from questionnaire.models import AnswerEvidence, Evidence
from tests.factories import question
from tests.questionnaire.test_evidence import (
    CODE,
    docx_bytes,
    exe_bytes,
    html_bytes,
    pdf_bytes,
    png_bytes,
    stored_files,
    zip_bomb_docx,
    zip_bytes,
)

from .conftest import LOGIN_URL, client_for, messages_of, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewers_read_evidence():
    """The registration reviews/apps.py makes (reviews.evidence_access.register)."""
    from reviews import evidence_access

    registered = evidence_access.assigned_reviewer_reads_evidence in ev.EXTRA_READERS
    evidence_access.register()
    yield
    if not registered:
        ev.EXTRA_READERS.remove(evidence_access.assigned_reviewer_reads_evidence)


def library_url(state) -> str:
    return reverse("questionnaire:evidence_library", args=[state.iso3])


def attach_url(response, code: str = CODE) -> str:
    return reverse("questionnaire:evidence_attach", args=[response.pk, code])


def detach_url(response, evidence, code: str = CODE) -> str:
    return reverse("questionnaire:evidence_detach", args=[response.pk, code, evidence.pk])


def download_url(evidence) -> str:
    return reverse("questionnaire:evidence_download", args=[evidence.pk])


def article_url(response) -> str:
    return reverse("questionnaire:article", args=[response.pk, 5])


def post_upload(client, url, name: str, content: bytes, **fields):
    data = {"action": "upload", "upload-file": SimpleUploadedFile(name, content, "application/pdf")}
    data.update({f"upload-{k}": v for k, v in fields.items()})
    return client.post(url, data)


def snapshot():
    return (
        list(Evidence.objects.order_by("pk").values_list("pk", "title")),
        list(AnswerEvidence.objects.order_by("pk").values_list("pk", "evidence_id")),
        stored_files(),
    )


# --- The library ------------------------------------------------------------------------


def test_the_library_is_for_the_states_answering_people_only(
    state_a, focal_point_a, contributor_a, focal_point_b, secretariat, anonymous
):
    for person in (focal_point_a, contributor_a):
        page = client_for(person).get(library_url(state_a))
        assert page.status_code == 200
        assert b'enctype="multipart/form-data"' in page.content
    for outsider in (focal_point_b, secretariat):
        assert client_for(outsider).get(library_url(state_a)).status_code == 404
    assert client_for(focal_point_a).get("/responses/states/ZZZ/evidence/").status_code == 404
    assert client_for(anonymous).get(library_url(state_a))["Location"].startswith(LOGIN_URL)


@pytest.mark.parametrize(("name", "build"), [("act.pdf", pdf_bytes), ("act.docx", docx_bytes), ("map.png", png_bytes)])
def test_it_uploads_to_the_library(state_a, focal_point_a, name, build):
    client = client_for(focal_point_a)

    page = post_upload(client, library_url(state_a), name, build(), title="Firearms Act", article="s. 5", date="2020-01-31")

    assert page.status_code == 302 and page["Location"] == library_url(state_a)
    evidence = Evidence.objects.get()
    assert (evidence.title, evidence.article, evidence.date.isoformat(), evidence.original_name) == (
        "Firearms Act", "s. 5", "2020-01-31", name,
    )
    listing = client.get(library_url(state_a))
    assert "Firearms Act" in listing.content.decode()
    assert download_url(evidence) in listing.content.decode()


def test_uploading_the_same_file_twice_keeps_one_row_and_says_so(state_a, focal_point_a, contributor_a):
    post_upload(client_for(focal_point_a), library_url(state_a), "act.pdf", pdf_bytes(), title="Firearms Act")
    client = client_for(contributor_a)

    page = post_upload(client, library_url(state_a), "act (1).pdf", pdf_bytes())

    assert page.status_code == 302
    assert Evidence.objects.count() == 1 and len(stored_files()) == 1
    assert any("already in your State's library" in m and "Firearms Act" in m for m in messages_of(client.get(page["Location"])))


@pytest.mark.parametrize(
    ("name", "content", "detected"),
    [
        ("law.pdf", exe_bytes(), "a Windows program"),
        ("law.pdf", html_bytes(), "an HTML page"),
        ("photo.png", html_bytes(), "an HTML page"),
        ("law.docx", zip_bytes({"notes.txt": b"hello"}), "a ZIP archive"),
        ("law.docx", zip_bomb_docx(30 * 1024 * 1024), "ZIP bomb"),
    ],
)
def test_it_refuses_disguised_files_with_a_clear_message_and_stores_nothing(state_a, focal_point_a, name, content, detected):
    page = post_upload(client_for(focal_point_a), library_url(state_a), name, content)

    assert page.status_code == 422
    text = page.content.decode()
    assert detected in text and "not accepted" in text
    assert snapshot() == ([], [], [])


def test_it_refuses_a_file_of_20_mb_and_one_byte(state_a, focal_point_a):
    content = pdf_bytes()
    content += b"\x00" * (ev.MAX_FILE_SIZE + 1 - len(content))

    page = post_upload(client_for(focal_point_a), library_url(state_a), "big.pdf", content)

    assert page.status_code == 422
    assert "larger than 20 MB" in page.content.decode()
    assert snapshot() == ([], [], [])


def test_it_refuses_a_request_announcing_more_than_the_limit_without_reading_it(state_a, focal_point_a):
    page = client_for(focal_point_a).post(
        library_url(state_a), {"action": "cite", "cite-title": "Act"}, CONTENT_LENGTH=str(50 * 1024 * 1024)
    )

    assert page.status_code == 413
    assert "larger than 20 MB" in page.content.decode()
    assert snapshot() == ([], [], [])


def test_uploads_and_citations_need_the_csrf_token(state_a, focal_point_a):
    client = client_for(focal_point_a, enforce_csrf_checks=True)

    assert post_upload(client, library_url(state_a), "act.pdf", pdf_bytes()).status_code == 403
    assert client.post(library_url(state_a), {"action": "cite", "cite-title": "Act"}).status_code == 403
    assert snapshot() == ([], [], [])


def test_it_cites_a_law_with_an_http_link_and_an_optional_iso_date(state_a, focal_point_a):
    client = client_for(focal_point_a)

    dated = client.post(
        library_url(state_a),
        {"action": "cite", "cite-title": "Firearms Act", "cite-article": "s. 5", "cite-date": "2020-01-31",
         "cite-link": "https://example.org/act"},
    )
    undated = client.post(library_url(state_a), {"action": "cite", "cite-title": "Decree", "cite-date": ""})
    bad_link = client.post(library_url(state_a), {"action": "cite", "cite-title": "X", "cite-link": "javascript:alert(1)"})
    bad_date = client.post(library_url(state_a), {"action": "cite", "cite-title": "Y", "cite-date": "31/01/2020"})

    assert dated.status_code == undated.status_code == 302
    assert bad_link.status_code == bad_date.status_code == 422
    assert "http:// or https://" in bad_link.content.decode()
    assert list(Evidence.objects.order_by("title").values_list("title", "date", "link")) == [
        ("Decree", None, ""),
        ("Firearms Act", __import__("datetime").date(2020, 1, 31), "https://example.org/act"),
    ]
    page = client.get(library_url(state_a)).content.decode()
    assert 'href="https://example.org/act"' in page and "javascript:" not in page


def test_outsiders_cannot_add_to_a_library(state_a, focal_point_b, secretariat):
    for outsider in (focal_point_b, secretariat):
        client = client_for(outsider)
        assert post_upload(client, library_url(state_a), "act.pdf", pdf_bytes()).status_code == 404
        assert client.post(library_url(state_a), {"action": "cite", "cite-title": "Act"}).status_code == 404
    assert snapshot() == ([], [], [])


# --- Downloads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ascii_name", "original"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf", "passwd.pdf"),
        # What reaches the view depends on the multipart parser; whatever it is, it is safe.
        ("law\x00\r\nSet-Cookie: x=1.pdf", None, None),
        ("evil\u202efdp.exe", "evilfdp.exe.pdf", "evilfdp.exe.pdf"),
        ("Loi sur les armes à feu.pdf", "Loi sur les armes a feu.pdf", "Loi sur les armes à feu.pdf"),
        ("قانون.pdf", "evidence-{pk}.pdf", "قانون.pdf"),
    ],
)
def test_it_serves_a_file_with_safe_headers(state_a, focal_point_a, name, ascii_name, original):
    content = pdf_bytes()
    post_upload(client_for(focal_point_a), library_url(state_a), name, content)
    evidence = Evidence.objects.get()

    page = client_for(focal_point_a).get(download_url(evidence))

    assert page.status_code == 200
    assert b"".join(page.streaming_content) == content
    assert page["Content-Type"] == "application/pdf"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in page["Cache-Control"]
    disposition = page["Content-Disposition"]
    match = re.fullmatch(r"attachment; filename=\"([^\"]*)\"; filename\*=UTF-8''(\S+)", disposition)
    assert match, disposition
    if ascii_name is not None:
        assert match.group(1) == ascii_name.format(pk=evidence.pk)
        assert unquote(match.group(2)) == original
    assert unquote(match.group(2)) == ev.sanitise_filename(unquote(match.group(2)))
    assert disposition.isascii() and not any(c in disposition for c in "\r\n\x00/\\")


def test_it_serves_the_content_type_of_the_detected_kind(state_a, focal_point_a):
    client = client_for(focal_point_a)
    uploaded = post_upload(client, library_url(state_a), "picture.pdf", png_bytes())
    shown = client.get(uploaded["Location"])
    assert any("“picture.pdf” is in fact a PNG image, whatever its name says" in m for m in messages_of(shown)), \
        messages_of(shown)

    page = client_for(focal_point_a).get(download_url(Evidence.objects.get()))

    assert page["Content-Type"] == "image/png"
    assert "filename*=UTF-8''picture.pdf.png" in page["Content-Disposition"]


def _attached_file(response_a, focal_point_a, version) -> Evidence:
    return ev.answer_evidence_add(
        response=response_a,
        question=question(version, CODE),
        upload=SimpleUploadedFile("act.pdf", pdf_bytes()),
        by=focal_point_a,
    ).evidence


def test_who_downloads_a_file_before_and_after_submission(
    review_a, response_a, version, focal_point_a, contributor_a, focal_point_b, reviewer, unassigned_reviewer, secretariat,
    anonymous, reviewers_read_evidence,
):
    evidence = _attached_file(response_a, focal_point_a, version)
    people = {
        "focal_point_a": focal_point_a,
        "contributor_a": contributor_a,
        "focal_point_b": focal_point_b,
        "reviewer": reviewer,
        "unassigned_reviewer": unassigned_reviewer,
        "secretariat": secretariat,
    }

    def statuses():
        return {name: client_for(user).get(download_url(evidence)).status_code for name, user in people.items()}

    assert statuses() == {
        "focal_point_a": 200, "contributor_a": 200, "focal_point_b": 404, "reviewer": 404,
        "unassigned_reviewer": 404, "secretariat": 404,
    }
    submit(response_a, focal_point_a)
    assert statuses() == {
        "focal_point_a": 200, "contributor_a": 200, "focal_point_b": 404, "reviewer": 200,
        "unassigned_reviewer": 404, "secretariat": 200,
    }
    assert client_for(anonymous).get(download_url(evidence))["Location"].startswith(LOGIN_URL)
    # A missing id answers exactly like someone else's.
    missing = client_for(focal_point_b).get(reverse("questionnaire:evidence_download", args=[evidence.pk + 1000]))
    assert missing.status_code == 404


def test_a_citation_has_nothing_to_download(state_a, focal_point_a):
    cited = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Act"), by=focal_point_a).evidence
    assert client_for(focal_point_a).get(download_url(cited)).status_code == 404


# --- Attaching and detaching --------------------------------------------------------------


def test_the_attach_page_lists_and_offers_the_library(response_a, focal_point_a, version):
    ev.evidence_cite(state=response_a.state, citation=ev.CitationData(title="Firearms Act"), by=focal_point_a)

    page = client_for(focal_point_a).get(attach_url(response_a))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Firearms Act" in text and 'name="existing-evidence"' in text
    assert 'name="upload-file"' in text and 'name="cite-title"' in text
    assert " style=" not in text and "<style" not in text
    assert client_for(focal_point_a).get(attach_url(response_a, "NO-SUCH-CODE")).status_code == 404


def test_it_attaches_existing_new_files_and_citations_and_detaches(response_a, focal_point_a, contributor_a, version):
    cited = ev.evidence_cite(state=response_a.state, citation=ev.CitationData(title="Firearms Act"), by=focal_point_a).evidence
    client = client_for(contributor_a)
    url = attach_url(response_a)

    existing = client.post(url, {"action": "existing", "existing-evidence": str(cited.pk)})
    uploaded = post_upload(client, url, "decree.docx", docx_bytes(), title="Decree 12")
    citation = client.post(url, {"action": "cite", "cite-title": "Regulation 3", "cite-link": "https://example.org/r3"})

    for page in (existing, uploaded, citation):
        assert page.status_code == 302 and page["Location"] == f"{article_url(response_a)}#q-{CODE}"
    attached = ev.answer_evidence(response=response_a, questions=[question(version, CODE)])
    assert [e.title for e in attached[question(version, CODE).pk].evidence] == ["Firearms Act", "Decree 12", "Regulation 3"]

    detached = client.post(detach_url(response_a, cited))

    assert detached.status_code == 302 and detached["Location"] == url
    assert AnswerEvidence.objects.count() == 2 and Evidence.objects.filter(pk=cited.pk).exists()
    # Detaching again is harmless.
    assert client.post(detach_url(response_a, cited)).status_code == 302


def test_it_refuses_to_attach_another_states_evidence(response_a, state_b, focal_point_a, focal_point_b):
    theirs = ev.evidence_cite(state=state_b, citation=ev.CitationData(title="Their act"), by=focal_point_b).evidence
    client = client_for(focal_point_a)

    page = client.post(attach_url(response_a), {"action": "existing", "existing-evidence": str(theirs.pk)})

    assert page.status_code == 422
    assert client.post(detach_url(response_a, theirs)).status_code == 404
    assert not AnswerEvidence.objects.exists()


def test_outsiders_get_404_on_an_answers_evidence(response_a, focal_point_a, focal_point_b, secretariat, reviewer, version):
    cited = ev.answer_evidence_add(
        response=response_a, question=question(version, CODE), citation=ev.CitationData(title="Act"), by=focal_point_a
    ).evidence
    before = snapshot()
    for outsider in (focal_point_b, secretariat, reviewer):
        client = client_for(outsider)
        assert client.get(attach_url(response_a)).status_code == 404
        assert client.post(attach_url(response_a), {"action": "cite", "cite-title": "Z"}).status_code == 404
        assert client.post(detach_url(response_a, cited)).status_code == 404
    assert snapshot() == before


def test_attachments_are_frozen_once_the_response_is_submitted(
    review_a, response_a, focal_point_a, contributor_a, secretariat, version
):
    attached = _attached_file(response_a, focal_point_a, version)
    spare = ev.evidence_cite(state=response_a.state, citation=ev.CitationData(title="Spare"), by=focal_point_a).evidence
    submit(response_a, focal_point_a)
    before = snapshot()

    for person in (focal_point_a, contributor_a):
        client = client_for(person)
        for page in (
            client.get(attach_url(response_a)),
            client.post(attach_url(response_a), {"action": "existing", "existing-evidence": str(spare.pk)}),
            post_upload(client, attach_url(response_a), "new.pdf", pdf_bytes("new")),
            client.post(attach_url(response_a), {"action": "cite", "cite-title": "New"}),
            client.post(detach_url(response_a, attached)),
        ):
            assert page.status_code == 302 and page["Location"] == f"{article_url(response_a)}#q-{CODE}"
        assert any("can no longer be changed" in m for m in messages_of(client.get(article_url(response_a))))
    secretariat_client = client_for(secretariat)
    assert secretariat_client.post(attach_url(response_a), {"action": "cite", "cite-title": "S"}).status_code == 403
    assert secretariat_client.post(detach_url(response_a, attached)).status_code == 403
    assert snapshot() == before


# --- For the access matrix ------------------------------------------------------------------


def matrix_evidence(ctx) -> Evidence:
    """For tests/views/test_access_matrix.py: a PDF in State A's library attached to
    A's response (a draft, or as it was before submission), and the reviewers' hook
    registered as reviews/apps.py registers it (idempotent)."""
    from questionnaire.models import Question
    from reviews import evidence_access

    evidence_access.register()
    response = ctx.response
    existing = Evidence.objects.filter(state_id=response.state_id, kind=Evidence.Kind.FILE).first()
    evidence = existing or ev.evidence_upload(
        state=response.state, upload=SimpleUploadedFile("matrix act.pdf", pdf_bytes("matrix")), by=ctx.contributor
    ).evidence
    AnswerEvidence.objects.get_or_create(
        response_id=response.pk,
        question=Question.objects.get(version_id=response.version_id, code=CODE),
        evidence=evidence,
        defaults={"added_by": ctx.contributor},
    )
    return evidence


def test_the_answer_panel_for_the_answering_page_renders(response_a, focal_point_a, version, rf):
    """templates/questionnaire/_evidence_list.html, which the integrator includes
    under each question of article_answer.html."""
    from django.template.loader import render_to_string

    q = question(version, CODE)
    ev.answer_evidence_add(response=response_a, question=q, upload=SimpleUploadedFile("act.pdf", pdf_bytes()), by=focal_point_a)
    ev.answer_evidence_add(
        response=response_a, question=q, citation=ev.CitationData(title="Decree", link="https://example.org/d"), by=focal_point_a
    )
    panel = ev.answer_evidence(response=response_a, questions=[q])[q.pk]

    editable = render_to_string(
        "questionnaire/_evidence_list.html", {"panel": panel, "response": response_a, "can_edit": True}, request=rf.get("/")
    )
    read_only = render_to_string(
        "questionnaire/_evidence_list.html", {"panel": panel, "response": response_a, "can_edit": False}, request=rf.get("/")
    )

    assert download_url(panel.evidence[0]) in editable and 'href="https://example.org/d"' in editable
    assert attach_url(response_a) in editable and attach_url(response_a) not in read_only


# --- Editing and deleting library entries ------------------------------------------------------


def edit_url(evidence) -> str:
    return reverse("questionnaire:evidence_edit", args=[evidence.pk])


def delete_url(evidence) -> str:
    return reverse("questionnaire:evidence_delete", args=[evidence.pk])


def entries():
    return list(
        Evidence.objects.order_by("pk").values_list("pk", "title", "article", "date", "link", "description", "revision")
    )


def edit_post(revision: int = 1, **fields) -> dict:
    data = {"title": "Firearms Act 2020", "article": "s. 5", "date": "2020-01-31", "link": "", "description": ""}
    return data | fields | {"revision": str(revision)}


def test_the_library_offers_edit_and_delete_except_for_entries_a_submitted_response_uses(
    review_a, response_a, focal_point_a, version
):
    attached = _attached_file(response_a, focal_point_a, version)
    loose = ev.evidence_cite(state=response_a.state, citation=ev.CitationData(title="Loose decree"), by=focal_point_a).evidence
    client = client_for(focal_point_a)

    page = client.get(library_url(response_a.state)).content.decode()
    assert edit_url(attached) in page and delete_url(attached) in page and edit_url(loose) in page

    submit(response_a, focal_point_a)
    page = client.get(library_url(response_a.state)).content.decode()
    assert edit_url(attached) not in page and delete_url(attached) not in page
    assert "Locked: used by a submitted response" in page
    assert edit_url(loose) in page and delete_url(loose) in page


def test_it_edits_a_citation_and_every_answer_shows_it(response_a, focal_point_a, contributor_a, version):
    cited = ev.answer_evidence_add(
        response=response_a, question=question(version, CODE), citation=ev.CitationData(title="Firearms Act"), by=focal_point_a
    ).evidence
    client = client_for(contributor_a)

    form = client.get(edit_url(cited))
    assert form.status_code == 200
    text = form.content.decode()
    assert 'name="title"' in text and 'value="Firearms Act"' in text and 'name="link"' in text
    assert 'name="revision"' in text and CODE in text  # the answers that use it are listed
    saved = client.post(edit_url(cited), edit_post(link="https://example.org/act", description="Consolidated."))

    assert saved.status_code == 302 and saved["Location"] == library_url(response_a.state)
    assert any("every answer using it shows the new text" in m for m in messages_of(client.get(saved["Location"])))
    assert entries() == [
        (cited.pk, "Firearms Act 2020", "s. 5", __import__("datetime").date(2020, 1, 31), "https://example.org/act",
         "Consolidated.", 2)
    ]
    article = client.get(article_url(response_a)).content.decode()
    assert "Firearms Act 2020" in article and "Consolidated." in article


def test_a_files_entry_is_edited_without_a_link_and_keeps_its_file(response_a, focal_point_a, version):
    attached = _attached_file(response_a, focal_point_a, version)
    files = [(p, p.read_bytes()) for p in stored_files()]
    client = client_for(focal_point_a)

    assert 'name="link"' not in client.get(edit_url(attached)).content.decode()
    saved = client.post(edit_url(attached), edit_post(title="Gazette copy", link="https://example.org/forged"))

    assert saved.status_code == 302
    evidence = Evidence.objects.get()
    assert (evidence.title, evidence.link, evidence.sha256) == ("Gazette copy", "", attached.sha256)
    assert [(p, p.read_bytes()) for p in stored_files()] == files
    assert b"".join(client.get(download_url(evidence)).streaming_content) == pdf_bytes()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"date": "31/01/2020"}, "Enter a date as YYYY-MM-DD"),
        ({"date": "2020-02-30"}, "Enter a date as YYYY-MM-DD"),
        ({"link": "javascript:alert(1)"}, "http:// or https://"),
        ({"title": "   "}, "This field is required"),
    ],
)
def test_a_bad_edit_is_shown_again_with_its_error_and_changes_nothing(state_a, focal_point_a, fields, message):
    cited = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Arms Act"), by=focal_point_a).evidence
    before = entries()

    page = client_for(focal_point_a).post(edit_url(cited), edit_post(**fields))

    assert page.status_code == 422
    text = page.content.decode()
    assert message in text and "Nothing was saved" in text
    assert 'aria-invalid="true"' in text or "alert-danger" in text
    assert entries() == before


def test_a_stale_edit_is_refused_showing_both_texts_then_saved_deliberately(state_a, focal_point_a, contributor_a):
    cited = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Arms Act"), by=focal_point_a).evidence
    mine, theirs = client_for(focal_point_a), client_for(contributor_a)
    mine.get(edit_url(cited))  # both open the page at revision 1
    assert theirs.post(edit_url(cited), edit_post(title="Arms Act 1999")).status_code == 302
    newer = entries()

    stale = mine.post(edit_url(cited), edit_post(title="Arms Act 2001"))

    assert stale.status_code == 409
    text = stale.content.decode()
    assert "Arms Act 1999" in text and "Arms Act 2001" in text and "Cora Contributor" in text
    assert "were not saved" in text
    assert 'name="revision" value="2"' in text
    assert entries() == newer
    again = mine.post(edit_url(cited), edit_post(revision=2, title="Arms Act 2001"))
    assert again.status_code == 302
    assert entries()[0][1] == "Arms Act 2001" and entries()[0][-1] == 3


def test_it_deletes_after_a_confirmation_listing_the_answers(
    response_a, focal_point_a, contributor_a, version, django_capture_on_commit_callbacks
):
    attached = _attached_file(response_a, focal_point_a, version)
    client = client_for(contributor_a)

    confirm = client.get(delete_url(attached))
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "It is attached to 1 answer" in text and f"{article_url(response_a)}#q-{CODE}" in text
    assert Evidence.objects.exists() and len(stored_files()) == 1  # a GET deletes nothing

    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.post(delete_url(attached), {"revision": "1"})

    assert deleted.status_code == 302 and deleted["Location"] == library_url(response_a.state)
    assert any("detached from 1 answer" in m for m in messages_of(client.get(deleted["Location"])))
    assert snapshot() == ([], [], [])
    assert client.get(delete_url(attached)).status_code == 404


def test_a_deletion_confirmed_before_an_edit_is_refused(state_a, focal_point_a, contributor_a):
    cited = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Arms Act"), by=focal_point_a).evidence
    client_for(contributor_a).post(edit_url(cited), edit_post(title="Arms Act 1999"))
    before = entries()
    client = client_for(focal_point_a)

    page = client.post(delete_url(cited), {"revision": "1"})

    assert page.status_code == 302 and page["Location"] == delete_url(cited)
    assert any("were not saved" in m or "changed by" in m for m in messages_of(client.get(page["Location"])))
    assert client.post(delete_url(cited), {}).status_code == 400
    assert entries() == before


def test_an_entry_used_by_a_submitted_response_is_refused_with_a_message(
    review_a, response_a, focal_point_a, contributor_a, version
):
    attached = _attached_file(response_a, focal_point_a, version)
    submit(response_a, focal_point_a)
    before = snapshot() + (entries(),)

    for person in (focal_point_a, contributor_a):
        client = client_for(person)
        for page in (
            client.get(edit_url(attached)),
            client.post(edit_url(attached), edit_post(revision=1, title="Changed after submission")),
            client.get(delete_url(attached)),
            client.post(delete_url(attached), {"revision": "1"}),
        ):
            assert page.status_code == 302 and page["Location"] == library_url(response_a.state)
        shown = messages_of(client.get(library_url(response_a.state)))
        assert any("used by a submitted response" in m and "Nothing was changed" in m for m in shown)
    assert snapshot() + (entries(),) == before


def test_who_may_edit_or_delete_an_entry(
    review_a, response_a, state_b, version, focal_point_a, focal_point_b, reviewer, unassigned_reviewer, secretariat,
    anonymous, reviewers_read_evidence,
):
    attached = _attached_file(response_a, focal_point_a, version)
    theirs = ev.evidence_cite(state=state_b, citation=ev.CitationData(title="Their act"), by=focal_point_b).evidence
    before = snapshot() + (entries(),)

    # Another State's entry, or a forged id: 404 for A's focal point, nothing changes.
    client = client_for(focal_point_a)
    for url in (edit_url(theirs), delete_url(theirs), "/responses/evidence/999999/edit/"):
        assert client.get(url).status_code == 404
        assert client.post(url, edit_post(title="Forged")).status_code == 404
    # Those who may not even read A's draft evidence: 404.
    for outsider in (focal_point_b, reviewer, unassigned_reviewer, secretariat):
        assert client_for(outsider).post(edit_url(attached), edit_post(title="Forged")).status_code == 404
        assert client_for(outsider).post(delete_url(attached), {"revision": "1"}).status_code == 404
    assert client_for(anonymous).get(edit_url(attached))["Location"].startswith(LOGIN_URL)
    assert snapshot() + (entries(),) == before

    # Once a submitted response uses it, the secretariat and the assigned reviewers
    # read it but do not manage A's library: 403.
    submit(response_a, focal_point_a)
    before = snapshot() + (entries(),)
    for reader in (secretariat, reviewer):
        assert client_for(reader).get(edit_url(attached)).status_code == 403
        assert client_for(reader).post(delete_url(attached), {"revision": "1"}).status_code == 403
    assert client_for(unassigned_reviewer).get(edit_url(attached)).status_code == 404
    assert snapshot() + (entries(),) == before
