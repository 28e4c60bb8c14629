"""The background job that queues and sends SMS (mhi/core/jobs.py): ``sms.send``.

One run queues what happened in the last ``hours`` hours in each scheme (or the job's scheme) — receipt
confirmations, arrears reminders before strike-off, claim outcomes with consent — then hands the due messages to
the configured gateway (``gateway_from_config``), at most ``SMS_DAILY_CAP`` a day. Everything it writes commits
with the job's "done"; a run that dies is simply run again (queuing is idempotent, a message already sent is not
queued any more).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from mhi.core import clock, jobs
from mhi.messaging.gateways import gateway_from_config
from mhi.messaging.services import (
    DEFAULT_DAILY_CAP,
    queue_arrears_reminders,
    queue_claim_messages,
    queue_receipt_messages,
    send_due_messages,
)
from mhi.schemes.models import Scheme

SMS_JOB = "sms.send"
#: The job's failure when the configuration names no usable gateway.
BAD_GATEWAY = "sms.bad_gateway"


@jobs.handler(SMS_JOB)
def run_sms_job(session, job: jobs.JobInfo, progress: jobs.Progress) -> dict:
    """Queue the period's messages, then send the due ones; the counts are the job's result."""
    now = clock.stored_now()
    since = now - timedelta(hours=int(job.params.get("hours", 24)))
    query = select(Scheme).order_by(Scheme.code)
    if job.scheme_id is not None:
        query = query.where(Scheme.id == job.scheme_id)
    try:
        gateway = gateway_from_config(current_app.config, current_app.instance_path)
    except ValueError as exc:
        raise jobs.JobFailed(BAD_GATEWAY, reason=str(exc)) from exc
    queued = 0
    bad_phones: list[str] = []
    schemes = list(session.scalars(query))
    for done, scheme in enumerate(schemes, 1):
        for result in (
            queue_receipt_messages(session, scheme, since, now=now),
            queue_arrears_reminders(session, scheme, now.date(), now=now),
            queue_claim_messages(session, scheme, since, now=now),
        ):
            queued += result.queued
            bad_phones += [f"{scheme.code}/{ref}" for ref in result.bad_phones]
        progress(done, len(schemes) + 1)
    cap = int(current_app.config.get("SMS_DAILY_CAP") or DEFAULT_DAILY_CAP)
    sent = send_due_messages(session, gateway, now=now, daily_cap=cap)
    progress(len(schemes) + 1, len(schemes) + 1)
    return {
        "queued": queued,
        "sent": sent.sent,
        "retry_later": sent.retry_later,
        "failed": sent.failed,
        "capped": sent.capped,
        "bad_phones": sorted(bad_phones)[:100],
    }
