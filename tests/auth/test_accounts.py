"""New accounts and password rules (issues 16 and 18): no default role, the scheme's language by default, a
password change forced at the first sign-in and after an administrator's reset (every page enforces it), and
passwords refused when common, built on the e-mail, the current one or too short — in both languages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mhi.auth.models import User
from mhi.auth.services import PasswordRejected, check_password_rules, create_user
from mhi.core.audit import AuditEvent
from mhi.demo.cli import DEMO_PASSWORD, load_demo
from tests.factories import PASSWORD, login, make_federation, make_scheme, make_user, records

FIRST = "first pass 12"
OWN = "my own choice 77"


@pytest.fixture
def admin(app):
    """An administrator."""
    with records(app) as session:
        return make_user(session, "admin", email="boss@example.org")


@pytest.fixture
def scheme(app):
    """A scheme of Senegal (French)."""
    with records(app) as session:
        return make_scheme(session, "MUT-A")


def new_user_form(**overrides) -> dict:
    """The administrator's form for a new clerk, with ``overrides``."""
    return {
        "email": "awa.diop@example.org",
        "name": "Awa",
        "role": "clerk",
        "scheme": 0,
        "federation": 0,
        "locale": "",
        "password": FIRST,
        "confirm": FIRST,
        **overrides,
    }


def stored(app, email: str) -> User | None:
    """The account with ``email``, as the database has it."""
    with records(app) as session:
        return session.scalar(select(User).where(User.email == email))


# --------------------------------------------------------------------------------------------- password rules


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "too_short"),
        ("onlyletterspassword", "one_kind"),
        ("password12", "common"),
        ("Soleil2026!", "common"),
        ("2026azertyuiop", "common"),
        ("iloveyou123", "common"),
        ("awa.diop2026", "contains_email"),
        ("Diop-2026-x", "contains_email"),
    ],
)
def test_the_rules_refuse(password, reason):
    with pytest.raises(PasswordRejected) as refused:
        check_password_rules(password, email="awa.diop@example.org")

    assert refused.value.reason == reason


@pytest.mark.parametrize("password", ["correct horse 1", "demo-mhi-2026", "Sahel!river-42", "first pass 12"])
def test_the_rules_accept(password):
    check_password_rules(password, email="awa.diop@example.org")


def test_the_common_list_is_shipped_and_large():
    from mhi.auth.services import common_passwords

    common = common_passwords()
    assert len(common) > 10_000 and "123456" in common and "motdepasse" in common


@pytest.mark.parametrize(
    ("new", "english", "french"),
    [
        ("password12", "one of the most used ones", "parmi les plus utilisés"),
        ("clerk-pass-2026", "must not contain the e-mail address", "ne doit pas contenir l’adresse e-mail"),
        (PASSWORD, "must differ from the current one", "doit être différent de l’actuel"),
        ("short1", "At least 10 characters", "Au moins 10 caractères"),
    ],
)
def test_password_change_refusals_in_both_languages(app, new, english, french):
    with records(app) as session:
        user = make_user(session, "clerk", scheme=make_scheme(session, "MUT-A"), email="clerk@example.org")
    client = app.test_client()
    login(client, user)
    form = {"current": PASSWORD, "new": new, "confirm": new}

    assert english in client.post("/account/password", data=form).get_data(as_text=True)
    client.post("/language", data={"lang": "fr"})
    assert french in client.post("/account/password", data=form).get_data(as_text=True)
    assert stored(app, user.email).password_hash == user.password_hash


def test_the_command_line_refuses_a_common_password(runner):
    result = runner.invoke(args=["user", "create", "x@example.org", "--role", "admin"], input="password12\n")

    assert result.exit_code == 1 and "too common" in result.output + (result.stderr or "")
    assert stored(runner.app, "x@example.org") is None


def test_the_admin_form_refuses_a_password_built_on_the_email(app, client, admin, scheme):
    login(client, admin)

    page = client.post(
        "/admin/users/new", data=new_user_form(scheme=scheme.id, password="diop-2026-x", confirm="diop-2026-x")
    )

    assert "must not contain the e-mail address" in page.get_data(as_text=True)
    assert stored(app, "awa.diop@example.org") is None


# --------------------------------------------------------------------------------------------- no default role


def test_the_role_has_no_default(app, client, admin, scheme):
    login(client, admin)

    page = client.get("/admin/users/new").get_data(as_text=True)
    role = page[page.index('<select id="role"') : page.index("</select>", page.index('<select id="role"'))]
    assert role.split("<option")[1].startswith(' value="">') and "selected" not in role  # the empty choice first

    response = client.post("/admin/users/new", data=new_user_form(scheme=scheme.id, role=""))
    assert "Choose the role of this person." in response.get_data(as_text=True)
    assert stored(app, "awa.diop@example.org") is None


def test_the_command_line_requires_a_role(runner):
    result = runner.invoke(args=["user", "create", "x@example.org"], input="a fine one 12\n")

    assert result.exit_code != 0 and stored(runner.app, "x@example.org") is None


# ------------------------------------------------------------------------------------- the language by default


def test_a_new_account_speaks_the_schemes_language(app, client, admin, scheme):
    with records(app) as session:
        english = make_scheme(session, "MUT-GH", country="GH")
        english.locale = "en_GH"
        session.commit()
    login(client, admin)

    client.post("/admin/users/new", data=new_user_form(scheme=scheme.id))
    client.post("/admin/users/new", data=new_user_form(email="kofi@example.org", scheme=english.id))
    client.post("/admin/users/new", data=new_user_form(email="chosen@example.org", scheme=scheme.id, locale="en"))

    assert stored(app, "awa.diop@example.org").locale == "fr"
    assert stored(app, "kofi@example.org").locale == "en"
    assert stored(app, "chosen@example.org").locale == "en"  # a language chosen in the form wins


def test_a_reviewer_speaks_the_federations_language_and_an_admin_the_instances(app, runner):
    with records(app) as session:
        federation = make_federation(session, "FED")
        make_scheme(session, "MUT-A", federation=federation)
    runner.invoke(
        args=["user", "create", "rev@example.org", "--role", "federation_reviewer", "--federation", "FED"],
        input="a fine one 12\n",
    )
    runner.invoke(args=["user", "create", "root@example.org", "--role", "admin"], input="a fine one 12\n")
    runner.invoke(
        args=["user", "create", "clerk2@example.org", "--role", "clerk", "--scheme", "MUT-A"], input="a fine one 12\n"
    )

    assert stored(app, "rev@example.org").locale == "fr"
    assert stored(app, "root@example.org").locale == app.config["BABEL_DEFAULT_LOCALE"] == "en"
    assert stored(app, "clerk2@example.org").locale == "fr"


# ------------------------------------------------------------------------------------- the forced password change


def test_a_new_account_must_change_its_password_before_anything_else(app, client, admin, scheme):
    login(client, admin)
    client.post("/admin/users/new", data=new_user_form(scheme=scheme.id, locale="en"))
    assert stored(app, "awa.diop@example.org").must_change_password is True
    clerk = app.test_client()

    assert clerk.post("/login", data={"email": "awa.diop@example.org", "password": FIRST}).status_code == 302
    for path in ("/", "/schemes", "/account", f"/schemes/{scheme.code}"):
        response = clerk.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password", path
    page = clerk.get("/account/password").get_data(as_text=True)
    assert "Choose your own password before going on" in page
    assert clerk.post("/language", data={"lang": "en", "next": "/account/password"}).status_code == 302
    refused = clerk.post("/account/password", data={"current": FIRST, "new": FIRST, "confirm": FIRST})
    assert "must differ from the current one" in refused.get_data(as_text=True)

    done = clerk.post("/account/password", data={"current": FIRST, "new": OWN, "confirm": OWN})

    assert done.status_code == 302
    assert clerk.get("/").status_code == 200
    assert stored(app, "awa.diop@example.org").must_change_password is False


def test_signing_out_stays_possible_before_the_change(app, admin, scheme):
    with records(app) as session:
        user = create_user(session, "new@example.org", "clerk", FIRST, scheme=scheme, locale="en")
        session.commit()
    client = app.test_client()
    login(client, user, FIRST)

    assert client.post("/logout").headers["Location"] == "/login"


def test_the_command_line_asks_for_a_change_unless_told_not_to(runner):
    runner.invoke(args=["user", "create", "temp@example.org", "--role", "admin"], input="a fine one 12\n")
    runner.invoke(
        args=["user", "create", "own@example.org", "--role", "admin", "--no-password-change"], input="a fine one 12\n"
    )

    assert stored(runner.app, "temp@example.org").must_change_password is True
    assert stored(runner.app, "own@example.org").must_change_password is False


def test_an_administrators_reset_ends_the_sessions_and_forces_a_change(app, client, admin, scheme):
    with records(app) as session:
        user = make_user(session, "clerk", scheme=scheme, email="forgetful@example.org")
    theirs = app.test_client()
    login(theirs, user)
    login(client, admin)

    response = client.post(f"/admin/users/{user.id}/password", data={"password": FIRST, "confirm": FIRST})

    assert response.status_code == 302
    assert theirs.get("/").status_code == 302  # signed out
    assert stored(app, user.email).must_change_password is True
    login(theirs, user, FIRST)
    assert theirs.get("/").headers["Location"] == "/account/password"
    with records(app) as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "password_reset")).actor_id == admin.id


def test_the_reset_form_applies_the_rules(app, client, admin, scheme):
    with records(app) as session:
        user = make_user(session, "clerk", scheme=scheme, email="forgetful@example.org")
    login(client, admin)

    page = client.post(f"/admin/users/{user.id}/password", data={"password": "password12", "confirm": "password12"})

    assert "one of the most used ones" in page.get_data(as_text=True)
    assert stored(app, user.email).password_hash == user.password_hash


def test_the_demo_accounts_sign_in_without_a_forced_change(app):
    with records(app) as session:
        load_demo(session, date(2026, 1, 15), households_per_scheme=2)
        session.commit()
        emails = session.scalars(select(User.email)).all()
    assert emails and not any(stored(app, email).must_change_password for email in emails)
    client = app.test_client()
    client.post("/login", data={"email": "clerk.keur@demo.mhi", "password": DEMO_PASSWORD})

    assert client.get("/").status_code == 200
