"""The questions of an answering page (one article, or a whole cluster), rendered
block by block, and cached.

A question's block (its field with the current answer, the meta line, its
evidence) depends only on things that have their own version number: the
question (published versions never change), the answer (its revision), the
evidence attached (each entry's revision), and who looks (may they edit, in
which language). So a block, once rendered, is kept under a key made of exactly
those, and a page whose answers did not change is assembled from the cache
instead of being rendered again; a save makes a new revision and therefore a new
key, never a stale block. The cache is local to the process (BlockCache, at most
settings.ANSWER_BLOCK_CACHE_ENTRIES blocks): nothing to invalidate across
machines, emptied by a restart (which a new release of code or translations implies).

A page that shows a posted form (its errors, a conflict) is rendered whole and
not cached.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.template.loader import get_template
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from config import prepared

from .evidence import answer_evidence
from .forms import CONFIRM_PREFIX, ArticleAnswerForm
from .kinds import kind_of
from .models import Answer, AnswerEvidence, Article, Evidence, Question, Response
from .recommendations import all_recommendations
from .selectors import version_questions

BLOCK_TEMPLATE = "questionnaire/_question_block.html"
# Bumped when the block's markup changes in a way a running process must not mix.
BLOCK_FORMAT = 2


class BlockCache:
    """A bounded least-recently-used map of rendered blocks, in this process.

    Not Django's LocMemCache: that one validates every key character by character
    and pickles every value, which for the 160 blocks of a cluster page costs more
    than the page's queries; the blocks are immutable strings and need neither."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._blocks: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()  # gthread workers share the process

    def get_many(self, keys: list) -> dict:
        found = {}
        with self._lock:
            for key in keys:
                block = self._blocks.get(key)
                if block is not None:
                    self._blocks.move_to_end(key)
                    found[key] = block
        return found

    def set_many(self, blocks: dict) -> None:
        with self._lock:
            self._blocks.update(blocks)
            while len(self._blocks) > self.max_entries:
                self._blocks.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()


_blocks = BlockCache(max_entries=settings.ANSWER_BLOCK_CACHE_ENTRIES)
# Whole pages' joined blocks, encoded, keyed by the keys of all their blocks (so never stale
# either): a page opened again unchanged is not assembled again. Few and large
# (a cluster page is about 470 KB).
_pages = BlockCache(max_entries=settings.ANSWER_PAGE_CACHE_ENTRIES)


def _cache() -> BlockCache:
    return _blocks


# Published versions never change: their articles and questions are kept per process.
_VERSION_ROWS: dict[tuple, Any] = {}


def version_articles(version_id: int) -> list[Article]:
    key = ("articles", version_id)
    if key not in _VERSION_ROWS:
        _VERSION_ROWS[key] = list(Article.objects.filter(version_id=version_id).order_by("order"))
    return _VERSION_ROWS[key]


def page_questions(version_id: int, article: Article | None) -> list[Question]:
    """The questions of one article (or of the whole version), in order, with their
    provisions and choices; shared, read-only objects."""
    key = ("questions", version_id, article.pk if article else None)
    if key not in _VERSION_ROWS:
        _VERSION_ROWS[key] = version_questions(version_id, article)
    return _VERSION_ROWS[key]


def forget_version_rows() -> None:
    """For tests, whose rolled-back rows may reuse ids."""
    _VERSION_ROWS.clear()
    _cache().clear()
    _pages.clear()


def page_answers(response: Response, questions: list[Question], only: set[int] | None = None) -> dict[int, Answer]:
    """The answers of these questions (of ``only`` among them), with their editors."""
    ids = [q.pk for q in questions if only is None or q.pk in only]
    return {
        a.question_id: a
        for a in Answer.objects.filter(response=response, question_id__in=ids).select_related("updated_by")
    }


class AnswerVersion(NamedTuple):
    """What a block's key needs of an answer, read without building the answer."""

    pk: int
    revision: int


def page_versions(response: Response, questions: list[Question]) -> tuple[dict[int, AnswerVersion], dict[int, str]]:
    """What the blocks' keys need, in one statement and without model instances (a
    cluster page has 160 answers; the ORM's queries and rows cost more than the SQL):
    question id → (answer id, revision), and question id → what identifies the
    evidence shown under its answer (each link, its entry and the entry's revision)."""
    article_ids = {q.article_id for q in questions}
    # Both kinds of row in the same columns: kind, question, id (answer or link),
    # revision (the answer's or the entry's), entry, time of the link.
    answers = f"SELECT 'a', a.question_id, a.id, a.revision, NULL, NULL FROM {Answer._meta.db_table} a"
    params: list[Any] = [response.pk]
    if len(article_ids) == 1:  # an article page; the cluster page reads them all (no IN list of 160 ids)
        answers += f" JOIN {Question._meta.db_table} q ON q.id = a.question_id WHERE a.response_id = %s AND q.article_id = %s"
        params.append(next(iter(article_ids)))
    else:
        answers += " WHERE a.response_id = %s"
    # All the response's links: an IN list of a cluster's question ids costs more to
    # build than the few extra rows of another article.
    links = (
        f"SELECT 'e', l.question_id, l.id, e.revision, l.evidence_id, l.added_at"
        f" FROM {AnswerEvidence._meta.db_table} l JOIN {Evidence._meta.db_table} e ON e.id = l.evidence_id"
        " WHERE l.response_id = %s"
    )
    params.append(response.pk)
    with connection.cursor() as cursor:
        prepared.execute(cursor, name="page_versions", sql=f"{answers} UNION ALL {links} ORDER BY 1, 6, 3", params=params)
        rows = cursor.fetchall()
    versions: dict[int, AnswerVersion] = {}
    tokens: dict[int, list[str]] = defaultdict(list)
    for kind, question_id, row_id, revision, evidence_id, _added_at in rows:
        if kind == "a":
            versions[question_id] = AnswerVersion(row_id, revision)
        else:
            tokens[question_id].append(f"{row_id}.{evidence_id}.{revision}")
    return versions, {question_id: ",".join(parts) for question_id, parts in tokens.items()}


@dataclass
class PageBlocks:
    # The sections of the page (provisions with their questions' blocks) in UTF-8, as
    # kept with the page: encoding a cluster's 470 KB costs 0.5 ms.
    encoded: bytes
    revisions_json: str


def _block_keys(
    *, questions: list[Question], response: Response, versions: dict, evidence: dict[int, str], can_edit: bool, lang: str
) -> dict[int, str]:
    """question id → the key of its block: everything the block shows is in it (the
    answer's revision, the evidence's, who may edit, the language), so a cached block
    is never stale."""
    prefix = f"b{BLOCK_FORMAT}:{lang}:{int(can_edit)}:{response.pk}:"
    keys = {}
    for q in questions:
        qid = q.id
        answer = versions.get(qid)
        answer_part = f"{answer.pk}.{answer.revision}" if answer else "-"
        keys[qid] = f"{prefix}{qid}:{answer_part}:{evidence.get(qid, '')}"
    return keys


def _items(*, questions, answers, form, panels, by_id) -> list[dict]:
    """What the block template needs of each question."""
    labels = {q.pk: {c.code: c.label for c in q.choices.all()} for q in questions}
    items = []
    for q in questions:
        answer = answers.get(q.pk)
        target = by_id.get(q.condition_question_id)
        target_labels = {c.code: c.label for c in target.choices.all()} if target else {}
        items.append(
            {
                "question": q,
                "field": form[q.code],
                "answer": answer,
                "evidence": panels[q.pk],
                # A page shown again after a refused save keeps the boxes ticked.
                "confirm_ticked": form.is_bound and bool(form.data.get(f"{CONFIRM_PREFIX}{q.code}")),
                "display": kind_of(q).display(answer.value if answer else None, labels[q.pk]),
                "condition_code": target.code if target else "",
                "condition_labels": _(" or ").join(
                    str(kind_of(target).display(v, target_labels)) for v in q.condition_values
                )
                if target
                else "",
            }
        )
    return items


def render_blocks(
    *,
    request,
    response: Response,
    questions: list[Question],
    answers: dict[int, Answer] | None,
    can_edit: bool,
    all_questions: list[Question] | None = None,
    bound_form: ArticleAnswerForm | None = None,
    whole_cluster: bool = False,
) -> PageBlocks:
    """The page's blocks grouped by provision. Blocks are rendered without the
    request (no context processors: nothing in a block depends on who asks beyond
    ``can_edit`` and the language, which are in the key). ``bound_form``: a posted form to
    show (with its values and errors), rendered whole and not cached.
    ``all_questions``: where the condition targets may be (defaults to ``questions``).
    ``whole_cluster``: the page shows every article (each under its own heading).
    ``answers``: the full answers when the caller has them (a posted form); otherwise
    only the versions are read (page_versions), and the full answers of the blocks
    not in the cache."""
    by_id = {q.pk: q for q in (all_questions or questions)}
    template = get_template(BLOCK_TEMPLATE)
    html: dict[int, str] = {}
    if bound_form is not None:
        panels = answer_evidence(response=response, questions=questions)
        for item in _items(questions=questions, answers=answers, form=bound_form, panels=panels, by_id=by_id):
            html[item["question"].pk] = template.render({"item": item, "response": response, "can_edit": can_edit})
        encoded = _joined(
            questions=questions, html=html, response=response, whole_cluster=whole_cluster,
            registry=all_recommendations() if whole_cluster else None,
        ).encode()
    else:
        lang = get_language() or ""
        versions, evidence_tokens = page_versions(response, questions)
        keys = _block_keys(
            questions=questions,
            response=response,
            versions=versions,
            evidence=evidence_tokens,
            can_edit=can_edit,
            lang=lang,
        )
        registry = all_recommendations() if whole_cluster else None
        page_key = _page_key(questions=questions, keys=keys, whole_cluster=whole_cluster, registry=registry)
        encoded = _pages.get_many([page_key]).get(page_key)
        if encoded is None:
            cached = _cache().get_many(list(keys.values()))
            missing = [q for q in questions if keys[q.id] not in cached]
            fresh = {}
            if missing:
                if answers is None:
                    answers = page_answers(response, questions, only={q.pk for q in missing})
                # Read after the tokens: a block is never older than its key.
                panels = answer_evidence(response=response, questions=missing)
                form = ArticleAnswerForm(questions=missing, answers=answers)
                for item in _items(questions=missing, answers=answers, form=form, panels=panels, by_id=by_id):
                    block = template.render({"item": item, "response": response, "can_edit": can_edit})
                    fresh[keys[item["question"].pk]] = block
                _cache().set_many(fresh)
            for q in questions:
                key = keys[q.id]
                html[q.id] = cached.get(key) or fresh[key]
            encoded = _joined(
                questions=questions, html=html, response=response, whole_cluster=whole_cluster, registry=registry
            ).encode()
            _pages.set_many({page_key: encoded})
    revisions = (
        bound_form["revisions"].value()
        if bound_form is not None
        else json.dumps({q.code: versions[q.id].revision for q in questions if q.id in versions})
    )
    return PageBlocks(encoded=encoded, revisions_json=revisions)


def _page_key(*, questions: list[Question], keys: dict[int, str], whole_cluster: bool, registry) -> str:
    # Every block key (they carry the language and who may edit), the layout, and on
    # the whole-cluster page the load of the recommendations shown under each article.
    digest = hashlib.blake2b(digest_size=20)
    digest.update("\n".join(keys[q.id] for q in questions).encode())
    return f"page:{int(whole_cluster)}:{registry.serial if registry is not None else '-'}:{digest.hexdigest()}"


def _joined(*, questions: list[Question], html: dict[int, str], response: Response, whole_cluster: bool, registry) -> str:
    """The sections of the page joined here, in Python: the page template outputs one
    string instead of looping over a cluster's fifty provisions."""
    sections: list[str] = []
    current_provision = current_article = None
    articles = {a.pk: a for a in version_articles(response.version_id)} if whole_cluster else {}
    for q in questions:
        if q.provision_id != current_provision:
            if current_provision is not None:
                sections.append("</section>")
            if whole_cluster and q.article_id != current_article:
                article = articles[q.article_id]
                sections.append(_article_heading(article))
                # The Working Group's recommendations under each article's heading
                # (the article page shows them under its h1).
                sections.append(_recommendations_panel(article.number, registry))
            sections.append(_provision_heading(q.provision, level=3 if whole_cluster else 2))
            current_provision, current_article = q.provision_id, q.article_id
        sections.append(html[q.pk])
    if current_provision is not None:
        sections.append("</section>")
    return "\n".join(sections)


def _article_heading(article: Article) -> str:
    return format_html(
        '<h2 class="h3 mt-4 border-bottom pb-1" id="article-{}">{}. {}</h2>',
        article.number,
        _("Article %(n)s") % {"n": article.number},
        article.title,
    )


def _recommendations_panel(number: int, registry) -> str:
    # Rendered once per process, language and load of the registry (a fifth of the
    # whole-cluster page's time otherwise): it depends on nothing else.
    key = ("panel", number, get_language())
    if key not in registry.rendered:
        recommendations = [r for r in registry if number in r.articles]
        registry.rendered[key] = (
            get_template("questionnaire/_recommendations.html").render(
                {"recommendations": recommendations, "number": number, "level": 3}
            )
            if recommendations
            else ""
        )
    return registry.rendered[key]


def _provision_heading(provision, *, level: int) -> str:
    """The opening of a provision's section: heading (with its obligation) and summary."""
    key = ("provision", provision.pk, level, get_language())
    if key not in _VERSION_ROWS:
        _VERSION_ROWS[key] = format_html(
            '<section class="mb-4" aria-labelledby="prov-{code}"><h{level} class="h4" id="prov-{code}">{title} '
            '<span class="badge text-bg-light border obligation">{obligation}</span></h{level}>'
            '<p class="text-body-secondary">{summary}</p>',
            code=provision.code,
            level=level,
            title=_("Article %(ref)s") % {"ref": provision.ref},
            obligation=provision.get_obligation_display(),
            summary=provision.summary,
        )
    return _VERSION_ROWS[key]
