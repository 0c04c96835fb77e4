"""The review: cycles and the draw (secretariat), the reviewers' reading of a
submitted response with the dialogue on each answer, and background jobs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditEvent
from audit.services import audit_download
from questionnaire.evidence import answer_evidence
from questionnaire.kinds import kind_of
from questionnaire.models import Answer, Article
from questionnaire.selectors import is_applicable, version_questions

from . import selectors, services
from . import services_workflow as workflow
from .deadlines import deadline_of, review_deadlines
from .exports.overview_xlsx import build_overview_xlsx
from .forms import (
    CommentForm,
    CycleLaunchForm,
    ExpertsForm,
    ExtensionForm,
    FocalPointForm,
    GroupMoveForm,
    GroupsDrawForm,
    OverviewFilterForm,
    RedrawForm,
    SwapForm,
    ThreadForm,
    TransitionForm,
)
from .models import (
    DrawEvent,
    ExpertAppointment,
    Job,
    Review,
    ReviewCycle,
    ReviewerAssignment,
    ReviewGroup,
    ReviewGroupMember,
    Step,
)
from .permissions import get_assignment_for_user, get_job_for_user, get_review_for_user
from .views_dialogue import article_dialogue_context


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
    nearest = None
    if request.method == "POST" and form.is_valid():
        try:
            cycle = services.cycle_launch(
                cluster=form.cleaned_data["cluster"],
                year=form.cleaned_data["year"],
                states=list(form.cleaned_data["states"]),
                seed=form.cleaned_data["seed"] or None,
                group=form.cleaned_data["group"],
                periods=form.periods(),
                language=form.cleaned_data["language"] or None,
                by=request.user,
            )
        except services.DrawRefused as exc:
            form.add_error(None, str(exc))
            nearest = exc if exc.drawable else None
        except services.ReviewError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The cycle is launched and the reviewing States are drawn."))
            return redirect("reviews:cycle", pk=cycle.pk)
    return render(request, "reviews/cycle_launch.html", {"form": form, "nearest": nearest})


@login_required
def cycle_detail(request, pk: int):
    _require_perm(request.user, "reviews.manage_cycles")
    cycle = get_object_or_404(ReviewCycle.objects.select_related("cluster__instrument", "launched_by", "group"), pk=pk)
    reviews = selectors.cycle_reviews(cycle)
    return render(
        request,
        "reviews/cycle_detail.html",
        {
            "cycle": cycle,
            "reviews": reviews,
            "workload": selectors.workload(reviews),
            "events": list(selectors.draw_events(cycle)),
        },
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
        }
        | _workflow_context(request, review),
    )


def _workflow_context(request, review, *, extension_form=None, focal_point_form=None) -> dict:
    """The status, deadlines and appointments of a review, with the actions the
    user may take on them."""
    data = selectors.with_deadline_data(Review.objects.filter(pk=review.pk)).get()
    user = request.user
    targets = workflow.transitions_for(review, user)
    today = timezone.localdate()
    deadlines = review_deadlines(data)
    focal_points = {a.state_id: a for a in data.focal_points.all() if a.ended_at is None}
    states = [data.state] + [a.reviewing_state for a in data.assignments.all()]
    may_appoint = user.has_perm("reviews.appoint_own_focal_point", review)
    return {
        "transitions": [
            {"to": t, "label": Review.Status(t).label, "blockers": data.blockers(t)} for t in targets
        ],
        "transition_form": TransitionForm(),
        "status_changes": list(review.status_changes.select_related("by")),
        "deadlines": [(d, d.is_overdue(today)) for d in deadlines],
        "extensions": list(data.extensions.all()) if user.has_perm("reviews.manage_deadlines", review) else [],
        "extension_form": (extension_form or ExtensionForm()) if user.has_perm("reviews.manage_deadlines", review)
        else None,
        "focal_point_rows": [(s, focal_points.get(s.pk)) for s in states],
        "expert_rows": [
            (a, [e for e in a.expert_appointments.all() if e.ended_at is None]) for a in data.assignments.all()
        ],
        "focal_point_form": (focal_point_form or FocalPointForm(state=data.state)) if may_appoint else None,
        "is_secretariat": user.has_perm("reviews.manage_cycles"),
    }


def _back_to_review(review) -> str:
    return reverse("reviews:review", args=[review.pk])


@login_required
@require_POST
def review_transition(request, pk: int):
    """Move the review one step; the service says who may and what must hold."""
    review = get_review_for_user(request.user, pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown status."))
        return redirect(_back_to_review(review))
    try:
        review = workflow.review_transition(
            review=review, to=form.cleaned_data["to"], by=request.user, reason=form.cleaned_data["reason"]
        )
    except services.ReviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The review is now “%(status)s”.") % {"status": review.get_status_display()})
    return redirect(_back_to_review(review))


@login_required
@require_POST
def focal_point_appoint(request, pk: int):
    """The State under review's focal point for this review (secretariat or the
    State's focal points; the reviewing States appoint theirs on their page)."""
    review = get_review_for_user(request.user, pk, "reviews.appoint_own_focal_point")
    form = FocalPointForm(request.POST, state=review.state)
    if form.is_valid() and form.cleaned_data["state"] == review.state:
        try:
            workflow.focal_point_appoint(review=review, state=review.state, user=form.cleaned_data["user"],
                                         by=request.user)
        except services.ReviewError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The focal point for this review is appointed."))
    else:
        messages.error(request, _("Choose a focal point of %(state)s.") % {"state": review.state.name})
    return redirect(_back_to_review(review))


@login_required
@require_POST
def deadline_extend(request, pk: int):
    review = get_review_for_user(request.user, pk, "reviews.manage_deadlines")
    form = ExtensionForm(request.POST)
    if form.is_valid():
        try:
            workflow.deadline_extend(review=review, by=request.user, **form.cleaned_data)
        except services.ReviewError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The deadline is extended."))
            return redirect(_back_to_review(review))
    # Shown again with the errors tied to their fields; nothing saved.
    articles = list(Article.objects.filter(version_id=review.response.version_id).order_by("order"))
    return render(
        request,
        "reviews/review_detail.html",
        {
            "review": review,
            "articles": [(a, {"open": 0, "all": 0}) for a in articles],
            "can_read": request.user.has_perm("reviews.read_answers", review),
            "can_request_summary": True,
        }
        | _workflow_context(request, review, extension_form=form),
        status=422,
    )


@login_required
@require_http_methods(["GET", "POST"])
def assignment_detail(request, pk: int):
    """A reviewing State's page of one review it carries: its focal point and its
    experts for that review. No answers here (those need reviews.read_answers)."""
    assignment = get_assignment_for_user(request.user, pk)
    state = assignment.reviewing_state
    focal_form = FocalPointForm(state=state)
    experts_form = ExpertsForm(state=state)
    if request.method == "POST":
        if not request.user.has_perm("reviews.appoint_for_assignment", assignment):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "focal_point":
                focal_form = FocalPointForm(request.POST, state=state)
                if focal_form.is_valid() and focal_form.cleaned_data["state"] == state:
                    workflow.focal_point_appoint(
                        review=assignment.review, state=state, user=focal_form.cleaned_data["user"], by=request.user
                    )
                    messages.success(request, _("The focal point for this review is appointed."))
                    return redirect("reviews:assignment", pk=assignment.pk)
            elif action == "experts":
                experts_form = ExpertsForm(request.POST, state=state)
                if experts_form.is_valid():
                    workflow.experts_appoint(
                        assignment=assignment, users=list(experts_form.cleaned_data["users"]), by=request.user
                    )
                    messages.success(request, _("The experts are appointed."))
                    return redirect("reviews:assignment", pk=assignment.pk)
            elif action == "release":
                appointment = get_object_or_404(
                    ExpertAppointment, pk=request.POST.get("appointment") or 0, assignment=assignment
                )
                workflow.expert_release(appointment=appointment, by=request.user)
                messages.success(request, _("The expert is released from this review."))
                return redirect("reviews:assignment", pk=assignment.pk)
            else:
                messages.error(request, _("Unknown action."))
        except services.ReviewError as exc:
            messages.error(request, str(exc))
        except ValueError:
            raise Http404 from None
    review = assignment.review
    return render(
        request,
        "reviews/assignment_detail.html",
        {
            "assignment": assignment,
            "review": review,
            "focal_points": list(
                review.focal_points.filter(state=state).select_related("user", "appointed_by", "ended_by")
            ),
            "experts": list(assignment.expert_appointments.select_related("user", "appointed_by", "ended_by")),
            "can_appoint": request.user.has_perm("reviews.appoint_for_assignment", assignment),
            "focal_form": focal_form,
            "experts_form": experts_form,
            "feedback_due": deadline_of(selectors.with_deadline_data(Review.objects.filter(pk=review.pk)).get(),
                                        Step.WRITTEN_FEEDBACK),
        },
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def assignment_change(request, pk: int):
    """The secretariat redraws one reviewer, or swaps in a State by hand, with a reason."""
    _require_perm(request.user, "reviews.change_draw")
    assignment = get_object_or_404(
        ReviewerAssignment.objects.select_related("reviewing_state", "review__state", "review__cycle__cluster"), pk=pk
    )
    candidates = workflow.swap_candidates(assignment)
    redraw_form, swap_form = RedrawForm(), SwapForm(candidates=candidates)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "redraw":
                redraw_form = RedrawForm(request.POST)
                if redraw_form.is_valid():
                    workflow.reviewer_redraw(assignment=assignment, by=request.user,
                                             reason=redraw_form.cleaned_data["reason"],
                                             seed=redraw_form.cleaned_data["seed"] or None)
                    messages.success(request, _("A new reviewing State is drawn."))
                    return redirect("reviews:cycle", pk=assignment.review.cycle_id)
            elif action == "swap":
                swap_form = SwapForm(request.POST, candidates=candidates)
                if swap_form.is_valid():
                    workflow.reviewer_swap(assignment=assignment, new_state=swap_form.cleaned_data["state"],
                                           by=request.user, reason=swap_form.cleaned_data["reason"])
                    messages.success(request, _("The reviewing State is swapped."))
                    return redirect("reviews:cycle", pk=assignment.review.cycle_id)
            else:
                messages.error(request, _("Unknown action."))
        except services.ReviewError as exc:
            (redraw_form if action == "redraw" else swap_form).add_error(None, str(exc))
    return render(
        request,
        "reviews/assignment_change.html",
        {"assignment": assignment, "candidates": candidates, "redraw_form": redraw_form, "swap_form": swap_form},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def groups(request):
    """The three review groups: drawn by lot once, a State moved with a reason."""
    _require_perm(request.user, "reviews.manage_cycles")
    draw_form, move_form = GroupsDrawForm(initial={"first_year": 2020}), GroupMoveForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "draw":
                draw_form = GroupsDrawForm(request.POST)
                if draw_form.is_valid():
                    workflow.review_groups_draw(first_year=draw_form.cleaned_data["first_year"],
                                                seed=draw_form.cleaned_data["seed"] or None, by=request.user)
                    messages.success(request, _("The three review groups are drawn."))
                    return redirect("reviews:groups")
            elif action == "move":
                move_form = GroupMoveForm(request.POST)
                if move_form.is_valid():
                    workflow.review_group_move(by=request.user, **move_form.cleaned_data)
                    messages.success(request, _("The State is moved to its new group."))
                    return redirect("reviews:groups")
            else:
                messages.error(request, _("Unknown action."))
        except services.ReviewError as exc:
            (draw_form if action == "draw" else move_form).add_error(None, str(exc))
    return render(
        request,
        "reviews/groups.html",
        {
            "groups": list(ReviewGroup.objects.prefetch_related(
                Prefetch("members", queryset=ReviewGroupMember.objects.select_related("state").order_by("state__name"))
            )),
            "events": list(DrawEvent.objects.filter(kind__in=[DrawEvent.Kind.GROUPS, DrawEvent.Kind.GROUP_CHANGE])
                           .select_related("by", "new_state")),
            "draw_form": draw_form,
            "move_form": move_form,
        },
        status=422 if request.method == "POST" else 200,
    )


@login_required
def workload(request):
    """Per State: the reviews it carries in each cycle, against the cycle's cap, and
    every change of the draw that concerned it."""
    _require_perm(request.user, "reviews.manage_cycles")
    return render(
        request,
        "reviews/workload.html",
        {
            "rows": selectors.state_workload(),
            "events": list(
                DrawEvent.objects.filter(kind__in=[DrawEvent.Kind.REDRAW, DrawEvent.Kind.SWAP])
                .select_related("by", "review__state", "cycle__cluster", "previous_state", "new_state")
                .order_by("-at")
            ),
        },
    )


def _overview_filters(request) -> tuple[OverviewFilterForm, selectors.OverviewFilters, bool]:
    form = OverviewFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.OverviewFilters(
            cluster=data["cluster"].pk if data["cluster"] else None,
            cycle=data["cycle"].pk if data["cycle"] else None,
            group=data["group"].pk if data["group"] else None,
            regional_group=data["regional_group"] or "",
        )
        return form, filters, data["overdue"]
    return form, selectors.OverviewFilters(), False


@login_required
def overview(request):
    """Every review with its status, next deadline and overdue steps."""
    _require_perm(request.user, "reviews.overview")
    form, filters, overdue_only = _overview_filters(request)
    rows = selectors.reviews_overview(filters)
    if overdue_only:
        rows = [r for r in rows if r.overdue]
    return render(
        request,
        "reviews/overview.html",
        {"form": form, "rows": rows, "export_query": request.GET.urlencode()},
    )


@login_required
def overview_xlsx(request):
    _require_perm(request.user, "reviews.overview")
    _form, filters, overdue_only = _overview_filters(request)
    rows = selectors.reviews_overview(filters)
    if overdue_only:
        rows = [r for r in rows if r.overdue]
    content = build_overview_xlsx(rows, today=timezone.localdate())
    audit_download(request=request, export="reviews_overview", fmt="xlsx")
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="reviews-{timezone.localdate().isoformat()}.xlsx"'
    return response


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
    # Reading a State's submitted answers is reading a confidential document.
    audit_download(request=request, event=AuditEvent.Event.DOCUMENT_VIEWED, export="review_article", fmt="html",
                   obj=review.response, state=review.state_id, review=review.pk, article=article.number)
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
            # What changed in each discussed answer, assignees, the revise link (views_dialogue).
            **article_dialogue_context(request.user, review, rows),
        },
    )


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
    audit_download(request=request, export=job.kind, fmt=job.result_name.rsplit(".", 1)[-1], obj=job,
                   params=job.params)
    return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=job.result_name)
