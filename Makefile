# The README's commands. `make test ARGS="-k foo -x"` passes arguments to pytest.
SHELL := /bin/bash
ARGS ?=

.PHONY: run test services check-compose lint

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh $(ARGS)

services:
	bash scripts/services.sh

# Validates docker-compose.yml with a real Compose implementation, no engine
# needed: the `docker compose` plugin when present, else Debian's docker-compose
# (1.29, installed from apt when missing). Also checks DJANGO_SECRET_KEY is required.
check-compose:
	@set -euo pipefail; \
	if docker compose version >/dev/null 2>&1; then dc="docker compose"; \
	else \
	  command -v docker-compose >/dev/null 2>&1 || { source scripts/services.sh && apt_install docker-compose; }; \
	  dc="docker-compose"; \
	fi; \
	echo "validating docker-compose.yml with: $$($$dc version | head -n 1)"; \
	DJANGO_SECRET_KEY=check-only $$dc -f docker-compose.yml config -q; \
	if env -u DJANGO_SECRET_KEY $$dc -f docker-compose.yml config -q >/dev/null 2>&1; then \
	  echo "docker-compose.yml must refuse to start without DJANGO_SECRET_KEY" >&2; exit 1; fi; \
	echo "docker-compose.yml is valid"

lint:
	bash scripts/python.sh requirements-dev.txt >/dev/null
	.venv/bin/python -m compileall -q config parties audit questionnaire reviews tests
	bash -n scripts/*.sh .ci/run
