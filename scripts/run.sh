#!/usr/bin/env bash
# The platform on http://127.0.0.1:${PORT:-8000}, embedded mode: SQLite in
# ./db.sqlite3, Celery tasks run in process, files under ./media. Needs no
# environment variables and no running services.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/python.sh requirements.txt

"$VENV_PYTHON" manage.py migrate --noinput
"$VENV_PYTHON" manage.py demo_setup
exec "$VENV_PYTHON" manage.py runserver "127.0.0.1:${PORT:-8000}"
