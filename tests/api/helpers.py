"""Shared pieces of the API and FHIR tests: two schemes in two federations, a token per role, and the ndiagane
example loaded through the command line (docs/spec/examples/README.md)."""

from __future__ import annotations

from datetime import date

from mhi.auth.models import ROLES
from mhi.auth.tokens import create_token
from mhi.core.db import db
from mhi.schemes.models import Provider
from tests.conftest import EXAMPLES
from tests.factories import make_federation, make_scheme, make_user, records


def bearer(secret: str, **headers) -> dict:
    """Request headers with an API token."""
    return {"Authorization": f"Bearer {secret}", **headers}


def token_for(app, user) -> str:
    """A new token's secret for ``user``."""
    with app.app_context():
        _token, secret = create_token(db.session, db.session.get(type(user), user.id))
        db.session.commit()
    return secret


def two_schemes(app) -> dict:
    """Schemes MUT-A (federation F1) and MUT-B (F2); a user and a token of each role on A / F1, a manager on B."""
    with records(app) as session:
        f1, f2 = make_federation(session, "F1"), make_federation(session, "F2")
        a = make_scheme(session, "MUT-A", federation=f1)
        b = make_scheme(session, "MUT-B", federation=f2)
        users = {
            role: make_user(
                session,
                role,
                scheme=a if role not in ("admin", "federation_reviewer") else None,
                federation=f1 if role == "federation_reviewer" else None,
            )
            for role in ROLES
        }
        other = make_user(session, "scheme_manager", scheme=b)
        session.add(Provider(scheme_id=a.id, code="CS-1", name="Centre de santé", contract_from=date(2024, 1, 1)))
        session.commit()
    tokens = {role: token_for(app, user) for role, user in users.items()}
    return {"a": a, "b": b, "f1": f1, "f2": f2, "users": users, "tokens": tokens, "other": token_for(app, other)}


def load_ndiagane(runner) -> None:
    """The ndiagane federation through its CSV files, as the example's README does (claims left out)."""
    folder = EXAMPLES / "ndiagane"
    for args in (("federation", "load", str(folder / "federation.json")),):
        assert runner.invoke(args=list(args)).exit_code == 0
    for scheme in ("MUT-NDIAGANE", "MUT-POUT"):
        assert runner.invoke(args=["scheme", "load", str(folder / scheme / "scheme.json")]).exit_code == 0
        for what in ("members", "contributions", "subsidy-receipts"):
            path = folder / scheme / f"{what.replace('-', '_')}.csv"
            result = runner.invoke(args=["import", what, "--scheme", scheme, str(path)])
            assert result.exit_code == 0, result.output
