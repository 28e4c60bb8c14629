"""The acceptance test: replay examples/README.md on the test database through the command line and compare
every output with ndiagane-expected/ by value (JSON key by key, claims.csv row by row and byte for byte).

The schema is built by conftest (the README's ``db upgrade``); everything else is the README's sequence, in its
order, through ``app.test_cli_runner`` (tests/replay/machinery.py).
"""

from __future__ import annotations

from tests.conftest import EXAMPLES
from tests.replay.machinery import problems, replay

SCHEMES = ("MUT-NDIAGANE", "MUT-POUT")
IMPORTS = ("members", "contributions", "subsidy-receipts", "claims", "expenses")


def test_replay_matches_expected(app, runner):
    outputs = replay(runner, EXAMPLES / "ndiagane", "UMT", SCHEMES, IMPORTS)
    found = problems(outputs, EXAMPLES / "ndiagane-expected", SCHEMES)
    assert not found, "\n".join(found[:80])
