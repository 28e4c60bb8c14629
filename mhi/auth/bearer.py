"""Requests that carry an API token (``Authorization: Bearer <token>``), and API requests that carry nothing.

- Only routes declared with ``permission_required(..., tokens=True)`` accept a token; any other page answers 401
  to one (a token opens the API, not the screens).
- A token travels only in the Authorization header: one in the address (``?access_token=…``) is refused, since
  addresses are written in server and proxy logs.
- The token is checked before the view (unknown, revoked, expired, or its account deactivated: 401 with a body
  saying which), then Flask-Login's ``request_loader`` makes its account the current user for this request only:
  no session is opened, no cookie set. Such a request needs no CSRF token (``mhi/core/web.py``): a header no
  other site can make a browser send is not an ambient credential.
- A request for ``/api/`` or ``/fhir/`` that is not signed in gets 401 in the API's shape, never a redirect to
  the sign-in page.
- A write made with a token is audited as such (the service's own audit row names the account); the row is
  part of the view's transaction, so a refused write leaves no trace either.
"""

from __future__ import annotations

from flask import current_app, g, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mhi.auth.tokens import check_secret
from mhi.core.audit import record
from mhi.core.db import db
from mhi.core.problems import API_PREFIXES, problem
from mhi.core.web import login_manager

#: Query-string names under which clients commonly put a token; all refused.
TOKEN_PARAMETERS = frozenset({"access_token", "token", "api_key", "apikey", "bearer", "auth"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mhi"'}

REFUSALS = {
    "unknown": _l("This API token is not known."),
    "revoked": _l("This API token has been revoked."),
    "expired": _l("This API token has expired."),
    "inactive": _l("The account of this API token is deactivated."),
}


def bearer_header() -> bool:
    """True when the request carries an Authorization header (then it is judged by its token alone)."""
    return "Authorization" in request.headers


def _view():
    """The view function of the matched route (None for an unknown address)."""
    return current_app.view_functions.get(request.endpoint) if request.endpoint else None


def _accepts_token() -> bool:
    """Does the matched route accept tokens (declared in its ``permission_required``)?"""
    return bool(getattr(_view(), "accepts_token", False))


def _public() -> bool:
    """Is the matched route public (the API's description, its documentation page)?"""
    view = _view()
    return view is not None and getattr(view, "required_permission", "") is None


def authenticate_request():
    """Before every request: check the token, or refuse an API request that has no credentials."""
    g.api_token = None
    if request.endpoint == "static":
        return None
    api = request.path.startswith(API_PREFIXES) or _accepts_token()
    if api and any(name.lower() in TOKEN_PARAMETERS for name in request.args):
        return problem(
            400, _l("Send the API token in the Authorization header, never in the address (addresses are logged).")
        )
    if not bearer_header():
        if request.path.startswith(API_PREFIXES) and not _public() and not current_user.is_authenticated:
            return problem(401, headers=CHALLENGE)
        return None
    if request.endpoint is not None and not _accepts_token():
        # (an unknown address is checked like any other, then answered 404)
        return problem(401, _l("This address does not accept API tokens."), headers=CHALLENGE)
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        return problem(401, _l("Write the header as: Authorization: Bearer <token>."), headers=CHALLENGE)
    if session.get("_user_id"):
        return problem(401, _l("Send either an API token or a session cookie, not both."), headers=CHALLENGE)
    checked = check_secret(db.session, auth.token)
    if checked.token is None:
        return problem(401, REFUSALS[checked.refusal], headers=CHALLENGE)
    g.api_token = checked.token
    g.pop("_login_user", None)  # whoever looked before this hook saw nobody: load the token's account now
    if request.method in WRITE_METHODS:
        record(
            db.session,
            actor=checked.token.user,
            entity="api_token",
            entity_id=checked.token.id,
            action="write",
            scheme_id=checked.token.user.scheme_id,
            after={"method": request.method, "path": request.path},
        )
    return None


@login_manager.request_loader
def load_user_from_token(_request):
    """Flask-Login's request loader: the account of the token checked by ``authenticate_request``."""
    token = g.get("api_token")
    return token.user if token is not None else None


def init_app(app) -> None:
    """Check tokens before every view."""
    app.before_request(authenticate_request)
