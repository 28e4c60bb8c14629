"""Set-up screens: federations (their schemes and pool rules) and schemes (products with every version side by
side, subsidy programmes, providers with tariffs); an administrator creates both, a scheme manager edits its
scheme's settings. Scheme URLs use the scheme code; another scheme's pages answer 404 (core/access.py)."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mhi.core.access import permission_required
from mhi.core.db import db
from mhi.core.errors import say
from mhi.core.formatting import display_locale
from mhi.schemes import labels as schemes_labels
from mhi.schemes import queries
from mhi.schemes.access import federation_or_404, scheme_or_404
from mhi.schemes.forms import (
    CARD_LAYOUT_LABELS,
    INDICATOR_LABELS,
    FederationForm,
    SchemeForm,
    SchemeSettingsForm,
)
from mhi.schemes.models import Scheme
from mhi.schemes.operations import SetupError, create_federation, create_scheme, update_scheme
from mhi.schemes.settings import THRESHOLD_KEYS, card_layout, direction, threshold_overrides, thresholds

bp = Blueprint("schemes", __name__)


@bp.get("/federations")
@permission_required("federation.read")
def federations():
    """The federations the user may see (an administrator: all; a reviewer: its own)."""
    items = queries.visible_federations(db.session, current_user)
    return render_template("schemes/federation_index.html", federations=items)


@bp.route("/federations/new", methods=["GET", "POST"])
@permission_required("admin")
def federation_new():
    """An administrator creates a federation."""
    form = FederationForm()
    if form.validate_on_submit():
        try:
            federation = create_federation(
                db.session, code=form.code.data, name=form.name.data, currency=form.currency.data, actor=current_user
            )
        except SetupError as exc:
            db.session.rollback()
            form.code.errors.append(say(exc))
        else:
            db.session.commit()
            flash(_("Federation %(code)s created.", code=federation.code), "success")
            return redirect(url_for("schemes.federation_detail", federation_code=federation.code))
    return render_template("schemes/federation_form.html", form=form)


@bp.get("/federations/<federation_code>")
@permission_required("federation.read")
def federation_detail(federation_code: str):
    """A federation: its schemes and its guarantee-pool rules, each dated (pooling.md)."""
    federation = federation_or_404(federation_code)
    return render_template("schemes/federation_detail.html", federation=federation)


@bp.get("/schemes")
@permission_required("account")
def index():
    """The schemes the user may see."""
    return render_template("schemes/index.html", schemes=queries.visible_schemes(db.session, current_user))


@bp.route("/schemes/new", methods=["GET", "POST"])
@permission_required("admin")
def scheme_new():
    """An administrator creates a scheme (its products come from scheme.json or the product screens)."""
    form = SchemeForm()
    if form.validate_on_submit():
        try:
            scheme = create_scheme(
                db.session,
                code=form.code.data,
                name=form.name.data,
                country=form.country.data,
                currency=form.currency.data,
                federation=form.chosen_federation(),
                target_population=form.target_population.data,
                opening_date=form.opening_date.data,
                opening_reserve=form.opening_reserve.amount,
                opening_cash=form.opening_cash.amount,
                locale=display_locale(form.language.data, form.country.data),
                actor=current_user,
            )
        except SetupError as exc:
            db.session.rollback()
            form.code.errors.append(say(exc))
        else:
            db.session.commit()
            flash(_("Scheme %(code)s created.", code=scheme.code), "success")
            return redirect(url_for("schemes.detail", code=scheme.code))
    return render_template("schemes/form.html", form=form)


@bp.get("/schemes/<code>")
@permission_required("account")
def detail(code: str):
    """A scheme's set-up: products (every version side by side), subsidy programmes, providers and tariffs."""
    scheme = scheme_or_404(code)
    return render_template(
        "schemes/detail.html",
        scheme=scheme,
        products=queries.product_matrices(db.session, scheme),
        providers=queries.providers_with_tariffs(db.session, scheme),
        card_layout=card_layout(scheme),
        card_layout_labels=CARD_LAYOUT_LABELS,
        thresholds=thresholds(scheme),
        overrides=threshold_overrides(scheme),
        indicator_labels=INDICATOR_LABELS,
        directions={key: direction(key) for key in THRESHOLD_KEYS},
    )


@bp.route("/schemes/<code>/edit", methods=["GET", "POST"])
@permission_required("scheme.settings")
def edit(code: str):
    """A scheme manager changes the name, target population, locale and settings of its scheme."""
    scheme = scheme_or_404(code)
    # On a POST the form holds exactly what was sent: an emptied box means "back to the default".
    form = SchemeSettingsForm(scheme, data=None if request.method == "POST" else _settings_data(scheme))
    if form.validate_on_submit():
        try:
            update_scheme(
                db.session,
                scheme,
                name=form.name.data,
                target_population=form.target_population.data,
                locale=form.locale.data,
                card_layout=form.card_layout.data,
                threshold_overrides=form.threshold_overrides(),
                actor=current_user,
                override_approval_above=form.override_approval_above.data,
                quorum_share=form.quorum_share.data,
            )
        except SetupError as exc:
            db.session.rollback()
            form.name.errors.append(say(exc))
        else:
            db.session.commit()
            flash(_("The settings of %(code)s are saved.", code=scheme.code), "success")
            return redirect(url_for("schemes.detail", code=scheme.code))
    return render_template("schemes/settings.html", form=form, scheme=scheme, indicator_labels=INDICATOR_LABELS)


def _stored_quorum(scheme: Scheme) -> Decimal | None:
    """The quorum the scheme set (None: the default half)."""
    value = ((scheme.settings or {}).get("governance") or {}).get("quorum_share")
    return Decimal(value) if value else None


def _settings_data(scheme: Scheme) -> dict:
    """The form's initial values: the scheme as it is, threshold fields only where the scheme overrode."""
    data = {
        "name": scheme.name,
        "target_population": scheme.target_population,
        "locale": scheme.locale,
        "card_layout": card_layout(scheme),
        "override_approval_above": (scheme.settings or {}).get("override_approval_above", ""),
        "quorum_share": _stored_quorum(scheme),
    }
    data.update(threshold_overrides(scheme))
    return data


def init_app(app) -> None:
    """Register the blueprint and the feature's label filters (templates show labels, never codes)."""
    app.register_blueprint(bp)
    schemes_labels.init_app(app)
