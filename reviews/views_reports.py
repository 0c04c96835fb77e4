"""The secretariat's reports: the streamed CSV of a cycle, the general-review
report job, job cancellation and the dashboards. Views only call services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.services import audit_download

from . import services, services_reports
from .dashboards import dashboard_charts
from .models import ReviewCycle
from .permissions import get_job_for_user


def _require_perm(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


@login_required
def cycle_csv(request, pk: int):
    _require_perm(request.user, "reviews.run_jobs")
    cycle = get_object_or_404(ReviewCycle.objects.select_related("cluster"), pk=pk)
    filename, lines = services_reports.cluster_csv(cycle=cycle, by=request.user)
    audit_download(request=request, export="cycle_answers", fmt="csv", obj=cycle)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    # Django's own header: quoted, with an RFC 5987 form for names that are not ASCII.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
@require_POST
def general_report_create(request, pk: int):
    _require_perm(request.user, "reviews.run_jobs")
    cycle = get_object_or_404(ReviewCycle, pk=pk)
    try:
        result = services_reports.general_report_request(cycle=cycle, fmt=request.POST.get("format", ""), by=request.user)
    except services.ReviewError as error:
        messages.error(request, str(error))
        return redirect("reviews:jobs")
    if not result.created:
        messages.info(request, _("This job was already queued; here it is."))
    return redirect("reviews:job", pk=result.job.pk)


@login_required
@require_POST
def job_cancel(request, pk: int):
    job = get_job_for_user(request.user, pk)
    _require_perm(request.user, "reviews.run_jobs")
    try:
        job = services_reports.job_cancel(job=job, by=request.user)
    except services.ReviewError as error:
        messages.error(request, str(error))
    else:
        messages.info(request, _("The job is cancelled.") if job.status == job.Status.CANCELLED else _("The job stops at its next step."))
    return redirect("reviews:job", pk=job.pk)


@login_required
def dashboard(request):
    _require_perm(request.user, "reviews.run_jobs")
    return render(request, "reviews/dashboard.html", {"charts": dashboard_charts()})
