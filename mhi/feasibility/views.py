"""Feasibility screens: the studies a user may see, the study form, results (projection, charts, sensitivity,
break-even, PDF), copies and side-by-side comparison; making a product of a study; a product's versions (draft →
active on a recent study); and a running scheme's experience against its assumptions.

Permissions (core/access.py): "feasibility" to see, run and copy studies; "scheme.settings" to make products,
edit drafts and activate versions. Another scheme's records answer 404.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from mhi.core import clock, formatting
from mhi.core.access import permission_required
from mhi.core.confirm import confirmation_page, confirmed
from mhi.core.db import db
from mhi.core.errors import say
from mhi.core.limits import INT_MAX
from mhi.core.web import current_scheme_locale
from mhi.feasibility import experience as exp
from mhi.feasibility import services
from mhi.feasibility.charts import bar_chart
from mhi.feasibility.forms import (
    AttachStudyForm,
    NewVersionForm,
    ProductFromStudyForm,
    StudyForm,
    VersionForm,
    add_blank_rows,
    study_form_data,
    version_form_data,
)
from mhi.feasibility.method import StudyError, explain_break_even, parse_study
from mhi.feasibility.models import Study
from mhi.governance import services as governance
from mhi.governance.forms import kind_labels as governance_kinds
from mhi.governance.models import Resolution
from mhi.schemes import versions
from mhi.schemes.access import in_scope_or_404, scheme_or_404
from mhi.schemes.models import Product, ProductVersion, Scheme
from mhi.schemes.queries import visible_schemes
from mhi.schemes.services import version_in_force

bp = Blueprint("feasibility", __name__, url_prefix="/feasibility")


# ---------------------------------------------------------------------------------------------------- studies


@bp.get("/")
@permission_required("feasibility")
def index():
    """The studies the user may see, with boxes to compare 2 to 4 of them."""
    studies = services.visible_studies(db.session, current_user)
    return render_template("feasibility/index.html", studies=studies, schemes=visible_schemes(db.session, current_user))


@bp.route("/new", methods=["GET", "POST"])
@permission_required("feasibility")
def new():
    """The study form, blank or pre-filled from a scheme's experience (``?experience=CODE&product=CODE``)."""
    initial = None
    if request.method == "GET" and request.args.get("experience"):
        scheme = scheme_or_404(request.args["experience"])
        initial = exp.experience_study_input(_experience(scheme, request.args.get("product")))
        initial["_scheme"] = scheme.code
    elif request.method == "GET" and current_user.scheme is not None:
        # A scheme manager studies his own scheme: its currency and population are known already.
        scheme = current_user.scheme
        initial = {"currency": scheme.currency, "target_population": scheme.target_population, "_scheme": scheme.code}
    return _study_form(None, initial)


@bp.route("/<int:study_id>/edit", methods=["GET", "POST"])
@permission_required("feasibility")
def edit(study_id: int):
    """Change a study and run it again (a study backing a product version is refused: copy it)."""
    study = _study_or_404(study_id)
    initial = dict(study.input)
    initial["_scheme"] = study.scheme.code if study.scheme else ""
    return _study_form(study, initial)


def _study_form(study: Study | None, initial: dict | None):
    """Show the form, add a row, or run and save the study (post/redirect/get)."""
    if request.method == "POST":
        form = StudyForm()
    else:
        form = StudyForm(data=study_form_data(initial or {}) | {"scheme": (initial or {}).get("_scheme", "")})
        add_blank_rows(form)
    form.scheme.choices = _scheme_choices()
    if form.validate_on_submit():
        if form.add_service.data:
            form.services.append_entry()
            return _render_study_form(form, study)
        data = form.study_data()
        scheme = _chosen_scheme(form.scheme.data)
        try:
            if study is None:
                study = services.save_study(
                    db.session,
                    data,
                    scheme=scheme,
                    federation_id=current_user.federation_id,
                    actor=current_user,
                    now=clock.stored_now(),
                )
            else:
                services.update_study(
                    db.session, study, data, scheme=scheme, actor=current_user, now=clock.stored_now()
                )
        except StudyError as exc:
            db.session.rollback()
            form.show_errors(exc.errors)
        except services.StudyLocked as exc:
            db.session.rollback()
            form.form_errors.append(say(exc))
        else:
            db.session.commit()
            flash(_("The study %(name)s is saved.", name=study.name), "success")
            return redirect(url_for("feasibility.detail", study_id=study.id))
    return _render_study_form(form, study)


def _render_study_form(form: StudyForm, study: Study | None):
    """The form page."""
    return render_template("feasibility/form.html", form=form, study=study)


def _scheme_choices() -> list[SelectChoice]:
    """The schemes a study may be attached to: a scheme user's own; others may also leave it unattached."""
    schemes = visible_schemes(db.session, current_user)
    choices = [SelectChoice(s.code, f"{s.code} — {s.name}") for s in schemes]
    if current_user.role in ("admin", "federation_reviewer") or not choices:
        choices.insert(0, SelectChoice("", _("none (a scheme still to found)")))
    return choices


def _chosen_scheme(code: str | None) -> Scheme | None:
    """The scheme picked in the form (its choices are already limited to the user's schemes)."""
    return scheme_or_404(code) if code else None


@bp.get("/<int:study_id>")
@permission_required("feasibility")
def detail(study_id: int):
    """A study's results: key figures, projection table and charts, sensitivity, break-even in words."""
    study = _study_or_404(study_id)
    result = study.result
    country = study.scheme.country if study.scheme else None
    currency = result["currency"]

    locale = current_scheme_locale(country)
    explanation = explain_break_even(
        result,
        gettext=_,
        format_money=lambda amount: formatting.money(Decimal(amount), currency, locale),
        format_count=lambda count: formatting.number(count, locale),
    )
    projection = result["projection"]
    years = [str(row["year"]) for row in projection]
    charts = {
        "beneficiaries": bar_chart(
            years,
            [
                (_("renewed"), "series-renewed", [r["renewed"] for r in projection]),
                (_("new"), "series-new", [r["new"] for r in projection]),
            ],
        ),
        "money": bar_chart(
            years,
            [
                (
                    _("contributions and subsidies"),
                    "series-income",
                    [_sum(r["member_contributions"], r["subsidies"]) for r in projection],
                ),
                (_("claims"), "series-claims", [r["claims"] for r in projection]),
                (_("result"), "series-result", [r["result"] for r in projection]),
                (_("reserve"), "series-reserve", [r["reserve"] for r in projection]),
            ],
        ),
    }
    return render_template(
        "feasibility/detail.html",
        study=study,
        result=result,
        country=country,
        explanation=explanation,
        charts=charts,
        locked=services.is_locked(db.session, study),
    )


def _sum(*amounts: str) -> Decimal:
    """The sum of amount strings, exactly."""
    return sum((Decimal(a) for a in amounts), Decimal(0))


@bp.get("/<int:study_id>/pdf")
@permission_required("feasibility")
def pdf(study_id: int):
    """The study as a PDF report (feasibility.md, printed), in the reader's language."""
    from mhi.feasibility.pdf import study_pdf

    study = _study_or_404(study_id)
    country = study.scheme.country if study.scheme else None
    data = study_pdf(study.result, locale=current_scheme_locale(country), gettext=_, study=parse_study(study.input))
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="study-{study.id}.pdf"'},
    )


@bp.post("/<int:study_id>/copy")
@permission_required("feasibility")
def copy(study_id: int):
    """Copy a study (to try other assumptions, or to change one that backs a version) and open the copy."""
    study = _study_or_404(study_id)
    name = _("Copy of %(name)s", name=study.name)[:200]
    copied = services.copy_study(db.session, study, name=name, actor=current_user, now=clock.stored_now())
    db.session.commit()
    flash(_("The study is copied; change what you want to try."), "success")
    return redirect(url_for("feasibility.edit", study_id=copied.id))


@bp.get("/compare")
@permission_required("feasibility")
def compare():
    """2 to 4 studies side by side: key figures and the projection's last year."""
    ids = [int(x) for x in request.args.getlist("ids") if x.isdigit() and len(x) <= 10 and int(x) <= INT_MAX]
    studies = [_study_or_404(i) for i in dict.fromkeys(ids)]
    if not 2 <= len(studies) <= services.MAX_COMPARED:
        flash(_("Tick 2 to 4 studies to compare them."), "error")
        return redirect(url_for("feasibility.index"))
    return render_template("feasibility/compare.html", comparison=services.compare_studies(studies))


def _study_or_404(study_id: int) -> Study:
    """A study the user may see; 404 otherwise (also when it exists elsewhere: nothing leaks by URL)."""
    study = services.visible_study(db.session, current_user, study_id)
    if study is None:
        abort(404)
    return study


# ---------------------------------------------------------------------------------------- study to product


@bp.route("/<int:study_id>/product", methods=["GET", "POST"])
@permission_required("scheme.settings")
def make_product(study_id: int):
    """Turn a study into a new product of a scheme, with a draft version the manager then edits."""
    study = _study_or_404(study_id)
    form = ProductFromStudyForm(
        data={"scheme": study.scheme.code if study.scheme else "", "effective_from": clock.today()}
    )
    schemes = [study.scheme] if study.scheme else visible_schemes(db.session, current_user)
    form.scheme.choices = [SelectChoice(s.code, f"{s.code} — {s.name}") for s in schemes]
    if form.validate_on_submit():
        scheme = scheme_or_404(form.scheme.data)
        try:
            product = services.create_product_from_study(
                db.session,
                study,
                scheme,
                code=form.code.data,
                name=form.name.data,
                period_months=int(form.period_months.data),
                effective_from=form.effective_from.data,
                actor=current_user,
                newborn_days=form.newborn_days.data,
            )
        except services.ProductError as exc:
            db.session.rollback()
            field = getattr(form, exc.field if exc.field in ("code", "name") else "code")
            field.errors = [*field.errors, say(exc)]
        else:
            db.session.commit()
            flash(_("Product %(code)s is made as a draft; check it, then activate it.", code=product.code), "success")
            return redirect(url_for("feasibility.version", version_id=product.versions[0].id))
    return render_template("feasibility/product_form.html", form=form, study=study)


# -------------------------------------------------------------------------------------------------- versions


@bp.get("/products/<int:product_id>")
@permission_required("feasibility")
def product(product_id: int):
    """A product's versions, oldest first; a manager starts a new one here."""
    item = in_scope_or_404(Product, product_id)
    form = NewVersionForm(data={"effective_from": clock.today()})
    return render_template(
        "schemes/versions/product.html",
        product=item,
        versions=versions.versions_of(db.session, item),
        form=form,
        experience=_studied_experience(item),
    )


def _studied_experience(product: Product) -> exp.Experience | None:
    """The last 12 months of ``product`` against the study its version in force was decided on; None without one
    (there is nothing to compare with)."""
    date_from, date_to = exp.last_twelve_months(clock.today())
    version = version_in_force(product.versions, date_to)
    if version is None or version.study_id is None:
        return None
    return exp.product_experience(db.session, product.scheme, product, date_from, date_to)


@bp.post("/products/<int:product_id>/versions")
@permission_required("scheme.settings")
def version_new(product_id: int):
    """Start a draft version of a product from an effective date."""
    item = in_scope_or_404(Product, product_id)
    form = NewVersionForm()
    if form.validate_on_submit():
        try:
            draft = versions.new_draft(
                db.session, item, effective_from=form.effective_from.data, today=clock.today(), actor=current_user
            )
        except versions.VersionError as exc:
            db.session.rollback()
            form.effective_from.errors = [*form.effective_from.errors, say(exc)]
        else:
            db.session.commit()
            return redirect(url_for("feasibility.version_edit", version_id=draft.id))
    return render_template(
        "schemes/versions/product.html",
        product=item,
        versions=versions.versions_of(db.session, item),
        form=form,
        experience=_studied_experience(item),
    ), 400


@bp.get("/versions/<int:version_id>")
@permission_required("feasibility")
def version(version_id: int):
    """A version beside the one it replaces, each with its expected claims ratio; attach a study, activate."""
    item = _version_or_404(version_id)
    scheme = item.product.scheme
    today = clock.today()
    old = versions.previous_version(db.session, item)
    study = db.session.get(Study, item.study_id) if item.study_id else None
    form = AttachStudyForm(data={"study": item.study_id})
    form.study.choices = [
        SelectChoice(s.id, f"{s.name} ({s.run_at:%Y-%m-%d})") for s in services.studies_of_scheme(db.session, scheme)
    ]
    return render_template(
        "schemes/versions/detail.html",
        version=item,
        old=old,
        scheme=scheme,
        pairs=versions.benefit_pairs(old, item),
        study=study,
        new_ratio=services.study_claims_ratio(db.session, item),
        old_ratio=services.replaced_claims_ratio(db.session, old, today=today) if old else None,
        problems=[say(p) for p in versions.activation_problems(item, study, today=today)]
        if item.status == "draft"
        else [],
        form=form,
        resolutions=governance.supporting_resolutions(db.session, scheme.id, today) if item.status == "draft" else [],
        kinds=governance_kinds(),
    )


@bp.route("/versions/<int:version_id>/edit", methods=["GET", "POST"])
@permission_required("scheme.settings")
def version_edit(version_id: int):
    """Edit a draft's contribution and benefits (an active version is history and cannot change)."""
    item = _version_or_404(version_id)
    if item.status != "draft":
        flash(_("An active version cannot change; start a new version with its own effective date."), "error")
        return redirect(url_for("feasibility.version", version_id=item.id))
    form = VersionForm() if request.method == "POST" else VersionForm(data=version_form_data(item))
    if request.method == "GET":
        form.benefits.append_entry()
    if form.validate_on_submit():
        if form.add_benefit.data:
            form.benefits.append_entry()
        else:
            rules = form.rules(item.product.scheme.currency)
            if rules is not None:
                try:
                    versions.update_draft(
                        db.session, item, values=rules[0], benefits=rules[1], today=clock.today(), actor=current_user
                    )
                except versions.VersionError as exc:
                    db.session.rollback()
                    form.form_errors.append(say(exc))
                else:
                    db.session.commit()
                    flash(_("The draft is saved."), "success")
                    return redirect(url_for("feasibility.version", version_id=item.id))
    return render_template("schemes/versions/form.html", form=form, version=item)


@bp.post("/versions/<int:version_id>/study")
@permission_required("scheme.settings")
def version_study(version_id: int):
    """Attach the study a draft is decided on (a study of the same scheme)."""
    item = _version_or_404(version_id)
    form = AttachStudyForm()
    form.study.choices = [
        SelectChoice(s.id, s.name) for s in services.studies_of_scheme(db.session, item.product.scheme)
    ]
    if form.validate_on_submit():
        study = _study_or_404(form.study.data)
        try:
            versions.attach_study(db.session, item, study, actor=current_user)
        except versions.VersionError as exc:
            db.session.rollback()
            flash(say(exc), "error")
        else:
            db.session.commit()
            flash(_("The study is attached."), "success")
    else:
        flash(_("Choose a study of this scheme."), "error")
    return redirect(url_for("feasibility.version", version_id=item.id))


@bp.post("/versions/<int:version_id>/activate")
@permission_required("scheme.settings")
def version_activate(version_id: int):
    """Activate a draft: refused, with the reasons, without a study run on its rules within 12 months. Asks first."""
    item = _version_or_404(version_id)
    study = db.session.get(Study, item.study_id) if item.study_id else None
    chosen = request.form.get("resolution", "")
    resolution = db.session.get(Resolution, int(chosen)) if chosen.isdigit() and int(chosen) <= INT_MAX else None
    if not confirmed():
        return confirmation_page(
            title=_("Activate the version of %(product)s from %(day)s", product=item.product.code,
                    day=item.effective_from.isoformat()),
            what=_("From %(day)s, its contribution and benefits apply to every household of the product.",
                   day=item.effective_from.isoformat()),
            irreversible=_("An active version is history: it cannot be edited or withdrawn, and the claims and "
                           "contributions of its period are decided by it. A later change is a new version "
                           "with its own effective date."),
            button=_("Activate this version"),
            back_url=url_for("feasibility.version", version_id=item.id),
            hidden={"resolution": chosen} if chosen else None,
        )  # fmt: skip
    try:
        versions.activate_version(db.session, item, study, resolution, today=clock.today(), actor=current_user)
    except versions.VersionError as exc:
        db.session.rollback()
        flash(_("The version cannot be activated: %(reasons)s.", reasons=say(exc)), "error")
    else:
        db.session.commit()
        flash(_("The version is active from %(day)s.", day=item.effective_from.isoformat()), "success")
    return redirect(url_for("feasibility.version", version_id=item.id))


def _version_or_404(version_id: int) -> ProductVersion:
    """A product version of one of the user's schemes; 404 otherwise."""
    item = db.session.get(ProductVersion, version_id)
    if item is None:
        abort(404)
    in_scope_or_404(Product, item.product_id)
    return item


# ------------------------------------------------------------------------------------------------ experience


@bp.get("/schemes/<code>/experience")
@permission_required("feasibility")
def experience(code: str):
    """A running scheme's last 12 months against the assumptions its product was decided on."""
    scheme = scheme_or_404(code)
    if not scheme.products:
        flash(_("This scheme has no product yet."), "error")
        return redirect(url_for("feasibility.index"))
    found = _experience(scheme, request.args.get("product"))
    return render_template("feasibility/experience.html", scheme=scheme, experience=found)


def _experience(scheme: Scheme, product_code: str | None) -> exp.Experience:
    """The experience of the chosen product (the first one by default) over the last 12 months."""
    products = {p.code: p for p in scheme.products}
    if not products:
        abort(404)
    chosen = products.get(product_code or "") or next(iter(products.values()))
    date_from, date_to = exp.last_twelve_months(clock.today())
    return exp.product_experience(db.session, scheme, chosen, date_from, date_to)


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
