"""Who may do what, and on which schemes.

Every view declares one permission with ``@permission_required``; the decorator records it on the view so a
test can walk every registered route and prove none was left unguarded. Records are always loaded through
``mhi.schemes.access.scheme_or_404`` / ``in_scope_or_404``: a record of a scheme the user may not see answers 404, exactly as a
record that does not exist, so nothing leaks by URL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

#: permission → roles that hold it (admin holds every permission).
PERMISSIONS: dict[str, frozenset[str]] = {
    # Any signed-in user: their own account, the dashboard, the language.
    "account": frozenset(
        {"federation_reviewer", "scheme_manager", "clerk", "claims_officer", "auditor", "funder", "facility"}
    ),
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
    # A health facility's desk (issue 13), bound to one provider: it checks the eligibility of the scheme's
    # members, enters its own claims and sees them with their decisions and its payment batches — nothing else.
    # The records of these routes are narrowed to its provider by mhi.schemes.access (in_scope_or_404, and the
    # lists' provider filter), so another facility's claim answers 404.
    "eligibility.read": frozenset({"scheme_manager", "claims_officer", "auditor", "facility"}),
    "claims.enter": frozenset({"scheme_manager", "claims_officer", "facility"}),
    "claims.view": frozenset({"scheme_manager", "claims_officer", "auditor", "facility"}),
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
