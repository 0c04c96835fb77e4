"""Evidence pages: a State's library (list, upload, cite, edit and delete an
entry), the answer's evidence (attach, detach) and the one view that serves
evidence files.

Views load everything through access-checking helpers (404 for outsiders, 403 for
a visible response that may not be changed) and leave the rules to
``questionnaire.evidence``. Uploads are limited to 20 MB while the request is
read: a bigger file is skipped by an upload handler instead of being spooled to
disk, and a request that announces more than the limit is refused unread."""

from __future__ import annotations

import functools

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import AuditEvent
from audit.services import audit_download

from . import evidence as ev
from .models import Question, Response
from .models_evidence import Evidence
from .permissions import answers_for_state, get_response_for_user
from .uploads import install_size_limit

# Room for the other fields and the multipart framing around one file.
REQUEST_OVERHEAD = 1024 * 1024


# --- Upload limits ------------------------------------------------------------------


def upload_limited(view):
    """Install the size limit before the request body is read. The CSRF check
    reads the body, so it is done here, after the handler is in place (Django's
    documented pattern: csrf_exempt outside, csrf_protect inside)."""
    protected = csrf_protect(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > ev.MAX_FILE_SIZE + REQUEST_OVERHEAD:
                # Refused unread: nothing of the body is parsed or stored.
                return render(
                    request,
                    "questionnaire/evidence_too_large.html",
                    {"limit": ev.MAX_FILE_SIZE // ev.MB, "back": request.path},
                    status=413,
                )
            request.evidence_size_limit = install_size_limit(request, ev.MAX_FILE_SIZE)
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)


def _too_big(request, field_name: str) -> bool:
    handler = getattr(request, "evidence_size_limit", None)
    return bool(handler and field_name in handler.too_big)


# --- Forms --------------------------------------------------------------------------

ISO_DATE = ["%Y-%m-%d"]
link_validator = URLValidator(
    schemes=["http", "https"],
    message=gettext_lazy("Enter a web address that starts with http:// or https://."),
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class UploadForm(forms.Form):
    file = forms.FileField(
        label=pgettext_lazy("document to upload", "File"),
        help_text=gettext_lazy("PDF, Word (DOCX), OpenDocument text (ODT), PNG or JPEG; at most 20 MB."),
        widget=forms.FileInput(attrs={"accept": ".pdf,.docx,.odt,.png,.jpg,.jpeg"}),
    )
    title = forms.CharField(
        label=pgettext_lazy("evidence entry", "Title"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("For example the name of the law. Leave empty to use the file name."),
    )
    article = forms.CharField(label=gettext_lazy("Article or section"), required=False, max_length=200)
    date = forms.DateField(
        label=pgettext_lazy("date of a law or document", "Date"),
        required=False,
        input_formats=ISO_DATE,
        widget=DateInput(),
        help_text=gettext_lazy("Optional, as YYYY-MM-DD."),
    )

    def __init__(self, *args, too_big: bool = False, **kwargs):
        self.too_big = too_big
        super().__init__(*args, **kwargs)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > ev.MAX_FILE_SIZE:
            raise ValidationError(_too_big_text())
        return upload

    def clean(self):
        if self.too_big:
            # The handler skipped the file: say why rather than "this field is required".
            self.errors.pop("file", None)
            self.add_error("file", _too_big_text())
        return super().clean()


def _too_big_text() -> str:
    return _("The file is larger than %(limit)s MB, the largest accepted. Nothing was stored.") % {
        "limit": ev.MAX_FILE_SIZE // ev.MB
    }


class CitationForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title of the law"), max_length=500)
    article = forms.CharField(label=gettext_lazy("Article or section"), required=False, max_length=200)
    date = forms.DateField(
        label=pgettext_lazy("date of a law or document", "Date"),
        required=False,
        input_formats=ISO_DATE,
        widget=DateInput(),
        help_text=gettext_lazy("Optional, as YYYY-MM-DD."),
    )
    link = forms.CharField(
        label=pgettext_lazy("web address", "Link"),
        required=False,
        max_length=500,
        validators=[link_validator],
        widget=forms.URLInput(),
        help_text=gettext_lazy("Optional: a web address starting with http:// or https://."),
    )

    def citation(self) -> ev.CitationData:
        data = self.cleaned_data
        return ev.CitationData(title=data["title"], article=data["article"], date=data["date"], link=data["link"])


class ExistingForm(forms.Form):
    evidence = forms.ModelChoiceField(
        label=gettext_lazy("Evidence from your State's library"),
        queryset=Evidence.objects.none(),
        empty_label=gettext_lazy("— choose —"),
    )

    def __init__(self, *args, state, exclude=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence"].queryset = Evidence.objects.filter(state=state).exclude(pk__in=list(exclude)).order_by(
            "title", "pk"
        )


class EditForm(forms.Form):
    """The descriptive fields of a library entry (a file's content never changes);
    ``revision`` is the one the editor started from."""

    title = forms.CharField(label=pgettext_lazy("evidence entry", "Title"), max_length=500)
    article = forms.CharField(label=gettext_lazy("Article or section"), required=False, max_length=200)
    date = forms.DateField(
        label=pgettext_lazy("date of a law or document", "Date"),
        required=False,
        input_formats=ISO_DATE,
        widget=DateInput(),
        help_text=gettext_lazy("Optional, as YYYY-MM-DD."),
        error_messages={"invalid": gettext_lazy("Enter a date as YYYY-MM-DD, for example 2020-01-31.")},
    )
    link = forms.CharField(
        label=pgettext_lazy("web address", "Link"),
        required=False,
        max_length=500,
        validators=[link_validator],
        widget=forms.URLInput(),
        help_text=gettext_lazy("Optional: a web address starting with http:// or https://."),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        max_length=ev.MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Optional: what the document or law is, which version, where it was published."),
    )
    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, evidence: Evidence, **kwargs):
        kwargs.setdefault(
            "initial",
            {name: getattr(evidence, name) for name in ev.EDITABLE_FIELDS} | {"revision": evidence.revision},
        )
        super().__init__(*args, **kwargs)
        if evidence.is_file:
            # A file's entry has no link of its own to edit.
            del self.fields["link"]

    def clean(self):
        cleaned = super().clean()
        if "revision" in self.errors:
            # A hidden field shows no error of its own: say it where it is seen.
            self.add_error(None, _("The form is incomplete: open the page again."))
        return cleaned

    def changes(self) -> ev.EvidenceChanges:
        data = self.cleaned_data
        return ev.EvidenceChanges(
            title=data["title"],
            article=data["article"],
            date=data["date"],
            link=data.get("link", ""),
            description=data["description"],
        )


def _forms(request, state, *, action: str | None, exclude=()):
    """(upload, cite, existing) forms, bound for the one that was posted."""
    bound = request.method == "POST"
    upload = (
        UploadForm(request.POST, request.FILES, prefix="upload", too_big=_too_big(request, "upload-file"))
        if bound and action == "upload"
        else UploadForm(prefix="upload")
    )
    cite = CitationForm(request.POST, prefix="cite") if bound and action == "cite" else CitationForm(prefix="cite")
    existing = (
        ExistingForm(request.POST, prefix="existing", state=state, exclude=exclude)
        if bound and action == "existing"
        else ExistingForm(prefix="existing", state=state, exclude=exclude)
    )
    return upload, cite, existing


def _stored_message(request, stored: ev.Stored) -> None:
    evidence = stored.evidence
    if stored.created:
        messages.success(request, _("“%(title)s” was added to your State's library.") % {"title": evidence.title})
        kind = ev.FILE_KINDS.get(evidence.file_type) if evidence.is_file else None
        name = evidence.original_name
        if kind is not None and name.rpartition(".")[2].lower() not in kind.extensions:
            # The type is taken from the content, never from the name: say so, or the
            # file would come back with another extension than the one sent.
            messages.info(
                request,
                _("“%(name)s” is in fact a %(type)s, whatever its name says: it is kept and served as such.")
                % {"name": name, "type": kind.label},
            )
    elif evidence.is_file:
        messages.info(
            request,
            _("This file is already in your State's library as “%(title)s” (added on %(date)s); it was not stored again.")
            % {"title": evidence.title, "date": date_format(evidence.created_at, "DATE_FORMAT")},
        )
    else:
        messages.info(
            request, _("This law is already cited in your State's library as “%(title)s”.") % {"title": evidence.title}
        )


# --- The library ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@upload_limited
def evidence_library(request: HttpRequest, iso3: str) -> HttpResponse:
    state = ev.get_library_state_for_user(request.user, iso3)
    action = request.POST.get("action") if request.method == "POST" else None
    if action not in (None, "upload", "cite"):
        return HttpResponseBadRequest(_("Unknown action."), content_type="text/plain; charset=utf-8")
    upload_form, cite_form, _existing = _forms(request, state, action=action)
    if action == "upload" and upload_form.is_valid():
        data = upload_form.cleaned_data
        try:
            stored = ev.evidence_upload(
                state=state, upload=data["file"], by=request.user, title=data["title"], article=data["article"], date=data["date"]
            )
        except ev.EvidenceRefused as exc:
            upload_form.add_error("file", str(exc))
        else:
            _stored_message(request, stored)
            return redirect("questionnaire:evidence_library", iso3=state.iso3)
    elif action == "cite" and cite_form.is_valid():
        try:
            stored = ev.evidence_cite(state=state, citation=cite_form.citation(), by=request.user)
        except ev.EvidenceRefused as exc:
            cite_form.add_error(None, str(exc))
        else:
            _stored_message(request, stored)
            return redirect("questionnaire:evidence_library", iso3=state.iso3)
    if action:
        messages.error(request, _("Nothing was added: please correct the form marked below."))
    return render(
        request,
        "questionnaire/evidence_library.html",
        {
            "state": state,
            "library": ev.state_library(state=state),
            "upload_form": upload_form,
            "cite_form": cite_form,
            "action": action,
            "max_mb": ev.MAX_FILE_SIZE // ev.MB,
        },
        status=422 if action else 200,
    )


def _entry_for_editing(request, pk: int) -> Evidence:
    """The entry, for its State's answering people: 404 for anyone who may not
    even read it (another State's people, a forged id), 403 for those who read it
    but do not manage the library (the secretariat, reviewers)."""
    evidence = ev.get_evidence_for_user(request.user, pk)
    if not ev.can_manage_library(request.user, evidence.state_id):
        raise PermissionDenied
    return evidence


def _to_library(evidence: Evidence) -> HttpResponse:
    return redirect("questionnaire:evidence_library", iso3=evidence.state.iso3)


def _refused_frozen(request, evidence: Evidence, message: str) -> HttpResponse:
    messages.error(request, message)
    return _to_library(evidence)


@login_required
@require_http_methods(["GET", "POST"])
def evidence_edit(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = _entry_for_editing(request, pk)
    frozen = ev.frozen_by(evidence=evidence)
    if frozen:
        return _refused_frozen(request, evidence, ev.frozen_message(evidence, frozen))
    form = EditForm(request.POST or None, evidence=evidence)
    current = None
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                ev.evidence_update(
                    evidence=evidence, by=request.user, changes=form.changes(), base_revision=form.cleaned_data["revision"]
                )
            except ev.EvidenceFrozen as exc:
                return _refused_frozen(request, evidence, str(exc))
            except ev.EvidenceStale as exc:
                # Both texts shown; saving again (from the newer revision) replaces it deliberately.
                current, status = exc.current, 409
                data = request.POST.copy()
                data["revision"] = str(current.revision)
                form = EditForm(data, evidence=current)
                form.is_valid()
                messages.error(request, str(exc))
            except ev.EvidenceRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("“%(title)s” is saved; every answer using it shows the new text.") % {
                    "title": form.cleaned_data["title"]
                })
                return _to_library(evidence)
        if status == 422:
            messages.error(request, _("Nothing was saved: please correct the form marked below."))
    return render(
        request,
        "questionnaire/evidence_edit.html",
        {"evidence": evidence, "form": form, "current": current, "uses": ev.evidence_uses(evidence=evidence)},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def evidence_delete(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = _entry_for_editing(request, pk)
    frozen = ev.frozen_by(evidence=evidence)
    if frozen:
        return _refused_frozen(request, evidence, ev.frozen_message(evidence, frozen))
    if request.method == "POST":
        try:
            revision = int(request.POST.get("revision", ""))
        except ValueError:
            return HttpResponseBadRequest(_("The form is incomplete: open the page again."), content_type="text/plain; charset=utf-8")
        try:
            deleted = ev.evidence_delete(evidence=evidence, by=request.user, base_revision=revision)
        except ev.EvidenceFrozen as exc:
            return _refused_frozen(request, evidence, str(exc))
        except ev.EvidenceStale as exc:
            # Edited since the confirmation page was shown: confirm what it is now.
            messages.error(request, str(exc))
            return redirect("questionnaire:evidence_delete", pk=evidence.pk)
        except ev.EvidenceRefused as exc:  # deleted meanwhile by someone else
            messages.error(request, str(exc))
            return _to_library(evidence)
        messages.success(
            request,
            ngettext(
                "“%(title)s” was deleted from your State's library and detached from %(n)s answer.",
                "“%(title)s” was deleted from your State's library and detached from %(n)s answers.",
                deleted.detached,
            )
            % {"title": deleted.title, "n": deleted.detached},
        )
        return _to_library(evidence)
    return render(
        request, "questionnaire/evidence_delete.html", {"evidence": evidence, "uses": ev.evidence_uses(evidence=evidence)}
    )


# --- Serving a file -----------------------------------------------------------------


@login_required
@require_GET
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = ev.get_evidence_for_user(request.user, pk)
    if not evidence.is_file:
        raise Http404
    kind = ev.file_kind(evidence)
    audit_download(request=request, event=AuditEvent.Event.DOCUMENT_VIEWED, export="evidence_file",
                   fmt=kind.extensions[0], obj=evidence, state=evidence.state_id)
    response = FileResponse(ev.open_evidence_file(evidence), content_type=kind.content_type)
    response["Content-Disposition"] = ev.content_disposition(
        ev.download_name(evidence), fallback=f"evidence-{evidence.pk}.{kind.extensions[0]}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Nothing a browser could run, even if opened in place.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    add_never_cache_headers(response)
    patch_cache_control(response, no_store=True, private=True)
    return response


# --- An answer's evidence -------------------------------------------------------------


def _question_of(response: Response, code: str) -> Question:
    question = Question.objects.select_related("article").filter(version_id=response.version_id, code=code).first()
    if question is None:
        raise Http404
    return question


def _article_url(response: Response, question: Question) -> str:
    return reverse("questionnaire:article", args=[response.pk, question.article.number]) + f"#q-{question.code}"


def _frozen(request, response: Response, question: Question) -> HttpResponse:
    """A change asked of a submitted response: back to the answer, nothing changed
    (the State's people); a plain refusal for anyone else who may see it."""
    if not answers_for_state(request.user, response):
        raise PermissionDenied
    messages.error(request, _("This response has been submitted: its evidence can no longer be changed. Nothing was changed."))
    return redirect(_article_url(response, question))


@login_required
@require_http_methods(["GET", "POST"])
@upload_limited
def evidence_attach(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    response = get_response_for_user(request.user, pk, "view")
    question = _question_of(response, code)
    if not request.user.has_perm("questionnaire.change_response", response):
        if response.status != Response.Status.DRAFT:
            return _frozen(request, response, question)
        raise PermissionDenied
    panel = ev.answer_evidence(response=response, questions=[question])[question.pk]
    action = request.POST.get("action") if request.method == "POST" else None
    if action not in (None, "existing", "upload", "cite"):
        return HttpResponseBadRequest(_("Unknown action."), content_type="text/plain; charset=utf-8")
    attached_ids = [e.pk for e in panel.evidence]
    upload_form, cite_form, existing_form = _forms(request, response.state, action=action, exclude=attached_ids)
    form = {"upload": upload_form, "cite": cite_form, "existing": existing_form}.get(action)
    if form is not None and form.is_valid():
        data = form.cleaned_data
        kwargs = {
            "existing": {"evidence": data.get("evidence")},
            "upload": {"upload": data.get("file"), "title": data.get("title", "")},
            "cite": {"citation": cite_form.citation() if action == "cite" else None},
        }[action]
        try:
            result = ev.answer_evidence_add(response=response, question=question, by=request.user, **kwargs)
        except ev.EvidenceRefused as exc:
            form.add_error("file" if action == "upload" else None, str(exc))
        except ev.ResponseLocked:
            return _frozen(request, response, question)
        else:
            if action != "existing":
                _stored_message(request, ev.Stored(evidence=result.evidence, created=result.stored))
            if result.attached:
                messages.success(
                    request,
                    _("“%(title)s” is attached to the answer %(code)s.") % {"title": result.evidence.title, "code": question.code},
                )
            else:
                messages.info(
                    request,
                    _("“%(title)s” was already attached to the answer %(code)s.")
                    % {"title": result.evidence.title, "code": question.code},
                )
            return redirect(_article_url(response, question))
    if action:
        messages.error(request, _("Nothing was attached: please correct the form marked below."))
    return render(
        request,
        "questionnaire/evidence_answer.html",
        {
            "response": response,
            "question": question,
            "panel": panel,
            "upload_form": upload_form,
            "cite_form": cite_form,
            "existing_form": existing_form,
            "action": action,
            "can_edit": True,
            "max_mb": ev.MAX_FILE_SIZE // ev.MB,
        },
        status=422 if action else 200,
    )


@login_required
@require_http_methods(["POST"])
def evidence_detach(request: HttpRequest, pk: int, code: str, evidence: int) -> HttpResponse:
    response = get_response_for_user(request.user, pk, "view")
    question = _question_of(response, code)
    item = ev.get_evidence_for_user(request.user, evidence, state=response.state)
    if not request.user.has_perm("questionnaire.change_response", response):
        if response.status != Response.Status.DRAFT:
            return _frozen(request, response, question)
        raise PermissionDenied
    try:
        removed = ev.answer_evidence_remove(response=response, question=question, evidence=item, by=request.user)
    except ev.ResponseLocked:
        return _frozen(request, response, question)
    if removed:
        messages.success(
            request,
            _("“%(title)s” is no longer attached to the answer %(code)s; it stays in your State's library.")
            % {"title": item.title, "code": question.code},
        )
    else:
        messages.info(request, _("“%(title)s” was not attached to this answer.") % {"title": item.title})
    return redirect("questionnaire:evidence_attach", pk=response.pk, code=question.code)
