"""The ndiagane example replayed through the command line on the test database (examples/README.md): the
federation, both schemes, their members, contributions and subsidy receipts, then claims, each decided on
import; ``claims export`` must equal ndiagane-expected/<scheme>/claims.csv line for line."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES

pytest.importorskip("mhi.members.cli")
pytest.importorskip("mhi.contributions.cli")

EXAMPLE = EXAMPLES / "ndiagane"
EXPECTED = EXAMPLES / "ndiagane-expected"
SCHEMES = ("MUT-NDIAGANE", "MUT-POUT")


def invoke(runner, *args: str):
    """Run one command; it must succeed."""
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, f"{' '.join(args)}: {result.output}{getattr(result, 'stderr', '')}"
    return result


def test_replay_matches_the_expected_claims_export(runner):
    invoke(runner, "federation", "load", str(EXAMPLE / "federation.json"))
    for scheme in SCHEMES:
        folder = EXAMPLE / scheme
        invoke(runner, "scheme", "load", str(folder / "scheme.json"))
        for kind, name in (
            ("members", "members.csv"),
            ("contributions", "contributions.csv"),
            ("subsidy-receipts", "subsidy_receipts.csv"),
            ("claims", "claims.csv"),
        ):
            result = invoke(runner, "import", kind, "--scheme", scheme, str(folder / name))
            if kind == "claims":
                # edge_cases.txt: two paid_on dates given on claims decided REJECTED in each scheme.
                assert "(2 paid_on ignored on rejected claims)" in result.stderr
    for scheme in SCHEMES:
        got = invoke(runner, "claims", "export", "--scheme", scheme).stdout
        expected = (EXPECTED / scheme / "claims.csv").read_bytes().decode("utf-8")
        assert got.encode("utf-8").count(b"\r") == 0
        got_lines, expected_lines = got.split("\n"), expected.split("\n")
        assert got_lines[0] == expected_lines[0]
        assert sorted(got_lines) == sorted(expected_lines)
