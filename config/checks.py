"""The production profile as deployment checks: ``manage.py check --deploy
--fail-level WARNING`` passes only when, besides Django's own checklist (whose
mail.E001 already refuses a console mailer), the platform runs on the full stack
(PostgreSQL, Redis and a worker) and scans uploads for viruses. Each is a
warning, so that the embedded default (SQLite, tasks in process) still runs, and
``check --deploy`` names what a deployment lacks. tests/ops/test_deploy_check.py
runs it with the production environment documented in the README ("Production
profile")."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.db import connections


@checks.register(checks.Tags.security, deploy=True)
def production_profile(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    problems = []
    if connections["default"].vendor != "postgresql":
        problems.append(
            checks.Warning(
                "The database is not PostgreSQL.",
                hint="Set DATABASE_URL=postgres://user:password@host:5432/name.",
                id="fp.W001",
            )
        )
    if not settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        problems.append(
            checks.Warning(
                "Background jobs run inside the web process (no Redis broker, or CELERY_TASK_ALWAYS_EAGER).",
                hint="Set REDIS_URL=redis://host:6379/0, run a Celery worker and beat, leave CELERY_TASK_ALWAYS_EAGER unset.",
                id="fp.W002",
            )
        )
    if not (settings.CLAMD_SOCKET or settings.CLAMD_HOST):
        problems.append(
            checks.Warning(
                "Uploads are not scanned for viruses (OWASP ASVS 5.4.3).",
                hint="Set CLAMD_SOCKET=/run/clamav/clamd.ctl, or CLAMD_HOST (and CLAMD_PORT) of a clamd.",
                id="fp.W004",
            )
        )
    return problems
