"""Guarantee-pool screens (pooling.md): the federation's settlements, a settlement with every number per scheme
and the claims that reached the excess-of-loss layer (reference and amount, never a diagnosis or a name), its
PDF, JSON and CSV; drafts and closing by POST buttons; the stress test with its distributions alone and pooled.

Permission ``pool.run`` (a federation reviewer, or an administrator); another federation's pages answer 404.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mhi.core import clock, sheets
from mhi.core.access import permission_required
from mhi.core.confirm import confirmation_page, confirmed
from mhi.core.db import db
from mhi.core.errors import say
from mhi.core.web import current_scheme_locale
from mhi.pooling import accounts as pool_accounts
from mhi.pooling import pdf, services
from mhi.pooling.forms import SettlementForm, StressForm
from mhi.pooling.models import PoolSettlement
from mhi.reports import charts
from mhi.reports.views import requested_period
from mhi.schemes.access import federation_or_404, scheme_or_404

bp = Blueprint("pooling", __name__)


def _country(federation) -> str | None:
    """The country of the federation's schemes, for formatting amounts (they share a currency)."""
    return next((scheme.country for scheme in federation.schemes), None)


def _settlement_or_404(federation, settlement_id: int) -> PoolSettlement:
    """A settlement of this federation, or 404."""
    settlement = db.session.scalar(
        select(PoolSettlement).where(PoolSettlement.id == settlement_id, PoolSettlement.federation_id == federation.id)
    )
    if settlement is None:
        abort(404)
    return settlement


def _last_year() -> tuple[date, date]:
    """The last full calendar year: the usual settlement period."""
    year = clock.today().year - 1
    return date(year, 1, 1), date(year, 12, 31)


@bp.route("/federations/<federation_code>/pool", methods=["GET", "POST"])
@permission_required("pool.run")
def index(federation_code: str):
    """The federation's settlements, and a form to run a draft for a period."""
    federation = federation_or_404(federation_code)
    form = SettlementForm()
    if request.method == "GET":
        form.date_from.data, form.date_to.data = _last_year()
    if form.validate_on_submit():
        try:
            settlement = services.settle_pool(
                db.session, federation, form.date_from.data, form.date_to.data, actor=current_user
            )
        except services.PoolError as exc:
            db.session.rollback()
            form.date_from.errors.append(say(exc))
        else:
            db.session.commit()
            if settlement.status == "closed":
                flash(_("This period is closed: these are the figures it was closed with."), "info")
            else:
                flash(_("Draft settlement computed."), "success")
            return redirect(url_for("pooling.detail", federation_code=federation.code, settlement_id=settlement.id))
    return render_template(
        "pooling/index.html",
        federation=federation,
        form=form,
        settlements=services.settlements_of(db.session, federation),
        rules=federation.pool_rules,
    )


@bp.get("/federations/<federation_code>/pool/<int:settlement_id>")
@permission_required("pool.run")
def detail(federation_code: str, settlement_id: int):
    """One settlement: the pool's figures, every number per scheme, the claims behind the excess-of-loss claims."""
    federation = federation_or_404(federation_code)
    settlement = _settlement_or_404(federation, settlement_id)
    return render_template(
        "pooling/detail.html",
        federation=federation,
        settlement=settlement,
        document=settlement.result,
        triggering=settlement.result.get(services.TRIGGERING) or [],
        country=_country(federation),
    )


@bp.post("/federations/<federation_code>/pool/<int:settlement_id>/recompute")
@permission_required("pool.run")
def recompute(federation_code: str, settlement_id: int):
    """Recompute a draft from the schemes' current figures."""
    federation = federation_or_404(federation_code)
    settlement = _settlement_or_404(federation, settlement_id)
    try:
        settlement = services.settle_pool(
            db.session, federation, settlement.period_from, settlement.period_to, actor=current_user
        )
    except services.PoolError as exc:
        db.session.rollback()
        flash(say(exc), "error")
    else:
        db.session.commit()
        flash(_("Draft settlement recomputed."), "success")
    return redirect(url_for("pooling.detail", federation_code=federation.code, settlement_id=settlement.id))


@bp.post("/federations/<federation_code>/pool/<int:settlement_id>/close")
@permission_required("pool.run")
def close(federation_code: str, settlement_id: int):
    """Close a draft: recomputed one last time, then kept as it is; it opens the next period. Asks first."""
    federation = federation_or_404(federation_code)
    settlement = _settlement_or_404(federation, settlement_id)
    if not confirmed():
        return confirmation_page(
            title=_("Close the settlement of %(start)s to %(end)s", start=settlement.period_from.isoformat(),
                    end=settlement.period_to.isoformat()),
            what=_("The settlement is recomputed one last time from the schemes' current figures, then closed."),
            irreversible=_("A closed settlement is kept as it is: its figures no longer follow later corrections "
                           "of the schemes' records, and its closing balance opens the next period. A correction "
                           "found later goes into a later period."),
            button=_("Close the settlement"),
            back_url=url_for("pooling.detail", federation_code=federation.code, settlement_id=settlement.id),
        )  # fmt: skip
    try:
        settlement = services.settle_pool(
            db.session, federation, settlement.period_from, settlement.period_to, close=True, actor=current_user
        )
    except services.PoolError as exc:
        db.session.rollback()
        flash(say(exc), "error")
    else:
        db.session.commit()
        flash(_("Settlement closed."), "success")
    return redirect(url_for("pooling.detail", federation_code=federation.code, settlement_id=settlement.id))


@bp.get("/federations/<federation_code>/pool/<int:settlement_id>.json")
@permission_required("pool.run")
def detail_json(federation_code: str, settlement_id: int):
    """pooling.md's JSON of the settlement, exactly."""
    federation = federation_or_404(federation_code)
    return jsonify(services.settlement_json(_settlement_or_404(federation, settlement_id)))


@bp.get("/federations/<federation_code>/pool/<int:settlement_id>.<any(csv, xlsx):fmt>")
@permission_required("pool.run")
def detail_table(federation_code: str, settlement_id: int, fmt: str):
    """The settlement's table per scheme as CSV or XLSX."""
    federation = federation_or_404(federation_code)
    settlement = _settlement_or_404(federation, settlement_id)
    stem = f"{federation.code}-pool-{settlement.period_from}-{settlement.period_to}"
    country = next((s.country for s in federation.schemes), None)
    table = services.settlement_table(services.settlement_json(settlement))
    return sheets.download(table, fmt, stem, current_scheme_locale(country))


@bp.get("/federations/<federation_code>/pool/<int:settlement_id>.pdf")
@permission_required("pool.run")
def detail_pdf(federation_code: str, settlement_id: int):
    """The settlement report, printed."""
    federation = federation_or_404(federation_code)
    settlement = _settlement_or_404(federation, settlement_id)
    data = pdf.settlement_pdf(settlement, federation, locale=current_scheme_locale(_country(federation)))
    name = f"{federation.code}-pool-{settlement.period_from}-{settlement.period_to}.pdf"
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@bp.get("/schemes/<code>/accounts")
@permission_required("figures.read")
def scheme_accounts(code: str):
    """The scheme's statement of accounts for a period: its own result, then the pool's flows and the result
    after pooling."""
    scheme = scheme_or_404(code)
    period = requested_period()
    accounts = pool_accounts.scheme_accounts(db.session, scheme, period.start, period.end)
    return render_template("pooling/accounts.html", scheme=scheme, period=period, accounts=accounts)


@bp.get("/federations/<federation_code>/pool/statement")
@permission_required("pool.run")
def pool_statement(federation_code: str):
    """The pool's own account for a period: balance, what each scheme paid in and received."""
    federation = federation_or_404(federation_code)
    period = requested_period()
    statement = pool_accounts.federation_pool_statement(db.session, federation, period.start, period.end)
    return render_template(
        "pooling/statement.html", federation=federation, period=period, statement=statement,
        country=_country(federation),
    )  # fmt: skip


@bp.get("/federations/<federation_code>/pool/stress")
@permission_required("pool.run")
def stress(federation_code: str):
    """The stress test: ruin and the year's result alone and inside the pool, and the smallest safe rate."""
    federation = federation_or_404(federation_code)
    form = StressForm(request.args)
    if not request.args:
        form.date_from.data, form.date_to.data = _last_year()
    report = error = None
    distributions = []
    if request.args and form.validate():
        try:
            report = services.run_stress(
                db.session,
                federation,
                form.date_from.data,
                form.date_to.data,
                years=form.years.data,
                target=float(form.target.data),
            )
        except (services.PoolError, ValueError) as exc:
            error = say(exc)
        else:
            distributions = [
                (
                    line.code,
                    charts.distribution_chart(
                        [float(e) for e in line.histogram.edges],
                        [int(c) for c in line.histogram.alone],
                        [int(c) for c in line.histogram.pooled],
                    ),
                )
                for line in report.schemes
            ]
    return render_template(
        "pooling/stress.html",
        federation=federation,
        form=form,
        report=report,
        error=error,
        distributions=distributions,
        country=_country(federation),
    )


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
