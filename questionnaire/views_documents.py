"""Downloads of a response as a document for internal clearance (PDF or Word).
The documents are built by questionnaire.documents; these views load the response
through get_response_for_user (404 for anyone who may not see it) and send it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from audit.services import audit_download

from . import documents
from .permissions import get_response_for_user


def _attachment(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    # Confidential answers: no browser or shared cache keeps a copy.
    add_never_cache_headers(response)
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_GET
def document_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    response = get_response_for_user(request.user, pk, "view")
    audit_download(request=request, export="response_document", fmt="pdf", obj=response, state=response.state_id)
    return _attachment(
        documents.response_pdf(response=response),
        filename=documents.document_filename(response=response, ext="pdf"),
        content_type=documents.PDF_CONTENT_TYPE,
    )


@login_required
@require_GET
def document_docx(request: HttpRequest, pk: int) -> HttpResponse:
    response = get_response_for_user(request.user, pk, "view")
    audit_download(request=request, export="response_document", fmt="docx", obj=response, state=response.state_id)
    return _attachment(
        documents.response_docx(response=response),
        filename=documents.document_filename(response=response, ext="docx"),
        content_type=documents.DOCX_CONTENT_TYPE,
    )
