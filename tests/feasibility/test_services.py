"""Saved studies (services.py): saving, visibility, locking, copying, comparing, and a study made a product."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from mhi.feasibility import services
from mhi.feasibility.method import StudyError
from mhi.schemes.models import ProductVersion
from tests.conftest import EXAMPLES
from tests.factories import make_federation, make_scheme, make_user

NOW = datetime(2026, 3, 1, 10, 0)


def fandene() -> dict:
    """The example study input, as a promoter would type it (amounts as strings)."""
    return json.loads((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8"))


@pytest.fixture
def world(session):
    """Two federations; a scheme in the first, another in the second; a manager and a reviewer of each."""
    fed_a, fed_b = make_federation(session, "FA"), make_federation(session, "FB")
    scheme_a = make_scheme(session, "MUT-A", federation=fed_a)
    scheme_b = make_scheme(session, "MUT-B", federation=fed_b)
    return {
        "scheme_a": scheme_a,
        "scheme_b": scheme_b,
        "manager_a": make_user(session, "scheme_manager", scheme_a),
        "manager_b": make_user(session, "scheme_manager", scheme_b),
        "reviewer_a": make_user(session, "federation_reviewer", federation=fed_a),
        "reviewer_b": make_user(session, "federation_reviewer", federation=fed_b),
        "admin": make_user(session, "admin"),
    }


def test_save_keeps_input_and_result(session, world):
    """The saved result is run_study's output; the input keeps amounts as text; an audit row is written."""
    from mhi.core.audit import AuditEvent

    study = services.save_study(
        session, fandene(), scheme=world["scheme_a"], federation_id=None, actor=world["manager_a"], now=NOW
    )
    session.commit()
    assert study.result["contribution_per_person_year"] == "7000"
    assert study.result["break_even_beneficiaries"] == 2971
    assert study.input["services"][0]["frequency"] == "0.90"
    assert study.federation_id == world["scheme_a"].federation_id
    assert session.query(AuditEvent).filter_by(entity="study", entity_id=study.id, action="create").count() == 1


def test_save_refuses_bad_input_and_another_currency(session, world):
    """A bad study raises StudyError with every field; a study in another currency than its scheme is refused."""
    data = fandene()
    data["household_size"] = "0"
    with pytest.raises(StudyError) as caught:
        services.save_study(session, data, scheme=None, federation_id=None, actor=world["admin"], now=NOW)
    assert [path for path, _ in caught.value.errors] == ["household_size"]
    data = fandene() | {"currency": "INR"}
    with pytest.raises(StudyError):
        services.save_study(session, data, scheme=world["scheme_a"], federation_id=None, actor=world["admin"], now=NOW)


def test_visibility(session, world):
    """Scheme users see their scheme's studies, reviewers their federation's, the admin all, everyone his own."""
    a = services.save_study(
        session, fandene(), scheme=world["scheme_a"], federation_id=None, actor=world["manager_a"], now=NOW
    )
    b = services.save_study(
        session, fandene(), scheme=world["scheme_b"], federation_id=None, actor=world["manager_b"], now=NOW
    )
    loose = services.save_study(
        session,
        fandene(),
        scheme=None,
        federation_id=world["reviewer_a"].federation_id,
        actor=world["reviewer_a"],
        now=NOW,
    )
    session.commit()

    def ids(user):
        return {s.id for s in services.visible_studies(session, user)}

    assert ids(world["manager_a"]) == {a.id}
    assert ids(world["manager_b"]) == {b.id}
    assert ids(world["reviewer_a"]) == {a.id, loose.id}
    assert ids(world["reviewer_b"]) == {b.id}
    assert ids(world["admin"]) == {a.id, b.id, loose.id}
    assert services.visible_study(session, world["manager_b"], a.id) is None


def test_copy_and_lock(session, world):
    """A copy is a new study with the same input; a study backing a version cannot change, its copy can."""
    study = services.save_study(
        session, fandene(), scheme=world["scheme_a"], federation_id=None, actor=world["manager_a"], now=NOW
    )
    services.create_product_from_study(
        session,
        study,
        world["scheme_a"],
        code="STEP",
        name="Paquet STEP",
        period_months=12,
        effective_from=date(2026, 4, 1),
        actor=world["manager_a"],
    )
    session.commit()
    assert services.is_locked(session, study)
    changed = fandene() | {"rounding": "100"}
    with pytest.raises(services.StudyLocked):
        services.update_study(session, study, changed, scheme=world["scheme_a"], actor=world["manager_a"], now=NOW)
    session.rollback()
    copy = services.copy_study(session, study, name="Variante", actor=world["manager_a"], now=NOW)
    services.update_study(
        session, copy, changed | {"name": "Variante"}, scheme=world["scheme_a"], actor=world["manager_a"], now=NOW
    )
    session.commit()
    assert copy.id != study.id and copy.scheme_id == study.scheme_id
    assert copy.result["contribution_per_person_year"] == "7000"  # 6922.67 rounded up to 100 is 7000 too
    assert copy.input["rounding"] == "100"


def test_compare(session, world):
    """Two studies side by side: key figures and the projection's last year, one cell per study."""
    one = services.save_study(session, fandene(), scheme=None, federation_id=None, actor=world["admin"], now=NOW)
    other = services.save_study(
        session, fandene() | {"renewal_rate": "0.5"}, scheme=None, federation_id=None, actor=world["admin"], now=NOW
    )
    rows = {key: cells for key, _kind, cells in services.compare_studies([one, other]).rows}
    assert rows["contribution_per_person_year"] == ["7000", "7000"]
    assert rows["beneficiaries"][0] == 2772  # feasibility.md's table, year 3
    assert rows["beneficiaries"][1] < 2772
    with pytest.raises(ValueError):
        services.compare_studies([one])


def test_product_from_study(session, world):
    """Contribution per person from the study, no registration fee, benefits from services, 3 months = 90 days."""
    study = services.save_study(session, fandene(), scheme=None, federation_id=None, actor=world["admin"], now=NOW)
    product = services.create_product_from_study(
        session,
        study,
        world["scheme_a"],
        code="step",
        name="Paquet STEP",
        period_months=1,
        effective_from=date(2026, 4, 1),
        actor=world["manager_a"],
        newborn_days=30,
    )
    session.commit()
    (version,) = product.versions
    assert product.code == "STEP"
    assert version.newborn_days == 30  # the study's product carries the newborn rule the manager chose
    assert (version.status, version.source, version.basis) == ("draft", "app", "person")
    assert (version.amount, version.period_months) == (Decimal(583), 1)
    assert version.registration_fee == 0 and version.waiting_period_days == 90
    assert version.study_id == study.id
    terms = [(b.code, b.kind, b.coverage_rate, b.ceiling_per_case) for b in version.benefits]
    assert terms == [
        ("OPD", "service", Decimal("0.8"), None),
        ("DRUG", "service", Decimal("0.5"), None),
        ("LAB", "service", Decimal("0.8"), None),
        ("MAT", "service", Decimal("0.8"), None),
        ("HOSP", "service", Decimal("0.8"), Decimal(100000)),
    ]
    assert study.scheme_id == world["scheme_a"].id  # the study now speaks for the scheme
    with pytest.raises(services.ProductError):
        services.create_product_from_study(
            session,
            study,
            world["scheme_a"],
            code="STEP",
            name="Again",
            period_months=12,
            effective_from=date(2026, 4, 1),
            actor=None,
        )
    assert session.query(ProductVersion).count() == 3  # MUT-A's BASE, MUT-B's BASE, STEP
