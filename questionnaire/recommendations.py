"""The Working Group's recommendations: reading and validating their data file,
loading it, and the per-process copy the answering and reviewing pages show.

``parse_recommendations`` turns ``questionnaire/content/working_group_recommendations.yaml``
into a list of planned rows or raises RecommendationsError with every problem and its
line; nothing touches the database until the whole file is valid.
``recommendations_load`` then creates, updates or removes rows by code in one
transaction, so loading the same file twice changes nothing.

The pages read the whole registry (a few dozen rows) once per process and keep it
until the next load: a load bumps a generation number in the shared cache, which
every process compares before using its copy (no database query for that); a
copy older than MAX_AGE_SECONDS is read again, for processes that do not share
that cache (the embedded mode's LocMemCache).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.db import transaction
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .content import CONTENT_DIR, LANGUAGE_FIELDS, ContentError, load_yaml
from .models_recommendations import Recommendation

DEFAULT_PATH = CONTENT_DIR / "working_group_recommendations.yaml"
# The Firearms Protocol has 21 articles.
PROTOCOL_ARTICLES = range(1, 22)
GENERATION_KEY = "questionnaire:recommendations:generation"
TRANSLATED = ("series_title", "section", "text")


class RecommendationsError(ContentError):
    """The registry's file is invalid: every problem with its line (as ContentError)."""


@dataclass
class PlannedRecommendation:
    code: str
    series: str
    number: int
    series_title: str
    source: str
    section: str
    text: str
    articles: list[int]
    order: int
    translations: dict[str, dict[str, str]] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (
            "series", "number", "series_title", "source", "section", "text", "articles", "order", "translations"
        )}


@dataclass
class LoadResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _line(node: Any, key: Any = None) -> int:
    try:
        if key is not None and isinstance(node, CommentedMap):
            return node.lc.key(key)[0] + 1
        if key is not None and isinstance(node, CommentedSeq):
            return node.lc.item(key)[0] + 1
        return node.lc.line + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return 0


class _Checker:
    def __init__(self) -> None:
        self.errors: list[tuple[int, str]] = []

    def error(self, line: int, reason: str) -> None:
        self.errors.append((line, reason))

    def mapping(self, node, where: str, line: int, required: set[str], optional: set[str] = frozenset()) -> bool:
        if not isinstance(node, CommentedMap):
            self.error(line, f"{where} must be a mapping")
            return False
        for key in node:
            if key not in required | set(optional):
                self.error(_line(node, key), f"unknown key '{key}' in {where}")
        missing = sorted(required - set(node))
        for key in missing:
            self.error(_line(node), f"missing key '{key}' in {where}")
        return not missing

    def text(self, node, key, where: str, required: bool = True) -> dict[str, str]:
        """A {language: text} mapping with English; returns it (empty when invalid)."""
        value = node.get(key)
        line = _line(node, key)
        if value is None and not required:
            return {}
        if not isinstance(value, CommentedMap):
            self.error(line, f"{where}.{key} must be a mapping of languages to texts, e.g. {{en: ...}}")
            return {}
        out = {}
        for lang, text in value.items():
            if lang not in LANGUAGE_FIELDS:
                self.error(line, f"unknown language '{lang}' in {where}.{key}")
            elif not isinstance(text, str) or not text.strip():
                self.error(line, f"{where}.{key}.{lang} must be a non-empty text")
            else:
                out[lang] = text.strip()
        if "en" not in out and not any(e[0] == line for e in self.errors):
            self.error(line, f"{where}.{key} needs an English text (en)")
        return out


def parse_recommendations(path: Path | str = DEFAULT_PATH) -> list[PlannedRecommendation]:
    path = Path(path)
    name = path.name
    doc = load_yaml(path, RecommendationsError)

    c = _Checker()
    if not c.mapping(doc, "the file", 1, {"edition", "series", "recommendations"}):
        raise RecommendationsError(name, c.errors)
    series: dict[str, dict[str, Any]] = {}
    if not isinstance(doc["series"], CommentedMap) or not doc["series"]:
        c.error(_line(doc, "series"), "series must be a mapping of series codes to their title and source")
    else:
        for code, entry in doc["series"].items():
            where = f"series {code}"
            if c.mapping(entry, where, _line(doc["series"], code), {"title", "source"}):
                if not isinstance(entry["source"], str) or not entry["source"].strip():
                    c.error(_line(entry, "source"), f"{where}.source must be a non-empty text")
                series[code] = {"title": c.text(entry, "title", where), "source": str(entry["source"]).strip()}
    items = doc["recommendations"]
    planned: list[PlannedRecommendation] = []
    if not isinstance(items, CommentedSeq) or not items:
        c.error(_line(doc, "recommendations"), "recommendations must be a non-empty list")
        raise RecommendationsError(name, c.errors)
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        line = _line(items, index)
        if not c.mapping(item, f"recommendation #{index + 1}", line, {"series", "number", "text", "articles"}, {"section", "mapping"}):
            continue
        code_series = item["series"]
        if code_series not in series and code_series not in doc["series"]:
            c.error(_line(item, "series"), f"unknown series '{code_series}' (declare it under series:)")
        number = item["number"]
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            c.error(_line(item, "number"), "number must be a positive whole number")
            number = 0
        where = f"recommendation {code_series} {number}"
        code = f"{code_series}-{number}"
        if number and code in seen:
            c.error(line, f"{where} appears twice (first at line {seen[code]})")
        seen.setdefault(code, line)
        text = c.text(item, "text", where)
        section = c.text(item, "section", where, required=False)
        articles = item["articles"]
        if not isinstance(articles, CommentedSeq) or not articles:
            c.error(_line(item, "articles"), f"{where}.articles must be a non-empty list of article numbers")
            articles = []
        else:
            for a in articles:
                if not isinstance(a, int) or isinstance(a, bool) or a not in PROTOCOL_ARTICLES:
                    c.error(_line(item, "articles"), f"{where}: '{a}' is not an article of the Firearms Protocol (1 to 21)")
            if len(set(articles)) != len(articles):
                c.error(_line(item, "articles"), f"{where}: an article is listed twice")
        meta = series.get(code_series, {"title": {}, "source": ""})
        translations: dict[str, dict[str, str]] = {}
        for name_, texts in (("series_title", meta["title"]), ("section", section), ("text", text)):
            for lang, value in texts.items():
                if lang != "en":
                    translations.setdefault(lang, {})[name_] = value
        planned.append(PlannedRecommendation(
            code=code, series=str(code_series), number=number, series_title=meta["title"].get("en", ""),
            source=meta["source"], section=section.get("en", ""), text=text.get("en", ""),
            articles=sorted(a for a in articles if isinstance(a, int)), order=index, translations=translations,
        ))
    if c.errors:
        raise RecommendationsError(name, c.errors)
    return planned


@transaction.atomic
def recommendations_load(*, path: Path | str = DEFAULT_PATH) -> LoadResult:
    """Validate the file, then bring the registry to what it says. Idempotent."""
    planned = parse_recommendations(path)
    existing = {r.code: r for r in Recommendation.objects.select_for_update()}
    result = LoadResult()
    for plan in planned:
        row = existing.pop(plan.code, None)
        if row is None:
            Recommendation.objects.create(code=plan.code, **plan.fields())
            result.created.append(plan.code)
        elif any(getattr(row, k) != v for k, v in plan.fields().items()):
            for k, v in plan.fields().items():
                setattr(row, k, v)
            row.save()
            result.updated.append(plan.code)
        else:
            result.unchanged.append(plan.code)
    for code, row in existing.items():
        row.delete()
        result.removed.append(code)
    if result.created or result.updated or result.removed:
        transaction.on_commit(registry_changed)
    return result


# --- The per-process copy ----------------------------------------------------------

_lock = threading.Lock()
_copy: dict[str, Any] = {"generation": object(), "rows": None, "at": 0.0, "checked": 0.0}
# A process whose cache is not shared (LocMemCache in the embedded mode) or
# unreachable still sees a load made elsewhere after at most this long.
MAX_AGE_SECONDS = 300
# A load made in another process is seen after at most this long: the shared
# generation is compared at most this often, not on every page (a Redis round trip
# on every whole-cluster page for a registry that changes a few times a year).
GENERATION_CHECK_SECONDS = 2.0


def forget_local_copy() -> None:
    """For tests, whose rolled-back rows this process's copy must not outlive."""
    with _lock:
        _copy["rows"] = None


def registry_changed() -> None:
    """Every process drops its copy at its next page (and this one at once)."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    with _lock:
        _copy["rows"] = None


class Registry(list):
    """One process's copy of the registry, with what pages have rendered from it
    (``rendered``, keyed by the caller): it goes with the copy, so a load makes
    every process render again from the new rows."""

    _serials = itertools.count(1)

    def __init__(self, rows):
        super().__init__(rows)
        self.rendered: dict[Any, str] = {}
        # Tells this copy from any other this process had (pages cached with it).
        self.serial = next(Registry._serials)


def all_recommendations() -> Registry:
    """The whole registry, in order: one query per process and load."""
    now = time.monotonic()
    with _lock:
        fresh = _copy["rows"] is not None and now - _copy["at"] < MAX_AGE_SECONDS
        if fresh and now - _copy["checked"] < GENERATION_CHECK_SECONDS:
            return _copy["rows"]
    generation = cache.get(GENERATION_KEY)
    with _lock:
        if fresh and _copy["rows"] is not None and _copy["generation"] == generation:
            _copy["checked"] = now
            return _copy["rows"]
    rows = Registry(Recommendation.objects.all())
    with _lock:
        _copy.update(generation=generation, rows=rows, at=now, checked=now)
    return rows


def recommendations_for_article(number: int) -> list[Recommendation]:
    return [r for r in all_recommendations() if number in r.articles]
