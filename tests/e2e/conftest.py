"""Browser journeys: Debian's chromium driven by Playwright against pytest-django's
``live_server``, on the demo data of ``manage.py demo_setup``.

- Chromium comes from Debian (CHROMIUM_PATH, else ``chromium`` on PATH); it is
  never downloaded. When it is missing the tests FAIL: CI must never skip the
  browser journeys silently.
- Every ``open_page()`` is a fresh browser context (its own cookies), so two people
  can be signed in side by side in one test.
- ``demo`` loads the demo (transactional DB: the live server thread must see it)
  and returns what the journeys need to know about it.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from io import StringIO

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls that
# the fixtures make from that thread are plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

DEMO_PASSWORD = "review-demo-2026"
FOCAL_POINT_GHANA = "focal.point.gh@demo.test"
FOCAL_POINT_MEXICO = "focal.point.mx@demo.test"
DEFAULT_TIMEOUT_MS = 15_000

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Overrides pytest-playwright's: Debian's chromium, no sandbox (containers)."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path or not os.path.exists(path):
        pytest.fail(
            "Chromium not found: set CHROMIUM_PATH or install Debian's chromium "
            "(apt-get install chromium; scripts/test.sh does it via ensure_browser). "
            "The browser journeys must run, never be skipped.",
            pytrace=False,
        )
    return {"executable_path": path, "args": CHROMIUM_ARGS}


# --- Demo data ------------------------------------------------------------------


@dataclass
class Demo:
    url: str
    ghana_response: int
    mexico_response: int
    mexico_review: int
    reviewer: str
    reviewing_state: str
    output: str = field(repr=False, default="")


@pytest.fixture
def demo(transactional_db, live_server, settings) -> Demo:
    from django.core.management import call_command

    from parties.models import Membership, State
    from reviews.models import Review

    # PBKDF2 at full strength costs ~0.3 s per hash (5 users, then each sign-in).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()
    call_command("demo_setup", stdout=out)

    mexico_review = Review.objects.select_related("response").get(
        state__iso3="MEX", response__version__cluster__code="I"
    )
    assigned = mexico_review.assignments.values_list("reviewing_state_id", flat=True)
    # The demo draws the reviewing States, then creates a reviewer for one of them.
    reviewer = (
        Membership.objects.select_related("user", "state")
        .filter(role=Membership.Role.REVIEWER, is_active=True, state_id__in=assigned)
        .order_by("pk")
        .first()
    )
    assert reviewer is not None, "demo_setup created no reviewer for a State assigned to review Mexico"
    ghana_review = Review.objects.select_related("response").get(
        cycle=mexico_review.cycle, state=State.objects.get(iso3="GHA")
    )
    return Demo(
        url=live_server.url,
        ghana_response=ghana_review.response_id,
        mexico_response=mexico_review.response_id,
        mexico_review=mexico_review.pk,
        reviewer=reviewer.user.email,
        reviewing_state=reviewer.state.name,
        output=out.getvalue(),
    )


# --- Browser --------------------------------------------------------------------


class ConsoleErrors(list):
    """Console errors and uncaught exceptions of a page (CSP violations show here)."""

    IGNORED = re.compile(r"favicon", re.I)

    def listen(self, page):
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda exc: self.append(f"{page.url}: uncaught {exc}"))

    def _console(self, page, msg):
        if msg.type == "error" and not self.IGNORED.search(msg.text + " " + str(msg.location.get("url", ""))):
            self.append(f"{page.url}: {msg.text}")


@pytest.fixture
def open_page(browser, demo):
    """``open_page()`` → a Page in a fresh browser context (nobody signed in), with
    ``page.console_errors`` collecting its console errors."""
    contexts = []

    def _open():
        # Reduced motion: no smooth scrolling (Bootstrap's), which makes every
        # click below the fold wait for the scroll animation to settle.
        context = browser.new_context(base_url=demo.url, locale="en-GB", reduced_motion="reduce")
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = ConsoleErrors()
        page.console_errors.listen(page)
        return page

    yield _open
    for context in contexts:
        context.close()


def sign_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """The real sign-in: password, then the code of the demo account's authenticator
    (computed as an app would, from the secret demo_setup gave the account)."""
    import time

    from playwright.sync_api import expect

    from reviews.demo import demo_totp_secret
    from tests.signin import totp_code

    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    # A code is accepted once: if this account already used the current one, wait for the next.
    code = totp_code(demo_totp_secret(email))
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign In").click()
    if page.get_by_text("Incorrect code").count():
        time.sleep(30 - time.time() % 30 + 0.5)
        page.get_by_label("Code").fill(totp_code(demo_totp_secret(email)))
        page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
