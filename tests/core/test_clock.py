"""The one clock: aware UTC now, today in the deployment's zone, and tests that set the day."""

from __future__ import annotations

from datetime import UTC, date, datetime

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
