"""The hostile-input corpus reuses the HTTP tests' fixtures (tests/views/conftest.py):
the mini questionnaire parsed once per session, A's submitted response, its thread,
the observations and the summary of A's review."""

from tests.views.conftest import (  # noqa: F401  (fixtures)
    as_user,
    assignment_a,
    invitation_token,
    mini_versions,
    observation_a,
    submitted_a,
    succeeded_job,
    summary_a,
    thread_a,
)
