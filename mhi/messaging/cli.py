"""``sms send [--scheme CODE] [--hours N]``: start the ``sms.send`` job (mhi/messaging/jobs.py).

A cron line runs it every few minutes; the job queue's worker does the queuing and the sending.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

sms_group = AppGroup("sms", help="SMS to households: queue and send.")


@sms_group.command("send")
@click.option("--scheme", "scheme_code", help="Only this scheme's messages are queued.")
@click.option("--hours", default=24, show_default=True, help="Queue what happened in the last N hours.")
def send_command(scheme_code, hours):
    """Queue receipt confirmations, arrears reminders and (with consent) claim outcomes, then send: as a job."""
    from mhi.core import jobs
    from mhi.core.cli import Rejected, info
    from mhi.core.db import db
    from mhi.messaging.jobs import SMS_JOB
    from mhi.schemes.models import Scheme

    session = db.session
    scheme = None
    if scheme_code:
        scheme = session.scalar(select(Scheme).where(Scheme.code == scheme_code))
        if scheme is None:
            raise Rejected(f"scheme {scheme_code} is not loaded")
    job = jobs.create_job(session, SMS_JOB, scheme=scheme, params={"hours": hours})
    session.commit()
    session.refresh(job)
    info(f"sms job {job.id}: {job.state}" + (f" {job.result}" if job.result else ""))


def init_app(app) -> None:
    """Add the ``sms`` command group; importing the job module registers its handler."""
    import mhi.messaging.jobs  # noqa: F401 - registers the sms.send handler

    app.cli.add_command(sms_group)
