"""The history of one answer and the restoring of an earlier version. Both views
load the response through get_response_for_user, which checks access; the rules
live in questionnaire.history."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import history
from .models import Question
from .permissions import get_response_for_user
from .services import ResponseLocked

# Autosave keeps a version at every pause in typing: an answer can have hundreds.
ENTRIES_PER_PAGE = 25


def _question_of(response, code: str) -> Question:
    try:
        return history.history_question(response=response, code=code)
    except Question.DoesNotExist:
        raise Http404 from None


@login_required
@require_http_methods(["GET"])
def answer_history(request, pk: int, code: str):
    response = get_response_for_user(request.user, pk, "view")
    question = _question_of(response, code)
    entries = history.answer_history(response=response, question=question)
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "questionnaire/history.html",
        {
            "response": response,
            "question": question,
            "article": question.article,
            "page": page,
            "entries": page.object_list,
            "can_restore": request.user.has_perm("questionnaire.change_response", response),
        },
    )


@login_required
@require_http_methods(["POST"])
def answer_restore(request, pk: int, code: str, revision: int):
    response = get_response_for_user(request.user, pk, "view")
    question = _question_of(response, code)
    try:
        saved = history.answer_restore(response=response, question=question, revision=revision, by=request.user)
    except history.UnknownRevision:
        raise Http404 from None
    except ResponseLocked as exc:
        messages.error(request, str(exc))
        return redirect("questionnaire:answer_history", pk=response.pk, code=question.code)
    if saved is None:
        messages.info(request, _("Version %(n)s is already the current answer: nothing was changed.") % {"n": revision})
    else:
        messages.success(request, _("Restored version %(n)s.") % {"n": revision})
    article_url = reverse("questionnaire:article", args=[response.pk, question.article.number])
    return redirect(f"{article_url}#q-{question.code}")
