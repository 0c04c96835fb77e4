"""An edit or a deletion of a library entry racing the submission of a response
that uses it, on real PostgreSQL transactions: the entry is either changed before
the submission (and the submitted copy shows the change) or refused after it —
never changed under a submitted copy."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from questionnaire import evidence as ev
from questionnaire.models import Evidence, Response
from questionnaire.services import response_submit
from tests.factories import fill_required, question
from tests.questionnaire.test_evidence import CODE, pdf_bytes


@pytest.fixture
def attached(transactional_db, response_a, focal_point_a, contributor_a, version):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (make test)")
    evidence = ev.answer_evidence_add(
        response=response_a, question=question(version, CODE), upload=SimpleUploadedFile("act.pdf", pdf_bytes()),
        by=focal_point_a,
    ).evidence
    fill_required(response_a, focal_point_a)
    return response_a, evidence, focal_point_a, contributor_a


def submitting_slowly(response, by, holding: threading.Event):
    """A submission that holds the response's lock for a second before it commits."""

    def run():
        try:
            with transaction.atomic():
                response_submit(response=Response.objects.get(pk=response.pk), by=by)
                holding.set()
                time.sleep(1)
        finally:
            holding.set()
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_a_change_that_arrives_during_a_submission_waits_for_it_and_is_refused(attached, change):
    response, evidence, focal_point, contributor = attached
    holding = threading.Event()
    submission = submitting_slowly(response, focal_point, holding)
    submission.start()
    holding.wait(10)

    try:
        with pytest.raises(ev.EvidenceFrozen):
            if change == "edit":
                ev.evidence_update(
                    evidence=evidence, by=contributor, changes=ev.EvidenceChanges(title="Changed under the copy"),
                    base_revision=1,
                )
            else:
                ev.evidence_delete(evidence=evidence, by=contributor, base_revision=1)
    finally:
        submission.join(20)
        connection.close()

    assert Response.objects.get(pk=response.pk).status == Response.Status.SUBMITTED
    assert Evidence.objects.filter(pk=evidence.pk, title="act.pdf", revision=1).exists()
    assert evidence.uses.count() == 1
