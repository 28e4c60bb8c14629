"""``export scheme`` (cli.md): each example scheme exported, then loaded from its folder into an empty database in
the import order, gives the same ``claims export`` and the same indicators, byte for byte."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from tests.conftest import EXAMPLES, empty_database
from tests.replay.machinery import PERIOD, replay, run

ORDER = ("members", "categories", "contributions", "subsidy-receipts", "claims", "expenses")
#: The import order of an exported folder: product_changes.csv (docs/decisions.md "Product changes") too.
RELOAD = ("members", "categories", "product-changes", "contributions", "subsidy-receipts", "claims", "expenses")
CASES = {
    "ndiagane": (
        "UMT",
        ("MUT-NDIAGANE", "MUT-POUT"),
        ("members", "contributions", "subsidy-receipts", "claims", "expenses"),
    ),
    "fatick": ("UDAM-FATICK", ("MUT-DIAKHAO", "MUT-DIOFIOR", "MUT-NIAKHAR"), ORDER),
}


def figures(runner, scheme: str) -> tuple[str, str]:
    """What must survive the round trip: the claims export and the indicators (JSON, as printed)."""
    return (
        run(runner, "claims", "export", "--scheme", scheme),
        run(runner, "report", "indicators", "--scheme", scheme, *PERIOD, "--format", "json"),
    )


def reload(runner, folder) -> None:
    """An exported folder into the database, in data-formats.md's import order."""
    if (folder / "federation.json").exists():
        run(runner, "federation", "load", str(folder / "federation.json"))
    run(runner, "scheme", "load", str(folder / "scheme.json"))
    for what in RELOAD:
        run(
            runner,
            "import",
            what,
            "--scheme",
            json.loads((folder / "scheme.json").read_text())["code"],
            str(folder / f"{what.replace('-', '_')}.csv"),
        )


@pytest.mark.parametrize("example", sorted(CASES))
def test_export_then_reload_gives_the_same_figures(app, runner, tmp_path, example):
    federation, schemes, imports = CASES[example]
    replay(runner, EXAMPLES / example, federation, schemes, imports)
    before = {}
    for scheme in schemes:
        run(runner, "export", "scheme", "--scheme", scheme, "--out", str(tmp_path / scheme))
        before[scheme] = figures(runner, scheme)
    assert sorted(p.name for p in (tmp_path / schemes[0]).iterdir()) == sorted(
        [
            "federation.json",
            "scheme.json",
            "members.csv",
            "categories.csv",
            "product_changes.csv",
            "contributions.csv",
            "subsidy_receipts.csv",
            "claims.csv",
            "expenses.csv",
        ]
    )
    empty_database(app)
    for scheme in schemes:
        reload(runner, tmp_path / scheme)
    for scheme in schemes:
        claims, indicators = figures(runner, scheme)
        assert claims == before[scheme][0], f"{scheme}: the claims export differs after the round trip"
        assert indicators == before[scheme][1], f"{scheme}: the indicators differ after the round trip"


def test_export_of_an_unknown_scheme_is_refused(app, runner, tmp_path):
    result = runner.invoke(args=["export", "scheme", "--scheme", "NOPE", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert not (tmp_path / "x").exists()


def _changed(folder, tmp_path):
    """The example's scheme.json with a product, a programme and a provider changed (a file for each change)."""
    data = json.loads((folder / "scheme.json").read_text(encoding="utf-8"))
    data["products"][0]["waiting_period_days"] = 60
    data["products"][0]["benefits"][0]["coverage_rate"] = "0.75"
    data["subsidy_programmes"][0]["share"] = "0.4"
    for provider in data["providers"]:
        if provider["code"] == "PS-NDIAGANE":
            provider["tariffs"] = {"OPD": "1200"}
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_dated_changes_survive_the_round_trip(app, runner, tmp_path):
    """A product version, programme terms and a tariff amendment, each from a date, are exported as the
    scheme's history and reload to the same figures; the tariff amendment only reaches later care."""
    folder = EXAMPLES / "ndiagane" / "MUT-NDIAGANE"
    run(runner, "federation", "load", str(EXAMPLES / "ndiagane" / "federation.json"))
    run(runner, "scheme", "load", str(folder / "scheme.json"))
    run(runner, "scheme", "load", "--effective-from", "2025-04-01", str(_changed(folder, tmp_path)))
    for what in ("members", "contributions", "subsidy-receipts", "claims", "expenses"):
        run(runner, "import", what, "--scheme", "MUT-NDIAGANE", str(folder / f"{what.replace('-', '_')}.csv"))
    run(runner, "export", "scheme", "--scheme", "MUT-NDIAGANE", "--out", str(tmp_path / "out"))
    exported = json.loads((tmp_path / "out" / "scheme.json").read_text(encoding="utf-8"))
    base = exported["products"][0]
    assert base["waiting_period_days"] == 120 and base["versions"][0]["effective_from"] == "2025-04-01"
    assert base["versions"][0]["waiting_period_days"] == 60
    cmu = exported["subsidy_programmes"][0]
    assert (cmu["share"], cmu["terms"]) == (
        "0.5",
        [{"from": "2025-04-01", "share": "0.4", "categories": cmu["categories"]}],
    )
    post = next(p for p in exported["providers"] if p["code"] == "PS-NDIAGANE")
    assert post["tariffs"] == {"OPD": "1500"}
    assert post["tariff_changes"] == [{"from": "2025-04-01", "tariffs": {"OPD": "1200"}}]
    claims, indicators = figures(runner, "MUT-NDIAGANE")
    rows = {r["claim_ref"]: r for r in csv.DictReader(io.StringIO(claims))}
    capped = [
        r
        for r in csv.DictReader(io.StringIO((folder / "claims.csv").read_text(encoding="utf-8")))
        if r["provider_code"] == "PS-NDIAGANE"
        and r["benefit_code"] == "OPD"
        and rows[r["claim_ref"]]["status"] != "REJECTED"
    ]
    early = [r for r in capped if r["date_of_service"] < "2025-04-01" and int(r["amount_claimed"]) > 1500]
    late = [r for r in capped if r["date_of_service"] >= "2025-04-01" and int(r["amount_claimed"]) > 1200]
    assert early and late, "the example has bills above each tariff"
    assert all(Decimal(rows[r["claim_ref"]]["amount_approved"]) <= Decimal("1050") for r in early)  # 0.7 × 1500
    assert all(Decimal(rows[r["claim_ref"]]["amount_approved"]) <= Decimal("900") for r in late)  # 0.75 × 1200
    empty_database(app)
    reload(runner, tmp_path / "out")
    assert figures(runner, "MUT-NDIAGANE") == (claims, indicators)
    run(runner, "scheme", "load", str(tmp_path / "out" / "scheme.json"))  # the same history again: unchanged
    assert figures(runner, "MUT-NDIAGANE") == (claims, indicators)


def test_a_tariff_change_before_the_contract_is_refused(app, runner, tmp_path):
    data = json.loads((EXAMPLES / "ndiagane" / "MUT-NDIAGANE" / "scheme.json").read_text(encoding="utf-8"))
    data["federation"] = None
    data["providers"][3]["tariff_changes"] = [{"from": "2024-02-01", "tariffs": {"OPD": "3000"}}]  # contract 2024-03-01
    data["products"][0]["versions"] = [{"effective_from": "2025-01-01", "waiting_period_days": 30, "colour": "red"}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(args=["scheme", "load", str(path)])
    assert result.exit_code == 1
    message = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "providers[3].tariff_changes[0].from" in message and "contract_from" in message
    assert "products[0].versions[0].colour" in message
    assert runner.invoke(args=["claims", "export", "--scheme", "MUT-NDIAGANE"]).exit_code == 1  # nothing written
