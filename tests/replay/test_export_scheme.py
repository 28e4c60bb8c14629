"""``export scheme`` (cli.md): each example scheme exported, then loaded from its folder into an empty database in
the import order, gives the same ``claims export`` and the same indicators, byte for byte."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES, empty_database
from tests.replay.machinery import PERIOD, replay, run

ORDER = ("members", "categories", "contributions", "subsidy-receipts", "claims", "expenses")
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
    for what in ORDER:
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
