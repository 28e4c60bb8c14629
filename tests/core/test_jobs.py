"""The job queue's rules, in one process (the suite's queue is immediate: a job runs when its transaction
commits): sent only on commit, claimed once, all-or-nothing with its result, fenced by its attempt number;
the sweep's re-queue, give-up, re-send and retention; the stored files in the database and in a directory."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mhi.core import jobs
from mhi.core.db import db
from mhi.core.jobs import CRASHED, INTERRUPTED, KEEP_FINISHED, MAX_ATTEMPTS, RESEND_AFTER, Job
from mhi.core.storage import StoredFile, purge_expired, put_file, read_file, utcnow
from tests.factories import make_scheme

ECHO = "test.echo"
SEEN: list[tuple[int, int]] = []  # (job id, attempt) of every run of ``echo``


@jobs.handler(ECHO)
def echo(session, job, progress):
    """Writes a file, reports progress, and fails as its params say."""
    SEEN.append((job.id, job.attempt))
    if job.params.get("steal"):  # another worker takes the job over in the meantime
        with db.engine.begin() as connection:
            connection.execute(update(Job).where(Job.id == job.id).values(attempts=Job.attempts + 1))
    jobs.attach_file(session, job, job.params.get("text", "").encode(), name="echo.txt")
    progress(1, 2)
    if job.params.get("fail"):
        raise jobs.JobFailed("test.refused", why=job.params["fail"])
    if job.params.get("crash"):
        raise RuntimeError("boom")
    progress(2, 2)
    return {"echo": job.params.get("text", "")}


@pytest.fixture(autouse=True)
def _seen():
    SEEN.clear()


def _files(session, job_id: int) -> list[bytes]:
    return [read_file(f) for f in session.scalars(select(StoredFile).where(StoredFile.job_id == job_id))]


def test_a_job_runs_when_its_transaction_commits(session):
    scheme = make_scheme(session)
    job = jobs.create_job(session, ECHO, scheme=scheme, params={"text": "hello"}, total=2)
    assert SEEN == [] and job.state == "queued"
    session.commit()
    session.refresh(job)
    assert SEEN == [(job.id, 1)]
    assert (job.state, job.progress, job.total, job.result, job.attempts) == ("done", 2, 2, {"echo": "hello"}, 1)
    assert job.finished_at is not None and job.worker
    assert _files(session, job.id) == [b"hello"]
    assert jobs.result_file(session, job).name == "echo.txt"


def test_a_rolled_back_job_is_never_sent(session):
    jobs.create_job(session, ECHO)
    session.rollback()
    jobs.create_job(session, ECHO, params={"text": "second"})
    session.commit()
    assert len(SEEN) == 1 and session.scalar(select(Job.result)) == {"echo": "second"}


def test_unknown_kind_is_refused(session):
    with pytest.raises(ValueError, match="no handler"):
        jobs.create_job(session, "test.nobody")


def test_a_failure_keeps_its_message_id_and_rolls_the_work_back(session):
    refused = jobs.create_job(session, ECHO, params={"text": "x", "fail": "no credit"})
    crashed = jobs.create_job(session, ECHO, params={"text": "y", "crash": True})
    session.commit()
    session.refresh(refused)
    session.refresh(crashed)
    assert (refused.state, refused.error, refused.error_params) == ("failed", "test.refused", {"why": "no credit"})
    assert (crashed.state, crashed.error) == ("failed", CRASHED)
    assert _files(session, refused.id) == [] and _files(session, crashed.id) == []  # the file was rolled back


def test_a_run_that_lost_its_job_commits_nothing(app, session):
    job = jobs.create_job(session, ECHO, params={"text": "late", "steal": True})
    session.commit()
    session.refresh(job)
    # Its run found its attempt number changed: neither its file nor "done" were written.
    assert (job.state, job.attempts) == ("running", 2) and _files(session, job.id) == []


def test_a_duplicate_message_runs_nothing(app, session):
    job = jobs.create_job(session, ECHO, params={"text": "once"})
    session.commit()
    assert jobs.run_job(app, job.id) is None  # the same id sent again: already done
    assert SEEN == [(job.id, 1)]


def _running(session, *, attempts: int, beat_ago: timedelta) -> Job:
    """A job recorded as running under a worker that has not beaten for ``beat_ago``."""
    job = Job(kind=ECHO, params={"text": "again"}, state="running", attempts=attempts, worker="gone:1")
    job.heartbeat_at = utcnow() - beat_ago
    session.add(job)
    session.commit()
    return job


def test_the_sweep_runs_again_a_job_whose_worker_died(app, session):
    stale = _running(session, attempts=1, beat_ago=jobs.STALE_AFTER + timedelta(seconds=5))
    alive = _running(session, attempts=1, beat_ago=timedelta(seconds=5))
    result = jobs.sweep(app)
    assert result.requeued == [stale.id] and result.gave_up == []
    session.refresh(stale)
    session.refresh(alive)
    assert (stale.state, stale.attempts, stale.result) == ("done", 2, {"echo": "again"})  # sent, run (immediate)
    assert alive.state == "running" and SEEN == [(stale.id, 2)]


def test_the_sweep_gives_up_after_the_last_attempt(app, session):
    job = _running(session, attempts=MAX_ATTEMPTS, beat_ago=jobs.STALE_AFTER + timedelta(seconds=5))
    assert jobs.sweep(app).gave_up == [job.id]
    session.refresh(job)
    assert (job.state, job.error) == ("failed", INTERRUPTED) and SEEN == []


def test_the_sweep_sends_again_a_job_whose_message_was_lost(app, session):
    lost = Job(kind=ECHO, params={"text": "lost"}, state="queued", enqueued_at=utcnow() - RESEND_AFTER * 2)
    waiting = Job(kind=ECHO, params={"text": "waiting"}, state="queued", enqueued_at=utcnow())
    session.add_all([lost, waiting])
    session.commit()
    assert jobs.sweep(app).resent == [lost.id]
    session.refresh(lost)
    session.refresh(waiting)
    assert (lost.state, waiting.state) == ("done", "queued")


def test_finished_jobs_and_expired_files_are_deleted(app, session):
    old = jobs.create_job(session, ECHO, params={"text": "old"})
    recent = jobs.create_job(session, ECHO, params={"text": "recent"})
    session.commit()
    preview = put_file(session, b"a,b", name="x.csv", purpose="upload:members", expires_in=timedelta(hours=1)).id
    session.commit()
    later = utcnow() + timedelta(hours=2)
    session.execute(update(Job).where(Job.id == old.id).values(finished_at=later - KEEP_FINISHED * 2))
    session.commit()
    result = jobs.sweep(app, now=later)
    assert (result.deleted_jobs, result.deleted_files) == (1, 2)  # the old job's file and the preview
    assert session.scalars(select(Job.id)).all() == [recent.id]
    session.expire_all()
    assert session.get(StoredFile, preview) is None and _files(session, recent.id) == [b"recent"]


def test_files_in_a_shared_directory_are_private_and_deleted(app, session, tmp_path):
    app.config["STORAGE_DIR"] = str(tmp_path / "shared")
    try:
        stored = put_file(session, b"secret", name="m.csv", purpose="upload:members", expires_in=timedelta(hours=1))
        session.commit()
        path = tmp_path / "shared" / stored.token[:2] / stored.token
        assert stored.data is None and stored.on_disk and read_file(stored) == b"secret"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        # A file whose row was rolled back is an orphan: deleted once old enough.
        put_file(session, b"orphan", name="o.csv", purpose="upload:members", expires_in=timedelta(hours=1))
        orphan = next(p for p in (tmp_path / "shared").glob("??/*") if p != path)
        session.rollback()
        day_ago = utcnow().timestamp() - 2 * 86400
        os.utime(orphan, (day_ago, day_ago))
        assert purge_expired(session, now=utcnow() + timedelta(hours=2)) == 1
        session.commit()
        assert not path.exists() and not orphan.exists()
    finally:
        app.config["STORAGE_DIR"] = ""


def test_progress_is_written_by_the_heartbeat(app, session):
    seen = []

    @jobs.handler("test.watched")
    def watched(session, job, progress):
        progress(3, 7)
        # Wait for a heartbeat to write the figures, reading them as a page would.
        for _ in range(200):
            with db.engine.connect() as connection:
                row = connection.execute(select(Job.progress, Job.total).where(Job.id == job.id)).one()
            if tuple(row) == (3, 7):
                seen.append(tuple(row))
                break
            import time

            time.sleep(0.02)
        return None

    app.config["JOB_HEARTBEAT_SECONDS"] = 0.05
    try:
        job = jobs.create_job(session, "test.watched", total=1)
        session.commit()
    finally:
        del app.config["JOB_HEARTBEAT_SECONDS"]
        jobs.HANDLERS.pop("test.watched")
    session.refresh(job)
    assert seen == [(3, 7)] and job.state == "done"


def test_every_job_kind_is_listed_in_the_readme(app):
    """README's "Background jobs" names every registered handler kind (issue 17), each as `kind`."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Background jobs", 1)[1].split("\n## ", 1)[0]
    kinds = {kind for kind in jobs.HANDLERS if not kind.startswith("test.")}  # the suite's own kinds
    assert {"cards.print", "cards.statements", "reports.year_end", "import.members", "sms.send"} <= kinds
    missing = sorted(kind for kind in kinds if f"`{kind}`" not in section)
    assert not missing, f"README's Background jobs section does not list: {missing}"
