"""A household's statement: members with accents and markup printed as typed, periods with due / subsidy / paid,
receipts, claims (only for claims staff), the balance and the cover, in the household's language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mhi.cards.statement import document_language, statement_balance, statement_pdf
from mhi.contributions.services import household_account
from mhi.members.models import Person
from mhi.schemes.models import SubsidyProgramme
from tests.cards.helpers import claim, identity, make_household, pay, pdf_text
from tests.factories import make_scheme

F, T = date(2024, 2, 1), date(2024, 3, 31)


def scenario(session, *, language: str = "en"):
    """3 persons × 300 a month, registration 1000; 1500 paid in January, 1300 in February; three claims."""
    scheme = make_scheme(session, name="Mutuelle de santé de Ndiagane")
    household = make_household(session, scheme, "NDG/H-001", language=language)
    pay(session, household, date(2024, 1, 5), "1500", number="R-1")
    pay(session, household, date(2024, 2, 10), "1300", number="R-2", collector="<i>Awa</i> Faye")
    patient = session.query(Person).filter_by(member_no="M-00002").one()
    claim(session, patient, "C-1", date(2024, 2, 15), "5000", "4000", "REDUCED")
    claim(session, patient, "C-2", date(2024, 3, 2), "3000", "0", "REJECTED")
    claim(session, patient, "C-3", date(2024, 5, 1), "7777", "7777", "APPROVED")  # after the period
    return scheme, household


def test_balance_is_a_statement_of_account(session):
    _, household = scenario(session)
    account = household_account(session, household, T)
    balance = statement_balance(account, household, F, T)
    # Owed on 1 Feb: registration 1000 + January 900 − 1500 paid = 400; February and March 1800 due; 1300 paid.
    assert balance.opening == Decimal(400)
    assert balance.dues == Decimal(1800)
    assert balance.paid == Decimal(1300)
    assert balance.closing == Decimal(900)


def test_statement_text(session):
    _, household = scenario(session)
    text = pdf_text(statement_pdf(session, household, F, T, language="en", gettext=identity, include_claims=True))
    for expected in (
        "Mutuelle de santé de Ndiagane",
        "Household statement",
        "NDG/H-001",
        "Aïssatou Lô",
        "François Ndiaye-Sène",
        "<b>x</b> Diop",  # markup printed as typed, not read as bold
        "<i>Awa</i> Faye",
        "Feb 1, 2024 – Feb 29, 2024",
        "Mar 1, 2024 – Mar 31, 2024",
        "F CFA1,300",  # receipt R-2
        "R-2",
        # Claims: claimed, approved, co-payment, and the totals 8000 / 4000 / 4000.
        "C-1",
        "C-2",
        "F CFA5,000",
        "F CFA4,000",
        "F CFA3,000",
        "F CFA8,000",
        "reduced",
        "rejected",
        # Balance.
        "F CFA400",
        "F CFA1,800",
        "F CFA900",
        # Paid to the end of February; the 30 days' grace ended on 30 March.
        "Contributions paid up to Feb 29, 2024 included.",
        "Not covered: contributions unpaid since Mar 1, 2024.",
    ):
        assert expected in text, expected
    assert "C-3" not in text and "7,777" not in text
    # The claims name their benefit (from the product), not its code (issue 16).
    claims_part = text.split("Claims", 1)[1].split("Balance", 1)[0]
    assert "Consultation" in claims_part and "OPD" not in claims_part
    # R-1 is dated before the period: it is in the opening balance, not in the receipts.
    receipts_part = text.split("Receipts", 1)[1].split("Claims", 1)[0]
    assert "R-2" in receipts_part and "R-1" not in receipts_part


def test_claims_are_left_out_for_readers_without_claims_access(session):
    _, household = scenario(session)
    text = pdf_text(statement_pdf(session, household, F, T, language="en", gettext=identity, include_claims=False))
    assert "Claims are shown only to claims staff." in text
    assert "C-1" not in text and "F CFA5,000" not in text


def test_subsidised_household_in_french(session):
    scheme = make_scheme(session)
    session.add(
        SubsidyProgramme(
            scheme_id=scheme.id,
            position=0,
            code="CMU-IND",
            funder="État",
            categories=["indigent"],
            share=Decimal("0.5"),
            valid_from=date(2024, 1, 1),
            valid_to=None,
        )
    )
    session.commit()
    household = make_household(session, scheme, "H-IND", category="indigent", language="fr")
    pay(session, household, date(2024, 1, 3), "950", number="R-1")  # member part: 500 registration + 450 January
    text = pdf_text(
        statement_pdf(
            session,
            household,
            date(2024, 1, 1),
            date(2024, 1, 31),
            language="fr",
            gettext=identity,
            include_claims=True,
        )
    )
    # Registration 1000 → 500 member part; January gross 900, subsidy 450, member due 450, paid 450.
    for expected in ("1 janv. 2024 – 31 janv. 2024", "900 F CFA", "450 F CFA", "500 F CFA", "950 F CFA", "0 F CFA"):
        assert expected in text, expected


def test_document_language(session):
    scheme = make_scheme(session)  # locale fr_SN
    languages = ("en", "fr")
    wolof = make_household(session, scheme, "H-1", language="wo")
    english = make_household(session, scheme, "H-2", language="en", first_no=10)
    unset = make_household(session, scheme, "H-3", first_no=20)
    # A language the application does not have falls back to the scheme's.
    assert document_language(wolof, scheme, languages, "en") == "fr"
    assert document_language(english, scheme, languages, "en") == "en"
    assert document_language(unset, scheme, languages, "en") == "fr"
    scheme.locale = "pt_MZ"
    assert document_language(unset, scheme, languages, "en") == "en"


def test_statement_prints_the_last_general_assemblys_decisions(session):
    """C102 art. 72: the members read what their last general assembly (with quorum) adopted; a rejected
    resolution, a board decision and an assembly without quorum are not printed."""
    from tests.factories import make_resolution

    scheme, household = scenario(session)
    make_resolution(session, scheme, held_on=date(2024, 1, 20), text="Ancienne décision de 2024.")
    make_resolution(session, scheme, held_on=date(2024, 3, 10), text="Décision du bureau.", kind="board")
    make_resolution(session, scheme, held_on=date(2024, 3, 15), text="Sans quorum.", attendance=30, votes=(30, 0, 0))
    latest = make_resolution(session, scheme, held_on=date(2024, 3, 1), text="La cotisation passe à 350 F par mois.")
    from mhi.governance import services as governance

    governance.record_meeting(
        session,
        scheme,
        kind="general_assembly",
        held_on=date(2024, 3, 12),
        members_entitled=100,
        attendance=80,
        votes=[
            governance.Vote("Les comptes 2023 sont approuvés.", 70, 5, 5),
            governance.Vote("Rejetée : fermer le bureau le samedi.", 10, 60, 10),
        ],
        today=date(2024, 3, 31),
        actor=None,
    )
    assert latest.adopted
    text = pdf_text(
        statement_pdf(session, household, F, T, language="en", gettext=identity, include_claims=False, today=T)
    )
    assert "Decisions of the general assembly of Mar 12, 2024" in text
    assert "1. Les comptes 2023 sont approuvés." in text
    for absent in ("Rejetée", "Décision du bureau", "Sans quorum", "350 F", "Ancienne"):
        assert absent not in text, absent
    without = pdf_text(
        statement_pdf(
            session, household, F, T, language="en", gettext=identity, include_claims=False, today=T, decisions=False
        )
    )
    assert "Decisions of the general assembly" not in without
