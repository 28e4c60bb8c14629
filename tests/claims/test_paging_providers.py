"""The providers page pages through every provider with counts (issue 13: long lists page)."""

from __future__ import annotations

from datetime import date

from mhi.core.db import db
from mhi.schemes.models import Provider
from tests.factories import make_scheme, make_user, records


def test_providers_page_through_all_rows_with_counts(app, client):
    with records(app) as session:
        scheme = make_scheme(session, "MUT-P")
        for number in range(1, 131):
            session.add(
                Provider(
                    scheme_id=scheme.id,
                    code=f"CS-{number:03d}",
                    name=f"Centre {number}",
                    contract_from=date(2024, 1, 1),
                )
            )
        officer = make_user(session, "claims_officer", scheme=scheme)
        session.commit()
        email = officer.email
    with app.app_context():
        assert db.session.query(Provider).count() == 130
    from tests.factories import PASSWORD

    client.post("/login", data={"email": email, "password": PASSWORD})
    first = client.get("/schemes/MUT-P/providers").get_data(as_text=True)
    assert "1–100 of 130" in first and "CS-100" in first and "CS-101" not in first
    second = client.get("/schemes/MUT-P/providers?page=2").get_data(as_text=True)
    assert "101–130 of 130" in second and "CS-130" in second and "CS-001" not in second
