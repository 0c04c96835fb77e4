"""The submitted answers of a review cycle as CSV in long form: one row per
State × question, streamed.

Memory stays constant whatever the number of States: the answers are read with a
server-side cursor (``.iterator(chunk_size=...)`` on PostgreSQL) and each row is
encoded and handed to the response as soon as it is made. The number of queries
is fixed: the cycle, the questions with their choices (two), the answers.

The file starts with a UTF-8 byte-order mark: without it Excel opens a CSV in the
machine's legacy code page and turns Arabic, Chinese, Cyrillic and emoji into
mojibake; with it Excel reads UTF-8, and other tools (Python's ``utf-8-sig``,
LibreOffice, pandas) skip the mark. Every text cell is neutralised against
formula injection (``cells.safe_cell``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from parties.models import State
from questionnaire.kinds import kind_of
from questionnaire.models import Answer, Article, Response
from questionnaire.selectors import AskedWalk, version_questions

from ..models import Review, ReviewCycle
from .cells import safe_cell
from .summary_docx import safe_filename

BOM = "\ufeff"
# Short values repeat (choices, yes/no, "no assistance needed"): their displayed text
# is computed once per question and value, in a memo of bounded size.
MEMO_MAX_LEN = 256
MEMO_MAX_ENTRIES = 20_000
CHUNK = 2000


BATCH = 500


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _encode(rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def cluster_csv_filename(cycle: ReviewCycle) -> str:
    return safe_filename("responses", f"cluster-{cycle.cluster.code}", str(cycle.year), ext="csv")


def cluster_csv_lines(*, cycle: ReviewCycle) -> Iterator[bytes]:
    """Encoded CSV lines (header first) of the cycle's SUBMITTED responses."""
    # Translated labels resolved once, not once per row (gettext costs ~15 µs a call).
    groups = {code: safe_cell(str(label)) for code, label in State.RegionalGroup.choices}
    header = [_("ISO code"), _("State"), _("Regional group"), _("Article"), _("Question"), _("Kind"), _("Answer"), _("Value (JSON)")]
    yield BOM.encode() + _encode([header])
    first = Review.objects.filter(cycle=cycle).values_list("response__version_id", flat=True).first()
    if first is None:
        return
    numbers = dict(Article.objects.filter(version_id=first).values_list("pk", "number"))
    # Each line is made of parts quoted once: the State's three cells, the
    # question's three, the displayed answer (memoised for short values) and the
    # JSON value. Fields are always quoted (RFC 4180), lines end with CRLF, as the
    # csv module writes them; this is 3x faster than a csv.writer call per row.
    questions = {}
    every = list(version_questions(first))
    walk = AskedWalk(every)
    for q in every:
        labels = {c.code: str(c.label) for c in q.choices.all()}
        prefix = f"{numbers.get(q.article_id, '')},{_quote(safe_cell(q.code))},{q.kind},"
        questions[q.pk] = (prefix, kind_of(q), labels)
    rows = (
        Answer.objects.filter(
            response__review__cycle=cycle, response__status=Response.Status.SUBMITTED, question__version_id=first
        )
        # The value as the database's own JSON text: decoded only when its display
        # is not already known (most answers repeat a short value).
        .annotate(raw=Cast("value", output_field=TextField()))
        .order_by("response__state__name", "response_id", "question__order")
        .values_list(
            "response__state__iso3", "response__state__name", "response__state__regional_group", "response_id",
            "question_id", "raw",
        )
        .iterator(chunk_size=CHUNK)
    )
    shown: dict[tuple[int, str], str] = {}
    states: dict[str, str] = {}
    buffer: list[str] = []
    for iso3, name, group, response_id, question_id, dumped in rows:
        prefix, kind, labels = questions[question_id]
        dumped = dumped or "null"
        # Rows come in question order within a response: conditions read earlier rows.
        if not walk.asked(response_id, question_id, json.loads(dumped) if walk.reads(question_id) else None):
            continue
        if len(dumped) <= MEMO_MAX_LEN:
            key = (question_id, dumped)
            display = shown.get(key)
            if display is None:
                display = _quote(safe_cell(kind.display(json.loads(dumped), labels)))
                if len(shown) < MEMO_MAX_ENTRIES:
                    shown[key] = display
        else:
            display = _quote(safe_cell(kind.display(json.loads(dumped), labels)))
        state = states.get(iso3)
        if state is None:
            state = states[iso3] = f"{_quote(iso3)},{_quote(safe_cell(name))},{_quote(groups.get(group, group))},"
        buffer.append(f"{state}{prefix}{display},{_quote(safe_cell(dumped))}\r\n")
        # Lines go out in batches: fewer, larger writes to the socket.
        if len(buffer) >= BATCH:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()
