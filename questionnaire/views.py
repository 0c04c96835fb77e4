"""Answering: a State's response, article by article. Every view loads the
response through get_response_for_user, which checks access."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from . import answer_page, page_frame, selectors, services
from .forms import ArticleAnswerForm
from .kinds import kind_of
from .models import Article, ArticleAssignment
from .permissions import get_response_for_user
from .presence import presence_others, presence_others_in, presence_touch
from .recommendations import all_recommendations


@login_required
def response_overview(request, pk: int):
    response = get_response_for_user(request.user, pk, "view")
    progress = selectors.response_progress(response)
    can_edit = request.user.has_perm("questionnaire.change_response", response)
    can_submit = request.user.has_perm("questionnaire.submit_response", response)
    assignments = selectors.assignments_by_article(response)
    rows = [
        {
            "progress": article,
            "assignments": assignments.get(article.article_id, []),
            "mine": any(a.assignee_id == request.user.pk for a in assignments.get(article.article_id, [])),
        }
        for article in progress.articles
    ]
    # A contributor's own articles come first.
    rows.sort(key=lambda row: not row["mine"])
    return render(
        request,
        "questionnaire/response_overview.html",
        {
            "response": response,
            "progress": progress,
            "rows": rows,
            "can_edit": can_edit,
            "can_submit": can_submit,
            # The focal point assigns while the response is a draft.
            "people": selectors.answering_people(response.state_id) if can_submit else [],
            "previous": selectors.previous_response(response) if can_edit else None,
        },
    )


@login_required
@require_http_methods(["POST"])
def response_carry_over(request, pk: int):
    response = get_response_for_user(request.user, pk, "change")
    count = services.response_carry_over(response=response, by=request.user)
    if count:
        messages.success(
            request,
            _("%(count)s answers were carried over from the previous version. Please confirm each of them.")
            % {"count": count},
        )
    else:
        messages.info(request, _("There was nothing to carry over."))
    return redirect("questionnaire:response", pk=response.pk)


@login_required
@require_http_methods(["POST"])
def article_assign(request, pk: int):
    response = get_response_for_user(request.user, pk, "submit")
    try:
        article = Article.objects.get(version_id=response.version_id, number=int(request.POST.get("article", "")))
        assignee = next(p for p in selectors.answering_people(response.state_id) if str(p.pk) == request.POST.get("assignee"))
    except (Article.DoesNotExist, ValueError, StopIteration):
        messages.error(request, _("Choose an article and a person of your State."))
    else:
        try:
            services.article_assign(response=response, article=article, assignee=assignee, by=request.user)
        except services.AssignmentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("%(name)s is asked to draft article %(number)s.")
                % {"name": assignee.get_full_name() or assignee.username, "number": article.number},
            )
    return redirect("questionnaire:response", pk=response.pk)


@login_required
@require_http_methods(["POST"])
def article_unassign(request, pk: int, assignment: int):
    response = get_response_for_user(request.user, pk, "submit")
    item = get_object_or_404(ArticleAssignment, pk=assignment, response=response)
    services.article_unassign(assignment=item, by=request.user)
    messages.success(request, _("The assignment is removed."))
    return redirect("questionnaire:response", pk=response.pk)


@login_required
@require_http_methods(["GET", "POST"])
def article_answer(request, pk: int, number: int):
    """The answering page of one article."""
    response = get_response_for_user(request.user, pk, "view")
    article = next((a for a in answer_page.version_articles(response.version_id) if a.number == number), None)
    if article is None:
        raise Http404
    return _answering_page(request, response, article)


@login_required
@require_http_methods(["GET", "POST"])
def cluster_answer(request, pk: int):
    """The whole cluster on one page: every article's questions, the same blocks,
    autosave and whole-page save as the article pages."""
    response = get_response_for_user(request.user, pk, "view")
    return _answering_page(request, response, None)


def _answering_page(request, response, article):
    page_url = (
        reverse("questionnaire:article", args=[response.pk, article.number])
        if article
        else reverse("questionnaire:cluster", args=[response.pk])
    )
    can_edit = request.user.has_perm("questionnaire.change_response", response)
    if request.method == "POST" and not can_edit:
        if response.status != response.Status.DRAFT:
            messages.error(request, _("This response has been submitted and can no longer be changed. Nothing was saved."))
            return redirect(page_url)
        raise PermissionDenied
    articles = answer_page.version_articles(response.version_id)
    questions = answer_page.page_questions(response.version_id, article)
    answers = None  # a GET reads only the answers whose blocks are not in the cache
    conflicts = []
    bound = None
    if request.method == "POST":
        # Validating the posted page needs no stored answers (the service reads and
        # locks them); they are read only if the page is shown again.
        bound = ArticleAnswerForm.for_validation(request.POST, questions=questions)
        unknown = bound.unknown_codes()
        if unknown:
            # Plain text: the posted names are the client's and never become markup.
            return HttpResponseBadRequest(
                _("Nothing was saved: these fields are not questions of this page: %(codes)s")
                % {"codes": ", ".join(name[:100] for name in unknown[:20])},
                content_type="text/plain; charset=utf-8",
            )
        if bound.is_valid():
            try:
                # The page posts every answer it shows: an answer someone else saved
                # meanwhile that comes back as this person first saw it was not
                # touched here, and keeps its newer value (keep_untouched).
                outcome = services.answers_save_detailed(
                    response=response,
                    by=request.user,
                    values=bound.answer_values(),
                    base_revisions=bound.cleaned_data["revisions"],
                    keep_untouched=True,
                    confirmed=bound.confirmed_questions(),
                )
            except services.ResponseLocked as exc:
                messages.error(request, str(exc))
                return redirect("questionnaire:response", pk=response.pk)
            except services.EditConflict as exc:
                conflicts = exc.conflicts
                # Rebuild the form on the newer revisions but keep what this person
                # typed, so that saving again deliberately keeps their version; the
                # answers they did not touch show the newer values, so that saving
                # again cannot put back the old ones.
                answers = answer_page.page_answers(response, questions)
                bound = ArticleAnswerForm(
                    request.POST, questions=questions, answers=answers, stored_codes=frozenset(q.code for q in exc.kept)
                )
                bound.data = bound.data.copy()
                bound.data["revisions"] = bound.fields["revisions"].initial
                bound.is_valid()
            else:
                messages.success(
                    request,
                    _("Saved at %(time)s.") % {"time": time_format(timezone.localtime(), "H:i")},
                )
                if outcome.kept:
                    messages.info(
                        request,
                        ngettext(
                            "%(count)d answer that you did not change had been changed by someone else meanwhile: "
                            "their version is kept.",
                            "%(count)d answers that you did not change had been changed by someone else meanwhile: "
                            "their versions are kept.",
                            len(outcome.kept),
                        )
                        % {"count": len(outcome.kept)},
                    )
                return redirect(page_url)
        else:
            messages.error(request, _("Nothing was saved: please correct the answers marked below."))
            answers = answer_page.page_answers(response, questions)
            bound = ArticleAnswerForm(request.POST, questions=questions, answers=answers)
            bound.is_valid()
    blocks = answer_page.render_blocks(
        request=request,
        response=response,
        questions=questions,
        answers=answers,
        can_edit=can_edit,
        bound_form=bound,
        whole_cluster=article is None,
    )
    conflict_rows = []
    for c in conflicts:
        labels = {choice.code: choice.label for choice in c.question.choices.all()}
        conflict_rows.append(
            {
                "question": c.question,
                "theirs": kind_of(c.question).display(c.theirs, labels),
                "yours": kind_of(c.question).display(c.yours, labels),
                "changed_by": c.changed_by,
                "changed_at": c.changed_at,
            }
        )
    others = []
    if can_edit and article is not None:
        # On the whole-cluster page presence is noted by the autosaves, article by
        # article, rather than by opening the page (one cache round trip per article).
        presence_touch(response_id=response.pk, article_id=article.pk, user=request.user, force=True)
        others = presence_others(response_id=response.pk, article_id=article.pk, user=request.user)
    elif can_edit:
        # The whole cluster: who else is on which of its articles (one cache read).
        numbers = {a.pk: a.number for a in articles}
        others = [
            ngettext("%(name)s (article %(numbers)s)", "%(name)s (articles %(numbers)s)", len(ids))
            % {"name": name, "numbers": ", ".join(str(numbers[i]) for i in ids if i in numbers)}
            for name, ids in presence_others_in(response_id=response.pk, article_ids=list(numbers), user=request.user)
        ]
    status = 409 if conflicts else (422 if request.method == "POST" else 200)
    revisions = page_frame.revisions_value(blocks.revisions_json)
    use_cache = page_frame.cacheable(request, bound_form=bound, conflicts=conflicts)
    if use_cache:
        key = page_frame.frame_key(
            request=request, response=response, article=article, can_edit=can_edit, others=others,
            # The article page shows the Working Group's recommendations in its frame.
            extra=(all_recommendations().serial,) if article is not None else (),
        )
        skeleton = page_frame.cached(key)
        if skeleton is not None:
            csrf, nonce = page_frame.fresh_values(request)
            return HttpResponse(skeleton.fill(csrf=csrf, nonce=nonce, revisions=revisions, questions=blocks.encoded),
                                status=status)
    # The questions (most of the page's bytes) are spliced into the rendered frame
    # once, as bytes: through the template they were copied at every level of the
    # page (block, base template) and encoded with it, a tenth of a cluster page.
    frame = render_to_string(
        "questionnaire/article_answer.html",
        {
            "response": response,
            "article": article,
            "articles": articles,
            "questions_html": mark_safe(_QUESTIONS_SLOT),
            "revisions_json": _REVISIONS_SLOT,
            "form_errors": bound.non_field_errors() if bound is not None else [],
            "revisions_errors": bound["revisions"].errors if bound is not None else [],
            "conflicts": conflict_rows,
            "can_edit": can_edit,
            "others_editing": others,
        },
        request=request,
    )
    rendered = page_frame.cut(frame, revisions_marker=_REVISIONS_SLOT, questions_marker=_QUESTIONS_SLOT)
    if use_cache and rendered.keepable:
        page_frame.keep(key, rendered.skeleton)
    return HttpResponse(
        rendered.skeleton.fill(csrf=rendered.csrf, nonce=rendered.nonce, revisions=revisions, questions=blocks.encoded),
        status=status,
    )


# Unguessable, so that no text on the page (a State's or a person's name) can be it.
_QUESTIONS_SLOT = f"<!--questions-{secrets.token_hex(16)}-->"
# Only characters that HTML escaping leaves alone: it goes through {{ }} in an attribute.
_REVISIONS_SLOT = f"revisions-{secrets.token_hex(16)}"


@login_required
@require_http_methods(["POST"])
def answer_autosave(request, pk: int, code: str):
    """Save one answer as it is typed (htmx). Answers with a small status fragment
    that carries the new revision: 200 saved, 409 someone else saved first or the
    response is submitted, 422 invalid; the page's form stays the no-JS path.

    The hot path of the platform: the response and the answer are read in one
    statement here (access check); the question comes from the process's cache. A
    save that changes nothing needs no other read; a change is made in the service
    under the response's share lock and the answer's row lock."""
    response = get_response_for_user(request.user, pk, "view", minimal=True, answer_code=code)
    question = selectors.version_question(response.version_id, code)
    if question is None:
        raise Http404
    if not request.user.has_perm("questionnaire.change_response", response):
        if response.status != response.Status.DRAFT:
            return _status(request, question, "locked", status=409)
        raise PermissionDenied
    form = ArticleAnswerForm.for_validation(request.POST, questions=[question])
    if not form.is_valid():
        errors = [str(e) for field in form.errors.values() for e in field]
        return _status(request, question, "invalid", errors=errors, status=422)
    presence_touch(response_id=response.pk, article_id=question.article_id, user=request.user)
    try:
        outcome = services.answers_save_detailed(
            response=response,
            by=request.user,
            values=form.answer_values(),
            base_revisions=form.cleaned_data["revisions"],
            answers_read={question.pk: response.answer_read},
        )
    except services.ResponseLocked:
        return _status(request, question, "locked", status=409)
    except services.EditConflict as exc:
        conflict = exc.conflicts[0]
        labels = {c.code: c.label for c in question.choices.all()}
        return _status(
            request,
            question,
            "conflict",
            conflict=conflict,
            theirs=kind_of(question).display(conflict.theirs, labels),
            revision=conflict.theirs_revision,
            status=409,
        )
    answer = outcome.answers.get(question.pk)
    if not outcome.saved:
        return _status(request, question, "unchanged", answer=answer)
    return _status(request, question, "saved", answer=answer, saved_at=timezone.localtime(answer.updated_at))


def _hh_mm(moment) -> str:
    """``time_format(moment, "H:i")``: an explicit format is the same in every
    language, and Django's formatter costs more than the rest of the fragment."""
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _status(request, question, state: str, *, answer=None, revision=None, status: int = 200, **context):
    """The status line under an answer after an autosave, with the revision the next
    save starts from. Built in Python, not from a template: it is the response of
    every autosave (the same msgids as a template's blocktranslate, so the catalog
    is shared)."""
    revision = revision if revision is not None else (answer.revision if answer else 0)
    parts = [format_html('<input type="hidden" name="rev-{}" value="{}">', question.code, revision)]
    if state == "saved":
        parts.append(format_html('<span class="text-success">{}</span>', _("Saved at %(time)s") % {"time": _hh_mm(context["saved_at"])}))
    elif state == "unchanged":
        saved = _("Saved at %(time)s") % {"time": _hh_mm(timezone.localtime(answer.updated_at))} if answer else ""
        parts.append(format_html('<span class="text-body-secondary">{}</span>', saved))
    elif state == "invalid":
        parts.append(format_html('<span class="text-danger" role="alert">{} {}</span>', _("Not saved:"), " ".join(context["errors"])))
    elif state == "locked":
        parts.append(
            format_html(
                '<span class="text-danger" role="alert">{}</span>',
                _("Not saved: this response has been submitted and can no longer be changed."),
            )
        )
    elif state == "conflict":
        conflict = context["conflict"]
        # data-conflict: answer.js then sends this text again only when the person
        # chooses to keep it (a button here, or editing it), never by itself.
        parts.append(
            format_html(
                '<span class="text-danger d-block" role="alert" data-conflict>{}</span>'
                '<span class="answer-text d-block border rounded p-2 my-1">{}</span>'
                '<span class="d-block small">{}</span>'
                '<span class="d-block mt-1"><button type="button" class="btn btn-sm btn-outline-primary me-2" '
                'data-keep-mine>{}</button><button type="button" class="btn btn-sm btn-outline-secondary" '
                "data-take-theirs>{}</button></span>",
                _("Not saved: %(who)s changed this answer at %(when)s. Their version:")
                % {"who": conflict.changed_by, "when": time_format(timezone.localtime(conflict.changed_at), "H:i")},
                context["theirs"] or "—",
                _(
                    "Your text is still in the field. Edit it again or save the page to keep yours; "
                    "reload the page to take theirs."
                ),
                _("Keep my version"),
                _("Take their version"),
            )
        )
    return HttpResponse("".join(parts), status=status)


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
