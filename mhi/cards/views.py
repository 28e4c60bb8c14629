"""Printing screens (blueprint ``cards``): the card batch form, its job page (progress, then the download), a
household's statement and a receipt's slip.

Card printing needs "register.write" (it hands out proof of membership); statements, statement runs and slips
"register.read". A statement run that prints claims (its author may read them) is shown only to readers who may
read claims: another register reader gets 404 for it.
The job page polls with a Refresh header and a meta refresh — no script, the CSP forbids inline JavaScript.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mhi.cards.forms import CardPrintForm, StatementForm, StatementRunForm
from mhi.cards.group_statement import group_statement_pdf
from mhi.cards.receipt import receipt_pdf, slip_size
from mhi.cards.services import CARD_JOB, CardScopeError, create_card_job, make_scope
from mhi.cards.statement import document_language, statement_pdf
from mhi.cards.statements import STATEMENT_JOB, StatementRunError, create_statement_job, make_run
from mhi.contributions.models import Receipt
from mhi.core import clock
from mhi.core.access import has_permission, permission_required
from mhi.core.db import db
from mhi.core.jobs import Job, result_file
from mhi.core.storage import read_file
from mhi.members.models import Household
from mhi.payments.models import GroupPayer
from mhi.schemes.access import in_scope_or_404, scheme_or_404
from mhi.schemes.settings import card_layout

bp = Blueprint("cards", __name__)

#: Seconds between two looks at a running job.
POLL_SECONDS = 2


def _of_scheme(model, record_id: int, scheme):
    """A record of ``scheme`` the user may see, else 404 (another scheme's id in this URL is not found)."""
    record = in_scope_or_404(model, record_id)
    if record.scheme_id != scheme.id:
        abort(404)
    return record


def _pdf(data: bytes, name: str, *, download: bool = False) -> Response:
    """A PDF response with a file name safe in a header (references may hold / and quotes)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "document"
    disposition = "attachment" if download else "inline"
    return Response(
        data, mimetype="application/pdf", headers={"Content-Disposition": f'{disposition}; filename="{safe}.pdf"'}
    )


def _villages(scheme) -> list[str]:
    """The scheme's villages, for the card form."""
    return list(
        db.session.scalars(
            select(Household.village)
            .where(Household.scheme_id == scheme.id, Household.village != "")
            .distinct()
            .order_by(Household.village)
        )
    )


@bp.route("/schemes/<code>/cards", methods=["GET", "POST"])
@permission_required("register.write")
def print_form(code: str):
    """Choose whose cards to print; the batch is then built in the background."""
    scheme = scheme_or_404(code)
    form = CardPrintForm(villages=_villages(scheme))
    if form.validate_on_submit():
        try:
            scope = make_scope(
                form.scope.data, household_ref=form.household_ref.data, village=form.village.data, since=form.since.data
            )
            job = create_card_job(db.session, scheme, scope, actor=current_user, on=clock.today())
        except CardScopeError:
            db.session.rollback()
            form.form_errors.append(_("Nobody in this selection gets a card: check the reference, village or date."))
        else:
            db.session.commit()  # sends the job to the queue
            return redirect(url_for("cards.job", code=scheme.code, job_id=job.id))
    jobs = db.session.scalars(
        select(Job).where(Job.scheme_id == scheme.id, Job.kind == CARD_JOB).order_by(Job.id.desc()).limit(10)
    ).all()
    return render_template("cards/form.html", scheme=scheme, form=form, jobs=jobs, layout=card_layout(scheme))


def _card_job(scheme, job_id: int) -> Job:
    """A card batch of ``scheme``, else 404."""
    item = _of_scheme(Job, job_id, scheme)
    if item.kind != CARD_JOB:
        abort(404)
    return item


@bp.get("/schemes/<code>/cards/jobs/<int:job_id>")
@permission_required("register.write")
def job(code: str, job_id: int):
    """A batch's progress; the page reloads itself until the PDF is ready."""
    scheme = scheme_or_404(code)
    item = _card_job(scheme, job_id)
    response = Response(render_template("cards/job.html", scheme=scheme, job=item, poll=POLL_SECONDS))
    if not item.finished:
        response.headers["Refresh"] = str(POLL_SECONDS)
    return response


@bp.get("/schemes/<code>/cards/jobs/<int:job_id>/cards.pdf")
@permission_required("register.write")
def job_pdf(code: str, job_id: int):
    """The finished batch's PDF."""
    scheme = scheme_or_404(code)
    item = _card_job(scheme, job_id)
    stored = result_file(db.session, item) if item.state == "done" else None
    if stored is None:
        abort(404)
    return _pdf(read_file(stored), f"cards-{scheme.code}-{item.id}", download=True)


@bp.get("/schemes/<code>/households/<int:household_id>/statement")
@permission_required("register.read")
def statement(code: str, household_id: int):
    """Choose the period, then the statement in the household's language (claims only for claims staff)."""
    scheme = scheme_or_404(code)
    household = _of_scheme(Household, household_id, scheme)
    form = StatementForm(request.args)
    if request.args and form.validate():
        config = current_app.config
        language = document_language(household, scheme, config["LANGUAGES"], config["BABEL_DEFAULT_LOCALE"])
        with force_locale(language):
            data = statement_pdf(
                db.session,
                household,
                form.date_from.data,
                form.date_to.data,
                language=language,
                gettext=_,
                include_claims=has_permission(current_user, "claims.read"),
                decisions=form.decisions.data,
            )
        return _pdf(data, f"statement-{household.ref}-{form.date_from.data}-{form.date_to.data}")
    if not request.args:
        form.date_from.data = date(clock.today().year, 1, 1)
        form.date_to.data = clock.today()
        form.decisions.data = True
    return render_template("cards/statement.html", scheme=scheme, household=household, form=form)


@bp.route("/schemes/<code>/statements", methods=["GET", "POST"])
@permission_required("register.read")
def statement_runs(code: str):
    """Choose a period and households; their statements are then printed in one PDF in the background."""
    scheme = scheme_or_404(code)
    form = StatementRunForm(villages=_villages(scheme))
    if request.method == "GET":  # from the arrears list: its day, its village, its households
        form.date_to.data = _iso_day(request.args.get("to")) or clock.today()
        form.date_from.data = date(form.date_to.data.year, 1, 1)
        form.village.data = request.args.get("village", "")
        form.arrears.data = request.args.get("arrears") == "y"
        form.decisions.data = True
    if form.validate_on_submit():
        run = make_run(
            form.date_from.data,
            form.date_to.data,
            village=form.village.data,
            arrears=form.arrears.data,
            decisions=form.decisions.data,
            include_claims=has_permission(current_user, "claims.read"),
        )
        try:
            job = create_statement_job(db.session, scheme, run, actor=current_user, today=clock.today())
        except StatementRunError:
            db.session.rollback()
            form.form_errors.append(_("No household in this selection: check the period, village or arrears filter."))
        else:
            db.session.commit()  # sends the job to the queue
            return redirect(url_for("cards.statement_run", code=scheme.code, job_id=job.id))
    runs = db.session.scalars(
        select(Job).where(Job.scheme_id == scheme.id, Job.kind == STATEMENT_JOB).order_by(Job.id.desc()).limit(10)
    ).all()
    runs = [item for item in runs if _may_see_run(item)]
    return render_template("cards/statement_runs.html", scheme=scheme, form=form, jobs=runs)


def _iso_day(value: str | None) -> date | None:
    """A YYYY-MM-DD date from a link, or None."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _may_see_run(item: Job) -> bool:
    """A run printed with claims is for readers of claims only (module docstring)."""
    return not (item.params or {}).get("run", {}).get("claims") or has_permission(current_user, "claims.read")


def _statement_job(scheme, job_id: int) -> Job:
    """A statement run of ``scheme`` the user may see, else 404."""
    item = _of_scheme(Job, job_id, scheme)
    if item.kind != STATEMENT_JOB or not _may_see_run(item):
        abort(404)
    return item


@bp.get("/schemes/<code>/statements/<int:job_id>")
@permission_required("register.read")
def statement_run(code: str, job_id: int):
    """A run's progress; the page reloads itself until the PDF is ready."""
    scheme = scheme_or_404(code)
    item = _statement_job(scheme, job_id)
    response = Response(render_template("cards/statement_run.html", scheme=scheme, job=item, poll=POLL_SECONDS))
    if not item.finished:
        response.headers["Refresh"] = str(POLL_SECONDS)
    return response


@bp.get("/schemes/<code>/statements/<int:job_id>/statements.pdf")
@permission_required("register.read")
def statement_run_pdf(code: str, job_id: int):
    """The finished run's PDF."""
    scheme = scheme_or_404(code)
    item = _statement_job(scheme, job_id)
    stored = result_file(db.session, item) if item.state == "done" else None
    if stored is None:
        abort(404)
    return _pdf(read_file(stored), f"statements-{scheme.code}-{item.id}", download=True)


@bp.get("/schemes/<code>/payers/<int:payer_id>/statement")
@permission_required("register.read")
def group_statement(code: str, payer_id: int):
    """Choose the period, then the group payer's statement of what it paid and for whom (in the reader's
    language: the group is not a household with a language of its own)."""
    scheme = scheme_or_404(code)
    payer = _of_scheme(GroupPayer, payer_id, scheme)
    form = StatementForm(request.args)
    if request.args and form.validate():
        data = group_statement_pdf(
            db.session, payer, form.date_from.data, form.date_to.data, language=get_locale().language, gettext=_
        )
        return _pdf(data, f"group-{payer.code}-{form.date_from.data}-{form.date_to.data}")
    if not request.args:
        form.date_from.data = date(clock.today().year, 1, 1)
        form.date_to.data = clock.today()
    return render_template("cards/group_statement.html", scheme=scheme, payer=payer, form=form)


@bp.get("/schemes/<code>/receipts/<int:receipt_id>/slip.pdf")
@permission_required("register.read")
def receipt_slip(code: str, receipt_id: int):
    """A receipt's slip, A6 or 80 mm roll (``?size=a6|roll80``; the scheme's setting otherwise)."""
    scheme = scheme_or_404(code)
    receipt = _of_scheme(Receipt, receipt_id, scheme)
    household = db.session.get(Household, receipt.household_id)
    config = current_app.config
    language = document_language(household, scheme, config["LANGUAGES"], config["BABEL_DEFAULT_LOCALE"])
    with force_locale(language):
        data = receipt_pdf(
            db.session, receipt, size=slip_size(scheme, request.args.get("size")), language=language, gettext=_
        )
    return _pdf(data, f"receipt-{receipt.receipt_no}")


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
