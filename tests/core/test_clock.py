"""The one clock: aware UTC now, today in the deployment's zone, and tests that set the day."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import mhi
from mhi.core import clock


def test_now_is_aware_utc_and_stored_naive():
    moment = clock.now()
    assert moment.tzinfo is not None and moment.utcoffset().total_seconds() == 0
    stored = clock.stored_now()
    assert stored.tzinfo is None and abs((stored - moment.replace(tzinfo=None)).total_seconds()) < 5


def test_frozen_sets_today_everywhere(app):
    with clock.frozen(date(2025, 3, 15)):
        assert clock.today() == date(2025, 3, 15)
        from mhi.members.views import day_arg

        with app.test_request_context("/"):
            assert day_arg() == date(2025, 3, 15)  # a page's default day is the clock's
    assert clock.today() != date(2025, 3, 15)


def test_today_is_counted_in_the_deployment_zone(app):
    late = datetime(2025, 3, 15, 22, 30, tzinfo=UTC)
    with clock.frozen(late), app.app_context():
        assert clock.today() == date(2025, 3, 15)
        app.config["MHI_TIME_ZONE"] = "Africa/Nairobi"  # UTC+3: already the 16th
        try:
            assert clock.today() == date(2025, 3, 16)
            assert clock.local(late).hour == 1
        finally:
            app.config.pop("MHI_TIME_ZONE")


#: Reading the system's clock: ``date.today()``, ``datetime.now()``/``today()``/``utcnow()``, ``time.time()`` is not
#: one of them (it measures durations, it names no day).
SYSTEM_CLOCK = {("date", "today"), ("datetime", "now"), ("datetime", "today"), ("datetime", "utcnow")}
#: Any clock, the app's included: what a test must not read while it is being collected.
ANY_CLOCK = SYSTEM_CLOCK | {("clock", "today"), ("clock", "now"), ("clock", "stored_now")}


def clock_reads(node: ast.AST, clocks: set[tuple[str, str]]) -> list[int]:
    """The lines under ``node`` that call one of ``clocks`` (``owner.name()``)."""
    return [
        call.lineno
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and (call.func.value.id, call.func.attr) in clocks
    ]


def test_the_system_clock_is_read_in_one_place():
    """Every day and time of the application comes from ``core/clock.py`` (one zone, and tests can set it); the
    tests take theirs from it too, so the day they send is the day the app checks it against, whatever the
    machine's zone."""
    app_root, tests_root = Path(mhi.__file__).parent, Path(__file__).parents[1]
    found = [
        f"{path}:{line}"
        for root in (app_root, tests_root)
        for path in sorted(root.rglob("*.py"))
        if path != app_root / "core" / "clock.py"
        for line in clock_reads(ast.parse(path.read_text(encoding="utf-8")), SYSTEM_CLOCK)
    ]
    assert found == [], f"read the day from mhi.core.clock, not the system: {found}"


def test_no_test_reads_the_clock_while_it_is_collected():
    """A decorator's arguments (``parametrize`` above all) are evaluated when the tests are collected: a suite
    that crosses midnight would then send yesterday's "tomorrow" to an app whose today has moved on (CI, stop 37).
    Such a date is made in the test, or the test sets the clock."""
    root = Path(__file__).parents[1]
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found += [
                    f"{path.relative_to(root)}:{line}"
                    for d in node.decorator_list
                    for line in clock_reads(d, ANY_CLOCK)
                ]
    assert found == [], f"a date made at collection time: {found}"


def test_the_guard_sees_a_date_made_at_collection_time():
    source = "@pytest.mark.parametrize('day', [date.today() + timedelta(days=1)])\ndef test_x(day): pass\n"
    decorator = ast.parse(source).body[0].decorator_list[0]
    assert clock_reads(decorator, ANY_CLOCK) == [1]
    assert clock_reads(ast.parse("def f():\n    return clock.today()\n"), SYSTEM_CLOCK) == []
