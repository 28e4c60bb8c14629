"""Hand-worked cases of contributions.md §1–§6 for the pure rules engine."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from mhi.contributions.rules import (
    UNBOUNDED,
    HouseholdInput,
    PersonDates,
    Programme,
    Terms,
    build_ledger,
    household_exit_date,
    round_exact_sum,
)

D = Decimal
E = date(2024, 1, 1)


def terms(amount="500", basis="person", months=1, fee="0", grace=30, lapse=90):
    """A product version with the example scheme's habits as defaults."""
    return Terms(basis, D(amount), months, D(fee), grace, lapse)


def programme(code, share, categories=("standard",), valid_from=date(2020, 1, 1), valid_to=None):
    """A subsidy programme open to ``categories``."""
    return Programme(code, frozenset(categories), D(share), valid_from, valid_to)


def household(
    enrolment=E,
    persons=None,
    receipts=(),
    product=None,
    versions=None,
    programmes=(),
    category="standard",
    currency="XOF",
):
    """A HouseholdInput with one person enrolled at E unless told otherwise."""
    return HouseholdInput(
        enrolment=enrolment,
        category=category,
        persons=persons if persons is not None else [PersonDates(enrolment, None)],
        receipts=[(d, D(a)) for d, a in receipts],
        terms=versions if versions is not None else [(enrolment, product or terms())],
        programmes=list(programmes),
        currency=currency,
    )


def day(text):
    """A date from ISO text."""
    return date.fromisoformat(text)


# §1 periods ---------------------------------------------------------------------------------------------


def test_month_end_clamping_is_computed_from_e_each_time():
    """E = Jan 31: Feb 29, then Mar 31 again (from E, not from the previous start)."""
    ledger = build_ledger(household(enrolment=day("2024-01-31"), product=terms(lapse=None)))
    starts = [p.start for p in ledger.periods_until(day("2024-06-30"))]
    assert starts == [
        day(t) for t in ("2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30")
    ]
    assert ledger.periods_until(day("2024-01-31"))[0].end == day("2024-02-29")


def test_person_and_household_basis():
    """Gross is A · n_k per person, A per household."""
    people = [PersonDates(E, None)] * 3
    per_person = build_ledger(household(persons=people, product=terms("500", "person")))
    per_household = build_ledger(household(persons=people, product=terms("27000", "household", 12)))
    assert per_person.periods_until(E)[0].gross == D(1500)
    assert per_household.periods_until(E)[0].gross == D(27000)


def test_newborn_joining_mid_period_counts_from_the_next_period():
    """Enrolled on Jan 15: counts from Feb 1; enrolled exactly on a start: counts in that period."""
    people = [
        PersonDates(E, None),
        PersonDates(day("2024-01-15"), None),
        PersonDates(day("2024-03-01"), None),
    ]
    ledger = build_ledger(household(persons=people))
    assert [p.persons for p in ledger.periods_until(day("2024-03-01"))] == [1, 2, 3]
    assert [p.member_due for p in ledger.periods_until(day("2024-03-01"))] == [D(500), D(1000), D(1500)]


def test_an_exit_counts_until_the_period_after_and_ends_the_schedule():
    """A leaver counts in the period they leave in; when everyone has left the schedule ends."""
    people = [PersonDates(E, day("2024-03-20")), PersonDates(E, day("2024-02-10"))]
    h = household(persons=people)
    assert household_exit_date(h) == day("2024-03-20")
    ledger = build_ledger(h)
    periods = ledger.periods_until(day("2030-01-01"))
    assert [p.persons for p in periods] == [2, 2, 1]  # on Apr 1 nobody is left: the schedule ends
    assert periods[-1].end == day("2024-04-01")
    assert ledger.exit_date == day("2024-03-20")
    assert household_exit_date(household(persons=[PersonDates(E, day("2024-03-20")), PersonDates(E, None)])) is None


# §2 subsidy shares --------------------------------------------------------------------------------------


def test_shares_capped_at_one_with_cumulative_rounding():
    """0.5 + 0.5 + 0.25: the third is capped to 0; on 1001 the parts are 501 + 500 + 0, member due 0."""
    progs = [programme("A", "0.5"), programme("B", "0.5"), programme("C", "0.25")]
    ledger = build_ledger(household(product=terms("1001"), programmes=progs))
    period = ledger.periods_until(E)[0]
    assert period.subsidies == (("A", D(501)), ("B", D(500)), ("C", D(0)))
    assert period.member_due == D(0)


def test_cumulative_rounding_of_partial_shares():
    """0.5 + 0.25 + 0.5 (capped to 0.25) on 1001: S = 501, 751, 1001; and 0.25 + 0.25: 250 + 251, due 500."""
    progs = [programme("A", "0.5"), programme("B", "0.25"), programme("C", "0.5")]
    period = build_ledger(household(product=terms("1001"), programmes=progs)).periods_until(E)[0]
    assert period.subsidies == (("A", D(501)), ("B", D(250)), ("C", D(250)))
    quarters = [programme("A", "0.25"), programme("B", "0.25")]
    period = build_ledger(household(product=terms("1001"), programmes=quarters)).periods_until(E)[0]
    assert period.subsidies == (("A", D(250)), ("B", D(251)))
    assert period.member_due == D(500)


def test_programme_category_and_validity():
    """A programme applies on start_k inside [valid_from, valid_to] and to its categories only."""
    progs = [
        programme("CMU", "0.5", ("standard", "indigent")),
        programme("IND", "0.5", ("indigent",)),
        programme("ONG", "0.25", ("standard",), valid_to=day("2024-02-01")),
    ]
    ledger = build_ledger(household(product=terms("1000"), programmes=progs))
    dues = [p.member_due for p in ledger.periods_until(day("2024-03-01"))]
    assert dues == [D(250), D(250), D(500)]  # ONG applies on its valid_to, not after


def test_registration_fee_split_on_period_zero_shares():
    """R = 1001 split like period 0: r_p 501 and the member part 500."""
    ledger = build_ledger(household(product=terms(fee="1001"), programmes=[programme("A", "0.5")]))
    assert ledger.registration_split == (D(500), (("A", D(501)),))


def test_two_decimal_currency():
    """INR: 60.01 split 0.5 gives 30.01 subsidy (half up), 30.00 member."""
    ledger = build_ledger(household(product=terms("60.01"), programmes=[programme("A", "0.5")], currency="INR"))
    period = ledger.periods_until(E)[0]
    assert period.subsidies == (("A", D("30.01")),)
    assert str(period.member_due) == "30.00"


# fully subsidised ---------------------------------------------------------------------------------------


def _indigent(**kwargs):
    """An indigent household with two programmes that together pay everything."""
    progs = [programme("CMU", "0.5", ("standard", "indigent")), programme("IND", "0.5", ("indigent",))]
    return household(programmes=progs, category="indigent", **kwargs)


def test_fully_subsidised_household_needs_no_receipt():
    """No receipt, covered from E, paid_until unbounded, never struck off; R > 0 is fully subsidised too."""
    ledger = build_ledger(_indigent(product=terms(fee="1000")))
    assert ledger.registration_split == (D(0), (("CMU", D(500)), ("IND", D(500))))
    assert ledger.paid_until(E) is UNBOUNDED
    assert ledger.strike_off_date is None
    assert not ledger.is_covered(E - timedelta(days=1))
    assert ledger.is_covered(E) and ledger.is_covered(day("2099-12-31"))
    assert ledger.coverage_spans() == [(E, None)]
    assert len(ledger.periods_until(day("2034-01-01"))) == 121  # a horizon, not an endless loop
    amounts = ledger.amounts(day("2025-01-01"), day("2025-12-31"))
    assert amounts.contributions_expected == 0 and amounts.arrears_at_T == 0
    assert amounts.subsidies_due == D(6000)
    assert amounts.earned_gross_fraction == 6000 and amounts.earned_member_fraction == 0


def test_fully_subsidised_after_a_paid_registration_fee():
    """Subsidy from the second period on: r = R and d_0 must be paid first, then it is unbounded."""
    progs = [programme("FULL", "1", valid_from=day("2024-02-01"))]
    h = household(product=terms(fee="1000"), programmes=progs)
    unpaid = build_ledger(h)
    assert unpaid.registration_split == (D(1000), ())
    assert unpaid.paid_until(day("2024-12-31")) is None
    assert unpaid.strike_off_date == E + timedelta(days=90)
    h.receipts = [(day("2024-01-05"), D(1499))]
    assert build_ledger(h).paid_until(day("2024-12-31")) is None
    h.receipts = [(day("2024-01-05"), D(1500))]
    paid = build_ledger(h)
    assert paid.paid_until(day("2024-01-04")) is None
    assert paid.paid_until(day("2024-01-05")) is UNBOUNDED
    assert paid.strike_off_date is None
    assert paid.coverage_spans() == [(day("2024-01-05"), None)]


def test_fully_subsidised_until_the_programme_ends():
    """After valid_to the member dues come back and paid_until becomes finite."""
    progs = [programme("FULL", "1", valid_to=day("2024-03-31"))]
    ledger = build_ledger(household(programmes=progs, product=terms(lapse=None)))
    assert ledger.paid_until(day("2024-06-01")) == day("2024-04-01")
    assert ledger.is_covered(day("2024-04-30")) and not ledger.is_covered(day("2024-05-01"))
    assert ledger.strike_off_date is None  # no lapse: never struck off


# §3, §4 paying, coverage and grace ----------------------------------------------------------------------


def test_grace_boundaries():
    """Paid to Mar 1 with G = 30: the last covered day is Mar 30, Mar 31 is not covered."""
    ledger = build_ledger(household(receipts=[(E, "1000")]))
    assert ledger.paid_until(E) == day("2024-03-01")
    assert ledger.is_covered(day("2024-03-30"))
    assert not ledger.is_covered(day("2024-03-31"))
    assert ledger.coverage_spans() == [(E, day("2024-03-31"))]


def test_no_grace():
    """Without grace, coverage ends on paid_until."""
    ledger = build_ledger(household(receipts=[(E, "500")], product=terms(grace=0)))
    assert ledger.is_covered(day("2024-01-31")) and not ledger.is_covered(day("2024-02-01"))


def test_registration_fee_is_paid_first():
    """With r = 1000, 1499 pays nothing of period 0; 1500 pays it."""
    h = household(receipts=[(E, "1499")], product=terms(fee="1000"))
    assert build_ledger(h).paid_until(E) is None
    assert not build_ledger(h).is_covered(E)
    h.receipts = [(E, D(1500))]
    assert build_ledger(h).paid_until(E) == day("2024-02-01")


def test_coverage_ignores_receipts_after_the_day():
    """A payment made after a visit does not cover it."""
    ledger = build_ledger(household(receipts=[(E, "500"), (day("2024-03-15"), "1000")], product=terms(lapse=None)))
    assert not ledger.is_covered(day("2024-03-14"))
    assert ledger.is_covered(day("2024-03-15"))
    assert ledger.paid_until(day("2024-03-14")) == day("2024-02-01")
    assert ledger.coverage_spans() == [(E, day("2024-03-02")), (day("2024-03-15"), day("2024-05-01"))]


def test_person_coverage():
    """A person is covered from their own enrolment until their exit, within the household's coverage."""
    child = PersonDates(day("2024-01-20"), day("2024-02-10"))
    ledger = build_ledger(household(persons=[PersonDates(E, None), child], receipts=[(E, "5000")]))
    assert not ledger.person_covered(child, day("2024-01-19"))
    assert ledger.person_covered(child, day("2024-01-20"))
    assert ledger.person_covered(child, day("2024-02-09"))
    assert not ledger.person_covered(child, day("2024-02-10"))
    assert ledger.person_coverage_spans(child) == [(day("2024-01-20"), day("2024-02-10"))]


def test_exit_ends_coverage():
    """The household is not covered from its exit date on."""
    ledger = build_ledger(household(persons=[PersonDates(E, day("2024-02-15"))], receipts=[(E, "5000")]))
    assert ledger.is_covered(day("2024-02-14")) and not ledger.is_covered(day("2024-02-15"))
    assert ledger.coverage_spans() == [(E, day("2024-02-15"))]


# §5 lapse and strike-off --------------------------------------------------------------------------------


def test_receipt_the_day_before_x_plus_l_is_in_time():
    """X = Mar 1, L = 90: X + L = May 30; a receipt on May 29 pays and moves X to Jun 1."""
    ledger = build_ledger(household(receipts=[(E, "1000"), (day("2024-05-29"), "1500")]))
    assert ledger.paid_until(day("2024-05-28")) == day("2024-03-01")
    assert ledger.paid_until(day("2024-05-29")) == day("2024-06-01")
    assert ledger.strike_off_date == day("2024-06-01") + timedelta(days=90)
    assert ledger.is_covered(day("2024-05-29"))


def test_receipt_on_x_plus_l_is_too_late():
    """A receipt on May 30 is too late: struck off that day, it pays nothing but is still collected."""
    ledger = build_ledger(household(receipts=[(E, "1000"), (day("2024-05-30"), "1500"), (day("2024-07-01"), "500")]))
    assert ledger.strike_off_date == day("2024-05-30")
    assert ledger.C(day("2024-12-31")) == D(1000)
    assert ledger.paid_until(day("2024-12-31")) == day("2024-03-01")
    assert not ledger.is_covered(day("2024-05-30"))
    amounts = ledger.amounts(day("2024-05-01"), day("2024-12-31"))
    assert amounts.contributions_collected == D(2000)
    assert amounts.C_T == D(1000)
    assert amounts.arrears_at_T == 0  # struck off: nothing left to ask for
    assert amounts.contributions_expected == D(500)  # May is due; June starts after strike-off
    assert [p.start for p in ledger.periods_until(day("2030-01-01"))][-1] == day("2024-05-01")


def test_no_receipt_is_struck_off_at_e_plus_l():
    """Without any receipt, X = E."""
    ledger = build_ledger(household())
    assert ledger.strike_off_date == E + timedelta(days=90)
    assert ledger.coverage_spans() == []


def test_exited_before_strike_off_is_not_struck_off():
    """Left on Feb 15 while behind: it left, it was not dropped."""
    ledger = build_ledger(household(persons=[PersonDates(E, day("2024-02-15"))]))
    assert ledger.strike_off_date is None
    assert ledger.amounts(E, day("2024-12-31")).arrears_at_T == 0
    late_exit = build_ledger(household(persons=[PersonDates(E, day("2024-06-15"))]))
    assert late_exit.strike_off_date == E + timedelta(days=90)


def test_without_lapse_never_struck_off_and_arrears_grow():
    """lapse None: never struck off, dues keep coming."""
    ledger = build_ledger(household(product=terms(lapse=None)))
    assert ledger.strike_off_date is None
    assert ledger.amounts(E, day("2024-12-31")).arrears_at_T == D(6000)


def test_a_reversal_cancels_its_receipt():
    """The counter-entry carries the original's date and the negated amount: as if never paid."""
    ledger = build_ledger(household(receipts=[(E, "1000"), (E, "-1000")]))
    assert ledger.paid_until(E) is None
    assert ledger.strike_off_date == E + timedelta(days=90)
    later = build_ledger(household(receipts=[(day("2024-02-10"), "-500"), (E, "1000"), (day("2024-02-10"), "500")]))
    assert later.paid_until(day("2024-12-31")) == day("2024-03-01")
    assert later.amounts(E, day("2024-12-31")).contributions_collected == D(1000)


# product versions ---------------------------------------------------------------------------------------


def test_product_versions():
    """The amount follows the version on start_k; the grid, grace, lapse and fee stay those at E."""
    versions = [(E, terms("500", fee="1000")), (day("2024-03-15"), terms("800", months=3, fee="9", grace=0))]
    ledger = build_ledger(household(versions=versions, receipts=[(E, "3000")]))
    dues = [(p.start, p.member_due) for p in ledger.periods_until(day("2024-05-01"))]
    assert dues == [
        (E, D(500)),
        (day("2024-02-01"), D(500)),
        (day("2024-03-01"), D(500)),
        (day("2024-04-01"), D(800)),
        (day("2024-05-01"), D(800)),
    ]
    assert ledger.registration_split[0] == D(1000)
    assert ledger.paid_until(E) == day("2024-04-01")
    assert ledger.is_covered(day("2024-04-30")) and not ledger.is_covered(day("2024-05-01"))


# §6 report amounts --------------------------------------------------------------------------------------


def _reporting_household():
    """2 persons, 500 per person monthly, CMU 0.5, R = 1000: r = 500, d_k = 500; C = 1500 then 2000."""
    return build_ledger(
        household(
            persons=[PersonDates(E, None), PersonDates(E, None)],
            product=terms(fee="1000"),
            programmes=[programme("CMU", "0.5")],
            receipts=[(E, "1500"), (day("2024-03-10"), "500")],
        )
    )


def test_report_amounts_by_hand():
    """F = Feb 1, T = Apr 30: dues of Feb, Mar, Apr; before = r + d_0 = 1000; C(T) = 2000."""
    ledger = _reporting_household()
    assert ledger.strike_off_date == day("2024-04-01") + timedelta(days=90)
    a = ledger.amounts(day("2024-02-01"), day("2024-04-30"))
    assert a.contributions_expected == D(1500)
    assert a.period_dues_paid == D(1000)
    assert a.subsidies_due == D(1500) and a.subsidies_due_by_programme == {"CMU": D(1500)}
    assert a.registration_fees == 0
    assert a.earned_gross_fraction == 2000 and a.earned_member_fraction == 1000  # Feb and Mar paid
    assert a.earned_gross_exact == D(2000)
    assert a.arrears_at_T == D(500)  # r + 4 · 500 − 2000
    assert a.C_T == D(2000)
    assert a.contributions_collected == D(500)


def test_report_amounts_with_enrolment_in_the_period():
    """E in [F, T]: r and r_p are added, the registration fee counts whole."""
    a = _reporting_household().amounts(E, day("2024-01-31"))
    assert a.contributions_expected == D(1000)  # r + d_0
    assert a.period_dues_paid == D(1000)
    assert a.subsidies_due == D(1000)  # s_0 + r_p
    assert a.registration_fees == D(1000)
    assert a.contributions_collected == D(1500)


def test_earned_is_pro_rata_and_exact():
    """F = Feb 15, T = Mar 10: 15/29 of February and 10/31 of March, summed exactly, rounded once."""
    a = _reporting_household().amounts(day("2024-02-15"), day("2024-03-10"))
    expected = Fraction(1000 * 15, 29) + Fraction(1000 * 10, 31)
    assert a.earned_gross_fraction == expected
    assert a.earned_member_fraction == expected / 2
    assert round_exact_sum([a.earned_gross_fraction], "XOF") == D(840)
    assert round_exact_sum([Fraction(1, 3), Fraction(1, 6)], "XOF") == D(1)  # an exact half rounds up
    assert round_exact_sum([Fraction(-1, 2)], "XOF") == D(-1)


# spans agree with is_covered ----------------------------------------------------------------------------


def _random_household(rng):
    """A small random household: persons, receipts, programmes, optional lapse and grace."""
    enrolment = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 60))
    persons = [PersonDates(enrolment, None)]
    for _ in range(rng.randrange(0, 4)):
        joined = enrolment + timedelta(days=rng.randrange(0, 200))
        left = joined + timedelta(days=rng.randrange(1, 400)) if rng.random() < 0.3 else None
        persons.append(PersonDates(joined, left))
    if rng.random() < 0.15:
        persons[0] = PersonDates(enrolment, enrolment + timedelta(days=rng.randrange(10, 500)))
    receipts = []
    for _ in range(rng.randrange(0, 8)):
        when = enrolment + timedelta(days=rng.randrange(-10, 600))
        amount = rng.choice(["500", "1000", "1500", "3000", "250"])
        receipts.append((when, amount))
        if rng.random() < 0.1:
            receipts.append((when, "-" + amount))
    progs = []
    if rng.random() < 0.5:
        progs.append(programme("A", rng.choice(["0.5", "0.25", "1"]), ("standard", "indigent")))
    if rng.random() < 0.3:
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 300))
        progs.append(
            programme(
                "B",
                "0.5",
                ("indigent",),
                valid_from=start,
                valid_to=start + timedelta(days=rng.randrange(0, 300)),
            )
        )
    product = terms(
        amount=rng.choice(["500", "300", "900"]),
        basis=rng.choice(["person", "household"]),
        months=rng.choice([1, 3, 12]),
        fee=rng.choice(["0", "500"]),
        grace=rng.choice([0, 30]),
        lapse=rng.choice([None, 60, 90, 150]),
    )
    return household(
        enrolment=enrolment,
        persons=persons,
        receipts=receipts,
        product=product,
        programmes=progs,
        category=rng.choice(["standard", "indigent"]),
    )


def test_spans_agree_with_is_covered_day_by_day():
    """On random households, every day from a month before E to two years on."""
    rng = random.Random(20240101)
    for _ in range(150):
        h = _random_household(rng)
        ledger = build_ledger(h)
        spans = ledger.coverage_spans()
        first = h.enrolment - timedelta(days=30)
        for offset in range(800):
            d = first + timedelta(days=offset)
            in_span = any(lo <= d and (hi is None or d < hi) for lo, hi in spans)
            assert in_span == ledger.is_covered(d), (h, d, spans)
        for lo, hi in spans:
            assert hi is None or lo < hi
        for (_, hi), (lo, _) in zip(spans, spans[1:], strict=False):
            assert hi < lo  # disjoint and not adjacent (merged)


# §2 categories over time -----------------------------------------------------------------------------------


def test_category_is_read_on_each_period_start_and_the_fee_on_e():
    """c_k is the category on start_k (data-formats.md categories.csv); the registration fee uses period 0's."""
    h = household(
        product=terms(amount="1000", months=3, fee="500", lapse=None),
        programmes=[programme("IND", "1", categories=("indigent",))],
        category="standard",
    )
    h.category_changes = [(E, "indigent"), (day("2024-04-02"), "standard"), (day("2024-07-01"), "indigent")]
    ledger = build_ledger(h)
    assert ledger.registration_split == (D("0"), (("IND", D("500")),))
    dues = [(p.start, p.member_due) for p in ledger.periods_until(day("2024-12-31"))]
    # 2024-04-01 starts the day before the change to standard: still indigent; 2024-07-01 indigent again.
    assert dues == [
        (day("2024-01-01"), D("0")),
        (day("2024-04-01"), D("0")),
        (day("2024-07-01"), D("0")),
        (day("2024-10-01"), D("0")),
    ]
    h.category_changes = [(day("2024-04-02"), "indigent")]
    dues = [(p.start, p.member_due) for p in build_ledger(h).periods_until(day("2024-12-31"))]
    assert dues == [
        (day("2024-01-01"), D("1000")),
        (day("2024-04-01"), D("1000")),
        (day("2024-07-01"), D("0")),
        (day("2024-10-01"), D("0")),
    ]
    assert build_ledger(h).category_on(day("2024-04-01")) == "standard"
    assert build_ledger(h).category_on(day("2024-04-02")) == "indigent"
