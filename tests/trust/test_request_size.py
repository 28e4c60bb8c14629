"""A request larger than MAX_CONTENT_LENGTH (``MHI_MAX_REQUEST_BYTES``) is refused with 413 before it is read:
a page naming the limit in the user's language, or JSON for a client that sent or asked for JSON."""

from __future__ import annotations

import io

import pytest

from tests.factories import login, make_user, records
from tests.trust.helpers import everything_scheme


@pytest.fixture
def small_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "What you sent is too large: the limit is 64 KB."),
        ("fr", "Ce que vous avez envoyé est trop volumineux : la limite est de 64 KB."),
    ],
)
def test_a_too_large_upload_gets_a_page_naming_the_limit(app, client, small_limit, locale, expected):
    with records(app) as session:
        code = everything_scheme(session).code
        user = make_user(session, "admin", locale=locale)
    login(client, user)

    response = client.post(
        f"/schemes/{code}/imports/members",
        data={"file": (io.BytesIO(b"a" * 100 * 1024), "members.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 413
    assert expected in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The request is too large: the limit is 64 KB (MHI_MAX_REQUEST_BYTES)."),
        ("fr", "La requête est trop volumineuse : la limite est de 64 KB (MHI_MAX_REQUEST_BYTES)."),
    ],
)
def test_a_too_large_json_request_gets_json(app, client, small_limit, language, expected):
    with records(app) as session:
        code = everything_scheme(session).code
        user = make_user(session, "admin", locale=language)
    login(client, user)

    response = client.post(
        f"/api/schemes/{code}/claims",
        data=b'{"claim_ref": "' + b"x" * 100 * 1024 + b'"}',
        content_type="application/json",
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == expected


def test_the_limit_comes_from_the_environment(monkeypatch):
    from mhi import create_app

    monkeypatch.setenv("MHI_MAX_REQUEST_BYTES", "1000")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    assert app.config["MAX_CONTENT_LENGTH"] == 1000
