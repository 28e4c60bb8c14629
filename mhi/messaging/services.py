"""SMS to households (issue 14): what is queued, in which language, and how the queue is sent.

Queuing reads what happened (receipts recorded, households near their strike-off date, claims decided, cards
printed — the card print job queues those itself when it finishes) and adds
one outbox message per event (its ``dedupe_key`` makes a second run add nothing), in the household's language
(its own, else the scheme's), to its phone normalised to E.164 by ``phonenumbers``. A household that opted out
gets nothing; a claim's outcome is sent only to a household that consented (health information). A phone that
cannot be a phone number is skipped and counted, never queued.

Sending (``send_due_messages``, called by the background job) hands the due messages to the gateway, at most
``daily_cap`` a day; a failed attempt keeps the message queued and retries it later (``BACKOFF``), up to
``MAX_ATTEMPTS``, after which it is ``failed``. Every message stays in the outbox with its status. Services
flush, never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import phonenumbers
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from mhi.claims.models import Claim
from mhi.contributions.models import Receipt
from mhi.contributions.services import N_, iter_ledgers
from mhi.core import clock
from mhi.core.audit import record
from mhi.core.errors import UserError
from mhi.core.formatting import day as format_day
from mhi.core.formatting import display_locale, money
from mhi.core.tabular import bulk_insert, chunked
from mhi.members.models import Household, Person
from mhi.messaging.gateways import GatewayError
from mhi.messaging.models import OutboxMessage, SmsPreference
from mhi.schemes.models import Scheme

#: Wait before the 2nd, 3rd, 4th and 5th attempt.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1
DEFAULT_DAILY_CAP = 500

TEMPLATES = {
    "receipt": N_(
        "%(scheme)s: payment of %(amount)s received for household %(ref)s on %(day)s, receipt %(no)s. Thank you."
    ),
    "arrears": N_("%(scheme)s: household %(ref)s owes %(amount)s. Pay before %(day)s to keep your cover."),
    "claim_decided": N_("%(scheme)s: the claim %(claim)s of %(day)s is decided: %(outcome)s."),
    "card_ready": N_("%(scheme)s: the membership cards of household %(ref)s are ready. Collect them at the office."),
}
OUTCOMES = {"APPROVED": N_("approved"), "REDUCED": N_("paid in part"), "REJECTED": N_("rejected")}


class MessagingError(UserError):
    """A phone number or a setting that cannot be used; the message says why."""


def e164(raw: str | None, country: str) -> str:
    """The phone in E.164 (``+221763523708``), read as a number of ``country`` when it has no ``+``; raises
    MessagingError when it cannot be a phone number there."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException as exc:
        raise MessagingError(N_("%(text)s is not a phone number"), text=repr(text)) from exc
    if not phonenumbers.is_valid_number(number):
        raise MessagingError(
            N_("%(text)s is not a valid phone number in %(upper)s"), text=repr(text), upper=country.upper()
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def message_language(household_language: str, scheme: Scheme) -> str:
    """The household's language when the application has it, else the scheme's, else the default."""
    languages = current_app.config["LANGUAGES"]
    for candidate in (household_language or "", scheme.locale or ""):
        language = candidate.replace("-", "_").split("_")[0].lower()
        if language in languages:
            return language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def render(kind: str, language: str, scheme: Scheme, **values) -> str:
    """The message text in ``language``: amounts and dates as that language writes them in the scheme's country."""
    locale = display_locale(language, scheme.country)
    shown = {"scheme": scheme.name}
    for key, value in values.items():
        if key == "amount":
            value = money(value, scheme.currency, locale)
        elif isinstance(value, date):
            value = format_day(value, locale)
        shown[key] = value
    with force_locale(language):
        if "outcome" in shown:
            shown["outcome"] = _(OUTCOMES[shown["outcome"]])
        return _(TEMPLATES[kind], **shown)


@dataclass
class QueueResult:
    """What a queuing run did."""

    queued: int = 0
    skipped_opted_out: int = 0
    skipped_no_consent: int = 0
    bad_phones: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Event:
    """Something to tell a household."""

    household_id: int
    kind: str
    key: str
    values: dict


def _contacts(session, household_ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """household id → (ref, phone (the household's, else its head's), language)."""
    found = {}
    for chunk in chunked(sorted(set(household_ids))):
        for hid, ref, phone, language, head_phone in session.execute(
            select(Household.id, Household.ref, Household.phone, Household.language, Person.phone)
            .outerjoin(Person, (Person.household_id == Household.id) & (Person.relation == "head"))
            .where(Household.id.in_(chunk))
        ):
            found[hid] = (ref, phone or head_phone or "", language or "")
    return found


def _queue(session, scheme: Scheme, events: list[_Event], now: datetime) -> QueueResult:
    """Add the events not queued before, for households that did not opt out (claims: that consented)."""
    result = QueueResult()
    if not events:
        return result
    keys = [event.key for event in events]
    known = set()
    for chunk in chunked(keys):
        known.update(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.scheme_id == scheme.id, OutboxMessage.dedupe_key.in_(chunk)
                )
            )
        )
    fresh = [event for event in events if event.key not in known]
    ids = sorted({event.household_id for event in fresh})
    prefs = {}
    for chunk in chunked(ids):
        prefs.update(
            {
                p.household_id: p
                for p in session.scalars(select(SmsPreference).where(SmsPreference.household_id.in_(chunk)))
            }
        )
    contacts = _contacts(session, ids)
    rows = []
    for event in fresh:
        pref = prefs.get(event.household_id)
        if pref is not None and pref.opted_out:
            result.skipped_opted_out += 1
            continue
        if event.kind == "claim_decided" and not (pref is not None and pref.claims_consent):
            result.skipped_no_consent += 1
            continue
        ref, raw_phone, household_language = contacts[event.household_id]
        try:
            phone = e164(raw_phone, scheme.country)
        except MessagingError:
            result.bad_phones.append(ref)
            continue
        language = message_language(household_language, scheme)
        rows.append(
            {
                "scheme_id": scheme.id, "household_id": event.household_id, "kind": event.kind,
                "dedupe_key": event.key, "phone": phone, "language": language,
                "body": render(event.kind, language, scheme, ref=ref, **event.values), "status": "queued",
                "attempts": 0, "next_attempt_at": now, "last_error": "", "gateway_id": "",
            }
        )  # fmt: skip
    bulk_insert(session, OutboxMessage.__table__, rows)
    result.queued = len(rows)
    return result


def queue_receipt_messages(session, scheme: Scheme, since: datetime, *, now: datetime) -> QueueResult:
    """A confirmation for each receipt recorded since ``since`` (not the reversals)."""
    rows = session.execute(
        select(Receipt.id, Receipt.household_id, Receipt.receipt_no, Receipt.date, Receipt.amount).where(
            Receipt.scheme_id == scheme.id, Receipt.created_at >= since, Receipt.reversal_of_id.is_(None)
        )
    ).all()
    events = [
        _Event(hid, "receipt", f"receipt:{rid}", {"no": no, "day": day, "amount": amount})
        for rid, hid, no, day, amount in rows
    ]
    return _queue(session, scheme, events, now)


def queue_arrears_reminders(session, scheme: Scheme, on: date, *, days: int = 15, now: datetime) -> QueueResult:
    """A reminder for each household owing something whose strike-off date falls within ``days`` days (once per
    strike-off date): what it owes today and the day it must pay before (contributions.md §5)."""
    households = session.execute(
        select(Household.id, Household.strike_off_date).where(
            Household.scheme_id == scheme.id,
            Household.strike_off_date.between(on + timedelta(days=1), on + timedelta(days=days)),
        )
    ).all()
    strike = dict(households)
    events = []
    for hid, ledger in iter_ledgers(session, scheme, list(strike)):
        owed = ledger.amounts(on, on).arrears_at_T
        if owed > 0:
            events.append(
                _Event(hid, "arrears", f"arrears:{hid}:{strike[hid].isoformat()}", {"amount": owed, "day": strike[hid]})
            )
    return _queue(session, scheme, events, now)


def queue_claim_messages(session, scheme: Scheme, since: datetime, *, now: datetime) -> QueueResult:
    """The outcome of each claim recorded since ``since``, to households that consented."""
    rows = session.execute(
        select(Claim.id, Person.household_id, Claim.claim_ref, Claim.date_of_service, Claim.status)
        .join(Person, Person.id == Claim.person_id)
        .where(Claim.scheme_id == scheme.id, Claim.created_at >= since)
    ).all()
    events = [
        _Event(hid, "claim_decided", f"claim:{cid}", {"claim": ref, "day": day, "outcome": status})
        for cid, hid, ref, day, status in rows
    ]
    return _queue(session, scheme, events, now)


def queue_card_ready_messages(
    session, scheme: Scheme, household_ids: list[int], *, run: int, now: datetime
) -> QueueResult:
    """A "card ready" message to each household whose cards the print run ``run`` (the card job's id) printed:
    one per household and run, however many persons' cards it holds (a later run for the same household sends
    another)."""
    events = [_Event(hid, "card_ready", f"card_ready:{run}:{hid}", {}) for hid in sorted(set(household_ids))]
    return _queue(session, scheme, events, now)


def set_preferences(
    session, household: Household, *, opted_out: bool, claims_consent: bool, actor=None
) -> SmsPreference:
    """Record a household's SMS choices (audited: consent to claim messages is the member's decision)."""
    pref = session.get(SmsPreference, household.id)
    if pref is None:
        pref = SmsPreference(household_id=household.id)
        session.add(pref)
    pref.opted_out, pref.claims_consent, pref.changed_at = bool(opted_out), bool(claims_consent), clock.stored_now()
    session.flush()
    record(
        session,
        actor=actor,
        entity="household",
        entity_id=household.id,
        scheme_id=household.scheme_id,
        action="sms_preferences",
        after={"opted_out": pref.opted_out, "claims_consent": pref.claims_consent},
    )
    return pref


@dataclass
class SendResult:
    """What a sending run did."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    capped: int = 0


def send_due_messages(session, gateway, *, now: datetime, daily_cap: int = DEFAULT_DAILY_CAP) -> SendResult:
    """Hand the due queued messages to ``gateway`` (oldest first), at most ``daily_cap`` sent per calendar day
    in all; each failure is written on the message and retried after ``BACKOFF``, the last one marks it failed.
    The caller commits (the job commits after the run, so a crash sends a message at most twice, never loses it)."""
    start_of_day = datetime.combine(now.date(), datetime.min.time())
    sent_today = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == "sent", OutboxMessage.sent_at >= start_of_day)
    )
    budget = max(0, daily_cap - sent_today)
    due = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(budget + 1)
    ).all()
    result = SendResult(capped=max(0, len(due) - budget))
    for message in due[:budget]:
        message.attempts += 1
        try:
            message.gateway_id = (gateway.send(message.phone, message.body) or "")[:100]
        except GatewayError as exc:
            message.last_error = str(exc)[:500]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
                result.failed += 1
            else:
                message.next_attempt_at = now + BACKOFF[message.attempts - 1]
                result.retry_later += 1
            continue
        message.status, message.sent_at, message.last_error = "sent", now, ""
        result.sent += 1
    session.flush()
    return result


def counts_by_status(session, scheme_id: int) -> dict[str, int]:
    """The scheme's outbox by status."""
    counts = defaultdict(int)
    for status, n in session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.scheme_id == scheme_id)
        .group_by(OutboxMessage.status)
    ):
        counts[status] = n
    return dict(counts)
