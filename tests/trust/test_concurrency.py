"""Two people doing the same thing at the same moment, on PostgreSQL: nothing lost, nothing doubled.

Each test lines two threads up (each with its own app context and database session) with a barrier, lets both
do their work, and holds both commits back until both have finished — so without the lock under test both
transactions read before either writes and the invariant breaks every time, not once in a while. With the lock
the second thread waits inside its work for the first's commit (the gate times out, see helpers.run_together).

What each test protects, and the lock it fails without:
- receipts: derived coverage of a household = its recomputation (row lock on the household in
  ``contributions.services.refresh_households``);
- claims: the sum approved under an annual ceiling never exceeds it (``claims.services.lock_persons``);
- guarantee letters: two officers issuing at once never reserve past the annual ceiling (the same person lock,
  taken by ``claims.letters.issue_letter``);
- imports: the same file twice → one writes, the other finds everything unchanged (the scheme's import lock,
  ``core.tabular.lock_scheme_for_import``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.claims.models import Claim
from mhi.claims.services import ClaimEntry, submit_claim
from mhi.contributions.imports import import_contributions
from mhi.contributions.imports import import_register as import_members
from mhi.contributions.models import CoverageSpan, Receipt
from mhi.contributions.services import record_receipt, refresh_households
from mhi.members.models import Household, Person
from mhi.schemes.imports import run_import_command
from mhi.schemes.models import Scheme
from tests.claims import claim_helpers
from tests.factories import records
from tests.members.helpers import enrol, scheme_with_programme
from tests.trust.helpers import members_csv, postgresql_only, run_together, write

E = date(2025, 1, 10)


@pytest.fixture(autouse=True)
def _postgresql(app):
    postgresql_only(app)


def _derived(session, household_id: int) -> tuple:
    """A household's stored derived data: exit and strike-off dates, coverage spans."""
    household = session.get(Household, household_id)
    session.refresh(household)
    spans = session.execute(
        select(CoverageSpan.start, CoverageSpan.end)
        .where(CoverageSpan.household_id == household_id)
        .order_by(CoverageSpan.start)
    ).all()
    return household.exit_date, household.strike_off_date, [tuple(s) for s in spans]


def _recomputed(app, scheme_code: str, household_id: int) -> tuple:
    """The derived data a fresh recomputation gives (rolled back: only compared)."""
    with app.app_context():
        from mhi.core.db import db

        session = db.session
        scheme = session.scalar(select(Scheme).where(Scheme.code == scheme_code))
        refresh_households(session, scheme, [household_id])
        derived = _derived(session, household_id)
        session.rollback()
        return derived


def _household(app):
    """A scheme (300 a person a month, fee 1000) and a household of two enrolled on E: r = 1000, d = 600."""
    with records(app) as session:
        scheme = scheme_with_programme(session)
        household = enrol(session, scheme, enrolment=E)
        return scheme.code, household.id


def _receipt(household_id: int, amount: int, receipt_no: str | None = None):
    def work(session):
        household = session.get(Household, household_id)
        receipt = record_receipt(
            session, household, receipt_no=receipt_no, date=E, amount=Decimal(amount), method="cash"
        )
        return receipt.receipt_no

    return work


def test_two_clerks_auto_numbered_receipts_for_one_household(app):
    """Both receipts stored, numbered R-2025-000001 and …02, and the household's coverage counts both."""
    code, household_id = _household(app)
    first, second = run_together(app, _receipt(household_id, 1600), _receipt(household_id, 600))
    assert first.error is None and second.error is None, (first.error, second.error)
    with records(app) as session:
        numbers = sorted(session.scalars(select(Receipt.receipt_no).where(Receipt.household_id == household_id)))
        assert numbers == ["R-2025-000001", "R-2025-000002"]
        stored = _derived(session, household_id)
    # 1000 + 600 + 600 paid: periods 0 and 1, paid until 2025-03-10, covered 30 days more.
    assert stored[2] == [(E, date(2025, 4, 9))]
    assert stored == _recomputed(app, code, household_id)


def test_two_clerks_receipt_book_numbers_for_one_household(app):
    """Hand-typed numbers from two receipt books never collide, so only the household lock keeps the second
    refresh from working on a receipt list without the first receipt (a lost update of the coverage)."""
    code, household_id = _household(app)
    first, second = run_together(
        app, _receipt(household_id, 1600, "BOOK1-0001"), _receipt(household_id, 600, "BOOK2-0001")
    )
    assert first.error is None and second.error is None, (first.error, second.error)
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == 2
        stored = _derived(session, household_id)
    assert stored[2] == [(E, date(2025, 4, 9))]
    assert stored == _recomputed(app, code, household_id)


def test_receipt_at_the_desk_while_the_contributions_file_imports(app, tmp_path):
    """A clerk's receipt and an import touching the same household: the coverage reflects both."""
    code, household_id = _household(app)
    path = write(tmp_path, "contributions.csv", "receipt_no,household_ref,date,amount\nIMP-1,H-001,2025-01-10,1600\n")

    def import_file(session):
        from mhi.core.tabular import read_table

        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        table = read_table(path)
        result = import_contributions(session, scheme, table.header, table.rows, dry_run=False, file=path.name)
        assert result.ok, result.problems
        return result.added

    first, second = run_together(app, import_file, _receipt(household_id, 600, "DESK-1"))
    assert first.error is None and second.error is None, (first.error, second.error)
    with records(app) as session:
        stored = _derived(session, household_id)
    assert stored[2] == [(E, date(2025, 4, 9))]
    assert stored == _recomputed(app, code, household_id)


def test_two_officers_deciding_claims_under_one_annual_ceiling(app):
    """OPD pays 80% up to 6,000 a year: two 5,000 claims decided at once pay 4,000 + 2,000, never 8,000."""
    with records(app) as session:
        scheme = claim_helpers.make_scheme(session)
        claim_helpers.make_household(session, scheme, "H-1", [("H-1-01", "head")])
        session.commit()
        code = scheme.code

    def officer(claim_ref: str, day: int):
        def work(session):
            scheme = session.scalar(select(Scheme).where(Scheme.code == code))
            entry = ClaimEntry(
                claim_ref=claim_ref,
                member_no="H-1-01",
                provider_code="HR",
                benefit_code="OPD",
                date_of_service=date(2025, 3, day),
                date_submitted=date(2025, 3, 5),
                amount_claimed=Decimal(5000),
            )
            claim = submit_claim(session, scheme, entry, source="form", actor=None, recorded_on=date(2025, 3, 10))
            return claim.status, claim.amount_approved

        return work

    first, second = run_together(app, officer("C-1", 1), officer("C-2", 2))
    assert first.error is None and second.error is None, (first.error, second.error)
    with records(app) as session:
        approved = session.scalars(select(Claim.amount_approved).order_by(Claim.amount_approved)).all()
    assert sum(approved) <= Decimal(6000)
    assert approved == [Decimal(2000), Decimal(4000)]


def test_two_officers_issuing_guarantee_letters_at_once(app):
    """OPD's annual ceiling is 6,000: two letters of 4,000 issued at once — one is issued, the other refused
    CEILING_PER_YEAR; approved claims plus open letters never pass the ceiling (adjudication.md)."""
    from mhi.claims.letters import LetterError, LetterRequest, issue_letter
    from mhi.claims.models import GuaranteeLetter

    with records(app) as session:
        scheme = claim_helpers.make_scheme(session)
        claim_helpers.make_household(session, scheme, "H-1", [("H-1-01", "head")])
        session.commit()
        code = scheme.code

    def officer(session):
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        request = LetterRequest("H-1-01", "OPD", "HR", "2025-03-01", "2025-03-31", "4000")
        return issue_letter(session, scheme, request, actor=None, today=date(2025, 3, 1)).number

    first, second = run_together(app, officer, officer)
    outcomes = sorted([first, second], key=lambda o: o.error is not None)
    assert outcomes[0].error is None and outcomes[0].value == "PEC-2025-000001"
    assert isinstance(outcomes[1].error, LetterError) and outcomes[1].error.answer.refusal == "CEILING_PER_YEAR"
    with records(app) as session:
        assert session.scalars(select(GuaranteeLetter.amount)).all() == [Decimal(4000)]


def _import_twice(app, kind: str, importer, path, code: str):
    """Run ``flask import <kind>``'s body twice at once on the same file; each holds its commit at the gate."""
    summaries: list = []

    def work(session, hold):
        def held(*args, **kwargs):
            result = importer(*args, **kwargs)
            summaries.append((result.added, result.unchanged))
            hold()
            return result

        run_import_command(kind, held, code, str(path), dry_run=False, fmt="text")

    return run_together(app, work, work, pass_hold=True), summaries


def test_the_same_members_file_imported_twice_at_once(app, tmp_path):
    """One import writes the 300 persons; the other, waiting on the scheme's import lock, finds them unchanged."""
    with records(app) as session:
        code = scheme_with_programme(session).code
    path = write(tmp_path, "members.csv", members_csv(100))
    outcomes, summaries = _import_twice(app, "members", import_members, path, code)
    assert [o.error for o in outcomes] == [None, None]
    assert sorted(summaries) == [(0, 300), (300, 0)]
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 300
        assert session.scalar(select(func.count()).select_from(Household)) == 100
        assert session.scalar(select(func.count(func.distinct(Person.member_no)))) == 300


def test_the_same_contributions_file_imported_twice_at_once(app, tmp_path):
    """No receipt number twice, each household's coverage counting its receipt once."""
    with records(app) as session:
        code = scheme_with_programme(session).code
    members = write(tmp_path, "members.csv", members_csv(50))
    with app.app_context():
        run_import_command("members", import_members, code, str(members), dry_run=False, fmt="text")
    lines = ["receipt_no,household_ref,date,amount"]
    lines += [f"R-{n:04d},H-{n:06d},2025-01-10,1900" for n in range(1, 51)]
    path = write(tmp_path, "contributions.csv", "\n".join(lines) + "\n")
    outcomes, summaries = _import_twice(app, "contributions", import_contributions, path, code)
    assert [o.error for o in outcomes] == [None, None]
    assert sorted(summaries) == [(0, 50), (50, 0)]
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == 50
        # Three persons: fee 1000 + 900 for period 0 → paid until 2025-02-10, covered until 2025-03-12.
        spans = session.execute(select(CoverageSpan.start, CoverageSpan.end)).all()
        assert sorted(set(spans)) == [(E, date(2025, 3, 12))] and len(spans) == 50
