"""The feasibility study method (feasibility.md): validate a study JSON, then compute the contribution,
affordability, break-even, projection and sensitivity.

Amounts stay exact ``Decimal`` until the rounding points feasibility.md names; only the JSON output rounds
(conventions.md "Money" and "Ratios").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mhi.core.errors import N_, Message
from mhi.core.money import money_str, quantum, ratio, round_money, round_ratio, round_up_to

ZERO = Decimal(0)
ONE = Decimal(1)
TWELVE = Decimal(12)

#: feasibility.md "Output": gross_contribution is shown with 2 decimals whatever the currency.
GROSS_CONTRIBUTION_QUANTUM = Decimal("0.01")

LOADING_BASES = ("gross", "pure")
LOADING_KEYS = ("admin", "reserve", "safety")

#: feasibility.md step 10: the six cases, named exactly so and in this order.
SENSITIVITY_CASES = (
    "frequency x0.8",
    "frequency x1.2",
    "unit cost x0.8",
    "unit cost x1.2",
    "collection rate -0.10",
    "new enrolment x0.5",
)

_SERVICE_KEYS = frozenset({"code", "name", "frequency", "unit_cost", "coverage_rate", "ceiling_per_case"})
_DECIMAL_TEXT = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")

#: The messages several checks share.
MISSING = N_("is missing")
NOT_A_NUMBER = N_("%(value)s is not a number (expected digits with '.' as decimal separator)")


class StudyError(ValueError):
    """A study that cannot be run; ``errors`` lists every ``(field path, message)`` found, all of them.

    Each message is a ``Message``: English as a string (the command line and the logs), with its msgid and
    parameters so a screen shows it in the reader's language (``say(message)``)."""

    def __init__(self, errors: Sequence[tuple[str, str]]):
        """Keep the errors and make a one-line summary for logs and the command line."""
        self.errors = list(errors)
        super().__init__("; ".join(f"{path}: {message}" if path else message for path, message in self.errors))


@dataclass(frozen=True)
class Service:
    """One benefit of the study: how often it is used, what a case costs and what share the scheme pays."""

    code: str
    name: str
    frequency: Decimal
    unit_cost: Decimal
    coverage_rate: Decimal
    ceiling_per_case: Decimal | None = None


@dataclass(frozen=True)
class Study:
    """A validated study (feasibility.md "Input"); build it with ``parse_study`` or ``load_study_text``."""

    name: str
    currency: str
    target_population: int
    household_size: Decimal
    services: tuple[Service, ...]
    insurance_effect: Decimal
    loadings: dict[str, Decimal]
    loading_basis: str
    rounding: Decimal | None
    subsidy_share: Decimal
    per_capita_income: Decimal
    willingness_to_pay: tuple[Decimal, ...] | None
    fixed_costs: Decimal
    variable_cost_per_beneficiary: Decimal
    collection_rate: Decimal
    renewal_rate: Decimal
    new_enrolment: tuple[int, ...]
    waiting_period_months: int
    opening_reserve: Decimal

    @property
    def total_loading(self) -> Decimal:
        """admin + reserve + safety (feasibility.md step 4)."""
        return sum((self.loadings[key] for key in LOADING_KEYS), ZERO)


# --------------------------------------------------------------------------------------------------- reading

#: The study JSON has exactly the fields of ``Study`` (feasibility.md "Input"); anything else is a typo.
_TOP_LEVEL_KEYS = frozenset(field.name for field in fields(Study))


def load_study_text(text: str) -> Study:
    """Read a study JSON document and validate it; raise ``StudyError`` naming every bad field.

    Decimals in the JSON are read as ``Decimal`` (never float) so 0.1 stays 0.1 (conventions.md "Money").
    """
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise StudyError(
                [
                    (
                        "",
                        Message(
                            N_("the file is not valid JSON (line %(line)s, column %(column)s: %(reason)s)"),
                            line=exc.lineno,
                            column=exc.colno,
                            reason=exc.msg,
                        ),
                    )
                ]
            ) from exc
        if isinstance(exc, _NotANumber):
            message = Message(N_("the file contains %(name)s, which is not a number a study can use"), name=exc.name)
            raise StudyError([("", message)]) from exc
        raise StudyError([("", Message(N_("the file cannot be read: %(reason)s"), reason=str(exc)))]) from exc
    return parse_study(data)


class _NotANumber(ValueError):
    """NaN or Infinity met while reading the JSON (its name in ``name``)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not numbers a study can use; refuse them while reading."""
    raise _NotANumber(name)


def parse_study(data: Any) -> Study:
    """Validate a study already read from JSON and return it as a ``Study``.

    All fields are checked before raising, so the promoter sees every problem at once (conventions.md
    "Errors"). Decimals may be strings, integers or ``Decimal``; a float is refused because it is not exact.
    """
    errors: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise StudyError([("", Message(N_("the study must be a JSON object ({…}) with the fields of feasibility.md")))])
    for key in sorted(set(data) - _TOP_LEVEL_KEYS):
        errors.append((key, Message(N_("is not a field of a study (check the spelling)"))))

    name = _text(errors, data, "name", "name")
    currency = _text(errors, data, "currency", "currency")
    if currency is not None and not _CURRENCY_CODE.fullmatch(currency):
        errors.append(
            (
                "currency",
                Message(N_("%(value)s is not an ISO 4217 currency code such as XOF or INR"), value=repr(currency)),
            )
        )
        currency = None
    target_population = _integer(errors, data, "target_population", "target_population", low=0)
    household_size = _decimal(errors, data, "household_size", "household_size", low=ZERO, low_open=True)
    services = _services(errors, data.get("services"), currency) if "services" in data else None
    if services is None and "services" not in data:
        errors.append(("services", Message(MISSING)))
    insurance_effect = _decimal(errors, data, "insurance_effect", "insurance_effect", low=ZERO)
    loading_basis = _text(errors, data, "loading_basis", "loading_basis")
    if loading_basis is not None and loading_basis not in LOADING_BASES:
        errors.append(("loading_basis", Message(N_("%(value)s must be 'gross' or 'pure'"), value=repr(loading_basis))))
        loading_basis = None
    loadings = _loadings(errors, data, loading_basis)
    rounding = _decimal(errors, data, "rounding", "rounding", required=False, low=ZERO, low_open=True)
    if rounding is not None and currency is not None and rounding % quantum(currency):
        errors.append(
            (
                "rounding",
                Message(N_("%(value)s has more decimals than %(currency)s allows"), value=rounding, currency=currency),
            )
        )
    subsidy_share = _decimal(errors, data, "subsidy_share", "subsidy_share", low=ZERO, high=ONE, high_open=True)
    per_capita_income = _decimal(errors, data, "per_capita_income", "per_capita_income", low=ZERO, low_open=True)
    willingness = _willingness(errors, data)
    fixed_costs = _decimal(errors, data, "fixed_costs", "fixed_costs", low=ZERO)
    variable_cost = _decimal(errors, data, "variable_cost_per_beneficiary", "variable_cost_per_beneficiary", low=ZERO)
    collection_rate = _decimal(errors, data, "collection_rate", "collection_rate", low=ZERO, low_open=True, high=ONE)
    renewal_rate = _decimal(errors, data, "renewal_rate", "renewal_rate", low=ZERO, high=ONE)
    new_enrolment = _enrolment(errors, data)
    waiting = _integer(errors, data, "waiting_period_months", "waiting_period_months", low=0, high=12)
    opening_reserve = _decimal(errors, data, "opening_reserve", "opening_reserve", required=False)

    if errors:
        raise StudyError(errors)
    return Study(
        name=name,
        currency=currency,
        target_population=target_population,
        household_size=household_size,
        services=services,
        insurance_effect=insurance_effect,
        loadings=loadings,
        loading_basis=loading_basis,
        rounding=rounding,
        subsidy_share=subsidy_share,
        per_capita_income=per_capita_income,
        willingness_to_pay=willingness,
        fixed_costs=fixed_costs,
        variable_cost_per_beneficiary=variable_cost,
        collection_rate=collection_rate,
        renewal_rate=renewal_rate,
        new_enrolment=new_enrolment,
        waiting_period_months=waiting,
        opening_reserve=opening_reserve if opening_reserve is not None else ZERO,
    )


def _services(errors: list, value: Any, currency: str | None) -> tuple[Service, ...] | None:
    """Read the ``services`` list: codes unique, frequency, cost and coverage positive, coverage at most 1."""
    if not isinstance(value, list) or not value:
        errors.append(("services", Message(N_('must be a non-empty list of services ([{"code": …}, …])'))))
        return None
    services: list[Service] = []
    seen: set[str] = set()
    ok = True
    for index, item in enumerate(value):
        path = f"services[{index}]"
        if not isinstance(item, dict):
            errors.append((path, Message(N_("must be an object with code, frequency, unit_cost and coverage_rate"))))
            ok = False
            continue
        before = len(errors)
        for key in sorted(set(item) - _SERVICE_KEYS):
            errors.append((f"{path}.{key}", Message(N_("is not a field of a service (check the spelling)"))))
        code = _text(errors, item, "code", f"{path}.code")
        if code is not None and code in seen:
            errors.append(
                (
                    f"{path}.code",
                    Message(N_("%(value)s appears twice; each service needs its own code"), value=repr(code)),
                )
            )
        seen.add(code)
        name = _text(errors, item, "name", f"{path}.name", required=False)
        frequency = _decimal(errors, item, "frequency", f"{path}.frequency", low=ZERO, low_open=True)
        unit_cost = _decimal(errors, item, "unit_cost", f"{path}.unit_cost", low=ZERO, low_open=True)
        coverage = _decimal(errors, item, "coverage_rate", f"{path}.coverage_rate", low=ZERO, low_open=True, high=ONE)
        ceiling = _decimal(
            errors,
            item,
            "ceiling_per_case",
            f"{path}.ceiling_per_case",
            required=False,
            low=ZERO,
            low_open=True,
        )
        if len(errors) > before:
            ok = False
            continue
        services.append(Service(code, name or code, frequency, unit_cost, coverage, ceiling))
    return tuple(services) if ok else None


def _loadings(errors: list, data: dict, basis: str | None) -> dict[str, Decimal] | None:
    """Read admin, reserve and safety loadings; on the gross basis they must leave something for claims."""
    value = data.get("loadings")
    if value is None:
        errors.append(("loadings", Message(N_('is missing (give admin, reserve and safety, e.g. "0.15")'))))
        return None
    if not isinstance(value, dict):
        errors.append(("loadings", Message(N_('must be an object {"admin": …, "reserve": …, "safety": …}'))))
        return None
    for key in sorted(set(value) - set(LOADING_KEYS)):
        errors.append((f"loadings.{key}", Message(N_("is not a loading; use admin, reserve and safety"))))
    loadings = {
        key: _decimal(errors, value, key, f"loadings.{key}", low=ZERO, high=ONE, high_open=True) for key in LOADING_KEYS
    }
    if any(v is None for v in loadings.values()):
        return None
    # feasibility.md step 4: on the gross basis the contribution is adjusted / (1 − Σ loadings), which only
    # means something while the loadings leave a positive share of the contribution for claims.
    if basis == "gross" and sum(loadings.values()) >= ONE:
        errors.append(("loadings", Message(N_("on the gross basis admin + reserve + safety must be less than 1"))))
        return None
    return loadings


def _willingness(errors: list, data: dict) -> tuple[Decimal, ...] | None:
    """Read the optional survey answers (amounts per person per year); an empty survey counts as none."""
    value = data.get("willingness_to_pay")
    if value is None:
        return None
    if not isinstance(value, list):
        errors.append(("willingness_to_pay", Message(N_('must be a list of amounts, e.g. ["2000", "3500"]'))))
        return None
    answers = [
        _decimal_value(errors, answer, f"willingness_to_pay[{index}]", low=ZERO) for index, answer in enumerate(value)
    ]
    if any(answer is None for answer in answers):
        return None
    return tuple(answers) or None


def _enrolment(errors: list, data: dict) -> tuple[int, ...] | None:
    """Read ``new_enrolment``: newcomers per projection year, at least one year, whole people."""
    value = data.get("new_enrolment")
    if value is None:
        errors.append(("new_enrolment", Message(N_("is missing (newcomers per year, e.g. [1800, 900, 900])"))))
        return None
    if not isinstance(value, list) or not value:
        errors.append(
            ("new_enrolment", Message(N_("must be a non-empty list of whole numbers, one per projection year")))
        )
        return None
    counts = [_integer_value(errors, count, f"new_enrolment[{index}]", low=0) for index, count in enumerate(value)]
    if any(count is None for count in counts):
        return None
    return tuple(counts)


def _text(errors: list, data: dict, key: str, path: str, *, required: bool = True) -> str | None:
    """A non-empty string field."""
    value = data.get(key)
    if value is None:
        if required:
            errors.append((path, Message(MISSING)))
        return None
    if not isinstance(value, str) or not value.strip():
        errors.append((path, Message(N_("must be a non-empty text"))))
        return None
    return value.strip()


def _decimal(errors: list, data: dict, key: str, path: str, *, required: bool = True, **bounds) -> Decimal | None:
    """A decimal field (see ``_decimal_value``); ``None`` when absent and optional."""
    if data.get(key) is None:
        if required:
            errors.append((path, Message(MISSING)))
        return None
    return _decimal_value(errors, data[key], path, **bounds)


def _decimal_value(
    errors: list,
    value: Any,
    path: str,
    *,
    low: Decimal | None = None,
    high: Decimal | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Decimal | None:
    """Read an exact decimal from a string, an integer or a ``Decimal`` and check it is within the bounds."""
    if isinstance(value, bool) or isinstance(value, float):
        # conventions.md "Money": a float is not exact; the JSON loader of this module never produces one.
        errors.append(
            (
                path,
                Message(
                    N_('%(value)s must be written as a decimal string such as "0.90" or a whole number'),
                    value=repr(value),
                ),
            )
        )
        return None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern only lets plain decimals through
            number = None
    else:
        number = None
    if number is None or not number.is_finite():
        errors.append((path, Message(NOT_A_NUMBER, value=repr(value))))
        return None
    message = _bounds_message(number, low, high, low_open, high_open)
    if message:
        errors.append((path, message))
        return None
    return number


def _bounds_message(
    number: Decimal, low: Decimal | None, high: Decimal | None, low_open: bool, high_open: bool
) -> Message | None:
    """Say in words why ``number`` is outside its bounds, or ``None`` when it is inside."""
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if not (too_low or too_high):
        return None
    if low is not None and high is not None:
        template = _BOTH_BOUNDS[low_open, high_open]
    elif low is not None:
        template = _LOW_BOUND[low_open]
    else:
        template = _HIGH_BOUND[high_open]
    return Message(template, number=number, low=low, high=high)


#: Why a number is out of bounds, by (low bound excluded, high bound excluded); one whole sentence each so a
#: translator sees it whole.
_BOTH_BOUNDS = {
    (True, True): N_("%(number)s must be more than %(low)s and less than %(high)s"),
    (True, False): N_("%(number)s must be more than %(low)s and at most %(high)s"),
    (False, True): N_("%(number)s must be at least %(low)s and less than %(high)s"),
    (False, False): N_("%(number)s must be at least %(low)s and at most %(high)s"),
}
_LOW_BOUND = {True: N_("%(number)s must be more than %(low)s"), False: N_("%(number)s must be at least %(low)s")}
_HIGH_BOUND = {True: N_("%(number)s must be less than %(high)s"), False: N_("%(number)s must be at most %(high)s")}


def _integer(errors: list, data: dict, key: str, path: str, **bounds) -> int | None:
    """A required whole-number field."""
    if data.get(key) is None:
        errors.append((path, "is missing"))
        return None
    return _integer_value(errors, data[key], path, **bounds)


def _integer_value(
    errors: list, value: Any, path: str, *, low: int | None = None, high: int | None = None
) -> int | None:
    """Read a whole number (a JSON integer) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append((path, Message(N_("%(value)s must be a whole number"), value=repr(value))))
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        if high is not None:
            message = Message(N_("%(value)s must be between %(low)s and %(high)s"), value=value, low=low, high=high)
        else:
            message = Message(N_("%(value)s must be at least %(low)s"), value=value, low=low)
        errors.append((path, message))
        return None
    return value


# --------------------------------------------------------------------------------------------------- method


def run_study(study: Study) -> dict:
    """Run the whole method and return feasibility.md's output JSON (keys in the spec's order).

    Amounts are strings in the currency's decimals (gross_contribution with 2), ratios numbers with 4
    decimals, counts integers, ``break_even_beneficiaries`` null when no size of scheme can break even.
    """
    currency = study.currency
    costs = [(service.code, _expected_cost(service)) for service in study.services]
    pure = sum((cost for _, cost in costs), ZERO)
    adjusted = _adjusted(pure, study)
    gross = _gross_contribution(adjusted, study)
    price = _contribution(gross, study)
    member_share = round_money(price * (ONE - study.subsidy_share), currency)
    projection = _project(
        study,
        price=price,
        member_share=member_share,
        adjusted=adjusted,
        collection_rate=study.collection_rate,
        new_enrolment=study.new_enrolment,
    )
    return {
        "name": study.name,
        "currency": currency,
        "services": [{"code": code, "expected_cost": money_str(cost, currency)} for code, cost in costs],
        "pure_premium": money_str(pure, currency),
        "adjusted_pure_premium": money_str(adjusted, currency),
        "gross_contribution": str(gross.quantize(GROSS_CONTRIBUTION_QUANTUM, rounding=ROUND_HALF_UP)),
        "contribution_per_person_year": money_str(price, currency),
        # step 5: the month and household figures are derived from P, each rounded once.
        "contribution_per_person_month": money_str(price / TWELVE, currency),
        "contribution_per_household_year": money_str(price * study.household_size, currency),
        "expected_claims_ratio": round_ratio(ratio(adjusted, price)),
        "member_share": money_str(member_share, currency),
        "affordability_ratio": round_ratio(ratio(member_share, study.per_capita_income)),
        "willingness_share": round_ratio(_willingness_share(study.willingness_to_pay, member_share)),
        "break_even_beneficiaries": _break_even(study, price, adjusted, study.collection_rate),
        "projection": [_projection_json(row, currency) for row in projection],
        "sensitivity": _sensitivity(study, price, member_share),
    }


def _expected_cost(service: Service, frequency_factor: Decimal = ONE, cost_factor: Decimal = ONE) -> Decimal:
    """Step 1: frequency · min(unit_cost, ceiling_per_case) · coverage_rate, with sensitivity factors.

    The ceiling applies after the unit cost moves (step 10: "the ceiling still applies").
    """
    unit_cost = service.unit_cost * cost_factor
    if service.ceiling_per_case is not None:
        unit_cost = min(unit_cost, service.ceiling_per_case)
    return service.frequency * frequency_factor * unit_cost * service.coverage_rate


def _adjusted(pure: Decimal, study: Study) -> Decimal:
    """Step 3: members use more care once insured."""
    return pure * (ONE + study.insurance_effect)


def _gross_contribution(adjusted: Decimal, study: Study) -> Decimal:
    """Step 4: loadings as shares of the contribution (gross) or of the pure premium (pure), never mixed."""
    if study.loading_basis == "gross":
        return adjusted / (ONE - study.total_loading)
    return adjusted * (ONE + study.total_loading)


def _contribution(gross: Decimal, study: Study) -> Decimal:
    """Step 5: P is rounded up to ``rounding``, or half up to the currency's minor unit without it."""
    if study.rounding is not None:
        return round_up_to(gross, study.rounding)
    return round_money(gross, study.currency)


def _willingness_share(answers: tuple[Decimal, ...] | None, member_share: Decimal) -> Decimal | None:
    """Step 7: the share of survey answers at or above what a member would pay; ``None`` without a survey."""
    if not answers:
        return None
    return ratio(sum(1 for answer in answers if answer >= member_share), len(answers))


def _break_even(study: Study, price: Decimal, adjusted: Decimal, collection_rate: Decimal) -> int | None:
    """Step 8: ⌈fixed_costs / margin per beneficiary⌉, or ``None`` when no size of scheme covers its costs."""
    margin = collection_rate * price - adjusted - study.variable_cost_per_beneficiary
    if margin <= 0:
        return None
    return int((study.fixed_costs / margin).to_integral_value(rounding=ROUND_CEILING))


def _project(
    study: Study,
    *,
    price: Decimal,
    member_share: Decimal,
    adjusted: Decimal,
    collection_rate: Decimal,
    new_enrolment: Sequence[int],
) -> list[dict[str, Any]]:
    """Step 9: the year-by-year projection with exact amounts (rounded only when written out)."""
    rows: list[dict[str, Any]] = []
    previous = 0
    reserve = study.opening_reserve
    months_claiming = TWELVE - study.waiting_period_months
    for year, new in enumerate(new_enrolment, start=1):
        renewed = int((previous * study.renewal_rate).to_integral_value(rounding=ROUND_HALF_UP))
        beneficiaries = renewed + new
        # Newcomers claim nothing during the waiting period.
        exposure = renewed + new * months_claiming / TWELVE
        member_contributions = collection_rate * beneficiaries * member_share
        # A subsidy follows a paid member share, so it is collected at the same rate.
        subsidies = collection_rate * beneficiaries * (price - member_share)
        claims = adjusted * exposure
        admin_costs = study.fixed_costs + study.variable_cost_per_beneficiary * beneficiaries
        result = member_contributions + subsidies - claims - admin_costs
        reserve += result
        rows.append(
            {
                "year": year,
                "renewed": renewed,
                "new": new,
                "beneficiaries": beneficiaries,
                "exposure": exposure,
                "member_contributions": member_contributions,
                "subsidies": subsidies,
                "claims": claims,
                "admin_costs": admin_costs,
                "result": result,
                "reserve": reserve,
                "claims_ratio": ratio(claims, member_contributions + subsidies),
                # reserve / (claims / 12), written so an exact reserve is not divided by a rounded quotient.
                "reserve_months": ratio(reserve * TWELVE, claims),
            }
        )
        previous = beneficiaries
    return rows


_PROJECTION_AMOUNTS = ("member_contributions", "subsidies", "claims", "admin_costs", "result", "reserve")
_PROJECTION_RATIOS = ("exposure", "claims_ratio", "reserve_months")


def _projection_json(row: dict[str, Any], currency: str) -> dict[str, Any]:
    """One projection year as JSON: amounts in the currency's decimals, exposure and ratios 4 decimals."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in _PROJECTION_AMOUNTS:
            out[key] = money_str(value, currency)
        elif key in _PROJECTION_RATIOS:
            out[key] = round_ratio(value)
        else:
            out[key] = value
    return out


def _sensitivity(study: Study, price: Decimal, member_share: Decimal) -> list[dict[str, Any]]:
    """Step 10: last year's result and break-even under six changed assumptions, P and member_share held."""
    rows = []
    for case in SENSITIVITY_CASES:
        frequency_factor = cost_factor = ONE
        collection_rate = study.collection_rate
        new_enrolment: Sequence[int] = study.new_enrolment
        if case.startswith("frequency"):
            frequency_factor = Decimal(case.rsplit("x", 1)[1])
        elif case.startswith("unit cost"):
            cost_factor = Decimal(case.rsplit("x", 1)[1])
        elif case == "collection rate -0.10":
            # Decision (spec silent): a collection rate below 0.10 falls to 0, not below.
            collection_rate = max(ZERO, collection_rate - Decimal("0.10"))
        else:
            new_enrolment = [
                int((Decimal(count) / 2).to_integral_value(rounding=ROUND_HALF_UP)) for count in study.new_enrolment
            ]
        pure = sum((_expected_cost(s, frequency_factor, cost_factor) for s in study.services), ZERO)
        adjusted = _adjusted(pure, study)
        projection = _project(
            study,
            price=price,
            member_share=member_share,
            adjusted=adjusted,
            collection_rate=collection_rate,
            new_enrolment=new_enrolment,
        )
        rows.append(
            {
                "case": case,
                "last_year_result": money_str(projection[-1]["result"], study.currency),
                "break_even_beneficiaries": _break_even(study, price, adjusted, collection_rate),
            }
        )
    return rows


def explain_break_even(
    result: dict,
    *,
    gettext: Callable[[str], str] = lambda s: s,
    format_money: Callable[[str], str] | None = None,
    format_count: Callable[[int], str] = str,
) -> str:
    """A sentence for screens and the PDF saying what ``break_even_beneficiaries`` means — or, when it is
    null, that the scheme cannot cover its costs at any size (feasibility.md step 8: "say so").

    The output JSON has no room for messages, so the explanation is derived from the result here. ``gettext``
    translates (placeholders use ``%(name)s``); ``format_money`` and ``format_count`` format an amount
    string and a head count for the reader's locale.
    """
    currency = result["currency"]
    fmt_count = format_count
    fmt = format_money or (lambda amount: f"{amount} {currency}")
    price = fmt(result["contribution_per_person_year"])
    break_even = result["break_even_beneficiaries"]
    if break_even is None:
        return gettext(
            "At %(price)s per person per year the scheme cannot cover its costs at any size: after the "
            "contributions that are not collected, each beneficiary brings in less than his expected claims "
            "and the variable cost of managing him. Raise the contribution, improve collection, reduce the "
            "benefits or lower the costs."
        ) % {"price": price}
    text = gettext(
        "At %(price)s per person per year the scheme covers its claims and all its running costs from "
        "%(count)s beneficiaries on, in a full year when every member can claim."
    ) % {"price": price, "count": format_count(break_even)}
    projection = result.get("projection") or []
    if projection:
        last = projection[-1]
        if last["beneficiaries"] >= break_even:
            text += " " + gettext("The projection passes that number in year %(year)s.") % {
                "year": next(row["year"] for row in projection if row["beneficiaries"] >= break_even)
            }
        else:
            text += " " + gettext("The projection stays below it (%(count)s beneficiaries in year %(year)s).") % {
                "count": fmt_count(last["beneficiaries"]),
                "year": last["year"],
            }
    return text
