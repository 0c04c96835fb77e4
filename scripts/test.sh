#!/usr/bin/env bash
# The whole test suite: PostgreSQL + Redis (scripts/services.sh), a real Celery
# worker (started by the test fixtures), Debian's chromium for browser tests.
#   scripts/test.sh [pytest args...]      e.g. scripts/test.sh -k review -x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/python.sh requirements-dev.txt
source scripts/services.sh
ensure_services
ensure_browser
ensure_clamav

export DATABASE_URL="${DATABASE_URL:-$FP_DATABASE_URL}"
export REDIS_URL="${REDIS_URL:-$FP_REDIS_URL}"
CHROMIUM_PATH="$(command -v chromium)"
export CHROMIUM_PATH
export DJANGO_SETTINGS_MODULE=config.settings
export DJANGO_ALLOW_ASYNC_UNSAFE=true
# Browsers come from Debian, never from Playwright's own download.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

set +e
"$VENV_PYTHON" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "scripts/test.sh: ERROR: pytest collected no tests (exit 5); a run with no tests is a failure." >&2
    exit 1
fi
exit "$rc"
