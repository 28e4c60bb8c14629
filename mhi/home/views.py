"""The dashboard ("/"): the schemes the signed-in user may see, a few live figures for each, and links to
what the user's role can do there. Anonymous visitors are sent to the sign-in page."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mhi.core import clock
from mhi.core.access import has_permission, permission_required
from mhi.core.db import db
from mhi.home.queries import scheme_figures
from mhi.schemes.queries import visible_federations, visible_schemes

bp = Blueprint("home", __name__)


@dataclass(frozen=True)
class Action:
    """A link offered on a scheme (``code`` argument) or a federation (``federation_code`` argument)."""

    endpoint: str
    label: object
    permission: str


#: The pages of a scheme, in the order of a scheme's work: register and money, then care, then figures. Shown on
#: the dashboard and as the scheme's menu on every page of that scheme, each only to the roles that may open it.
SCHEME_ACTIONS: list[Action] = [
    Action("members.index", _l("Register"), "register.read"),
    Action("contributions.index", _l("Contributions"), "register.read"),
    Action("subsidies.index", _l("Subsidies"), "figures.read"),
    Action("claims.eligibility_page", _l("Eligibility"), "eligibility.read"),
    Action("claims.queue", _l("Claims"), "claims.view"),
    Action("claims.providers", _l("Providers"), "claims.read"),
    Action("claims.batches", _l("Payments"), "claims.view"),
    Action("reports.scheme", _l("Indicators"), "figures.read"),
    Action("pooling.scheme_accounts", _l("Accounts"), "figures.read"),
    Action("cards.print_form", _l("Membership cards"), "register.write"),
    Action("cards.statement_runs", _l("Household statements"), "register.read"),
    Action("feasibility.experience", _l("Experience"), "feasibility"),
    Action("schemes.detail", _l("Set-up"), "account"),
    Action("schemes.edit", _l("Settings"), "scheme.settings"),
]
#: Links per federation (``federation_code`` argument).
FEDERATION_ACTIONS: list[Action] = [
    Action("schemes.federation_detail", _l("Schemes and pool rules"), "federation.read"),
    Action("reports.federation", _l("Consolidated indicators"), "federation.read"),
    Action("pooling.index", _l("Guarantee pool"), "pool.run"),
    Action("pooling.pool_statement", _l("Pool statement"), "pool.run"),
    Action("pooling.stress", _l("Stress test"), "pool.run"),
]


def available(actions: list[Action], argument: str) -> list[Action]:
    """The actions whose page is registered with exactly ``argument`` and whose permission the user holds."""
    rules = current_app.url_map
    result = []
    for action in actions:
        if action.endpoint not in current_app.view_functions or not has_permission(current_user, action.permission):
            continue
        if any(rule.arguments == {argument} for rule in rules.iter_rules(action.endpoint)):
            result.append(action)
    return result


@bp.get("/")
@permission_required("account")
def index():
    """The signed-in user's schemes with their figures and links."""
    schemes = visible_schemes(db.session, current_user)
    federations = (
        visible_federations(db.session, current_user) if has_permission(current_user, "federation.read") else []
    )
    figures = scheme_figures(
        db.session, [s.id for s in schemes], clock.today(), lambda permission: has_permission(current_user, permission)
    )
    return render_template(
        "home/index.html",
        schemes=schemes,
        federations=federations,
        figures=figures,
        scheme_actions=available(SCHEME_ACTIONS, "code"),
        federation_actions=available(FEDERATION_ACTIONS, "federation_code"),
    )


def scheme_menu():
    """The current page's scheme menu: (scheme code, [(endpoint, label, current)]), or None off scheme pages.

    A page belongs to a scheme when its URL carries the scheme ``code``; the menu lists the pages of that scheme
    the user's role may open (the scheme itself was already checked by the page)."""
    code = (request.view_args or {}).get("code")
    if not code or not getattr(current_user, "is_authenticated", False):
        return None
    here = request.endpoint or ""
    blueprint = here.split(".")[0]
    items = []
    for action in available(SCHEME_ACTIONS, "code"):
        current = here == action.endpoint or (
            blueprint == action.endpoint.split(".")[0] and blueprint in ("members", "contributions", "subsidies")
        )
        items.append((action.endpoint, action.label, current))
    return code, items


def init_app(app) -> None:
    """Register the blueprint and the scheme menu every page's layout shows."""
    app.register_blueprint(bp)

    @app.context_processor
    def _scheme_menu():
        return {"scheme_menu": scheme_menu}
