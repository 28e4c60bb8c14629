"""The reports keep no table of their own: they read the stored ledgers that the contributions feature keeps
current on every write (``mhi.contributions.models``, re-exported here for the report code and its tests)."""

from __future__ import annotations

from mhi.contributions.models import ReportDueTotal, ReportHousehold, ReportPeriod

__all__ = ["ReportDueTotal", "ReportHousehold", "ReportPeriod"]
