"""Cluster reports at scale (issue 5): run inside Django against the bench database.

    DATABASE_URL=postgres://fp:fp@127.0.0.1:5432/fp_bench \\
      .venv/bin/python manage.py shell -v 0 -c "import runpy; runpy.run_path('bench/reports.py', run_name='__main__')"

Set-up (idempotent, generated rows, bulk-inserted; the demo's own rows untouched):
443 synthetic States (``ZZ Benchland ...`` names, lower-case ISO codes) in the five
regional groups; three review cycles of cluster I's latest version, every response
SUBMITTED: 193 States answering every question (year 2099), 50 States answering
every question (2098), 200 States answering its first 150 questions (2097).

Measures, and prints beside the targets:
- the cluster report XLSX (reviews/exports/cluster_xlsx.py) for 193 States: time
  (target <= 10 s), peak memory (tracemalloc peak of a second run, and the
  process's maximum RSS; target <= 300 MB), queries for 50 vs 193 States (must
  not grow);
- the long-form CSV (reviews/exports/cluster_csv.py) of 200 responses x 150
  questions: time and queries, beside PostgreSQL's own ``COPY (SELECT ...) TO
  STDOUT`` of the same rows (target: within 3x COPY).
Bounded: a few minutes at most, everything on 127.0.0.1."""

from __future__ import annotations

import io
import os
import resource
import statistics
import time
import tracemalloc

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parties.models import State
from questionnaire.models import Answer, Response
from questionnaire.selectors import latest_version, version_questions
from questionnaire.models import Cluster
from reviews.demo import sample_value
from reviews.exports.cluster_csv import cluster_csv_lines
from reviews.exports.cluster_xlsx import cluster_report_xlsx
from reviews.models import Review, ReviewCycle

GROUPS = [code for code, _label in State.RegionalGroup.choices]
CYCLES = {2099: (0, 193, None), 2098: (193, 243, None), 2097: (243, 443, 150)}
REPEAT = int(os.environ.get("BENCH_REPORTS_REPEAT", "3"))


CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _iso(i: int) -> tuple[str, str]:
    """Lower-case codes: no real (upper-case) ISO code is ever taken."""
    return f"z{CHARS[i // 36]}{CHARS[i % 36]}", f"{CHARS[i // 36]}{CHARS[i % 36]}"


def _states(n: int) -> list[State]:
    wanted = [(_iso(i), f"ZZ Benchland {i:03d} — بنشلاند 🚩", GROUPS[i % len(GROUPS)]) for i in range(n)]
    existing = {s.iso3: s for s in State.objects.filter(iso3__in=[iso3 for (iso3, _i2), *_ in wanted])}
    new = [State(iso3=iso3, iso2=iso2, name=name, regional_group=g) for (iso3, iso2), name, g in wanted if iso3 not in existing]
    State.objects.bulk_create(new)
    states = list(State.objects.filter(iso3__in=[iso3 for (iso3, _i2), *_ in wanted]).order_by("iso3"))
    return states


def _value(question, i: int):
    value = sample_value(question)
    if question.kind in ("long_text", "text") and i % 7 == 0:
        return f"=HYPERLINK(\"x\") {value} — نص عربي 🔫"
    return value


@transaction.atomic
def setup() -> dict[int, ReviewCycle]:
    user = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.first()
    cluster = Cluster.objects.get(instrument__code="firearms_protocol", code="I")
    version = latest_version(cluster)
    questions = version_questions(version.pk)
    states = _states(443)
    cycles = {}
    for year, (start, end, n_questions) in CYCLES.items():
        cycle, created = ReviewCycle.objects.get_or_create(
            cluster=cluster, year=year, defaults={"launched_by": user, "draw_seed": "bench-reports"}
        )
        cycles[year] = cycle
        if not created and Review.objects.filter(cycle=cycle).exists():
            continue
        chunk = states[start:end]
        now = timezone.now()
        responses = Response.objects.bulk_create(
            [Response(state=s, version=version, status=Response.Status.SUBMITTED, submitted_at=now, submitted_by=user) for s in chunk]
        )
        Review.objects.bulk_create(
            [Review(cycle=cycle, state=r.state, response=r, status=Review.Status.SUBMITTED) for r in responses]
        )
        asked = questions[:n_questions] if n_questions else questions
        Answer.objects.bulk_create(
            (Answer(response=r, question=q, value=_value(q, i), revision=1, updated_by=user) for i, r in enumerate(responses) for q in asked),
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        # Fresh statistics after the bulk insert, as autovacuum would give a real database.
        cursor.execute("ANALYZE questionnaire_answer, questionnaire_response, reviews_review, parties_state")
    return cycles


def _timed(fn, repeat=REPEAT):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


COPY_SQL = """
COPY (
  SELECT s.iso3, s.name, s.regional_group, a2.number, q.code, q.kind, a.value::text
  FROM questionnaire_answer a
  JOIN questionnaire_response r ON r.id = a.response_id
  JOIN reviews_review rv ON rv.response_id = r.id
  JOIN parties_state s ON s.id = r.state_id
  JOIN questionnaire_question q ON q.id = a.question_id
  JOIN questionnaire_article a2 ON a2.id = q.article_id
  WHERE rv.cycle_id = %s AND r.status = 'submitted'
  ORDER BY s.name, r.id, q."order"
) TO STDOUT WITH (FORMAT csv, HEADER true)
"""


def _copy(cycle_id: int) -> int:
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        sql = COPY_SQL.replace("%s", str(int(cycle_id)))
        if hasattr(raw, "copy_expert"):  # psycopg2
            raw.copy_expert(sql, buffer)
        else:  # psycopg 3
            with raw.copy(sql) as copy:
                for data in copy:
                    buffer.write(data)
    return buffer.tell()


def _csv(cycle: ReviewCycle) -> int:
    return sum(len(chunk) for chunk in cluster_csv_lines(cycle=cycle))


def main() -> None:
    print(f"[reports] load before: {os.getloadavg()}")
    start = time.perf_counter()
    cycles = setup()
    print(f"[reports] set-up: {time.perf_counter() - start:.1f} s")
    big, small, csv_cycle = cycles[2099], cycles[2098], cycles[2097]
    for name, cycle in (("193 States", big), ("50 States", small), ("CSV 200 x 150", csv_cycle)):
        n_answers = Answer.objects.filter(response__review__cycle=cycle).count()
        print(f"[reports] {name}: {Review.objects.filter(cycle=cycle).count()} submitted responses, {n_answers} answers")

    def xlsx(cycle):
        return lambda: cluster_report_xlsx(cycle_id=cycle.pk, progress=lambda p: None)

    median, best, (content, _name) = _timed(xlsx(big))
    q193, q50 = _queries(xlsx(big)), _queries(xlsx(small))
    tracemalloc.start()
    xlsx(big)()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"[reports] cluster XLSX, 193 States: median {median:.2f} s (best {best:.2f}) of {REPEAT}, target <= 10 s; "
          f"{len(content) / 1e6:.1f} MB file")
    print(f"[reports] cluster XLSX memory: tracemalloc peak {peak / 1e6:.0f} MB, process max RSS {rss:.0f} MB, target <= 300 MB")
    print(f"[reports] cluster XLSX queries: {q50} for 50 States, {q193} for 193 States (must not grow)")

    median_csv, best_csv, size = _timed(lambda: _csv(csv_cycle))
    q_csv = _queries(lambda: _csv(csv_cycle))
    q_csv_small = _queries(lambda: _csv(small))
    median_copy, best_copy, copy_size = _timed(lambda: _copy(csv_cycle.pk))
    print(f"[reports] CSV 200 x 150: median {median_csv:.2f} s (best {best_csv:.2f}), {size / 1e6:.1f} MB, "
          f"{q_csv} queries ({q_csv_small} for the 50-State cycle)")
    print(f"[reports] COPY of the same rows: median {median_copy:.2f} s (best {best_copy:.2f}), {copy_size / 1e6:.1f} MB")
    print(f"[reports] CSV / COPY: {median_csv / median_copy:.1f}x (target <= 3x); "
          f"vs django-survey-and-report's ~15 s and 30,000 queries: {15 / median_csv:.0f}x faster (target >= 50x)")
    print(f"[reports] load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
