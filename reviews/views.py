"""The review: cycles and the draw (secretariat), the reviewers' reading of a
submitted response with the dialogue on each answer, and background jobs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from questionnaire.evidence import answer_evidence
from questionnaire.kinds import kind_of
from questionnaire.models import Answer, Article, Question
from questionnaire.selectors import is_applicable, version_questions

from . import selectors, services
from .forms import CommentForm, CycleLaunchForm, ThreadForm
from .models import Job, ReviewCycle
from .permissions import get_job_for_user, get_review_for_user, get_thread_for_user


def _require_perm(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


@login_required
def cycle_list(request):
    _require_perm(request.user, "reviews.manage_cycles")
    return render(request, "reviews/cycle_list.html", {"cycles": selectors.cycles_overview()})


@login_required
@require_http_methods(["GET", "POST"])
def cycle_launch(request):
    _require_perm(request.user, "reviews.manage_cycles")
    form = CycleLaunchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cycle = services.cycle_launch(
                cluster=form.cleaned_data["cluster"],
                year=form.cleaned_data["year"],
                states=list(form.cleaned_data["states"]),
                seed=form.cleaned_data["seed"] or None,
                by=request.user,
            )
        except services.ReviewError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The cycle is launched and the reviewing States are drawn."))
            return redirect("reviews:cycle", pk=cycle.pk)
    return render(request, "reviews/cycle_launch.html", {"form": form})


@login_required
def cycle_detail(request, pk: int):
    _require_perm(request.user, "reviews.manage_cycles")
    cycle = get_object_or_404(ReviewCycle.objects.select_related("cluster__instrument", "launched_by"), pk=pk)
    reviews = selectors.cycle_reviews(cycle)
    return render(
        request,
        "reviews/cycle_detail.html",
        {"cycle": cycle, "reviews": reviews, "workload": selectors.workload(reviews)},
    )


@login_required
def review_detail(request, pk: int):
    review = get_review_for_user(request.user, pk)
    articles = list(Article.objects.filter(version_id=review.response.version_id).order_by("order"))
    thread_counts = {}
    for thread in review.threads.all().only("question__article_id", "status").select_related("question"):
        counts = thread_counts.setdefault(thread.question.article_id, {"open": 0, "all": 0})
        counts["all"] += 1
        counts["open"] += thread.status != thread.Status.RESOLVED
    return render(
        request,
        "reviews/review_detail.html",
        {
            "review": review,
            "articles": [(a, thread_counts.get(a.pk, {"open": 0, "all": 0})) for a in articles],
            "can_read": request.user.has_perm("reviews.read_answers", review),
            "can_request_summary": request.user.has_perm("reviews.run_jobs"),
        },
    )


@login_required
def review_article(request, pk: int, number: int):
    review = get_review_for_user(request.user, pk, "reviews.read_answers")
    try:
        article = Article.objects.get(version_id=review.response.version_id, number=number)
    except Article.DoesNotExist:
        raise Http404 from None
    questions = version_questions(review.response.version_id, article)
    answers = {a.question_id: a for a in Answer.objects.filter(response_id=review.response_id, question__article=article)}
    values = {qid: a.value for qid, a in answers.items()}
    threads = selectors.threads_by_question(review, [q.pk for q in questions])
    # The citations and files attached to each answer: one query, whatever their number.
    evidence = answer_evidence(response=review.response, questions=questions)
    applicable: dict[int, bool] = {}
    rows = []
    for q in questions:
        applicable[q.pk] = is_applicable(q, values, applicable)
        if not applicable[q.pk]:
            continue
        labels = {c.code: c.label for c in q.choices.all()}
        answer = answers.get(q.pk)
        rows.append(
            {
                "question": q,
                "display": kind_of(q).display(answer.value if answer else None, labels),
                "threads": threads.get(q.pk, []),
                "evidence": evidence[q.pk],
            }
        )
    return render(
        request,
        "reviews/review_article.html",
        {
            "review": review,
            "article": article,
            "rows": rows,
            "can_comment": request.user.has_perm("reviews.comment", review),
            "can_reply": request.user.has_perm("reviews.reply", review),
            "thread_form": ThreadForm(),
            "comment_form": CommentForm(),
        },
    )


@login_required
@require_POST
def thread_create(request, pk: int, code: str):
    review = get_review_for_user(request.user, pk, "reviews.comment")
    question = get_object_or_404(Question, version_id=review.response.version_id, code=code)
    form = ThreadForm(request.POST)
    if form.is_valid():
        try:
            services.thread_start(
                review=review, question=question, kind=form.cleaned_data["kind"], body=form.cleaned_data["body"], by=request.user
            )
        except services.ReviewError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Your comment is posted; the State under review will see it."))
    else:
        messages.error(request, _("The comment was not posted: %(errors)s") % {"errors": form.errors.as_text()})
    return redirect(f"{review_article_url(review, question)}#q-{question.code}")


def review_article_url(review, question) -> str:
    return reverse("reviews:article", kwargs={"pk": review.pk, "number": question.article.number})


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
        except services.ReviewError as exc:
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
    except services.ReviewError as exc:
        messages.error(request, str(exc))
    return redirect(f"{review_article_url(thread.review, thread.question)}#q-{thread.question.code}")


@login_required
def job_list(request):
    _require_perm(request.user, "reviews.run_jobs")
    return render(
        request,
        "reviews/job_list.html",
        {"jobs": selectors.recent_jobs(), "cycles": selectors.cycles_overview()},
    )


@login_required
@require_POST
def job_create(request):
    _require_perm(request.user, "reviews.run_jobs")
    kind = request.POST.get("kind", "")
    try:
        if kind == Job.Kind.REVIEW_SUMMARY:
            review = get_review_for_user(request.user, int(request.POST.get("review", "")))
            params = {"review": review.pk}
        elif kind == Job.Kind.CLUSTER_REPORT:
            cycle = get_object_or_404(ReviewCycle, pk=int(request.POST.get("cycle", "")))
            params = {"cycle": cycle.pk}
        else:
            raise ValueError
    except (ValueError, TypeError):
        messages.error(request, _("Unknown job or parameters."))
        return redirect("reviews:jobs")
    result = services.job_request(kind=kind, params=params, by=request.user)
    if not result.created:
        messages.info(request, _("This job was already queued; here it is."))
    return redirect("reviews:job", pk=result.job.pk)


@login_required
def job_detail(request, pk: int):
    job = get_job_for_user(request.user, pk)
    return render(request, "reviews/job_detail.html", {"job": job, "refresh": job.status in Job.ACTIVE})


@login_required
def job_download(request, pk: int):
    job = get_job_for_user(request.user, pk)
    if job.status != Job.Status.SUCCEEDED or not job.result_file:
        raise Http404
    return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=job.result_name)
