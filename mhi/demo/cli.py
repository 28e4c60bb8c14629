"""``flask --app mhi demo``: fill an empty database with the demo federation and print how to sign in.

Everything goes through the same loaders and importers as real files (claims are decided by the rules as they
are imported), in one transaction: a failure leaves the database empty.
"""

from __future__ import annotations

from datetime import date

import click
from sqlalchemy import func, select

from mhi.auth.models import User
from mhi.auth.services import create_user
from mhi.claims.imports import import_claims
from mhi.contributions.imports import import_contributions, import_register
from mhi.core import clock
from mhi.core.cli import Rejected, info
from mhi.core.db import db
from mhi.core.validation import InputRejected
from mhi.demo.generator import generate
from mhi.schemes.imports import import_expenses
from mhi.schemes.models import Federation, Provider, Scheme
from mhi.schemes.services import load_federation, load_scheme
from mhi.subsidies.imports import import_subsidy_receipts

#: The demo's password for every account (printed; a demo database holds no real data).
DEMO_PASSWORD = "demo-mhi-2026"

MEMBER_COLUMNS = [
    "household_ref",
    "member_no",
    "first_name",
    "last_name",
    "sex",
    "date_of_birth",
    "relationship",
    "enrolment_date",
    "exit_date",
    "product_code",
    "category",
    "village",
    "phone",
    "national_id",
]


def _table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = list(rows[0]) if rows else []
    return header, [[row[c] for c in header] for row in rows]


def load_demo(session, today: date, households_per_scheme: int = 60) -> list[tuple[str, str, str]]:
    """Load the demo into ``session`` (flushed, not committed); return the logins (e-mail, role, scope)."""
    federation_data, schemes = generate(today, households_per_scheme)
    load_federation(session, federation_data, today=today)
    federation = session.scalar(select(Federation).where(Federation.code == federation_data["code"]))
    for demo in schemes:
        load_scheme(session, demo.setup, today=today)
        scheme = session.scalar(select(Scheme).where(Scheme.code == demo.setup["code"]))
        for kind, importer, rows in (
            ("members", import_register, demo.members),
            ("contributions", import_contributions, demo.contributions),
            ("subsidy receipts", import_subsidy_receipts, demo.subsidy_receipts),
            ("claims", import_claims, demo.claims),
            ("expenses", import_expenses, demo.expenses),
        ):
            header, table = _table(rows)
            result = importer(session, scheme, header, table, dry_run=False, actor=None, file=f"demo {kind}")
            if not result.ok:
                raise InputRejected(result.problems)
    logins = [("admin@demo.mhi", "admin", "")]
    # The demo's accounts keep their printed password: no change is asked at their first sign-in.
    create_user(
        session,
        "admin@demo.mhi",
        "admin",
        DEMO_PASSWORD,
        name="Administrateur",
        locale="fr",
        must_change_password=False,
    )
    create_user(
        session,
        "federation@demo.mhi",
        "federation_reviewer",
        DEMO_PASSWORD,
        federation=federation,
        name="Union (revue)",
        locale="fr",
        must_change_password=False,
    )
    logins.append(("federation@demo.mhi", "federation_reviewer", federation.code))
    for demo in schemes:
        scheme = session.scalar(select(Scheme).where(Scheme.code == demo.setup["code"]))
        short = scheme.code.split("-")[1].lower()
        for role in ("scheme_manager", "clerk", "claims_officer", "auditor"):
            email = f"{role.split('_')[0]}.{short}@demo.mhi"
            create_user(session, email, role, DEMO_PASSWORD, scheme=scheme, locale="fr", must_change_password=False)
            logins.append((email, role, scheme.code))
        # The health centre's desk (issue 13): bound to the scheme's health centre, CS-<code>.
        centre = session.scalar(
            select(Provider).where(Provider.scheme_id == scheme.id, Provider.code == f"CS-{scheme.code.split('-')[1]}")
        )
        if centre is not None:
            email = f"facility.{short}@demo.mhi"
            create_user(
                session, email, "facility", DEMO_PASSWORD, provider=centre, locale="fr", must_change_password=False
            )
            logins.append((email, "facility", f"{scheme.code} {centre.code}"))
    session.flush()
    return logins


@click.command("demo")
@click.option("--households", default=60, show_default=True, help="Households per scheme.")
def demo_command(households):
    """Fill an empty database with a demo federation of three mutuelles and print how to sign in."""
    session = db.session
    if session.scalar(select(func.count()).select_from(Scheme)) or session.scalar(
        select(func.count()).select_from(User)
    ):
        raise Rejected("the database is not empty: the demo is only loaded into an empty database")
    info("Loading the demo federation (three mutuelles, two years of records)…")
    try:
        logins = load_demo(session, clock.today(), households)
    except InputRejected as exc:
        session.rollback()
        raise Rejected(f"the demo could not be loaded: {exc}") from exc
    session.commit()
    click.echo(f"Demo loaded. Sign in at http://127.0.0.1:5000 with one of these (password for all: {DEMO_PASSWORD}):")
    for email, role, scope in logins:
        click.echo(f"  {email:32} {role:20} {scope}")


def init_app(app) -> None:
    """Register the top-level ``demo`` command."""
    app.cli.add_command(demo_command)
