"""The claim decision engine against adjudication.md, with a fake household coverage."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from mhi.claims.rules import (
    CHECK_CODES,
    MESSAGES,
    BenefitRule,
    ClaimInput,
    History,
    PatientRule,
    ProductRule,
    ProviderRule,
    StaticContext,
    claim_sort_key,
    decide,
    decide_batch,
)

D = Decimal
RECORDED = date(2026, 1, 14)

OPD = BenefitRule(
    "OPD",
    "service",
    coverage_rate=D("0.7"),
    ceiling_per_case=D("6000"),
    ceiling_per_year=D("20000"),
    max_cases_per_year=3,
)
HOSP = BenefitRule("HOSP", "service", coverage_rate=D("0.8"), ceiling_per_case=D("100000"))
MAT = BenefitRule(
    "MAT",
    "service",
    coverage_rate=D("1"),
    ceiling_per_case=D("20000"),
    max_cases_per_year=1,
    waiting_period_days=270,
)
DEATH = BenefitRule("DEATH", "cash", amount=D("25000"), waiting_period_days=180, max_cases_per_year=1)
# A cash benefit that is not a death allowance (a person may have it more than once).
ALLOWANCE = BenefitRule("ALLOW", "cash", amount=D("10000"), waiting_period_days=180, max_cases_per_year=1)
BASE = ProductRule(
    waiting_period_days=120,
    submission_limit_days=90,
    benefits={b.code: b for b in (OPD, HOSP, MAT, DEATH, ALLOWANCE)},
)
# A later version of the product without the death benefit, from 2025-07-01.
BASE_V2 = ProductRule(waiting_period_days=120, submission_limit_days=90, benefits={"OPD": OPD, "HOSP": HOSP})

PROVIDERS = {
    "PS": ProviderRule("PS", date(2024, 1, 1), None, {"OPD": D("1500")}),
    "HR": ProviderRule("HR", date(2024, 1, 1), None, {}),
    "CLIN": ProviderRule("CLIN", date(2024, 3, 1), date(2025, 6, 30), {"OPD": D("3500")}),
    "LATE": ProviderRule("LATE", date(2025, 3, 1), None, {}),
}


def product_at(day: date) -> ProductRule:
    """The household's product version on ``day``: BASE, then BASE_V2 from 2025-07-01."""
    return BASE if day < date(2025, 7, 1) else BASE_V2


def base_only(day: date) -> ProductRule:
    """A household that stays on the first version."""
    return BASE


PATIENTS = {
    "M1": PatientRule("M1", date(2024, 1, 1), None, "H1", base_only),
    "M2": PatientRule("M2", date(2024, 1, 1), None, "H1", base_only),
    # Leaves the scheme on 2025-05-10 (a death, say).
    "M3": PatientRule("M3", date(2024, 1, 1), date(2025, 5, 10), "H1", base_only),
    # Joins a household later than its head.
    "M4": PatientRule("M4", date(2025, 3, 1), None, "H1", base_only),
    "M5": PatientRule("M5", date(2024, 1, 1), None, "H2", product_at),
    "M6": PatientRule("M6", date(2024, 1, 1), None, "H3", lambda day: None),
}

# Fake contributions.md §4: H1 covered all along; H2 until 2025-08-31 (first uncovered day 2025-09-01).
COVERED_UNTIL = {"H1": date(2099, 1, 1), "H2": date(2025, 9, 1), "H3": date(2099, 1, 1)}


def covered(household_key: str, day: date) -> bool:
    """Fake household coverage: covered from 2024-01-01 to the day before COVERED_UNTIL."""
    return date(2024, 1, 1) <= day < COVERED_UNTIL[household_key]


CTX = StaticContext(PATIENTS, PROVIDERS, covered)


def claim(ref="C1", member="M1", provider="PS", benefit="OPD", dos="2025-03-10", sub=None, amount="1000", rec=None):
    """A claim with sensible defaults (submitted on the day of service, recorded on 2026-01-14)."""
    service = date.fromisoformat(dos)
    return ClaimInput(
        claim_ref=ref,
        member_no=member,
        provider_code=provider,
        benefit_code=benefit,
        date_of_service=service,
        date_submitted=date.fromisoformat(sub) if sub else service,
        amount_claimed=D(amount),
        recorded_on=date.fromisoformat(rec) if rec else RECORDED,
    )


def run(*claims, history=None, currency="XOF"):
    """Decide claims one after the other on one history, as an import does; the last decision."""
    history = history if history is not None else History()
    decision = None
    for one in claims:
        decision = decide(one, CTX, history, currency)
        history.add(one, decision)
    return decision


def rejected_with(decision, code):
    """Assert a rejection with exactly ``code``, and the check shape that goes with it."""
    assert decision.status == "REJECTED"
    assert decision.reasons == (code,)
    assert decision.amount_approved == 0
    assert decision.co_payment is None
    index = CHECK_CODES.index(code)
    assert [c.passed for c in decision.checks] == [True] * index + [False] + [None] * (len(CHECK_CODES) - 1 - index)
    return True


# --- approvals and the shape of a decision ---


def test_approved_service_claim_pays_the_rate_and_leaves_a_co_payment():
    decision = run(claim(amount="1000"))
    assert (decision.status, decision.amount_approved, decision.reasons) == ("APPROVED", D("700"), ())
    assert decision.co_payment == D("300")
    assert [c.code for c in decision.checks] == list(CHECK_CODES)
    assert all(c.passed for c in decision.checks)


def test_rate_is_rounded_half_up_to_the_currency():
    assert run(claim(provider="HR", amount="1235")).amount_approved == D("865")  # 864.5
    inr = run(claim(provider="HR", amount="10.05"), currency="INR")
    assert inr.amount_approved == D("7.04")  # 7.035
    assert inr.co_payment == D("3.01")


def test_every_check_detail_renders_in_english():
    decisions = [
        run(claim()),
        run(claim(member="NOPE")),
        run(claim(provider=None, benefit="DEATH", dos="2025-04-01", amount="0")),
        run(claim(provider="CLIN", dos="2025-07-01")),
    ]
    for decision in decisions:
        for check in decision.checks:
            assert check.message in MESSAGES.values()
            assert "%(" not in check.detail
    assert decisions[1].checks[0].detail == "No person with member number NOPE in this scheme."
    assert decisions[3].checks[3].detail == (
        "Provider CLIN is under contract from 2024-03-01 to 2025-06-30, not on 2025-07-01."
    )
    assert decisions[1].checks[5].detail == "Not checked: an earlier check rejected the claim."


# --- one test per reason code, in check order ---


def test_unknown_member():
    assert rejected_with(run(claim(member="NOBODY")), "UNKNOWN_MEMBER")


def test_unknown_benefit():
    assert rejected_with(run(claim(benefit="DENTAL")), "UNKNOWN_BENEFIT")


def test_benefit_not_in_the_product_version_in_force_on_the_day_of_service():
    before = claim(member="M5", provider=None, benefit="DEATH", dos="2025-06-30")
    after = claim(member="M5", provider=None, benefit="DEATH", dos="2025-07-01")
    assert run(before).status == "APPROVED"
    assert rejected_with(run(after), "UNKNOWN_BENEFIT")


def test_no_product_in_force_is_an_unknown_benefit():
    assert rejected_with(run(claim(member="M6")), "UNKNOWN_BENEFIT")


@pytest.mark.parametrize(
    ("provider", "dos"),
    [
        (None, "2025-03-10"),
        ("", "2025-03-10"),
        ("NOWHERE", "2025-03-10"),
        ("CLIN", "2025-07-01"),
        ("CLIN", "2024-02-29"),
    ],
)
def test_provider_not_contracted(provider, dos):
    assert rejected_with(run(claim(provider=provider, dos=dos)), "PROVIDER_NOT_CONTRACTED")


def test_provider_contract_ends_inclusive():
    assert run(claim(provider="CLIN", dos="2025-06-30")).status == "APPROVED"
    first_day = run(claim(provider="CLIN", dos="2024-03-01"))  # then still in M1's waiting period
    assert first_day.checks[3].passed is True
    assert first_day.reasons == ("WAITING_PERIOD",)


def test_provider_on_a_cash_claim_is_ignored():
    decision = run(claim(provider="NOWHERE", benefit="DEATH", dos="2025-04-01", amount="0"))
    assert (decision.status, decision.amount_approved) == ("APPROVED", D("25000"))


def test_invalid_dates_service_after_submission():
    assert rejected_with(run(claim(dos="2025-03-10", sub="2025-03-09")), "INVALID_DATES")


def test_invalid_dates_submitted_after_recording():
    assert rejected_with(run(claim(dos="2025-03-10", sub="2025-03-12", rec="2025-03-11")), "INVALID_DATES")
    assert run(claim(dos="2025-03-10", sub="2025-03-11", rec="2025-03-11")).status == "APPROVED"


def test_late_submission_limit_is_inclusive():
    assert run(claim(dos="2025-03-10", sub="2025-06-08")).status == "APPROVED"  # 90 days
    assert rejected_with(run(claim(dos="2025-03-10", sub="2025-06-09")), "LATE_SUBMISSION")  # 91 days


def test_no_submission_limit():
    patients = dict(PATIENTS)
    no_limit = dataclasses.replace(BASE, submission_limit_days=None)
    patients["M1"] = dataclasses.replace(PATIENTS["M1"], product_at=lambda day: no_limit)
    ctx = StaticContext(patients, PROVIDERS, covered)
    decision = decide(claim(dos="2024-06-01", sub="2025-12-31"), ctx, History(), "XOF")
    assert decision.status == "APPROVED"


def test_not_enrolled_before_enrolment():
    assert rejected_with(run(claim(member="M4", dos="2025-02-28")), "NOT_ENROLLED")


def test_not_enrolled_on_the_exit_date():
    assert run(claim(member="M3", dos="2025-05-09")).status == "APPROVED"
    assert rejected_with(run(claim(member="M3", dos="2025-05-10")), "NOT_ENROLLED")


def test_waiting_period_of_the_product():
    # Enrolled 2025-03-01, 120 days: covered from 2025-06-29.
    assert rejected_with(run(claim(member="M4", dos="2025-06-28")), "WAITING_PERIOD")
    assert run(claim(member="M4", dos="2025-06-29")).status == "APPROVED"


def test_benefit_waiting_period_replaces_the_products():
    # MAT: 270 days from 2024-01-01, so covered from 2024-09-27; the product's 120 days do not apply.
    mat = {"provider": "HR", "benefit": "MAT", "amount": "15000"}
    assert rejected_with(run(claim(dos="2024-09-26", **mat)), "WAITING_PERIOD")
    assert run(claim(dos="2024-09-27", **mat)).status == "APPROVED"


def test_not_covered():
    assert run(claim(member="M5", dos="2025-08-31")).status == "APPROVED"
    assert rejected_with(run(claim(member="M5", dos="2025-09-01")), "NOT_COVERED")


def test_duplicate_service_claim_needs_the_same_amount():
    first = claim("C1", amount="1000")
    assert rejected_with(run(first, claim("C2", amount="1000")), "DUPLICATE")
    assert rejected_with(run(first, claim("C2", amount="1000.00")), "DUPLICATE")
    assert run(first, claim("C2", amount="1100")).status == "APPROVED"
    assert run(first, claim("C2", amount="1000", provider="HR")).status == "APPROVED"
    assert run(first, claim("C2", amount="1000", member="M2")).status == "APPROVED"


def test_duplicate_cash_claim_same_day_whatever_the_amount():
    first = claim("C1", provider=None, benefit="DEATH", dos="2025-04-01", amount="0")
    again = claim("C2", provider="PS", benefit="DEATH", dos="2025-04-01", amount="25000")
    assert rejected_with(run(first, again), "DUPLICATE")


def test_rejected_claims_are_not_originals_of_a_duplicate():
    late = claim("C1", dos="2025-03-10", sub="2025-07-01")
    again = claim("C2", dos="2025-03-10", sub="2025-03-11")
    assert run(late, again).status == "APPROVED"


def test_max_cases_per_year():
    history = History()
    for n in range(3):
        assert run(claim(f"C{n}", dos=f"2025-03-1{n}"), history=history).status == "APPROVED"
    assert rejected_with(run(claim("C3", dos="2025-03-20"), history=history), "MAX_CASES")
    # The year is the calendar year of date_of_service: a new year starts a new count.
    assert run(claim("C4", dos="2026-01-02", sub="2026-01-02", rec="2026-01-02"), history=history).status == (
        "APPROVED"
    )


def test_max_cases_of_a_cash_benefit():
    first = claim("C1", provider=None, benefit="ALLOW", dos="2025-04-01", amount="0")
    second = claim("C2", provider=None, benefit="ALLOW", dos="2025-04-02", amount="0")
    assert rejected_with(run(first, second), "MAX_CASES")


# --- death allowance: a person dies once (issue 13, docs/decisions.md) ---


def test_a_second_death_claim_on_another_day_is_a_duplicate():
    # The first death (2025-05-10) is paid; M3 left the scheme that day. A claim dated before it would pass checks
    # 7-9 and be paid again: DUPLICATE. One dated after it is refused by check 7, the person having left.
    no_cap = dataclasses.replace(DEATH, max_cases_per_year=None)
    product = dataclasses.replace(BASE, benefits={"DEATH": no_cap})
    patient = dataclasses.replace(PATIENTS["M3"], product_at=lambda day: product)
    ctx = StaticContext({"M3": patient}, PROVIDERS, covered)
    history = History()
    first = claim("C1", member="M3", provider=None, benefit="DEATH", dos="2025-05-10", amount="0")
    history.add(first, decide(first, ctx, history, "XOF"))
    earlier = decide(claim("C2", member="M3", provider=None, benefit="DEATH", dos="2025-05-01"), ctx, history, "XOF")
    assert rejected_with(earlier, "DUPLICATE") and "2025-05-10" in earlier.checks[9].detail
    later = decide(claim("C3", member="M3", provider=None, benefit="DEATH", dos="2025-05-20"), ctx, history, "XOF")
    assert rejected_with(later, "NOT_ENROLLED")
    next_year = decide(claim("C4", member="M3", provider=None, benefit="DEATH", dos="2024-12-01"), ctx, history, "XOF")
    assert rejected_with(next_year, "DUPLICATE")


def test_a_second_death_claim_within_max_cases_is_max_cases_as_the_examples_say():
    # fatick DIOF-C000279: with max_cases_per_year 1, the second death claim of the year is MAX_CASES.
    first = claim("C1", member="M1", provider=None, benefit="DEATH", dos="2025-04-02", amount="0")
    again = claim("C2", member="M1", provider=None, benefit="DEATH", dos="2025-04-01", amount="0")
    assert rejected_with(run(first, again), "MAX_CASES")


def test_a_second_death_claim_on_the_same_day_is_check_ten_as_the_contract_says():
    first = claim("C1", member="M3", provider=None, benefit="DEATH", dos="2025-05-10", amount="0")
    again = claim("C2", member="M3", provider=None, benefit="DEATH", dos="2025-05-10", amount="30000")
    assert rejected_with(run(first, again), "DUPLICATE")


def test_a_rejected_death_claim_does_not_count_and_other_cash_benefits_are_not_deaths():
    waiting = claim("C1", member="M3", provider=None, benefit="DEATH", dos="2024-02-01", amount="0")
    assert rejected_with(run(waiting), "WAITING_PERIOD")
    history = History()
    run(waiting, history=history)
    assert history.death_of("M3") is None
    assert run(claim("C2", member="M3", provider=None, benefit="DEATH", dos="2025-05-10"), history=history).status == (
        "APPROVED"
    )
    assert history.death_of("M1") is None
    run(claim("C3", member="M1", provider=None, benefit="ALLOW", dos="2025-04-01"), history=history)
    assert history.death_of("M1") is None


def test_nothing_payable():
    # 0.7 × 0.5 = 0.35 rounds to 0 francs.
    assert rejected_with(run(claim(provider="HR", amount="0.5")), "NOTHING_PAYABLE")
    assert run(claim(provider="HR", amount="1")).amount_approved == D("1")  # 0.7 rounds to 1


def test_ceiling_per_year_used_up_rejects():
    history = History()
    # 3 × 6000 (capped per case) = 18000, then 2000 left of 20000, then nothing.
    hosp_free = {"provider": "HR", "amount": "10000"}
    for n in range(2):
        run(claim(f"C{n}", dos=f"2025-02-0{n + 1}", **hosp_free), history=history)
    third = run(claim("C2", dos="2025-02-03", **hosp_free), history=history)
    assert (third.status, third.amount_approved, third.reasons) == (
        "REDUCED",
        D("6000"),
        ("CEILING_PER_CASE",),
    )
    history_m2 = History()
    big = [claim(f"D{n}", member="M2", dos=f"2025-02-0{n + 1}", provider="HR", amount="8000") for n in range(3)]
    decisions = decide_batch(big, CTX, history_m2, "XOF")
    assert [d.amount_approved for d in decisions] == [D("5600"), D("5600"), D("5600")]
    assert history_m2.approved_total("M2", "OPD", 2025) == D("16800")


# --- notes ---


def test_tariff_capped():
    decision = run(claim(provider="PS", amount="2000"))
    assert (decision.status, decision.amount_approved, decision.reasons) == (
        "REDUCED",
        D("1050"),
        ("TARIFF_CAPPED",),
    )
    assert decision.co_payment == D("950")  # what the patient pays: the bill less what the scheme pays


def test_tariff_not_capped_when_the_bill_is_at_the_tariff():
    assert run(claim(provider="PS", amount="1500")).status == "APPROVED"


def test_ceiling_per_case():
    decision = run(claim(provider="HR", amount="10000"))
    assert (decision.status, decision.amount_approved, decision.reasons) == (
        "REDUCED",
        D("6000"),
        ("CEILING_PER_CASE",),
    )
    assert decision.co_payment == D("4000")


def test_ceiling_per_year_note():
    history = History()
    for n in range(2):
        run(claim(f"C{n}", provider="HR", dos=f"2025-02-0{n + 1}", amount="9000"), history=history)  # 6000 each
    decision = run(claim("C9", provider="CLIN", dos="2025-02-05", amount="2000"), history=history)
    assert (decision.status, decision.amount_approved, decision.reasons) == ("APPROVED", D("1400"), ())
    last = run(
        claim("C10", member="M1", provider="HR", benefit="OPD", dos="2025-02-06", amount="9000"),
        history=history,
    )
    assert last.reasons == ("MAX_CASES",)


def test_notes_in_step_order_and_annual_ceiling_spread_over_claims():
    patients = {"M1": PATIENTS["M1"]}
    many = dataclasses.replace(OPD, max_cases_per_year=None)
    product = dataclasses.replace(BASE, benefits={"OPD": many})
    patients["M1"] = dataclasses.replace(PATIENTS["M1"], product_at=lambda day: product)
    ctx = StaticContext(patients, PROVIDERS, covered)
    claims = [
        claim("A", provider="CLIN", dos="2025-01-05", amount="9000"),  # 3500 × 0.7 = 2450, tariff capped
        claim("B", provider="HR", dos="2025-01-06", amount="10000"),  # 7000 → 6000 per case
        claim("C", provider="HR", dos="2025-01-07", amount="9000"),  # 6300 → 6000 per case
        claim("D", provider="HR", dos="2025-01-08", amount="6000"),  # 4200 of 5550 left: approved
        claim("E", provider="CLIN", dos="2025-01-09", amount="9000"),  # 2450 → 1350 left
        claim("F", provider="HR", dos="2025-01-10", amount="100"),  # 70 → nothing left
        claim("G", provider="HR", dos="2026-01-02", sub="2026-01-02", amount="100"),  # a new year
    ]
    decisions = decide_batch(claims, ctx, History(), "XOF")
    summary = [(d.status, d.amount_approved, d.reasons) for d in decisions]
    assert summary == [
        ("REDUCED", D("2450"), ("TARIFF_CAPPED",)),
        ("REDUCED", D("6000"), ("CEILING_PER_CASE",)),
        ("REDUCED", D("6000"), ("CEILING_PER_CASE",)),
        ("APPROVED", D("4200"), ()),
        ("REDUCED", D("1350"), ("TARIFF_CAPPED", "CEILING_PER_YEAR")),
        ("REJECTED", D("0"), ("CEILING_PER_YEAR",)),
        ("APPROVED", D("70"), ()),
    ]
    assert decisions[4].co_payment == D("7650")
    # All three notes, in step order.
    big = dataclasses.replace(many, ceiling_per_case=D("2000"))
    product_big = dataclasses.replace(BASE, benefits={"OPD": big})
    patients["M1"] = dataclasses.replace(PATIENTS["M1"], product_at=lambda day: product_big)
    ctx = StaticContext(patients, PROVIDERS, covered)
    history = History()
    for n in range(9):
        decide_batch([claim(f"X{n}", provider="HR", dos="2025-03-01", amount=str(3000 + n))], ctx, history, "XOF")
    # 9 × 2000 + 700 = 18700 used, 1300 left; then 9000 → 3500 (tariff) → 2450 → 2000 (per case) → 1300.
    decide_batch([claim("X9", provider="HR", dos="2025-03-01", amount="1000")], ctx, history, "XOF")
    last = decide(claim("Y", provider="CLIN", dos="2025-03-02", amount="9000"), ctx, history, "XOF")
    assert (last.status, last.amount_approved, last.reasons) == (
        "REDUCED",
        D("1300"),
        ("TARIFF_CAPPED", "CEILING_PER_CASE", "CEILING_PER_YEAR"),
    )


def test_cash_benefit_pays_its_amount_with_ceilings():
    decision = run(claim(provider=None, benefit="DEATH", dos="2025-04-01", amount="99999"))
    assert (decision.status, decision.amount_approved, decision.reasons, decision.co_payment) == (
        "APPROVED",
        D("25000"),
        (),
        None,
    )
    capped = dataclasses.replace(DEATH, ceiling_per_case=D("20000"))
    product = dataclasses.replace(BASE, benefits={"DEATH": capped})
    patients = {"M1": dataclasses.replace(PATIENTS["M1"], product_at=lambda day: product)}
    ctx = StaticContext(patients, PROVIDERS, covered)
    reduced = decide(claim(provider=None, benefit="DEATH", dos="2025-04-01", amount="0"), ctx, History(), "XOF")
    assert (reduced.status, reduced.amount_approved, reduced.reasons) == (
        "REDUCED",
        D("20000"),
        ("CEILING_PER_CASE",),
    )


# --- order of the checks ---


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"member": "NOBODY", "benefit": "DENTAL"}, "UNKNOWN_MEMBER"),
        ({"benefit": "DENTAL", "provider": None}, "UNKNOWN_BENEFIT"),
        ({"provider": "NOWHERE", "sub": "2025-03-01"}, "PROVIDER_NOT_CONTRACTED"),
        ({"sub": "2025-03-09", "member": "M4", "dos": "2025-03-10"}, "INVALID_DATES"),
        ({"dos": "2025-03-10", "sub": "2025-07-01", "member": "M3"}, "LATE_SUBMISSION"),
        ({"member": "M3", "dos": "2025-06-01"}, "NOT_ENROLLED"),
        ({"member": "M4", "dos": "2025-03-01"}, "WAITING_PERIOD"),
        ({"member": "M5", "dos": "2025-10-01", "provider": "HR", "amount": "0.1"}, "NOT_COVERED"),
    ],
)
def test_a_claim_failing_two_checks_gets_the_first(kwargs, code):
    assert rejected_with(run(claim(**kwargs)), code)


def test_duplicate_comes_before_max_cases_and_amounts():
    history = History()
    for n in range(3):
        run(claim(f"C{n}", dos="2025-03-10", amount=str(1000 + n)), history=history)
    assert rejected_with(run(claim("C9", dos="2025-03-10", amount="1000"), history=history), "DUPLICATE")


# --- cash eligibility day ---


def test_death_on_the_first_uncovered_day_is_covered():
    # H2's first uncovered day is 2025-09-01: the day before (the eligibility day) was covered. M5's product
    # from 2025-07-01 has no DEATH benefit, so use a household on BASE with the same coverage.
    patients = {"M7": PatientRule("M7", date(2024, 1, 1), date(2025, 9, 1), "H2", base_only)}
    ctx = StaticContext(patients, PROVIDERS, covered)
    on_first = claim(member="M7", provider=None, benefit="DEATH", dos="2025-09-01", amount="0")
    day_after = claim(member="M7", provider=None, benefit="DEATH", dos="2025-09-02", amount="0")
    assert decide(on_first, ctx, History(), "XOF").status == "APPROVED"
    # Its exit date is the death: on 2025-09-02 the eligibility day is on the exit date.
    assert rejected_with(decide(day_after, ctx, History(), "XOF"), "NOT_ENROLLED")
    still_member = {"M7": dataclasses.replace(patients["M7"], exit_date=None)}
    ctx = StaticContext(still_member, PROVIDERS, covered)
    assert rejected_with(decide(day_after, ctx, History(), "XOF"), "NOT_COVERED")


def test_death_on_the_exit_date_is_eligible():
    decision = run(claim(member="M3", provider=None, benefit="DEATH", dos="2025-05-10", amount="0"))
    assert decision.status == "APPROVED"
    assert decision.checks[6].params["day"] == date(2025, 5, 9)


def test_cash_claim_on_the_enrolment_day_is_not_enrolled():
    assert rejected_with(run(claim(member="M4", provider=None, benefit="DEATH", dos="2025-03-01")), "NOT_ENROLLED")


# --- batches and history ---


def test_decide_batch_order_and_result_order():
    # Same day of service and submission: claim_ref in plain character order decides which is the original.
    later = claim("b-2", amount="1000")
    earlier = claim("B-1", amount="1000")
    decisions = decide_batch([later, earlier], CTX, History(), "XOF")
    assert [d.status for d in decisions] == ["REJECTED", "APPROVED"]
    assert sorted([later, earlier], key=claim_sort_key) == [earlier, later]
    # The day of service comes first, then the submission date.
    a = claim("Z", dos="2025-03-01", sub="2025-03-05")
    b = claim("A", dos="2025-03-01", sub="2025-03-06")
    c = claim("M", dos="2025-02-28", sub="2025-03-07")
    assert sorted([a, b, c], key=claim_sort_key) == [c, a, b]


def test_history_remove_undoes_add():
    history = History()
    first = claim("C1", provider="HR", amount="10000")
    decision = decide(first, CTX, history, "XOF")
    history.add(first, decision)
    assert history.cases("M1", "OPD", 2025) == 1
    assert history.approved_total("M1", "OPD", 2025) == D("6000")
    assert decide(claim("C2", provider="HR", amount="10000"), CTX, history, "XOF").reasons == ("DUPLICATE",)
    history.remove(first, decision)
    assert history.cases("M1", "OPD", 2025) == 0
    assert history.approved_total("M1", "OPD", 2025) == 0
    assert not history.is_duplicate(first, "service")
    assert decide(claim("C2", provider="HR", amount="10000"), CTX, history, "XOF").status == "REDUCED"


def test_history_counts_two_paying_claims_with_the_same_key_separately():
    # An officer may approve a claim the rules found a duplicate; removing one leaves the other counted.
    history = History()
    first = claim("C1")
    decision = decide(first, CTX, history, "XOF")
    history.add(first, decision)
    history.add(claim("C2"), decision)
    history.remove(first, decision)
    assert history.is_duplicate(first, "service")
    assert history.cases("M1", "OPD", 2025) == 1


def test_history_ignores_rejected_decisions():
    history = History()
    late = claim(sub="2025-12-31")
    decision = decide(late, CTX, history, "XOF")
    history.add(late, decision)
    history.remove(late, decision)
    assert history.cases("M1", "OPD", 2025) == 0


def test_override_amount_counts_in_the_annual_ceiling():
    history = History()
    first = claim("C1", provider="HR", amount="10000")
    automatic = decide(first, CTX, history, "XOF")
    history.add(first, automatic)
    override = dataclasses.replace(automatic, status="APPROVED", amount_approved=D("19500"), reasons=())
    history.remove(first, automatic)
    history.add(first, override)
    decision = decide(claim("C2", provider="HR", amount="1000"), CTX, history, "XOF")
    assert (decision.status, decision.amount_approved, decision.reasons) == (
        "REDUCED",
        D("500"),
        ("CEILING_PER_YEAR",),
    )
