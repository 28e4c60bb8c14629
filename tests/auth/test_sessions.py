"""Server-side sessions (issue 18): a copied cookie is dead after sign-out, a password change and a deactivation
end the other sessions, the account page lists and ends sessions, an administrator ends a user's sessions.

A second test client with a copy of the first one's session cookie stands for the stolen cookie in another
browser; a second application on the same database stands for another worker."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from mhi import create_app
from mhi.auth.models import User, UserSession
from mhi.core.audit import AuditEvent
from mhi.core.db import db
from mhi.core.security import LAST_SEEN
from tests.factories import PASSWORD, login, make_scheme, make_user, records

NEW_PASSWORD = "new secret 22 ok"


@pytest.fixture
def clerk(app):
    """A clerk of one scheme."""
    with records(app) as session:
        return make_user(session, "clerk", scheme=make_scheme(session, "MUT-A"), email="clerk@example.org")


def copy_of(client, app=None):
    """A second browser holding a copy of ``client``'s session cookie (the stolen cookie)."""
    thief = (app or client.application).test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client) -> bool:
    """True when the dashboard opens (a signed-out browser is sent to the sign-in page)."""
    return client.get("/").status_code == 200


def rows(app, user: User) -> list[UserSession]:
    """The user's session rows, oldest first."""
    with records(app) as session:
        return list(session.scalars(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)))


def test_signing_in_opens_a_session_row(app, client, clerk):
    login(client, clerk, headers={"User-Agent": "TestBrowser/1.0"})

    [row] = rows(app, clerk)
    assert row.ended_at is None and row.address == "127.0.0.1" and row.user_agent == "TestBrowser/1.0"
    with client.session_transaction() as browser:
        assert browser["sid"] and browser["sid"] not in row.key_hash  # only its hash is stored


def test_a_copied_cookie_is_dead_after_sign_out(app, client, clerk):
    login(client, clerk)
    thief = copy_of(client)
    assert signed_in(thief)  # the copy works while the session is open

    client.post("/logout")

    assert not signed_in(thief)
    assert thief.post("/language", data={"lang": "fr"}).status_code == 302
    with records(app) as session:
        assert session.get(User, clerk.id).locale == "en"  # the copy changed nothing on the account
    [row] = rows(app, clerk)
    assert row.ended_at is not None and row.end_reason == "logout"


def test_a_copied_cookie_is_dead_on_every_worker(app, client, clerk):
    other_worker = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )
    try:
        login(client, clerk)
        thief = copy_of(client, other_worker)
        assert signed_in(thief)

        client.post("/logout")

        assert not signed_in(thief)
    finally:
        with other_worker.app_context():
            db.engine.dispose()


def test_a_password_change_ends_every_other_session_but_not_this_one(app, client, clerk):
    login(client, clerk)
    other = app.test_client()
    login(other, clerk)
    thief = copy_of(other)

    response = client.post(
        "/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert signed_in(client)
    assert not signed_in(other) and not signed_in(thief)
    assert [row.end_reason for row in rows(app, clerk)] == [None, "password"]


def test_deactivation_ends_every_session(app, client, clerk):
    login(client, clerk)
    with records(app) as session:
        admin = make_user(session, "admin")
    boss = app.test_client()
    login(boss, admin)

    boss.post(f"/admin/users/{clerk.id}/deactivate")

    assert not signed_in(client)
    assert [row.end_reason for row in rows(app, clerk)] == ["deactivated"]


def test_the_account_page_lists_the_sessions_and_ends_one(app, client, clerk):
    login(client, clerk, headers={"User-Agent": "Office PC"})
    phone = app.test_client()
    login(phone, clerk, headers={"User-Agent": "Phone browser"})

    page = client.get("/account").get_data(as_text=True)

    assert "Office PC" in page and "Phone browser" in page and "This browser" in page
    phone_row = rows(app, clerk)[1]
    assert client.post(f"/account/sessions/{phone_row.id}/end").status_code == 302
    assert not signed_in(phone) and signed_in(client)
    assert "Phone browser" not in client.get("/account").get_data(as_text=True)
    with records(app) as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "session_end"))


def test_the_account_page_signs_out_every_other_session(app, client, clerk):
    login(client, clerk)
    others = [app.test_client() for _ in range(2)]
    for other in others:
        login(other, clerk)

    response = client.post("/account/sessions/end-others", follow_redirects=True)

    assert "2 other sessions ended." in response.get_data(as_text=True)
    assert signed_in(client) and not any(signed_in(other) for other in others)


def test_nobody_ends_a_session_of_another_account(app, client, clerk):
    with records(app) as session:
        victim = make_user(session, "clerk", scheme=make_scheme(session, "MUT-B"))
    theirs = app.test_client()
    login(theirs, victim)
    login(client, clerk)

    assert client.post(f"/account/sessions/{rows(app, victim)[0].id}/end").status_code == 404
    assert signed_in(theirs)


def test_an_administrator_ends_a_users_sessions(app, client, clerk):
    login(client, clerk)
    with records(app) as session:
        admin = make_user(session, "admin")
    boss = app.test_client()
    login(boss, admin)

    response = boss.post(f"/admin/users/{clerk.id}/sessions/end", follow_redirects=True)

    assert "1 session of clerk@example.org ended." in response.get_data(as_text=True)
    assert not signed_in(client) and signed_in(boss)
    with records(app) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "sessions_end"))
    assert event.actor_id == admin.id and event.entity_id == clerk.id
    # The account holder sees it on their account page.
    login(client, clerk)
    assert "sessions ended" in client.get("/account").get_data(as_text=True)


def test_only_an_administrator_ends_someone_elses_sessions(app, client, clerk):
    with records(app) as session:
        manager = make_user(session, "scheme_manager", scheme=make_scheme(session, "MUT-B"))
    login(client, manager)

    assert client.post(f"/admin/users/{clerk.id}/sessions/end").status_code == 403


def test_an_idle_session_is_ended_in_the_table_too(app, client, clerk):
    login(client, clerk)
    with client.session_transaction() as browser:
        browser[LAST_SEEN] = int(time.time()) - 31 * 60

    assert not signed_in(client)
    assert [row.end_reason for row in rows(app, clerk)] == ["expired"]


def test_a_cookie_without_a_session_row_is_refused(app, client, clerk):
    login(client, clerk)
    with client.session_transaction() as browser:
        browser["sid"] = "forged"

    assert not signed_in(client)


def test_a_cookie_naming_another_accounts_row_is_refused(app, client, clerk):
    with records(app) as session:
        other = make_user(session, "admin")
    login(client, clerk)
    second = app.test_client()
    login(second, other)
    with second.session_transaction() as theirs:
        their_key = theirs["sid"]
    with client.session_transaction() as browser:
        browser["sid"] = their_key  # the clerk's cookie with the admin's session key

    assert not signed_in(client)
