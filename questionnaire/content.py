"""Reading, validating and loading a questionnaire content file.

The file (``questionnaire/content/*.yaml``) is the source of truth for what is
asked. ``parse_content`` turns it into a plan or a list of errors, each with the
file line and the reason; nothing touches the database until the whole file is
valid. ``content_load`` then creates one QuestionnaireVersion per cluster whose
content changed, in one transaction, and leaves unchanged clusters alone, so
loading the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.db.models import Max
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from .kinds import CHOICE_KINDS, REGISTRY
from .models import Article, Choice, Cluster, Instrument, Provision, Question, QuestionnaireVersion

CONTENT_DIR = Path(__file__).resolve().parent / "content"
# YAML language keys → modeltranslation field suffixes.
LANGUAGE_FIELDS = {"ar": "ar", "zh": "zh_hans", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
AUTHORED_KINDS = {"text", "long_text", "yes_no", "choice", "multi_choice", "number"}
OBLIGATIONS = {"mandatory", "mandatory_qualified", "optional"}
STANDARD_KEYS = ("status", "legislation", "explanation", "examples", "challenges", "ta")
PROVISION_CODE = re.compile(r"^FP-[0-9]+(\.[0-9a-z]+)*$")
CHOICE_CODE = re.compile(r"^[a-z0-9_]+$")


class ContentError(Exception):
    def __init__(self, path: str, errors: list[tuple[int, str]]):
        self.path = path
        self.errors = sorted(errors)
        super().__init__("\n".join(f"{path}:{line}: {reason}" for line, reason in self.errors))


@dataclass
class PlannedQuestion:
    code: str
    kind: str
    prompt: dict[str, str]
    help: dict[str, str]
    required: bool
    condition_code: str | None = None
    condition_values: list[str] = field(default_factory=list)
    choices: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@dataclass
class ContentPlan:
    label: str
    instrument: dict[str, Any]
    clusters: list[dict[str, Any]]
    articles: dict[int, dict[str, Any]]

    def cluster_payload(self, cluster: dict[str, Any]) -> dict[str, Any]:
        """Everything that a version of this cluster freezes, as plain data."""
        return {
            "instrument": self.instrument["code"],
            "cluster": cluster["code"],
            "articles": [self.articles[n] for n in cluster["articles"]],
        }

    def cluster_hash(self, cluster: dict[str, Any]) -> str:
        payload = json.dumps(self.cluster_payload(cluster), sort_keys=True, ensure_ascii=False, default=_plain)
        return hashlib.sha256(payload.encode()).hexdigest()

    def question_count(self, cluster_code: str) -> int:
        cluster = next(c for c in self.clusters if c["code"] == cluster_code)
        return sum(
            len(p["questions"]) for n in cluster["articles"] for p in self.articles[n]["provisions"]
        )


def _plain(obj):
    if isinstance(obj, PlannedQuestion):
        return obj.__dict__
    raise TypeError(type(obj))


class _Checker:
    """Walks the parsed YAML, collecting every error with its line."""

    def __init__(self) -> None:
        self.errors: list[tuple[int, str]] = []
        self.required_languages: list[str] = ["en"]

    def error(self, node: Any, reason: str, key: Any = None) -> None:
        line = 0
        try:
            if key is not None and isinstance(node, (CommentedMap, CommentedSeq)):
                line = (node.lc.key(key)[0] if isinstance(node, CommentedMap) else node.lc.item(key)[0]) + 1
            elif hasattr(node, "lc"):
                line = node.lc.line + 1
        except (KeyError, IndexError, AttributeError, TypeError):
            line = getattr(getattr(node, "lc", None), "line", -1) + 1
        self.errors.append((line, reason))

    def mapping(self, node: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> bool:
        if not isinstance(node, CommentedMap):
            self.error(node, f"{where} must be a mapping")
            return False
        for key in node:
            if key not in required and key not in optional:
                self.error(node, f"unknown key '{key}' in {where}", key)
        ok = True
        for key in sorted(required):
            if key not in node:
                self.error(node, f"missing key '{key}' in {where}")
                ok = False
        return ok

    def text(self, parent: CommentedMap, key: str, where: str, required: bool = True) -> dict[str, str]:
        node = parent.get(key)
        if node is None:
            if required:
                self.error(parent, f"missing text '{key}' in {where}")
            return {}
        if not isinstance(node, CommentedMap):
            self.error(parent, f"'{key}' in {where} must map language codes to text", key)
            return {}
        texts: dict[str, str] = {}
        for lang, value in node.items():
            if lang not in LANGUAGE_FIELDS:
                self.error(node, f"unknown language '{lang}' in {where}.{key} (use one of {', '.join(LANGUAGE_FIELDS)})", lang)
            elif not isinstance(value, str) or not value.strip():
                self.error(node, f"empty or non-text '{lang}' in {where}.{key}", lang)
            else:
                texts[lang] = value.strip()
        for lang in self.required_languages:
            if lang not in node:
                self.error(parent, f"missing '{lang}' translation of {where}.{key}", key)
        return texts

    def seq(self, parent: CommentedMap, key: str, where: str) -> CommentedSeq:
        node = parent.get(key)
        if not isinstance(node, CommentedSeq):
            self.error(parent, f"'{key}' in {where} must be a list", key if key in parent else None)
            return CommentedSeq()
        return node


def load_yaml(path: Path, error: type[ContentError] = ContentError):
    """A data file read as round-trip YAML (its nodes know their lines), or ``error``
    naming the file and the line where it cannot be read or parsed."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(path.name, [(0, f"cannot read the file: {exc}")]) from exc
    try:
        return YAML(typ="rt").load(raw)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(path.name, [((mark.line + 1) if mark else 0, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from exc


def parse_content(path: Path | str) -> ContentPlan:
    """Validate the content file; raise ContentError listing every problem."""
    path = Path(path)
    name = path.name
    doc = load_yaml(path)

    c = _Checker()
    if not c.mapping(
        doc, "the file", {"format", "label", "instrument", "standard_questions", "clusters", "articles"}, {"required_languages"}
    ):
        raise ContentError(name, c.errors)
    if doc["format"] != 1:
        c.error(doc, "format must be 1", "format")
    langs = doc.get("required_languages", ["en"])
    if not isinstance(langs, list) or any(lang not in LANGUAGE_FIELDS for lang in langs):
        c.error(doc, "required_languages must list language codes among " + ", ".join(LANGUAGE_FIELDS), "required_languages")
    else:
        c.required_languages = list(langs)

    instrument: dict[str, Any] = {}
    if c.mapping(doc["instrument"], "instrument", {"code", "title", "short_title"}):
        instrument = {
            "code": str(doc["instrument"]["code"]),
            "title": c.text(doc["instrument"], "title", "instrument"),
            "short_title": c.text(doc["instrument"], "short_title", "instrument"),
        }

    standard: dict[str, dict[str, dict[str, str]]] = {}
    sq = doc["standard_questions"]
    if c.mapping(sq, "standard_questions", set(STANDARD_KEYS)):
        for key in STANDARD_KEYS:
            if c.mapping(sq[key], f"standard_questions.{key}", {"prompt"}, {"help"}):
                standard[key] = {
                    "prompt": c.text(sq[key], "prompt", f"standard_questions.{key}"),
                    "help": c.text(sq[key], "help", f"standard_questions.{key}", required=False),
                }

    articles: dict[int, dict[str, Any]] = {}
    article_lines: dict[int, int] = {}
    seen_codes: dict[str, str] = {}
    for art in c.seq(doc, "articles", "the file"):
        if not c.mapping(art, "an article", {"number", "title", "provisions"}):
            continue
        number = art["number"]
        if not isinstance(number, int) or number < 1:
            c.error(art, "article number must be a positive integer", "number")
            continue
        if number in articles:
            c.error(art, f"duplicate article number {number}", "number")
            continue
        where = f"article {number}"
        article = {"number": number, "title": c.text(art, "title", where), "provisions": []}
        articles[number] = article
        article_lines[number] = art.lc.line + 1
        article_codes: dict[str, PlannedQuestion] = {}
        for prov in c.seq(art, "provisions", where):
            if not c.mapping(prov, f"a provision of {where}", {"ref", "code", "obligation", "summary"}, {"examples", "questions"}):
                continue
            code = str(prov["code"])
            pwhere = f"provision {code}"
            if not PROVISION_CODE.match(code):
                c.error(prov, f"provision code '{code}' must look like FP-5.1.a", "code")
            if code in seen_codes:
                c.error(prov, f"duplicate code '{code}' (also used by {seen_codes[code]})", "code")
            seen_codes[code] = pwhere
            if prov["obligation"] not in OBLIGATIONS:
                c.error(prov, f"obligation must be one of {', '.join(sorted(OBLIGATIONS))}", "obligation")
            provision = {
                "ref": str(prov["ref"]),
                "code": code,
                "obligation": str(prov["obligation"]),
                "summary": c.text(prov, "summary", pwhere),
                "questions": [],
            }
            article["provisions"].append(provision)

            def add(q: PlannedQuestion, node: Any, key: Any = None) -> None:
                if q.code in seen_codes:
                    c.error(node, f"duplicate code '{q.code}' (also used by {seen_codes[q.code]})", key)
                    return
                seen_codes[q.code] = f"question {q.code}"
                article_codes[q.code] = q
                provision["questions"].append(q)

            def standard_q(suffix: str, kind: str, required: bool, condition: list[str] | None = None, prompt=None):
                texts = standard.get(suffix, {"prompt": {}, "help": {}})
                return PlannedQuestion(
                    code=f"{code}.{suffix}",
                    kind=kind,
                    prompt=prompt or texts["prompt"],
                    help=texts["help"],
                    required=required,
                    condition_code=f"{code}.status" if condition else None,
                    condition_values=condition or [],
                )

            add(standard_q("status", "implementation", True), prov, "code")
            add(standard_q("legislation", "legislation", True, ["yes", "partially"]), prov, "code")
            add(standard_q("explanation", "long_text", True), prov, "code")
            for q in c.seq(prov, "questions", pwhere) if "questions" in prov else []:
                planned = _check_question(c, q, code, article_codes)
                if planned:
                    add(planned, q, "code")
            examples = prov.get("examples")
            if examples is True:
                add(standard_q("examples", "long_text", False), prov, "examples")
            elif isinstance(examples, CommentedMap):
                add(standard_q("examples", "long_text", False, prompt=c.text(prov, "examples", pwhere)), prov, "examples")
            elif examples not in (None, False):
                c.error(prov, "examples must be true, false or a text mapping", "examples")
            add(standard_q("challenges", "long_text", False, ["no", "partially"]), prov, "code")
            add(standard_q("ta", "technical_assistance", False), prov, "code")

    clusters: list[dict[str, Any]] = []
    cluster_codes: set[str] = set()
    in_a_cluster: set[int] = set()
    for cl in c.seq(doc, "clusters", "the file"):
        if not c.mapping(cl, "a cluster", {"code", "title", "articles"}, {"review_period"}):
            continue
        code = str(cl["code"])
        if code in cluster_codes:
            c.error(cl, f"duplicate cluster code '{code}'", "code")
        cluster_codes.add(code)
        numbers = cl["articles"]
        if not isinstance(numbers, list) or not numbers or any(not isinstance(n, int) for n in numbers):
            c.error(cl, f"cluster {code}: articles must be a non-empty list of article numbers", "articles")
            continue
        for n in numbers:
            if n not in articles:
                c.error(cl, f"cluster {code} names article {n}, which the file does not define", "articles")
        if len(set(numbers)) != len(numbers):
            c.error(cl, f"cluster {code} lists an article twice", "articles")
        in_a_cluster.update(numbers)
        clusters.append(
            {
                "code": code,
                "title": c.text(cl, "title", f"cluster {code}"),
                "review_period": str(cl.get("review_period", "")),
                "articles": [n for n in numbers if n in articles],
            }
        )
    for n in sorted(set(articles) - in_a_cluster):
        c.errors.append((article_lines[n], f"article {n} belongs to no cluster"))

    if c.errors:
        raise ContentError(name, c.errors)
    return ContentPlan(label=str(doc["label"]), instrument=instrument, clusters=clusters, articles=articles)


def _check_question(c: _Checker, q: Any, provision_code: str, article_codes: dict[str, PlannedQuestion]):
    if not c.mapping(q, f"a question of {provision_code}", {"code", "kind", "prompt"}, {"help", "required", "choices", "condition"}):
        return None
    code = str(q["code"])
    where = f"question {code}"
    ok = True
    if not re.match(rf"^{re.escape(provision_code)}\.q[0-9]+[a-z]?$", code):
        c.error(q, f"question code '{code}' must be the provision code followed by .q and a number", "code")
        ok = False
    kind = q["kind"]
    if kind not in AUTHORED_KINDS:
        c.error(q, f"unknown kind '{kind}' (use one of {', '.join(sorted(AUTHORED_KINDS))})", "kind")
        ok = False
    required = q.get("required", False)
    if not isinstance(required, bool):
        c.error(q, "required must be true or false", "required")
    choices: list[tuple[str, dict[str, str]]] = []
    if kind in CHOICE_KINDS:
        nodes = c.seq(q, "choices", where) if "choices" in q else None
        if not nodes:
            c.error(q, f"{where}: a {kind} question needs choices", "kind")
            ok = False
        for ch in nodes or []:
            if not c.mapping(ch, f"a choice of {where}", {"code", "label"}):
                continue
            ccode = str(ch["code"])
            if not CHOICE_CODE.match(ccode):
                c.error(ch, f"choice code '{ccode}' must be lower-case letters, digits and _", "code")
            if ccode in {x[0] for x in choices}:
                c.error(ch, f"duplicate choice code '{ccode}' in {where}", "code")
            choices.append((ccode, c.text(ch, "label", f"{where} choice {ccode}")))
    elif "choices" in q:
        c.error(q, f"{where}: only choice and multi_choice questions have choices", "choices")
    condition_code, condition_values = None, []
    if "condition" in q:
        cond = q["condition"]
        if c.mapping(cond, f"the condition of {where}", {"question", "in"}):
            condition_code = str(cond["question"])
            target = article_codes.get(condition_code)
            if target is None:
                c.error(cond, f"{where}: condition names '{condition_code}', which is not an earlier question of the same article", "question")
                ok = False
            else:
                allowed = (
                    [code for code, _label in target.choices] if target.kind in CHOICE_KINDS else REGISTRY[target.kind].condition_values
                )
                values = cond["in"]
                if allowed is None:
                    c.error(cond, f"{where}: a condition cannot depend on a {target.kind} question", "question")
                    ok = False
                elif not isinstance(values, list) or not values or any(v not in allowed for v in values):
                    c.error(cond, f"{where}: condition values must be a non-empty list among {', '.join(allowed)}", "in")
                    ok = False
                else:
                    condition_values = [str(v) for v in values]
    prompt = c.text(q, "prompt", where)
    help_text = c.text(q, "help", where, required=False)
    if not ok:
        return None
    return PlannedQuestion(
        code=code,
        kind=kind,
        prompt=prompt,
        help=help_text,
        required=bool(required),
        condition_code=condition_code,
        condition_values=condition_values,
        choices=choices,
    )


def _translated(field_name: str, texts: dict[str, str]) -> dict[str, str]:
    values = {f"{field_name}_{LANGUAGE_FIELDS[lang]}": text for lang, text in texts.items()}
    values[field_name] = texts.get("en", next(iter(texts.values()), ""))
    return values


@dataclass
class LoadResult:
    created: list[QuestionnaireVersion]
    unchanged: list[QuestionnaireVersion]


def content_load(*, path: Path | str) -> LoadResult:
    """Load a content file. Validates first; creates a new version only for the
    clusters whose content differs from their latest published version."""
    # modeltranslation writes the bare field into the *active* language: load in the
    # default language so that a French UI never stores English text as French.
    with translation.override(settings.MODELTRANSLATION_DEFAULT_LANGUAGE), transaction.atomic():
        return _content_load(Path(path))


def _content_load(path: Path) -> LoadResult:
    plan = parse_content(path)
    inst = plan.instrument
    instrument, _ = Instrument.objects.update_or_create(
        code=inst["code"], defaults={**_translated("title", inst["title"]), **_translated("short_title", inst["short_title"])}
    )
    result = LoadResult(created=[], unchanged=[])
    for order, spec in enumerate(plan.clusters):
        cluster, _ = Cluster.objects.update_or_create(
            instrument=instrument,
            code=spec["code"],
            defaults={"order": order, "review_period": spec["review_period"], **_translated("title", spec["title"])},
        )
        digest = plan.cluster_hash(spec)
        # Lock the cluster row so two concurrent loads cannot take the same number.
        Cluster.objects.select_for_update().get(pk=cluster.pk)
        # Compared with the latest version only: a file whose edit was reverted is
        # published again as a new version, because the file is the source of truth.
        latest = cluster.versions.order_by("-number").first()
        if latest is not None and latest.content_hash == digest:
            result.unchanged.append(latest)
            continue
        number = (cluster.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = QuestionnaireVersion.objects.create(
            cluster=cluster, number=number, label=plan.label, content_hash=digest, source_file=path.name
        )
        _create_version_rows(version, [plan.articles[n] for n in spec["articles"]])
        result.created.append(version)
    return result


def _create_version_rows(version: QuestionnaireVersion, articles: list[dict[str, Any]]) -> None:
    article_rows, provision_rows, question_rows = [], [], []
    planned_by_row: list[tuple[Question, PlannedQuestion]] = []
    order = 0
    for a_order, art in enumerate(articles):
        article = Article(version=version, number=art["number"], order=a_order, **_translated("title", art["title"]))
        article_rows.append(article)
        for p_order, prov in enumerate(art["provisions"]):
            provision = Provision(
                article=article,
                ref=prov["ref"],
                code=prov["code"],
                obligation=prov["obligation"],
                order=p_order,
                **_translated("summary", prov["summary"]),
            )
            provision_rows.append(provision)
            for pq in prov["questions"]:
                order += 1
                question = Question(
                    version=version,
                    article=article,
                    provision=provision,
                    code=pq.code,
                    kind=pq.kind,
                    required=pq.required,
                    order=order,
                    condition_values=pq.condition_values,
                    **_translated("prompt", pq.prompt),
                    **(_translated("help_text", pq.help) if pq.help else {}),
                )
                question_rows.append(question)
                planned_by_row.append((question, pq))
    Article.objects.bulk_create(article_rows)
    for p in provision_rows:
        p.article_id = p.article.pk
    Provision.objects.bulk_create(provision_rows)
    for q in question_rows:
        q.article_id, q.provision_id = q.article.pk, q.provision.pk
    Question.objects.bulk_create(question_rows)
    by_code = {q.code: q for q in question_rows}
    conditioned = []
    choices = []
    for question, pq in planned_by_row:
        if pq.condition_code:
            question.condition_question = by_code[pq.condition_code]
            conditioned.append(question)
        for c_order, (code, label) in enumerate(pq.choices):
            choices.append(Choice(question=question, code=code, order=c_order, **_translated("label", label)))
    Question.objects.bulk_update(conditioned, ["condition_question"])
    Choice.objects.bulk_create(choices)
