"""Summarises a py-spy profile of the gunicorn workers (`py-spy record --format raw`,
collapsed stacks) into where a request's time goes: the share of the workers'
busy samples spent inside each step of interest, and the top functions by own time.

    python bench/profile_summary.py STACKS.txt > SUMMARY.txt

py-spy samples wall-clock time of the threads that are not idle, so a worker
waiting for PostgreSQL or Redis counts in the function that waits.
"""

from __future__ import annotations

import collections
import re
import sys

# Steps of a request, matched against "function (module path)".
STEPS = [
    ("the whole request in the worker", "SyncWorker.handle_request (gunicorn"),
    ("autosave view", "answer_autosave (questionnaire/views.py"),
    ("article page view", "article_answer (questionnaire/views.py"),
    ("  load + check the response (get_response_for_user)", "get_response_for_user (questionnaire"),
    ("  questions + choices (version_questions)", "version_questions (questionnaire"),
    ("  answers_save (locks the response row, writes)", "answers_save (questionnaire"),
    ("  presence_touch (Redis GET + SET)", "presence_touch (questionnaire"),
    ("  the form (ArticleAnswerForm.__init__)", "ArticleAnswerForm.__init__ (questionnaire"),
    ("  template rendering (render)", "render (django/shortcuts.py"),
    ("    crispy-forms fields (as_crispy_field)", "as_crispy_field (crispy_forms"),
    ("    widget templates (Widget.render)", "Widget._render (django/forms/widgets.py"),
    ("    questionnaire/field_render.py", "(questionnaire/field_render.py"),
    ("model instances built (Model.__init__, incl. modeltranslation)", "Model.__init__ (django/db/models/base.py"),
    ("signals sent (Signal.send)", "Signal.send (django/dispatch"),
    ("session + user lookup (auth get_user)", "get_user (django/contrib/auth/__init__"),
    ("session saved every request (SessionMiddleware.process_response)", "SessionMiddleware.process_response"),
    ("connection health check (is_usable: SELECT 1)", "is_usable (django/db/backends/postgresql"),
    ("permission rules (has_perm)", "_user_has_perm (django/contrib/auth/models.py"),
    ("all SQL statements (CursorWrapper._execute)", "CursorWrapper._execute (django/db/backends/utils.py"),
    ("COMMIT", "BaseDatabaseWrapper._commit (django/db"),
    ("all Redis commands", "execute_command (redis"),
]
FRAME = re.compile(r"(.+?) \((.+?):\d+\)")


def short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m.group(2).split("site-packages/")[-1]
    path = re.sub(r"^.*/work/main/", "", path)
    return f"{m.group(1)} ({path})"


def main(path: str) -> None:
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        names = [short(f) for f in stack.split(";")]
        if not any("handle_request (gunicorn" in x for x in names):
            continue  # the arbiter, idle accept loops
        total += n
        for label, needle in STEPS:
            if any(needle in x for x in names):
                inclusive[label] += n
        own[names[-1]] += n
    if not total:
        print("no samples inside a request")
        return
    print(f"{total} samples inside requests (py-spy, wall clock of the busy workers)\n")
    print("share  step")
    for label, _needle in STEPS:
        if inclusive[label]:
            print(f"{100 * inclusive[label] / total:5.1f}%  {label}")
    print("\nshare  function (own time, top 20)")
    for name, n in own.most_common(20):
        print(f"{100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
