"""A lockout that cannot be turned into a weapon (issue 18): failed sign-ins slow down the (e-mail, address) that
fails with growing waits; the right password from another address, from a browser that signed in before, or
from an address the account used before still signs in; one bad actor behind an office's address does not
block the office; the holder is told through the account page; an administrator sees and lifts the waits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mhi.auth.models import LoginThrottle, User
from mhi.auth.throttle import KNOWN_COOKIE
from mhi.core.audit import AuditEvent
from tests.factories import PASSWORD, login, make_scheme, make_user, records

WRONG = "Wrong e-mail or password."
WAIT = "Too many failed sign-ins for this account from here."
ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.10"
HOME = "192.0.2.20"


@pytest.fixture
def clerk(app):
    """A clerk of one scheme."""
    with records(app) as session:
        return make_user(session, "clerk", scheme=make_scheme(session, "MUT-A"), email="clerk@example.org")


def attempt(client, email: str, password: str, address: str = "127.0.0.1"):
    """One sign-in from ``address``."""
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def hammer(app, email: str, times: int, address: str = ATTACKER) -> list[int]:
    """``times`` wrong passwords from a fresh browser at ``address``; their status codes."""
    attacker = app.test_client()
    return [attempt(attacker, email, f"guess number {n}", address).status_code for n in range(times)]


def let_time_pass(app, seconds: int) -> None:
    """Move every recorded failure ``seconds`` into the past (as if that time had passed)."""
    with records(app) as session:
        for row in session.scalars(select(LoginThrottle)):
            row.last_failure_at -= timedelta(seconds=seconds)
            row.first_failure_at -= timedelta(seconds=seconds)
        session.commit()


def test_five_failures_make_that_address_wait_and_the_waits_grow(app, clerk):
    statuses = hammer(app, clerk.email, 6)

    assert statuses == [200, 200, 200, 200, 200, 429]
    refused = attempt(app.test_client(), clerk.email, PASSWORD, ATTACKER)
    assert refused.status_code == 429 and WAIT in refused.get_data(as_text=True)
    assert 25 <= int(refused.headers["Retry-After"]) <= 31
    let_time_pass(app, 31)
    assert hammer(app, clerk.email, 1) == [200]  # the sixth failure: the next wait is twice as long
    assert 55 <= int(attempt(app.test_client(), clerk.email, PASSWORD, ATTACKER).headers["Retry-After"]) <= 61


def test_a_waiting_attempt_does_not_check_the_password(app, clerk):
    hammer(app, clerk.email, 5)
    browser = app.test_client()

    assert attempt(browser, clerk.email, PASSWORD, ATTACKER).status_code == 429
    assert browser.get("/").status_code == 302


def test_the_right_password_from_another_address_still_signs_in(app, clerk):
    hammer(app, clerk.email, 40)

    assert attempt(app.test_client(), clerk.email, PASSWORD, HOME).status_code == 302


def test_a_browser_that_signed_in_before_is_never_held_back(app, clerk):
    laptop = app.test_client()
    assert attempt(laptop, clerk.email, PASSWORD, OFFICE).status_code == 302
    assert laptop.get_cookie(KNOWN_COOKIE) is not None
    laptop.post("/logout")
    # The laptop goes to a café where an attacker hammers the account from the same address.
    hammer(app, clerk.email, 12, ATTACKER)

    assert attempt(app.test_client(), clerk.email, PASSWORD, ATTACKER).status_code == 429  # a stranger's browser
    assert attempt(laptop, clerk.email, PASSWORD, ATTACKER).status_code == 302


def test_a_forged_known_browser_cookie_counts_for_nothing(app, clerk):
    hammer(app, clerk.email, 5)
    forger = app.test_client()
    forger.set_cookie(KNOWN_COOKIE, "WzEsMiwzXQ.forged")

    assert attempt(forger, clerk.email, PASSWORD, ATTACKER).status_code == 429


def test_a_browser_signed_out_by_a_password_change_is_no_longer_known(app, clerk):
    thief = app.test_client()
    attempt(thief, clerk.email, PASSWORD, ATTACKER)
    owner = app.test_client()
    login(owner, clerk)
    owner.post("/account/password", data={"current": PASSWORD, "new": "fresh secret 9x", "confirm": "fresh secret 9x"})
    hammer(app, clerk.email, 5, ATTACKER)

    assert attempt(thief, clerk.email, "fresh secret 9x", ATTACKER).status_code == 429


def test_an_address_the_account_signed_in_from_is_not_held_back_by_an_attack(app, clerk):
    attempt(app.test_client(), clerk.email, PASSWORD, OFFICE)  # the clerk works from the office
    hammer(app, clerk.email, 20, OFFICE)  # someone at the office tries the clerk's account

    assert attempt(app.test_client(), clerk.email, PASSWORD, OFFICE).status_code == 302  # a new browser there


def test_one_bad_actor_behind_the_office_address_does_not_block_the_office(app, clerk):
    with records(app) as session:
        scheme = session.get(User, clerk.id).scheme
        colleague = make_user(session, "clerk", scheme=scheme, email="colleague@example.org")
        newcomer = make_user(session, "clerk", scheme=scheme, email="newcomer@example.org")
    attempt(app.test_client(), clerk.email, PASSWORD, OFFICE)
    # The bad actor tries the colleague's account again and again, and a list of other e-mails.
    hammer(app, colleague.email, 15, OFFICE)
    for number in range(10):
        hammer(app, f"someone{number}@example.org", 2, OFFICE)

    assert attempt(app.test_client(), clerk.email, PASSWORD, OFFICE).status_code == 302
    assert attempt(app.test_client(), newcomer.email, PASSWORD, OFFICE).status_code == 302  # first time there
    assert attempt(app.test_client(), colleague.email, PASSWORD, OFFICE).status_code == 429  # the one attacked


def test_an_address_failing_on_many_accounts_is_refused_except_for_accounts_it_is_known_for(app, clerk):
    app.config["MHI_LOGIN_ADDRESS_ACCOUNTS"] = 4
    with records(app) as session:
        other = make_user(session, "clerk", scheme=session.get(User, clerk.id).scheme)
    attempt(app.test_client(), clerk.email, PASSWORD, OFFICE)
    try:
        for number in range(5):
            hammer(app, f"list{number}@example.org", 1, OFFICE)

        refused = attempt(app.test_client(), other.email, PASSWORD, OFFICE)
        assert refused.status_code == 429 and WAIT in refused.get_data(as_text=True)
        assert attempt(app.test_client(), clerk.email, PASSWORD, OFFICE).status_code == 302
        assert attempt(app.test_client(), other.email, PASSWORD, HOME).status_code == 302
    finally:
        app.config["MHI_LOGIN_ADDRESS_ACCOUNTS"] = 30


def test_unknown_and_known_emails_wait_alike(app, clerk):
    hammer(app, clerk.email, 5)
    hammer(app, "nobody@example.org", 5)

    known = attempt(app.test_client(), clerk.email, "guess again 1", ATTACKER)
    unknown = attempt(app.test_client(), "nobody@example.org", "guess again 1", ATTACKER)
    assert known.status_code == unknown.status_code == 429
    pages = [
        re.sub(r'name="csrf_token" value="[^"]*"', "", r.get_data(as_text=True)).replace(e, "E")
        for r, e in ((known, clerk.email), (unknown, "nobody@example.org"))
    ]
    assert pages[0] == pages[1]


def test_a_success_starts_the_count_again(app, clerk):
    browser = app.test_client()
    for n in range(4):
        attempt(browser, clerk.email, f"typo {n} again", HOME)
    assert attempt(browser, clerk.email, PASSWORD, HOME).status_code == 302
    browser.post("/logout")

    assert hammer(app, clerk.email, 5, HOME) == [200] * 5  # five more before any wait
    with records(app) as session:
        assert session.scalar(select(LoginThrottle.failures).where(LoginThrottle.email == clerk.email)) == 5


def test_the_counts_hold_across_workers(app, clerk):
    first, second = app.test_client(), app.test_client()
    for n in range(5):
        attempt(first if n % 2 else second, clerk.email, "wrong password 1", ATTACKER)

    assert attempt(first, clerk.email, PASSWORD, ATTACKER).status_code == 429
    assert attempt(second, clerk.email, PASSWORD, ATTACKER).status_code == 429


def test_the_holder_is_told_on_the_account_page(app, client, clerk):
    hammer(app, clerk.email, 8)

    with records(app) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sign_in_throttled", AuditEvent.entity_id == clerk.id)
        ).all()
    assert len(events) == 1 and events[0].after == {"address": ATTACKER, "failures": 5}
    login(client, clerk)
    page = client.get("/account").get_data(as_text=True)
    assert "failed sign-ins: held back from one address" in page and ATTACKER in page


def test_an_administrator_sees_and_lifts_a_wait(app, client, clerk):
    hammer(app, clerk.email, 6)
    with records(app) as session:
        admin = make_user(session, "admin")
    login(client, admin)

    page = client.get("/admin/sign-ins").get_data(as_text=True)
    assert f"<td>{clerk.email}</td>" in page and ATTACKER in page
    with records(app) as session:
        throttle_id = session.scalar(select(LoginThrottle.id).where(LoginThrottle.email == clerk.email))
    assert client.post(f"/admin/sign-ins/{throttle_id}/lift").status_code == 302

    assert f"<td>{clerk.email}</td>" not in client.get("/admin/sign-ins").get_data(as_text=True)
    assert attempt(app.test_client(), clerk.email, PASSWORD, ATTACKER).status_code == 302
    with records(app) as session:
        lift = session.scalar(select(AuditEvent).where(AuditEvent.action == "throttle_lift"))
    assert lift.actor_id == admin.id and lift.entity_id == clerk.id


def test_an_administrator_lifts_a_refused_address(app, client, clerk):
    app.config["MHI_LOGIN_ADDRESS_ACCOUNTS"] = 2
    try:
        for number in range(3):
            hammer(app, f"list{number}@example.org", 1, OFFICE)
        assert attempt(app.test_client(), clerk.email, PASSWORD, OFFICE).status_code == 429
        with records(app) as session:
            admin = make_user(session, "admin")
        login(client, admin)
        assert OFFICE in client.get("/admin/sign-ins").get_data(as_text=True)

        assert client.post("/admin/sign-ins/addresses/lift", data={"address": OFFICE}).status_code == 302

        assert attempt(app.test_client(), clerk.email, PASSWORD, OFFICE).status_code == 302
    finally:
        app.config["MHI_LOGIN_ADDRESS_ACCOUNTS"] = 30


def test_lifting_an_unknown_wait_is_404(app, client):
    with records(app) as session:
        admin = make_user(session, "admin")
    login(client, admin)

    assert client.post("/admin/sign-ins/999999/lift").status_code == 404
    assert client.post("/admin/sign-ins/addresses/lift", data={}).status_code == 400
