"""Set-up screens: an administrator creates a federation and a scheme, a manager edits its settings; a form
with errors shows each message beside its field and saves nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.core.audit import AuditEvent
from mhi.schemes.models import Federation, Scheme
from mhi.schemes.settings import card_layout, thresholds, traffic_light
from tests.factories import login, make_federation, make_scheme, make_user, records

SCHEME_FORM = {
    "code": "mut-new",
    "name": "Mutuelle nouvelle",
    "country": "SN",
    "currency": "XOF",
    "federation": 0,
    "language": "fr",
    "target_population": "8000",
    "opening_date": "2025-01-01",
    "opening_reserve": "100000",
    "opening_cash": "50000",
}


@pytest.fixture
def admin_client(app, client):
    """A client signed in as an administrator."""
    with records(app) as session:
        admin = make_user(session, "admin")
    login(client, admin)
    return client


def count(app, model) -> int:
    """How many rows ``model`` has."""
    with records(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def scheme_now(app, scheme_id: int) -> Scheme:
    """The scheme as the database has it now."""
    with records(app) as session:
        return session.get(Scheme, scheme_id)


def test_admin_creates_a_federation(app, admin_client):
    response = admin_client.post("/federations/new", data={"code": "umt", "name": "Union de Thiès", "currency": "XOF"})

    assert response.status_code == 302 and response.headers["Location"] == "/federations/UMT"
    with records(app) as session:
        federation = session.scalar(select(Federation).where(Federation.code == "UMT"))
    assert federation.name == "Union de Thiès" and federation.currency == "XOF"
    page = admin_client.get("/federations/UMT").get_data(as_text=True)
    assert "Union de Thiès" in page and "runs no guarantee pool" in page


def test_federation_code_taken_is_refused(app, admin_client):
    with records(app) as session:
        make_federation(session, "UMT")

    response = admin_client.post("/federations/new", data={"code": "UMT", "name": "Again", "currency": "XOF"})

    assert response.status_code == 200
    assert "This code is already used." in response.get_data(as_text=True)
    assert count(app, Federation) == 1


def test_admin_creates_a_scheme_in_a_federation(app, admin_client):
    with records(app) as session:
        federation = make_federation(session, "UMT")

    response = admin_client.post("/schemes/new", data={**SCHEME_FORM, "federation": federation.id})

    assert response.status_code == 302 and response.headers["Location"] == "/schemes/MUT-NEW"
    with records(app) as session:
        scheme = session.scalar(select(Scheme).where(Scheme.code == "MUT-NEW"))
        assert scheme.federation_id == federation.id
        assert scheme.opening_reserve == Decimal(100000) and scheme.opening_cash == Decimal(50000)
        assert scheme.locale == "fr_SN" and scheme.target_population == 8000
        assert session.scalar(select(AuditEvent).where(AuditEvent.entity == "scheme", AuditEvent.action == "create"))
    assert "Mutuelle nouvelle" in admin_client.get("/schemes/MUT-NEW").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "bad code!"}, "code", "Capital letters, digits"),
        ({"opening_reserve": "12.5"}, "opening_reserve", "no more decimals than the currency has"),
        ({"opening_cash": "1,50,0"}, "opening_cash", "decimal separator"),
        ({"opening_date": "31/12/2024"}, "opening_date", "Not a valid date value"),
        ({"target_population": "-3"}, "target_population", "at least 0"),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_scheme_form_errors_beside_the_field_nothing_saved(app, admin_client, changes, field, message):
    response = admin_client.post("/schemes/new", data={**SCHEME_FORM, **changes})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert f'id="{field}-error"' in page
    assert count(app, Scheme) == 0


def test_scheme_in_a_federation_of_another_currency_is_refused(app, admin_client):
    with records(app) as session:
        federation = make_federation(session, "UMT", currency="XOF")

    response = admin_client.post(
        "/schemes/new", data={**SCHEME_FORM, "currency": "INR", "country": "IN", "federation": federation.id}
    )

    page = response.get_data(as_text=True)
    assert "This federation keeps its accounts in XOF." in page and 'id="federation-error"' in page
    assert count(app, Scheme) == 0


@pytest.fixture
def manager(app, client):
    """A client signed in as the manager of MUT-A; returns the scheme."""
    with records(app) as session:
        scheme = make_scheme(session, "MUT-A")
        user = make_user(session, "scheme_manager", scheme=scheme)
    login(client, user)
    return scheme


def settings_form(**changes):
    """The settings form as sent with nothing changed but ``changes``."""
    return {"name": "Scheme MUT-A", "target_population": "10000", "locale": "fr_SN", "card_layout": "person", **changes}


def test_manager_edits_the_settings(app, client, manager):
    response = client.post(
        "/schemes/MUT-A/edit",
        data=settings_form(
            name="Mutuelle de Ndiagane",
            target_population="12000",
            card_layout="household",
            **{"collection_rate-green": "0.85", "incurred_claims_ratio-red_high": "1.1"},
        ),
    )

    assert response.status_code == 302 and response.headers["Location"] == "/schemes/MUT-A"
    scheme = scheme_now(app, manager.id)
    assert scheme.name == "Mutuelle de Ndiagane" and scheme.target_population == 12000
    assert card_layout(scheme) == "household"
    assert scheme.settings["thresholds"] == {
        "collection_rate": {"green": "0.85"},
        "incurred_claims_ratio": {"red_high": "1.1"},
    }
    bounds = thresholds(scheme)
    assert bounds["collection_rate"] == {"green": Decimal("0.85"), "red": Decimal("0.60")}
    assert traffic_light("collection_rate", Decimal("0.82"), bounds["collection_rate"]) == "amber"
    assert traffic_light("incurred_claims_ratio", Decimal("1.05"), bounds["incurred_claims_ratio"]) == "amber"
    # The form shows the overrides back, and the detail page says which thresholds are the scheme's own.
    assert 'value="0.85"' in client.get("/schemes/MUT-A/edit").get_data(as_text=True)
    assert "this scheme" in client.get("/schemes/MUT-A").get_data(as_text=True)


def test_clearing_an_override_goes_back_to_the_default(app, client, manager):
    client.post("/schemes/MUT-A/edit", data=settings_form(**{"expense_ratio-red": "0.35"}))

    client.post("/schemes/MUT-A/edit", data=settings_form())

    assert scheme_now(app, manager.id).settings["thresholds"] == {}


def test_quorum_is_set_as_a_percentage_and_cleared_back_to_half(app, client, manager):
    """The quorum of meetings is a scheme setting (mhi/governance), typed as 60 % or 0.6; blank is one half."""
    from mhi.governance.services import quorum_share

    assert client.post("/schemes/MUT-A/edit", data=settings_form(quorum_share="60 %")).status_code == 302
    scheme = scheme_now(app, manager.id)
    assert scheme.settings["governance"] == {"quorum_share": "0.6"} and quorum_share(scheme) == Decimal("0.6")
    client.post("/schemes/MUT-A/edit", data=settings_form())
    scheme = scheme_now(app, manager.id)
    assert "governance" not in scheme.settings and quorum_share(scheme) == Decimal("0.5")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"quorum_share": "150 %"}, "quorum_share", "The quorum is a share between 0 and 100 %."),
        ({"collection_rate-green": "0.5"}, "collection_rate-green", "red must be at most green"),
        ({"expense_ratio-red": "0.1"}, "expense_ratio-green", "red must be at least green"),
        ({"incurred_claims_ratio-green_high": "1.2"}, "incurred_claims_ratio-green_low", "Keep red below"),
        ({"retention_rate-red": "abc"}, "retention_rate-red", "Not a valid decimal value"),
        ({"reserve_months-green": "-1"}, "reserve_months-green", "at least 0"),
        ({"card_layout": "wallet"}, "card_layout", "Not a valid choice"),
        ({"target_population": "many"}, "target_population", "Not a valid integer value"),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_settings_errors_beside_the_field_nothing_saved(app, client, manager, changes, field, message):
    response = client.post("/schemes/MUT-A/edit", data=settings_form(**{"name": "Changed", **changes}))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert f'id="{field}-error"' in page
    scheme = scheme_now(app, manager.id)
    assert scheme.name == "Scheme MUT-A" and scheme.settings == {}


def test_scheme_detail_shows_every_version_side_by_side(app, client, manager):
    from datetime import date

    from mhi.schemes.models import Benefit, ProductVersion

    with records(app) as session:
        product = session.get(Scheme, manager.id).products[0]
        newer = ProductVersion(
            product=product,
            effective_from=date(2025, 1, 1),
            basis="household",
            amount=Decimal(1200),
            period_months=12,
            registration_fee=Decimal(0),
        )
        newer.benefits = [
            Benefit(position=0, code="OPD", name="Consultation", kind="service", coverage_rate=Decimal("0.9")),
            Benefit(position=1, code="MAT", name="Maternity", kind="service", coverage_rate=Decimal(1)),
        ]
        session.add(newer)
        session.commit()

    page = client.get("/schemes/MUT-A").get_data(as_text=True)

    assert "Jan 1, 2024" in page and "Jan 1, 2025" in page
    assert "per household" in page and "per person" in page
    assert "Maternity" in page and "not covered" in page  # MAT is only in the newer version


def test_federation_reviewer_cannot_edit_or_create(app, client):
    with records(app) as session:
        federation = make_federation(session, "F1")
        make_scheme(session, "MUT-A", federation=federation)
        reviewer = make_user(session, "federation_reviewer", federation=federation)
    login(client, reviewer)

    assert client.get("/schemes/MUT-A/edit").status_code == 403
    assert client.post("/schemes/new", data=SCHEME_FORM).status_code == 403
    assert client.post("/federations/new", data={"code": "X", "name": "X", "currency": "XOF"}).status_code == 403
