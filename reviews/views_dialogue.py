"""The dialogue on answers: starting a thread, replying, assigning, resolving; the
lists of threads (one review's, and those of every review a person takes part
in), and the person's notifications. Every view loads its objects through the
access helpers of reviews.permissions; every change goes through a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parties.models import State
from questionnaire.models import Article, Question

from . import selectors_dialogue as selectors
from . import services_dialogue as services
from .forms_dialogue import AssignForm, CommentForm, ThreadForm
from .models import Thread
from .permissions import get_review_for_user, get_thread_for_user
from .services import ReviewError

PAGE_SIZE = 50


def review_article_url(review, question) -> str:
    return reverse("reviews:article", kwargs={"pk": review.pk, "number": question.article.number})


def _back_to(thread) -> str:
    return f"{review_article_url(thread.review, thread.question)}#thread-{thread.pk}"


def _assignee(review, pk):
    if pk is None:
        return None
    person = services.assignable_people(review).filter(pk=pk).first()
    if person is None:
        raise ReviewError(_("A thread can be assigned only to a person of the State under review or of a reviewing State."))
    return person


def article_dialogue_context(user, review, rows: list[dict]) -> dict:
    """What the reviewers' article page adds for the dialogue: per thread, what
    changed in its answer since the reviewers last wrote; who threads can be
    assigned to; where the State revises an answer. Two queries."""
    threads = [t for row in rows for t in row["threads"]]
    questions = {row["question"].pk: row["question"] for row in rows}
    changes = selectors.answer_changes(review, threads, questions)
    can_reply = user.has_perm("reviews.reply", review)
    can_comment = user.has_perm("reviews.comment", review)
    people = list(services.assignable_people(review)) if (threads or can_comment) and (can_reply or can_comment) else []
    for row in rows:
        for thread in row["threads"]:
            thread.change = changes.get(thread.pk)
    return {
        "answer_changes": changes,
        "assignable_people": people,
        "can_assign": can_reply or can_comment,
        # The State revises an answer on its answering page (the questionnaire's
        # rules decide whether the response can still change).
        "revise_url": reverse("questionnaire:article", args=[review.response_id, rows[0]["question"].article.number])
        if can_reply and rows
        else "",
        "thread_form": ThreadForm(people=people),
    }


@login_required
@require_POST
def thread_create(request, pk: int, code: str):
    review = get_review_for_user(request.user, pk, "reviews.comment")
    question = get_object_or_404(Question.objects.select_related("article"), version_id=review.response.version_id, code=code)
    people = list(services.assignable_people(review))
    form = ThreadForm(request.POST, people=people)
    anchor = f"{review_article_url(review, question)}#q-{question.code}"
    if not form.is_valid():
        messages.error(request, _("The comment was not posted: %(errors)s") % {"errors": form.errors.as_text()})
        return redirect(anchor)
    try:
        services.thread_start(
            review=review,
            question=question,
            kind=form.cleaned_data["kind"],
            body=form.cleaned_data["body"],
            by=request.user,
            assignee=_assignee(review, form.cleaned_data.get("assignee")),
        )
    except ReviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your comment is posted; the State under review will see it."))
    return redirect(anchor)


@login_required
@require_POST
def comment_create(request, pk: int):
    thread = get_thread_for_user(request.user, pk, "reviews.view_review")
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The reply was not posted: %(errors)s") % {"errors": form.errors.as_text()})
    else:
        try:
            services.comment_add(thread=thread, body=form.cleaned_data["body"], by=request.user)
        except ReviewError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Your reply is posted."))
    return redirect(f"{review_article_url(thread.review, thread.question)}#q-{thread.question.code}")


@login_required
@require_POST
def thread_resolve(request, pk: int):
    thread = get_thread_for_user(request.user, pk, "reviews.comment")
    try:
        services.thread_resolve(thread=thread, by=request.user)
    except ReviewError as exc:
        messages.error(request, str(exc))
    return redirect(f"{review_article_url(thread.review, thread.question)}#q-{thread.question.code}")


@login_required
@require_POST
def thread_assign(request, pk: int):
    thread = get_thread_for_user(request.user, pk, "reviews.view_review")
    if not (request.user.has_perm("reviews.comment", thread.review) or request.user.has_perm("reviews.reply", thread.review)):
        raise PermissionDenied
    form = AssignForm(request.POST, people=list(services.assignable_people(thread.review)))
    if not form.is_valid():
        messages.error(request, _("Choose someone from the list."))
    else:
        try:
            services.thread_assign(thread=thread, assignee=_assignee(thread.review, form.cleaned_data["assignee"]), by=request.user)
        except ReviewError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The thread's assignee is saved."))
    return redirect(_back_to(thread))


# --- Lists of threads --------------------------------------------------------------------


def _thread_page(request, threads, page_context: dict, template: str):
    paginator = Paginator(threads, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        template,
        page_context
        | {
            "page": page,
            "threads": list(page.object_list),
            "statuses": Thread.Status.choices,
            "kinds": Thread.Kind.choices,
        },
    )


@login_required
def review_threads(request, pk: int):
    """The threads of one review, filterable by article, status and type."""
    review = get_review_for_user(request.user, pk, "reviews.read_answers")
    filters = selectors.ThreadFilters.from_query(request.GET)
    filters = selectors.ThreadFilters(article=filters.article, status=filters.status, kind=filters.kind)
    threads = selectors.threads_filtered(review.__class__.objects.filter(pk=review.pk), filters)
    articles = Article.objects.filter(version_id=review.response.version_id).order_by("order")
    return _thread_page(
        request, threads, {"review": review, "filters": filters, "articles": articles}, "reviews/thread_list.html"
    )


@login_required
def my_threads(request):
    """The threads of every review the person reads, filterable by article,
    status, type and State under review."""
    reviews = selectors.reviews_readable_by(request.user)
    filters = selectors.ThreadFilters.from_query(request.GET)
    threads = selectors.threads_filtered(reviews, filters)
    states = State.objects.filter(pk__in=reviews.values("state_id")).order_by("name")
    numbers = (
        Article.objects.filter(version__responses__review__in=reviews)
        .order_by("number")
        .values_list("number", flat=True)
        .distinct()
    )
    return _thread_page(
        request,
        threads,
        {"review": None, "filters": filters, "states": states, "article_numbers": numbers},
        "reviews/thread_list.html",
    )


# --- Notifications -----------------------------------------------------------------------


@login_required
def notifications(request):
    return render(request, "reviews/notifications.html", {"notifications": selectors.notifications_for(request.user)})


@login_required
@require_POST
def notifications_read(request):
    """Mark one notification read (``notification`` posted) or all of them; only
    the person's own notifications are touched."""
    raw = request.POST.get("notification")
    ids = None
    if raw:
        try:
            ids = [int(raw)]
        except ValueError:
            ids = []
    services.notification_mark_read(user=request.user, notification_ids=ids)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("reviews:notifications")
