"""Payments pages: the scheme's list of payment operators (with each one's column mapping); an operator's
statement uploaded and previewed like every import, then its waiting lines reconciled by a clerk."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from mhi.contributions.forms import operator_choices
from mhi.contributions.services import N_
from mhi.core.access import has_permission, permission_required
from mhi.core.db import db
from mhi.core.storage import StoredFile, delete_files, read_file, utcnow
from mhi.core.tabular import lock_scheme_for_import
from mhi.core.validation import InputRejected
from mhi.members.forms import ConfirmForm, UploadForm
from mhi.members.models import Household
from mhi.members.queries import household_by_ref, search_register
from mhi.members.uploads import keep_upload
from mhi.payments import queries
from mhi.payments.forms import (
    MAPPED_COLUMNS,
    AssignForm,
    DismissForm,
    GroupPaymentForm,
    MemberForm,
    OperatorForm,
    PayerForm,
)
from mhi.payments.groups import GroupError, create_payer, member_households, record_group_payment, set_member
from mhi.payments.models import LINE_STATUSES, WAITING, GroupPayer, StatementLine
from mhi.payments.statements import (
    StatementError,
    StatementResult,
    assign_line,
    dismiss_line,
    import_statement,
    read_statement,
)
from mhi.schemes.access import in_scope_or_404, scheme_or_404
from mhi.schemes.operators import OperatorError, find_operator, save_operator, scheme_operators

bp = Blueprint("payments", __name__)


@bp.get("/schemes/<code>/operators")
@permission_required("scheme.settings")
def operators(code: str):
    """The scheme's operators, and a form to add one."""
    scheme = scheme_or_404(code)
    return render_template(
        "payments/operators.html", scheme=scheme, operators=scheme_operators(db.session, scheme), form=OperatorForm()
    )


@bp.route("/schemes/<code>/operators/edit", methods=["GET", "POST"])
@permission_required("scheme.settings")
def operator_edit(code: str):
    """Add an operator (no ``?operator=``) or change one: name, method, in use, how its files read."""
    scheme = scheme_or_404(code)
    existing = find_operator(db.session, scheme, request.args.get("operator"))
    if request.args.get("operator") and existing is None:
        abort(404)
    form = OperatorForm(data=None if existing is None or request.method == "POST" else _operator_data(existing))
    if existing is not None:
        form.code.render_kw = {"readonly": True}
    if form.validate_on_submit():
        try:
            save_operator(
                db.session, scheme, code=existing.code if existing else form.code.data, name=form.name.data,
                method=form.method.data, active=form.active.data, column_map=form.column_map(),
                decimal_comma=form.decimal_comma.data, delimiter=form.delimiter.data, actor=current_user,
            )  # fmt: skip
        except OperatorError as exc:
            db.session.rollback()
            getattr(form, exc.field or "code").errors.append(exc.translated())
        else:
            db.session.commit()
            flash(_("Operator %(code)s saved.", code=existing.code if existing else form.code.data), "success")
            return redirect(url_for("payments.operators", code=code))
    return render_template("payments/operator_form.html", scheme=scheme, form=form, existing=existing)


def _operator_data(operator) -> dict:
    """The form's initial values for an existing operator."""
    data = {
        "code": operator.code,
        "name": operator.name,
        "method": operator.method,
        "active": operator.active,
        "delimiter": operator.delimiter,
        "decimal_comma": operator.decimal_comma,
    }
    data.update({f"map_{name}": (operator.column_map or {}).get(name, "") for name in MAPPED_COLUMNS})
    return data


# -- operators' statements -------------------------------------------------------------------------------------


def _run_statement(scheme, data: bytes, name: str, *, dry_run: bool) -> StatementResult:
    """Read the statement file and import it (a dry run for the preview); problems are in the result."""
    if not dry_run:
        lock_scheme_for_import(db.session, scheme)
    try:
        table = read_statement(data, name or "statement.csv")
    except InputRejected as exc:
        result = StatementResult("statement")
        result.problems = exc.problems
        return result
    return import_statement(
        db.session, scheme, table.header, table.rows, dry_run=dry_run, actor=current_user, file=name
    )


@bp.route("/schemes/<code>/imports/statement", methods=["GET", "POST"])
@permission_required("contributions.write")
def statement_upload(code: str):
    """Upload an operator's statement (CSV or XLSX): preview each line's match, then confirm."""
    scheme = scheme_or_404(code)
    form = UploadForm()
    result = token = None
    if form.validate_on_submit():
        upload = form.file.data
        data, name = upload.read(), (upload.filename or "statement.csv")[-80:]
        result = _run_statement(scheme, data, name, dry_run=True)
        db.session.rollback()
        if result.ok and result.added:
            # Kept in the shared storage (any machine confirms it), expiring like every previewed upload.
            token = keep_upload(db.session, data, name, "statement", scheme, current_user).token
            db.session.commit()
    confirm = ConfirmForm(token=token) if token else None
    return render_template("payments/statement_upload.html", scheme=scheme, form=form, result=result, confirm=confirm)


@bp.post("/schemes/<code>/imports/statement/confirm")
@permission_required("contributions.write")
def statement_confirm(code: str):
    """Import the previewed statement: all or nothing."""
    scheme = scheme_or_404(code)
    form = ConfirmForm()
    stored = None
    if form.validate_on_submit():
        # Locked, so a second click waits and then finds it gone (the statement is imported once either way).
        stored = db.session.scalar(
            select(StoredFile)
            .where(
                StoredFile.token == (form.token.data or ""),
                StoredFile.purpose == "upload:statement",
                StoredFile.scheme_id == scheme.id,
                StoredFile.owner_id == current_user.id,
                StoredFile.job_id.is_(None),
                StoredFile.expires_at > utcnow(),
            )
            .with_for_update()
        )
    if stored is None:
        flash(_("That upload has expired: send the file again."), "error")
        return redirect(url_for("payments.statement_upload", code=code))
    result = _run_statement(scheme, read_file(stored), stored.name, dry_run=False)
    if not result.ok:
        db.session.rollback()
        flash(_("The file was not imported: %(n)d problem(s). Nothing was written.", n=len(result.problems)), "error")
        return redirect(url_for("payments.statement_upload", code=code))
    delete_files(db.session, StoredFile.id == stored.id)
    db.session.commit()
    flash(
        _(
            "Statement: %(matched)d matched, %(unmatched)d unmatched, %(ambiguous)d ambiguous, %(already)d already.",
            **result.counts(),
        ),
        "success",
    )
    return redirect(url_for("payments.lines", code=code))


@bp.get("/schemes/<code>/statement-lines")
@permission_required("register.read")
def lines(code: str):
    """Statement lines: the waiting ones by default (``?status=`` for the others)."""
    scheme = scheme_or_404(code)
    status = request.args.get("status", "waiting")
    if status not in ("waiting", *LINE_STATUSES):
        status = "waiting"
    rows = queries.statement_lines(db.session, scheme.id, WAITING if status == "waiting" else (status,))
    return render_template("payments/lines.html", scheme=scheme, rows=rows, status=status, statuses=LINE_STATUSES)


@bp.get("/schemes/<code>/statement-lines/<int:line_id>")
@permission_required("contributions.write")
def line(code: str, line_id: int):
    """One line: search the register (name, phone, reference) to assign it, or mark it not ours."""
    scheme = scheme_or_404(code)
    item = _line_in(scheme, line_id)
    q = request.args.get("q", "").strip()[:100] or item.reference or item.payer_phone
    hits = search_register(db.session, scheme.id, q, per_page=20).items if q else []
    return render_template(
        "payments/line.html", scheme=scheme, line=item, q=q, hits=hits, assign=AssignForm(), dismiss=DismissForm()
    )


@bp.post("/schemes/<code>/statement-lines/<int:line_id>/assign")
@permission_required("contributions.write")
def line_assign(code: str, line_id: int):
    """The line becomes the chosen household's receipt."""
    scheme = scheme_or_404(code)
    item = _line_in(scheme, line_id)
    form = AssignForm()
    household = db.session.get(Household, form.household_id.data) if form.validate_on_submit() else None
    if household is None or household.scheme_id != scheme.id:
        abort(404)
    try:
        receipt = assign_line(db.session, item, household, actor=current_user)
    except StatementError as exc:
        db.session.rollback()
        flash(exc.translated(), "error")
        return redirect(url_for("payments.line", code=code, line_id=line_id))
    db.session.commit()
    slip = url_for("cards.receipt_slip", code=code, receipt_id=receipt.id)
    flash(Markup('{} <a href="{}">{}</a>').format(_("Receipt %(no)s recorded.", no=receipt.receipt_no), slip, _("Print it")), "success")  # fmt: skip
    return redirect(url_for("payments.lines", code=code))


@bp.post("/schemes/<code>/statement-lines/<int:line_id>/dismiss")
@permission_required("contributions.write")
def line_dismiss(code: str, line_id: int):
    """The line is not the scheme's money: it never becomes a receipt."""
    scheme = scheme_or_404(code)
    item = _line_in(scheme, line_id)
    form = DismissForm()
    try:
        if not form.validate_on_submit():
            raise StatementError(N_("Say why this payment is not the scheme's."), "note")
        dismiss_line(db.session, item, note=form.note.data, actor=current_user)
    except StatementError as exc:
        db.session.rollback()
        flash(exc.translated(), "error")
        return redirect(url_for("payments.line", code=code, line_id=line_id))
    db.session.commit()
    flash(_("Line %(tx)s marked as not ours.", tx=item.transaction_id), "success")
    return redirect(url_for("payments.lines", code=code))


def _line_in(scheme, line_id: int) -> StatementLine:
    """The statement line of this scheme, else 404."""
    item = in_scope_or_404(StatementLine, line_id)
    if item.scheme_id != scheme.id:
        abort(404)
    return item


# -- group payers ----------------------------------------------------------------------------------------------


@bp.route("/schemes/<code>/payers", methods=["GET", "POST"])
@permission_required("register.read")
def payers(code: str):
    """The scheme's group payers; a clerk adds one."""
    scheme = scheme_or_404(code)
    form = PayerForm()
    if request.method == "POST":
        if not has_permission(current_user, "contributions.write"):
            abort(403)
        if form.validate_on_submit():
            try:
                payer = create_payer(
                    db.session, scheme, code=form.code.data, name=form.name.data, kind=form.kind.data,
                    phone=form.phone.data, actor=current_user,
                )  # fmt: skip
            except GroupError as exc:
                db.session.rollback()
                getattr(form, exc.field or "code").errors.append(exc.translated())
            else:
                db.session.commit()
                return redirect(url_for("payments.payer", code=code, payer_id=payer.id))
    rows = queries.payers(db.session, scheme.id)
    return render_template("payments/payers.html", scheme=scheme, rows=rows, form=form)


@bp.route("/schemes/<code>/payers/<int:payer_id>", methods=["GET", "POST"])
@permission_required("register.read")
def payer(code: str, payer_id: int):
    """A group: its households, its payments, and (for a clerk) a new payment split over the households."""
    scheme = scheme_or_404(code)
    item = _payer_in(scheme, payer_id)
    households = member_households(db.session, item)
    form = GroupPaymentForm()
    form.operator.choices = operator_choices(scheme_operators(db.session, scheme))
    if request.method == "POST":
        if not has_permission(current_user, "contributions.write"):
            abort(403)
        if form.validate_on_submit():
            listed = {h.id: request.form.get(f"part-{h.id}", "").strip() for h in households}
            try:
                record_group_payment(
                    db.session, item, date=form.date.data, amount=form.amount.data, split=form.split.data,
                    method=form.method.data, operator=form.operator.data, transaction_id=form.transaction_id.data,
                    listed=listed, actor=current_user,
                )  # fmt: skip
            except GroupError as exc:
                db.session.rollback()
                getattr(form, exc.field if exc.field in form else "amount").errors.append(exc.translated())
            else:
                db.session.commit()
                flash(_("Payment recorded: one receipt per household."), "success")
                return redirect(url_for("payments.payer", code=code, payer_id=payer_id))
    return render_template(
        "payments/payer.html", scheme=scheme, payer=item, households=households, form=form,
        member_form=MemberForm(), payments=queries.group_payments(db.session, item.id),
    )  # fmt: skip


@bp.post("/schemes/<code>/payers/<int:payer_id>/members")
@permission_required("contributions.write")
def payer_member_add(code: str, payer_id: int):
    """Add a household to the group by its reference."""
    scheme = scheme_or_404(code)
    item = _payer_in(scheme, payer_id)
    form = MemberForm()
    household = household_by_ref(db.session, scheme.id, (form.household_ref.data or "").strip())
    if not form.validate_on_submit() or household is None:
        flash(_("No household %(ref)s in this scheme.", ref=form.household_ref.data or ""), "error")
    else:
        set_member(db.session, item, household, active=True, actor=current_user)
        db.session.commit()
    return redirect(url_for("payments.payer", code=code, payer_id=payer_id))


@bp.post("/schemes/<code>/payers/<int:payer_id>/members/<int:household_id>/remove")
@permission_required("contributions.write")
def payer_member_remove(code: str, payer_id: int, household_id: int):
    """Take a household out of the group (its past parts stay)."""
    scheme = scheme_or_404(code)
    item = _payer_in(scheme, payer_id)
    household = in_scope_or_404(Household, household_id)
    if household.scheme_id != scheme.id:
        abort(404)
    set_member(db.session, item, household, active=False, actor=current_user)
    db.session.commit()
    return redirect(url_for("payments.payer", code=code, payer_id=payer_id))


def _payer_in(scheme, payer_id: int) -> GroupPayer:
    """The group payer of this scheme, else 404."""
    item = in_scope_or_404(GroupPayer, payer_id)
    if item.scheme_id != scheme.id:
        abort(404)
    return item


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
