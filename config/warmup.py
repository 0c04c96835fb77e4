"""What a worker process does once before its first request, so that the first
people after a deployment (or a worker restart) do not wait for it: the URL
patterns compiled, the translation catalogs of the six languages loaded, the hot
templates and the URL validator's regex compiled, the cache backends built, and the questions of the published
questionnaire versions read (each process keeps them: questionnaire.selectors). Best effort: a database
that is not reachable yet only means the first request does that part."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

HOT_TEMPLATES = (
    "base.html",
    "questionnaire/article_answer.html",
    "questionnaire/_question_block.html",
    "home.html",
)


def warm_up() -> None:
    from django.conf import settings
    from django.template.loader import get_template
    from django.urls import get_resolver
    from django.utils import translation

    started = time.monotonic()
    get_resolver()._populate()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Save answers")
    for name in HOT_TEMPLATES:
        get_template(name)
    from django.core.validators import URLValidator

    # Compiled at first use: the legislation links of an article page's form made the
    # first whole-page save of every worker wait ~25 ms for this one regex.
    URLValidator.regex.pattern  # noqa: B018
    from django.core.cache import caches

    caches.all()  # built, with the Redis client's modules imported (no connection yet)
    try:
        from django.db import connection

        from questionnaire.models import QuestionnaireVersion
        from questionnaire.selectors import version_question, version_with_cluster

        for version_id in QuestionnaireVersion.objects.values_list("pk", flat=True):
            version_question(version_id, "")  # the first lookup loads the whole version
            version_with_cluster(version_id)
        connection.close()  # the request opens its own, health-checked
    except Exception as exc:  # noqa: BLE001  (a warm-up never stops a worker from starting)
        log.warning("warm-up without the questionnaire (%s: %s)", type(exc).__name__, exc)
    log.info("worker warmed up in %.0f ms", (time.monotonic() - started) * 1000)
