"""Factories and small helpers that build the data tests need.

Factories make rows with sensible defaults; helpers do what a person would do
through the services (load a questionnaire, answer every required question), so
that tests exercise the same rules as the application.
"""

from __future__ import annotations

import datetime
import string
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from parties.models import Membership, State, TreatyStatus
from questionnaire import content
from questionnaire.models import Answer, Question, QuestionnaireVersion, Response
from questionnaire.selectors import response_progress
from questionnaire.services import answers_save

DEMO_PASSWORD = "demo-password-123"
FIXTURES = Path(__file__).resolve().parent / "questionnaire" / "fixtures"
MINI = FIXTURES / "mini.yaml"
REAL = content.CONTENT_DIR / "firearms_protocol.yaml"
PROTOCOL = "firearms_protocol"
Group = State.RegionalGroup


def _letters(n: int, width: int) -> str:
    """0 → AAA, 1 → AAB, … (wraps after 26**width, more than any one test makes)."""
    n %= 26**width
    out = []
    for _ in range(width):
        n, r = divmod(n, 26)
        out.append(string.ascii_uppercase[r])
    return "".join(reversed(out))


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    first_name = factory.Iterator(["Amina", "Bruno", "Chen", "Dolores", "Emeka", "Fatima", "Goran", "Hana"])
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    # Hashed once at build time (one INSERT). conftest switches the test run to a fast
    # hasher, so this costs nothing; logging in with DEMO_PASSWORD works.
    password = factory.django.Password(DEMO_PASSWORD)


class StateFactory(DjangoModelFactory):
    """A UN Member State. ``StateFactory(party=True)`` also makes it a party to the
    Firearms Protocol (see make_party)."""

    class Meta:
        model = State
        skip_postgeneration_save = True

    iso3 = factory.Sequence(lambda n: _letters(n, 3))
    iso2 = factory.Sequence(lambda n: _letters(n, 2))
    name = factory.LazyAttribute(lambda o: f"State {o.iso3}")
    regional_group = Group.AFRICAN
    kind = State.Kind.MEMBER_STATE

    @factory.post_generation
    def party(obj, create, extracted, **kwargs):
        if extracted and create:
            make_party(obj, instrument=extracted if isinstance(extracted, str) else PROTOCOL)


def make_party(state: State, instrument: str = PROTOCOL, status: str = TreatyStatus.Status.PARTY) -> State:
    """Record ``state`` as party (or ``status``) to ``instrument``; returns the State."""
    TreatyStatus.objects.update_or_create(state=state, instrument_code=instrument, defaults={"status": status})
    return state


class MembershipFactory(DjangoModelFactory):
    """A role for a person. Defaults to a focal point of a new State; pass
    ``role=Membership.Role.SECRETARIAT, state=None`` for the secretariat."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    state = factory.SubFactory(StateFactory)
    role = Membership.Role.FOCAL_POINT
    is_active = True


# --- Questionnaire content -------------------------------------------------------


def make_questionnaire(path: Path | str = MINI) -> dict[str, QuestionnaireVersion]:
    """Load a content file through the real loader; return {cluster code: version}
    (the version created, or the existing one when the content is unchanged)."""
    result = content.content_load(path=path)
    return {v.cluster.code: v for v in [*result.created, *result.unchanged]}


_real_parse = content.parse_content


@cache
def _parsed(path: str, mtime: float) -> content.ContentPlan:
    return _real_parse(path)


def _cached_parse(path):
    path = Path(path)
    return _parsed(str(path), path.stat().st_mtime)


def load_real_questionnaire() -> dict[str, QuestionnaireVersion]:
    """Load questionnaire/content/firearms_protocol.yaml. Parsing the real file is
    the slow part (about half a second), so it is parsed once per test session and
    the plan reused; the database rows are still created by the real loader, inside
    the test's transaction. Raises ContentError like the loader does."""
    with mock.patch.object(content, "parse_content", _cached_parse):
        return make_questionnaire(REAL)


def question(version: QuestionnaireVersion, code: str) -> Question:
    return Question.objects.get(version=version, code=code)


# --- Answering -------------------------------------------------------------------

_VALID_BY_KIND: dict[str, Any] = {
    "implementation": "yes",
    "yes_no": "yes",
    "legislation": [{"title": "Firearms Act 2020", "article": "s. 5", "link": "https://example.org/firearms-act"}],
    "long_text": "Our police and customs apply the law every day.",
    "text": "A short answer.",
    "number": 3,
    "technical_assistance": {"needed": False, "categories": [], "priority": "", "details": ""},
}


def valid_value(q: Question) -> Any:
    """A value a focal point could have typed for this question (stored form)."""
    if q.kind == "choice":
        return q.choices.order_by("order").values_list("code", flat=True)[0]
    if q.kind == "multi_choice":
        return [q.choices.order_by("order").values_list("code", flat=True)[0]]
    return _VALID_BY_KIND[q.kind]


def revisions(response: Response) -> dict[int, int]:
    """question id → stored revision: what an editor who just loaded the page holds."""
    return dict(Answer.objects.filter(response=response).values_list("question_id", "revision"))


def save(response: Response, by, values: dict[Question, Any]) -> list[Question]:
    """answers_save from the current revisions (an editor with a fresh page)."""
    return answers_save(response=response, by=by, values=values, base_revisions=revisions(response))


def fill_required(response: Response, by, overrides: dict[str, Any] | None = None) -> None:
    """Answer every required question that applies, through answers_save, until the
    response is complete. Answers open conditional questions (a status 'yes' asks for
    legislation), so this repeats until nothing is missing. ``overrides`` maps a
    question code to the value to give instead of the default valid one."""
    overrides = overrides or {}
    for _round in range(10):
        progress = response_progress(response)
        if progress.complete:
            return
        values = {q: overrides.get(q.code, valid_value(q)) for _article, q in progress.missing}
        save(response, by, values)
    raise AssertionError(f"still incomplete after 10 rounds: {[q.code for _a, q in response_progress(response).missing]}")


def six_months_from(day: datetime.date) -> datetime.date:
    from reviews.services import add_months

    return add_months(day, 6)


# --- The list of observations and the summary (reviews/services_observations.py) ---------


def review_to_drafting_observations(review, reviewer):
    """Move a submitted review on to "observations being drafted", as its reviewer
    does through the workflow (written feedback, then dialogue)."""
    from reviews.models import Review
    from reviews.services_workflow import review_transition

    for to in (Review.Status.WRITTEN_FEEDBACK, Review.Status.DIALOGUE, Review.Status.DRAFTING_OBSERVATIONS):
        review = review_transition(review=Review.objects.get(pk=review.pk), to=to, by=reviewer)
    return review


def second_reviewer(review):
    """A reviewer (expert) of the same-group reviewing State of ``review``."""
    from parties.models import Membership
    from reviews.models import ReviewerAssignment

    assignment = review.assignments.get(slot=ReviewerAssignment.Slot.SAME_GROUP)
    return MembershipFactory(
        role=Membership.Role.REVIEWER, state=assignment.reviewing_state, user__first_name="Sven", user__last_name="Second"
    ).user


def agree_by_all(observation, people):
    """Each of ``people`` records its State's agreement on ``observation``."""
    from reviews.models import Observation
    from reviews.services_observations import observation_agree

    for person in people:
        observation = observation_agree(observation=Observation.objects.select_related("review").get(pk=observation.pk), by=person)
    return observation
