"""The scheme's set-up on screen (issue 12), for its manager: providers and their dated tariffs, subsidy
programmes and their dated terms, the expense book (enter, reverse, totals by category, upload). Thin views over
``mhi.schemes.setup``; every page of another scheme answers 404 (core/access.py)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mhi.core import clock
from mhi.core.access import permission_required
from mhi.core.db import db
from mhi.core.errors import say
from mhi.members.uploads import add_upload_routes
from mhi.schemes import queries
from mhi.schemes import setup as services
from mhi.schemes.access import scheme_or_404
from mhi.schemes.forms import (
    EXPENSE_CATEGORY_LABELS,
    ExpenseForm,
    ExpenseReverseForm,
    ProgrammeEditForm,
    ProgrammeForm,
    ProgrammeTermsForm,
    ProviderEditForm,
    ProviderForm,
    split_categories,
    tariff_form,
    tariff_values,
)
from mhi.schemes.imports import import_expenses
from mhi.schemes.models import Expense, Provider, SubsidyProgramme
from mhi.schemes.services import change_programme_terms
from mhi.schemes.versions import VersionError

bp = Blueprint("setup", __name__)


def _field_error(form, exc, default: str) -> None:
    """Show a refused change beside the field it is about (else beside ``default``)."""
    name = getattr(exc, "field", None)
    target = form[name] if name and name in form else form[default]
    target.errors = [*target.errors, say(exc)]


def _provider_of(scheme, provider_code: str) -> Provider:
    provider = db.session.scalar(
        select(Provider).where(Provider.scheme_id == scheme.id, Provider.code == provider_code)
    )
    if provider is None:
        abort(404)
    return provider


def _programme_of(scheme, programme_code: str) -> SubsidyProgramme:
    programme = db.session.scalar(
        select(SubsidyProgramme).where(SubsidyProgramme.scheme_id == scheme.id, SubsidyProgramme.code == programme_code)
    )
    if programme is None:
        abort(404)
    return programme


# -- providers ---------------------------------------------------------------------------------------------------


@bp.route("/schemes/<code>/setup/providers/new", methods=["GET", "POST"])
@permission_required("scheme.settings")
def provider_new(code: str):
    """Contract a new provider, with its first tariffs."""
    scheme = scheme_or_404(code)
    codes = queries.service_benefit_codes(db.session, scheme)
    form = ProviderForm()
    tariffs = tariff_form(codes, dated=False)()
    if form.validate_on_submit() and tariffs.validate():
        try:
            services.create_provider(
                db.session, scheme, code=form.code.data, name=form.name.data, kind=form.kind.data,
                contract_from=form.contract_from.data, contract_to=form.contract_to.data,
                tariffs=tariff_values(tariffs, codes), actor=current_user,
            )  # fmt: skip
        except services.SetupInputError as exc:
            db.session.rollback()
            _field_error(tariffs if (exc.field or "").startswith("tariff_") else form, exc, "code" if not (exc.field or "").startswith("tariff_") else exc.field)  # fmt: skip
        else:
            db.session.commit()
            flash(_("Provider %(code)s added.", code=form.code.data), "success")
            return redirect(url_for("schemes.detail", code=scheme.code, _anchor="providers"))
    return render_template("schemes/setup/provider_form.html", scheme=scheme, form=form, tariffs=tariffs, provider=None)


@bp.route("/schemes/<code>/setup/providers/<provider_code>/edit", methods=["GET", "POST"])
@permission_required("scheme.settings")
def provider_edit(code: str, provider_code: str):
    """Change a provider's name, kind or contract dates."""
    scheme = scheme_or_404(code)
    provider = _provider_of(scheme, provider_code)
    form = ProviderEditForm(obj=provider)
    if form.validate_on_submit():
        try:
            changed = services.update_provider(
                db.session, provider, name=form.name.data, kind=form.kind.data, contract_from=form.contract_from.data,
                contract_to=form.contract_to.data, actor=current_user,
            )  # fmt: skip
        except services.SetupInputError as exc:
            db.session.rollback()
            _field_error(form, exc, "name")
        else:
            db.session.commit()
            flash(_("Provider %(code)s saved.", code=provider.code) if changed else _("Nothing changed."), "success")
            return redirect(url_for("schemes.detail", code=scheme.code, _anchor="providers"))
    return render_template(
        "schemes/setup/provider_form.html", scheme=scheme, form=form, tariffs=None, provider=provider
    )


@bp.route("/schemes/<code>/setup/providers/<provider_code>/tariffs", methods=["GET", "POST"])
@permission_required("scheme.settings")
def provider_tariffs(code: str, provider_code: str):
    """A convention amendment: the provider's whole tariff list from a date on."""
    scheme = scheme_or_404(code)
    provider = _provider_of(scheme, provider_code)
    dated = provider.tariff_history()
    current = dated[-1][1] if dated else {}
    codes = sorted(set(queries.service_benefit_codes(db.session, scheme)) | set(current))
    form_class = tariff_form(codes, dated=True)
    form = form_class(data={f"tariff_{c}": str(a) for c, a in current.items()} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = services.change_tariffs(
                db.session, provider, effective_from=form.effective_from.data, tariffs=tariff_values(form, codes),
                actor=current_user,
            )  # fmt: skip
        except services.SetupInputError as exc:
            db.session.rollback()
            _field_error(form, exc, "effective_from")
        else:
            db.session.commit()
            flash(
                _("New tariffs of %(code)s from %(day)s.", code=provider.code, day=form.effective_from.data.isoformat())
                if changed
                else _("These are already the tariffs in force: nothing changed."),
                "success",
            )
            return redirect(url_for("schemes.detail", code=scheme.code, _anchor="providers"))
    return render_template("schemes/setup/tariffs_form.html", scheme=scheme, form=form, provider=provider, dated=dated)


# -- subsidy programmes ------------------------------------------------------------------------------------------


@bp.route("/schemes/<code>/setup/programmes/new", methods=["GET", "POST"])
@permission_required("scheme.settings")
def programme_new(code: str):
    """A new subsidy programme with its first terms."""
    scheme = scheme_or_404(code)
    form = ProgrammeForm()
    if form.validate_on_submit():
        try:
            services.create_programme(
                db.session, scheme, code=form.code.data, funder=form.funder.data,
                categories=split_categories(form.categories.data), share=form.share.data,
                valid_from=form.valid_from.data, valid_to=form.valid_to.data, actor=current_user,
            )  # fmt: skip
        except services.SetupInputError as exc:
            db.session.rollback()
            _field_error(form, exc, "code")
        else:
            db.session.commit()
            flash(_("Programme %(code)s added.", code=form.code.data), "success")
            return redirect(url_for("schemes.detail", code=scheme.code, _anchor="programmes"))
    return render_template("schemes/setup/programme_form.html", scheme=scheme, form=form, programme=None)


@bp.route("/schemes/<code>/setup/programmes/<programme_code>/edit", methods=["GET", "POST"])
@permission_required("scheme.settings")
def programme_edit(code: str, programme_code: str):
    """Change a programme's funder name or end date."""
    scheme = scheme_or_404(code)
    programme = _programme_of(scheme, programme_code)
    form = ProgrammeEditForm(obj=programme)
    if form.validate_on_submit():
        try:
            changed = services.update_programme(
                db.session, programme, funder=form.funder.data, valid_to=form.valid_to.data, actor=current_user
            )
        except services.SetupInputError as exc:
            db.session.rollback()
            _field_error(form, exc, "funder")
        else:
            db.session.commit()
            flash(_("Programme %(code)s saved.", code=programme.code) if changed else _("Nothing changed."), "success")
            return redirect(url_for("schemes.detail", code=scheme.code, _anchor="programmes"))
    return render_template("schemes/setup/programme_form.html", scheme=scheme, form=form, programme=programme)


@bp.route("/schemes/<code>/setup/programmes/<programme_code>/terms", methods=["GET", "POST"])
@permission_required("scheme.settings")
def programme_terms(code: str, programme_code: str):
    """New share or categories of a programme from a date (periods starting before keep the old terms)."""
    scheme = scheme_or_404(code)
    programme = _programme_of(scheme, programme_code)
    latest = programme.terms[-1] if programme.terms else None
    initial = {"categories": ", ".join(latest.categories), "share": str(latest.share)} if latest else {}
    form = ProgrammeTermsForm(data=initial if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = change_programme_terms(
                db.session, programme, effective_from=form.effective_from.data, share=form.share.data,
                categories=split_categories(form.categories.data), actor=current_user,
            )  # fmt: skip
        except VersionError as exc:
            db.session.rollback()
            form.effective_from.errors = [*form.effective_from.errors, say(exc)]
        else:
            db.session.commit()
            flash(
                _("New terms of %(code)s from %(day)s.", code=programme.code, day=form.effective_from.data.isoformat())
                if changed
                else _("These are already the terms in force: nothing changed."),
                "success",
            )
            return redirect(url_for("schemes.detail", code=scheme.code, _anchor="programmes"))
    return render_template("schemes/setup/terms_form.html", scheme=scheme, form=form, programme=programme)


# -- the expense book --------------------------------------------------------------------------------------------


@bp.get("/schemes/<code>/expenses")
@permission_required("expenses.write")
def expenses(code: str):
    """The expense book of a year: every entry (reversals beside what they reverse) and the totals by category."""
    scheme = scheme_or_404(code)
    try:
        year = int(request.args.get("year") or clock.today().year)
    except ValueError:
        abort(400)
    if not 1900 <= year <= 9998:
        abort(400)
    rows, totals = queries.expense_book(db.session, scheme, date(year, 1, 1), date(year, 12, 31))
    return render_template(
        "schemes/setup/expenses.html", scheme=scheme, rows=rows, totals=totals, year=year,
        labels=EXPENSE_CATEGORY_LABELS,
    )  # fmt: skip


@bp.route("/schemes/<code>/expenses/new", methods=["GET", "POST"])
@permission_required("expenses.write")
def expense_new(code: str):
    """Enter an expense."""
    scheme = scheme_or_404(code)
    form = ExpenseForm()
    if form.validate_on_submit():
        try:
            expense = services.record_expense(
                db.session, scheme, reference=form.reference.data, day=form.date.data, category=form.category.data,
                amount=form.amount.data, description=form.description.data, actor=current_user,
            )  # fmt: skip
        except services.SetupInputError as exc:
            db.session.rollback()
            _field_error(form, exc, "amount")
        else:
            db.session.commit()
            flash(_("Expense %(ref)s entered.", ref=expense.reference), "success")
            return redirect(url_for("setup.expenses", code=scheme.code, year=expense.date.year))
    return render_template("schemes/setup/expense_form.html", scheme=scheme, form=form)


@bp.route("/schemes/<code>/expenses/<int:expense_id>/reverse", methods=["GET", "POST"])
@permission_required("expenses.write")
def expense_reverse(code: str, expense_id: int):
    """Reverse an expense by a counter-entry, with the reason (nothing is deleted)."""
    scheme = scheme_or_404(code)
    expense = db.session.get(Expense, expense_id) if expense_id < 2**31 else None
    if expense is None or expense.scheme_id != scheme.id:
        abort(404)
    form = ExpenseReverseForm()
    if form.validate_on_submit():
        try:
            services.reverse_expense(db.session, expense, reason=form.reason.data, actor=current_user)
        except services.SetupInputError as exc:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, say(exc)]
        else:
            db.session.commit()
            flash(_("Expense %(ref)s reversed.", ref=expense.reference), "success")
            return redirect(url_for("setup.expenses", code=scheme.code, year=expense.date.year))
    return render_template("schemes/setup/expense_reverse.html", scheme=scheme, form=form, expense=expense)


# An expenses file from the web, like the other imports: preview, all or nothing, a background job.
add_upload_routes(
    bp,
    kind="expenses",
    importer=import_expenses,
    title=lambda: _("Import expenses"),
    permission="expenses.write",
    done_endpoint="setup.expenses",
)


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
