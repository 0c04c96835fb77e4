"""A real Celery worker whose reports stop for FP_SLOW_REPORT_SECONDS after
reporting 10% progress, so that a test can kill it in the middle of one
(tests/ops/test_faults.py). Run as ``python -m tests.ops.slow_worker <celery args>``."""

from __future__ import annotations

import os
import sys
import time

from celery.signals import worker_init


@worker_init.connect
def _slow_reports(**kwargs) -> None:
    from reviews import exports

    build = exports.build_job_result

    def slow(job, progress):
        progress(10)
        time.sleep(float(os.environ.get("FP_SLOW_REPORT_SECONDS", "60")))
        return build(job, progress)

    exports.build_job_result = slow


if __name__ == "__main__":
    from celery.__main__ import main

    sys.argv = ["celery", *sys.argv[1:]]
    sys.exit(main())
