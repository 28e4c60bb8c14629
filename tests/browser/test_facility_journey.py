"""A health facility desk's journey (issue 13), in Chromium on the demo: the desk of the Keur Moussa health centre
signs in, checks the eligibility of a baby born ten days ago into a member household and registered five days
ago (the product's newborn rule: covered from birth, no waiting period), enters a consultation claim for the baby,
attaches the scanned bill (a PNG), and the claim page shows the decision and the bill. It then finds another
facility's claim refused by URL. Screenshots in test-artifacts/screenshots/facility-desk/.

The steps are separate helpers — ``check_eligibility``, ``enter_claim``, ``attach_bill``, ``submit_claim`` — so
the claim form's drafts (issue 13, another branch) change ``enter_claim`` (save the draft) and ``submit_claim``
(press "submit") and nothing else. On main a typed claim is decided as soon as it is saved: ``submit_claim`` then
only reads the decision the page shows.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import sqlite3
from datetime import date, timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect

from mhi.core import clock
from tests.browser.conftest import Journey, _flask, sign_in

pytestmark = pytest.mark.browser

PROVIDER = "CS-KEUR"
PASSWORD = "Keur-Moussa-desk-77"


def _scan() -> bytes:
    """A scanned bill: a small PNG."""
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (245, 240, 230)).save(out, format="PNG")
    return out.getvalue()


def prepare(live_server, demo) -> dict:
    """The facility desk's account (made with ``flask user create --role facility --provider``), the newborn rule
    on the demo product (30 days), and a baby born 10 days ago registered 5 days ago in a covered household."""
    from mhi import create_app
    from mhi.core.db import db
    from mhi.members.models import Household, Person
    from mhi.members.services import PersonData, add_person
    from mhi.schemes.models import ProductVersion

    today = clock.today()
    env = {**os.environ, "MHI_DATABASE_URL": f"sqlite:///{live_server.database}", "MHI_SECRET_KEY": "browser-test"}
    email = f"accueil-{secrets.token_hex(3)}@demo.mhi"
    _flask(env, "user", "create", email, "--role", "facility", "--provider", PROVIDER, "--scheme", demo.scheme_code,
           "--locale", "en", "--no-password-change", stdin=PASSWORD + "\n")  # fmt: skip
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{live_server.database}", "SECRET_KEY": "browser-test",
         "QUEUE_URL": "immediate"}
    )  # fmt: skip
    with app.app_context():
        mother = db.session.scalar(db.select(Person).where(Person.member_no == demo.covered_member_no))
        household = db.session.get(Household, mother.household_id)
        for version in db.session.scalars(
            db.select(ProductVersion).where(ProductVersion.product_id == household.product_id)
        ):
            version.newborn_days = version.newborn_days or 30
        baby = add_person(
            db.session,
            household,
            PersonData(first_name="Ndeye", last_name=mother.last_name, sex="F", date_of_birth=today - timedelta(days=10),
                       relation="child", enrolment_date=today - timedelta(days=5)),
        )  # fmt: skip
        db.session.commit()
        member_no = baby.member_no
    return {"email": email, "member_no": member_no, "today": today}


def check_eligibility(page, code: str, member_no: str) -> None:
    """The eligibility page, from the scheme menu: the newborn is covered now, the consultation usable from birth."""
    page.get_by_role("navigation", name="Scheme menu").get_by_role("link", name="Eligibility").click()
    page.fill("#member_no", member_no)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("section.panel h2 .light-green")).to_have_text("Covered")
    consultation = page.locator("tbody tr", has_text="OPD")
    expect(consultation.locator("td").nth(1)).to_have_text("yes")


def enter_claim(page, member_no: str, service: date, amount: str) -> None:
    """From the eligibility answer, the claim form for this member: the provider is the desk's own, the only
    choice; the benefit, the day of care and the bill's line are typed, and the claim kept as a draft."""
    page.get_by_role("link", name="Enter a claim for this member").click()
    expect(page.locator("#member_no")).to_have_value(member_no)
    expect(page.locator("#provider_code option")).to_have_count(1)
    expect(page.locator("#provider_code")).to_have_value(PROVIDER)
    page.select_option("#benefit_code", "OPD")
    page.fill("#date_of_service", service.isoformat())
    page.fill("#lines-0-item", "Consultation du nouveau-né")
    page.fill("#lines-0-amount", amount)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Draft "))).to_be_visible()


def attach_bill(page) -> None:
    """On the draft's page: the scanned bill, as a bill (it follows the claim at submission)."""
    page.select_option("#kind", "bill")
    page.set_input_files("#file", {"name": "facture-keur.png", "mimeType": "image/png", "buffer": _scan()})
    page.get_by_role("button", name="Attach the file").click()
    expect(page.locator("p.flash-success")).to_contain_text("File attached to draft")
    expect(page.get_by_role("link", name="facture-keur.png")).to_be_visible()


def submit_claim(page) -> str:
    """Submit the draft for the automatic decision; returns the status the claim page shows."""
    page.get_by_role("button", name="Submit for decision").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Claim "))).to_be_visible()
    decision = page.locator("dl.facts dd").first
    expect(decision).to_contain_text(re.compile(r"approved|reduced"))
    return decision.inner_text()


def test_facility_desk_checks_a_newborn_enters_a_claim_attaches_the_bill(page, console, demo, live_server):
    journey = Journey("facility-desk")
    facts = prepare(live_server, demo)
    code = demo.scheme_code

    sign_in(page, facts["email"], PASSWORD)
    page.goto(f"/schemes/{code}/claims")
    journey.shot(page, "own-claims")
    check_eligibility(page, code, facts["member_no"])
    journey.shot(page, "newborn-covered")
    enter_claim(page, facts["member_no"], facts["today"] - timedelta(days=2), "3000")
    journey.shot(page, "draft-entered")
    attach_bill(page)
    journey.shot(page, "bill-attached")
    submit_claim(page)
    journey.shot(page, "decision")
    expect(page.get_by_role("link", name="facture-keur.png")).to_be_visible()  # the bill followed the claim
    # The decision's checks: the newborn passed the waiting period from birth.
    expect(page.locator("tr", has_text="WAITING_PERIOD").first).to_contain_text("passed")
    # The bill downloads under a generated name, never the one it was sent with.
    with page.expect_download() as download:
        page.get_by_role("link", name="facture-keur.png").click()
    assert download.value.suggested_filename.endswith("-1.png")
    assert "facture" not in download.value.suggested_filename

    # Another facility's claim (a health post's) answers "not found" to this desk.
    with sqlite3.connect(live_server.database) as connection:
        (other,) = connection.execute(
            "SELECT c.id FROM claim c JOIN scheme s ON s.id = c.scheme_id WHERE s.code = ? AND c.provider_code != ? "
            "ORDER BY c.id LIMIT 1",
            (code, PROVIDER),
        ).fetchone()
    connection.close()
    url = f"{live_server.url}/schemes/{code}/claims/{other}"
    console.expect_refusal(url)
    assert page.goto(url).status == 404
    console.assert_clean()
