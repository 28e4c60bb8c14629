"""The subsidy claim and the funder's side (issue 14): every beneficiary household with its amount due by
contributions.md §2, totals by scheme, received and outstanding; the manager's sign-off freezes the figures
(audited); the document's total equals the indicators' subsidies_due; a funder sees its programmes' claims and
never a scheme page, a household or a claim for care."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from mhi.core.audit import AuditEvent
from mhi.reports.indicators import scheme_indicators
from mhi.schemes.models import SubsidyProgramme
from mhi.subsidies.claims import ClaimError, claim_document, draft_claim, sign_off_claim
from mhi.subsidies.documents import claim_pdf, claim_xlsx
from mhi.subsidies.funders import bind_programme, funder_documents, sent_claims
from mhi.subsidies.services import record_subsidy_receipt
from tests.cards.helpers import identity, pdf_text
from tests.factories import login, make_user
from tests.members.helpers import enrol, scheme_with_programme

F, T = date(2025, 1, 1), date(2025, 6, 30)


@pytest.fixture
def world(session):
    """Two schemes with the CMU-IND programme (half of the contribution of indigent households): in MUT-A two
    indigent households and one standard, in MUT-B one indigent household."""
    a = scheme_with_programme(session, "MUT-A")
    b = scheme_with_programme(session, "MUT-B")
    enrol(session, a, "A-1", date(2025, 1, 10), category="indigent")
    enrol(session, a, "A-2", date(2025, 3, 5), others=2, category="indigent")
    enrol(session, a, "A-3", date(2025, 1, 10))
    enrol(session, b, "B-1", date(2025, 2, 1), category="indigent")
    programmes = {
        s.code: session.scalar(select(SubsidyProgramme).where(SubsidyProgramme.scheme_id == s.id)) for s in (a, b)
    }
    return a, b, programmes


def test_claim_lists_every_beneficiary_with_the_engine_amounts(session, world):
    a, _, programmes = world
    document = draft_claim(session, programmes["MUT-A"], F, T)
    assert [line.household_ref for line in document.lines] == ["A-1", "A-2"]
    a1, a2 = document.lines
    # 2 persons × 300 = 600 a month, half subsidised, periods from 10 Jan: 6 in [F, T] → 6 × 300, plus half
    # of the registration fee (1000 / 2).
    assert (a1.persons, a1.category, a1.months, a1.amount) == (2, "indigent", 6, Decimal(6 * 300 + 500))
    assert a1.head == "Awa Ndiaye"
    # 3 persons (900 a month), from 5 March: 4 periods → 4 × 450 + 500.
    assert (a2.persons, a2.months, a2.amount) == (3, 4, Decimal(4 * 450 + 500))


def test_claim_total_equals_the_indicators_subsidies_due(session, world):
    a, b, programmes = world
    for scheme in (a, b):
        document = draft_claim(session, programmes[scheme.code], F, T)
        indicators = scheme_indicators(session, scheme, F, T)
        assert document.due == indicators.indicators["subsidies_due"] > 0


def test_received_and_outstanding(session, world):
    a, _, programmes = world
    record_subsidy_receipt(
        session, a, programme=programmes["MUT-A"], reference="ETAT-1", date=date(2025, 4, 2), amount=Decimal(1000)
    )
    document = draft_claim(session, programmes["MUT-A"], F, T)
    assert document.received == Decimal(1000)
    assert document.outstanding == document.due - Decimal(1000)


def test_sign_off_freezes_the_figures_and_is_audited(session, world):
    a, _, programmes = world
    manager = make_user(session, "scheme_manager", a)
    programme = programmes["MUT-A"]
    before = draft_claim(session, programme, F, T)
    sign_off_claim(session, programme, F, T, actor=manager)
    session.commit()
    # A new beneficiary after the sign-off changes the draft figures, not the signed claim.
    enrol(session, a, "A-4", date(2025, 2, 1), category="indigent")
    signed = claim_document(session, programme, F, T)
    assert (signed.due, len(signed.lines), signed.signed_by) == (before.due, 2, manager.email)
    assert draft_claim(session, programme, F, T).due > before.due
    event = session.scalar(select(AuditEvent).where(AuditEvent.entity == "subsidy_claim"))
    assert event.action == "sign_off" and Decimal(str(event.after["due"])) == before.due
    with pytest.raises(ClaimError):
        sign_off_claim(session, programme, date(2025, 3, 1), date(2025, 12, 31), actor=manager)  # overlaps
    session.rollback()


def test_pdf_and_xlsx_with_totals_by_scheme(session, world):
    _, _, programmes = world
    documents = [draft_claim(session, programmes[code], F, T) for code in ("MUT-A", "MUT-B")]
    text = pdf_text(claim_pdf(documents, language="en", country="SN", gettext=identity))
    for expected in ("Subsidy claim", "CMU-IND", "A-1", "A-2", "B-1", "Totals by scheme", "MUT-A", "MUT-B"):
        assert expected in text
    book = openpyxl.load_workbook(io.BytesIO(claim_xlsx(documents, gettext=identity)))
    lines = list(book.worksheets[0].iter_rows(values_only=True))
    assert [row[:2] for row in lines[1:]] == [("MUT-A", "A-1"), ("MUT-A", "A-2"), ("MUT-B", "B-1")]
    totals = list(book.worksheets[1].iter_rows(values_only=True))
    assert totals[-1][0] == "Total"
    assert Decimal(str(totals[-1][2])) == sum(d.due for d in documents)


def test_xlsx_keeps_formula_like_names_as_text(session, world):
    a, _, programmes = world
    from mhi.members.models import Person

    head = session.scalar(select(Person).where(Person.member_no.like("A-1%"), Person.relation == "head"))
    head.first_name = '=HYPERLINK("http://x")'
    session.commit()
    book = openpyxl.load_workbook(
        io.BytesIO(claim_xlsx([draft_claim(session, programmes["MUT-A"], F, T)], gettext=identity))
    )
    cell = book.worksheets[0]["C2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_funder_sees_the_signed_claims_of_its_programmes_only(session, world, client):
    a, b, programmes = world
    funder = make_user(session, "funder")
    bind_programme(session, funder, programmes["MUT-A"])
    bind_programme(session, funder, programmes["MUT-B"])
    manager = make_user(session, "scheme_manager", a)
    sign_off_claim(session, programmes["MUT-A"], F, T, actor=manager)
    session.commit()
    assert [(c.programme_code, c.schemes) for c in sent_claims(session, funder)] == [("CMU-IND", ("MUT-A",))]
    assert len(funder_documents(session, funder, "CMU-IND", F, T)) == 1  # MUT-B has not signed off
    login(client, funder)
    home = client.get("/funder")
    assert home.status_code == 200 and b"CMU-IND" in home.data and b"MUT-B" in home.data
    pdf = client.get("/funder/claims/CMU-IND/2025-01-01/2025-06-30.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert client.get("/funder/claims/CMU-IND/2025-01-01/2025-06-30.xlsx").status_code == 200
    assert client.get("/funder/claims/CMU-IND/2025-01-01/2025-05-31.pdf").status_code == 404  # never sent
    assert client.get("/funder/claims/OTHER/2025-01-01/2025-06-30.pdf").status_code == 404
    # Never a scheme page, a household, or a claim for care.
    for url in (f"/schemes/{a.code}/households", f"/schemes/{a.code}/claims", f"/schemes/{a.code}/subsidies",
                f"/schemes/{a.code}/households/1", f"/schemes/{a.code}/subsidies/claims"):  # fmt: skip
        assert client.get(url).status_code in (403, 404), url


def test_manager_signs_off_on_screen(session, world, client):
    a, _, _ = world
    login(client, make_user(session, "scheme_manager", a))
    url = f"/schemes/{a.code}/subsidies/claims?programme=CMU-IND&date_from=2025-01-01&date_to=2025-06-30"
    page = client.get(url)
    assert page.status_code == 200 and b"A-2" in page.data and b"Sign off the claim" in page.data
    assert client.get(url + "&format=xlsx").status_code == 200
    done = client.post(
        f"/schemes/{a.code}/subsidies/claims/sign-off",
        data={"programme": "CMU-IND", "date_from": "2025-01-01", "date_to": "2025-06-30"},
    )
    assert done.status_code == 302
    assert b"Sign off the claim" not in client.get(url).data


def test_auditor_reads_the_claim_but_cannot_sign_off(session, world, client):
    a, _, _ = world
    login(client, make_user(session, "auditor", a))
    url = f"/schemes/{a.code}/subsidies/claims?programme=CMU-IND&date_from=2025-01-01&date_to=2025-06-30"
    assert client.get(url).status_code == 200
    data = {"programme": "CMU-IND", "date_from": "2025-01-01", "date_to": "2025-06-30"}
    assert client.post(f"/schemes/{a.code}/subsidies/claims/sign-off", data=data).status_code == 403


def test_cli_funder_follow(app, runner, session, world):
    funder = make_user(session, "funder", email="etat@example.org")
    result = runner.invoke(args=["funder", "follow", "etat@example.org", "--scheme", "MUT-A", "--programme", "CMU-IND"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["funder", "follow", "etat@example.org", "--scheme", "MUT-A", "--programme", "NOPE"])
    assert bad.exit_code == 1
    assert funder.id
