"""The governance register's screens (C102 art. 72): a manager records a meeting and its resolutions, everyone
allowed reads them, nobody else does; bad input changes nothing and says why in the user's language."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mhi.core import clock
from mhi.core.audit import AuditEvent
from mhi.governance.models import Meeting
from tests.factories import login, make_scheme, make_user, records


@pytest.fixture(autouse=True)
def _clock():
    """The clock stands still through each test: the dates the forms send and the day the app checks them against
    are one day, even when a run crosses midnight."""
    with clock.frozen(clock.now()):
        yield


def days_from_today(days: int) -> str:
    return (clock.today() + timedelta(days=days)).isoformat()


@pytest.fixture
def world(app):
    with records(app) as session:
        a = make_scheme(session, "MUT-A")
        b = make_scheme(session, "MUT-B")
        users = {
            role: make_user(session, role, scheme=a)
            for role in ("scheme_manager", "clerk", "auditor", "claims_officer")
        }
        users["other_manager"] = make_user(session, "scheme_manager", scheme=b, email="other@example.org")
        session.commit()
    return {"a": a, "b": b, "users": users}


def meeting_form(**changes) -> dict:
    form = {
        "kind": "general_assembly",
        "held_on": days_from_today(-3),
        "place": "Ndiagane",
        "members_entitled": "120",
        "attendance": "75",
        "notes": "",
        "resolutions-0-text": "Les comptes de l'exercice sont approuvés.",
        "resolutions-0-votes_for": "70",
        "resolutions-0-votes_against": "3",
        "resolutions-0-votes_abstain": "2",
        "resolutions-1-text": "Fermer le bureau le samedi.",
        "resolutions-1-votes_for": "10",
        "resolutions-1-votes_against": "60",
        "resolutions-1-votes_abstain": "5",
        "resolutions-2-text": "",
        "save": "Record the meeting",
    }
    return form | changes


def test_manager_records_and_everyone_allowed_reads(app, client, world):
    login(client, world["users"]["scheme_manager"])
    assert client.get("/schemes/MUT-A/meetings/new").status_code == 200
    response = client.post("/schemes/MUT-A/meetings/new", data=meeting_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    with records(app) as session:
        meeting = session.query(Meeting).one()
        assert (meeting.quorum_reached, [r.adopted for r in meeting.resolutions]) == (True, [True, False])
        audit = session.query(AuditEvent).filter_by(entity="meeting", entity_id=meeting.id).one()
        assert audit.action == "record_meeting" and audit.scheme_id == world["a"].id
        meeting_id = meeting.id
    page = client.get(f"/schemes/MUT-A/meetings/{meeting_id}").get_data(as_text=True)
    assert "Les comptes de l&#39;exercice sont approuvés." in page and "not adopted" in page
    listing = client.get("/schemes/MUT-A/meetings").get_data(as_text=True)
    assert "General assembly" in listing and "1 / 2" in listing and "reached" in listing
    assert "/schemes/MUT-A/meetings" in client.get("/schemes/MUT-A").get_data(as_text=True)
    client.post("/logout")

    login(client, world["users"]["auditor"])
    assert client.get(f"/schemes/MUT-A/meetings/{meeting_id}").status_code == 200
    assert client.get("/schemes/MUT-A/meetings/new").status_code == 403
    assert client.post("/schemes/MUT-A/meetings/new", data=meeting_form()).status_code == 403
    client.post("/logout")
    for role in ("clerk", "claims_officer"):
        login(client, world["users"][role])
        assert client.get("/schemes/MUT-A/meetings").status_code == 403
        assert client.post("/schemes/MUT-A/meetings/new", data=meeting_form()).status_code == 403
        client.post("/logout")
    login(client, world["users"]["other_manager"])
    assert client.get(f"/schemes/MUT-A/meetings/{meeting_id}").status_code == 404
    assert client.get(f"/schemes/MUT-B/meetings/{meeting_id}").status_code == 404
    assert client.post("/schemes/MUT-A/meetings/new", data=meeting_form()).status_code == 404
    with records(app) as session:
        assert session.query(Meeting).count() == 1


def test_without_quorum_nothing_is_adopted(app, client, world):
    login(client, world["users"]["scheme_manager"])
    response = client.post(
        "/schemes/MUT-A/meetings/new",
        data=meeting_form(
            attendance="50",
            **{"resolutions-0-votes_for": "40", "resolutions-1-votes_for": "2", "resolutions-1-votes_against": "40"},
        ),
    )
    assert response.status_code == 302
    with records(app) as session:
        meeting = session.query(Meeting).one()
        assert not meeting.quorum_reached and not any(r.adopted for r in meeting.resolutions)


@pytest.mark.parametrize(
    ("changes", "english", "french"),
    [
        (
            {"attendance": "130"},
            "The attendance must be between 0 and the 120 members entitled.",
            "La présence doit être comprise entre 0 et les 120 membres convoqués.",
        ),
        (
            {"resolutions-0-votes_for": "90"},
            "Resolution 1: 95 votes for 75 members present.",
            "Résolution 1 : 95 voix pour 75 membres présents.",
        ),
        (
            {"held_on": 1},  # days from today: the date is made when the test runs, not when it is collected
            "A meeting is recorded once it has been held",
            "Une réunion est enregistrée une fois tenue",
        ),
    ],
)
def test_bad_input_changes_nothing_and_says_why(app, client, world, changes, english, french):
    login(client, world["users"]["scheme_manager"])
    if "held_on" in changes:
        changes = changes | {"held_on": days_from_today(changes["held_on"])}
    page = client.post("/schemes/MUT-A/meetings/new", data=meeting_form(**changes))
    assert page.status_code == 200 and english in page.get_data(as_text=True)
    client.post("/language", data={"lang": "fr"})
    page = client.post("/schemes/MUT-A/meetings/new", data=meeting_form(**changes))
    assert french in page.get_data(as_text=True).replace("&#39;", "'")
    with records(app) as session:
        assert session.query(Meeting).count() == 0
