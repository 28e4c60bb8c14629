"""Background jobs: one table for every long task (card printing, imports, statement runs, year-end documents,
SMS), run by a Huey queue that survives worker restarts.

Writing a job kind (in the feature that owns it)::

    from mhi.core import jobs

    @jobs.handler("sms.send")
    def send_sms(session, job: jobs.JobInfo, progress: jobs.Progress) -> dict | None:
        for done, message in enumerate(messages_of(job.params), 1):
            ...                                  # write with ``session``: flush, never commit
            progress(done, total)                # cheap: kept in memory, written by the heartbeat
        jobs.attach_file(session, job, data, name="report.pdf")   # its result file, if any
        return {"sent": total}                   # kept as ``job.result`` (JSON)
        # raise jobs.JobFailed("sms.no_credit", n=3)   → failed, with that message id and its parameters

Starting one (a service, then the view commits)::

    job = jobs.create_job(session, "sms.send", scheme=scheme, actor=user, params={...}, total=n)
    session.commit()                             # enqueued when (and only if) the transaction commits

Then show ``job.state`` (queued, running, done, failed), ``job.progress`` of ``job.total``, ``job.result``,
``job.error`` (a message id) and ``jobs.result_file(session, job)`` on the feature's own job page.

The rules that make a job survive a restart:
- The job row is the truth; the queue only carries job ids. A worker *claims* a queued row (conditional
  UPDATE, ``attempts + 1``) before running it, so a duplicate message runs nothing twice.
- While it runs, a heartbeat thread writes ``heartbeat_at`` (and the progress) every ``HEARTBEAT`` seconds.
- The handler's writes, its result and the ``done`` state commit in ONE transaction, guarded by the attempt
  number: a run that lost its job to another worker rolls back. A killed worker's transaction rolls back on its
  own, so a handler is all-or-nothing and can simply be run again.
- The sweep (every minute in each consumer, and when a consumer starts) puts a running job whose heartbeat is
  older than ``STALE_AFTER`` back in the queue, or fails it (``job.interrupted``) after ``MAX_ATTEMPTS`` runs;
  re-sends a queued job that has waited ``RESEND_AFTER`` (its message was lost: broker down at commit); deletes
  finished jobs and their files after ``KEEP_FINISHED``, and expired upload previews (``mhi.core.storage``).
- A consumer stopped by SIGTERM puts its running jobs back in the queue at once.

Queue (``MHI_QUEUE_URL``, config ``QUEUE_URL``): unset → a SQLite queue file in ``instance/`` (one machine);
``redis://host:6379/0`` → Redis, shared by every machine; ``immediate`` → jobs run inside the committing
request (the test suite). Workers: ``huey_consumer mhi.worker.huey`` (README, "Background jobs").
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from mhi.core.db import db
from mhi.core.storage import StoredFile, delete_files, purge_expired, put_file, utcnow

log = logging.getLogger(__name__)

JOB_STATES = ("queued", "running", "done", "failed")
#: Seconds between two heartbeats of a running job (each also writes its progress).
HEARTBEAT = 2.0
#: A running job whose heartbeat is older than this lost its worker (killed, machine gone).
STALE_AFTER = timedelta(minutes=2)
#: Runs of one job before the sweep gives up on it (a job that kills its worker every time).
MAX_ATTEMPTS = 3
#: A queued job not taken after this long has its message sent again.
RESEND_AFTER = timedelta(minutes=10)
#: Finished jobs, with their files (PDFs hold personal data), are deleted this long after they finished.
KEEP_FINISHED = timedelta(days=7)

#: Generic error message ids (a feature's own ids are shown by its own job page).
INTERRUPTED = "job.interrupted"
CRASHED = "job.crashed"


class Job(db.Model):
    """One background task: what to do (kind, params), for whom, how far it has got, and how it ended."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("state IN ('queued','running','done','failed')", name="state_known"),
        CheckConstraint("progress >= 0 AND total >= 0 AND attempts >= 0", name="counts_not_negative"),
        Index("ix_job_state_heartbeat_at", "state", "heartbeat_at"),
        Index("ix_job_scheme_id_kind", "scheme_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("scheme.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)  # runs started; the current run's fencing number
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(String(60), default="")  # a message id, "" unless failed
    error_params: Mapped[dict | None] = mapped_column(JSON)
    worker: Mapped[str] = mapped_column(String(100), default="")  # host:pid of the current or last run
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def finished(self) -> bool:
        """True once done or failed."""
        return self.state in ("done", "failed")


@dataclass(frozen=True)
class JobInfo:
    """What a handler is given about its job (read-only: the runner alone writes the job row)."""

    id: int
    kind: str
    scheme_id: int | None
    created_by_id: int | None
    params: dict
    total: int
    attempt: int


class JobFailed(Exception):
    """Raised by a handler for an expected failure: the job fails with ``message_id`` and its parameters, and
    everything the handler wrote is rolled back."""

    def __init__(self, message_id: str, **params: Any):
        super().__init__(message_id)
        self.message_id = message_id
        self.params = params


class Progress:
    """The progress callback given to a handler: ``progress(done, total)``. It only stores the figures; the
    heartbeat thread writes them, so a handler never waits on the database to report."""

    def __init__(self, total: int):
        self.done = 0
        self.total = total
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int | None = None) -> None:
        with self._lock:
            self.done = max(0, int(done))
            if total is not None:
                self.total = max(0, int(total))

    def figures(self) -> tuple[int, int]:
        """(done, total) as last reported."""
        with self._lock:
            return self.done, self.total


Handler = Callable[[Session, JobInfo, Progress], "dict | None"]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind`` (a feature's module does it at import time)."""

    def register(function: Handler) -> Handler:
        if HANDLERS.get(kind, function) is not function:
            raise ValueError(f"job kind {kind!r} already has a handler")
        HANDLERS[kind] = function
        return function

    return register


# -- creating jobs --------------------------------------------------------------------------------------------

_PENDING = "mhi.jobs.pending"


def create_job(
    session: Session, kind: str, *, scheme=None, actor=None, params: dict | None = None, total: int = 0
) -> Job:
    """Record a job (flushed, not committed); it is sent to the queue when ``session`` commits."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    now = utcnow()
    job = Job(
        kind=kind,
        scheme_id=getattr(scheme, "id", None),
        created_by_id=getattr(actor, "id", None),
        params=params or {},
        state="queued",
        progress=0,
        total=total,
        attempts=0,
        error="",
        worker="",
        created_at=now,
        enqueued_at=now,
    )
    session.add(job)
    session.flush()
    session.info.setdefault(_PENDING, []).append(job.id)
    return job


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    """Send the jobs created in the transaction that just committed. A failure to reach the queue is logged:
    the job row is committed, and the sweep re-sends it (RESEND_AFTER)."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for job_id in pending:
        try:
            enqueue(job_id)
        except Exception:
            log.exception("job %s: could not reach the queue; the sweep will send it again", job_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:
    """Jobs of a rolled-back transaction do not exist: nothing to send."""
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def enqueue(job_id: int, app: Flask | None = None) -> None:
    """Put job ``job_id`` on the queue (the row must be committed)."""
    app = app or current_app._get_current_object()
    queue(app).enqueue_job(job_id)


def attach_file(session: Session, job: JobInfo | Job, data: bytes, *, name: str, purpose: str = "result"):
    """Store a file of ``job`` (its result, usually): kept as long as the job. Flushed."""
    return put_file(
        session,
        data,
        name=name,
        purpose=purpose,
        scheme_id=job.scheme_id,
        owner_id=job.created_by_id,
        job_id=job.id,
        expires_in=KEEP_FINISHED + timedelta(days=1),  # deleted with the job (``purge``); this is a safety net
    )


def result_file(session: Session, job: Job, purpose: str = "result") -> StoredFile | None:
    """The file ``job`` attached under ``purpose`` (the last one), or None."""
    return session.scalar(
        select(StoredFile)
        .where(StoredFile.job_id == job.id, StoredFile.purpose == purpose)
        .order_by(StoredFile.id.desc())
        .limit(1)
    )


# -- running jobs ---------------------------------------------------------------------------------------------


def worker_name() -> str:
    """host:pid:thread of this run, for the job row (who ran it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"[:100]


def _claim(engine, job_id: int) -> int | None:
    """Take a queued job for this run; returns the run's attempt number, or None when it is not queued (done,
    failed, already taken by another worker: a duplicate message)."""
    now = utcnow()
    with engine.begin() as connection:
        taken = connection.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(
                state="running",
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                worker=worker_name(),
                error="",
                error_params=None,
            )
        ).rowcount
        if taken != 1:
            return None
        return connection.scalar(select(Job.attempts).where(Job.id == job_id))


def _mine(job_id: int, attempt: int):
    """The WHERE clause of a write by the run ``attempt`` of job ``job_id`` (the fencing rule)."""
    return (Job.id == job_id, Job.attempts == attempt, Job.state == "running")


class _Heartbeat(threading.Thread):
    """Writes ``heartbeat_at`` and the progress of one run every HEARTBEAT seconds until stopped."""

    def __init__(self, engine, job_id: int, attempt: int, progress: Progress, interval: float):
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.engine, self.job_id, self.attempt, self.progress = engine, job_id, attempt, progress
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            done, total = self.progress.figures()
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        update(Job)
                        .where(*_mine(self.job_id, self.attempt))
                        .values(heartbeat_at=utcnow(), progress=done, total=total)
                    )
            except Exception:  # a busy SQLite file, a dropped connection: the next beat tries again
                log.warning("job %s: heartbeat not written", self.job_id, exc_info=True)


#: job id → attempt of the runs in this process (for a SIGTERM'd consumer to hand them back).
_RUNNING: dict[int, int] = {}


def run_job(app: Flask, job_id: int) -> str | None:
    """Run job ``job_id`` to its end in this thread; returns its final state (None when there was nothing to do:
    not queued, or taken over by another worker). Never raises: the job row carries the failure."""
    with app.app_context():
        engine = db.engine
        attempt = _claim(engine, job_id)
        if attempt is None:
            return None
        session = db.session
        job = session.get(Job, job_id)
        info = JobInfo(job.id, job.kind, job.scheme_id, job.created_by_id, dict(job.params or {}), job.total, attempt)
        session.rollback()  # nothing of the job row stays loaded (and locked) in the handler's transaction
        progress = Progress(info.total)
        beat = _Heartbeat(engine, job_id, attempt, progress, app.config.get("JOB_HEARTBEAT_SECONDS", HEARTBEAT))
        _RUNNING[job_id] = attempt
        beat.start()
        try:
            result = HANDLERS[info.kind](session, info, progress)
            done, total = progress.figures()
            # The handler's writes and "done" commit together, only if this run still owns the job.
            owned = session.execute(
                update(Job)
                .where(*_mine(job_id, attempt))
                .values(
                    state="done",
                    result=result,
                    progress=max(done, total),
                    total=total,
                    finished_at=utcnow(),
                    heartbeat_at=utcnow(),
                )
            ).rowcount
            if owned != 1:
                session.rollback()
                log.warning("job %s: run %s lost the job to another worker; its work is rolled back", job_id, attempt)
                return None
            session.commit()
            return "done"
        except JobFailed as exc:
            session.rollback()
            return _fail(engine, job_id, attempt, exc.message_id, exc.params)
        except Exception:
            log.exception("job %s (%s) failed", job_id, info.kind)
            session.rollback()
            return _fail(engine, job_id, attempt, CRASHED, None)
        finally:
            beat.stopped.set()
            beat.join()
            _RUNNING.pop(job_id, None)
            db.session.remove()


def _fail(engine, job_id: int, attempt: int, message_id: str, params: dict | None) -> str | None:
    """Record a failure of run ``attempt`` (its own transaction)."""
    try:
        with engine.begin() as connection:
            owned = connection.execute(
                update(Job)
                .where(*_mine(job_id, attempt))
                .values(state="failed", error=message_id, error_params=params, finished_at=utcnow())
            ).rowcount
    except Exception:
        log.exception("job %s: could not record its failure; the sweep will run it again", job_id)
        return None
    return "failed" if owned == 1 else None


def hand_back(app: Flask, job_ids: dict[int, int] | None = None) -> list[int]:
    """Put this process's running jobs back in the queue (a consumer told to stop now): their transactions roll
    back with the process. Returns the ids sent again."""
    running = dict(_RUNNING if job_ids is None else job_ids)
    sent = []
    with app.app_context():
        for job_id, attempt in running.items():
            with db.engine.begin() as connection:
                back = connection.execute(
                    update(Job).where(*_mine(job_id, attempt)).values(state="queued", enqueued_at=utcnow())
                ).rowcount
            if back == 1:
                enqueue(job_id, app)
                sent.append(job_id)
    return sent


# -- the sweep ------------------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """What one sweep did."""

    requeued: list[int]
    resent: list[int]
    gave_up: list[int]
    deleted_jobs: int
    deleted_files: int


def sweep(app: Flask, *, now: datetime | None = None) -> SweepResult:
    """Re-queue the running jobs whose worker died, re-send lost messages, delete what has expired.

    Safe to run in several consumers at once: every change is a conditional UPDATE, and a job is only sent by
    the sweep whose UPDATE changed its row.
    """
    now = now or utcnow()
    stale_after = timedelta(seconds=app.config.get("JOB_STALE_SECONDS", STALE_AFTER.total_seconds()))
    with app.app_context():
        engine = db.engine
        with engine.begin() as connection:
            stale = connection.execute(
                select(Job.id, Job.attempts).where(Job.state == "running", Job.heartbeat_at < now - stale_after)
            ).all()
            waiting = connection.scalars(
                select(Job.id).where(
                    Job.state == "queued", or_(Job.enqueued_at.is_(None), Job.enqueued_at < now - RESEND_AFTER)
                )
            ).all()
        requeued, gave_up, resent = [], [], []
        for job_id, attempts in stale:  # a handful at most: each is its own conditional UPDATE
            give_up = attempts >= MAX_ATTEMPTS
            values = (
                {"state": "failed", "error": INTERRUPTED, "finished_at": now}
                if give_up
                else {"state": "queued", "enqueued_at": now}
            )
            with engine.begin() as connection:
                changed = connection.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.attempts == attempts, Job.state == "running")
                    .where(Job.heartbeat_at < now - stale_after)
                    .values(**values)
                ).rowcount
            if changed == 1:
                (gave_up if give_up else requeued).append(job_id)
        for job_id in waiting:
            with engine.begin() as connection:
                changed = connection.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state == "queued")
                    .where(or_(Job.enqueued_at.is_(None), Job.enqueued_at < now - RESEND_AFTER))
                    .values(enqueued_at=now)
                ).rowcount
            if changed == 1:
                resent.append(job_id)
        for job_id in requeued + resent:
            enqueue(job_id, app)
        for job_id in requeued:
            log.warning("job %s: its worker stopped answering; queued again", job_id)
        for job_id in gave_up:
            log.error("job %s: interrupted %s times; given up", job_id, MAX_ATTEMPTS)
        deleted_jobs, deleted_files = purge(db.session, now=now)
        db.session.commit()
        return SweepResult(requeued, resent, gave_up, deleted_jobs, deleted_files)


def purge(session: Session, *, now: datetime | None = None) -> tuple[int, int]:
    """Delete jobs finished more than KEEP_FINISHED ago with their files, and every expired stored file.
    Returns (jobs, files) deleted. Flushed, not committed."""
    now = now or utcnow()
    old = select(Job.id).where(Job.state.in_(("done", "failed")), Job.finished_at < now - KEEP_FINISHED)
    files = delete_files(session, StoredFile.job_id.in_(old))
    jobs = session.execute(
        Job.__table__.delete().where(Job.state.in_(("done", "failed")), Job.finished_at < now - KEEP_FINISHED)
    ).rowcount
    files += purge_expired(session, now=now)
    return jobs, files


# -- the queue ------------------------------------------------------------------------------------------------


class Queue:
    """The application's Huey instance, built on first use from ``QUEUE_URL``, with its one task (run a job by
    id), the periodic sweep and the start-up sweep."""

    def __init__(self, app: Flask):
        self.app = app
        self.huey = _make_huey(app)
        self._run = self.huey.task(name="run_job")(self._run_task)
        if not self.huey.immediate:
            from huey import crontab
            from huey.signals import SIGNAL_INTERRUPTED

            self.huey.periodic_task(crontab(), name="sweep_jobs")(self._sweep_task)
            self.huey.on_startup(name="sweep_on_startup")(self._sweep_task)
            self.huey.signal(SIGNAL_INTERRUPTED)(self._interrupted)

    def _run_task(self, job_id: int) -> None:
        run_job(self.app, job_id)

    def _sweep_task(self) -> None:
        try:
            sweep(self.app)
        except Exception:  # the next minute tries again
            log.exception("the job sweep failed")

    def _interrupted(self, signal, task, *args, **kwargs) -> None:
        """A consumer stopping now (SIGTERM) interrupts its tasks: their jobs go back in the queue."""
        if task.name == "run_job" and task.args:
            job_id = task.args[0]
            if job_id in _RUNNING:
                hand_back(self.app, {job_id: _RUNNING[job_id]})

    def enqueue_job(self, job_id: int) -> None:
        """Send job ``job_id`` to the workers (in immediate mode: run it now, in this thread)."""
        self._run(job_id)


def _make_huey(app: Flask):
    """Huey on SQLite (default), Redis (redis:// URL) or in immediate mode (``immediate``)."""
    from huey import MemoryHuey, RedisHuey, SqliteHuey

    url = app.config.get("QUEUE_URL") or ""
    name = app.config.get("QUEUE_NAME", "mhi")
    if url == "immediate":
        return MemoryHuey(name, immediate=True, results=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
    elif url:
        raise RuntimeError(f"MHI_QUEUE_URL {url!r}: use redis://host:port/db, sqlite:///path or immediate")
    else:
        path = os.path.join(app.instance_path, "queue.sqlite")
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    return SqliteHuey(name, filename=path, results=False)


def queue(app: Flask) -> Queue:
    """The application's queue (built once, on first use: the SQLite file is only made when needed)."""
    state = app.extensions["mhi_jobs"]
    with state["lock"]:
        if state["queue"] is None:
            state["queue"] = Queue(app)
        return state["queue"]


def init_app(app: Flask) -> None:
    """Give the application its (lazily built) queue. ``QUEUE_URL`` and ``STORAGE_DIR`` come from the config
    (``MHI_QUEUE_URL`` and ``MHI_STORAGE_DIR`` in the environment, see ``mhi.create_app``)."""
    app.config.setdefault("QUEUE_URL", "")
    app.config.setdefault("STORAGE_DIR", "")
    app.extensions["mhi_jobs"] = {"queue": None, "lock": threading.Lock()}
