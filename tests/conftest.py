"""Shared fixtures: the questionnaire under test and the people who use it.

Personas (each fixture returns the *User*; ``user.memberships.get()`` is its role):

- ``focal_point_a``, ``contributor_a``: answer for ``state_a``;
- ``focal_point_b``: focal point of ``state_b``, and must be refused everywhere on
  A's data;
- ``reviewer``: reviewer for the State that ``review_a`` assigns to review A in the
  other-group slot; ``unassigned_reviewer``: reviewer for a party State that is
  not assigned to ``review_a``;
- ``observer_a``: observer designated by ``state_a`` (read-only);
  ``observer_of_reviewer``: observer designated by the reviewer's State;
- ``secretariat``: secretariat staff (no State); ``anonymous``: not signed in.

Data:

- ``mini_versions``: tests/questionnaire/fixtures/mini.yaml loaded, {cluster code:
  version}; ``version`` is its cluster I (articles 5 and 14).
- ``parties``: 12 party States over the five regional groups, enough for a draw;
  ``state_a`` and ``state_b`` (both African) are among them.
- ``response_a``: the draft response of ``state_a`` to ``version``, due six months
  from today.
- ``review_a``: the review of ``state_a`` in a 2026 cycle of cluster I launched
  by the secretariat with seed "fixed".

``response_a`` and ``review_a`` are the same response whenever a test uses both:
a State has one response per questionnaire version, and ``cycle_launch`` adopts the
existing draft (with the same due date), whichever fixture runs first. So
``review_a.response_id == response_a.pk``; re-read rows (``refresh_from_db``) after
a service changed them.

Helpers that tests import: tests/factories.py (``fill_required``, ``save``,
``question``, ``make_questionnaire``, ``load_real_questionnaire``…).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from parties.models import Membership, State
from questionnaire.services import response_get_or_create
from reviews.models import Review, ReviewerAssignment
from reviews.services import cycle_launch
from tests.factories import MembershipFactory, StateFactory, make_questionnaire, six_months_from

Role = Membership.Role
Group = State.RegionalGroup


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches (questions by version and code, the presence touch memo)
    must not outlive a test whose rows were rolled back."""
    from questionnaire.answer_page import forget_version_rows
    from questionnaire.page_frame import forget_frames
    from questionnaire.recommendations import forget_local_copy
    from questionnaire.presence import presence_forget
    from django.core.cache import caches
    from questionnaire.selectors import clear_question_cache

    clear_question_cache()
    forget_version_rows()
    forget_frames()
    forget_local_copy()
    presence_forget()
    caches["fragments"].clear()
    yield


@pytest.fixture(autouse=True)
def _tasks_in_process():
    """Outside tests/jobs (which start a real worker and switch this off), a task
    enqueued after commit runs in process, as in the embedded mode, whether or
    not REDIS_URL is set: no stray messages in the shared broker."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    # PBKDF2 at full strength costs ~0.3 s per user; tests only need a hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Job results and uploads go to a per-test directory, never ./media.
    settings.MEDIA_ROOT = tmp_path / "media"


# --- Content ---------------------------------------------------------------------


@pytest.fixture
def mini_versions(db):
    return make_questionnaire()


@pytest.fixture
def version(mini_versions):
    """Cluster I of mini.yaml: articles 5 and 14, 21 questions."""
    return mini_versions["I"]


# --- States ----------------------------------------------------------------------


@pytest.fixture
def state_a(db):
    return StateFactory(name="Arcadia", regional_group=Group.AFRICAN, party=True)


@pytest.fixture
def state_b(db):
    return StateFactory(name="Borduria", regional_group=Group.AFRICAN, party=True)


# Besides state_a and state_b: 1 more African party and 9 in the other four groups.
OTHER_PARTIES = [
    ("Carpania", Group.AFRICAN),
    ("Dorvalia", Group.ASIA_PACIFIC),
    ("Elbonia", Group.ASIA_PACIFIC),
    ("Freedonia", Group.ASIA_PACIFIC),
    ("Genovia", Group.EASTERN_EUROPEAN),
    ("Hyrkania", Group.EASTERN_EUROPEAN),
    ("Illyria", Group.LATIN_AMERICAN_CARIBBEAN),
    ("Jamestan", Group.LATIN_AMERICAN_CARIBBEAN),
    ("Krakozhia", Group.WESTERN_EUROPEAN_OTHERS),
    ("Latveria", Group.WESTERN_EUROPEAN_OTHERS),
]


@pytest.fixture
def parties(state_a, state_b):
    """12 party States over the 5 regional groups (state_a and state_b first)."""
    return [state_a, state_b] + [StateFactory(name=name, regional_group=group, party=True) for name, group in OTHER_PARTIES]


# --- People ----------------------------------------------------------------------


def _person(role, state=None, **user):
    return MembershipFactory(role=role, state=state, **({"user__" + k: v for k, v in user.items()})).user


@pytest.fixture
def focal_point_a(state_a):
    return _person(Role.FOCAL_POINT, state_a, first_name="Ada", last_name="Focal")


@pytest.fixture
def contributor_a(state_a):
    return _person(Role.CONTRIBUTOR, state_a, first_name="Cora", last_name="Contributor")


@pytest.fixture
def focal_point_b(state_b):
    return _person(Role.FOCAL_POINT, state_b, first_name="Boris", last_name="Outsider")


@pytest.fixture
def secretariat(db):
    return _person(Role.SECRETARIAT, None, first_name="Sam", last_name="Secretariat")


@pytest.fixture
def anonymous():
    return AnonymousUser()


# --- Signing in (tests of the real sign-in forms) -------------------------------


@pytest.fixture
def fresh_sign_in_limits():
    """Sign-in rate limits and used TOTP codes live in the cache, and factories'
    e-mail addresses repeat from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def totp_secret(focal_point_a) -> str:
    """A's focal point has an authenticator app: the secret it holds."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(focal_point_a, secret)
    return secret


@pytest.fixture
def reviewer(review_a):
    """A reviewer of the State drawn for review_a's other-group slot."""
    assignment = review_a.assignments.get(slot=ReviewerAssignment.Slot.OTHER_GROUP)
    return _person(Role.REVIEWER, assignment.reviewing_state, first_name="Rita", last_name="Reviewer")


@pytest.fixture
def unassigned_reviewer(review_a, parties):
    """A reviewer of a party State that does not review State A."""
    assigned = set(review_a.assignments.values_list("reviewing_state_id", flat=True))
    state = next(s for s in parties[2:] if s.pk not in assigned)  # neither A nor B
    return _person(Role.REVIEWER, state, first_name="Ugo", last_name="Unassigned")


@pytest.fixture
def observer_a(state_a):
    """An observer designated by State A: reads A's reviews once submitted, never writes."""
    return _person(Role.OBSERVER, state_a, first_name="Olga", last_name="Observer")


@pytest.fixture
def observer_of_reviewer(review_a):
    """An observer designated by the State that reviews A in the other-group slot."""
    assignment = review_a.assignments.get(slot=ReviewerAssignment.Slot.OTHER_GROUP)
    return _person(Role.OBSERVER, assignment.reviewing_state, first_name="Otto", last_name="Onlooker")


# --- Responses and reviews ---------------------------------------------------------


@pytest.fixture
def response_a(state_a, version):
    """State A's draft response to ``version``, due six months from today — the
    same row as ``review_a.response`` when the test also uses review_a."""
    return response_get_or_create(state=state_a, version=version, due_date=six_months_from(timezone.localdate()))


@pytest.fixture
def review_a(parties, version, secretariat):
    """The review of State A (cluster I, 2026, seed "fixed"), with its assignments.

    Its response is loaded lazily: after a service changed the response (a
    submission), re-read the review (``Review.objects.get(pk=review_a.pk)``) as a
    view would, rather than trusting an already loaded ``review_a.response``."""
    state_a = parties[0]
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=[state_a], by=secretariat, seed="fixed")
    return Review.objects.select_related("state", "cycle").get(cycle=cycle, state=state_a)
