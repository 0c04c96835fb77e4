"""The production profile: `manage.py check --deploy --fail-level WARNING` passes
with the environment documented in the README, and fails when any part of it is
missing or weakened. Each run is a fresh process, as a deployment starts."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def documented_profile() -> dict[str, str]:
    """The block under "Production profile" in the README."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- production-profile:.*?-->\n```\n(.*?)```", readme, re.S)
    assert found, "README.md has no production-profile block"
    env = dict(line.split("=", 1) for line in found.group(1).splitlines() if line.strip())
    env["DJANGO_SECRET_KEY"] = secrets.token_hex(32)  # the README says: openssl rand -hex 32
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    # Only the profile: nothing of the test run's own environment (DATABASE_URL...) leaks in.
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120,
    )


def test_the_documented_production_profile_passes_the_deployment_checks():
    result = check_deploy(documented_profile())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


WEAKENED = {
    "plain http": ({"DJANGO_SECURE_SSL_REDIRECT": "false"}, "security.W008"),
    "no HSTS": ({"DJANGO_SECURE_HSTS_SECONDS": "0"}, "security.W004"),
    "short secret key": ({"DJANGO_SECRET_KEY": "change-me"}, "security.W009"),
    "debug on": ({"DJANGO_DEBUG": "true"}, "security.W018"),
    "console e-mail": ({"EMAIL_URL": "consolemail://"}, "mail.E001"),
    "sqlite": ({"DATABASE_URL": "sqlite:////tmp/fp.sqlite3"}, "fp.W001"),
    "no broker": ({"REDIS_URL": ""}, "fp.W002"),
    "no virus scanner": ({"CLAMD_HOST": ""}, "fp.W004"),
}


@pytest.mark.parametrize("case", list(WEAKENED))
def test_a_weakened_profile_fails_the_deployment_checks(case):
    change, expected = WEAKENED[case]
    result = check_deploy({**documented_profile(), **change})

    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


def test_without_a_secret_key_a_production_process_refuses_to_start():
    env = documented_profile()
    del env["DJANGO_SECRET_KEY"]

    result = check_deploy(env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false" in result.stderr


def test_the_production_cookies_are_secure_host_only_and_http_only():
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    script = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_DOMAIN, s.SESSION_COOKIE_PATH)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", script],
        cwd=ROOT, env={**base, **documented_profile()}, capture_output=True, text=True, timeout=120,
    )

    # __Host-: browsers take them only if Secure, without a Domain, for the path "/" (ASVS 3.3.3).
    assert result.stdout.split() == ["__Host-sessionid", "__Host-csrftoken", "True", "True", "True", "None", "/"], result.stderr
