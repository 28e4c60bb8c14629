"""The audit trail's pages (permission "audit.read": scheme managers, auditors, administrators).

``/audit`` lists the trail for a period, newest first, filtered by scheme, kind of record, action and who acted;
``/audit/export.csv`` gives the same rows as CSV (formula-safe: core/tabular.write_csv). A scheme user reads only
the rows of their own scheme (mhi/audit/queries.py). Record pages show their history with the macro of
``templates/audit/_history.html`` through the ``audit_history(entity, entity_id)`` template function.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import Form, SelectChoice, SelectField, StringField
from wtforms.validators import Optional, ValidationError

from mhi.audit import queries
from mhi.core import clock, sheets
from mhi.core.access import has_permission, permission_required
from mhi.core.db import db
from mhi.core.limits import INT_MAX, DateField, query_int
from mhi.core.web import current_scheme_locale
from mhi.schemes.access import visible_scheme_ids

bp = Blueprint("audit", __name__)

#: How long a period the list shows when none is asked for.
DEFAULT_DAYS = 30

#: How each kind of record is named on screen (a kind without a name is shown as stored).
ENTITY_LABELS = {
    "claim": _l("Claim"),
    "claim_draft": _l("Draft claim"),
    "federation": _l("Federation"),
    "group_payer": _l("Group payer"),
    "group_payment": _l("Group payment"),
    "household": _l("Household"),
    "import": _l("File import"),
    "meeting": _l("General assembly or board meeting"),
    "payment_batch": _l("Payment batch"),
    "payment_operator": _l("Payment operator"),
    "person": _l("Member"),
    "pool_settlement": _l("Pool settlement"),
    "product": _l("Product"),
    "product_version": _l("Product version"),
    "provider": _l("Provider"),
    "receipt": _l("Contribution receipt"),
    "scheme": _l("Scheme"),
    "statement_line": _l("Statement line"),
    "study": _l("Feasibility study"),
    "subsidy_claim": _l("Subsidy claim"),
    "subsidy_programme": _l("Subsidy programme"),
    "subsidy_receipt": _l("Subsidy receipt"),
    "login_throttle": _l("Failed sign-ins"),
    "user": _l("Account"),
}

#: How each action is named on screen (an action without a name is shown as stored).
ACTION_LABELS = {
    "activate": _l("activated"),
    "add": _l("added"),
    "add_member": _l("household added"),
    "assigned": _l("assigned to a household"),
    "attach_study": _l("study attached"),
    "close": _l("closed"),
    "contributions": _l("contributions imported"),
    "create": _l("created"),
    "create_from_study": _l("created from a study"),
    "deactivate": _l("deactivated"),
    "discard": _l("discarded"),
    "decide": _l("decided"),
    "draft": _l("draft computed"),
    "edit_draft": _l("draft corrected"),
    "enrol": _l("enrolled"),
    "exit": _l("left"),
    "expenses": _l("expenses imported"),
    "follow_programme": _l("programme followed"),
    "unfollow_programme": _l("programme no longer followed"),
    "link_reenrolment": _l("linked to its earlier household"),
    "load": _l("loaded"),
    "address_lift": _l("failed sign-ins of an address forgotten"),
    "lock": _l("locked after failed sign-ins"),
    "members": _l("members imported"),
    "new_draft": _l("draft started"),
    "new_version": _l("new version"),
    "not_ours": _l("marked not ours"),
    "override": _l("decision overridden"),
    "paid": _l("paid"),
    "password_change": _l("password changed"),
    "pool_rules": _l("pool rules changed"),
    "reactivate": _l("reactivated"),
    "remove_member": _l("household taken out"),
    "record": _l("recorded"),
    "record_meeting": _l("meeting recorded"),
    "remove_claim": _l("claim removed"),
    "rename": _l("renamed"),
    "save_draft": _l("draft saved"),
    "session_end": _l("session ended"),
    "sign_in_throttled": _l("failed sign-ins: held back from one address"),
    "sessions_end": _l("sessions ended"),
    "sign_off": _l("signed off"),
    "sms_preferences": _l("SMS choices changed"),
    "submit": _l("submitted"),
    "statement": _l("operator's statement imported"),
    "reverse": _l("reversed"),
    "subsidy_receipts": _l("subsidy receipts imported"),
    "tariffs": _l("tariffs changed"),
    "throttle_lift": _l("wait after failed sign-ins lifted"),
    "update": _l("changed"),
    "update_draft": _l("draft changed"),
}


class TrailForm(Form):
    """The list's filters, read from the query string (a GET form: nothing to protect with a CSRF token)."""

    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    scheme = SelectField(_l("Scheme"), validators=[Optional()], validate_choice=False)
    entity = SelectField(_l("Record"), validators=[Optional()], validate_choice=False)
    action = SelectField(_l("Action"), validators=[Optional()], validate_choice=False)
    actor = StringField(_l("By (e-mail)"), validators=[Optional()])

    def validate_date_to(self, field):
        """A period ends on or after its first day."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The period ends before it starts."))


def _form() -> TrailForm:
    """The filter form from the query string, with the choices the user may pick from."""
    form = TrailForm(request.args)
    ids = visible_scheme_ids(current_user)
    from mhi.schemes.models import Scheme

    schemes = select(Scheme).order_by(Scheme.code)
    if ids is not None:
        schemes = schemes.where(Scheme.id.in_(ids))
    entities, actions = queries.known_values(db.session, current_user)
    everything = SelectChoice("", _l("All"))
    form.scheme.choices = [everything] + [
        SelectChoice(str(s.id), f"{s.code} — {s.name}") for s in db.session.scalars(schemes)
    ]
    form.entity.choices = [everything] + [SelectChoice(e, ENTITY_LABELS.get(e, e)) for e in entities]
    form.action.choices = [everything] + [SelectChoice(a, ACTION_LABELS.get(a, a)) for a in actions]
    return form


def _filter(form: TrailForm) -> queries.TrailFilter:
    """The filter the form asks for; a bad value is shown beside its field and the default is used instead."""
    form.validate()
    today = clock.today()
    date_to = form.date_to.data if not form.date_to.errors and form.date_to.data else today
    date_from = form.date_from.data if not form.date_from.errors and form.date_from.data else None
    if date_from is None or date_from > date_to:
        date_from = date_to - timedelta(days=DEFAULT_DAYS)
    scheme = form.scheme.data
    return queries.TrailFilter(
        date_from=date_from,
        date_to=date_to,
        scheme_id=int(scheme) if scheme and scheme.isascii() and scheme.isdigit() and int(scheme) <= INT_MAX else None,
        entity=form.entity.data or None,
        action=form.action.data or None,
        actor=(form.actor.data or "").strip() or None,
    )


@bp.get("/audit")
@permission_required("audit.read")
def index():
    """The trail for a period, newest first, a page at a time."""
    form = _form()
    wanted = _filter(form)
    page = queries.trail_page(db.session, current_user, wanted, query_int("page", 1, minimum=-INT_MAX))
    arguments = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("audit/index.html", form=form, wanted=wanted, page=page, arguments=arguments)


@bp.get("/audit/export.csv")
@permission_required("audit.read")
def export():
    """The same rows as CSV, oldest first: one line per change, before and after as JSON."""
    return _export("csv")


@bp.get("/audit/export.xlsx")
@permission_required("audit.read")
def export_xlsx():
    """The same rows as a workbook."""
    return _export("xlsx")


def _export(fmt: str):
    """The filtered trail as a download, headers in the user's language."""
    wanted = _filter(_form())
    columns = [
        sheets.Column("id", "count"),
        sheets.Column(_l("When")),
        sheets.Column(_l("Who")),
        sheets.Column(_l("Scheme")),
        sheets.Column(_l("Record")),
        sheets.Column(_l("Record number"), "count"),
        sheets.Column(_l("Change")),
        sheets.Column(_l("Before")),
        sheets.Column(_l("After")),
    ]
    rows = [
        [
            row.id,
            row.at.isoformat(sep=" ", timespec="seconds"),
            row.actor or "system",
            row.scheme,
            row.entity,
            row.entity_id,
            row.action,
            _json(row.before),
            _json(row.after),
        ]
        for row in queries.trail_rows(db.session, current_user, wanted)
    ]
    stem = f"audit-{wanted.date_from.isoformat()}-{wanted.date_to.isoformat()}"
    return sheets.download(sheets.Table(_l("Audit trail"), columns, rows), fmt, stem, current_scheme_locale())


def _json(values) -> str | None:
    """Before/after as compact JSON text (keys sorted, so two exports of the same rows are identical)."""
    return None if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


def audit_history(entity: str, entity_id: int) -> list[queries.TrailRow]:
    """Template function: the history of one record, for a user holding "audit.read" (others: nothing).

    The page calling it has already checked that the record is in the user's scope.
    """
    if entity_id is None or not has_permission(current_user, "audit.read"):
        return []
    return queries.history(db.session, entity, entity_id)


def init_app(app) -> None:
    """Register the pages and the template helpers."""
    app.register_blueprint(bp)
    app.add_template_global(audit_history, "audit_history")
    app.add_template_global(queries.changes, "audit_changes")
    app.add_template_global(ENTITY_LABELS, "audit_entity_labels")
    app.add_template_global(ACTION_LABELS, "audit_action_labels")
