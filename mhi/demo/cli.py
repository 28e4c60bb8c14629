"""``flask --app mhi demo``: fill an empty database with the demo federation and print how to sign in.

Everything goes through the same loaders and importers as real files (claims are decided by the rules as they
are imported), in one transaction: a failure leaves the database empty.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

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
from mhi.demo.generator import STUDY_SCHEME, demo_study, generate, subsidy_receipt_rows
from mhi.feasibility.services import save_study
from mhi.schemes.imports import import_expenses
from mhi.schemes.models import Federation, Product, ProductVersion, Provider, Scheme
from mhi.schemes.services import load_federation, load_scheme
from mhi.subsidies.imports import import_subsidy_receipts
from mhi.subsidies.queries import programme_statement

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


def _import(session, scheme, kind: str, importer, rows: list[dict]) -> None:
    """One demo file through its importer, as a real file would go; a problem stops the demo. An empty file (a
    tiny demo whose funders owe nothing yet) is not imported."""
    if not rows:
        return
    header, table = _table(rows)
    result = importer(session, scheme, header, table, dry_run=False, actor=None, file=f"demo {kind}")
    if not result.ok:
        raise InputRejected(result.problems)


def quarterly_dues(session, scheme: Scheme, today: date) -> dict[tuple[str, date], Decimal]:
    """What each programme owes per quarter since the scheme opened (the funders' statement: the indicators'
    ``subsidies_due``, programme by programme), keyed by (programme code, quarter start)."""
    statements = programme_statement(session, scheme, scheme.opening_date, today - timedelta(days=1), period="quarter")
    return {(statement.code, line.start): line.due for statement in statements for line in statement.lines}


def _attach_study(session, scheme: Scheme, today: date) -> None:
    """The scheme's BASE package was decided on a feasibility study (run a little after the scheme opened): its
    version carries it, so the product's experience is compared with the study's assumptions."""
    now = datetime.combine(today, time(9)) - timedelta(days=30)
    study = save_study(session, demo_study(), scheme=scheme, federation_id=None, actor=None, now=now)
    version = session.scalar(
        select(ProductVersion)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(Product.scheme_id == scheme.id, Product.code == "BASE")
    )
    version.study_id = study.id
    session.flush()


def load_demo(session, today: date, households_per_scheme: int = 60) -> list[tuple[str, str, str]]:
    """Load the demo into ``session`` (flushed, not committed); return the logins (e-mail, role, scope)."""
    federation_data, schemes = generate(today, households_per_scheme)
    load_federation(session, federation_data, today=today)
    federation = session.scalar(select(Federation).where(Federation.code == federation_data["code"]))
    for demo in schemes:
        load_scheme(session, demo.setup, today=today)
        scheme = session.scalar(select(Scheme).where(Scheme.code == demo.setup["code"]))
        _import(session, scheme, "members", import_register, demo.members)
        _import(session, scheme, "contributions", import_contributions, demo.contributions)
        # The funders pay what their programmes owe, quarter by quarter: known once the register and the receipts
        # (which set strike-off dates, after which nothing is due) are in.
        rows = subsidy_receipt_rows(demo, quarterly_dues(session, scheme, today))
        _import(session, scheme, "subsidy receipts", import_subsidy_receipts, rows)
        _import(session, scheme, "claims", import_claims, demo.claims)
        _import(session, scheme, "expenses", import_expenses, demo.expenses)
        if scheme.code == STUDY_SCHEME:
            _attach_study(session, scheme, today)
        _meetings(session, scheme, today)
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


def _meetings(session, scheme, today: date) -> None:
    """The scheme's last general assembly and a board meeting (C102 art. 72), so that version activation, the
    register and the statement's decisions have something to show."""
    from mhi.governance.services import Vote, record_meeting
    from mhi.members.models import Household

    households = session.scalar(select(func.count()).select_from(Household).where(Household.scheme_id == scheme.id))
    entitled = max(households or 0, 10)
    present = entitled * 3 // 5
    record_meeting(
        session,
        scheme,
        kind="general_assembly",
        held_on=today - timedelta(days=40),
        members_entitled=entitled,
        attendance=present,
        place="Maison communautaire",
        votes=[
            Vote("Les comptes de l'exercice écoulé et le rapport moral sont approuvés.", present - 3, 1, 2),
            Vote("La cotisation et les garanties du paquet de base sont maintenues pour l'année.", present - 2, 1, 1),
            Vote("Le bureau est ouvert le samedi matin.", 1, present - 2, 1),
        ],
        today=today,
        actor=None,
    )
    record_meeting(
        session,
        scheme,
        kind="board",
        held_on=today - timedelta(days=10),
        members_entitled=9,
        attendance=7,
        votes=[Vote("La campagne de renouvellement commence le mois prochain.", 7, 0, 0)],
        today=today,
        actor=None,
    )


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
