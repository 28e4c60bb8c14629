"""claim totals: per-scheme month totals of claims kept by triggers, so month-aligned reports read a few rows

``claim_month_total`` and ``claim_delay_total`` (mhi/claims/totals.py, docs/scale.md issue 17) and the triggers
on ``claim`` that keep them current (statement-level with transition tables on PostgreSQL, row-level on SQLite),
then filled from the existing claims. The statements are a frozen copy of ``TRIGGER_SQL`` and ``rebuild_sql``
as of this revision.

Revision ID: a7c3e9f1b2d4
Revises: e7d2b5c1a904
Create Date: 2026-12-06 01:20:00

"""

import sqlalchemy as sa
from alembic import op

import mhi.core.db

# revision identifiers, used by Alembic.
revision = "a7c3e9f1b2d4"
down_revision = "e7d2b5c1a904"
branch_labels = None
depends_on = None

TRIGGERS = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION claim_totals_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT k1, k2, k3, k4, k5, k6, sum(n), sum(a) FROM (SELECT c.scheme_id, c.benefit_code, c.status, (CAST(extract(year FROM c.date_of_service) AS integer) * 12 + CAST(extract(month FROM c.date_of_service) AS integer) - 1), (CAST(extract(year FROM c.date_submitted) AS integer) * 12 + CAST(extract(month FROM c.date_submitted) AS integer) - 1), COALESCE((CAST(extract(year FROM c.paid_on) AS integer) * 12 + CAST(extract(month FROM c.paid_on) AS integer) - 1), 0), 1 AS n, c.amount_approved AS a FROM new_rows c) AS r(k1, k2, k3, k4, k5, k6, n, a) GROUP BY k1, k2, k3, k4, k5, k6 HAVING sum(n) <> 0 OR sum(a) <> 0 ORDER BY k1, k2, k3, k4, k5, k6 ON CONFLICT (scheme_id, benefit_code, status, service_month, submitted_month, paid_month) DO UPDATE SET claims = claim_month_total.claims + excluded.claims, amount = claim_month_total.amount + excluded.amount; INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT k1, k2, k3, sum(n) FROM (SELECT c.scheme_id, (CAST(extract(year FROM c.paid_on) AS integer) * 12 + CAST(extract(month FROM c.paid_on) AS integer) - 1), (c.paid_on - c.date_submitted), 1 AS n FROM new_rows c WHERE c.status IN ('APPROVED','REDUCED') AND c.paid_on IS NOT NULL) AS r(k1, k2, k3, n) GROUP BY k1, k2, k3 HAVING sum(n) <> 0 ORDER BY k1, k2, k3 ON CONFLICT (scheme_id, paid_month, delay_days) DO UPDATE SET claims = claim_delay_total.claims + excluded.claims; RETURN NULL; END $$",
        "CREATE TRIGGER claim_totals_insert AFTER INSERT ON claim REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION claim_totals_insert()",
        "CREATE OR REPLACE FUNCTION claim_totals_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT k1, k2, k3, k4, k5, k6, sum(n), sum(a) FROM (SELECT c.scheme_id, c.benefit_code, c.status, (CAST(extract(year FROM c.date_of_service) AS integer) * 12 + CAST(extract(month FROM c.date_of_service) AS integer) - 1), (CAST(extract(year FROM c.date_submitted) AS integer) * 12 + CAST(extract(month FROM c.date_submitted) AS integer) - 1), COALESCE((CAST(extract(year FROM c.paid_on) AS integer) * 12 + CAST(extract(month FROM c.paid_on) AS integer) - 1), 0), -1 AS n, -c.amount_approved AS a FROM old_rows c UNION ALL SELECT c.scheme_id, c.benefit_code, c.status, (CAST(extract(year FROM c.date_of_service) AS integer) * 12 + CAST(extract(month FROM c.date_of_service) AS integer) - 1), (CAST(extract(year FROM c.date_submitted) AS integer) * 12 + CAST(extract(month FROM c.date_submitted) AS integer) - 1), COALESCE((CAST(extract(year FROM c.paid_on) AS integer) * 12 + CAST(extract(month FROM c.paid_on) AS integer) - 1), 0), 1 AS n, c.amount_approved AS a FROM new_rows c) AS r(k1, k2, k3, k4, k5, k6, n, a) GROUP BY k1, k2, k3, k4, k5, k6 HAVING sum(n) <> 0 OR sum(a) <> 0 ORDER BY k1, k2, k3, k4, k5, k6 ON CONFLICT (scheme_id, benefit_code, status, service_month, submitted_month, paid_month) DO UPDATE SET claims = claim_month_total.claims + excluded.claims, amount = claim_month_total.amount + excluded.amount; INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT k1, k2, k3, sum(n) FROM (SELECT c.scheme_id, (CAST(extract(year FROM c.paid_on) AS integer) * 12 + CAST(extract(month FROM c.paid_on) AS integer) - 1), (c.paid_on - c.date_submitted), -1 AS n FROM old_rows c WHERE c.status IN ('APPROVED','REDUCED') AND c.paid_on IS NOT NULL UNION ALL SELECT c.scheme_id, (CAST(extract(year FROM c.paid_on) AS integer) * 12 + CAST(extract(month FROM c.paid_on) AS integer) - 1), (c.paid_on - c.date_submitted), 1 AS n FROM new_rows c WHERE c.status IN ('APPROVED','REDUCED') AND c.paid_on IS NOT NULL) AS r(k1, k2, k3, n) GROUP BY k1, k2, k3 HAVING sum(n) <> 0 ORDER BY k1, k2, k3 ON CONFLICT (scheme_id, paid_month, delay_days) DO UPDATE SET claims = claim_delay_total.claims + excluded.claims; RETURN NULL; END $$",
        "CREATE TRIGGER claim_totals_update AFTER UPDATE ON claim REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION claim_totals_update()",
        "CREATE OR REPLACE FUNCTION claim_totals_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT k1, k2, k3, k4, k5, k6, sum(n), sum(a) FROM (SELECT c.scheme_id, c.benefit_code, c.status, (CAST(extract(year FROM c.date_of_service) AS integer) * 12 + CAST(extract(month FROM c.date_of_service) AS integer) - 1), (CAST(extract(year FROM c.date_submitted) AS integer) * 12 + CAST(extract(month FROM c.date_submitted) AS integer) - 1), COALESCE((CAST(extract(year FROM c.paid_on) AS integer) * 12 + CAST(extract(month FROM c.paid_on) AS integer) - 1), 0), -1 AS n, -c.amount_approved AS a FROM old_rows c) AS r(k1, k2, k3, k4, k5, k6, n, a) GROUP BY k1, k2, k3, k4, k5, k6 HAVING sum(n) <> 0 OR sum(a) <> 0 ORDER BY k1, k2, k3, k4, k5, k6 ON CONFLICT (scheme_id, benefit_code, status, service_month, submitted_month, paid_month) DO UPDATE SET claims = claim_month_total.claims + excluded.claims, amount = claim_month_total.amount + excluded.amount; INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT k1, k2, k3, sum(n) FROM (SELECT c.scheme_id, (CAST(extract(year FROM c.paid_on) AS integer) * 12 + CAST(extract(month FROM c.paid_on) AS integer) - 1), (c.paid_on - c.date_submitted), -1 AS n FROM old_rows c WHERE c.status IN ('APPROVED','REDUCED') AND c.paid_on IS NOT NULL) AS r(k1, k2, k3, n) GROUP BY k1, k2, k3 HAVING sum(n) <> 0 ORDER BY k1, k2, k3 ON CONFLICT (scheme_id, paid_month, delay_days) DO UPDATE SET claims = claim_delay_total.claims + excluded.claims; RETURN NULL; END $$",
        "CREATE TRIGGER claim_totals_delete AFTER DELETE ON claim REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION claim_totals_delete()",
    ),
    "sqlite": (
        "CREATE TRIGGER claim_totals_insert AFTER INSERT ON claim BEGIN INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT NEW.scheme_id, NEW.benefit_code, NEW.status, (CAST(substr(NEW.date_of_service, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.date_of_service, 6, 2) AS INTEGER) - 1), (CAST(substr(NEW.date_submitted, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.date_submitted, 6, 2) AS INTEGER) - 1), COALESCE((CAST(substr(NEW.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.paid_on, 6, 2) AS INTEGER) - 1), 0), 1, NEW.amount_approved WHERE true ON CONFLICT (scheme_id, benefit_code, status, service_month, submitted_month, paid_month) DO UPDATE SET claims = claim_month_total.claims + excluded.claims, amount = claim_month_total.amount + excluded.amount; INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT NEW.scheme_id, (CAST(substr(NEW.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.paid_on, 6, 2) AS INTEGER) - 1), CAST(julianday(NEW.paid_on) - julianday(NEW.date_submitted) AS INTEGER), 1 WHERE NEW.status IN ('APPROVED','REDUCED') AND NEW.paid_on IS NOT NULL ON CONFLICT (scheme_id, paid_month, delay_days) DO UPDATE SET claims = claim_delay_total.claims + excluded.claims; END",
        "CREATE TRIGGER claim_totals_update AFTER UPDATE OF scheme_id, benefit_code, status, amount_approved, date_of_service, date_submitted, paid_on ON claim BEGIN INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT OLD.scheme_id, OLD.benefit_code, OLD.status, (CAST(substr(OLD.date_of_service, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.date_of_service, 6, 2) AS INTEGER) - 1), (CAST(substr(OLD.date_submitted, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.date_submitted, 6, 2) AS INTEGER) - 1), COALESCE((CAST(substr(OLD.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.paid_on, 6, 2) AS INTEGER) - 1), 0), -1, -OLD.amount_approved WHERE true ON CONFLICT (scheme_id, benefit_code, status, service_month, submitted_month, paid_month) DO UPDATE SET claims = claim_month_total.claims + excluded.claims, amount = claim_month_total.amount + excluded.amount; INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT OLD.scheme_id, (CAST(substr(OLD.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.paid_on, 6, 2) AS INTEGER) - 1), CAST(julianday(OLD.paid_on) - julianday(OLD.date_submitted) AS INTEGER), -1 WHERE OLD.status IN ('APPROVED','REDUCED') AND OLD.paid_on IS NOT NULL ON CONFLICT (scheme_id, paid_month, delay_days) DO UPDATE SET claims = claim_delay_total.claims + excluded.claims; INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT NEW.scheme_id, NEW.benefit_code, NEW.status, (CAST(substr(NEW.date_of_service, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.date_of_service, 6, 2) AS INTEGER) - 1), (CAST(substr(NEW.date_submitted, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.date_submitted, 6, 2) AS INTEGER) - 1), COALESCE((CAST(substr(NEW.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.paid_on, 6, 2) AS INTEGER) - 1), 0), 1, NEW.amount_approved WHERE true ON CONFLICT (scheme_id, benefit_code, status, service_month, submitted_month, paid_month) DO UPDATE SET claims = claim_month_total.claims + excluded.claims, amount = claim_month_total.amount + excluded.amount; INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT NEW.scheme_id, (CAST(substr(NEW.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(NEW.paid_on, 6, 2) AS INTEGER) - 1), CAST(julianday(NEW.paid_on) - julianday(NEW.date_submitted) AS INTEGER), 1 WHERE NEW.status IN ('APPROVED','REDUCED') AND NEW.paid_on IS NOT NULL ON CONFLICT (scheme_id, paid_month, delay_days) DO UPDATE SET claims = claim_delay_total.claims + excluded.claims; END",
        "CREATE TRIGGER claim_totals_delete AFTER DELETE ON claim BEGIN INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT OLD.scheme_id, OLD.benefit_code, OLD.status, (CAST(substr(OLD.date_of_service, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.date_of_service, 6, 2) AS INTEGER) - 1), (CAST(substr(OLD.date_submitted, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.date_submitted, 6, 2) AS INTEGER) - 1), COALESCE((CAST(substr(OLD.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.paid_on, 6, 2) AS INTEGER) - 1), 0), -1, -OLD.amount_approved WHERE true ON CONFLICT (scheme_id, benefit_code, status, service_month, submitted_month, paid_month) DO UPDATE SET claims = claim_month_total.claims + excluded.claims, amount = claim_month_total.amount + excluded.amount; INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT OLD.scheme_id, (CAST(substr(OLD.paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(OLD.paid_on, 6, 2) AS INTEGER) - 1), CAST(julianday(OLD.paid_on) - julianday(OLD.date_submitted) AS INTEGER), -1 WHERE OLD.status IN ('APPROVED','REDUCED') AND OLD.paid_on IS NOT NULL ON CONFLICT (scheme_id, paid_month, delay_days) DO UPDATE SET claims = claim_delay_total.claims + excluded.claims; END",
    ),
}

DROP_TRIGGERS = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS claim_totals_insert ON claim",
        "DROP FUNCTION IF EXISTS claim_totals_insert()",
        "DROP TRIGGER IF EXISTS claim_totals_update ON claim",
        "DROP FUNCTION IF EXISTS claim_totals_update()",
        "DROP TRIGGER IF EXISTS claim_totals_delete ON claim",
        "DROP FUNCTION IF EXISTS claim_totals_delete()",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS claim_totals_insert",
        "DROP TRIGGER IF EXISTS claim_totals_update",
        "DROP TRIGGER IF EXISTS claim_totals_delete",
    ),
}

FILL = {
    "postgresql": (
        "INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT scheme_id, benefit_code, status, (CAST(extract(year FROM date_of_service) AS integer) * 12 + CAST(extract(month FROM date_of_service) AS integer) - 1), (CAST(extract(year FROM date_submitted) AS integer) * 12 + CAST(extract(month FROM date_submitted) AS integer) - 1), COALESCE((CAST(extract(year FROM paid_on) AS integer) * 12 + CAST(extract(month FROM paid_on) AS integer) - 1), 0), count(*), sum(amount_approved) FROM claim GROUP BY 1, 2, 3, 4, 5, 6",
        "INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT scheme_id, (CAST(extract(year FROM paid_on) AS integer) * 12 + CAST(extract(month FROM paid_on) AS integer) - 1), (paid_on - date_submitted), count(*) FROM claim WHERE status IN ('APPROVED','REDUCED') AND paid_on IS NOT NULL GROUP BY 1, 2, 3",
    ),
    "sqlite": (
        "INSERT INTO claim_month_total (scheme_id, benefit_code, status, service_month, submitted_month, paid_month, claims, amount) SELECT scheme_id, benefit_code, status, (CAST(substr(date_of_service, 1, 4) AS INTEGER) * 12 + CAST(substr(date_of_service, 6, 2) AS INTEGER) - 1), (CAST(substr(date_submitted, 1, 4) AS INTEGER) * 12 + CAST(substr(date_submitted, 6, 2) AS INTEGER) - 1), COALESCE((CAST(substr(paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(paid_on, 6, 2) AS INTEGER) - 1), 0), count(*), sum(amount_approved) FROM claim GROUP BY 1, 2, 3, 4, 5, 6",
        "INSERT INTO claim_delay_total (scheme_id, paid_month, delay_days, claims) SELECT scheme_id, (CAST(substr(paid_on, 1, 4) AS INTEGER) * 12 + CAST(substr(paid_on, 6, 2) AS INTEGER) - 1), CAST(julianday(paid_on) - julianday(date_submitted) AS INTEGER), count(*) FROM claim WHERE status IN ('APPROVED','REDUCED') AND paid_on IS NOT NULL GROUP BY 1, 2, 3",
    ),
}


def upgrade():
    op.create_table(
        "claim_month_total",
        sa.Column("scheme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("benefit_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("service_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("submitted_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("paid_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("claims", sa.BigInteger(), nullable=False),
        sa.Column("amount", mhi.core.db.Money(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scheme_id",
            "benefit_code",
            "status",
            "service_month",
            "submitted_month",
            "paid_month",
            name=op.f("pk_claim_month_total"),
        ),
    )
    op.create_table(
        "claim_delay_total",
        sa.Column("scheme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("paid_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("delay_days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("claims", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scheme_id", "paid_month", "delay_days", name=op.f("pk_claim_delay_total")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("LOCK TABLE claim IN SHARE MODE")  # no claim written between the fill and the triggers
    for statement in FILL[dialect]:
        op.execute(statement)
    for statement in TRIGGERS[dialect]:
        op.execute(statement)


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("claim_delay_total")
    op.drop_table("claim_month_total")
