"""Who may do what, and on which schemes.

Every view declares one permission with ``@permission_required``; the decorator records it on the view so a
test can walk every registered route and prove none was left unguarded. Records are always loaded through
``scheme_or_404`` / ``in_scope_or_404``: a record of a scheme the user may not see answers 404, exactly as a
record that does not exist, so nothing leaks by URL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from mhi.core.db import db

#: permission → roles that hold it (admin holds every permission).
PERMISSIONS: dict[str, frozenset[str]] = {
    # Any signed-in user: their own account, the dashboard, the language.
    "account": frozenset({"federation_reviewer", "scheme_manager", "clerk", "claims_officer", "auditor", "funder"}),
    # The register and contributions (patient identity, not health data).
    "register.read": frozenset({"scheme_manager", "clerk", "auditor", "claims_officer"}),
    "register.write": frozenset({"scheme_manager", "clerk"}),
    "contributions.write": frozenset({"scheme_manager", "clerk"}),
    "subsidies.write": frozenset({"scheme_manager"}),
    # A programme's subsidy claim names its beneficiary households (no health data): the scheme prepares it.
    "subsidy_claims.read": frozenset({"scheme_manager", "auditor"}),
    # A funder sees only the programmes it follows: their claims and due/received/outstanding. No scheme page.
    "funder.read": frozenset({"funder"}),
    # Patient-level health data: claims and their diagnoses. Never a federation reviewer.
    "claims.read": frozenset({"scheme_manager", "claims_officer", "auditor"}),
    "claims.write": frozenset({"scheme_manager", "claims_officer"}),
    "providers.write": frozenset({"scheme_manager", "claims_officer"}),
    # Aggregated figures: indicators, reports.
    "figures.read": frozenset({"scheme_manager", "auditor", "federation_reviewer"}),
    "federation.read": frozenset({"federation_reviewer"}),
    "pool.run": frozenset({"federation_reviewer"}),
    "scheme.settings": frozenset({"scheme_manager"}),
    "expenses.write": frozenset({"scheme_manager"}),
    "feasibility": frozenset({"scheme_manager", "federation_reviewer"}),
    "audit.read": frozenset({"scheme_manager", "auditor"}),
    # The governance register (general assemblies, board meetings, resolutions): the scheme's managers record.
    "governance.read": frozenset({"scheme_manager", "auditor", "federation_reviewer"}),
    "governance.write": frozenset({"scheme_manager"}),
    "admin": frozenset(),
}


def has_permission(user, permission: str) -> bool:
    """True when ``user`` (signed in and active) holds ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    if not getattr(user, "is_authenticated", False):
        return False
    return user.role == "admin" or user.role in PERMISSIONS[permission]


def permission_required(permission: str, *, tokens: bool = False) -> Callable:
    """Guard a view: sign-in required, then ``permission`` (403 otherwise). Recorded on the view function.

    ``tokens=True`` lets an API token stand for its account on this route (``mhi/auth/bearer.py``): the token
    holds exactly its account's permissions and schemes. Every other route answers 401 to a token.
    """
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not has_permission(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped = login_required(guarded)
        wrapped.required_permission = permission  # read by the route-access test
        wrapped.accepts_token = tokens
        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view as reachable without signing in (login page, language switch, health check)."""
    view.required_permission = None
    return view


def visible_scheme_ids(user) -> list[int] | None:
    """The ids of the schemes ``user`` may see, or None for every scheme (admin)."""
    from mhi.schemes.models import Scheme

    if not getattr(user, "is_authenticated", False):
        return []
    if user.role == "admin":
        return None
    if user.role == "funder":
        return []  # a funder reaches its programmes through its own pages (subsidies/funders.py), never a scheme
    if user.role == "federation_reviewer":
        if user.federation_id is None:
            return []
        return list(db.session.scalars(select(Scheme.id).where(Scheme.federation_id == user.federation_id)))
    return [user.scheme_id] if user.scheme_id is not None else []


def scheme_filter(column, user=None):
    """A WHERE clause restricting ``column`` (a scheme_id column) to the user's schemes."""
    ids = visible_scheme_ids(user or current_user)
    if ids is None:
        return column.isnot(None) | column.is_(None)
    return column.in_(ids)


def scheme_or_404(code: str, user=None):
    """The scheme with ``code`` if the user may see it; 404 otherwise (also when it exists elsewhere)."""
    from mhi.schemes.models import Scheme

    scheme = db.session.scalar(select(Scheme).where(Scheme.code == code))
    ids = visible_scheme_ids(user or current_user)
    if scheme is None or (ids is not None and scheme.id not in ids):
        abort(404)
    return scheme


def in_scope_or_404(model, record_id: int, user=None):
    """Load ``model`` by id if its ``scheme_id`` is one of the user's schemes; 404 otherwise."""
    record = db.session.get(model, record_id)
    ids = visible_scheme_ids(user or current_user)
    if record is None or (ids is not None and record.scheme_id not in ids):
        abort(404)
    return record


def federation_or_404(code: str, user=None):
    """The federation with ``code`` if the user may see it (admin, or its reviewer); 404 otherwise."""
    from mhi.schemes.models import Federation

    user = user or current_user
    federation = db.session.scalar(select(Federation).where(Federation.code == code))
    if federation is None:
        abort(404)
    if user.role == "admin" or (user.role == "federation_reviewer" and user.federation_id == federation.id):
        return federation
    abort(404)
