"""Two clerks on one statement at the same moment, on PostgreSQL (tests/trust/helpers.run_together): the same
statement imported twice at once makes each receipt once; one waiting line assigned by two clerks at once
becomes one receipt."""

from __future__ import annotations

from sqlalchemy import func, select

from mhi.contributions.models import Receipt
from mhi.core.tabular import lock_scheme_for_import
from mhi.members.models import Household
from mhi.payments.models import StatementLine
from mhi.payments.statements import StatementError, assign_line, import_statement, read_statement
from mhi.schemes.models import Scheme
from tests.factories import records
from tests.payments.helpers import statement_scheme
from tests.payments.test_statements import STATEMENT
from tests.trust.helpers import postgresql_only, run_together


def _import(code: str):
    def work(session):
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        lock_scheme_for_import(session, scheme)  # what the command and the upload's confirm take
        table = read_statement(STATEMENT.encode(), "statement.csv")
        result = import_statement(session, scheme, table.header, table.rows, dry_run=False, file="statement.csv")
        assert result.ok, result.problems
        return result.counts()

    return work


def test_the_same_statement_imported_twice_at_once(app):
    postgresql_only(app)
    with records(app) as session:
        code = statement_scheme(session)[0].code
    first, second = run_together(app, _import(code), _import(code))
    assert (first.error, second.error) == (None, None)
    assert sorted([first.value["already"], second.value["already"]]) == [0, 5]
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == 3
        assert session.scalar(select(func.count()).select_from(StatementLine)) == 5


def test_one_line_assigned_by_two_clerks_at_once(app):
    postgresql_only(app)
    with records(app) as session:
        scheme, households = statement_scheme(session)
        table = read_statement(STATEMENT.encode(), "statement.csv")
        import_statement(session, scheme, table.header, table.rows, dry_run=False, file="statement.csv")
        session.commit()
        line_id = session.scalar(select(StatementLine.id).where(StatementLine.transaction_id == "OM-2"))
        targets = households["H-003"].id, households["H-004"].id

    def clerk(household_id: int):
        def work(session):
            line = session.get(StatementLine, line_id)
            return assign_line(session, line, session.get(Household, household_id)).id

        return work

    outcomes = run_together(app, clerk(targets[0]), clerk(targets[1]))
    errors = [o.error for o in outcomes]
    assert sum(e is None for e in errors) == 1
    assert any(isinstance(e, StatementError) for e in errors), errors
    with records(app) as session:
        assert session.scalar(select(func.count()).where(Receipt.transaction_id == "OM-2")) == 1
