"""Query budgets of the busiest pages: a fixed number of queries whatever the
number of questions, answers, threads or States. Each test measures a small and a
large case, requires the same count, and pins it.

The counts include what every signed-in request costs: the session and the user
(2 queries), the user's roles (1), and at most once every SESSION_REFRESH_SECONDS
saving the session (3, in a savepoint; the budgets leave room for that request)."""

from __future__ import annotations

import pytest

from questionnaire.selectors import question_was_asked
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parties.models import Membership
from questionnaire.models import Article, Question
from questionnaire.services import response_get_or_create
from reviews import services as review_services
from reviews.models import Review, Thread
from tests.factories import MembershipFactory, fill_required, load_real_questionnaire

from .conftest import client_for, fresh_review, submit

pytestmark = pytest.mark.django_db

Role = Membership.Role
# measured: 12 (6 for the request: session, user, roles and the session saved in a savepoint;
# 6 for the page: response, article, questions, choices, answers, the list of articles)
ARTICLE_PAGE_BUDGET = 12
# measured: 13 (6 for the request, 4 for the responses and their progress, 3 for the reviews of the
# State and their reviewing States)
HOME_BUDGET = 13
# "What I must do next" (reviews.selectors.next_steps): the open reviews of the user's States with
# their focal points, assignments, experts and extensions, 5 queries whatever their number.
# Measured 14 with the session read from the cache, plus 3 when it is re-saved.
HOME_BUDGET += 4
OVERVIEW_BUDGET = 13  # measured: 13 (10, plus the assignments, the people who may draft and the previous version)
REVIEW_ARTICLE_BUDGET = 16  # 15 (the review and its 2 prefetches, then 1 query each for the article,
# questions, choices, answers, threads and comments), plus 1 for the answers' evidence; measured 14 on a
# request that does not save the session; then 1 more, the INSERT of the audit event that records the
# reading (audit: document_viewed): measured 16 in this test, the budget's spare query taken
SECRETARIAT_HOME_BUDGET = 8  # measured: 8 (the cycles and the jobs)
SECRETARIAT_HOME_BUDGET += 5  # next steps: the open reviews and their 4 prefetches (measured 9 in all, +3 session)


def queries(client, url: str) -> int:
    """Queries of one GET, after a first GET has warmed the caches."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url)
    assert page.status_code == 200
    return len(captured)


@pytest.fixture
def recommendations(db, django_capture_on_commit_callbacks):
    """The Working Group's recommendations panel of the article pages: the registry is
    read once per process and load (questionnaire/recommendations.py), so it costs 0
    queries on a warm page and is in neither budget."""
    from questionnaire import recommendations as recs

    with django_capture_on_commit_callbacks(execute=True):
        recs.recommendations_load()
    yield
    recs.registry_changed()


@pytest.fixture
def real_versions(version):
    """The real questionnaire, loaded after the mini one (so ``version`` stays the mini)."""
    return load_real_questionnaire()


def biggest_article(versions) -> Article:
    return (
        Article.objects.filter(version__in=versions.values())
        .annotate(n=Count("questions"))
        .order_by("-n", "pk")
        .select_related("version")
        .first()
    )


def test_it_renders_an_article_page_in_the_same_few_queries_whatever_its_size(
    focal_point_a, state_a, response_a, real_versions, recommendations, django_assert_max_num_queries
):
    article = biggest_article(real_versions)
    assert article.questions.count() >= 50
    real_response = response_get_or_create(state=state_a, version=article.version, due_date=None)
    fill_required(response_a, focal_point_a)
    fill_required(real_response, focal_point_a)
    client = client_for(focal_point_a)
    small_url = reverse("questionnaire:article", args=[response_a.pk, 14])  # 5 questions
    big_url = reverse("questionnaire:article", args=[real_response.pk, article.number])

    small, big = queries(client, small_url), queries(client, big_url)

    assert small == big, f"mini article: {small} queries, article {article.number} of the real questionnaire: {big}"
    with django_assert_max_num_queries(ARTICLE_PAGE_BUDGET):
        page = client.get(big_url)
    assert b'<details class="recommendations' in page.content


def test_it_renders_a_focal_points_home_in_the_same_queries_however_many_states_and_questions(
    focal_point_a, review_a, response_a, secretariat, parties, real_versions, django_assert_max_num_queries
):
    small_client = client_for(focal_point_a)
    small = queries(small_client, reverse("home"))

    # A focal point of three States, each with a response to every real cluster,
    # answered, and under review in a cycle of its own cluster.
    big_user = MembershipFactory(role=Role.FOCAL_POINT, state=parties[2]).user
    for state in parties[3:5]:
        MembershipFactory(role=Role.FOCAL_POINT, state=state, user=big_user)
    for state in parties[2:5]:
        for v in real_versions.values():
            fill_required(response_get_or_create(state=state, version=v, due_date=None), big_user)
    for year, v in enumerate(real_versions.values(), start=2030):
        review_services.cycle_launch(cluster=v.cluster, year=year, states=parties[2:5], by=secretariat, seed="budget")
    assert Review.objects.filter(state__in=parties[2:5]).count() == 3 * len(real_versions)

    big_client = client_for(big_user)
    big = queries(big_client, reverse("home"))

    assert small == big, f"one State, mini questionnaire: {small} queries; three States, real questionnaire: {big}"
    with django_assert_max_num_queries(HOME_BUDGET):
        big_client.get(reverse("home"))


def test_it_renders_the_response_overview_in_the_same_queries_whatever_its_size(
    focal_point_a, state_a, response_a, real_versions, django_assert_max_num_queries
):
    real_response = response_get_or_create(state=state_a, version=real_versions["I"], due_date=None)
    fill_required(real_response, focal_point_a)
    client = client_for(focal_point_a)

    small = queries(client, reverse("questionnaire:response", args=[response_a.pk]))
    big = queries(client, reverse("questionnaire:response", args=[real_response.pk]))

    assert Question.objects.filter(version=real_versions["I"]).count() > 100
    assert small == big, f"mini: {small} queries, real cluster I: {big}"
    with django_assert_max_num_queries(OVERVIEW_BUDGET):
        client.get(reverse("questionnaire:response", args=[real_response.pk]))


def start_threads(review, questions, reviewer, state_person, per_question: int = 1):
    review = fresh_review(review)
    for q in questions:
        for _ in range(per_question):
            thread = review_services.thread_start(
                review=review, question=q, kind=Thread.Kind.COMMENT, body=f"About {q.code}?", by=reviewer
            )
            thread.review = review
            review_services.comment_add(thread=thread, body="Here is more.", by=state_person)
            review_services.comment_add(thread=thread, body="Thank you.", by=reviewer)


def attach_evidence(response, questions, by) -> None:
    """A file and a citation on every question (whether asked or not)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from questionnaire import evidence as ev

    document = ev.evidence_upload(state=response.state, upload=SimpleUploadedFile("act.pdf", b"%PDF-1.4\n%%EOF\n"), by=by)
    for i, q in enumerate(questions):
        ev.answer_evidence_add(response=response, question=q, evidence=document.evidence, by=by)
        ev.answer_evidence_add(response=response, question=q, citation=ev.CitationData(title=f"Act {i}", article="s. 1"), by=by)


def test_it_renders_a_reviewers_article_page_in_the_same_queries_whatever_its_size(
    reviewer, focal_point_a, review_a, submitted_a, version, secretariat, parties, state_b, real_versions,
    recommendations, django_assert_max_num_queries
):
    # Small: the mini article 14 (5 questions) with one thread.
    start_threads(review_a, Question.objects.filter(version=version, article__number=14)[:1], reviewer, focal_point_a)
    small = queries(client_for(reviewer), reverse("reviews:article", args=[review_a.pk, 14]))

    # Large: the biggest real article, every answer discussed in two threads with
    # three comments each, by the two reviewing States and the State under review.
    article = biggest_article(real_versions)
    cycle = review_services.cycle_launch(cluster=article.version.cluster, year=2031, states=[state_b], by=secretariat,
                                         seed="big")
    review = Review.objects.get(cycle=cycle)
    assert review.response.version_id == article.version_id
    focal_point = MembershipFactory(role=Role.FOCAL_POINT, state=state_b).user
    attach_evidence(review.response, Question.objects.filter(article=article), focal_point)
    submit(review.response, focal_point)
    reviewers = [MembershipFactory(role=Role.REVIEWER, state=a.reviewing_state).user for a in review.assignments.all()]
    asked = [
        q for q in Question.objects.filter(article=article).select_related("condition_question")
        if question_was_asked(response=review.response, question=q)
    ]
    for person in reviewers:
        start_threads(review, asked, person, focal_point)
    assert Thread.objects.filter(review=review).count() == 2 * len(asked)

    big_client = client_for(reviewers[0])
    big = queries(big_client, reverse("reviews:article", args=[review.pk, article.number]))

    assert small == big, f"one thread on 5 questions: {small} queries; {2 * len(asked)} threads on {len(asked)}: {big}"
    with django_assert_max_num_queries(REVIEW_ARTICLE_BUDGET):
        page = big_client.get(reverse("reviews:article", args=[review.pk, article.number]))
    assert b'<details class="recommendations' in page.content


def test_it_renders_the_secretariats_home_in_the_same_queries_however_many_cycles(
    secretariat, review_a, parties, real_versions, django_assert_max_num_queries
):
    client = client_for(secretariat)
    small = queries(client, reverse("home"))
    for year, v in enumerate(real_versions.values(), start=2030):
        review_services.cycle_launch(cluster=v.cluster, year=year, states=parties[1:6], by=secretariat, seed="many")

    big = queries(client, reverse("home"))

    assert small == big, f"one cycle: {small} queries; {1 + len(real_versions)} cycles: {big}"
    with django_assert_max_num_queries(SECRETARIAT_HOME_BUDGET):
        client.get(reverse("home"))



# The whole cluster on one page: the same queries as one article (the questions of
# every article come in the same query), whatever the number of questions.
CLUSTER_PAGE_BUDGET = ARTICLE_PAGE_BUDGET


def test_it_renders_the_whole_cluster_page_in_the_same_queries_whatever_its_size(
    focal_point_a, state_a, response_a, real_versions, django_assert_max_num_queries
):
    big_version = real_versions["I"]
    assert big_version.questions.count() >= 150
    real_response = response_get_or_create(state=state_a, version=big_version, due_date=None)
    fill_required(response_a, focal_point_a)
    fill_required(real_response, focal_point_a)
    client = client_for(focal_point_a)
    small_url = reverse("questionnaire:cluster", args=[response_a.pk])
    big_url = reverse("questionnaire:cluster", args=[real_response.pk])

    small, big = queries(client, small_url), queries(client, big_url)

    assert small == big, f"mini cluster: {small} queries, real cluster I: {big}"
    with django_assert_max_num_queries(CLUSTER_PAGE_BUDGET):
        client.get(big_url)


# --- The dialogue lists and the observations page (reviews/views_dialogue.py, views_observations.py) ---

# measured: 8 (the request's session, user and roles; the review and its 2 prefetches; the page of
# threads with their State, article, people and comment counts; the articles to filter by)
THREAD_LIST_BUDGET = 8
# measured: 6 (the request's 3; the page of threads, the States and the article numbers to filter by)
MY_THREADS_BUDGET = 6
# measured: 14 (the request's 3; the review's 3; the articles, the observations with their comments and
# agreements, the summary, what keeps the summary from starting, the final documents)
OBSERVATIONS_BUDGET = 14


def _many_threads(review, reviewer, focal_point, version, n_questions: int):
    review = fresh_review(review)
    asked = [q for q in Question.objects.filter(version=version).order_by("order") if question_was_asked(response=review.response, question=q)]
    start_threads(review, asked[:n_questions], reviewer, focal_point)
    return asked


def test_it_lists_threads_in_the_same_queries_however_many(
    reviewer, focal_point_a, review_a, submitted_a, version, django_assert_max_num_queries
):
    client = client_for(reviewer)
    review_url = reverse("reviews:review_threads", args=[review_a.pk])
    mine_url = reverse("reviews:my_threads")
    _many_threads(review_a, reviewer, focal_point_a, version, 1)
    small_review, small_mine = queries(client, review_url), queries(client, mine_url)

    _many_threads(review_a, reviewer, focal_point_a, version, 12)
    assert Thread.objects.filter(review=review_a).count() >= 10

    assert queries(client, review_url) == small_review
    assert queries(client, mine_url) == small_mine
    with django_assert_max_num_queries(THREAD_LIST_BUDGET):
        client.get(review_url)
    with django_assert_max_num_queries(MY_THREADS_BUDGET):
        client.get(mine_url)


def test_it_renders_the_observations_page_in_the_same_queries_however_many(
    reviewer, focal_point_a, contributor_a, review_a, submitted_a, version, django_assert_max_num_queries
):
    from questionnaire.models import Article
    from reviews.services_observations import observation_agree, observation_comment, observation_create

    client = client_for(reviewer)
    url = reverse("reviews:observations", args=[review_a.pk])
    articles = list(Article.objects.filter(version=version))

    def add(n: int) -> None:
        for i in range(n):
            o = observation_create(
                review=fresh_review(review_a), article=articles[i % len(articles)], kind="gap", text=f"Gap {i}.", by=reviewer
            )
            o.review = fresh_review(review_a)
            observation_comment(observation=o, body="We see it differently.", by=contributor_a)
            observation_agree(observation=o, by=focal_point_a)

    add(1)
    small = queries(client, url)
    add(15)

    assert queries(client, url) == small
    with django_assert_max_num_queries(OBSERVATIONS_BUDGET):
        client.get(url)


# measured: 3 (the request's, then the notifications with their review, thread, question and actor in one)
NOTIFICATIONS_BUDGET = 3


def test_it_lists_notifications_in_the_same_queries_however_many(
    reviewer, focal_point_a, review_a, submitted_a, version, django_assert_max_num_queries
):
    client = client_for(focal_point_a)
    url = reverse("reviews:notifications")
    _many_threads(review_a, reviewer, focal_point_a, version, 1)
    small = queries(client, url)
    _many_threads(review_a, reviewer, focal_point_a, version, 12)

    assert queries(client, url) == small
    with django_assert_max_num_queries(NOTIFICATIONS_BUDGET):
        client.get(url)


# --- Reports (reviews/views_reports.py) ---------------------------------------------------
# measured: 5 (the request's, then 3: completion by cluster and group, review status, TA needs)
DASHBOARD_BUDGET = 5 + 3  # + the session saved now and then
# measured: 9 (the request's, the cycle, the audit event of the download, then the CSV's own 5:
# first review, articles, questions, choices, the answers through a server-side cursor)
CYCLE_CSV_BUDGET = 8 + 3


def _more_submitted_states(parties, version, secretariat, year: int):
    from questionnaire.services import response_submit
    from reviews.services import cycle_launch

    states = parties[1:7]  # besides A (under review_a); no two of one small group
    cycle = cycle_launch(cluster=version.cluster, year=year, states=states, by=secretariat, seed="budget")
    for review in Review.objects.filter(cycle=cycle).select_related("response", "state"):
        person = MembershipFactory(role=Role.FOCAL_POINT, state=review.state).user
        fill_required(review.response, person)
        response_submit(response=review.response.__class__.objects.get(pk=review.response_id), by=person)
    return cycle


def test_the_dashboard_costs_the_same_queries_however_many_reviews(
    submitted_a, parties, version, secretariat, django_assert_max_num_queries
):
    client = client_for(secretariat)
    url = reverse("reviews:dashboard")
    small = queries(client, url)
    _more_submitted_states(parties, version, secretariat, 2025)

    assert queries(client, url) == small
    with django_assert_max_num_queries(DASHBOARD_BUDGET):
        client.get(url)


def test_the_cycle_csv_costs_the_same_queries_however_many_states(
    submitted_a, review_a, parties, version, secretariat, django_assert_max_num_queries
):
    client = client_for(secretariat)

    def csv_queries(cycle_id):
        url = reverse("reviews:cycle_csv", args=[cycle_id])
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url)
            b"".join(page.streaming_content)
        return len(captured)

    csv_queries(review_a.cycle_id)  # warm
    small = csv_queries(review_a.cycle_id)  # 1 State
    large = csv_queries(_more_submitted_states(parties, version, secretariat, 2025).pk)  # 6 States
    assert large == small <= CYCLE_CSV_BUDGET


def test_it_renders_a_review_page_in_the_same_queries_whatever_its_size(
    reviewer, focal_point_a, review_a, submitted_a, version, secretariat, state_b, real_versions
):
    """The review page (its articles, thread counts, status, deadlines, actions): the
    mini questionnaire with one thread, then the real cluster with a thread on every
    answer of its biggest article."""
    start_threads(review_a, Question.objects.filter(version=version, article__number=14)[:1], reviewer, focal_point_a)
    small = queries(client_for(reviewer), reverse("reviews:review", args=[review_a.pk]))

    article = biggest_article(real_versions)
    cycle = review_services.cycle_launch(cluster=article.version.cluster, year=2032, states=[state_b], by=secretariat,
                                         seed="big")
    review = Review.objects.get(cycle=cycle)
    focal_point = MembershipFactory(role=Role.FOCAL_POINT, state=state_b).user
    fill_required(review.response, focal_point)
    submit(review.response, focal_point)
    big_reviewer = MembershipFactory(role=Role.REVIEWER, state=review.assignments.first().reviewing_state).user
    asked = [
        q for q in Question.objects.filter(article=article).select_related("condition_question")
        if question_was_asked(response=review.response, question=q)
    ]
    start_threads(review, asked, big_reviewer, focal_point)

    big = queries(client_for(big_reviewer), reverse("reviews:review", args=[review.pk]))

    assert small == big, f"mini review: {small} queries; {len(asked)} threads on the real cluster: {big}"
