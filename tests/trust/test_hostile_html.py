"""Names that are HTML (``<script>alert(1)</script>``, ``<b>x</b>``, an attribute break-out) are shown as text on
every page that shows a name — household, search results, claim, claims queue, eligibility, scheme — and printed
literally on the member cards (the PDF's text holds the characters, not bold type)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mhi.claims.services import ClaimEntry, override_decision, submit_claim
from mhi.contributions.services import record_receipt
from mhi.members.models import Person
from mhi.members.services import enrol_household
from mhi.schemes.models import Provider
from tests.cards.helpers import pdf_text
from tests.claims import claim_helpers
from tests.factories import login, make_user, records
from tests.members.helpers import person

SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>x</b>"
BREAKOUT = '"><img src=x onerror=alert(2)>'
PROVIDER = "<u>Hôpital</u> & <br/>Co"
RAW = ("<script>alert(", "<b>x</b>", "<img src=x", "<i>", "<u>")


@pytest.fixture
def hostile(app, client):
    """A scheme, provider and household whose names are HTML, a claim decided and overridden by an officer whose
    name is HTML; signed in as an admin. (scheme code, household id, claim id, head's member_no)."""
    with records(app) as session:
        scheme = claim_helpers.make_scheme(session)
        scheme.name = f"{BOLD} <i>Mutuelle</i>"
        provider = session.scalar(select(Provider).where(Provider.scheme_id == scheme.id, Provider.code == "HR"))
        provider.name = PROVIDER
        session.commit()
        household = enrol_household(
            session,
            scheme,
            ref="H-1",
            product_code="BASE",
            persons=[
                person(SCRIPT, "head", date(2024, 1, 1), last=BOLD),
                person(BREAKOUT, "child", date(2024, 1, 1), born=date(2015, 1, 1), last="Diop"),
            ],
            village=BREAKOUT,
        )
        record_receipt(session, household, date=date(2024, 1, 1), amount=Decimal(100000))
        session.commit()
        head = session.scalar(select(Person).where(Person.household_id == household.id, Person.relation == "head"))
        officer = make_user(session, "admin")
        officer.name = "<script>alert(3)</script>"
        session.commit()
        claim = submit_claim(
            session,
            scheme,
            ClaimEntry(
                claim_ref="C-1",
                member_no=head.member_no,
                provider_code="HR",
                benefit_code="HOSP",
                date_of_service=date(2025, 3, 1),
                date_submitted=date(2025, 3, 2),
                amount_claimed=Decimal(10000),
            ),
            source="form",
            actor=officer,
            recorded_on=date(2025, 3, 3),
        )
        override_decision(session, claim, status="REJECTED", amount_approved=0, reason=SCRIPT, actor=officer)
        session.commit()
        admin = make_user(session, "admin")
        ids = scheme.code, household.id, claim.id, head.member_no
    login(client, admin)
    return ids


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    body = response.get_data(as_text=True)
    for raw in RAW:
        assert raw not in body, f"{url} shows {raw!r} unescaped"
    return body


def test_household_page_escapes_names(hostile, client):
    code, household_id, _claim, _member = hostile
    body = _page(client, f"/schemes/{code}/households/{household_id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;b&gt;x&lt;/b&gt;" in body
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in body or "&quot;&gt;&lt;img" in body


def test_search_results_escape_names(hostile, client):
    code, *_ = hostile
    body = _page(client, f"/schemes/{code}/households?q=script")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # The query itself is echoed back escaped too.
    body = _page(client, f"/schemes/{code}/households?q=%3Cscript%3Ealert(9)%3C/script%3E")
    assert "<script>alert(9)" not in body


def test_claim_pages_escape_names(hostile, client):
    code, _household, claim_id, _member = hostile
    body = _page(client, f"/schemes/{code}/claims/{claim_id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # the member and the override's reason
    assert "&lt;u&gt;Hôpital&lt;/u&gt; &amp; &lt;br/&gt;Co" in body  # the provider
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in body  # the officer
    _page(client, f"/schemes/{code}/claims")


def test_eligibility_and_scheme_pages_escape_names(hostile, client):
    code, _household, _claim, member = hostile
    body = _page(client, f"/schemes/{code}/eligibility?member_no={member}&on=2025-03-01")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    body = _page(client, f"/schemes/{code}")
    assert "&lt;b&gt;x&lt;/b&gt; &lt;i&gt;Mutuelle&lt;/i&gt;" in body
    _page(client, "/")
    _page(client, f"/schemes/{code}/providers")


def test_member_cards_print_names_literally(hostile, runner, tmp_path):
    code, *_ = hostile
    out = tmp_path / "cards.pdf"
    result = runner.invoke(args=["cards", "--scheme", code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert BOLD in text  # the characters themselves, not a bold "x"
    assert "<script>" in text


def test_payment_batch_and_report_pdfs_print_names_literally(app, hostile, client):
    """The batch slip (scheme and provider names) and the monitoring report (scheme name) are reportlab
    paragraphs, which read ``<b>`` as mark-up: the names must reach them escaped."""
    code, _household, _claim, member = hostile
    with records(app) as session:
        from mhi.claims.services import create_batch
        from mhi.schemes.models import Scheme

        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        entry = ClaimEntry(
            claim_ref="C-2",
            member_no=member,
            provider_code="HR",
            benefit_code="HOSP",
            date_of_service=date(2025, 3, 5),
            date_submitted=date(2025, 3, 6),
            amount_claimed=Decimal(10000),
        )
        submit_claim(session, scheme, entry, source="form", actor=None, recorded_on=date(2025, 3, 7))
        provider = session.scalar(select(Provider).where(Provider.scheme_id == scheme.id, Provider.code == "HR"))
        batch = create_batch(session, provider, actor=None)
        session.commit()
        batch_id = batch.id
    response = client.get(f"/schemes/{code}/batches/{batch_id}/batch.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert f"{BOLD} <i>Mutuelle</i>" in text  # the scheme
    assert PROVIDER in text
    response = client.get(f"/schemes/{code}/indicators.pdf?from=2025-01-01&to=2025-12-31")
    assert response.status_code == 200
    assert f"{BOLD} <i>Mutuelle</i>" in pdf_text(response.data)
