"""The audit tests reuse the HTTP tests' fixtures (a submitted response, a thread,
an observation, a summary, a finished job) and their signed-in clients."""

from tests.views.conftest import (  # noqa: F401  (fixtures)
    client_for,
    final_document_a,
    fresh_review,
    mini_versions,
    observation_a,
    submitted_a,
    succeeded_job,
    summary_a,
    thread_a,
)
