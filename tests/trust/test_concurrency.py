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


def _pay_and_refresh(household_ids: list[int], amount: int, prefix: str):
    """Receipts for several households (refreshed once, as a batch of the desk's day would be)."""

    def work(session):
        households = [session.get(Household, hid) for hid in household_ids]
        for index, household in enumerate(households):
            record_receipt(
                session,
                household,
                receipt_no=f"{prefix}-{index}",
                date=E,
                amount=Decimal(amount),
                method="cash",
                refresh=False,
            )
        refresh_households(session, session.get(Scheme, households[0].scheme_id), household_ids)

    return work


def test_receipts_for_households_of_one_scheme_at_the_same_moment(app):
    """Two groups of households whose stored ledgers share total rows (periods of the same dates, a coverage end
    on the day the other group's starts or ends), paid and refreshed at the same moment: both commit, each
    household's coverage is its recomputation, and the scheme's totals equal a recount (no lost update of a total
    row). The crossed lock orders that made a deadlock possible are not reproduced here on demand (they depend on
    the timing of the statements); the lock that rules them out is tested below."""
    from mhi.contributions.coverage_totals import CoverageChangeTotal
    from mhi.contributions.coverage_totals import rebuild as rebuild_coverage
    from mhi.contributions.period_totals import ReportPeriodTotal
    from mhi.contributions.period_totals import rebuild as rebuild_periods

    december = date(2024, 12, 10)
    groups: list[list[int]] = [[], []]
    with records(app) as session:
        scheme = scheme_with_programme(session)
        code = scheme.code
        for index in range(40):
            for group, enrolment in enumerate((december, E)):
                household = enrol(session, scheme, ref=f"H-{group}-{index:03d}", enrolment=enrolment)
                # One month paid: the December group covered to 2025-02-09, the January one to 2025-03-12 —
                # where the December group's next month ends.
                record_receipt(
                    session,
                    household,
                    receipt_no=f"R-{group}-{index}",
                    date=enrolment,
                    amount=Decimal(1600),
                    method="cash",
                )
                groups[group].append(household.id)
        session.commit()

    outcomes = run_together(app, _pay_and_refresh(groups[0], 600, "A"), _pay_and_refresh(groups[1], 600, "B"))
    assert [o.error for o in outcomes] == [None, None]
    with records(app) as session:
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))

        def kept(model):
            return sorted(
                tuple(getattr(row, c.name) for c in model.__table__.columns)
                for row in session.scalars(select(model).where(model.scheme_id == scheme.id))
                if any(getattr(row, c, 0) for c in ("households", "persons", "periods"))
            )

        before = kept(CoverageChangeTotal), kept(ReportPeriodTotal)
        rebuild_coverage(session, scheme.id)
        rebuild_periods(session, scheme.id)
        assert (kept(CoverageChangeTotal), kept(ReportPeriodTotal)) == before
        session.rollback()
    for household_id in (groups[0][0], groups[1][0]):
        with records(app) as session:
            stored = _derived(session, household_id)
        assert stored == _recomputed(app, code, household_id)


def test_every_writer_of_a_schemes_totals_takes_its_lock_first(app):
    """While a transaction holds a scheme's totals lock (core/db.py ``lock_scheme_totals``), a refresh, a person's
    edit (its trigger), an import and the stored ledgers' repair of that scheme wait for it; another scheme's
    writers do not. Each wait is cut short by a lock timeout so that the test sees it."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from mhi.core.db import SCHEME_TOTALS_LOCK, db
    from mhi.core.tabular import lock_scheme_for_import
    from mhi.reports import ledgers

    code, household_id = _household(app)
    with records(app) as session:
        other = enrol(session, scheme_with_programme(session, "MUT-B"), ref="H-B01")
        other_id, other_scheme = other.id, other.scheme_id

    def blocked(work) -> bool:
        with app.app_context():
            session = db.session
            session.execute(text("SET lock_timeout = '300ms'"))
            try:
                work(session)
            except OperationalError as exc:
                assert "lock timeout" in str(exc)
                return True
            finally:
                session.rollback()
                session.execute(text("RESET lock_timeout"))
                db.session.remove()
        return False

    def scheme_of(session, scheme_code=code):
        return session.scalar(select(Scheme).where(Scheme.code == scheme_code))

    def exit_person(session, hid=household_id):
        person = session.scalars(select(Person).where(Person.household_id == hid, Person.relation != "head")).first()
        person.exit_date = date(2025, 6, 1)
        session.flush()

    with app.app_context():
        holder = db.engine.connect()
        transaction = holder.begin()
        holder.execute(
            text("SELECT pg_advisory_xact_lock(:k, :s)"), {"k": SCHEME_TOTALS_LOCK, "s": scheme_of(db.session).id}
        )
        db.session.remove()
        try:
            assert blocked(lambda session: refresh_households(session, scheme_of(session), [household_id]))
            assert blocked(exit_person)
            assert blocked(lambda session: lock_scheme_for_import(session, scheme_of(session)))
            assert blocked(lambda session: ledgers.rebuild(session, scheme_of(session), [household_id]))
            assert not blocked(
                lambda session: refresh_households(session, session.get(Scheme, other_scheme), [other_id])
            )
            assert not blocked(lambda session: exit_person(session, other_id))
        finally:
            transaction.rollback()
            holder.close()
    assert not blocked(lambda session: refresh_households(session, scheme_of(session), [household_id]))
    assert not blocked(exit_person)
