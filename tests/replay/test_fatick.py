"""The second acceptance test: examples/README.md's fatick federation (patient limits, newborns, categories over
time) replayed through the command line, categories imported right after members, every output compared with
fatick-expected/ (JSON key by key, claims.csv row by row and byte for byte)."""

from __future__ import annotations

from tests.conftest import EXAMPLES
from tests.replay.machinery import problems, replay

SCHEMES = ("MUT-DIAKHAO", "MUT-DIOFIOR", "MUT-NIAKHAR")
IMPORTS = ("members", "categories", "contributions", "subsidy-receipts", "claims", "expenses")


def test_replay_matches_expected(app, runner):
    outputs = replay(runner, EXAMPLES / "fatick", "UDAM-FATICK", SCHEMES, IMPORTS)
    found = problems(outputs, EXAMPLES / "fatick-expected", SCHEMES)
    assert not found, "\n".join(found[:80])
