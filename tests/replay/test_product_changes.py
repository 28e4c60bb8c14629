"""product_changes.csv on the Ndiagane example (issue 12; docs/decisions.md "Product changes"): loading the changes
after the receipts and claims gives exactly the state of loading them before them (claims export and indicators
equal), the changes do change the figures, and ``export scheme`` then reload gives the same figures again."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from mhi.core.dates import add_months
from tests.conftest import EXAMPLES, empty_database
from tests.replay.machinery import PERIOD, run

FOLDER = EXAMPLES / "ndiagane" / "MUT-NDIAGANE"
CODE = "MUT-NDIAGANE"
AFTER = ("contributions", "subsidy-receipts", "claims", "expenses")


def _rows(name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO((FOLDER / name).read_text(encoding="utf-8"))))


def product_changes(limit: int = 24) -> str:
    """BASE households to FAMILLE and FAMILLE households to BASE, each on the first period start of its grid after
    its last claim and after 2025-02-01 (so no decided claim is on or after it), within 2025."""
    heads = {r["household_ref"]: r for r in _rows("members.csv") if r["relationship"] == "head"}
    household_of = {r["member_no"]: r["household_ref"] for r in _rows("members.csv")}
    last: dict[str, date] = {}
    for claim in _rows("claims.csv"):
        ref = household_of.get(claim["member_no"])
        day = date.fromisoformat(claim["date_of_service"])
        if ref is not None and (ref not in last or day > last[ref]):
            last[ref] = day
    lines = ["household_ref,from_date,product_code,reason"]
    for ref, head in sorted(heads.items()):
        enrolment = date.fromisoformat(head["enrolment_date"])
        months, target = (1, "FAMILLE") if head["product_code"] == "BASE" else (12, "BASE")
        floor = max(last.get(ref, date.min), date(2025, 2, 1))
        k = 1
        while add_months(enrolment, k * months) <= floor:
            k += 1
        day = add_months(enrolment, k * months)
        if day <= date(2025, 12, 1):
            lines.append(f"{ref},{day.isoformat()},{target},moved by the test")
        if len(lines) > limit:
            break
    return "\n".join(lines) + "\n"


def figures(runner) -> tuple[str, str]:
    return (
        run(runner, "claims", "export", "--scheme", CODE),
        run(runner, "report", "indicators", "--scheme", CODE, *PERIOD, "--format", "json"),
    )


def load(runner, changes, *, changes_first: bool) -> tuple[str, str]:
    run(runner, "federation", "load", str(EXAMPLES / "ndiagane" / "federation.json"))
    run(runner, "scheme", "load", str(FOLDER / "scheme.json"))
    run(runner, "import", "members", "--scheme", CODE, str(FOLDER / "members.csv"))
    if changes is not None and changes_first:
        run(runner, "import", "product-changes", "--scheme", CODE, str(changes))
    for what in AFTER:
        run(runner, "import", what, "--scheme", CODE, str(FOLDER / f"{what.replace('-', '_')}.csv"))
    if changes is not None and not changes_first:
        run(runner, "import", "product-changes", "--scheme", CODE, str(changes))
    return figures(runner)


def test_loading_the_changes_after_the_records_gives_the_state_of_loading_them_before(app, runner, tmp_path):
    changes = tmp_path / "product_changes.csv"
    changes.write_text(product_changes(), encoding="utf-8")
    assert changes.read_text().count("\n") > 10, "the example gives changes to test"
    first = load(runner, changes, changes_first=True)
    empty_database(app)
    after = load(runner, changes, changes_first=False)
    assert after[0] == first[0], "the claims export depends on when the product changes were loaded"
    assert after[1] == first[1], "the indicators depend on when the product changes were loaded"
    empty_database(app)
    without = load(runner, None, changes_first=True)
    assert json.loads(without[1]) != json.loads(first[1]), "the product changes must change the figures"

    # export scheme carries them, and the folder reloads to the same figures.
    empty_database(app)
    load(runner, changes, changes_first=False)
    run(runner, "export", "scheme", "--scheme", CODE, "--out", str(tmp_path / "out"))
    exported = (tmp_path / "out" / "product_changes.csv").read_text(encoding="utf-8")
    assert exported.splitlines()[0] == "household_ref,from_date,product_code,reason"
    assert sorted(exported.splitlines()[1:]) == sorted(changes.read_text().splitlines()[1:])
    empty_database(app)
    run(runner, "federation", "load", str(tmp_path / "out" / "federation.json"))
    run(runner, "scheme", "load", str(tmp_path / "out" / "scheme.json"))
    for what in ("members", "categories", "product-changes", *AFTER):
        run(runner, "import", what, "--scheme", CODE, str(tmp_path / "out" / f"{what.replace('-', '_')}.csv"))
    assert figures(runner) == first
    # The same file again is unchanged; a claim already decided after a change's date refuses an earlier one.
    again = runner.invoke(args=["import", "product-changes", "--scheme", CODE, "--format", "json", str(changes)])
    assert again.exit_code == 0 and json.loads(again.stdout)["unchanged"] == changes.read_text().count("\n") - 1


def test_bad_rows_name_their_row_and_write_nothing(app, runner, tmp_path):
    run(runner, "federation", "load", str(EXAMPLES / "ndiagane" / "federation.json"))
    run(runner, "scheme", "load", str(FOLDER / "scheme.json"))
    run(runner, "import", "members", "--scheme", CODE, str(FOLDER / "members.csv"))
    for what in AFTER:
        run(runner, "import", what, "--scheme", CODE, str(FOLDER / f"{what.replace('-', '_')}.csv"))
    good = product_changes(3).splitlines()
    ref = good[1].split(",")[0]
    claimed = next(r for r in _rows("claims.csv") if r["member_no"].startswith("NDIA-"))
    household_of = {r["member_no"]: r["household_ref"] for r in _rows("members.csv")}
    heads = {r["household_ref"]: r for r in _rows("members.csv") if r["relationship"] == "head"}
    victim = household_of[claimed["member_no"]]
    head = heads[victim]
    enrolment = date.fromisoformat(head["enrolment_date"])
    target = "FAMILLE" if head["product_code"] == "BASE" else "BASE"
    cases = [
        (f"{ref},2030-02-30,BASE,x", "row 1, from_date"),
        ("NOPE-1,2025-03-01,BASE,x", "row 1, household_ref: NOPE-1 is not a household of this scheme"),
        (f"{ref},2025-03-01,GOLD,x", "row 1, product_code: GOLD is not a product of this scheme"),
        (f"{victim},2019-01-01,{target},x", "before the household's enrolment"),
        (f"{victim},{enrolment.isoformat()},{target},x", "claims already decided for care on or after"),
    ]
    for row, message in cases:
        path = tmp_path / "product_changes.csv"
        path.write_text("household_ref,from_date,product_code,reason\n" + good[1] + "\n" + row + "\n", encoding="utf-8")
        result = runner.invoke(args=["import", "product-changes", "--scheme", CODE, str(path)])
        assert result.exit_code == 1, row
        assert message.replace("row 1", "row 2") in result.stderr, (row, result.stderr)
    path.write_text("household_ref,from_date,product_code,note\n", encoding="utf-8")
    result = runner.invoke(args=["import", "product-changes", "--scheme", CODE, str(path)])
    assert result.exit_code == 1 and "note: unknown column" in result.stderr
    export = run(runner, "export", "scheme", "--scheme", CODE, "--out", str(tmp_path / "out"))
    assert export is not None
    assert (tmp_path / "out" / "product_changes.csv").read_text() == "household_ref,from_date,product_code,reason\n"
