"""Limits everywhere (issue 18): what a request may carry is bounded once, and anything beyond is a 400 or a
form error with a message — never a 500, never stored mangled.

- the claims API: body size, nesting depth, lone surrogates, member types (``"claim_ref": true``), text lengths
  of the columns, bill lines per claim (MHI_MAX_CLAIM_LINES), ICD-10 diagnosis codes;
- ids above 2³¹ in URLs (404), dates outside 1900–2199 in query strings (400 saying which argument), periods
  such as ``9999-12``;
- management forms: a number above 2³¹, a date in year 9999, an over-long benefit name.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.claims.models import Claim, ClaimLine
from mhi.core.limits import JSON_MAX_DEPTH
from mhi.schemes.models import Provider, Scheme, Tariff
from tests.claims.claim_helpers import make_household
from tests.factories import login, make_scheme, make_user, records

API = "/api/schemes/MUT-A/claims"
CLAIM = {
    "member_no": "H-1-01",
    "provider_code": "CS",
    "benefit_code": "OPD",
    "date_of_service": "2025-03-01",
    "date_submitted": "2025-03-02",
    "amount_claimed": "3000",
}


@pytest.fixture
def world(app):
    """Scheme MUT-A with provider CS, household H-1 (member H-1-01), a claims officer and a manager."""
    with records(app) as session:
        scheme = make_scheme(session, "MUT-A")
        provider = Provider(scheme_id=scheme.id, code="CS", name="Centre de santé", contract_from=date(2024, 1, 1))
        session.add(provider)
        session.flush()
        session.add(
            Tariff(
                provider_id=provider.id, effective_from=provider.contract_from, benefit_code="OPD", amount=Decimal(4000)
            )
        )
        make_household(session, scheme, "H-1", [("H-1-01", "head")])
        session.commit()
        return {
            "officer": make_user(session, "claims_officer", scheme=scheme),
            "manager": make_user(session, "scheme_manager", scheme=scheme),
        }


@pytest.fixture
def officer(client, world):
    login(client, world["officer"])
    return client


def claims_stored(app) -> int:
    with records(app) as session:
        return session.scalar(select(func.count()).select_from(Claim))


def raw(client, text: str):
    return client.post(API, data=text.encode("utf-8"), content_type="application/json")


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("claim_ref", True),
        ("claim_ref", 12),
        ("member_no", ["H-1-01"]),
        ("benefit_code", {"code": "OPD"}),
        ("date_of_service", 20250301),
        ("amount_claimed", True),
        ("amount_claimed", ["3000"]),
    ],
)
def test_a_member_of_the_wrong_type_is_refused_not_stored_as_text(app, officer, member, value):
    response = officer.post(API, json={**CLAIM, member: value})
    assert response.status_code == 400
    assert member in response.get_json()["errors"]
    assert claims_stored(app) == 0


def test_texts_longer_than_their_columns_are_refused(app, officer):
    response = officer.post(API, json={**CLAIM, "claim_ref": "R" * 41, "member_no": "M" * 500})
    errors = response.get_json()["errors"]
    assert response.status_code == 400 and {"claim_ref", "member_no"} <= set(errors)
    assert "longer than 40" in errors["member_no"]
    label = officer.post(API, json={**CLAIM, "lines": [{"label": "x" * 121, "amount": "3000"}]})
    assert label.status_code == 400 and "lines[0].label" in label.get_json()["errors"]
    assert claims_stored(app) == 0


def test_lone_surrogates_nesting_and_size(app, officer):
    surrogate = raw(officer, '{"member_no": "H-1-01", "claim_ref": "A\\ud800B"}')
    assert surrogate.status_code == 400 and "surrogate" in surrogate.get_json()["error"]
    in_key = raw(officer, '{"\\udfff": 1}')
    assert in_key.status_code == 400
    deep = raw(officer, '{"lines": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert deep.status_code == 400 and "nested too deeply" in deep.get_json()["error"]
    nested = raw(officer, json.dumps({**CLAIM, "x": [[[[[[[[[[[1]]]]]]]]]]]}))
    assert nested.status_code == 400 and str(JSON_MAX_DEPTH) in nested.get_json()["error"]
    huge = raw(officer, json.dumps({**CLAIM, "note": "x" * 300_000}))
    assert huge.status_code == 400 and "too large" in huge.get_json()["error"]
    not_utf8 = officer.post(API, data=b'{"claim_ref": "\xff\xfe"}', content_type="application/json")
    assert not_utf8.status_code == 400
    assert claims_stored(app) == 0


def test_bill_lines_are_capped(app, officer):
    lines = [{"label": f"Item {n}", "amount": "10"} for n in range(app.config["MHI_MAX_CLAIM_LINES"] + 1)]
    refused = officer.post(API, json={**{k: v for k, v in CLAIM.items() if k != "amount_claimed"}, "lines": lines})
    assert refused.status_code == 400
    assert "at most 200 bill lines" in refused.get_json()["errors"]["lines"]
    accepted = officer.post(
        API, json={**{k: v for k, v in CLAIM.items() if k != "amount_claimed"}, "lines": lines[:200]}
    )
    assert accepted.status_code == 201, accepted.get_json()
    page = officer.get(accepted.get_json()["url"])
    assert page.status_code == 200 and "Item 199" in page.get_data(as_text=True)
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(ClaimLine)) == 200


def test_the_cap_is_configurable(app, officer):
    app.config["MHI_MAX_CLAIM_LINES"] = 2
    try:
        lines = [{"label": "a", "amount": "1000"}] * 3
        body = {**{k: v for k, v in CLAIM.items() if k != "amount_claimed"}, "lines": lines}
        response = officer.post(API, json=body)
        assert response.status_code == 400 and "at most 2 bill lines" in response.get_json()["errors"]["lines"]
    finally:
        app.config["MHI_MAX_CLAIM_LINES"] = 200


@pytest.mark.parametrize("code", ["O80", "J06.9", "j06.9", "S72.001", "J069", "A09"])
def test_icd10_codes_are_accepted(app, officer, code):
    response = officer.post(API, json={**CLAIM, "diagnosis_code": code})
    assert response.status_code == 201, response.get_json()
    with records(app) as session:
        assert session.scalar(select(Claim.diagnosis_code)) == code.upper()


@pytest.mark.parametrize("code", ["X", "J6", "123", "JJ06", "J06.", "J06.12345", "J06-9", "<b>"])
def test_other_diagnosis_codes_are_refused(app, officer, code):
    response = officer.post(API, json={**CLAIM, "diagnosis_code": code})
    assert response.status_code == 400
    assert "ICD-10" in response.get_json()["errors"]["diagnosis_code"]


def test_ids_beyond_the_database_range_are_not_found(app, officer):
    for claim_id in ("2147483648", "9223372036854775808", "1" * 5000):
        assert officer.get(f"/schemes/MUT-A/claims/{claim_id}").status_code == 404
    assert officer.get("/schemes/MUT-A/claims/-1").status_code == 404


def test_dates_out_of_range_in_query_strings_say_which_argument(app, client, world):
    login(client, world["manager"])
    response = client.get("/schemes/MUT-A/contributions?to=9999-12-31")
    assert response.status_code == 400
    assert "to must be a date written YYYY-MM-DD, between 1900 and 2199." in response.get_data(as_text=True)
    assert client.get("/schemes/MUT-A/claims?since=0001-01-01").status_code == 400
    assert client.get("/schemes/MUT-A/eligibility.json?member_no=H-1-01&on=9999-12-31").status_code == 400
    period = client.get("/schemes/MUT-A/indicators?kind=month&value=9999-12")
    assert period.status_code == 400 and "between 1900 and 2199" in period.get_data(as_text=True)
    assert client.get("/schemes/MUT-A/indicators?kind=year&value=0000").status_code == 400
    assert client.get("/schemes/MUT-A/households?page=99999999999999999999").status_code == 400


def test_management_forms_keep_numbers_dates_and_names_in_range(app, client, world):
    login(client, world["manager"])
    form = {
        "name": "Mutuelle A",
        "target_population": "2147483648",
        "locale": "fr_SN",
        "card_layout": "household",
    }
    response = client.post("/schemes/MUT-A/edit", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Give a number no larger than 2147483647." in page
    with records(app) as session:
        assert session.scalar(select(Scheme.target_population)) == 10000
    admin = app.test_client()
    with records(app) as session:
        login(admin, make_user(session, "admin"))
    new = admin.post(
        "/schemes/new",
        data={
            "code": "MUT-X",
            "name": "x",
            "country": "SN",
            "currency": "XOF",
            "language": "fr",
            "federation": 0,
            "target_population": "10",
            "opening_date": "9999-12-31",
            "opening_reserve": "0",
            "opening_cash": "0",
        },
    )
    assert new.status_code == 200 and "Give a date between 1900 and 2199." in new.get_data(as_text=True)
