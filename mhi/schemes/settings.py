"""A scheme's own settings, kept in ``scheme.settings`` (JSON): the card layout and the traffic-light thresholds.

Stored shape (only what the manager overrode; everything missing falls back to the defaults below)::

    {"card_layout": "person" | "household",
     "thresholds": {"collection_rate": {"green": "0.85", "red": "0.6"},
                    "incurred_claims_ratio": {"green_low": "0.6", "green_high": "0.85",
                                              "red_low": "0.4", "red_high": "1"}}}

Bounds are decimal strings, never JSON numbers, so a float never touches them (STYLE: Decimal everywhere).
"""

from __future__ import annotations

from decimal import Decimal

CARD_LAYOUTS = ("person", "household")
DEFAULT_CARD_LAYOUT = "person"

# indicators.md "Thresholds": which way is good decides how green and red read.
HIGHER_IS_BETTER = ("collection_rate", "retention_rate", "reserve_months", "liquidity_ratio")
LOWER_IS_BETTER = ("expense_ratio", "median_days_to_payment", "claim_rejection_ratio")
BANDED = ("incurred_claims_ratio",)
#: Every indicator with a light, in the order of indicators.md.
THRESHOLD_KEYS = (
    "collection_rate",
    "retention_rate",
    "incurred_claims_ratio",
    "expense_ratio",
    "reserve_months",
    "liquidity_ratio",
    "median_days_to_payment",
    "claim_rejection_ratio",
)
BAND_BOUNDS = ("green_low", "green_high", "red_low", "red_high")
ONE_WAY_BOUNDS = ("green", "red")

#: indicators.md "Thresholds" defaults (green includes its bounds; amber lies between green and red).
DEFAULT_THRESHOLDS: dict[str, dict[str, Decimal]] = {
    "collection_rate": {"green": Decimal("0.80"), "red": Decimal("0.60")},
    "retention_rate": {"green": Decimal("0.80"), "red": Decimal("0.60")},
    "incurred_claims_ratio": {
        "green_low": Decimal("0.60"),
        "green_high": Decimal("0.85"),
        "red_low": Decimal("0.40"),
        "red_high": Decimal("1.00"),
    },
    "expense_ratio": {"green": Decimal("0.20"), "red": Decimal("0.30")},
    "reserve_months": {"green": Decimal("3"), "red": Decimal("1")},
    "liquidity_ratio": {"green": Decimal("1.0"), "red": Decimal("0.5")},
    "median_days_to_payment": {"green": Decimal("30"), "red": Decimal("60")},
    "claim_rejection_ratio": {"green": Decimal("0.10"), "red": Decimal("0.20")},
}


def direction(key: str) -> str:
    """``higher`` or ``lower`` (which way is good), or ``band`` for the incurred claims ratio."""
    if key in BANDED:
        return "band"
    return "higher" if key in HIGHER_IS_BETTER else "lower"


def bound_names(key: str) -> tuple[str, ...]:
    """The bounds an indicator's threshold has: four for the banded claims ratio, green and red otherwise."""
    return BAND_BOUNDS if key in BANDED else ONE_WAY_BOUNDS


def card_layout(scheme) -> str:
    """``person`` (one card per beneficiary) or ``household`` (one card listing the household)."""
    layout = (scheme.settings or {}).get("card_layout")
    return layout if layout in CARD_LAYOUTS else DEFAULT_CARD_LAYOUT


def threshold_overrides(scheme) -> dict[str, dict[str, Decimal]]:
    """Only the bounds the scheme set itself, as Decimals (for the settings form)."""
    return overrides_in(scheme.settings)


def overrides_in(settings: dict | None) -> dict[str, dict[str, Decimal]]:
    """The threshold overrides held in a settings document, as Decimals."""
    stored = (settings or {}).get("thresholds") or {}
    result: dict[str, dict[str, Decimal]] = {}
    for key in THRESHOLD_KEYS:
        bounds = stored.get(key) or {}
        values = {name: Decimal(str(bounds[name])) for name in bound_names(key) if bounds.get(name) not in (None, "")}
        if values:
            result[key] = values
    return result


def thresholds(scheme) -> dict[str, dict[str, Decimal]]:
    """The thresholds in force for ``scheme``: its overrides over the defaults of indicators.md."""
    return thresholds_in(scheme.settings)


def thresholds_in(settings: dict | None) -> dict[str, dict[str, Decimal]]:
    """The thresholds in force for a settings document (defaults where it says nothing)."""
    overrides = overrides_in(settings)
    return {key: {**DEFAULT_THRESHOLDS[key], **overrides.get(key, {})} for key in THRESHOLD_KEYS}


def traffic_light(key: str, value, bounds: dict[str, Decimal]) -> str | None:
    """``green``, ``amber`` or ``red`` for an indicator's value; None when the value is null (no light)."""
    if value is None:
        return None
    value = Decimal(str(value))
    if key in BANDED:
        if bounds["green_low"] <= value <= bounds["green_high"]:
            return "green"
        if value < bounds["red_low"] or value > bounds["red_high"]:
            return "red"
        return "amber"
    if key in HIGHER_IS_BETTER:
        if value >= bounds["green"]:
            return "green"
        return "red" if value < bounds["red"] else "amber"
    if value <= bounds["green"]:
        return "green"
    return "red" if value > bounds["red"] else "amber"


def check_bounds(key: str, bounds: dict[str, Decimal]) -> str | None:
    """Why a set of bounds (defaults filled in) cannot work, or None. The message is an English key the
    settings form translates: ``order`` (red must lie beyond green) or ``negative``."""
    if any(v < 0 for v in bounds.values()):
        return "negative"
    if key in BANDED:
        ok = bounds["red_low"] <= bounds["green_low"] <= bounds["green_high"] <= bounds["red_high"]
    elif key in HIGHER_IS_BETTER:
        ok = bounds["red"] <= bounds["green"]
    else:
        ok = bounds["green"] <= bounds["red"]
    return None if ok else "order"
