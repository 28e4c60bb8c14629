"""Subsidy pages: the funders' statement per period (due, received, owed, households covered) with the period's
subsidy receipts, recording and reversing a funder's payment, the subsidy receipts file upload, the claim a scheme
sends its funder, the funder's own pages, and the administrator's page of the programmes a funder account follows
(beside the other account pages under /admin/users)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mhi.auth.models import User
from mhi.core import clock
from mhi.core.access import permission_required
from mhi.core.db import db
from mhi.core.errors import say
from mhi.members.uploads import add_upload_routes
from mhi.members.views import day_arg
from mhi.schemes.access import in_scope_or_404, scheme_or_404
from mhi.schemes.models import SubsidyProgramme
from mhi.subsidies import queries
from mhi.subsidies.claims import ClaimError, claim_document, sign_off_claim
from mhi.subsidies.documents import claim_pdf, claim_xlsx
from mhi.subsidies.forms import ClaimForm, FollowProgrammeForm, ReverseForm, SignOffForm, SubsidyReceiptForm
from mhi.subsidies.funders import (
    all_programmes,
    bind_programme,
    funder_documents,
    funder_over_time,
    funder_programmes,
    sent_claims,
    unbind_programme,
)
from mhi.subsidies.imports import import_subsidy_receipts
from mhi.subsidies.models import SubsidyReceipt
from mhi.subsidies.services import SubsidyError, record_subsidy_receipt, reverse_subsidy_receipt

bp = Blueprint("subsidies", __name__)


@bp.get("/schemes/<code>/subsidies")
@permission_required("figures.read")
def index(code: str):
    """The funders' statement over [from, to] (this year by default), by month, quarter or year."""
    scheme = scheme_or_404(code)
    date_to = day_arg("to") if request.args.get("to") else date(clock.today().year, 12, 31)
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
            getattr(form, exc.field if exc.field in ("reference", "programme") else "amount").errors.append(say(exc))
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
            form.reason.errors.append(say(exc))
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


# -- the subsidy claim the scheme sends -------------------------------------------------------------------------


def _claim_args(form: ClaimForm, scheme) -> tuple | None:
    """(programme, from, to) of a valid claim form, else None (the page then only shows the form)."""
    if not request.args or not form.validate() or form.date_from.data > form.date_to.data:
        return None
    programme = db.session.scalar(
        select(SubsidyProgramme).where(
            SubsidyProgramme.scheme_id == scheme.id, SubsidyProgramme.code == form.programme.data
        )
    )
    return None if programme is None else (programme, form.date_from.data, form.date_to.data)


@bp.get("/schemes/<code>/subsidies/claims")
@permission_required("subsidy_claims.read")
def claim(code: str):
    """A programme's claim for a period: on screen with the sign-off, or as PDF / XLSX (``?format=``)."""
    scheme = scheme_or_404(code)
    form = ClaimForm(request.args)
    form.programme.choices = [(p.code, f"{p.code} — {p.funder}") for p in scheme.programmes]
    chosen = _claim_args(form, scheme)
    document = claim_document(db.session, *chosen) if chosen else None
    if document is not None and request.args.get("format") in ("pdf", "xlsx"):
        return _claim_file([document], request.args["format"], scheme.country)
    sign_off = None
    if document is not None and document.signed_at is None:
        sign_off = SignOffForm(programme=chosen[0].code, date_from=chosen[1], date_to=chosen[2])
    return render_template("subsidies/claim.html", scheme=scheme, form=form, document=document, sign_off=sign_off)


@bp.post("/schemes/<code>/subsidies/claims/sign-off")
@permission_required("subsidies.write")
def claim_sign_off(code: str):
    """The manager signs the claim off: its figures are stored and printed from then on."""
    scheme = scheme_or_404(code)
    form = SignOffForm()
    programme = db.session.scalar(
        select(SubsidyProgramme).where(
            SubsidyProgramme.scheme_id == scheme.id, SubsidyProgramme.code == form.programme.data
        )
    )
    if not form.validate_on_submit() or programme is None:
        abort(400)
    args = {"programme": programme.code, "date_from": form.date_from.data, "date_to": form.date_to.data}
    try:
        sign_off_claim(db.session, programme, form.date_from.data, form.date_to.data, actor=current_user)
    except ClaimError as exc:
        db.session.rollback()
        flash(exc.translated(), "error")
    else:
        db.session.commit()
        flash(_("The claim is signed off: its figures are frozen."), "success")
    return redirect(url_for("subsidies.claim", code=code, **args))


def _claim_file(documents, fmt: str, country: str | None):
    """The claim as a PDF or XLSX download."""
    first = documents[0]
    name = f"claim-{first.programme_code}-{first.date_from.isoformat()}-{first.date_to.isoformat()}"
    if fmt == "xlsx":
        data = claim_xlsx(documents, gettext=_)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        data = claim_pdf(documents, language=get_locale().language, country=country, gettext=_)
        mimetype = "application/pdf"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


# -- the funder's pages -----------------------------------------------------------------------------------------


@bp.get("/funder")
@permission_required("funder.read")
def funder_home():
    """The programmes the funder follows: the claims sent, and due / received / outstanding over time."""
    date_to = day_arg("to") if request.args.get("to") else date(clock.today().year, 12, 31)
    date_from = day_arg("from") if request.args.get("from") else date(date_to.year - 1, 1, 1)
    if date_from > date_to:
        abort(400)
    return render_template(
        "subsidies/funder.html", claims=sent_claims(db.session, current_user),
        over_time=funder_over_time(db.session, current_user, date_from, date_to), date_from=date_from, date_to=date_to,
    )  # fmt: skip


@bp.get("/funder/claims/<programme_code>/<from_>/<to>.<fmt>")
@permission_required("funder.read")
def funder_claim(programme_code: str, from_: str, to: str, fmt: str):
    """A claim sent to the funder (every scheme of the programme that signed it off), as PDF or XLSX."""
    try:
        date_from, date_to = date.fromisoformat(from_), date.fromisoformat(to)
    except ValueError:
        abort(404)
    documents = funder_documents(db.session, current_user, programme_code, date_from, date_to)
    if not documents or fmt not in ("pdf", "xlsx"):
        abort(404)
    return _claim_file(documents, fmt, None)


# -- the administrator binds a funder's account to programmes ---------------------------------------------------


@bp.route("/admin/users/<int:user_id>/programmes", methods=["GET", "POST"])
@permission_required("admin")
def funder_account_programmes(user_id: int):
    """The programmes a funder's account follows; add one of any scheme (``flask funder follow`` does the same)."""
    user = db.session.get(User, user_id) or abort(404)
    followed = funder_programmes(db.session, user)
    taken = {programme.id for programme, _scheme in followed}
    form = FollowProgrammeForm()
    form.programme.choices = [
        (p.id, f"{s.code} — {p.code} — {p.funder}") for p, s in all_programmes(db.session) if p.id not in taken
    ]
    if form.validate_on_submit():
        programme = db.session.get(SubsidyProgramme, form.programme.data) or abort(400)
        try:
            bind_programme(db.session, user, programme, actor=current_user._get_current_object())
        except ClaimError as exc:
            db.session.rollback()
            form.programme.errors.append(_(exc.message, **exc.params))
        else:
            db.session.commit()
            flash(_("%(email)s follows %(programme)s.", email=user.email, programme=programme.code), "success")
            return redirect(url_for("subsidies.funder_account_programmes", user_id=user.id))
    return render_template(
        "subsidies/funder_programmes.html", user=user, followed=followed, form=form, is_funder=user.role == "funder"
    )


@bp.post("/admin/users/<int:user_id>/programmes/<int:programme_id>/remove")
@permission_required("admin")
def funder_account_programme_remove(user_id: int, programme_id: int):
    """The funder's account stops following a programme (``flask funder unfollow`` does the same)."""
    user = db.session.get(User, user_id) or abort(404)
    programme = db.session.get(SubsidyProgramme, programme_id) or abort(404)
    if not FlaskForm().validate_on_submit():  # an empty form: its CSRF token
        abort(400)
    try:
        removed = unbind_programme(db.session, user, programme, actor=current_user._get_current_object())
    except ClaimError as exc:
        db.session.rollback()
        flash(_(exc.message, **exc.params), "error")
    else:
        db.session.commit()
        if removed:
            flash(
                _("%(email)s no longer follows %(programme)s.", email=user.email, programme=programme.code), "success"
            )
        else:
            flash(_("%(email)s did not follow %(programme)s.", email=user.email, programme=programme.code), "info")
    return redirect(url_for("subsidies.funder_account_programmes", user_id=user.id))


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
