"""The replay of examples/README.md shared by the example federations: the README's sequence through the
command line on the test database (``app.test_cli_runner``), and the comparison with the expected folder by value
(JSON key by key) and byte for byte (claims export)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

PERIOD = ("--from", "2025-01-01", "--to", "2025-12-31")


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


def replay(runner, example: Path, federation: str, schemes: tuple[str, ...], imports: tuple[str, ...]) -> dict:
    """examples/README.md's sequence for one example federation; returns every output by its expected name."""
    outputs: dict[str, str] = {}
    run(runner, "federation", "load", str(example / "federation.json"))
    for scheme in schemes:
        folder = example / scheme
        run(runner, "scheme", "load", str(folder / "scheme.json"))
        for what in imports:
            run(runner, "import", what, "--scheme", scheme, str(folder / f"{what.replace('-', '_')}.csv"))
        outputs[f"{scheme}/claims.csv"] = run(runner, "claims", "export", "--scheme", scheme)
        outputs[f"{scheme}/indicators.json"] = run(
            runner, "report", "indicators", "--scheme", scheme, *PERIOD, "--format", "json"
        )
    outputs["federation.json"] = run(
        runner, "report", "federation", "--federation", federation, *PERIOD, "--format", "json"
    )
    outputs["pool.json"] = run(runner, "pool", "settle", "--federation", federation, *PERIOD, "--format", "json")
    return outputs


def problems(outputs: dict, expected: Path, schemes: tuple[str, ...]) -> list[str]:
    """Every difference between the outputs and the expected folder: the claims export row by row and byte for
    byte, the JSON documents key by key."""
    found: list[str] = []
    for scheme in schemes:
        name = f"{scheme}/claims.csv"
        wanted_text = (expected / name).read_bytes().decode("utf-8")
        expected_rows = csv_rows(wanted_text)
        actual_rows = csv_rows(outputs[name])
        if len(expected_rows) != len(actual_rows):
            found.append(f"{name}: {len(actual_rows)} rows, expected {len(expected_rows)}")
        for number, (want, got) in enumerate(zip(expected_rows, actual_rows, strict=False), start=1):
            if want != got:
                found.append(f"{name} row {number}: expected {want}, got {got}")
        if not found and outputs[name] != wanted_text:
            found.append(f"{name}: same rows, but not the same bytes (quoting, line ends)")
    for name in [f"{scheme}/indicators.json" for scheme in schemes] + ["federation.json", "pool.json"]:
        want = json.loads((expected / name).read_text(encoding="utf-8"))
        got = json.loads(outputs[name])
        found.extend(f"{name}: {line}" for line in differences(want, got))
    return found
