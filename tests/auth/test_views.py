"""Sign-in, sign-out, password change, language switch and the users page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mhi.auth.models import User
from mhi.core.audit import AuditEvent
from tests.factories import PASSWORD, login, make_scheme, make_user, records

WRONG = "Wrong e-mail or password."


@pytest.fixture
def clerk(app):
    """A clerk of one scheme."""
    with records(app) as session:
        return make_user(session, "clerk", scheme=make_scheme(session, "MUT-A"), email="clerk@example.org")


def reload(app, user: User) -> User:
    """The user as the database has it now."""
    with records(app) as session:
        return session.get(User, user.id)


def make(app, role: str, **kwargs) -> User:
    """A user of ``role`` (set up outside the requests' context)."""
    with records(app) as session:
        return make_user(session, role, **kwargs)


def test_login_with_the_right_password_opens_the_dashboard(client, clerk):
    response = client.post("/login", data={"email": "Clerk@Example.org ", "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "MUT-A" in client.get("/").get_data(as_text=True)


def test_login_page_shows_the_form(client):
    page = client.get("/login").get_data(as_text=True)

    assert 'name="email"' in page and 'name="password"' in page


def test_wrong_password_and_unknown_email_give_the_same_answer(client, clerk):
    wrong_password = client.post("/login", data={"email": clerk.email, "password": "not the password 1"})
    unknown_email = client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD})

    assert wrong_password.status_code == unknown_email.status_code == 200
    for response in (wrong_password, unknown_email):
        page = response.get_data(as_text=True)
        assert WRONG in page
        assert "unknown" not in page.lower() and "no account" not in page.lower()
    # Apart from the e-mail echoed back in its box (and the time-stamped CSRF tokens), the pages are the same.
    strip = [
        re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True)).replace(email, "E")
        for response, email in ((wrong_password, clerk.email), (unknown_email, "nobody@example.org"))
    ]
    assert strip[0] == strip[1]
    assert client.get("/").status_code == 302


def test_an_inactive_account_is_refused_the_same_way(app, client):
    user = make(app, "admin", active=False)

    response = client.post("/login", data={"email": user.email, "password": PASSWORD})

    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)


def test_a_deactivated_account_is_signed_out_at_its_next_request(app, client):
    admin = make(app, "admin")
    login(client, admin)
    with records(app) as session:
        session.get(User, admin.id).active = False
        session.commit()

    assert client.get("/").status_code == 302


def test_next_is_followed_on_this_site(client, clerk):
    response = client.post("/login", data={"email": clerk.email, "password": PASSWORD, "next": "/schemes?x=1"})

    assert response.headers["Location"] == "/schemes?x=1"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://evil.example/schemes",
        "/\\evil.example",
        "javascript:alert(1)",
        "schemes",
    ],
)
def test_next_to_another_site_is_refused(client, clerk, target):
    response = client.post("/login", data={"email": clerk.email, "password": PASSWORD, "next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_an_anonymous_visit_comes_back_after_login(client, clerk):
    redirect = client.get("/schemes")
    assert redirect.status_code == 302 and "/login" in redirect.headers["Location"]

    page = client.get(redirect.headers["Location"]).get_data(as_text=True)
    assert 'value="/schemes"' in page
    response = client.post("/login", data={"email": clerk.email, "password": PASSWORD, "next": "/schemes"})
    assert response.headers["Location"] == "/schemes"


def test_logout_is_a_post_and_signs_out(client, clerk):
    login(client, clerk)

    assert client.get("/logout").status_code == 405
    response = client.post("/logout")

    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_password_change(app, client, clerk):
    login(client, clerk)

    response = client.post(
        "/account/password", data={"current": PASSWORD, "new": "new secret 22", "confirm": "new secret 22"}
    )

    assert response.status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": clerk.email, "password": PASSWORD}).status_code == 200
    assert client.post("/login", data={"email": clerk.email, "password": "new secret 22"}).status_code == 302
    with records(app) as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "password_change")) is not None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"current": "not it at all 1", "new": "new secret 22", "confirm": "new secret 22"},
            "current",
            "This is not your current password.",
        ),
        ({"current": PASSWORD, "new": "short1", "confirm": "short1"}, "new", "At least 10 characters"),
        (
            {"current": PASSWORD, "new": "onlyletterslong", "confirm": "onlyletterslong"},
            "new",
            "mixing letters with digits",
        ),
        (
            {"current": PASSWORD, "new": "new secret 22", "confirm": "new secret 23"},
            "confirm",
            "The two new passwords differ.",
        ),
    ],
)
def test_password_change_refused(app, client, clerk, data, field, message):
    login(client, clerk)
    before = clerk.password_hash

    response = client.post("/account/password", data=data)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page  # the message sits beside its field
    assert reload(app, clerk).password_hash == before


def test_language_switch_is_remembered_on_the_account(app, client, clerk):
    login(client, clerk)

    response = client.post("/language", data={"lang": "fr", "next": "/schemes"})

    assert response.status_code == 302 and response.headers["Location"] == "/schemes"
    assert reload(app, clerk).locale == "fr"
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)
    # A new session on another device: the language comes from the account.
    other = client.application.test_client()
    login(other, clerk)
    assert '<html lang="fr">' in other.get("/").get_data(as_text=True)


def test_language_switch_before_signing_in_uses_the_session(client):
    response = client.post("/language", data={"lang": "fr", "next": "https://evil.example/"})

    assert response.headers["Location"] == "/"
    assert '<html lang="fr">' in client.get("/login").get_data(as_text=True)
    with client.session_transaction() as browser_session:
        assert browser_session["lang"] == "fr"


def test_an_unknown_language_is_refused(client):
    assert client.post("/language", data={"lang": "xx"}).status_code == 400


def test_admin_creates_a_user(app, client):
    admin = make(app, "admin")
    with records(app) as session:
        scheme = make_scheme(session, "MUT-A")
    login(client, admin)

    response = client.post(
        "/admin/users/new",
        data={
            "email": "New.Clerk@example.org",
            "name": "Awa",
            "role": "clerk",
            "scheme": scheme.id,
            "federation": 0,
            "locale": "fr",
            "password": "first pass 12",
            "confirm": "first pass 12",
        },
    )

    assert response.status_code == 302
    with records(app) as session:
        user = session.scalar(select(User).where(User.email == "new.clerk@example.org"))
    assert user.role == "clerk" and user.scheme_id == scheme.id and user.locale == "fr"
    assert "new.clerk@example.org" in client.get("/admin/users").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"role": "clerk", "scheme": 0}, "scheme", "Choose the scheme"),
        ({"role": "federation_reviewer", "federation": 0}, "federation", "Choose the federation"),
        ({"email": "not-an-address"}, "email", "not an e-mail address"),
        ({"password": "short", "confirm": "short"}, "password", "At least 10 characters"),
    ],
)
def test_user_form_errors_beside_the_field(app, client, data, field, message):
    admin = make(app, "admin")
    with records(app) as session:
        scheme = make_scheme(session, "MUT-A")
    login(client, admin)
    form = {
        "email": "someone@example.org",
        "name": "",
        "role": "clerk",
        "scheme": scheme.id,
        "federation": 0,
        "locale": "en",
        "password": "first pass 12",
        "confirm": "first pass 12",
        **data,
    }

    response = client.post("/admin/users/new", data=form)

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and f'id="{field}-error"' in page
    with records(app) as session:
        assert session.scalar(select(User).where(User.email == form["email"])) is None


def test_admin_deactivates_and_reactivates_a_user(app, client, clerk):
    admin = make(app, "admin")
    login(client, admin)

    assert client.post(f"/admin/users/{clerk.id}/deactivate").status_code == 302
    assert reload(app, clerk).active is False
    other = client.application.test_client()
    assert other.post("/login", data={"email": clerk.email, "password": PASSWORD}).status_code == 200

    assert client.post(f"/admin/users/{clerk.id}/reactivate").status_code == 302
    assert reload(app, clerk).active is True
    with records(app) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == clerk.id, AuditEvent.entity == "user")
        ).all()
    assert actions == ["deactivate", "reactivate"]


def test_admin_cannot_deactivate_themselves(app, client):
    admin = make(app, "admin")
    login(client, admin)

    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)

    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert reload(app, admin).active is True


def test_deactivating_an_unknown_user_is_404(app, client):
    login(client, make(app, "admin"))

    assert client.post("/admin/users/999999/deactivate").status_code == 404
