"""Answering: a State's response, article by article. Every view loads the
response through get_response_for_user, which checks access."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .forms import ArticleAnswerForm
from .kinds import kind_of
from .models import Answer, Article
from .permissions import get_response_for_user


@login_required
def response_overview(request, pk: int):
    response = get_response_for_user(request.user, pk, "view")
    progress = selectors.response_progress(response)
    return render(
        request,
        "questionnaire/response_overview.html",
        {
            "response": response,
            "progress": progress,
            "can_edit": request.user.has_perm("questionnaire.change_response", response),
            "can_submit": request.user.has_perm("questionnaire.submit_response", response),
        },
    )


def _article_of(response, number: int) -> Article:
    try:
        return Article.objects.get(version_id=response.version_id, number=number)
    except Article.DoesNotExist:
        raise Http404 from None


def _answers(response, article) -> dict[int, Answer]:
    return {
        a.question_id: a
        for a in Answer.objects.filter(response=response, question__article=article).select_related("updated_by")
    }


@login_required
@require_http_methods(["GET", "POST"])
def article_answer(request, pk: int, number: int):
    response = get_response_for_user(request.user, pk, "view")
    if request.method == "POST" and not request.user.has_perm("questionnaire.change_response", response):
        if response.status != response.Status.DRAFT:
            messages.error(request, _("This response has been submitted and can no longer be changed. Nothing was saved."))
            return redirect("questionnaire:article", pk=response.pk, number=number)
        raise PermissionDenied
    article = _article_of(response, number)
    questions = selectors.version_questions(response.version_id, article)
    answers = _answers(response, article)
    conflicts = []
    if request.method == "POST":
        form = ArticleAnswerForm(request.POST, questions=questions, answers=answers)
        unknown = form.unknown_codes()
        if unknown:
            # Plain text: the posted names are the client's and never become markup.
            return HttpResponseBadRequest(
                _("Nothing was saved: these fields are not questions of this article: %(codes)s")
                % {"codes": ", ".join(name[:100] for name in unknown[:20])},
                content_type="text/plain; charset=utf-8",
            )
        if form.is_valid():
            try:
                services.answers_save(
                    response=response,
                    by=request.user,
                    values=form.answer_values(),
                    base_revisions=form.cleaned_data["revisions"],
                )
            except services.ResponseLocked as exc:
                messages.error(request, str(exc))
                return redirect("questionnaire:response", pk=response.pk)
            except services.EditConflict as exc:
                conflicts = exc.conflicts
                # Rebuild the form on the newer revisions but keep what this person
                # typed, so that saving again deliberately keeps their version.
                answers = _answers(response, article)
                form = ArticleAnswerForm(request.POST, questions=questions, answers=answers)
                form.data = form.data.copy()
                form.data["revisions"] = form.fields["revisions"].initial
                form.is_valid()
            else:
                messages.success(
                    request,
                    _("Saved at %(time)s.") % {"time": time_format(timezone.localtime(), "H:i")},
                )
                return redirect(request.path)
        else:
            messages.error(request, _("Nothing was saved: please correct the answers marked below."))
    else:
        form = ArticleAnswerForm(questions=questions, answers=answers)

    labels = {q.pk: {c.code: c.label for c in q.choices.all()} for q in questions}
    conflict_rows = [
        {
            "question": c.question,
            "theirs": kind_of(c.question).display(c.theirs, labels[c.question.pk]),
            "yours": kind_of(c.question).display(c.yours, labels[c.question.pk]),
            "changed_by": c.changed_by,
            "changed_at": c.changed_at,
        }
        for c in conflicts
    ]
    by_id = {q.pk: q for q in questions}
    provisions = []
    for q in questions:
        if not provisions or provisions[-1]["provision"].pk != q.provision_id:
            provisions.append({"provision": q.provision, "fields": []})
        answer = answers.get(q.pk)
        target = by_id.get(q.condition_question_id)
        target_labels = labels[target.pk] if target else {}
        provisions[-1]["fields"].append(
            {
                "question": q,
                "field": form[q.code],
                "answer": answer,
                "display": kind_of(q).display(answer.value if answer else None, labels[q.pk]),
                "condition_code": target.code if target else "",
                "condition_labels": _(" or ").join(
                    str(kind_of(target).display(v, target_labels)) for v in q.condition_values
                )
                if target
                else "",
            }
        )
    articles = list(Article.objects.filter(version_id=response.version_id).order_by("order").values("number", "title"))
    return render(
        request,
        "questionnaire/article_answer.html",
        {
            "response": response,
            "article": article,
            "articles": articles,
            "form": form,
            "provisions": provisions,
            "conflicts": conflict_rows,
            "can_edit": request.user.has_perm("questionnaire.change_response", response),
        },
        status=409 if conflicts else (422 if request.method == "POST" else 200),
    )


@login_required
def response_completeness(request, pk: int):
    response = get_response_for_user(request.user, pk, "view")
    progress = selectors.response_progress(response)
    return render(request, "questionnaire/completeness.html", {"response": response, "progress": progress})


@login_required
@require_http_methods(["GET", "POST"])
def response_submit(request, pk: int):
    response = get_response_for_user(request.user, pk, "view")
    if not request.user.has_perm("questionnaire.submit_response", response):
        if response.status != response.Status.DRAFT:
            messages.info(request, _("This response has already been submitted."))
            return redirect("questionnaire:submitted", pk=response.pk)
        raise PermissionDenied
    progress = selectors.response_progress(response)
    if request.method == "POST":
        try:
            services.response_submit(response=response, by=request.user)
        except services.Incomplete:
            messages.error(request, _("The response cannot be submitted yet: some required answers are missing."))
            return redirect("questionnaire:completeness", pk=response.pk)
        except services.ResponseLocked as exc:
            messages.info(request, str(exc))
        else:
            messages.success(request, _("Your response has been submitted. It can no longer be changed."))
        return redirect("questionnaire:submitted", pk=response.pk)
    return render(request, "questionnaire/submit_confirm.html", {"response": response, "progress": progress})


@login_required
def response_submitted(request, pk: int):
    response = get_response_for_user(request.user, pk, "view")
    snapshot = getattr(response, "snapshot", None) if response.status == response.Status.SUBMITTED else None
    if snapshot is None:
        messages.info(request, _("This response has not been submitted yet."))
        return redirect(reverse("questionnaire:response", kwargs={"pk": response.pk}))
    return render(request, "questionnaire/submitted.html", {"response": response, "snapshot": snapshot})
