"""SMS pages: the scheme's outbox (every message with its status) and a household's SMS choices."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField

from mhi.core.access import permission_required
from mhi.core.db import db
from mhi.members.models import Household
from mhi.messaging.models import OutboxMessage, SmsPreference
from mhi.messaging.services import counts_by_status, set_preferences
from mhi.schemes.access import in_scope_or_404, scheme_or_404

bp = Blueprint("messaging", __name__)

#: Messages shown on the outbox page, newest first.
LIMIT = 300


class PreferenceForm(FlaskForm):
    """A household's SMS choices."""

    opted_out = BooleanField(_l("No SMS at all"))
    claims_consent = BooleanField(_l("Also the outcome of claims (the member agreed)"))


@bp.get("/schemes/<code>/messages")
@permission_required("register.read")
def outbox(code: str):
    """The outbox: the latest messages with their status, attempts and last error."""
    scheme = scheme_or_404(code)
    rows = db.session.execute(
        select(OutboxMessage, Household.ref)
        .join(Household, Household.id == OutboxMessage.household_id)
        .where(OutboxMessage.scheme_id == scheme.id)
        .order_by(OutboxMessage.id.desc())
        .limit(LIMIT)
    ).all()
    return render_template(
        "messaging/outbox.html", scheme=scheme, rows=rows, counts=counts_by_status(db.session, scheme.id)
    )


@bp.route("/schemes/<code>/households/<int:household_id>/sms", methods=["GET", "POST"])
@permission_required("register.write")
def preferences(code: str, household_id: int):
    """A household's SMS choices: opt out, consent to claim outcomes."""
    scheme = scheme_or_404(code)
    household = in_scope_or_404(Household, household_id)
    if household.scheme_id != scheme.id:
        abort(404)
    pref = db.session.get(SmsPreference, household.id)
    form = PreferenceForm(obj=pref)
    if form.validate_on_submit():
        set_preferences(
            db.session, household, opted_out=form.opted_out.data, claims_consent=form.claims_consent.data,
            actor=current_user,
        )  # fmt: skip
        db.session.commit()
        flash(_("SMS choices of household %(ref)s saved.", ref=household.ref), "success")
        return redirect(url_for("members.detail", code=code, household_id=household.id))
    return render_template("messaging/preferences.html", scheme=scheme, household=household, form=form)


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
