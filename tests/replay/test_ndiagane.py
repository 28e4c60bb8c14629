"""The acceptance test: replay examples/README.md on the test database through the command line and compare
every output with ndiagane-expected/ by value (JSON key by key, claims.csv row by row).

The schema is built by conftest (the README's ``db upgrade``); everything else is the README's sequence, in its
order, through ``app.test_cli_runner``.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "ndiagane"
EXPECTED = EXAMPLES / "ndiagane-expected"
SCHEMES = ("MUT-NDIAGANE", "MUT-POUT")
PERIOD = ("--from", "2025-01-01", "--to", "2025-12-31")
IMPORTS = ("members", "contributions", "subsidy-receipts", "claims", "expenses")


def differences(expected, actual, path: str = "") -> list[str]:
    """Every place where two JSON values differ, as readable lines (key order does not matter)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        lines = []
        for key in expected.keys() | actual.keys():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                lines.append(f"{where}: missing (expected {expected[key]!r})")
            elif key not in expected:
                lines.append(f"{where}: unexpected {actual[key]!r}")
            else:
                lines.extend(differences(expected[key], actual[key], where))
        return sorted(lines)
    if isinstance(expected, bool) or isinstance(actual, bool) or type(expected) is not type(actual):
        numeric = (int, float)
        if isinstance(expected, numeric) and isinstance(actual, numeric) and not isinstance(actual, bool):
            return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]
        return [f"{path}: expected {expected!r} ({type(expected).__name__}), got {actual!r} ({type(actual).__name__})"]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def csv_rows(text: str) -> list[dict]:
    """A CSV document as a list of row dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def run(runner, *args: str) -> str:
    """Invoke one command; it must succeed. Returns stdout."""
    result = runner.invoke(args=list(args))
    stderr = getattr(result, "stderr", "") if result.stderr_bytes is not None else ""
    assert result.exit_code == 0, f"{' '.join(args)} exited {result.exit_code}: {result.output}{stderr}"
    return result.stdout


@pytest.fixture
def replay(app, runner):
    """The README's sequence; returns every output by name."""
    outputs: dict[str, str] = {}
    run(runner, "federation", "load", str(EXAMPLE / "federation.json"))
    for scheme in SCHEMES:
        folder = EXAMPLE / scheme
        run(runner, "scheme", "load", str(folder / "scheme.json"))
        for what in IMPORTS:
            run(runner, "import", what, "--scheme", scheme, str(folder / f"{what.replace('-', '_')}.csv"))
        outputs[f"{scheme}/claims.csv"] = run(runner, "claims", "export", "--scheme", scheme)
        outputs[f"{scheme}/indicators.json"] = run(
            runner, "report", "indicators", "--scheme", scheme, *PERIOD, "--format", "json"
        )
    outputs["federation.json"] = run(runner, "report", "federation", "--federation", "UMT", *PERIOD, "--format", "json")
    outputs["pool.json"] = run(runner, "pool", "settle", "--federation", "UMT", *PERIOD, "--format", "json")
    return outputs


def test_replay_matches_expected(replay):
    problems: list[str] = []
    for scheme in SCHEMES:
        expected_rows = csv_rows((EXPECTED / scheme / "claims.csv").read_text(encoding="utf-8"))
        actual_rows = csv_rows(replay[f"{scheme}/claims.csv"])
        if len(expected_rows) != len(actual_rows):
            problems.append(f"{scheme}/claims.csv: {len(actual_rows)} rows, expected {len(expected_rows)}")
        for number, (expected, actual) in enumerate(zip(expected_rows, actual_rows, strict=False), start=1):
            if expected != actual:
                problems.append(f"{scheme}/claims.csv row {number}: expected {expected}, got {actual}")
    for name in [f"{scheme}/indicators.json" for scheme in SCHEMES] + ["federation.json", "pool.json"]:
        expected = json.loads((EXPECTED / name).read_text(encoding="utf-8"))
        actual = json.loads(replay[name])
        problems.extend(f"{name}: {line}" for line in differences(expected, actual))
    assert not problems, "\n".join(problems[:80])
