"""Working offline: download the response as XLSX, upload it back, preview the
changes, confirm them. The rules live in questionnaire/offline.py; every view
loads the response through get_response_for_user."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import audit_download

from . import offline, services
from .kinds import kind_of
from .models import Response
from .permissions import get_response_for_user
from .uploads import install_size_limit

class OfflineUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Workbook filled offline (.xlsx)"),
        help_text=gettext_lazy("The workbook downloaded from this page, at most 5 MB."),
        widget=forms.FileInput(attrs={"accept": ".xlsx"}),
    )


def _editable_response(request, pk: int) -> tuple[Response, HttpResponse | None]:
    """The response, if the user may change it; a submitted one sends them back
    to its overview with a message."""
    response = get_response_for_user(request.user, pk, "view")
    if request.user.has_perm("questionnaire.change_response", response):
        return response, None
    if response.status != Response.Status.DRAFT:
        messages.error(request, _("This response has been submitted and can no longer be changed. Nothing was imported."))
        return response, redirect("questionnaire:response", pk=response.pk)
    raise PermissionDenied


@login_required
@require_GET
def offline_download(request, pk: int):
    response = get_response_for_user(request.user, pk, "view")
    audit_download(request=request, export="offline_workbook", fmt="xlsx", obj=response, state=response.state_id)
    data = offline.response_workbook(response=response)
    reply = HttpResponse(data, content_type=offline.XLSX_CONTENT_TYPE)
    reply["Content-Disposition"] = content_disposition_header(True, offline.workbook_filename(response=response))
    return reply


def _problems_context(problems: list[offline.Problem], response: Response) -> dict:
    """The problems of a refused upload, grouped by question."""
    prompts = dict(response.version.questions.values_list("code", "prompt")) if problems else {}
    general, by_code = [], {}
    for problem in problems:
        if not problem.code:
            general.append(problem.message)
            continue
        entry = by_code.setdefault(
            problem.code, {"code": problem.code, "row": problem.row, "prompt": prompts.get(problem.code, ""), "messages": []}
        )
        entry["messages"].append(problem.message)
    return {"general_problems": general, "question_problems": list(by_code.values())}


def _render_upload(request, response: Response, form, problems=None, status: int = 200, info: str = ""):
    context = {"response": response, "form": form, "info": info, "max_mb": offline.MAX_UPLOAD_BYTES // (1024 * 1024)}
    context |= _problems_context(problems or [], response)
    return render(request, "questionnaire/offline_upload.html", context, status=status)


def _render_preview(request, response: Response, plan: offline.ImportPlan, token: str, *, outdated: bool = False):
    def row(change: offline.Change) -> dict:
        labels = {c.code: c.label for c in change.question.choices.all()}
        kind = kind_of(change.question)
        return {
            "code": change.question.code,
            "prompt": change.question.prompt,
            "row": change.row,
            "current": kind.display(change.current, labels),
            "new": kind.display(change.new, labels),
            "changed_by": change.changed_by,
            "changed_at": change.changed_at,
        }

    return render(
        request,
        "questionnaire/offline_preview.html",
        {
            "response": response,
            "token": token,
            "updates": [row(c) for c in plan.updates],
            "conflicts": [row(c) for c in plan.conflicts],
            "outdated": outdated,
        },
        status=409 if outdated else 200,
    )


@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def offline_upload(request, pk: int):
    # Exempt only to install the size limit before the body is read (Django's
    # documented pattern); the view itself is CSRF-protected.
    request.offline_size_limit = install_size_limit(request, offline.MAX_UPLOAD_BYTES)
    return _offline_upload(request, pk)


@csrf_protect
def _offline_upload(request, pk: int):
    response, refusal = _editable_response(request, pk)
    if refusal is not None:
        return refusal
    if request.method != "POST":
        return _render_upload(request, response, OfflineUploadForm())
    form = OfflineUploadForm(request.POST, request.FILES)
    if request.offline_size_limit.too_big:
        return _render_upload(request, response, OfflineUploadForm(), offline.too_big().problems, status=422)
    if not form.is_valid():
        return _render_upload(request, response, form, status=422)
    try:
        data = offline.read_upload(form.cleaned_data["file"])
        plan = offline.import_preview(response=response, by=request.user, data=data)
    except offline.ImportRefused as refused:
        return _render_upload(request, response, OfflineUploadForm(), refused.problems, status=422)
    except services.ResponseLocked as exc:
        messages.error(request, str(exc))
        return redirect("questionnaire:response", pk=response.pk)
    if not plan.changes:
        return _render_upload(
            request,
            response,
            OfflineUploadForm(),
            info=_("No answer in this file differs from the answers saved online. Nothing to save."),
        )
    token = offline.pending_keep(response=response, by=request.user, data=data, plan=plan)
    return _render_preview(request, response, plan, token)


@login_required
@require_POST
def offline_confirm(request, pk: int):
    response, refusal = _editable_response(request, pk)
    if refusal is not None:
        return refusal
    try:
        pending = offline.pending_open(response=response, by=request.user, token=request.POST.get("token", ""))
    except offline.PendingExpired:
        messages.error(request, _("This upload has expired or was already used. Upload the file again. Nothing was saved."))
        return redirect("questionnaire:offline_upload", pk=response.pk)
    if request.POST.get("action") == "cancel":
        offline.pending_discard(pending=pending)
        messages.info(request, _("Import cancelled. Nothing was saved."))
        return redirect("questionnaire:response", pk=response.pk)
    try:
        plan = offline.import_preview(response=response, by=request.user, data=pending.data)
        saved = offline.import_apply(
            response=response,
            by=request.user,
            plan=plan,
            seen_revisions=pending.seen_revisions,
            overwrite=request.POST.getlist("overwrite"),
        )
    except offline.ImportRefused as refused:
        offline.pending_discard(pending=pending)
        return _render_upload(request, response, OfflineUploadForm(), refused.problems, status=422)
    except services.ResponseLocked as exc:
        offline.pending_discard(pending=pending)
        messages.error(request, str(exc))
        return redirect("questionnaire:response", pk=response.pk)
    except (offline.PlanOutdated, services.EditConflict):
        # Something changed online since the preview: show it again, save nothing.
        try:
            plan = offline.import_preview(response=response, by=request.user, data=pending.data)
        except offline.ImportRefused as refused:
            offline.pending_discard(pending=pending)
            return _render_upload(request, response, OfflineUploadForm(), refused.problems, status=422)
        token = offline.pending_token(response=response, by=request.user, name=pending.name, plan=plan)
        return _render_preview(request, response, plan, token, outdated=True)
    offline.pending_discard(pending=pending)
    count = len(saved)
    messages.success(
        request,
        ngettext("%(count)s answer saved from the file.", "%(count)s answers saved from the file.", count)
        % {"count": count},
    )
    return redirect("questionnaire:response", pk=response.pk)
