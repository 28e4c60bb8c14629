"""SMS (issue 14): the outbox in the household's language, opt-out and consent, E.164 phones, and the sender
against a fake HTTP gateway on 127.0.0.1 (started here) that fails twice then succeeds, answers 500 or times out."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from mhi.contributions.services import record_receipt, refresh_households
from mhi.members.services import enrol_household
from mhi.messaging.gateways import FileGateway, GatewayError, HttpGateway
from mhi.messaging.models import OutboxMessage
from mhi.messaging.services import (
    MAX_ATTEMPTS,
    MessagingError,
    e164,
    queue_arrears_reminders,
    queue_receipt_messages,
    send_due_messages,
    set_preferences,
)
from tests.factories import make_scheme
from tests.members.helpers import person

NOW = datetime(2025, 1, 20, 9, 0)
E = date(2025, 1, 10)


class FakeGateway:
    """A local HTTP server: answers 500 to the first ``failures`` requests, then 200 with an id; or sleeps."""

    def __init__(self, failures: int = 0, delay: float = 0.0):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                if delay:
                    time.sleep(delay)
                if len(outer.requests) <= failures:
                    self.send_response(500)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"id": f"gw-{len(outer.requests)}"}).encode())

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scheme(session):
    return make_scheme(session)


def household(session, scheme, ref: str, phone: str, language: str = ""):
    created = enrol_household(
        session, scheme, ref=ref, product_code="BASE", language=language,
        persons=[person("Awa", "head", E, phone=phone)],
    )  # fmt: skip
    refresh_households(session, scheme, [created.id])  # the caller refreshes what the register touched
    session.commit()
    return created


def pay(session, h, amount=1300):
    record_receipt(session, h, date=E, amount=Decimal(amount))
    session.commit()


def outbox(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_phone_numbers_in_e164():
    assert e164("77 100 00 01", "SN") == "+221771000001"
    assert e164("+221 76 352 37 08", "SN") == "+221763523708"
    for bad in ("12", "not a phone", "", "+221 12"):
        with pytest.raises(MessagingError):
            e164(bad, "SN")


def test_receipt_confirmation_in_the_household_language_once(session, scheme):
    fr = household(session, scheme, "H-FR", "77 100 00 01", language="fr")
    en = household(session, scheme, "H-EN", "77 100 00 02", language="en")
    pay(session, fr)
    pay(session, en)
    since = NOW - timedelta(days=3650)
    first = queue_receipt_messages(session, scheme, since, now=NOW)
    again = queue_receipt_messages(session, scheme, since, now=NOW)
    session.commit()
    assert (first.queued, again.queued) == (2, 0)
    by_ref = {m.household_id: m for m in outbox(session)}
    assert by_ref[fr.id].phone == "+221771000001" and by_ref[fr.id].language == "fr"
    assert "reçu" in by_ref[fr.id].body and "1\u202f300" in by_ref[fr.id].body
    assert "received" in by_ref[en.id].body and "H-EN" in by_ref[en.id].body


def test_opted_out_household_gets_nothing(session, scheme):
    h = household(session, scheme, "H-1", "77 100 00 01")
    set_preferences(session, h, opted_out=True, claims_consent=False)
    pay(session, h)
    result = queue_receipt_messages(session, scheme, NOW - timedelta(days=3650), now=NOW)
    assert (result.queued, result.skipped_opted_out) == (1 - 1, 1)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_impossible_phone_is_skipped_and_named(session, scheme):
    h = household(session, scheme, "H-1", "12")
    pay(session, h)
    result = queue_receipt_messages(session, scheme, NOW - timedelta(days=3650), now=NOW)
    assert result.queued == 0 and result.bad_phones == ["H-1"]


def test_arrears_reminder_before_strike_off(session, scheme):
    h = household(session, scheme, "H-1", "77 100 00 01", language="en")
    # Never paid: struck off on E + 180 days; a reminder within the 15 days before.
    strike = h.strike_off_date
    assert queue_arrears_reminders(session, scheme, strike - timedelta(days=20), now=NOW).queued == 0
    result = queue_arrears_reminders(session, scheme, strike - timedelta(days=10), now=NOW)
    assert result.queued == 1
    message = outbox(session)[0]
    assert message.kind == "arrears" and "owes" in message.body


def test_gateway_failing_twice_then_succeeding(session, scheme):
    h = household(session, scheme, "H-1", "77 100 00 01")
    pay(session, h)
    queue_receipt_messages(session, scheme, NOW - timedelta(days=3650), now=NOW)
    session.commit()
    with FakeGateway(failures=2) as fake:
        gateway = HttpGateway(fake.url, token="secret", sender="MUTUELLE")
        now = NOW
        first = send_due_messages(session, gateway, now=now)
        assert (first.sent, first.retry_later) == (0, 1)
        message = outbox(session)[0]
        assert (message.status, message.attempts) == ("queued", 1) and "HTTP 500" in message.last_error
        # Not due again before its backoff has passed: nothing is sent meanwhile.
        assert send_due_messages(session, gateway, now=now + timedelta(seconds=30)).sent == 0
        assert len(fake.requests) == 1
        second = send_due_messages(session, gateway, now=message.next_attempt_at)
        assert second.retry_later == 1
        third = send_due_messages(session, gateway, now=message.next_attempt_at)
        session.commit()
    assert third.sent == 1
    assert (message.status, message.attempts, message.gateway_id) == ("sent", 3, "gw-3")
    assert fake.requests[0]["auth"] == "Bearer secret"
    assert fake.requests[0]["body"]["to"] == "+221771000001"


def test_gateway_timeout_keeps_the_message_and_gives_up_after_the_last_attempt(session, scheme):
    h = household(session, scheme, "H-1", "77 100 00 01")
    pay(session, h)
    queue_receipt_messages(session, scheme, NOW - timedelta(days=3650), now=NOW)
    with FakeGateway(delay=1.0) as fake:
        gateway = HttpGateway(fake.url, timeout=0.2)
        with pytest.raises(GatewayError):
            gateway.send("+221771000001", "x")
        message = outbox(session)[0]
        for _ in range(MAX_ATTEMPTS):
            send_due_messages(session, gateway, now=message.next_attempt_at)
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)
    assert "could not be reached" in message.last_error


def test_daily_cap(session, scheme, tmp_path):
    for n in range(3):
        pay(session, household(session, scheme, f"H-{n}", f"77 100 00 0{n + 1}"))
    queue_receipt_messages(session, scheme, NOW - timedelta(days=3650), now=NOW)
    gateway = FileGateway(tmp_path / "sms.jsonl")
    result = send_due_messages(session, gateway, now=NOW, daily_cap=2)
    assert (result.sent, result.capped) == (2, 1)
    assert send_due_messages(session, gateway, now=NOW + timedelta(hours=1), daily_cap=2).sent == 0
    assert send_due_messages(session, gateway, now=NOW + timedelta(days=1), daily_cap=2).sent == 1
    lines = (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["to"].startswith("+221")


def test_claim_outcome_only_with_consent(session, scheme):
    from mhi.claims.models import Claim
    from mhi.members.models import Person
    from mhi.messaging.services import queue_claim_messages

    with_consent = household(session, scheme, "H-1", "77 100 00 01")
    without = household(session, scheme, "H-2", "77 100 00 02")
    set_preferences(session, with_consent, opted_out=False, claims_consent=True)
    for n, h in enumerate((with_consent, without)):
        p = session.scalar(select(Person).where(Person.household_id == h.id))
        session.add(
            Claim(
                scheme_id=scheme.id, claim_ref=f"C-{n}", member_no=p.member_no, person_id=p.id, benefit_code="OPD",
                date_of_service=E, date_submitted=E, recorded_on=E, amount_claimed=Decimal(1000), status="APPROVED",
                amount_approved=Decimal(800),
            )
        )  # fmt: skip
    session.commit()
    result = queue_claim_messages(session, scheme, NOW - timedelta(days=3650), now=NOW)
    assert (result.queued, result.skipped_no_consent) == (1, 1)
    assert outbox(session)[0].household_id == with_consent.id


def test_cli_sms_send_with_the_file_driver(app, runner, session, scheme, tmp_path, monkeypatch):
    pay(session, household(session, scheme, "H-1", "77 100 00 01"))
    monkeypatch.setenv("MHI_SMS_GATEWAY", "file")
    monkeypatch.setenv("MHI_SMS_FILE", str(tmp_path / "out.jsonl"))
    result = runner.invoke(args=["sms", "send", "--hours", "1000000"])
    assert result.exit_code == 0, result.output
    assert "'sent': 1" in result.stderr  # the job ran at commit (the suite's queue is immediate)
    assert (tmp_path / "out.jsonl").exists()
    session.expire_all()
    assert [m.status for m in outbox(session)] == ["sent"]


def print_cards_for(session, scheme, kind="all", **scope):
    """Run a card print job (the suite's queue runs it at commit); the finished job."""
    from mhi.cards.services import create_card_job, make_scope

    job = create_card_job(session, scheme, make_scope(kind, **scope), actor=None, on=E + timedelta(days=5))
    session.commit()
    session.refresh(job)
    assert job.state == "done", (job.error, job.error_params)
    return job


def test_card_ready_once_per_household_per_print_run_in_its_language(session, scheme):
    from mhi.members.services import add_person

    fr = household(session, scheme, "H-FR", "77 100 00 01", language="fr")
    en = household(session, scheme, "H-EN", "77 100 00 02", language="en")
    add_person(session, fr, person("Fatou", "child", E))  # two cards for H-FR, one message
    session.commit()
    job = print_cards_for(session, scheme)
    messages = outbox(session)
    assert job.result == {"cards": 3, "card_ready_sms": 2}
    assert sorted((m.household_id, m.kind) for m in messages) == sorted([(fr.id, "card_ready"), (en.id, "card_ready")])
    by_household = {m.household_id: m for m in messages}
    assert by_household[fr.id].language == "fr" and "cartes de membre du ménage H-FR" in by_household[fr.id].body
    assert by_household[en.id].language == "en" and "membership cards of household H-EN" in by_household[en.id].body
    # A second print run of the same household tells it again, once.
    print_cards_for(session, scheme, "household", household_ref="H-FR")
    assert [m.household_id for m in outbox(session)].count(fr.id) == 2
    assert [m.household_id for m in outbox(session)].count(en.id) == 1


def test_card_ready_not_to_an_opted_out_household(session, scheme):
    quiet = household(session, scheme, "H-1", "77 100 00 01")
    told = household(session, scheme, "H-2", "77 100 00 02")
    set_preferences(session, quiet, opted_out=True, claims_consent=False)
    session.commit()
    job = print_cards_for(session, scheme)
    assert job.result["card_ready_sms"] == 1
    assert [(m.household_id, m.kind) for m in outbox(session)] == [(told.id, "card_ready")]


def test_card_ready_is_sent_by_the_sms_job(session, scheme, tmp_path):
    household(session, scheme, "H-1", "77 100 00 01")
    print_cards_for(session, scheme)
    message = outbox(session)[0]
    result = send_due_messages(session, FileGateway(tmp_path / "sms.jsonl"), now=message.next_attempt_at)
    assert result.sent == 1
    line = json.loads((tmp_path / "sms.jsonl").read_text(encoding="utf-8"))
    assert line["to"] == "+221771000001" and "H-1" in line["text"]
