"""``cards`` and ``statement`` on the command line (cli.md): the PDF written, exit 1 for unknown input with no
file written, exit 2 for usage errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mhi.core import clock
from tests.cards.helpers import make_household, pay, pdf_text
from tests.factories import make_scheme, records

RECENT = clock.today() - timedelta(days=10)


@pytest.fixture
def loaded(app):
    """Scheme MUT-A with two households in two villages, enrolled lately (so not struck off today)."""
    with records(app) as session:
        scheme = make_scheme(session, "MUT-A", name="Mutuelle de santé de Ndiagane")
        first = make_household(session, scheme, "H-001", enrolment=RECENT, language="en")
        make_household(session, scheme, "H-002", enrolment=RECENT, village="Pout", first_no=10)
        pay(session, first, RECENT, "1900", number="R-1")


def test_cards_for_everyone_and_for_one_household(runner, loaded, tmp_path):
    out = tmp_path / "cards.pdf"
    result = runner.invoke(args=["cards", "--scheme", "MUT-A", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "M-00001" in text and "M-00012" in text and "Aïssatou Lô" in text
    result = runner.invoke(args=["cards", "--scheme", "MUT-A", "--out", str(out), "--household", "H-002"])
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "M-00010" in text and "M-00001" not in text
    result = runner.invoke(args=["cards", "--scheme", "MUT-A", "--out", str(out), "--village", "Pout"])
    assert result.exit_code == 0 and "M-00001" not in pdf_text(out.read_bytes())
    result = runner.invoke(args=["cards", "--scheme", "MUT-A", "--out", str(out), "--since", str(RECENT)])
    assert result.exit_code == 0 and "M-00001" in pdf_text(out.read_bytes())


@pytest.mark.parametrize(
    "args, code",
    [
        (["--scheme", "NOPE"], 1),
        (["--scheme", "MUT-A", "--household", "NOPE"], 1),
        (["--scheme", "MUT-A", "--village", "Nowhere"], 1),
        (["--scheme", "MUT-A", "--since", "2999-01-01"], 1),
        (["--scheme", "MUT-A", "--since", "01/02/2024"], 2),
        (["--scheme", "MUT-A", "--household", "H-001", "--village", "Pout"], 2),
    ],
)
def test_cards_refusals_write_nothing(runner, loaded, tmp_path, args, code):
    out = tmp_path / "cards.pdf"
    result = runner.invoke(args=["cards", *args, "--out", str(out)])
    assert result.exit_code == code, result.output
    assert not out.exists()


def test_statement(runner, loaded, tmp_path):
    out = tmp_path / "statement.pdf"
    result = runner.invoke(
        args=[
            "statement",
            "--scheme",
            "MUT-A",
            "--household",
            "H-001",
            "--from",
            str(RECENT - timedelta(days=1)),
            "--to",
            str(clock.today()),
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    # The household's language is English (the scheme's is French).
    assert "Household statement" in text and "H-001" in text and "F CFA1,900" in text


@pytest.mark.parametrize(
    "args, code",
    [
        (["--scheme", "MUT-A", "--household", "NOPE", "--from", "2024-01-01", "--to", "2024-12-31"], 1),
        (["--scheme", "NOPE", "--household", "H-001", "--from", "2024-01-01", "--to", "2024-12-31"], 1),
        (["--scheme", "MUT-A", "--household", "H-001", "--from", "2024-12-31", "--to", "2024-01-01"], 2),
        (["--scheme", "MUT-A", "--household", "H-001", "--from", "2024-13-01", "--to", "2024-12-31"], 2),
    ],
)
def test_statement_refusals_write_nothing(runner, loaded, tmp_path, args, code):
    out = tmp_path / "statement.pdf"
    result = runner.invoke(args=["statement", *args, "--out", str(out)])
    assert result.exit_code == code, result.output
    assert not out.exists()
