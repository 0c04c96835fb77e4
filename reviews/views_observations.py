"""The list of observations, the summary and the final documents of a review.

One page (``observations``) shows everything, with the forms each person may
use; each action is a POST to its own view, which calls one service and comes
back to the page with a message. Observers read the page and the documents and
may do nothing else (403 on every POST)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditEvent
from audit.services import audit_download
from questionnaire.history import text_diff
from questionnaire.models import Article

from . import services_observations as services
from .forms_dialogue import ObservationEditForm, ObservationForm, SummaryForm
from .models import (
    FinalDocument,
    Observation,
    ObservationAgreement,
    ObservationComment,
    Summary,
    SummaryClearance,
    SummaryComment,
)
from .permissions import get_final_document_for_user, get_observation_for_user, get_review_for_user
from .services import ReviewError


def _page(review) -> str:
    return reverse("reviews:observations", args=[review.pk])


def _articles(review):
    return list(Article.objects.filter(version_id=review.response.version_id).order_by("order"))


@login_required
def observations(request, pk: int):
    review = get_review_for_user(request.user, pk, "reviews.read_answers")
    user = request.user
    articles = _articles(review)
    items = list(
        Observation.objects.filter(review=review)
        .select_related("created_by", "updated_by")
        .prefetch_related(
            Prefetch("comments", queryset=ObservationComment.objects.select_related("author", "author_state")),
            Prefetch("agreements", queryset=ObservationAgreement.objects.select_related("state", "by")),
        )
    )
    by_article = {a.pk: [] for a in articles}
    for o in items:
        by_article.setdefault(o.article_id, []).append(o)
    summary = (
        Summary.objects.filter(review=review)
        .select_related("finalized_by")
        .prefetch_related(
            Prefetch("comments", queryset=SummaryComment.objects.select_related("author", "author_state")),
            Prefetch("clearances", queryset=SummaryClearance.objects.select_related("state", "by")),
        )
        .first()
    )
    my_state = services.speaks_for(user, review)
    can_draft = user.has_perm("reviews.draft_observations", review)
    missing = []
    if summary is None:
        missing = services.observations_agreement_missing(review)
        if not missing and review.status != review.Status.AGREED:
            missing = [_("Then the review is recorded as agreed, on the review's page.")]
    return render(
        request,
        "reviews/observations.html",
        {
            "review": review,
            "sections": [(a, by_article.get(a.pk, [])) for a in articles],
            "count": len(items),
            "summary": summary,
            "my_state": my_state,
            "can_draft": can_draft,
            "can_comment": user.has_perm("reviews.comment_observations", review),
            "can_agree": my_state is not None and user.has_perm("reviews.agree", review),
            "can_finalize": user.has_perm("reviews.finalize", review),
            "can_build": user.has_perm("reviews.run_jobs"),
            "list_open": summary is None,
            "summary_blockers": missing,
            "observation_form": ObservationForm(articles=articles),
            "summary_form": SummaryForm(
                initial={"text": summary.text if summary else (services.summary_outline(review) if not missing else "")}
            ),
            "documents": list(FinalDocument.objects.filter(review=review).order_by("-version", "kind", "format")),
            "kinds": Observation.Kind.choices,
        },
    )


def _refusal(request, exc: ReviewError) -> None:
    messages.error(request, str(exc))


@login_required
@require_POST
def observation_create(request, pk: int):
    review = get_review_for_user(request.user, pk, "reviews.draft_observations")
    articles = _articles(review)
    form = ObservationForm(request.POST, articles=articles)
    if not form.is_valid():
        messages.error(request, _("The observation was not saved: %(errors)s") % {"errors": form.errors.as_text()})
        return redirect(_page(review))
    article = next(a for a in articles if a.number == form.cleaned_data["article"])
    try:
        observation = services.observation_create(
            review=review,
            article=article,
            kind=form.cleaned_data["kind"],
            text=form.cleaned_data["text"],
            ta_category=form.cleaned_data["ta_category"],
            ta_priority=form.cleaned_data["ta_priority"],
            by=request.user,
        )
    except ReviewError as exc:
        _refusal(request, exc)
        return redirect(_page(review))
    messages.success(request, _("The observation is saved as a draft; the three States can now agree on it."))
    return redirect(f"{_page(review)}#observation-{observation.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def observation_edit(request, pk: int):
    observation = get_observation_for_user(request.user, pk, "reviews.draft_observations")
    review = observation.review
    initial = {
        "kind": observation.kind,
        "text": observation.text,
        "ta_category": observation.ta_category,
        "ta_priority": observation.ta_priority,
    }
    form = ObservationEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.observation_update(observation=observation, by=request.user, **form.cleaned_data)
            except ReviewError as exc:
                _refusal(request, exc)
                return redirect(f"{_page(review)}#observation-{observation.pk}")
            messages.success(request, _("The observation is changed; the agreements given on the earlier text are withdrawn."))
            return redirect(f"{_page(review)}#observation-{observation.pk}")
        status = 422
    elif observation.status == Observation.Status.AGREED:
        messages.error(request, _("This observation is agreed by the three States: it can no longer be edited."))
        return redirect(f"{_page(review)}#observation-{observation.pk}")
    return render(
        request, "reviews/observation_edit.html", {"review": review, "observation": observation, "form": form}, status=status
    )


@login_required
@require_POST
def observation_comment(request, pk: int):
    observation = get_observation_for_user(request.user, pk, "reviews.comment_observations")
    try:
        services.observation_comment(observation=observation, body=request.POST.get("body", ""), by=request.user)
    except ReviewError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("Your comment is posted."))
    return redirect(f"{_page(observation.review)}#observation-{observation.pk}")


@login_required
@require_POST
def observation_agree(request, pk: int):
    observation = get_observation_for_user(request.user, pk, "reviews.agree")
    try:
        updated = services.observation_agree(observation=observation, by=request.user)
    except ReviewError as exc:
        _refusal(request, exc)
    else:
        if updated.status == Observation.Status.AGREED:
            messages.success(request, _("The three States agree: the observation is agreed."))
        else:
            messages.success(request, _("Your State's agreement is recorded."))
    return redirect(f"{_page(observation.review)}#observation-{observation.pk}")


@login_required
def observation_history(request, pk: int):
    """Every saved text of an observation, with what each change did."""
    observation = get_observation_for_user(request.user, pk, "reviews.read_answers")
    rows = list(observation.history.select_related("history_user").order_by("history_date", "history_id"))
    entries, previous = [], None
    for row in rows:
        entries.append(
            {
                "row": row,
                "who": (row.history_user.get_full_name() or row.history_user.username) if row.history_user else "—",
                "diff": text_diff(previous or "", row.text) if previous is not None else None,
            }
        )
        previous = row.text
    entries.reverse()
    return render(
        request, "reviews/observation_history.html", {"review": observation.review, "observation": observation, "entries": entries}
    )


# --- The summary ----------------------------------------------------------------------


def _summary_of(review) -> Summary:
    summary = Summary.objects.filter(review=review).first()
    if summary is None:
        raise Http404
    summary.review = review
    return summary


@login_required
@require_POST
def summary_save(request, pk: int):
    review = get_review_for_user(request.user, pk, "reviews.draft_observations")
    form = SummaryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The summary was not saved: %(errors)s") % {"errors": form.errors.as_text()})
    else:
        try:
            services.summary_save(review=review, text=form.cleaned_data["text"], by=request.user)
        except ReviewError as exc:
            _refusal(request, exc)
        else:
            messages.success(request, _("The summary is saved; each State can now clear it."))
    return redirect(f"{_page(review)}#summary")


@login_required
@require_POST
def summary_comment(request, pk: int):
    review = get_review_for_user(request.user, pk, "reviews.comment_observations")
    summary = _summary_of(review)
    try:
        services.summary_comment(summary=summary, body=request.POST.get("body", ""), by=request.user)
    except ReviewError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("Your comment is posted."))
    return redirect(f"{_page(review)}#summary")


@login_required
@require_POST
def summary_clear(request, pk: int):
    review = get_review_for_user(request.user, pk, "reviews.agree")
    summary = _summary_of(review)
    try:
        updated = services.summary_clear(summary=summary, by=request.user)
    except ReviewError as exc:
        _refusal(request, exc)
    else:
        if updated.status == Summary.Status.CLEARED:
            messages.success(request, _("The three States cleared the summary; the secretariat can finalize it."))
        else:
            messages.success(request, _("Your State's clearance is recorded."))
    return redirect(f"{_page(review)}#summary")


@login_required
@require_POST
def summary_finalize(request, pk: int):
    review = get_review_for_user(request.user, pk, "reviews.finalize")
    summary = _summary_of(review)
    try:
        services.summary_finalize(summary=summary, by=request.user)
    except ReviewError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("The summary and the review are finalized."))
    return redirect(f"{_page(review)}#summary")


# --- Final documents --------------------------------------------------------------------


@login_required
@require_POST
def final_documents_build(request, pk: int):
    review = get_review_for_user(request.user, pk, "reviews.read_answers")
    try:
        result = services.final_documents_request(review=review, by=request.user)
    except ReviewError as exc:
        _refusal(request, exc)
        return redirect(f"{_page(review)}#documents")
    if not result.created:
        messages.info(request, _("This job was already queued; here it is."))
    return redirect("reviews:job", pk=result.job.pk)


@login_required
def final_document(request, pk: int):
    document = get_final_document_for_user(request.user, pk)
    audit_download(request=request, event=AuditEvent.Event.DOCUMENT_VIEWED, export=f"final_{document.kind}",
                   fmt=document.format, obj=document, state=document.review.state_id, review=document.review_id,
                   version=document.version)
    return FileResponse(document.file.open("rb"), as_attachment=True, filename=document.filename)
