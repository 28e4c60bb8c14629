"""Loading federation.json and scheme.json (data-formats.md): idempotent, versioned on change, every problem
listed and nothing written on bad input."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.core.db import db
from mhi.core.validation import InputRejected
from mhi.schemes.models import Benefit, Federation, PoolRules, Product, ProductVersion, Provider, Scheme, Tariff
from mhi.schemes.services import load_federation, load_scheme, version_in_force
from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "ndiagane"


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def _counts(session) -> dict[str, int]:
    """Rows of every table, so "changes nothing" means exactly that (audit trail included)."""
    return {
        t.name: session.execute(select(func.count()).select_from(t)).scalar_one() for t in db.metadata.sorted_tables
    }


@pytest.fixture
def loaded(session):
    load_federation(session, _json(EXAMPLE / "federation.json"), today=date(2026, 1, 5))
    load_scheme(session, _json(EXAMPLE / "MUT-NDIAGANE" / "scheme.json"), today=date(2026, 1, 5))
    session.commit()
    return session


def test_loading_the_same_files_again_changes_nothing(loaded):
    before = _counts(loaded)
    federation = load_federation(loaded, _json(EXAMPLE / "federation.json"), today=date(2026, 2, 1))
    scheme = load_scheme(loaded, _json(EXAMPLE / "MUT-NDIAGANE" / "scheme.json"), today=date(2026, 2, 1))
    loaded.commit()
    assert federation.describe() == "unchanged" and scheme.describe() == "unchanged"
    assert _counts(loaded) == before


def test_the_example_is_loaded_with_its_rules(loaded):
    scheme = loaded.scalar(select(Scheme).where(Scheme.code == "MUT-NDIAGANE"))
    assert scheme.currency == "XOF" and scheme.federation.code == "UMT"
    assert [p.code for p in scheme.products] == ["BASE", "FAMILLE"]
    base = scheme.products[0].versions[0]
    assert (base.effective_from, base.basis, base.amount, base.period_months) == (
        date(2024, 1, 1),
        "person",
        Decimal(500),
        1,
    )
    assert [b.code for b in base.benefits] == ["OPD", "HOSP", "MAT", "DEATH"]
    assert [g.code for g in scheme.programmes] == ["CMU-50", "CMU-IND", "ONG-APPUI"]
    clinic = loaded.scalar(select(Provider).where(Provider.code == "CLIN-NDIAGANE"))
    assert clinic.contract_to == date(2025, 6, 30)
    assert {t.benefit_code: t.amount for t in clinic.tariffs} == {"OPD": Decimal(3500)}
    rules = loaded.scalar(select(PoolRules))
    assert (rules.contribution_rate, rules.xol_threshold, rules.xol_limit) == (Decimal("0.05"), Decimal(50000), None)


def test_changed_rules_make_a_new_version_from_the_load_day(loaded):
    data = _json(EXAMPLE / "MUT-NDIAGANE" / "scheme.json")
    data["products"][0]["contribution"]["amount"] = "600"
    data["products"][0]["name"] = "Paquet de base 2026"
    summary = load_scheme(loaded, data, today=date(2026, 3, 1))
    loaded.commit()
    assert "new version from 2026-03-01" in summary.describe()
    product = loaded.scalar(select(Product).where(Product.code == "BASE"))
    assert product.name == "Paquet de base 2026"
    assert [(v.effective_from, v.amount, v.source) for v in product.versions] == [
        (date(2024, 1, 1), Decimal(500), "file"),
        (date(2026, 3, 1), Decimal(600), "file"),
    ]
    # Rules never change retroactively: the old version still rules the past.
    assert version_in_force(product.versions, date(2026, 2, 28)).amount == Decimal(500)
    assert version_in_force(product.versions, date(2026, 3, 1)).amount == Decimal(600)
    # The other product kept its single version.
    famille = loaded.scalar(select(Product).where(Product.code == "FAMILLE"))
    assert len(famille.versions) == 1


def test_changed_pool_rules_are_a_new_dated_row(loaded):
    data = _json(EXAMPLE / "federation.json")
    data["pool"]["contribution_rate"] = "0.06"
    load_federation(loaded, data, today=date(2026, 4, 1))
    loaded.commit()
    rows = loaded.scalars(select(PoolRules).order_by(PoolRules.effective_from)).all()
    assert [(r.effective_from, r.contribution_rate) for r in rows] == [
        (date(2024, 1, 1), Decimal("0.05")),
        (date(2026, 4, 1), Decimal("0.06")),
    ]


def test_a_bad_file_lists_every_problem_and_writes_nothing(loaded):
    before = _counts(loaded)
    data = copy.deepcopy(_json(EXAMPLE / "MUT-NDIAGANE" / "scheme.json"))
    data["code"] = "mut ndiagane"
    data["products"][0]["benefits"][0]["coverage_rate"] = "1.5"
    data["products"][0]["contribution"]["period"] = "week"
    data["providers"][0]["tariffs"]["OPD"] = 1500.5  # a float: money is never a float
    data["colour"] = "blue"
    with pytest.raises(InputRejected) as caught:
        load_scheme(loaded, data, today=date(2026, 1, 5))
    loaded.rollback()
    columns = {p.column for p in caught.value.problems}
    assert {
        "code",
        "products[0].benefits[0].coverage_rate",
        "products[0].contribution.period",
        "providers[0].tariffs.OPD",
        "colour",
    } <= columns
    assert _counts(loaded) == before


def test_a_scheme_needs_its_federation_loaded_first_and_in_its_currency(session):
    data = _json(EXAMPLE / "MUT-POUT" / "scheme.json")
    with pytest.raises(InputRejected, match="federation UMT is not loaded"):
        load_scheme(session, data, today=date(2026, 1, 5))
    session.rollback()
    federation = _json(EXAMPLE / "federation.json")
    federation["currency"] = "INR"
    load_federation(session, federation, today=date(2026, 1, 5))
    with pytest.raises(InputRejected, match="currency"):
        load_scheme(session, data, today=date(2026, 1, 5))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Scheme)) == 0


def test_the_commands_exit_1_on_bad_input_and_0_when_loaded(app, runner, tmp_path):
    bad = tmp_path / "scheme.json"
    bad.write_text('{"code": "X"', encoding="utf-8")
    result = runner.invoke(args=["scheme", "load", str(bad)])
    assert result.exit_code == 1 and "not valid JSON" in result.output
    result = runner.invoke(args=["federation", "load", str(EXAMPLE / "federation.json")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["scheme", "load", str(EXAMPLE / "MUT-POUT" / "scheme.json")])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["scheme", "load", str(EXAMPLE / "MUT-POUT" / "scheme.json")])
    assert again.exit_code == 0 and "unchanged" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Federation)) == 1
        assert db.session.scalar(select(func.count()).select_from(ProductVersion)) == 1
        assert db.session.scalar(select(func.count()).select_from(Benefit)) == 4
        assert db.session.scalar(select(func.count()).select_from(Tariff)) == 5


def test_patient_limits_and_newborn_days_are_loaded_and_a_change_is_a_version(session):
    fatick = EXAMPLES / "fatick"
    load_federation(session, _json(fatick / "federation.json"), today=date(2026, 1, 5))
    load_scheme(session, _json(fatick / "MUT-DIAKHAO" / "scheme.json"), today=date(2026, 1, 5))
    session.commit()
    version = session.scalar(select(ProductVersion))
    assert version.newborn_days == 30
    limits = {b.code: (b.sex, b.min_age_years, b.max_age_years) for b in version.benefits}
    assert limits["MAT"] == ("F", 12, 50)
    assert limits["PED"] == (None, None, 4)
    assert limits["OPD"] == (None, None, None)
    data = _json(fatick / "MUT-DIAKHAO" / "scheme.json")
    data["products"][0]["newborn_days"] = 45
    summary = load_scheme(session, data, today=date(2026, 3, 1))
    assert "new version from 2026-03-01" in summary.describe()


def test_bad_patient_limits_are_problems(session):
    fatick = EXAMPLES / "fatick"
    load_federation(session, _json(fatick / "federation.json"), today=date(2026, 1, 5))
    session.commit()
    data = _json(fatick / "MUT-DIAKHAO" / "scheme.json")
    mat = next(b for b in data["products"][0]["benefits"] if b["code"] == "MAT")
    mat["sex"] = "W"
    mat["min_age_years"] = 60
    data["products"][0]["newborn_days"] = -1
    with pytest.raises(InputRejected) as caught:
        load_scheme(session, data, today=date(2026, 1, 5))
    columns = {p.column for p in caught.value.problems}
    assert {
        "products[0].benefits[3].sex",
        "products[0].benefits[3].min_age_years",
        "products[0].newborn_days",
    } <= columns
