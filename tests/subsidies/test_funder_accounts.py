"""The administrator's page of the programmes a funder account follows (issue 14): list, add one of any scheme,
remove one — audited like ``flask funder follow`` (the same services) — refused for an account that is not a
funder's, and for anyone but an administrator."""

from __future__ import annotations

import html

from sqlalchemy import func, select

from mhi.core.audit import AuditEvent
from mhi.schemes.models import SubsidyProgramme
from mhi.subsidies.models import FunderProgramme
from tests.factories import login, make_user, records
from tests.members.helpers import scheme_with_programme

REFUSED = "Seul le compte d'un bailleur suit des programmes."


def _text(response) -> str:
    """The page as a reader sees it (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def _world(app):
    """Two schemes with their CMU-IND programme, a funder, a clerk and an administrator (signed in later)."""
    with records(app) as session:
        a = scheme_with_programme(session, "MUT-A")
        b = scheme_with_programme(session, "MUT-B")
        programmes = {
            s.code: session.scalar(select(SubsidyProgramme).where(SubsidyProgramme.scheme_id == s.id)) for s in (a, b)
        }
        users = {
            "funder": make_user(session, "funder", email="etat@example.org"),
            "clerk": make_user(session, "clerk", a),
            "admin": make_user(session, "admin", locale="fr"),
            "scheme_manager": make_user(session, "scheme_manager", a),
        }
        session.commit()
    return programmes, users


def _followed(app, user) -> list[int]:
    with records(app) as session:
        return sorted(session.scalars(select(FunderProgramme.programme_id).where(FunderProgramme.user_id == user.id)))


def _audit(app, action: str) -> list[AuditEvent]:
    with records(app) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_admin_adds_and_removes_programmes_of_several_schemes(app, client):
    programmes, users = _world(app)
    funder, admin = users["funder"], users["admin"]
    login(client, admin)
    url = f"/admin/users/{funder.id}/programmes"
    page = _text(client.get(url))
    assert "Ce compte ne suit encore aucun programme." in page
    assert "MUT-A — CMU-IND" in page and "MUT-B — CMU-IND" in page  # every scheme's programmes to choose from
    for code in ("MUT-A", "MUT-B"):
        response = client.post(url, data={"programme": programmes[code].id})
        assert response.status_code == 302
    assert _followed(app, funder) == sorted(p.id for p in programmes.values())
    page = _text(client.get(url))
    assert "Aucun autre programme de subvention à suivre." in page  # nothing left to add
    follows = _audit(app, "follow_programme")
    assert [(e.entity_id, e.actor_id, e.after) for e in follows] == [
        (funder.id, admin.id, {"programme": "CMU-IND"})
    ] * 2

    remove = f"/admin/users/{funder.id}/programmes/{programmes['MUT-A'].id}/remove"
    page = _text(client.post(remove, follow_redirects=True))
    assert "etat@example.org ne suit plus CMU-IND." in page
    assert _followed(app, funder) == [programmes["MUT-B"].id]
    assert [(e.entity_id, e.before) for e in _audit(app, "unfollow_programme")] == [
        (funder.id, {"programme": "CMU-IND"})
    ]
    # Removing it again changes nothing and says so.
    page = _text(client.post(remove, follow_redirects=True))
    assert "ne suivait pas" in page
    assert len(_audit(app, "unfollow_programme")) == 1
    # The users list links a funder's account to its page.
    assert url in _text(client.get("/admin/users"))


def test_an_account_that_is_not_a_funders_is_refused(app, client):
    programmes, users = _world(app)
    clerk = users["clerk"]
    login(client, users["admin"])
    url = f"/admin/users/{clerk.id}/programmes"
    page = _text(client.get(url))
    assert REFUSED in page
    page = _text(client.post(url, data={"programme": programmes["MUT-A"].id}))
    assert REFUSED in page
    remove = client.post(f"/admin/users/{clerk.id}/programmes/{programmes['MUT-A'].id}/remove", follow_redirects=True)
    assert REFUSED in _text(remove)
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(FunderProgramme)) == 0
    assert _audit(app, "follow_programme") == []


def test_bad_input_changes_nothing(app, client):
    programmes, users = _world(app)
    funder = users["funder"]
    login(client, users["admin"])
    url = f"/admin/users/{funder.id}/programmes"
    for value in ("", "abc", "999999", "-1", str(programmes["MUT-A"].id) + "x"):
        response = client.post(url, data={"programme": value})
        assert response.status_code == 200, value
        assert 'class="error"' in _text(response)
    # Already followed: no longer offered, so refused as a choice.
    client.post(url, data={"programme": programmes["MUT-A"].id})
    again = client.post(url, data={"programme": programmes["MUT-A"].id})
    assert again.status_code == 200
    assert _followed(app, funder) == [programmes["MUT-A"].id]
    assert len(_audit(app, "follow_programme")) == 1
    assert client.get("/admin/users/999999/programmes").status_code == 404
    assert client.post(f"/admin/users/{funder.id}/programmes/999999/remove").status_code == 404


def test_only_an_administrator_uses_the_page(app, client):
    programmes, users = _world(app)
    funder = users["funder"]
    for role in ("scheme_manager", "funder", "clerk"):
        signed = app.test_client()
        login(signed, users[role])
        assert signed.get(f"/admin/users/{funder.id}/programmes").status_code == 403
        data = {"programme": programmes["MUT-A"].id}
        assert signed.post(f"/admin/users/{funder.id}/programmes", data=data).status_code == 403
    assert _followed(app, funder) == []


def test_cli_follow_and_unfollow_use_the_same_services(app, runner):
    programmes, users = _world(app)
    args = ["etat@example.org", "--scheme", "MUT-A", "--programme", "CMU-IND"]
    assert runner.invoke(args=["funder", "follow", *args]).exit_code == 0
    assert _followed(app, users["funder"]) == [programmes["MUT-A"].id]
    assert runner.invoke(args=["funder", "unfollow", *args]).exit_code == 0
    assert _followed(app, users["funder"]) == []
    assert [e.action for e in _audit(app, "follow_programme") + _audit(app, "unfollow_programme")] == [
        "follow_programme",
        "unfollow_programme",
    ]
    refused = runner.invoke(
        args=["funder", "follow", users["clerk"].email, "--scheme", "MUT-A", "--programme", "CMU-IND"]
    )
    assert refused.exit_code == 1
