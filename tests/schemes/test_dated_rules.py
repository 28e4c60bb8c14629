"""Dated rule changes (data-formats.md "Loading the same scheme.json", cli.md ``scheme load --effective-from``):
a changed product becomes a version from D, a changed programme takes new terms from D (earlier periods keep the
old ones), and after any change every household's derived rows are those the rules now give — loading a change
after the records gives exactly the state of loading it before them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from mhi.contributions.models import CoverageSpan, ReportHousehold, ReportPeriod
from mhi.contributions.services import ledger_for, refresh_scheme
from mhi.core.db import db
from mhi.members.models import Household
from mhi.schemes.models import SubsidyProgramme
from mhi.schemes.programmes import terms_on
from mhi.schemes.services import change_programme_terms
from mhi.schemes.versions import _RULES_CHANGED, VersionError
from tests.conftest import EXAMPLES, empty_database
from tests.replay.machinery import PERIOD, run

EXAMPLE = EXAMPLES / "ndiagane"
SCHEME = "MUT-NDIAGANE"
RECORDS = ("members", "contributions", "subsidy-receipts")
LATER = ("claims", "expenses")
CHANGE_FROM = "2025-07-01"


def _scheme_json() -> dict:
    return json.loads((EXAMPLE / SCHEME / "scheme.json").read_text(encoding="utf-8"))


def _product_change(data: dict) -> dict:
    """BASE costs 600 a person a month and pays 60 % of a consultation."""
    base = data["products"][0]
    base["contribution"]["amount"] = "600"
    base["benefits"][0]["coverage_rate"] = "0.6"
    return data


def _programme_change(data: dict) -> dict:
    """The verified defect's change: CMU-50 pays 40 % instead of 50 %."""
    data["subsidy_programmes"][0]["share"] = "0.4"
    return data


def _write(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "scheme-changed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _import(runner, what: str) -> None:
    run(runner, "import", what, "--scheme", SCHEME, str(EXAMPLE / SCHEME / f"{what.replace('-', '_')}.csv"))


def _state(app) -> dict:
    """Everything derived from the rules, by household reference: exit and strike-off dates, coverage spans, the
    stored report ledgers (ids left out: they differ from one load to the other)."""
    with app.app_context():
        refs = dict(db.session.execute(select(Household.id, Household.ref)).all())
        households = sorted(
            (ref, exit_, off) for ref, exit_, off in db.session.execute(
                select(Household.ref, Household.exit_date, Household.strike_off_date)
            )
        )  # fmt: skip
        spans = sorted((refs[h], s, e) for h, s, e in db.session.execute(
            select(CoverageSpan.household_id, CoverageSpan.start, CoverageSpan.end)
        ))  # fmt: skip
        ledgers = sorted(
            (
                refs[row.household_id],
                row.registration_fee,
                row.registration_member,
                row.strike_off_date,
                row.fingerprint,
            )
            for row in db.session.scalars(select(ReportHousehold))
        )
        periods = sorted(
            (refs[row.household_id], row.start, row.end, row.gross, row.member_due, row.cumulative, row.paid_on)
            for row in db.session.scalars(select(ReportPeriod))
        )
        db.session.remove()
    return {"households": households, "spans": spans, "ledgers": ledgers, "periods": periods}


def _outputs(runner) -> dict:
    return {
        "claims": run(runner, "claims", "export", "--scheme", SCHEME),
        "indicators": json.loads(run(runner, "report", "indicators", "--scheme", SCHEME, *PERIOD, "--format", "json")),
    }


def _scenario(app, runner, changed: str, *, change_after: tuple[str, ...]) -> tuple[dict, dict]:
    """Load the example with the change loaded once the imports in ``change_after`` are done."""
    empty_database(app)
    run(runner, "federation", "load", str(EXAMPLE / "federation.json"))
    run(runner, "scheme", "load", str(EXAMPLE / SCHEME / "scheme.json"))
    if not change_after:
        run(runner, "scheme", "load", changed, "--effective-from", CHANGE_FROM)
    for what in RECORDS + LATER:
        _import(runner, what)
        if change_after and what == change_after[-1]:
            run(runner, "scheme", "load", changed, "--effective-from", CHANGE_FROM)
    return _outputs(runner), _state(app)


@pytest.mark.parametrize("change", [_product_change, _programme_change], ids=["product", "programme"])
def test_a_change_loaded_after_the_records_gives_the_state_of_loading_it_before(app, runner, tmp_path, change):
    changed = _write(tmp_path, change(_scheme_json()))
    before_outputs, before_state = _scenario(app, runner, changed, change_after=())
    after_outputs, after_state = _scenario(app, runner, changed, change_after=RECORDS)
    assert after_state == before_state
    assert after_outputs["indicators"] == before_outputs["indicators"]
    assert after_outputs["claims"] == before_outputs["claims"]
    # The change changed something, from its date only: the unchanged replay gives other figures.
    expected = json.loads((EXAMPLES / "ndiagane-expected" / SCHEME / "indicators.json").read_text(encoding="utf-8"))
    assert before_outputs["indicators"]["indicators"] != expected["indicators"]

    # Loaded after the claims too, decided claims keep their decision, and the derived rows are still the rules'.
    late_outputs, late_state = _scenario(app, runner, changed, change_after=RECORDS + LATER)
    assert late_state == before_state
    assert late_outputs["claims"] == (EXAMPLES / "ndiagane-expected" / SCHEME / "claims.csv").read_text(
        encoding="utf-8"
    )


def _load(runner) -> None:
    run(runner, "federation", "load", str(EXAMPLE / "federation.json"))
    run(runner, "scheme", "load", str(EXAMPLE / SCHEME / "scheme.json"))
    for what in RECORDS:
        _import(runner, what)


def test_a_programme_change_keeps_the_old_share_for_periods_starting_before_its_date(app, runner, tmp_path):
    _load(runner)
    run(runner, "scheme", "load", _write(tmp_path, _programme_change(_scheme_json())), "--effective-from", CHANGE_FROM)
    with app.app_context():
        programme = db.session.scalar(select(SubsidyProgramme).where(SubsidyProgramme.code == "CMU-50"))
        assert [(t.effective_from, t.share) for t in programme.terms] == [
            (date(2024, 1, 1), Decimal("0.5")),
            (date(2025, 7, 1), Decimal("0.4")),
        ]
        assert terms_on(programme, date(2025, 6, 30)).share == Decimal("0.5")
        assert terms_on(programme, date(2025, 7, 1)).share == Decimal("0.4")
        # A household paying through July: 50 % of each period's gross before the date, 40 % from it.
        seen = set()
        for household in db.session.scalars(select(Household).where(Household.strike_off_date.is_(None))):
            for period in ledger_for(db.session, household).periods_until(date(2025, 12, 31)):
                parts = dict(period.subsidies)
                if list(parts) != ["CMU-50"] or not period.gross:
                    continue
                share = parts["CMU-50"] / period.gross
                seen.add(share)
                assert share == (Decimal("0.4") if period.start >= date(2025, 7, 1) else Decimal("0.5")), period
        assert seen == {Decimal("0.4"), Decimal("0.5")}
        db.session.remove()


def test_a_change_on_or_before_a_closed_pool_period_is_refused(app, runner, tmp_path):
    _load(runner)
    run(runner, "pool", "settle", "--federation", "UMT", "--from", "2025-01-01", "--to", "2025-06-30", "--close")
    with app.app_context():
        before = _state(app)
    result = runner.invoke(
        args=["scheme", "load", _write(tmp_path, _programme_change(_scheme_json())), "--effective-from", "2025-06-30"]
    )
    assert result.exit_code != 0
    assert "closed pool settlement of 2025-01-01 to 2025-06-30" in result.output
    assert _state(app) == before
    with app.app_context():
        programme = db.session.scalar(select(SubsidyProgramme).where(SubsidyProgramme.code == "CMU-50"))
        assert len(programme.terms) == 1
        db.session.remove()
    # The day after the closed period is allowed.
    run(runner, "scheme", "load", _write(tmp_path, _programme_change(_scheme_json())), "--effective-from", "2025-07-01")


def test_a_programme_edited_on_screen_refreshes_every_household(app, runner):
    _load(runner)
    with app.app_context():
        programme = db.session.scalar(select(SubsidyProgramme).where(SubsidyProgramme.code == "CMU-50"))
        stored = dict(db.session.execute(select(Household.ref, Household.strike_off_date)).all())
        terms = change_programme_terms(
            db.session, programme, effective_from=date(2025, 7, 1), share="0.4", categories=["standard", "indigent", "vulnerable"], actor=None
        )  # fmt: skip
        assert terms is not None
        db.session.commit()
        # What every household's ledger gives now is what is stored: no stale strike-off date.
        now = dict(db.session.execute(select(Household.ref, Household.strike_off_date)).all())
        for household in db.session.scalars(select(Household)):
            assert ledger_for(db.session, household).strike_off_date == household.strike_off_date, household.ref
        assert now != stored
        with pytest.raises(VersionError, match="already has terms from 2025-07-01"):
            change_programme_terms(db.session, programme, effective_from=date(2025, 7, 1), share="0.3", categories=["standard"], actor=None)  # fmt: skip
        with pytest.raises(VersionError, match="between 0 and 1"):
            change_programme_terms(db.session, programme, effective_from=date(2025, 9, 1), share="1.5", categories=["standard"], actor=None)  # fmt: skip
        db.session.rollback()
        db.session.remove()


def test_every_change_of_rules_refreshes_the_households():
    """The file load, the version activation and a programme edit call ``rules_changed``; contributions answers."""
    assert refresh_scheme in _RULES_CHANGED.values()
