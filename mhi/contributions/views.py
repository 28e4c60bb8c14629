"""Contributions pages: the scheme's receipts over a period (with CSV), recording a household's payment (with a
link to its printable slip), reversing a receipt with its reason, and the contributions file upload."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from mhi.contributions import queries
from mhi.contributions.forms import ReceiptForm, ReverseForm, operator_choices
from mhi.contributions.imports import import_contributions
from mhi.contributions.models import Receipt
from mhi.contributions.services import ContributionError, record_receipt, reverse_receipt
from mhi.core import formatting
from mhi.core.access import permission_required
from mhi.core.confirm import confirmation_page, confirmed
from mhi.core.db import db
from mhi.core.web import current_scheme_locale
from mhi.members.uploads import add_upload_routes
from mhi.members.views import day_arg, household_in
from mhi.schemes.access import in_scope_or_404, scheme_or_404
from mhi.schemes.operators import scheme_operators

bp = Blueprint("contributions", __name__)


@bp.get("/schemes/<code>/contributions")
@permission_required("register.read")
def index(code: str):
    """Receipts of a period (the last 30 days by default), newest first; ``?format=csv`` downloads them all."""
    scheme = scheme_or_404(code)
    date_to = day_arg("to")
    date_from = day_arg("from") if request.args.get("from") else date_to - timedelta(days=30)
    if request.args.get("format") == "csv":
        rows = queries.receipts_between(db.session, scheme.id, date_from, date_to, limit=None)
        name = f"{scheme.code}-receipts-{date_from.isoformat()}-{date_to.isoformat()}.csv"
        return Response(
            queries.receipts_csv(rows),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    rows = queries.receipts_between(db.session, scheme.id, date_from, date_to)
    count, total = queries.total_between(db.session, scheme.id, date_from, date_to)
    return render_template("contributions/index.html", scheme=scheme, rows=rows, count=count, total=total, date_from=date_from, date_to=date_to)  # fmt: skip


@bp.route("/schemes/<code>/households/<int:household_id>/receipts/new", methods=["GET", "POST"])
@permission_required("contributions.write")
def receipt_new(code: str, household_id: int):
    """Record money paid by a household."""
    scheme = scheme_or_404(code)
    household = household_in(scheme, household_id)
    form = ReceiptForm()
    form.operator.choices = operator_choices(scheme_operators(db.session, scheme))
    if form.validate_on_submit():
        try:
            receipt = record_receipt(
                db.session, household, receipt_no=form.receipt_no.data or None, date=form.date.data,
                amount=form.amount.data, method=form.method.data, collector=form.collector.data,
                operator=form.operator.data, transaction_id=form.transaction_id.data, actor=current_user,
            )  # fmt: skip
        except ContributionError as exc:
            db.session.rollback()
            getattr(form, exc.field or "amount").errors.append(exc.translated())
        else:
            db.session.commit()
            slip = url_for("cards.receipt_slip", code=code, receipt_id=receipt.id)
            # Markup.format escapes every argument: the receipt number and the labels cannot inject markup.
            flash(Markup('{} <a href="{}">{}</a>').format(_("Receipt %(no)s recorded.", no=receipt.receipt_no), slip, _("Print it")), "success")  # fmt: skip
            return redirect(url_for("members.detail", code=code, household_id=household.id))
    return render_template("contributions/receipt_form.html", scheme=scheme, household=household, form=form)


@bp.route("/schemes/<code>/receipts/<int:receipt_id>/reverse", methods=["GET", "POST"])
@permission_required("contributions.write")
def reverse(code: str, receipt_id: int):
    """Reverse a receipt by a counter-entry, with the reason (nothing is deleted). Asks first."""
    scheme = scheme_or_404(code)
    receipt = in_scope_or_404(Receipt, receipt_id)
    if receipt.scheme_id != scheme.id:
        abort(404)
    form = ReverseForm()
    if form.validate_on_submit() and not confirmed():
        return confirmation_page(
            title=_("Reverse receipt %(no)s", no=receipt.receipt_no),
            what=_("A counter-entry of %(amount)s dated %(day)s is recorded, with the reason: %(reason)s",
                   amount=formatting.money(-receipt.amount, scheme.currency, current_scheme_locale(scheme.country)),
                   day=receipt.date.isoformat(),
                   reason=form.reason.data),
            irreversible=_("The counter-entry stays in the books beside the receipt, and the household's cover "
                           "is worked out again without the money. If the reversal is a mistake, record the "
                           "payment again as a new receipt."),
            button=_("Reverse the receipt"),
            back_url=url_for("members.detail", code=code, household_id=receipt.household_id),
            hidden={"reason": form.reason.data},
        )  # fmt: skip
    if form.validate_on_submit():
        try:
            counter = reverse_receipt(db.session, receipt, reason=form.reason.data, actor=current_user)
        except ContributionError as exc:
            db.session.rollback()
            form.reason.errors.append(exc.translated())
        else:
            db.session.commit()
            flash(
                _("Receipt %(no)s reversed by %(counter)s.", no=receipt.receipt_no, counter=counter.receipt_no),
                "success",
            )
            return redirect(url_for("members.detail", code=code, household_id=receipt.household_id))
    return render_template("contributions/reverse_form.html", scheme=scheme, receipt=receipt, form=form)


add_upload_routes(
    bp,
    kind="contributions",
    importer=import_contributions,
    title=lambda: _("Import contributions"),
    permission="contributions.write",
    done_endpoint="contributions.index",
)


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
