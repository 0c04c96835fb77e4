"""Who may see and act on a review, and the helpers every view uses to load one.

A review is seen by the secretariat, by the State under review (its focal points,
contributors and observers), by the reviewers of the two reviewing States and by
the observers those States designate. Nobody but the State reads answers before
the response is submitted; observers never write."""

from __future__ import annotations

import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from parties.models import Membership
from parties.permissions import is_secretariat, roles_of
from questionnaire.models import Response

from .models import FinalDocument, Job, Observation, Review, ReviewerAssignment, Thread

Role = Membership.Role


def reviewing_state_ids(review: Review) -> set[int]:
    # Assignments are prefetched by get_review_for_user; .all() then costs nothing.
    return {a.reviewing_state_id for a in review.assignments.all()}


@rules.predicate
def is_assigned_reviewer(user, review: Review) -> bool:
    return bool(roles_of(user).states_with(Role.REVIEWER) & reviewing_state_ids(review))


@rules.predicate
def is_of_state_under_review(user, review: Review) -> bool:
    return roles_of(user).has(review.state_id, Role.FOCAL_POINT, Role.CONTRIBUTOR, Role.OBSERVER)


@rules.predicate
def answers_for_state_under_review(user, review: Review) -> bool:
    return roles_of(user).has(review.state_id, Role.FOCAL_POINT, Role.CONTRIBUTOR)


@rules.predicate
def is_focal_point_of_state_under_review(user, review: Review) -> bool:
    return roles_of(user).has(review.state_id, Role.FOCAL_POINT)


@rules.predicate
def is_observer_of_reviewing_state(user, review: Review) -> bool:
    """Observers (read-only) designated by a reviewing State."""
    return bool(roles_of(user).states_with(Role.OBSERVER) & reviewing_state_ids(review))


@rules.predicate
def response_is_submitted(user, review: Review) -> bool:
    return review.response.status == Response.Status.SUBMITTED


can_view_review = is_secretariat | is_assigned_reviewer | is_of_state_under_review | is_observer_of_reviewing_state
can_read_answers = (
    is_secretariat | is_assigned_reviewer | is_of_state_under_review | is_observer_of_reviewing_state
) & response_is_submitted
can_comment = is_assigned_reviewer & response_is_submitted
can_reply = answers_for_state_under_review & response_is_submitted

rules.add_perm("reviews.view_review", can_view_review)
rules.add_perm("reviews.read_answers", can_read_answers)
rules.add_perm("reviews.comment", can_comment)
rules.add_perm("reviews.reply", can_reply)
# The list of observations and the summary (reviews/services_observations.py):
# reviewers draft; the State under review and the reviewers comment; each State
# agrees and clears through its focal point (a reviewing State through its
# experts); the secretariat finalizes. Observers hold none of these.
rules.add_perm("reviews.draft_observations", can_comment)
rules.add_perm("reviews.comment_observations", can_comment | can_reply)
rules.add_perm("reviews.agree", (is_assigned_reviewer | is_focal_point_of_state_under_review) & response_is_submitted)
rules.add_perm("reviews.finalize", is_secretariat & response_is_submitted)
rules.add_perm("reviews.manage_cycles", is_secretariat)
rules.add_perm("reviews.run_jobs", is_secretariat)


# --- The workflow (reviews/services_workflow.py; the table of who moves what is there) ---


@rules.predicate
def leads_state_under_review(user, review: Review) -> bool:
    return roles_of(user).has(review.state_id, Role.FOCAL_POINT)


@rules.predicate
def leads_a_reviewing_state(user, review: Review) -> bool:
    return bool(roles_of(user).states_with(Role.FOCAL_POINT) & reviewing_state_ids(review))


rules.add_perm("reviews.confirm_appointments", is_secretariat)
rules.add_perm("reviews.prepare_self_assessment", leads_state_under_review)
rules.add_perm("reviews.advance_review", is_assigned_reviewer & response_is_submitted)
rules.add_perm(
    "reviews.record_agreement",
    is_secretariat | ((leads_state_under_review | leads_a_reviewing_state | is_assigned_reviewer) & response_is_submitted),
)
if not rules.perm_exists("reviews.finalize"):
    rules.add_perm("reviews.finalize", is_secretariat & response_is_submitted)
rules.add_perm("reviews.manage_deadlines", is_secretariat)
rules.add_perm("reviews.appoint_own_focal_point", is_secretariat | leads_state_under_review)
rules.add_perm("reviews.overview", is_secretariat)


@rules.predicate
def acts_for_reviewing_state(user, assignment: ReviewerAssignment) -> bool:
    return roles_of(user).has(assignment.reviewing_state_id, Role.FOCAL_POINT, Role.REVIEWER)


@rules.predicate
def leads_reviewing_state(user, assignment: ReviewerAssignment) -> bool:
    return roles_of(user).has(assignment.reviewing_state_id, Role.FOCAL_POINT)


# A reviewing State's page of one review it carries: its focal point and experts
# for it. It shows no answer: reading them stays under reviews.read_answers.
rules.add_perm("reviews.view_assignment", is_secretariat | acts_for_reviewing_state)
rules.add_perm("reviews.appoint_for_assignment", is_secretariat | leads_reviewing_state)
rules.add_perm("reviews.change_draw", is_secretariat)


def get_assignment_for_user(user, pk: int, perm: str = "reviews.view_assignment") -> ReviewerAssignment:
    try:
        assignment = ReviewerAssignment.objects.select_related(
            "reviewing_state", "review__state", "review__cycle__cluster__instrument", "review__response"
        ).get(pk=pk)
    except (ReviewerAssignment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not user.has_perm("reviews.view_assignment", assignment):
        raise Http404
    if perm != "reviews.view_assignment" and not user.has_perm(perm, assignment):
        raise PermissionDenied
    return assignment


def get_review_for_user(user, pk: int, perm: str = "reviews.view_review") -> Review:
    try:
        review = (
            Review.objects.select_related("state", "response__version__cluster__instrument", "cycle__cluster")
            .prefetch_related("assignments__reviewing_state")
            .get(pk=pk)
        )
    except (Review.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not user.has_perm("reviews.view_review", review):
        raise Http404
    if perm != "reviews.view_review" and not user.has_perm(perm, review):
        raise PermissionDenied
    return review


def get_thread_for_user(user, pk: int, perm: str) -> Thread:
    try:
        thread = Thread.objects.select_related("review", "question").get(pk=pk)
    except (Thread.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    review = get_review_for_user(user, thread.review_id, perm)
    thread.review = review
    return thread


def get_observation_for_user(user, pk: int, perm: str) -> Observation:
    """An observation of a review the user may read (404 otherwise), checked
    against ``perm`` on its review (403)."""
    try:
        observation = Observation.objects.select_related("article").get(pk=pk)
    except (Observation.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    review = get_review_for_user(user, observation.review_id, "reviews.view_review")
    if not user.has_perm("reviews.read_answers", review):
        raise Http404
    if perm not in ("reviews.view_review", "reviews.read_answers") and not user.has_perm(perm, review):
        raise PermissionDenied
    observation.review = review
    return observation


def get_final_document_for_user(user, pk: int) -> FinalDocument:
    """A final document: for whoever reads the review's answers."""
    try:
        document = FinalDocument.objects.get(pk=pk)
    except (FinalDocument.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    review = get_review_for_user(user, document.review_id)
    if not user.has_perm("reviews.read_answers", review):
        raise Http404
    document.review = review
    return document


def get_job_for_user(user, pk: int) -> Job:
    """Jobs are the secretariat's; a review summary is also for that review's people."""
    try:
        job = Job.objects.select_related("requested_by").get(pk=pk)
    except (Job.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if roles_of(user).secretariat:
        return job
    raise Http404


# --- Technical-assistance needs (reviews/services_ta.py) ---
# A State's needs: its own people, the reviewers of its submitted reviews and the
# secretariat read them; its focal point and the secretariat move their status;
# only the secretariat starts a delivery and compiles them all.


@rules.predicate
def is_of_need_state(user, state) -> bool:
    return roles_of(user).has(state.pk, Role.FOCAL_POINT, Role.CONTRIBUTOR, Role.OBSERVER)


@rules.predicate
def reviews_need_state(user, state) -> bool:
    from .models import ReviewerAssignment

    mine = roles_of(user).states_with(Role.REVIEWER)
    return bool(mine) and ReviewerAssignment.objects.filter(
        review__state=state, reviewing_state_id__in=mine, review__response__status=Response.Status.SUBMITTED
    ).exists()


@rules.predicate
def leads_need_state(user, need) -> bool:
    return roles_of(user).has(need.state_id, Role.FOCAL_POINT)


rules.add_perm("reviews.view_ta_needs", is_secretariat | is_of_need_state | reviews_need_state)
rules.add_perm("reviews.move_ta_need", is_secretariat | leads_need_state)
rules.add_perm("reviews.deliver_ta_need", is_secretariat)
rules.add_perm("reviews.compile_ta", is_secretariat)


@rules.predicate
def leads_state(user, state) -> bool:
    return roles_of(user).has(state.pk, Role.FOCAL_POINT)


rules.add_perm("reviews.refresh_ta_needs", is_secretariat | leads_state)


def get_ta_state_for_user(user, iso3: str):
    """The State whose technical-assistance needs ``user`` may read (404 otherwise)."""
    from parties.models import State

    try:
        state = State.objects.get(iso3=str(iso3).upper())
    except State.DoesNotExist:
        raise Http404 from None
    if not user.has_perm("reviews.view_ta_needs", state):
        raise Http404
    return state


def get_ta_need_for_user(user, pk: int, perm: str = "reviews.view_ta_needs"):
    """A need of a State ``user`` may read (404), checked against ``perm`` (403)."""
    from .models import TechnicalAssistanceNeed

    try:
        need = TechnicalAssistanceNeed.objects.select_related("state", "article").get(pk=pk)
    except (TechnicalAssistanceNeed.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not user.has_perm("reviews.view_ta_needs", need.state):
        raise Http404
    if perm != "reviews.view_ta_needs" and not user.has_perm(perm, need):
        raise PermissionDenied
    return need


# --- Expertise offers and matching, the recommendations registry (reviews/services_registry.py) ---


@rules.predicate
def is_of_offering_state(user, state) -> bool:
    return roles_of(user).has(getattr(state, "pk", None), *Membership.STATE_ROLES)


@rules.predicate
def leads_offering_state(user, state) -> bool:
    return roles_of(user).has(getattr(state, "pk", None), Role.FOCAL_POINT)


# A State's offers are read by its people and the secretariat, recorded by its focal points.
rules.add_perm("reviews.view_offers", is_secretariat | is_of_offering_state)
rules.add_perm("reviews.record_offers", leads_offering_state)
rules.add_perm("reviews.record_programme_offers", is_secretariat)
rules.add_perm("reviews.match_expertise", is_secretariat)
rules.add_perm("reviews.registry_counts", is_secretariat)


def get_offer_state_for_user(user, iso3: str, perm: str = "reviews.view_offers"):
    """The State whose offers ``user`` may read (404 otherwise), checked against ``perm`` (403)."""
    from parties.models import State

    try:
        state = State.objects.get(iso3=str(iso3).upper())
    except State.DoesNotExist:
        raise Http404 from None
    if not user.has_perm("reviews.view_offers", state):
        raise Http404
    if perm != "reviews.view_offers" and not user.has_perm(perm, state):
        raise PermissionDenied
    return state


def get_offer_for_user(user, pk: int):
    """An offer ``user`` may read (404), that ``user`` may withdraw (403)."""
    from .models import ExpertiseOffer

    try:
        offer = ExpertiseOffer.objects.select_related("state").get(pk=pk)
    except ExpertiseOffer.DoesNotExist:
        raise Http404 from None
    if offer.state_id is None:
        if not is_secretariat(user):
            raise Http404
        return offer
    if not user.has_perm("reviews.view_offers", offer.state):
        raise Http404
    if not user.has_perm("reviews.record_offers", offer.state):
        raise PermissionDenied
    return offer
