"""Names of the indicators and of indicators.md's sections, for screens and printed reports (translated)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mhi.reports.indicators import INDICATORS

#: On-screen names of the indicators (indicators.md; the French names are those a mutuelle's board knows).
LABELS = {
    "households_covered_start": _l("Households covered at the start"),
    "households_covered_end": _l("Households covered at the end"),
    "beneficiaries_covered_start": _l("Beneficiaries covered at the start"),
    "beneficiaries_covered_end": _l("Beneficiaries covered at the end"),
    "new_households": _l("New households"),
    "new_beneficiaries": _l("New beneficiaries"),
    "households_struck_off": _l("Households struck off"),
    "penetration_rate": _l("Penetration rate"),
    "growth_rate": _l("Growth rate"),
    "retention_rate": _l("Retention rate"),
    "exposure_years": _l("Person-years covered"),
    "contributions_expected": _l("Contributions expected"),
    "period_dues_paid": _l("Dues of the period paid"),
    "collection_rate": _l("Collection rate"),
    "contributions_collected": _l("Contributions collected"),
    "contributions_earned": _l("Contributions earned"),
    "member_contributions_earned": _l("Contributions earned (members' share)"),
    "own_resources_share": _l("Own resources share"),
    "subsidies_due": _l("Subsidies due"),
    "subsidies_received": _l("Subsidies received"),
    "registration_fees": _l("Registration fees"),
    "arrears": _l("Arrears"),
    "claims_submitted": _l("Claims received"),
    "claims_rejected": _l("Claims rejected"),
    "claim_rejection_ratio": _l("Claim rejection ratio"),
    "claims_incurred": _l("Claims incurred"),
    "claims_paid": _l("Claims paid"),
    "claims_outstanding": _l("Claims outstanding"),
    "incurred_claims_ratio": _l("Incurred claims ratio"),
    "paid_claims_ratio": _l("Paid claims ratio"),
    "median_days_to_payment": _l("Median days to payment"),
    "paid_within_30_days_ratio": _l("Share paid within 30 days"),
    "admin_expenses": _l("Operating expenses"),
    "expense_ratio": _l("Expense ratio"),
    "net_result": _l("Net result"),
    "reserves": _l("Reserves"),
    "reserve_months": _l("Reserves in months of claims"),
    "cash": _l("Cash"),
    "liquidity_ratio": _l("Liquidity ratio"),
}
#: indicators.md's sections, for grouping the dashboard.
SECTIONS = (
    (_l("Membership"), "households_covered_start", "exposure_years"),
    (_l("Contributions"), "contributions_expected", "arrears"),
    (_l("Claims"), "claims_submitted", "paid_within_30_days_ratio"),
    (_l("Finance"), "admin_expenses", "liquidity_ratio"),
)


def grouped_keys() -> list[tuple[str, list[str]]]:
    """The indicator keys of each section, in indicators.md's order."""
    keys = [key for key, _ in INDICATORS]
    return [(title, keys[keys.index(first) : keys.index(last) + 1]) for title, first, last in SECTIONS]


#: The traffic lights' words (indicators.md "Thresholds"), as the dashboard writes them.
LIGHTS = {"green": _l("green"), "amber": _l("amber"), "red": _l("red")}
