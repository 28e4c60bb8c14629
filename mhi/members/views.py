"""The register's pages: household search, enrolment (head and members in one form, likely duplicates shown for
confirmation), the household page (members, coverage, dues, periods, receipts), adding a newborn, recording an
exit, correcting a person or a household with a reason, the manager's lists with their CSV downloads, and the
members file upload. Each page checks one permission and loads records through
``scheme_or_404`` / ``in_scope_or_404`` (core/access.py); the rules are the services'."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mhi.claims.product_changes import ProductChangeError, change_product, check_product_change, import_product_changes
from mhi.claims.services import claims_decided_otherwise
from mhi.contributions import queries as contributions_queries
from mhi.contributions.imports import import_category_changes, import_register
from mhi.contributions.services import refresh_households
from mhi.core import clock, sheets
from mhi.core.access import permission_required
from mhi.core.confirm import confirmation_page, confirmed
from mhi.core.db import db
from mhi.core.limits import INT_MAX, query_date, query_int
from mhi.core.validation import Problem
from mhi.core.web import current_scheme_locale
from mhi.members import labels as members_labels
from mhi.members import queries
from mhi.members.duplicates import find_duplicates
from mhi.members.forms import (
    CategoryForm,
    EnrolForm,
    ExitForm,
    HouseholdCorrectionForm,
    PersonCorrectionForm,
    PersonForm,
    ProductChangeForm,
    candidates,
    show_problems,
)
from mhi.members.models import Household, Person
from mhi.members.services import (
    RegisterError,
    add_person,
    change_category,
    correct_household,
    correct_person,
    enrol_household,
    record_exit,
)
from mhi.members.uploads import add_upload_routes
from mhi.schemes.access import in_scope_or_404, scheme_or_404
from mhi.schemes.models import Product

bp = Blueprint("members", __name__)


def day_arg(name: str = "on") -> date:
    """A date from the query string (today when absent); a bad or out-of-range one answers 400 saying why."""
    return query_date(name, clock.today())


def household_in(scheme, household_id: int) -> Household:
    """The household if it belongs to ``scheme`` (and the user's schemes); 404 otherwise."""
    household = in_scope_or_404(Household, household_id)
    if household.scheme_id != scheme.id:
        abort(404)
    return household


@bp.get("/schemes/<code>/households")
@permission_required("register.read")
def index(code: str):
    """Search the register by name, member number, household reference, village or phone."""
    scheme = scheme_or_404(code)
    query = request.args.get("q", "").strip()
    page = queries.search_register(db.session, scheme.id, query, page=query_int("page", 1, minimum=-INT_MAX))
    return render_template("members/index.html", scheme=scheme, query=query, page=page)


@bp.route("/schemes/<code>/households/new", methods=["GET", "POST"])
@permission_required("register.write")
def enrol(code: str):
    """Enrol a household: the head and up to eight other members in one form."""
    scheme = scheme_or_404(code)
    form = EnrolForm()
    form.product.choices = [
        (p.code, p.name) for p in db.session.scalars(select(Product).where(Product.scheme_id == scheme.id))
    ]
    duplicates = []
    if form.validate_on_submit():
        persons, entries = form.people()
        previous = (
            queries.household_by_ref(db.session, scheme.id, form.previous_ref.data) if form.previous_ref.data else None
        )
        duplicates = find_duplicates(db.session, scheme.id, candidates(persons, form.ref.data))
        try:
            if form.previous_ref.data and previous is None:
                raise RegisterError([Problem(_("no such household"), column="previous_ref")])
            household = enrol_household(
                db.session, scheme, ref=form.ref.data, product_code=form.product.data, persons=persons,
                category=form.category.data, village=form.village.data, previous_household=previous, actor=current_user,
            )  # fmt: skip
            refresh_households(db.session, scheme, [household.id])
            if duplicates and not form.different_people.data:
                raise RegisterError([Problem(_("Check the likely duplicates below."), column="different_people")])
        except RegisterError as exc:
            db.session.rollback()
            show_problems(form, exc.problems, entries)
        else:
            db.session.commit()
            flash(_("Household %(ref)s enrolled.", ref=household.ref), "success")
            return redirect(url_for("members.detail", code=code, household_id=household.id))
    return render_template("members/form.html", scheme=scheme, form=form, duplicates=duplicates)


@bp.get("/schemes/<code>/households/<int:household_id>")
@permission_required("register.read")
def detail(code: str, household_id: int):
    """The household page on a day (today by default): members, coverage, dues, every period and receipt."""
    scheme = scheme_or_404(code)
    household = household_in(scheme, household_id)
    page = contributions_queries.household_page(db.session, household, day_arg())
    return render_template("members/detail.html", scheme=scheme, page=page)


@bp.route("/schemes/<code>/households/<int:household_id>/persons/new", methods=["GET", "POST"])
@permission_required("register.write")
def person_new(code: str, household_id: int):
    """Add a person (a newborn) to an enrolled household."""
    scheme = scheme_or_404(code)
    household = household_in(scheme, household_id)
    form = PersonForm()
    duplicates = []
    if form.validate_on_submit():
        data = form.person(village=household.village)
        duplicates = find_duplicates(db.session, scheme.id, candidates([data], household.ref))
        try:
            person = add_person(db.session, household, data, actor=current_user)
            refresh_households(db.session, scheme, [household.id])
            if duplicates and not form.different_people.data:
                raise RegisterError([Problem(_("Check the likely duplicates below."), column="different_people")])
        except RegisterError as exc:
            db.session.rollback()
            show_problems(form, exc.problems)
        else:
            db.session.commit()
            flash(_("%(name)s added as %(no)s.", name=person.full_name, no=person.member_no), "success")
            return redirect(url_for("members.detail", code=code, household_id=household.id))
    if not duplicates:
        del form.different_people
    return render_template(
        "members/person_form.html", scheme=scheme, household=household, form=form, duplicates=duplicates
    )


@bp.route("/schemes/<code>/households/<int:household_id>/category", methods=["GET", "POST"])
@permission_required("register.write")
def category(code: str, household_id: int):
    """Put the household in a category from a date on (with the reason); coverage follows at once."""
    scheme = scheme_or_404(code)
    household = household_in(scheme, household_id)
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            change_category(
                db.session, household, category=form.category.data, from_date=form.from_date.data,
                reason=form.reason.data, actor=current_user,
            )  # fmt: skip
            refresh_households(db.session, scheme, [household.id])
        except RegisterError as exc:
            db.session.rollback()
            show_problems(form, exc.problems)
        else:
            db.session.commit()
            flash(_("The category of household %(ref)s is changed.", ref=household.ref), "success")
            return redirect(url_for("members.detail", code=code, household_id=household.id))
    changes = queries.category_changes(db.session, household)
    return render_template("members/category_form.html", scheme=scheme, household=household, form=form, changes=changes)


@bp.route("/schemes/<code>/households/<int:household_id>/product", methods=["GET", "POST"])
@permission_required("register.write")
def product(code: str, household_id: int):
    """Move the household to another product from a period start on, with the reason; asks first, then writes,
    audits and recomputes coverage and arrears (claims/product_changes.py)."""
    scheme = scheme_or_404(code)
    household = household_in(scheme, household_id)
    form = ProductChangeForm()
    form.product.choices = [
        (p.code, f"{p.code} — {p.name}")
        for p in db.session.scalars(select(Product).where(Product.scheme_id == scheme.id).order_by(Product.code))
    ]
    if form.validate_on_submit():
        fields = {"product": form.product.data, "from_date": form.from_date.data, "reason": form.reason.data}
        try:
            if not confirmed():
                change = check_product_change(db.session, household, **fields)
                db.session.rollback()
                return confirmation_page(
                    title=_("Change the product of household %(ref)s", ref=household.ref),
                    what=_("From %(day)s household %(ref)s has product %(after)s instead of %(before)s: contribution "
                           "periods starting on or after that day are due at the new product's amount, and care from "
                           "that day follows its benefits. Reason: %(reason)s",
                           day=change["from_date"].isoformat(), ref=household.ref, after=change["product_code"],
                           before=change["before"], reason=change["reason"]),
                    irreversible=_("A product change is kept in the register and never edited. To undo it, record "
                                   "another change back to the former product from a later period start."),
                    button=_("Change the product"),
                    back_url=url_for("members.product", code=code, household_id=household.id),
                    hidden={**fields, "from_date": change["from_date"].isoformat()},
                )  # fmt: skip
            change_product(db.session, household, **fields, actor=current_user)
        except ProductChangeError as exc:
            db.session.rollback()
            show_problems(form, exc.problems)
        else:
            db.session.commit()
            flash(_("The product of household %(ref)s is changed.", ref=household.ref), "success")
            return redirect(url_for("members.detail", code=code, household_id=household.id))
    changes = queries.product_changes(db.session, household)
    return render_template("members/product_form.html", scheme=scheme, household=household, form=form, changes=changes)


@bp.route("/schemes/<code>/persons/<int:person_id>/exit", methods=["GET", "POST"])
@permission_required("register.write")
def person_exit(code: str, person_id: int):
    """Record that a person leaves the scheme (death, resignation, other)."""
    scheme = scheme_or_404(code)
    person = in_scope_or_404(Person, person_id)
    if person.scheme_id != scheme.id:
        abort(404)
    form = ExitForm()
    if form.validate_on_submit():
        try:
            record_exit(db.session, person, date=form.date.data, reason=form.reason.data, actor=current_user)
            refresh_households(db.session, scheme, [person.household_id])
        except RegisterError as exc:
            db.session.rollback()
            show_problems(form, exc.problems)
        else:
            db.session.commit()
            flash(_("The exit of %(name)s is recorded.", name=person.full_name), "success")
            return redirect(url_for("members.detail", code=code, household_id=person.household_id))
    return render_template("members/exit_form.html", scheme=scheme, person=person, form=form)


@bp.route("/schemes/<code>/persons/<int:person_id>/correct", methods=["GET", "POST"])
@permission_required("register.write")
def person_correct(code: str, person_id: int):
    """Correct a person (names, sex, date of birth, relationship, contact), with the reason; refused when it
    would change a claim already decided. Coverage and ledgers follow in the same transaction."""
    scheme = scheme_or_404(code)
    person = in_scope_or_404(Person, person_id)
    if person.scheme_id != scheme.id:
        abort(404)
    form = PersonCorrectionForm(obj=person)
    if person.relation == "head":
        del form.relation  # the head changes on the household's correction
    if form.validate_on_submit():
        try:
            correct_person(
                db.session, person, form.changes(), reason=form.reason.data, actor=current_user,
                guard=claims_decided_otherwise,
            )  # fmt: skip
            refresh_households(db.session, scheme, [person.household_id])
        except RegisterError as exc:
            db.session.rollback()
            show_problems(form, exc.problems)
        else:
            db.session.commit()
            flash(_("The record of %(name)s is corrected.", name=person.full_name), "success")
            return redirect(url_for("members.detail", code=code, household_id=person.household_id))
    return render_template("members/correct_person.html", scheme=scheme, person=person, form=form)


@bp.route("/schemes/<code>/households/<int:household_id>/correct", methods=["GET", "POST"])
@permission_required("register.write")
def household_correct(code: str, household_id: int):
    """Correct a household (head, village, phone, language of notices), with the reason."""
    scheme = scheme_or_404(code)
    household = household_in(scheme, household_id)
    head = next((p for p in household.persons if p.relation == "head"), None)
    form = HouseholdCorrectionForm(obj=household, head=head.member_no if head is not None else None)
    form.head.choices = [
        (p.member_no, f"{p.member_no} {p.full_name}") for p in household.persons if p.exit_date is None or p is head
    ]
    if form.validate_on_submit():
        try:
            correct_household(
                db.session, household, form.changes(), reason=form.reason.data, actor=current_user,
                guard=claims_decided_otherwise,
            )  # fmt: skip
            refresh_households(db.session, scheme, [household.id])
        except RegisterError as exc:
            db.session.rollback()
            show_problems(form, exc.problems)
        else:
            db.session.commit()
            flash(_("Household %(ref)s is corrected.", ref=household.ref), "success")
            return redirect(url_for("members.detail", code=code, household_id=household.id))
    return render_template("members/correct_household.html", scheme=scheme, household=household, form=form)


LISTS = {
    "arrears": (lambda s, scheme, on: contributions_queries.households_in_arrears(s, scheme, on, village=request.args.get("village") or None), queries.arrears_table),
    "lapsing": (queries.households_about_to_lapse, queries.about_to_lapse_table),
    "struck-off": (queries.households_struck_off, queries.struck_off_table),
}  # fmt: skip


@bp.get("/schemes/<code>/lists/<kind>")
@permission_required("register.read")
def household_list(code: str, kind: str):
    """Households in arrears (the collector's round), about to lapse, or struck off; ``?format=csv`` downloads."""
    scheme = scheme_or_404(code)
    if kind not in LISTS:
        abort(404)
    on = day_arg()
    lines = LISTS[kind][0](db.session, scheme, on)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        table = LISTS[kind][1](lines, scheme.currency)
        return sheets.download(
            table, fmt, f"{scheme.code}-{kind}-{on.isoformat()}", current_scheme_locale(scheme.country)
        )
    return render_template("members/list.html", scheme=scheme, kind=kind, on=on, lines=lines)


add_upload_routes(
    bp,
    kind="members",
    importer=import_register,
    title=lambda: _("Import members"),
    permission="register.write",
    done_endpoint="members.index",
)
add_upload_routes(
    bp,
    kind="categories",
    importer=import_category_changes,
    title=lambda: _("Import household categories"),
    permission="register.write",
    done_endpoint="members.index",
    endpoint="categories_upload",
)


add_upload_routes(
    bp,
    kind="product-changes",
    importer=import_product_changes,
    title=lambda: _("Import product changes"),
    permission="register.write",
    done_endpoint="members.index",
    endpoint="product_changes_upload",
)


def init_app(app) -> None:
    """Register the blueprint and the feature's label filters (templates show labels, never codes)."""
    app.register_blueprint(bp)
    members_labels.init_app(app)
