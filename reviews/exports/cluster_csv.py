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
import json
from collections.abc import Iterator

from django.utils.translation import gettext as _

from parties.models import State
from questionnaire.kinds import kind_of
from questionnaire.models import Answer, Article, Response
from questionnaire.selectors import version_questions

from ..models import Review, ReviewCycle
from .cells import safe_cell
from .summary_docx import safe_filename

BOM = "\ufeff"
CHUNK = 2000


class _Line:
    """A file-like object whose write returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def cluster_csv_filename(cycle: ReviewCycle) -> str:
    return safe_filename("responses", f"cluster-{cycle.cluster.code}", str(cycle.year), ext="csv")


def cluster_csv_lines(*, cycle: ReviewCycle) -> Iterator[bytes]:
    """Encoded CSV lines (header first) of the cycle's SUBMITTED responses."""
    writer = csv.writer(_Line())
    groups = dict(State.RegionalGroup.choices)
    yield (BOM + writer.writerow(
        [_("ISO code"), _("State"), _("Regional group"), _("Article"), _("Question"), _("Kind"), _("Answer"), _("Value (JSON)")]
    )).encode()
    first = Review.objects.filter(cycle=cycle).values_list("response__version_id", flat=True).first()
    if first is None:
        return
    questions = {q.pk: q for q in version_questions(first)}
    labels = {pk: {c.code: c.label for c in q.choices.all()} for pk, q in questions.items()}
    articles = {pk: q.article_id for pk, q in questions.items()}
    numbers = dict(Article.objects.filter(version_id=first).values_list("pk", "number"))
    rows = (
        Answer.objects.filter(
            response__review__cycle=cycle, response__status=Response.Status.SUBMITTED, question__version_id=first
        )
        .order_by("response__state__name", "response_id", "question__order")
        .values_list("response__state__iso3", "response__state__name", "response__state__regional_group", "question_id", "value")
        .iterator(chunk_size=CHUNK)
    )
    buffer: list[str] = []
    for iso3, name, group, question_id, value in rows:
        question = questions[question_id]
        buffer.append(
            writer.writerow(
                [
                    iso3,
                    safe_cell(name),
                    safe_cell(groups.get(group, group)),
                    numbers.get(articles[question_id], ""),
                    safe_cell(question.code),
                    question.kind,
                    safe_cell(kind_of(question).display(value, labels[question_id])),
                    safe_cell(json.dumps(value, ensure_ascii=False)),
                ]
            )
        )
        # Lines go out in small batches: fewer, larger writes to the socket.
        if len(buffer) >= 200:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()
