"""API tokens (issue 15): made on the command line or the account page, shown once, stored hashed, refused with
401 and a JSON body when unknown, revoked or expired; no CSRF with a token, no redirect without one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mhi.auth.tokens import ApiToken, create_token, digest, today_utc
from mhi.core import clock
from mhi.core.audit import AuditEvent
from mhi.core.db import db
from tests.factories import login, make_scheme, make_user, records


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _officer(app):
    with records(app) as session:
        scheme = make_scheme(session, "MUT-T")
        user = make_user(session, "claims_officer", scheme=scheme, email="officer@example.org")
    return scheme, user


def _token(app, user, **options) -> str:
    with app.app_context():
        _token, secret = create_token(db.session, db.session.get(type(user), user.id), **options)
        db.session.commit()
    return secret


def test_the_command_prints_a_token_once_and_stores_only_its_hash(app):
    scheme, _user = _officer(app)
    runner = app.test_cli_runner()

    last_day = (clock.today() + timedelta(days=200)).isoformat()
    too_far = runner.invoke(args=["token", "create", "officer@example.org", "--expires", "2099-01-01"])
    result = runner.invoke(args=["token", "create", "officer@example.org", "--expires", last_day])

    assert too_far.exit_code == 1 and "at most" in too_far.output

    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("mhi_") and len(secret) > 40
    with app.app_context():
        stored = db.session.scalar(select(ApiToken))
        assert stored.token_hash == digest(secret) and secret not in stored.token_hash
        assert stored.expires_on.isoformat() == last_day
    client = app.test_client()
    answer = client.get(f"/schemes/{scheme.code}/eligibility.json?member_no=X", headers=bearer(secret))
    assert answer.status_code == 200 and answer.get_json()["found"] is False


def test_the_command_refuses_an_unknown_account_and_a_past_expiry(app):
    _officer(app)
    runner = app.test_cli_runner()

    assert runner.invoke(args=["token", "create", "nobody@example.org"]).exit_code == 1
    past = runner.invoke(args=["token", "create", "officer@example.org", "--expires", "2001-01-01"])
    assert past.exit_code == 1 and "past" in past.output
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None


def test_revoked_expired_unknown_and_missing_tokens_get_401_with_a_json_body(app):
    scheme, user = _officer(app)
    secret = _token(app, user)
    old = _token(app, user)
    with app.app_context():
        db.session.execute(
            ApiToken.__table__.update()
            .where(ApiToken.token_hash == digest(old))
            .values(expires_on=today_utc() - timedelta(days=1))
        )
        db.session.commit()
    client = app.test_client()
    url = f"/schemes/{scheme.code}/eligibility.json?member_no=X"

    expired = client.get(url, headers=bearer(old))
    unknown = client.get(url, headers=bearer("mhi_not-a-token"))
    assert client.get(url, headers=bearer(secret)).status_code == 200
    result = app.test_cli_runner().invoke(args=["token", "revoke", "officer@example.org"])
    assert result.exit_code == 0
    revoked = client.get(url, headers=bearer(secret))
    missing = client.post(f"/api/schemes/{scheme.code}/claims", json={})

    for answer, word in ((expired, "expired"), (unknown, "not known"), (revoked, "revoked")):
        assert answer.status_code == 401
        assert answer.mimetype == "application/problem+json"
        assert word in answer.get_json()["detail"]
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.status_code == 401 and "Location" not in missing.headers
    assert missing.get_json()["status"] == 401


def test_a_deactivated_accounts_tokens_stop_working(app):
    scheme, user = _officer(app)
    secret = _token(app, user)
    with app.app_context():
        db.session.get(type(user), user.id).active = False
        db.session.commit()

    answer = app.test_client().get(f"/schemes/{scheme.code}/eligibility.json?member_no=X", headers=bearer(secret))

    assert answer.status_code == 401 and "deactivated" in answer.get_json()["detail"]


def test_a_token_in_the_address_is_refused(app):
    scheme, user = _officer(app)
    secret = _token(app, user)

    answer = app.test_client().get(f"/schemes/{scheme.code}/eligibility.json?member_no=X&access_token={secret}")

    assert answer.status_code == 400 and "Authorization header" in answer.get_json()["detail"]


def test_a_token_does_not_open_the_screens(app):
    scheme, user = _officer(app)
    secret = _token(app, user)

    answer = app.test_client().get(f"/schemes/{scheme.code}/claims", headers=bearer(secret))

    assert answer.status_code == 401


def test_a_write_with_a_token_needs_no_csrf_and_is_audited(app):
    scheme, user = _officer(app)
    secret = _token(app, user)
    client = app.test_client()
    login(client, user)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with_token = app.test_client().post(
            f"/api/schemes/{scheme.code}/claims",
            json={"member_no": "NOBODY", "benefit_code": "OPD", "date_of_service": "2024-01-02",
                  "date_submitted": "2024-01-03", "amount_claimed": "1000"},
            headers=bearer(secret),
        )  # fmt: skip
        with_session = client.post(f"/api/schemes/{scheme.code}/claims", json={})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False

    assert with_token.status_code == 201, with_token.get_data(as_text=True)
    assert with_token.get_json()["status"] == "REJECTED"
    assert with_session.status_code == 400  # a browser session still needs its CSRF token
    with app.app_context():
        uses = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "api_token")).all()
        assert [(u.action, u.actor_id) for u in uses] == [("create", user.id), ("write", user.id)]


def test_the_account_page_shows_a_new_token_once_and_revokes_them(app):
    scheme, user = _officer(app)
    client = app.test_client()
    login(client, user)

    made = client.post("/account/tokens", data={"expires_on": (clock.today() + timedelta(days=30)).isoformat()})
    page = made.get_data(as_text=True)
    secret = page.split('<code id="new-token">')[1].split("</code>")[0]
    again = client.get("/account/tokens").get_data(as_text=True)
    assert made.status_code == 200 and secret.startswith("mhi_")
    assert secret not in again and secret[:10] in again

    other = app.test_client()
    assert other.get(f"/schemes/{scheme.code}/eligibility.json?member_no=X", headers=bearer(secret)).status_code == 200
    assert client.post("/account/tokens/revoke").status_code == 302
    assert other.get(f"/schemes/{scheme.code}/eligibility.json?member_no=X", headers=bearer(secret)).status_code == 401
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)


def test_the_account_page_refuses_a_past_expiry(app):
    _scheme, user = _officer(app)
    client = app.test_client()
    login(client, user)

    answer = client.post("/account/tokens", data={"expires_on": "2001-01-01"})

    assert "cannot be in the past" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None


def test_refusals_speak_the_callers_language(app):
    scheme, user = _officer(app)
    client = app.test_client()

    french = client.get(
        f"/schemes/{scheme.code}/eligibility.json?member_no=X",
        headers={"Authorization": "Bearer mhi_wrong", "Accept-Language": "fr"},
    )
    english = client.post("/api/schemes/MUT-T/claims", headers={"Accept-Language": "en"})

    assert french.get_json()["detail"] == "Ce jeton d'API est inconnu."
    assert french.get_json()["title"] == "Authentification requise"
    assert english.get_json()["title"] == "Authentication required"
