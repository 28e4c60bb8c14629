"""A job running when its worker is killed is finished by another worker (issue 17), with real consumer
processes: consumer A takes the job and is killed in the middle of it; consumer B, started afterwards, finishes
it — exactly once: A's half-done work left nothing behind.

- SIGKILL (a crash, the machine gone): nothing tells anyone; B's start-up sweep finds the job's heartbeat stale
  and queues it again.
- SIGTERM (a deployment stopping the service): A hands its job back to the queue as it stops; B takes it at once.

On the SQLite queue file (one machine) and on Redis (several machines), against the suite's database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from mhi import create_app
from mhi.core import jobs
from mhi.core.db import db
from mhi.core.jobs import Job
from mhi.core.storage import StoredFile, read_file
from tests.core.job_worker import SLOW, STEPS

ROOT = Path(__file__).resolve().parents[2]
STALE = 2.0  # seconds without a heartbeat before the sweep takes a job back (the worker script's setting)


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


@pytest.fixture
def broker(kind, tmp_path):
    """(queue URL, queue name) of a queue of this test's own."""
    if kind == "redis":
        if not _redis_reachable():
            pytest.skip("no Redis on 127.0.0.1:6379")
        return "redis://127.0.0.1:6379/0", f"mhi-test-{uuid.uuid4().hex[:12]}"
    return f"sqlite:///{tmp_path / 'queue.sqlite'}", "mhi"


@pytest.fixture
def sender(app, broker):
    """An application like the web's, on the suite's database and ``broker``'s queue (jobs are sent, not run)."""
    url, name = broker
    web = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "QUEUE_URL": url,
            "QUEUE_NAME": name,
        }
    )
    yield web
    with web.app_context():
        jobs.queue(web).huey.flush()  # the test's queue only (its own name or file)
        db.session.remove()
        db.engine.dispose()


def _consumer(app, broker, tmp_path, name: str, **extra_env: str) -> subprocess.Popen:
    """Start a consumer process (tests/core/job_worker.py) on the suite's database and ``broker``."""
    url, queue_name = broker
    env = dict(
        os.environ,
        **extra_env,
        MHI_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        MHI_QUEUE_URL=url,
        TEST_QUEUE_NAME=queue_name,
        TEST_JOB_STALE=str(STALE),
        TEST_JOB_HEARTBEAT="0.2",
        PYTHONPATH=str(ROOT),
    )
    env.pop("MHI_STORAGE_DIR", None)
    with open(tmp_path / f"{name}.log", "wb") as log:  # the process keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "tests.core.job_worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _job(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        db.session.remove()
        return job


def _wait(app, job_id: int, ready, what: str, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(app, job_id)
        if ready(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id}: {what} not seen within {timeout} s (last: {job.state}, {job.progress})")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # huey's graceful stop
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("kind", "kill"),
    [("sqlite", signal.SIGKILL), ("sqlite", signal.SIGTERM), ("redis", signal.SIGKILL)],
    ids=["sqlite-SIGKILL", "sqlite-SIGTERM", "redis-SIGKILL"],
)
def test_a_job_whose_worker_is_killed_is_finished_by_another(app, sender, broker, tmp_path, kill):
    with sender.app_context():
        job_id = jobs.create_job(db.session, SLOW, params={"step": 0.15}, total=STEPS).id
        db.session.commit()  # sent to the queue
        db.session.remove()
    first = _consumer(app, broker, tmp_path, "first")
    try:
        running = _wait(sender, job_id, lambda j: j.state == "running" and j.progress >= 3, "progress under worker A")
        assert running.attempts == 1
        first.send_signal(kill)
        first.wait(20)
    finally:
        _stop(first)
    if kill == signal.SIGKILL:
        time.sleep(STALE + 0.5)  # nobody heard: the job's heartbeat has to go stale first
    else:
        assert _job(sender, job_id).state == "queued"  # handed back at once by the stopping worker
    second = _consumer(app, broker, tmp_path, "second")
    try:
        done = _wait(sender, job_id, lambda j: j.finished, "the end under worker B")
    finally:
        _stop(second)
    logs = "".join((tmp_path / f"{n}.log").read_text(errors="replace") for n in ("first", "second"))
    assert (done.state, done.error, done.progress, done.total) == ("done", "", STEPS, STEPS), logs
    assert done.attempts == 2 and done.result == {"attempt": 2, "pid": second.pid}
    with sender.app_context():
        files = db.session.scalars(select(StoredFile).where(StoredFile.job_id == job_id)).all()
        assert [read_file(f) for f in files] == [b"finished by attempt 2"]  # A's run left nothing
        db.session.remove()


@pytest.mark.parametrize("kind", ["sqlite"])
def test_a_statement_run_whose_worker_is_killed_is_finished_by_another(app, sender, broker, tmp_path):
    """The real ``cards.statements`` job (issue 17), slowed down by the worker script: worker A is killed in the
    middle of the run, worker B prints every household once, and A's half-run left no file."""
    from datetime import date

    from mhi.cards.statements import STATEMENT_JOB, create_statement_job, make_run
    from mhi.schemes.models import Scheme
    from tests.cards.helpers import make_household, pdf_text
    from tests.factories import make_scheme, records

    refs = [f"H-{n:03d}" for n in range(12)]
    with records(app) as session:
        scheme = make_scheme(session, "MUT-RUN")
        for n, ref in enumerate(refs):
            make_household(session, scheme, ref, first_no=10 * n + 1, enrolment=date(2024, 1, 1))
    with sender.app_context():
        run = make_run(date(2024, 1, 1), date(2024, 3, 31), include_claims=True)
        scheme = db.session.scalar(select(Scheme).where(Scheme.code == "MUT-RUN"))
        job_id = create_statement_job(db.session, scheme, run, actor=None, today=date(2024, 4, 1)).id
        db.session.commit()  # sent to the queue
        db.session.remove()
    first = _consumer(app, broker, tmp_path, "first", TEST_STATEMENT_DELAY="0.4")
    try:
        running = _wait(sender, job_id, lambda j: j.state == "running" and j.progress >= 3, "progress under worker A")
        assert running.attempts == 1 and running.kind == STATEMENT_JOB and running.progress < len(refs)
        first.send_signal(signal.SIGKILL)
        first.wait(20)
    finally:
        _stop(first)
    time.sleep(STALE + 0.5)  # nobody heard: the job's heartbeat has to go stale first
    second = _consumer(app, broker, tmp_path, "second", TEST_STATEMENT_DELAY="0.05")
    try:
        done = _wait(sender, job_id, lambda j: j.finished, "the end under worker B")
    finally:
        _stop(second)
    logs = "".join((tmp_path / f"{n}.log").read_text(errors="replace") for n in ("first", "second"))
    assert (done.state, done.error, done.progress, done.total) == ("done", "", len(refs), len(refs)), logs
    assert done.attempts == 2 and done.result == {"households": len(refs)}
    with sender.app_context():
        files = db.session.scalars(select(StoredFile).where(StoredFile.job_id == job_id)).all()
        assert len(files) == 1  # A's run left nothing
        text = pdf_text(read_file(files[0]))
        db.session.remove()
    assert all(f"— {ref} —" in text for ref in refs)
