"""Plausible answers for demo data and tests: a valid value for every kind."""

from __future__ import annotations

import base64
import hashlib

from questionnaire.models import Response
from questionnaire.selectors import response_progress, version_questions
from questionnaire.services import answers_save

SAMPLE_BY_KIND = {
    "implementation": "yes",
    "legislation": [{"title": "Firearms and Ammunition Act", "article": "Section 12", "link": "https://example.org/law"}],
    "long_text": "The national firearms authority applies this provision through licensing and inspections.",
    "text": "National Firearms Authority",
    "yes_no": "yes",
    "number": 12,
    "technical_assistance": {"needed": True, "categories": ["record_keeping"], "priority": "high",
                             "details": "A central electronic registry of firearms."},
}


def sample_value(question):
    if question.kind == "choice":
        return question.choices.all()[0].code
    if question.kind == "multi_choice":
        return [question.choices.all()[0].code]
    return SAMPLE_BY_KIND[question.kind]


def answer_all_required(response: Response, by) -> None:
    """Answer every required question that is asked, until the response is complete
    (answering one question can make a conditional one required)."""
    questions = {q.pk: q for q in version_questions(response.version_id)}
    for _round in range(5):
        missing = response_progress(response).missing
        if not missing:
            return
        values = {questions[q.pk]: sample_value(questions[q.pk]) for _article, q in missing}
        answers_save(response=response, by=by, values=values, base_revisions={})
    raise RuntimeError("could not complete the response")


def answer_technical_assistance(response: Response, by, every: int = 3) -> None:
    """Express a need on every third provision, so that reports have TA data."""
    questions = [q for q in version_questions(response.version_id) if q.kind == "technical_assistance"]
    answers_save(
        response=response,
        by=by,
        values={q: SAMPLE_BY_KIND["technical_assistance"] for q in questions[::every]},
        base_revisions={},
    )


def demo_technical_assistance(*, state, focal_point) -> None:
    """The State's needs derived from its submitted answers; the first one requested
    (safe to run again: the refresh makes no duplicate, a moved need is left alone)."""
    from .models import TechnicalAssistanceNeed
    from .services_ta import ta_need_move, ta_needs_refresh

    ta_needs_refresh(state=state)
    first = TechnicalAssistanceNeed.objects.filter(state=state).order_by("pk").first()
    if first and first.status == TechnicalAssistanceNeed.Status.IDENTIFIED:
        ta_need_move(need=first, to=TechnicalAssistanceNeed.Status.REQUESTED, by=focal_point)


def demo_totp_secret(email: str) -> str:
    """The demo accounts' TOTP secret: fixed per address, so that the codes printed
    by ``manage.py demo_code`` and an authenticator app set up once keep working
    after the demo is loaded again. Demo accounts only (their domain is demo.test)."""
    return base64.b32encode(hashlib.sha256(f"demo-totp:{email}".encode()).digest()[:20]).decode()


def demo_second_factor(user) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, demo_totp_secret(user.email))
