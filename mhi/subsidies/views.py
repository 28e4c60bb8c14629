"""Subsidy pages: the funders' statement per period (due, received, owed, households covered) with the period's
subsidy receipts, recording and reversing a funder's payment, and the subsidy receipts file upload."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mhi.core.access import in_scope_or_404, permission_required, scheme_or_404
from mhi.core.db import db
from mhi.members.uploads import add_upload_routes
from mhi.members.views import day_arg
from mhi.schemes.models import SubsidyProgramme
from mhi.subsidies import queries
from mhi.subsidies.forms import ReverseForm, SubsidyReceiptForm
from mhi.subsidies.imports import import_subsidy_receipts
from mhi.subsidies.models import SubsidyReceipt
from mhi.subsidies.services import SubsidyError, record_subsidy_receipt, reverse_subsidy_receipt

bp = Blueprint("subsidies", __name__)


@bp.get("/schemes/<code>/subsidies")
@permission_required("figures.read")
def index(code: str):
    """The funders' statement over [from, to] (this year by default), by month, quarter or year."""
    scheme = scheme_or_404(code)
    date_to = day_arg("to") if request.args.get("to") else date(date.today().year, 12, 31)
    date_from = day_arg("from") if request.args.get("from") else date(date_to.year, 1, 1)
    period = request.args.get("period", "quarter")
    if period not in queries.PERIODS or date_from > date_to:
        abort(400)
    statements = queries.programme_statement(db.session, scheme, date_from, date_to, period=period)
    receipts = queries.subsidy_receipts_between(db.session, scheme.id, date_from, date_to)
    return render_template("subsidies/index.html", scheme=scheme, statements=statements, receipts=receipts, date_from=date_from, date_to=date_to, period=period)  # fmt: skip


@bp.route("/schemes/<code>/subsidies/receipts/new", methods=["GET", "POST"])
@permission_required("subsidies.write")
def receipt_new(code: str):
    """Record money received from a funder under one programme."""
    scheme = scheme_or_404(code)
    programmes = {
        p.code: p for p in db.session.scalars(select(SubsidyProgramme).where(SubsidyProgramme.scheme_id == scheme.id))
    }
    form = SubsidyReceiptForm()
    form.programme.choices = [(c, f"{c} — {p.funder}") for c, p in programmes.items()]
    if form.validate_on_submit():
        try:
            record_subsidy_receipt(
                db.session, scheme, programme=programmes[form.programme.data], reference=form.reference.data,
                date=form.date.data, amount=form.amount.data, actor=current_user,
            )  # fmt: skip
        except SubsidyError as exc:
            db.session.rollback()
            getattr(form, exc.field if exc.field in ("reference", "programme") else "amount").errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Subsidy receipt %(ref)s recorded.", ref=form.reference.data), "success")
            return redirect(url_for("subsidies.index", code=code))
    return render_template("subsidies/receipt_form.html", scheme=scheme, form=form)


@bp.route("/schemes/<code>/subsidies/receipts/<int:receipt_id>/reverse", methods=["GET", "POST"])
@permission_required("subsidies.write")
def reverse(code: str, receipt_id: int):
    """Cancel a subsidy receipt by a counter-entry, with the reason."""
    scheme = scheme_or_404(code)
    receipt = in_scope_or_404(SubsidyReceipt, receipt_id)
    if receipt.scheme_id != scheme.id:
        abort(404)
    form = ReverseForm()
    if form.validate_on_submit():
        try:
            reverse_subsidy_receipt(db.session, receipt, reason=form.reason.data, actor=current_user)
        except SubsidyError as exc:
            db.session.rollback()
            form.reason.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Subsidy receipt %(ref)s reversed.", ref=receipt.reference), "success")
            return redirect(url_for("subsidies.index", code=code))
    return render_template("subsidies/reverse_form.html", scheme=scheme, receipt=receipt, form=form)


add_upload_routes(
    bp,
    kind="subsidy-receipts",
    importer=import_subsidy_receipts,
    title=lambda: _("Import subsidy receipts"),
    permission="subsidies.write",
    done_endpoint="subsidies.index",
)


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
