"""period totals: per-scheme totals of the stored periods, kept by triggers, for the earned sums of reports

``report_period_total`` (mhi/contributions/period_totals.py, docs/scale.md issue 17) and the triggers on
``report_period`` that keep it current (statement-level with transition tables on PostgreSQL, row-level on
SQLite), then filled from the existing periods. The statements are a frozen copy of ``TRIGGER_SQL`` and
``rebuild_sql`` as of this revision.

Revision ID: b5e1d8c3f720
Revises: a7c3e9f1b2d4
Create Date: 2026-12-06 03:40:00

"""

import sqlalchemy as sa
from alembic import op

import mhi.core.db

# revision identifiers, used by Alembic.
revision = "b5e1d8c3f720"
down_revision = "a7c3e9f1b2d4"
branch_labels = None
depends_on = None

TRIGGERS = {
    "postgresql": (
        'CREATE OR REPLACE FUNCTION report_period_totals_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT k1, k2, k3, k4, max(k5), sum(n), sum(g), sum(d) FROM (SELECT p.scheme_id, p.start, p."end", COALESCE((CAST(extract(year FROM p.paid_on) AS integer) * 12 + CAST(extract(month FROM p.paid_on) AS integer) - 1), 0), p.days, 1 AS n, p.gross AS g, p.member_due AS d FROM new_rows p) AS r(k1, k2, k3, k4, k5, n, g, d) GROUP BY k1, k2, k3, k4 HAVING sum(n) <> 0 OR sum(g) <> 0 OR sum(d) <> 0 ORDER BY k1, k2, k3, k4 ON CONFLICT (scheme_id, start, "end", paid_month) DO UPDATE SET periods = report_period_total.periods + excluded.periods, gross = report_period_total.gross + excluded.gross, member_due = report_period_total.member_due + excluded.member_due; RETURN NULL; END $$',
        "CREATE TRIGGER report_period_totals_insert AFTER INSERT ON report_period REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_period_totals_insert()",
        'CREATE OR REPLACE FUNCTION report_period_totals_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT k1, k2, k3, k4, max(k5), sum(n), sum(g), sum(d) FROM (SELECT p.scheme_id, p.start, p."end", COALESCE((CAST(extract(year FROM p.paid_on) AS integer) * 12 + CAST(extract(month FROM p.paid_on) AS integer) - 1), 0), p.days, -1 AS n, -p.gross AS g, -p.member_due AS d FROM old_rows p UNION ALL SELECT p.scheme_id, p.start, p."end", COALESCE((CAST(extract(year FROM p.paid_on) AS integer) * 12 + CAST(extract(month FROM p.paid_on) AS integer) - 1), 0), p.days, 1 AS n, p.gross AS g, p.member_due AS d FROM new_rows p) AS r(k1, k2, k3, k4, k5, n, g, d) GROUP BY k1, k2, k3, k4 HAVING sum(n) <> 0 OR sum(g) <> 0 OR sum(d) <> 0 ORDER BY k1, k2, k3, k4 ON CONFLICT (scheme_id, start, "end", paid_month) DO UPDATE SET periods = report_period_total.periods + excluded.periods, gross = report_period_total.gross + excluded.gross, member_due = report_period_total.member_due + excluded.member_due; RETURN NULL; END $$',
        "CREATE TRIGGER report_period_totals_update AFTER UPDATE ON report_period REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_period_totals_update()",
        'CREATE OR REPLACE FUNCTION report_period_totals_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT k1, k2, k3, k4, max(k5), sum(n), sum(g), sum(d) FROM (SELECT p.scheme_id, p.start, p."end", COALESCE((CAST(extract(year FROM p.paid_on) AS integer) * 12 + CAST(extract(month FROM p.paid_on) AS integer) - 1), 0), p.days, -1 AS n, -p.gross AS g, -p.member_due AS d FROM old_rows p) AS r(k1, k2, k3, k4, k5, n, g, d) GROUP BY k1, k2, k3, k4 HAVING sum(n) <> 0 OR sum(g) <> 0 OR sum(d) <> 0 ORDER BY k1, k2, k3, k4 ON CONFLICT (scheme_id, start, "end", paid_month) DO UPDATE SET periods = report_period_total.periods + excluded.periods, gross = report_period_total.gross + excluded.gross, member_due = report_period_total.member_due + excluded.member_due; RETURN NULL; END $$',
        "CREATE TRIGGER report_period_totals_delete AFTER DELETE ON report_period REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_period_totals_delete()",
    ),
    "sqlite": (
        'CREATE TRIGGER report_period_totals_insert AFTER INSERT ON report_period BEGIN INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT NEW.scheme_id, NEW.start, NEW."end", COALESCE((CAST(substr(NEW.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.paid_on, 6, 2) AS INTEGER) - 1), 0), NEW.days, 1, NEW.gross, NEW.member_due WHERE true ON CONFLICT (scheme_id, start, "end", paid_month) DO UPDATE SET periods = report_period_total.periods + excluded.periods, gross = report_period_total.gross + excluded.gross, member_due = report_period_total.member_due + excluded.member_due; END',
        'CREATE TRIGGER report_period_totals_update AFTER UPDATE OF scheme_id, start, "end", days, gross, member_due, paid_on ON report_period BEGIN INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT OLD.scheme_id, OLD.start, OLD."end", COALESCE((CAST(substr(OLD.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.paid_on, 6, 2) AS INTEGER) - 1), 0), OLD.days, -1, -OLD.gross, -OLD.member_due WHERE true ON CONFLICT (scheme_id, start, "end", paid_month) DO UPDATE SET periods = report_period_total.periods + excluded.periods, gross = report_period_total.gross + excluded.gross, member_due = report_period_total.member_due + excluded.member_due; INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT NEW.scheme_id, NEW.start, NEW."end", COALESCE((CAST(substr(NEW.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.paid_on, 6, 2) AS INTEGER) - 1), 0), NEW.days, 1, NEW.gross, NEW.member_due WHERE true ON CONFLICT (scheme_id, start, "end", paid_month) DO UPDATE SET periods = report_period_total.periods + excluded.periods, gross = report_period_total.gross + excluded.gross, member_due = report_period_total.member_due + excluded.member_due; END',
        'CREATE TRIGGER report_period_totals_delete AFTER DELETE ON report_period BEGIN INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT OLD.scheme_id, OLD.start, OLD."end", COALESCE((CAST(substr(OLD.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.paid_on, 6, 2) AS INTEGER) - 1), 0), OLD.days, -1, -OLD.gross, -OLD.member_due WHERE true ON CONFLICT (scheme_id, start, "end", paid_month) DO UPDATE SET periods = report_period_total.periods + excluded.periods, gross = report_period_total.gross + excluded.gross, member_due = report_period_total.member_due + excluded.member_due; END',
    ),
}

DROP_TRIGGERS = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS report_period_totals_insert ON report_period",
        "DROP FUNCTION IF EXISTS report_period_totals_insert()",
        "DROP TRIGGER IF EXISTS report_period_totals_update ON report_period",
        "DROP FUNCTION IF EXISTS report_period_totals_update()",
        "DROP TRIGGER IF EXISTS report_period_totals_delete ON report_period",
        "DROP FUNCTION IF EXISTS report_period_totals_delete()",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS report_period_totals_insert",
        "DROP TRIGGER IF EXISTS report_period_totals_update",
        "DROP TRIGGER IF EXISTS report_period_totals_delete",
    ),
}

FILL = {
    "postgresql": (
        'INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT scheme_id, start, "end", COALESCE((CAST(extract(year FROM paid_on) AS integer) * 12 + CAST(extract(month FROM paid_on) AS integer) - 1), 0), days, count(*), sum(gross), sum(member_due) FROM report_period GROUP BY 1, 2, 3, 4, 5',
    ),
    "sqlite": (
        'INSERT INTO report_period_total (scheme_id, start, "end", paid_month, days, periods, gross, member_due) SELECT scheme_id, start, "end", COALESCE((CAST(substr(paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(paid_on, 6, 2) AS INTEGER) - 1), 0), days, count(*), sum(gross), sum(member_due) FROM report_period GROUP BY 1, 2, 3, 4, 5',
    ),
}


def upgrade():
    op.create_table(
        "report_period_total",
        sa.Column("scheme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("paid_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("periods", sa.BigInteger(), nullable=False),
        sa.Column("gross", mhi.core.db.Money(), nullable=False),
        sa.Column("member_due", mhi.core.db.Money(), nullable=False),
        sa.PrimaryKeyConstraint("scheme_id", "start", "end", "paid_month", name=op.f("pk_report_period_total")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("LOCK TABLE report_period IN SHARE MODE")  # no period written between the fill and the triggers
    for statement in FILL[dialect]:
        op.execute(statement)
    for statement in TRIGGERS[dialect]:
        op.execute(statement)


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("report_period_total")
