"""``pool settle --federation CODE --from D --to D [--close] [--format json]`` (cli.md, pooling.md).

A draft unless ``--close``. With ``--format json`` stdout carries pooling.md's JSON exactly; otherwise a readable
table. A federation without a pool, mixed currencies, closing twice or over a closed period: exit 1.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from mhi.core.cli import Rejected, emit_json, info, pool_group
from mhi.core.db import db
from mhi.pooling import services
from mhi.reports.cli import ISO_DATE, check_period

_SCHEME_COLUMNS = (
    "contributions_earned",
    "claims_incurred",
    "pool_contribution",
    "excess_of_loss_claim",
    "retained_claims",
    "stop_loss_claim",
    "excess_of_loss_paid",
    "stop_loss_paid",
    "paid",
    "net_effect",
)


def settlement_text(document: dict, status: str) -> str:
    """A readable table of a settlement: the pool's lines, then one column per scheme."""
    period = document["period"]
    lines = [
        f"Pool of {document['federation']} ({document['currency']}), {period['from']} to {period['to']}: {status}",
        "",
    ]
    for key in ("opening_balance", "contributions", "available", "paid", "closing_balance"):
        lines.append(f"  {key:<22} {document[key]:>14}")
    codes = list(document["schemes"])
    width = max([14, *(len(code) for code in codes)]) + 2
    lines += ["", f"  {'':<22}" + "".join(f"{code:>{width}}" for code in codes)]
    for key in _SCHEME_COLUMNS:
        lines.append(f"  {key:<22}" + "".join(f"{document['schemes'][code][key]:>{width}}" for code in codes))
    triggering = document.get(services.TRIGGERING) or []
    if triggering:
        lines += ["", "  claims reaching the excess-of-loss layer:"]
        for claim in triggering:
            lines.append(
                f"  {claim['scheme']:<14} {claim['claim_ref']:<24} {claim['amount_approved']:>12} "
                f"{claim['excess_of_loss']:>12}"
            )
    return "\n".join(lines) + "\n"


@pool_group.command("settle")
@click.option("--federation", "federation_code", required=True, help="federation code")
@click.option("--from", "date_from", required=True, type=ISO_DATE, help="first day (YYYY-MM-DD)")
@click.option("--to", "date_to", required=True, type=ISO_DATE, help="last day (YYYY-MM-DD)")
@click.option("--close", is_flag=True, help="close the settlement: it is then kept as is and opens the next period")
@click.option("--format", "fmt", type=click.Choice(["json"]), default=None)
def settle_command(federation_code, date_from, date_to, close, fmt):
    """Settle the federation's guarantee pool for a period (pooling.md)."""
    from mhi.schemes.models import Federation

    check_period(date_from, date_to)
    federation = db.session.scalar(select(Federation).where(Federation.code == federation_code))
    if federation is None:
        raise Rejected(f"no federation {federation_code}")
    try:
        settlement = services.settle_pool(db.session, federation, date_from, date_to, close=close)
    except services.PoolError as exc:
        db.session.rollback()
        raise Rejected(str(exc)) from exc
    db.session.commit()
    if settlement.status == "closed" and not close:
        info("this period's settlement is closed: showing the figures it was closed with")
    else:
        info(f"settlement {settlement.status}: {date_from.isoformat()} to {date_to.isoformat()}")
    if fmt == "json":
        emit_json(services.settlement_json(settlement))
    else:
        click.echo(settlement_text(settlement.result, settlement.status), nl=False)


def init_app(app) -> None:
    """Commands are registered on the shared ``pool`` group at import; nothing else to do."""
