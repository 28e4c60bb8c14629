"""CSRF is enforced on every form: with protection on (as in production), a POST without its token is refused
with 400 on every POST route of ``app.url_map`` — a new form cannot forget it."""

from __future__ import annotations

import re

import pytest

from mhi.auth.models import User
from tests.core.test_access_routes import url_for_rule
from tests.factories import PASSWORD, make_federation, make_scheme, make_user, records


@pytest.fixture
def csrf_on(app):
    """Turn CSRF protection on for one test (the suite runs with it off), and back off afterwards."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False


def token_of(page: str) -> str:
    """The CSRF token of the first form of a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in_with_token(client, user) -> None:
    """Sign in the way a browser does: read the token from the login page, send it with the form."""
    token = token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_every_post_route_refuses_a_request_without_its_token(csrf_on):
    with records(csrf_on) as session:
        federation = make_federation(session, "F1")
        scheme = make_scheme(session, "MUT-A", federation=federation)
        admin = make_user(session, "admin")
        world = {"a": scheme, "f1": federation, "users": {"clerk": make_user(session, "clerk", scheme=scheme)}}
    client = csrf_on.test_client()
    sign_in_with_token(client, admin)

    post_rules = [rule for rule in csrf_on.url_map.iter_rules() if "POST" in rule.methods]
    assert len(post_rules) >= 8  # the routes of this feature alone; others add theirs
    accepted = []
    for rule in post_rules:
        url = url_for_rule(rule, world)
        response = client.post(url, data={"lang": "fr", "name": "x"})
        if response.status_code != 400:
            accepted.append(f"POST {url} → {response.status_code}")

    assert not accepted, "POST routes answering without a CSRF token:\n" + "\n".join(accepted)
    # Nothing happened: still signed in (logout refused), the clerk still active.
    assert client.get("/").status_code == 200
    with records(csrf_on) as session:
        assert session.get(User, world["users"]["clerk"].id).active is True


def test_anonymous_login_without_token_is_refused(csrf_on):
    with records(csrf_on) as session:
        user = make_user(session, "clerk", scheme=make_scheme(session, "MUT-A"))
    client = csrf_on.test_client()

    response = client.post("/login", data={"email": user.email, "password": PASSWORD})

    assert response.status_code == 400
    assert "could not be understood" in response.get_data(as_text=True)


def test_forms_carry_their_token_and_work_with_it(csrf_on):
    with records(csrf_on) as session:
        user = make_user(session, "clerk", scheme=make_scheme(session, "MUT-A"))
    client = csrf_on.test_client()
    sign_in_with_token(client, user)

    page = client.get("/").get_data(as_text=True)
    response = client.post("/language", data={"lang": "fr", "next": "/", "csrf_token": token_of(page)})

    assert response.status_code == 302
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)
