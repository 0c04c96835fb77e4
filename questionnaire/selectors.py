"""Read-side queries shared by views, exports and jobs, each written to a fixed
number of queries whatever the number of questions, answers or States."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from parties.permissions import roles_of

from .kinds import kind_of
from .models import Answer, Article, ArticleAssignment, Choice, Question, QuestionnaireVersion, Response
from .permissions import ANSWERING_ROLES


def version_questions(version_id: int, article: Article | None = None, code: str | None = None) -> list[Question]:
    """Questions in order, with their choices: two queries."""
    qs = Question.objects.filter(version_id=version_id).prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("order"))
    ).select_related("provision")
    if article is not None:
        qs = qs.filter(article=article)
    if code is not None:
        qs = qs.filter(code=code)
    return list(qs.order_by("order"))


# Published questionnaire versions never change (an edit makes a new version), so
# a question looked up by (version, code) can be kept for the life of the process.
# Bounded: the whole questionnaire is a few thousand rows.
_QUESTION_CACHE: dict[tuple[int, str], Question] = {}
_LOADED_VERSIONS: set[int] = set()
_QUESTION_CACHE_MAX = 20_000


def version_question(version_id: int, code: str) -> Question | None:
    """One question of a version by its code, with its choices; the first lookup
    loads the whole version at once (two queries: a person filling a cluster then
    costs no query per question), and a code the version does not have costs none."""
    key = (version_id, code)
    question = _QUESTION_CACHE.get(key)
    if question is None and version_id not in _LOADED_VERSIONS:
        if len(_QUESTION_CACHE) >= _QUESTION_CACHE_MAX:
            clear_question_cache()
        for q in version_questions(version_id):
            _QUESTION_CACHE[(version_id, q.code)] = q
        _LOADED_VERSIONS.add(version_id)
        question = _QUESTION_CACHE.get(key)
    return question


_VERSIONS: dict[int, tuple[float, QuestionnaireVersion]] = {}
# A published version never changes; its cluster's and instrument's titles can be
# reloaded with the content, which a process then shows within this long.
VERSION_MAX_AGE_SECONDS = 300


def version_with_cluster(version_id: int) -> QuestionnaireVersion:
    """A version with its cluster and instrument, kept per process (every answering
    page shows them): a query per process and five minutes, not per page."""
    entry = _VERSIONS.get(version_id)
    now = time.monotonic()
    if entry is None or now - entry[0] > VERSION_MAX_AGE_SECONDS:
        version = QuestionnaireVersion.objects.select_related("cluster__instrument").get(pk=version_id)
        entry = _VERSIONS[version_id] = (now, version)
    return entry[1]


def clear_question_cache() -> None:
    """For tests, whose rolled-back rows may reuse ids."""
    _QUESTION_CACHE.clear()
    _LOADED_VERSIONS.clear()
    _VERSIONS.clear()


def is_applicable(question: Question, values: dict[int, Any], applicable: dict[int, bool]) -> bool:
    """A question is asked when it has no condition, or when the question it depends
    on is itself asked and its answer is one of the listed values. Conditions only
    point at earlier questions, so one pass in order settles every question."""
    target = question.condition_question_id
    if target is None:
        return True
    if not applicable.get(target, True):
        return False
    value = values.get(target)
    if isinstance(value, list):
        return any(v in question.condition_values for v in value)
    return value in question.condition_values


class AskedWalk:
    """Which stored answers were asked, for exports that stream the answers of many
    responses ordered by response and then question order: a question whose condition
    does not hold in its response (a "challenges" answer kept from before the status
    became "yes") is not exported as answered. Only the values that conditions read
    are kept, and only for the response being walked."""

    def __init__(self, questions: Iterable[Question]):
        self.by_id = {q.pk: q for q in questions}
        self.targets = {q.condition_question_id for q in self.by_id.values() if q.condition_question_id}
        self._response = None
        self._values: dict[int, Any] = {}
        self._applicable: dict[int, bool] = {}

    def reads(self, question_id: int) -> bool:
        """Whether conditions read this question's value (pass it to ``asked``)."""
        return question_id in self.targets

    def asked(self, response_id: int, question_id: int, value: Any = None) -> bool:
        if response_id != self._response:
            self._response, self._values, self._applicable = response_id, {}, {}
        if question_id in self.targets:
            self._values[question_id] = value
        question = self.by_id[question_id]
        asked = self._applicable[question_id] = is_applicable(question, self._values, self._applicable)
        return asked


@dataclass
class ArticleProgress:
    article_id: int
    number: int
    title: str
    required: int = 0
    answered_required: int = 0
    answered: int = 0
    missing: list[Question] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return 100 if not self.required else round(100 * self.answered_required / self.required)

    @property
    def complete(self) -> bool:
        return self.answered_required == self.required


@dataclass
class Progress:
    articles: list[ArticleProgress]

    @property
    def required(self) -> int:
        return sum(a.required for a in self.articles)

    @property
    def answered_required(self) -> int:
        return sum(a.answered_required for a in self.articles)

    @property
    def percent(self) -> int:
        return 100 if not self.required else round(100 * self.answered_required / self.required)

    @property
    def complete(self) -> bool:
        return all(a.complete for a in self.articles)

    @property
    def missing(self) -> list[tuple[ArticleProgress, Question]]:
        return [(a, q) for a in self.articles for q in a.missing]


def compute_progress(
    articles: Iterable[Article],
    questions: list[Question],
    values: dict[int, Any],
    unconfirmed: frozenset[int] | set[int] = frozenset(),
) -> Progress:
    """``unconfirmed``: questions whose answer was carried over and not yet
    confirmed; their values open conditions but do not count as answered."""
    by_article = {a.pk: ArticleProgress(article_id=a.pk, number=a.number, title=a.title) for a in articles}
    applicable: dict[int, bool] = {}
    for q in questions:
        applicable[q.pk] = is_applicable(q, values, applicable)
        if not applicable[q.pk]:
            continue
        progress = by_article[q.article_id]
        answered = q.pk not in unconfirmed and kind_of(q).is_answered(values.get(q.pk))
        progress.answered += answered
        # A carried-over answer must be confirmed before submission, required or not.
        if q.required or q.pk in unconfirmed:
            progress.required += 1
            if answered:
                progress.answered_required += 1
            else:
                progress.missing.append(q)
    return Progress(articles=list(by_article.values()))


def question_was_asked(*, response: Response, question: Question) -> bool:
    """Whether the question's conditions (the whole chain) hold in this response."""
    values = answer_values(response)
    applicable: dict[int, bool] = {}
    chain = []
    current = question
    while current is not None:
        chain.append(current)
        current = current.condition_question
    for q in reversed(chain):
        applicable[q.pk] = is_applicable(q, values, applicable)
    return applicable[question.pk]


def answer_values(response: Response) -> dict[int, Any]:
    return dict(Answer.objects.filter(response=response).values_list("question_id", "value"))


def answer_state(response: Response) -> tuple[dict[int, Any], set[int]]:
    """Stored values by question id, and the questions whose answer awaits confirmation."""
    values, unconfirmed = {}, set()
    for question_id, value, carried_over in Answer.objects.filter(response=response).values_list(
        "question_id", "value", "carried_over"
    ):
        values[question_id] = value
        if carried_over:
            unconfirmed.add(question_id)
    return values, unconfirmed


def response_progress(response: Response) -> Progress:
    """Progress per article of one response: three queries."""
    articles = list(Article.objects.filter(version_id=response.version_id).order_by("order"))
    questions = list(Question.objects.filter(version_id=response.version_id).order_by("order"))
    values, unconfirmed = answer_state(response)
    return compute_progress(articles, questions, values, unconfirmed)


def responses_progress(responses: list[Response]) -> dict[int, Progress]:
    """Progress of many responses at once: three queries in all."""
    version_ids = {r.version_id for r in responses}
    articles_by_version: dict[int, list[Article]] = defaultdict(list)
    for article in Article.objects.filter(version_id__in=version_ids).order_by("order"):
        articles_by_version[article.version_id].append(article)
    questions_by_version: dict[int, list[Question]] = defaultdict(list)
    for question in Question.objects.filter(version_id__in=version_ids).order_by("order"):
        questions_by_version[question.version_id].append(question)
    values: dict[int, dict[int, Any]] = defaultdict(dict)
    unconfirmed: dict[int, set[int]] = defaultdict(set)
    for response_id, question_id, value, carried_over in Answer.objects.filter(response__in=responses).values_list(
        "response_id", "question_id", "value", "carried_over"
    ):
        values[response_id][question_id] = value
        if carried_over:
            unconfirmed[response_id].add(question_id)
    return {
        r.pk: compute_progress(
            articles_by_version[r.version_id], questions_by_version[r.version_id], values[r.pk], unconfirmed[r.pk]
        )
        for r in responses
    }


def previous_response(response: Response) -> Response | None:
    """The State's response to the latest earlier version of the same cluster."""
    return (
        Response.objects.filter(
            state_id=response.state_id,
            version__cluster_id=response.version.cluster_id,
            version__number__lt=response.version.number,
        )
        .select_related("version")
        .order_by("-version__number")
        .first()
    )


def assignments_by_article(response: Response) -> dict[int, list]:
    by_article: dict[int, list] = defaultdict(list)
    for assignment in ArticleAssignment.objects.filter(response=response).select_related("assignee"):
        by_article[assignment.article_id].append(assignment)
    return by_article


def responses_for_user(user) -> QuerySet[Response]:
    """The responses of the States the user answers for."""
    state_ids = roles_of(user).states_with(*ANSWERING_ROLES)
    return (
        Response.objects.filter(state_id__in=state_ids)
        .select_related("state", "version__cluster__instrument")
        .order_by("due_date", "version__cluster__order")
    )


def latest_version(cluster_id: int) -> QuestionnaireVersion | None:
    return QuestionnaireVersion.objects.filter(cluster_id=cluster_id).order_by("-number").first()


def response_document(response: Response) -> dict[str, Any]:
    """The whole response as plain data: what the submitted copy stores and what
    documents are built from. Questions that are not asked are left out."""
    articles = list(Article.objects.filter(version_id=response.version_id).order_by("order"))
    questions = version_questions(response.version_id)
    answers = {
        a.question_id: a
        for a in Answer.objects.filter(response=response).select_related("updated_by").only(
            "question_id", "value", "revision", "updated_at", "updated_by__username"
        )
    }
    values = {qid: a.value for qid, a in answers.items()}
    applicable: dict[int, bool] = {}
    by_article: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        applicable[q.pk] = is_applicable(q, values, applicable)
        if not applicable[q.pk]:
            continue
        answer = answers.get(q.pk)
        labels = {c.code: c.label for c in q.choices.all()}
        value = answer.value if answer else None
        by_article[q.article_id].append(
            {
                "code": q.code,
                "provision": q.provision.ref,
                "kind": q.kind,
                "prompt": q.prompt,
                "value": value,
                "display": kind_of(q).display(value, labels),
                "revision": answer.revision if answer else 0,
            }
        )
    version = response.version
    return {
        "state": {"iso3": response.state.iso3, "name": response.state.name},
        "instrument": version.cluster.instrument.code,
        "cluster": version.cluster.code,
        "version": {"id": version.pk, "number": version.number, "label": version.label},
        "articles": [
            {"number": a.number, "title": a.title, "questions": by_article[a.pk]} for a in articles
        ],
    }


def answering_people(state_id: int) -> list:
    """The people who answer for a State (focal points and contributors)."""
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(memberships__state_id=state_id, memberships__role__in=ANSWERING_ROLES, memberships__is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
