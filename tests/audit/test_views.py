"""The auditor's pages: the trail for a period with its filters, the CSV export (formula-safe), the scope of a
scheme user, and a record's history on its page (templates/audit/_history.html)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import render_template_string

from mhi.core import clock
from mhi.core.audit import AuditEvent, record
from tests.factories import login, make_scheme, make_user, records
from tests.pages import without_tokens


@pytest.fixture
def world(app):
    """Two schemes, an auditor and a clerk of A, an admin, and audit rows in A, in B and in no scheme."""
    with records(app) as session:
        a = make_scheme(session, "MUT-A")
        b = make_scheme(session, "MUT-B")
        auditor = make_user(session, "auditor", scheme=a, email="auditor@example.org")
        clerk = make_user(session, "clerk", scheme=a, email="clerk@example.org")
        admin = make_user(session, "admin", email="admin@example.org")
        record(
            session,
            actor=clerk,
            entity="household",
            entity_id=1,
            action="enrol",
            scheme_id=a.id,
            after={"ref": "H-A1", "village": '=HYPERLINK("http://evil")'},
        )
        record(
            session,
            actor=clerk,
            entity="receipt",
            entity_id=5,
            action="reverse",
            scheme_id=a.id,
            before={"amount": "1500"},
            after={"reason": "typo"},
        )
        record(
            session, actor=None, entity="household", entity_id=2, action="enrol", scheme_id=b.id, after={"ref": "H-B1"}
        )
        record(
            session,
            actor=admin,
            entity="user",
            entity_id=clerk.id,
            action="create",
            after={"email": "clerk@example.org"},
        )
        session.commit()
    return {"a": a, "b": b, "auditor": auditor, "clerk": clerk, "admin": admin}


def client_of(app, user):
    """A test client signed in as ``user``."""
    client = app.test_client()
    login(client, user)
    return client


def test_an_auditor_sees_the_rows_of_their_scheme_only(app, world):
    page = without_tokens(client_of(app, world["auditor"]).get("/audit").get_data(as_text=True))

    assert "H-A1" in page and "typo" in page
    assert "H-B1" not in page  # another scheme's row
    assert "clerk@example.org" in page  # who acted
    assert 'name="date_from"' in page


def test_an_admin_sees_every_row(app, world):
    page = client_of(app, world["admin"]).get("/audit").get_data(as_text=True)

    assert "H-A1" in page and "H-B1" in page and "admin@example.org" in page


def test_a_clerk_may_not_read_the_trail(app, world):
    client = client_of(app, world["clerk"])

    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_filters_narrow_the_list(app, world):
    client = client_of(app, world["admin"])

    by_action = client.get("/audit?action=reverse").get_data(as_text=True)
    by_scheme = client.get(f"/audit?scheme={world['b'].id}").get_data(as_text=True)
    by_actor = client.get("/audit?actor=ADMIN@").get_data(as_text=True)
    system = client.get("/audit?actor=system").get_data(as_text=True)

    assert "typo" in by_action and "H-A1" not in by_action
    assert "H-B1" in by_scheme and "H-A1" not in by_scheme
    assert "clerk@example.org" in by_actor and "H-A1" not in by_actor  # the account the admin created
    assert "H-B1" in system and "H-A1" not in system


def test_a_period_without_the_rows_shows_none(app, world):
    client = client_of(app, world["admin"])
    past = clock.today() - timedelta(days=400)

    page = without_tokens(
        client.get(f"/audit?date_from={past}&date_to={past + timedelta(days=10)}").get_data(as_text=True)
    )

    assert "H-A1" not in page and "No change in this period." in page


def test_a_bad_date_is_shown_and_the_default_period_used(app, world):
    response = client_of(app, world["admin"]).get("/audit?date_from=31/12/2025")

    assert response.status_code == 200
    assert "H-A1" in response.get_data(as_text=True)


def export(app, user, query: str = "") -> list[dict[str, str]]:
    """The CSV export as rows of dicts."""
    response = client_of(app, user).get(f"/audit/export.csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    # The headers are in the user's language (English here); the rows are read back under the trail's own keys.
    keys = {"id": "id", "When": "at", "Who": "actor", "Scheme": "scheme", "Record": "entity",
            "Record number": "entity_id", "Change": "action", "Before": "before", "After": "after"}  # fmt: skip
    rows = csv.DictReader(io.StringIO(response.data.decode("utf-8-sig")))
    return [{keys[key]: value for key, value in row.items()} for row in rows]


def test_the_export_is_scoped_and_complete(app, world):
    rows = export(app, world["auditor"])

    assert [(r["entity"], r["action"]) for r in rows] == [("household", "enrol"), ("receipt", "reverse")]
    assert rows[0]["scheme"] == "MUT-A" and rows[0]["actor"] == "clerk@example.org"
    assert rows[1]["before"] == '{"amount": "1500"}'


def test_the_export_cannot_smuggle_a_formula_into_a_spreadsheet(app, world):
    with records(app) as session:
        record(
            session,
            actor=None,
            entity="=cmd|' /C calc'!A0",
            entity_id=None,
            action="@SUM(1+1)",
            scheme_id=world["a"].id,
        )
        session.commit()

    rows = export(app, world["auditor"], "?actor=system")

    assert rows[0]["entity"].startswith("'=") and rows[0]["action"].startswith("'@")


def test_rows_outside_the_period_are_left_out_of_the_export(app, world):
    with records(app) as session:
        session.add(
            AuditEvent(
                at=datetime(2020, 5, 1, 12),
                entity="household",
                entity_id=9,
                action="enrol",
                scheme_id=world["a"].id,
                after={"ref": "H-OLD"},
            )
        )
        session.commit()

    recent = export(app, world["auditor"])
    old = export(app, world["auditor"], "?date_from=2020-05-01&date_to=2020-05-01")

    assert all("H-OLD" not in (r["after"] or "") for r in recent)
    assert [r["after"] for r in old] == ['{"ref": "H-OLD"}']


HISTORY = '{% from "audit/_history.html" import history %}{{ history("household", 1) }}'


def test_the_history_macro_shows_a_records_changes_to_an_auditor_only(app, world):
    from flask_login import login_user

    from mhi.auth.models import User
    from mhi.core.db import db

    shown = {}
    for role in ("auditor", "clerk"):
        with app.test_request_context():
            login_user(db.session.get(User, world[role].id))
            shown[role] = render_template_string(HISTORY)

    assert "H-A1" in shown["auditor"] and "History" in shown["auditor"] and "clerk@example.org" in shown["auditor"]
    assert shown["clerk"].strip() == ""


def test_history_of_a_household_includes_its_members_and_receipts(app):
    from mhi.audit.queries import history
    from mhi.contributions.services import record_receipt, reverse_receipt
    from mhi.members.services import add_person
    from tests.members.helpers import enrol, person

    with records(app) as session:
        scheme = make_scheme(session, "MUT-H")
        household = enrol(session, scheme, "H-9", date(2025, 1, 10), others=0)
        other = enrol(session, scheme, "H-10", date(2025, 1, 10), others=0)
        add_person(session, household, person("Baby", "child", date(2025, 3, 1), born=date(2025, 2, 20)))
        receipt = record_receipt(session, household, date=date(2025, 1, 10), amount=Decimal(2000))
        reverse_receipt(session, receipt, reason="counted twice")
        session.commit()

        rows = history(session, "household", household.id)

    assert [(r.entity, r.action) for r in rows] == [
        ("household", "enrol"),
        ("person", "add"),
        ("receipt", "record"),
        ("receipt", "reverse"),
    ]
    assert all(r.entity_id != other.id or r.entity != "household" for r in rows)


def test_the_household_and_claim_pages_show_their_history_to_a_manager(app):
    from mhi.claims.services import submit_claim
    from mhi.members.services import enrol_household
    from tests.claims import claim_helpers as ch
    from tests.members.helpers import person

    with records(app) as session:
        scheme = ch.make_scheme(session)
        manager = make_user(session, "scheme_manager", scheme=scheme, email="manager@example.org")
        clerk = make_user(session, "clerk", scheme=scheme, email="clerk@example.org")
        household = enrol_household(
            session,
            scheme,
            ref="H-77",
            product_code="BASE",
            persons=[person("Awa", "head", date(2024, 1, 1))],
            actor=clerk,
        )
        member_no = household.persons[0].member_no
        claim = submit_claim(
            session, scheme, ch.entry("C-77", member_no), source="form", actor=manager, recorded_on=ch.RECORDED
        )
        session.commit()
        urls = (f"/schemes/{scheme.code}/households/{household.id}", f"/schemes/{scheme.code}/claims/{claim.id}")

    for url, action in zip(urls, ("enrolled", "decided"), strict=True):
        shown = client_of(app, manager).get(url)
        assert shown.status_code == 200
        assert "History" in shown.get_data(as_text=True) and action in shown.get_data(as_text=True)
    household_page = client_of(app, clerk).get(urls[0]).get_data(as_text=True)
    assert "When (UTC)" not in household_page  # a clerk does not hold audit.read
