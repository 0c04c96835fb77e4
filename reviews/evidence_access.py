"""Reviewers read the evidence of the answers they review.

questionnaire never imports reviews; it offers a registry of extra readers
(``questionnaire.evidence.EXTRA_READERS``) and reviews registers, from
ReviewsConfig.ready(), ``evidence_access.register()``: a reviewer may download a
piece of evidence once it is attached to a submitted response whose review
assigns the reviewer's State."""

from __future__ import annotations

from parties.models import Membership
from parties.permissions import roles_of
from questionnaire.evidence import EXTRA_READERS
from questionnaire.models import AnswerEvidence, Evidence, Response


def assigned_reviewer_reads_evidence(user, evidence: Evidence) -> bool:
    reviewing = roles_of(user).states_with(Membership.Role.REVIEWER)
    if not reviewing:
        return False
    return AnswerEvidence.objects.filter(
        evidence=evidence,
        response__status=Response.Status.SUBMITTED,
        response__review__assignments__reviewing_state_id__in=reviewing,
    ).exists()


def register() -> None:
    """Add the predicate to questionnaire's readers (once, however often called)."""
    if assigned_reviewer_reads_evidence not in EXTRA_READERS:
        EXTRA_READERS.append(assigned_reviewer_reads_evidence)
