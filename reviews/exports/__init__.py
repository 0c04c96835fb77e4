"""Documents built by background jobs. Each builder returns (bytes, filename)."""

from __future__ import annotations

from collections.abc import Callable

from ..models import Job
from .cluster_xlsx import cluster_report_xlsx
from .summary_docx import review_summary_docx

Progress = Callable[[int], None]


def build_job_result(job: Job, progress: Progress) -> tuple[bytes, str]:
    if job.kind == Job.Kind.REVIEW_SUMMARY:
        return review_summary_docx(review_id=int(job.params["review"]), progress=progress)
    if job.kind == Job.Kind.CLUSTER_REPORT:
        return cluster_report_xlsx(cycle_id=int(job.params["cycle"]), progress=progress)
    if job.kind == Job.Kind.GENERAL_REPORT:
        from .general_report import general_report

        return general_report(cycle_id=int(job.params["cycle"]), fmt=str(job.params["format"]), progress=progress)
    raise ValueError(f"unknown job kind {job.kind}")
