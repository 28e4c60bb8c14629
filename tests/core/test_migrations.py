"""The migrations build exactly the schema of the models, on SQLite and on PostgreSQL.

The suite's own schema comes from ``db.create_all()`` (tests/conftest.py); this test proves that ``flask db
upgrade`` on an empty database gives the same tables, columns, types, indexes and constraints, so a model change
without its migration fails here. It also goes down to base and up again.

The PostgreSQL half runs when ``MHI_TEST_DATABASE_URL`` names a PostgreSQL database: it works in a database of
its own (``mhi_migrations_test``, made and dropped here) so the suite's schema is left alone.
"""

from __future__ import annotations

import json
import os
import re

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from mhi import create_app, normalise_database_url
from mhi.core.db import db

MIGRATIONS_DATABASE = "mhi_migrations_test"
#: The revision before the job queue's (it moves card_job into job).
BEFORE_JOBS = "5e1a1ca8d35d-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database: a new SQLite file, or a new PostgreSQL database beside the suite's."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    suite_url = os.environ.get("MHI_TEST_DATABASE_URL")
    if not suite_url or not normalise_database_url(suite_url).startswith("postgresql"):
        pytest.skip("MHI_TEST_DATABASE_URL does not name a PostgreSQL database")
    url = make_url(normalise_database_url(suite_url))
    # Named after the suite's database, so that two suites on one server (two clones) do not share it.
    name = f"{url.database}_{MIGRATIONS_DATABASE}"
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(url, statement: str) -> None:
    """Run a CREATE/DROP DATABASE on the suite's server (outside a transaction, as PostgreSQL requires)."""
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture
def migrated_app(database_url):
    """An application on the empty database (nothing built yet: the test migrates it)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def schema_differences() -> list:
    """What autogenerate would write to bring the database in line with the models (empty when they agree)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_builds_the_models_schema(migrated_app):
    flask_migrate.upgrade()

    differences = schema_differences()

    assert differences == [], "the migrations and the models differ:\n" + "\n".join(map(str, differences))


def test_downgrade_to_base_and_upgrade_again(migrated_app):
    flask_migrate.upgrade()

    flask_migrate.downgrade(revision="base")
    left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    flask_migrate.upgrade()

    assert left == set(), f"tables left after downgrading to base: {sorted(left)}"
    assert schema_differences() == []
    assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())


def test_card_jobs_move_into_the_job_queue(migrated_app):
    """The job-queue migration keeps each card batch (same id, its PDF as the job's file) and queues again the
    batches whose thread died; going down brings them back."""
    flask_migrate.upgrade(revision=BEFORE_JOBS)
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO scheme (id, code, name, country, currency, locale, target_population, opening_date,"
                " opening_reserve, opening_cash, settings) VALUES (1, 'MUT-A', 'A', 'SN', 'XOF', 'fr_SN', 1,"
                " '2024-01-01', 0, 0, '{}')"
            )
        )
        card_job = (
            "INSERT INTO card_job (id, scheme_id, scope, status, progress, total, error, pdf, pdf_size, created_at,"
            " finished_at) VALUES (:id, 1, :scope, :status, :progress, 3, '', :pdf, :size, '2026-11-30 10:00:00',"
            " :finished)"
        )
        connection.execute(
            text(card_job),
            [
                {
                    "id": 4,
                    "scope": '{"kind": "all"}',
                    "status": "done",
                    "progress": 3,
                    "pdf": b"%PDF-4",
                    "size": 6,
                    "finished": "2026-11-30 10:01:00",
                },
                {
                    "id": 7,
                    "scope": '{"kind": "village", "village": "Pout"}',
                    "status": "running",
                    "progress": 1,
                    "pdf": None,
                    "size": 0,
                    "finished": None,
                },
            ],  # fmt: skip
        )
    flask_migrate.upgrade()

    jobs = db.session.execute(text("SELECT id, kind, state, params, result, progress FROM job ORDER BY id")).all()
    assert [(j.id, j.kind, j.state, j.progress) for j in jobs] == [
        (4, "cards.print", "done", 3),
        (7, "cards.print", "queued", 0),
    ]
    params = [j.params if isinstance(j.params, dict) else json.loads(j.params) for j in jobs]
    assert params == [
        {"scope": {"kind": "all"}, "on": "2026-11-30"},
        {"scope": {"kind": "village", "village": "Pout"}, "on": "2026-11-30"},
    ]
    files = db.session.execute(text("SELECT job_id, purpose, data, size FROM stored_file")).all()
    assert [(f.job_id, f.purpose, bytes(f.data), f.size) for f in files] == [(4, "result", b"%PDF-4", 6)]
    # New jobs are numbered after the moved ones.
    db.session.execute(
        text("INSERT INTO job (kind, scheme_id, params, state, progress, total, attempts, error, worker, created_at)"
             " VALUES ('cards.print', 1, '{\"scope\": {\"kind\": \"all\"}}', 'queued', 0, 0, 0, '', '',"
             " '2026-12-01 00:00:00')")
    )  # fmt: skip
    assert db.session.scalar(text("SELECT MAX(id) FROM job")) == 8
    db.session.commit()

    flask_migrate.downgrade(revision=BEFORE_JOBS)
    back = db.session.execute(text("SELECT id, status, pdf FROM card_job ORDER BY id")).all()
    assert [(b.id, b.status, bytes(b.pdf) if b.pdf else None) for b in back] == [
        (4, "done", b"%PDF-4"),
        (7, "queued", None),
        (8, "queued", None),
    ]


#: The revision before a person's household and scheme became one foreign key.
BEFORE_ONE_KEY = "c4e8a2d6f1b3"


def _triggers() -> set[tuple[str, str]]:
    """The database's own triggers (not those of its constraints), each with its definition."""
    if db.engine.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
    return {(name, definition) for name, definition in db.session.execute(text(query))}


def test_a_persons_household_is_of_their_scheme(migrated_app):
    """person.(household_id, scheme_id) refers to household.(id, scheme_id) (issue 17: one check a row instead of
    two): the register and the coverage totals' triggers come through down and up again (SQLite rebuilds both
    tables), and a person moved to another scheme without their household is refused."""
    from sqlalchemy.exc import IntegrityError

    from tests.factories import make_scheme
    from tests.members.helpers import enrol

    flask_migrate.upgrade()
    session = db.session
    scheme = make_scheme(session, "MUT-A")
    other = make_scheme(session, "MUT-B")
    household = enrol(session, scheme, others=2)
    persons = session.execute(text("SELECT id, household_id, scheme_id, member_no FROM person ORDER BY id")).all()
    triggers = _triggers()
    assert len(persons) == 3 and {name for name, _ in triggers} >= {"coverage_totals_person_insert"}
    session.commit()

    flask_migrate.downgrade(revision=BEFORE_ONE_KEY)
    flask_migrate.upgrade()

    assert session.execute(text("SELECT id, household_id, scheme_id, member_no FROM person ORDER BY id")).all() == (
        persons
    )
    assert _triggers() == triggers
    assert schema_differences() == []
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE person SET scheme_id = :other"), {"other": other.id})
        session.flush()
    session.rollback()
    enrol(session, other, ref="H-002", others=0)
    assert session.scalar(text("SELECT count(*) FROM person WHERE scheme_id = :other"), {"other": other.id}) == 1
    assert household.scheme_id == scheme.id


def test_the_phone_index_holds_only_the_persons_with_a_phone(migrated_app):
    """ix_person_scheme_phone_key is partial (issue 17: the empty keys of the persons without a phone cost a national
    file's COPY ≈ 2.5 s of the server's 24 s); down and up again it comes back partial; the phone search finds the
    person, and on PostgreSQL the query it sends reads that index (it says ``phone_key != ''`` itself)."""
    from sqlalchemy import event

    from mhi.members.queries import search_register
    from tests.factories import make_scheme
    from tests.members.helpers import enrol

    def definition() -> str:
        if db.engine.dialect.name == "sqlite":
            query = "SELECT sql FROM sqlite_master WHERE name = 'ix_person_scheme_phone_key'"
        else:
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_person_scheme_phone_key'"
        return " ".join(
            db.session.scalar(text(query)).replace("::text", "").replace("(", " ").replace(")", " ").split()
        )

    flask_migrate.upgrade()
    assert definition().endswith("WHERE phone_key <> ''")
    flask_migrate.downgrade(revision="f6b3d9a2c1e4")
    assert "WHERE" not in definition().upper()
    flask_migrate.upgrade()
    assert definition().endswith("WHERE phone_key <> ''")
    assert schema_differences() == []

    session = db.session
    scheme = make_scheme(session, "MUT-A")
    enrol(session, scheme, others=2)
    people = session.scalars(text("SELECT id FROM person ORDER BY id")).all()
    session.execute(
        text("UPDATE person SET phone = '+221 77 123 45 67', phone_key = '771234567' WHERE id = :id"), {"id": people[1]}
    )
    session.commit()
    sent: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "phone_key" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert [hit.person_id for hit in search_register(session, scheme.id, "77 123 45 67").items] == [people[1]]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(sent) == 1
    if db.engine.dialect.name == "postgresql":
        # Prepared and planned without the phone's value, as a statement the driver prepares after a few runs is:
        # the planner cannot then prove ``phone_key <> ''`` from ``phone_key = $2``, only from the query's words.
        statement, parameters = sent[0]
        names: list[str] = []

        def numbered(match) -> str:
            names.append(match.group(1))
            return f"${len(names)}"

        connection = session.connection()
        connection.exec_driver_sql("PREPARE phone_search AS " + re.sub(r"%\((\w+)\)s", numbered, statement))
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        values = [parameters[name] for name in names]
        arguments = ", ".join(str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'" for v in values)
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN EXECUTE phone_search({arguments})"))
        assert "ix_person_scheme_phone_key" in plan, plan
        connection.exec_driver_sql("DEALLOCATE phone_search")


#: The revision before a household's product and derived rows became one foreign key each.
BEFORE_HOUSEHOLD_KEYS = "b2e7c4a9d153"


def test_a_households_product_and_derived_rows_are_of_its_scheme(migrated_app):
    """household.(product_id, scheme_id) refers to product.(id, scheme_id); report_household and coverage_span refer
    to household.(id, scheme_id) (issue 17: one check a row instead of two). The rows and the totals' triggers come
    through down and up again (SQLite rebuilds the tables); a household given another scheme's product, and a
    stored ledger or span given another scheme than its household's, are refused."""
    from sqlalchemy.exc import IntegrityError

    from tests.factories import make_scheme
    from tests.members.helpers import enrol

    flask_migrate.upgrade()
    session = db.session
    scheme = make_scheme(session, "MUT-A")
    other = make_scheme(session, "MUT-B")
    household = enrol(session, scheme, others=1)
    session.execute(
        text("INSERT INTO coverage_span (scheme_id, household_id, start) VALUES (:s, :h, '2025-02-01')"),
        {"s": scheme.id, "h": household.id},
    )
    session.commit()
    tables = ("household", "report_household", "coverage_span")
    before = {table: session.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all() for table in tables}
    assert all(before.values())
    triggers = _triggers()
    session.rollback()  # the migration's connection alters these tables: this one holds no lock on them

    flask_migrate.downgrade(revision=BEFORE_HOUSEHOLD_KEYS)
    flask_migrate.upgrade()

    assert {table: session.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all() for table in tables} == before
    assert _triggers() == triggers
    assert schema_differences() == []
    other_product = session.scalar(text("SELECT id FROM product WHERE scheme_id = :o"), {"o": other.id})
    for statement in (
        "UPDATE household SET product_id = :other_product",
        "UPDATE household SET scheme_id = :other",
        "UPDATE report_household SET scheme_id = :other",
        "UPDATE coverage_span SET scheme_id = :other",
    ):
        with pytest.raises(IntegrityError):
            session.execute(text(statement), {"other": other.id, "other_product": other_product})
            session.flush()
        session.rollback()
    enrol(session, other, ref="H-002", others=0)
    assert session.scalar(text("SELECT count(*) FROM household WHERE scheme_id = :other"), {"other": other.id}) == 1
