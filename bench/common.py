"""Helpers shared by the HTTP client (bench/client.py) and the Django-side script
(bench/django_side.py). Standard library only.

- ``answer_data(question, n)``: the POST fields of one question, as the answering
  page posts them, for a valid value of its kind. ``n = 0`` is the demo sample
  value (reviews.demo.sample_value / SAMPLE_BY_KIND, exported into the fixture by
  django_side.py); consecutive ``n`` always give different values, so that a save
  really writes.
- ``FormParser``: what a browser would post for a <form> (no JavaScript).
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS", BENCH_DIR / "results"))
RAW_DIR = RESULTS_DIR / "raw"
FIXTURE = RESULTS_DIR / "fixture.json"

FAIL_MARKER = "bench-fault-injection-marker"


def _suffix(n: int) -> str:
    return "" if n == 0 else f" (edit {n})"


def answer_data(q: dict, n: int = 0) -> list[tuple[str, str]]:
    """POST fields of question ``q`` for variant ``n``.

    ``q`` is a fixture entry (code, kind, choices, sample) written by
    ``django_side.py prepare``; ``sample`` is ``reviews.demo.sample_value(question)``,
    the demo's valid value of that kind (SAMPLE_BY_KIND), as stored in JSON.
    n == 0 posts exactly the sample; odd and even n differ, and every n changes
    the free-text parts, so consecutive variants always really write."""
    code, kind, choices, sample = q["code"], q["kind"], q.get("choices") or [], q["sample"]
    other = n % 2 == 1
    if kind in ("long_text", "text"):
        return [(code, sample + _suffix(n))]
    if kind == "number":
        return [(code, str(sample + n))]
    if kind in ("implementation", "yes_no", "choice"):
        options = {"implementation": ["yes", "partially", "no"], "yes_no": ["yes", "no"]}.get(kind, choices)
        alternative = next(c for c in options if c != sample)
        return [(code, alternative if other else sample)]
    if kind == "multi_choice":
        picked = list(sample)
        if other:
            picked += [c for c in choices if c not in picked][:1]
        return [(code, c) for c in picked]
    if kind == "legislation":
        fields = []
        for i, row in enumerate(sample):
            fields += [
                (f"{code}-{i}-title", row["title"] + (_suffix(n) if i == 0 else "")),
                (f"{code}-{i}-article", row.get("article", "")),
                (f"{code}-{i}-link", row.get("link", "")),
            ]
        return fields
    if kind == "technical_assistance":
        needed = {True: "yes", False: "no", None: ""}[sample.get("needed")]
        return [
            (f"{code}-needed", needed),
            *[(f"{code}-categories", c) for c in sample.get("categories", [])],
            (f"{code}-priority", sample.get("priority", "")),
            (f"{code}-details", sample.get("details", "") + _suffix(n)),
        ]
    raise ValueError(f"unknown kind {kind!r} of {code}")


def owns(code: str, name: str) -> bool:
    """Whether a posted field name belongs to question ``code`` (not its rev-)."""
    return name == code or name.startswith(code + "-")


class FormParser(HTMLParser):
    """Collects the successful controls of the first <form> with the given id, as a
    browser would submit them: checked radios/checkboxes, selected options,
    textareas, every other named input."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.in_form = True
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            self.fields.append((name, a.get("value") or ("on" if kind in ("radio", "checkbox") else "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select, self._select_value, self._select_first = name, None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._select_value = value

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if not self.in_form:
            return
        if tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # HTML drops one newline right after <textarea>.
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            value = self._select_value if self._select_value is not None else self._select_first
            self.fields.append((self._select, value or ""))
            self._select = None
        elif tag == "form":
            self.in_form = False


def page_post(shown: list[tuple[str, str]], questions: list[dict], variant: int,
              marker_code: str = "", marker: str = "") -> list[tuple[str, str]]:
    """What a browser posts without JavaScript from a page whose form controls are
    ``shown``: every control, with the answer of every question in ``questions``
    changed to ``variant`` (or, for a choice already showing that variant, to the
    next one, so that every answer really changes). The first field of
    ``marker_code`` gets ``marker`` appended."""
    codes = [q["code"] for q in questions]
    posted = [(k, v) for k, v in shown if not any(owns(c, k) for c in codes)]
    for q in questions:
        fields = answer_data(q, variant)
        current = {(k, v) for k, v in shown if owns(q["code"], k) and v}
        if {(k, v) for k, v in fields if v} == current:
            fields = answer_data(q, variant + 1)
        if q["code"] == marker_code:
            fields = [(fields[0][0], f"{fields[0][1]} {marker}"), *fields[1:]]
        posted += fields
    return posted


def form_fields(html: str, form_id: str = "answer-form") -> list[tuple[str, str]]:
    parser = FormParser(form_id)
    parser.feed(html)
    return parser.fields


REV_RE = re.compile(r'name="rev-([^"]+)" value="(\d+)"')
STATE_RE = re.compile(r'class="(text-success|text-body-secondary|text-danger)')


def revisions_in(html: str) -> dict[str, int]:
    return {code: int(rev) for code, rev in REV_RE.findall(html)}


def code_fingerprint() -> str:
    """A short hash of the application's code and templates (the .py, .html, .js, .yaml
    files of config, parties, questionnaire, reviews, templates, static/js): two runs
    with the same fingerprint measured the same code. Not git: works on a dirty tree."""
    import hashlib

    root = BENCH_DIR.parent
    h = hashlib.sha256()
    for folder in ("config", "parties", "questionnaire", "reviews", "templates", "static/js"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".py", ".html", ".js", ".yaml") and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def load_fixture() -> dict:
    return json.loads(FIXTURE.read_text())


def write_raw(name: str, data: dict) -> None:
    RAW_DIR.mkdir(parents=True, exist_ok=True)
    (RAW_DIR / f"{name}.json").write_text(json.dumps(data, indent=1, default=str))


def read_raw(name: str) -> dict | None:
    path = RAW_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]
