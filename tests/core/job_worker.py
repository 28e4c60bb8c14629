"""A job queue consumer for the worker-kill tests (tests/core/test_job_worker.py), run as a separate process:
``python -m tests.core.job_worker`` with MHI_DATABASE_URL and MHI_QUEUE_URL set.

It is the real consumer (``huey_consumer mhi.worker.huey`` does the same) plus one job kind of its own,
``test.slow``: a job that takes a few seconds, reports its progress, writes a file and a result naming the run
that finished it — long enough to kill its worker in the middle. With ``TEST_STATEMENT_DELAY`` set, the real
statement runs (``cards.statements``) read one household per batch and wait that many seconds before each, so
that one can be killed in the middle too.
"""

from __future__ import annotations

import logging
import os
import time

from mhi.core import jobs

SLOW = "test.slow"
STEPS = 30


@jobs.handler(SLOW)
def slow_job(session, job: jobs.JobInfo, progress: jobs.Progress) -> dict:
    """STEPS steps of ``params["step"]`` seconds; its file and result name the attempt that finished it."""
    for step in range(1, STEPS + 1):
        time.sleep(job.params.get("step", 0.1))
        progress(step, STEPS)
    jobs.attach_file(session, job, f"finished by attempt {job.attempt}".encode(), name="slow.txt")
    return {"attempt": job.attempt, "pid": os.getpid()}


def slow_statement_runs(delay: float) -> None:
    """Make ``cards.statements`` jobs slow: batches of one household, ``delay`` seconds before each."""
    from mhi.cards import statements

    load = statements.load_statements

    def slow_load(*args, **kwargs):
        time.sleep(delay)
        return load(*args, **kwargs)

    statements.BATCH = 1
    statements.load_statements = slow_load


def main() -> None:
    """Build the application from the environment and consume until stopped."""
    from mhi import create_app

    if os.environ.get("TEST_STATEMENT_DELAY"):
        slow_statement_runs(float(os.environ["TEST_STATEMENT_DELAY"]))

    logging.basicConfig(level=logging.INFO, format="worker %(process)d %(levelname)s %(name)s: %(message)s")
    app = create_app()
    app.config.update(
        JOB_HEARTBEAT_SECONDS=float(os.environ.get("TEST_JOB_HEARTBEAT", "0.2")),
        JOB_STALE_SECONDS=float(os.environ.get("TEST_JOB_STALE", "2")),
        QUEUE_NAME=os.environ.get("TEST_QUEUE_NAME", "mhi"),
    )
    consumer = jobs.queue(app).huey.create_consumer(workers=1, worker_type="thread", periodic=False)
    consumer.run()


if __name__ == "__main__":
    main()
