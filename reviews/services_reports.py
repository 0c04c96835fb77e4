"""Reports of a whole cycle (the secretariat's): the general-review report job,
the cancellation of a job, the streamed CSV of the submitted answers."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from parties.permissions import roles_of

from . import services
from .exports.cluster_csv import cluster_csv_filename, cluster_csv_lines
from .exports.general_report import FORMATS
from .models import Job, ReviewCycle


def _require_secretariat(user) -> None:
    if not roles_of(user).secretariat:
        raise PermissionDenied


@transaction.atomic
def general_report_request(*, cycle: ReviewCycle, fmt: str, by) -> services.JobRequest:
    """Ask for the general-review report (no State named) of a cycle, as DOCX or PDF."""
    _require_secretariat(by)
    if fmt not in FORMATS:
        raise services.ReviewError(_("Unknown job or parameters."))
    return services.job_request(kind=Job.Kind.GENERAL_REPORT, params={"cycle": cycle.pk, "format": fmt}, by=by)


def job_cancel(*, job: Job, by) -> Job:
    return services.job_cancel(job=job, by=by)


def cluster_csv(*, cycle: ReviewCycle, by) -> tuple[str, Iterator[bytes]]:
    """The file name and the lines of the long-form CSV of a cycle's submitted answers."""
    _require_secretariat(by)
    return cluster_csv_filename(cycle), cluster_csv_lines(cycle=cycle)
