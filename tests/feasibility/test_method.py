"""The feasibility method against feasibility.md: the Fandène example exactly, then each rule on its own."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from mhi.core.errors import Message, say
from mhi.feasibility.method import (
    SENSITIVITY_CASES,
    StudyError,
    explain_break_even,
    load_study_text,
    parse_study,
    run_study,
)

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec"
EXAMPLES = SPEC / "examples"


def fandene_data() -> dict:
    """The example study as read by the loader (decimals never floats)."""
    return json.loads((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8"), parse_float=Decimal)


def run(data: dict) -> dict:
    """Validate and run a study given as a dict."""
    return run_study(parse_study(data))


def error_paths(data) -> dict[str, str]:
    """The errors a bad study raises, as {field path: message}."""
    with pytest.raises(StudyError) as caught:
        parse_study(data)
    return dict(caught.value.errors)


# ------------------------------------------------------------------------------------------ worked example


def test_fandene_gives_exactly_the_expected_json():
    """examples/fandene-study-expected.json, values and key order alike (feasibility.md "Output")."""
    result = run_study(load_study_text((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8")))
    expected = json.loads((EXAMPLES / "fandene-study-expected.json").read_text(encoding="utf-8"))
    assert result == expected
    assert json.dumps(result) == json.dumps(expected)  # same key order everywhere
    assert json.loads(json.dumps(result)) == expected  # serialisable as is


def test_fandene_published_figures():
    """The figures printed in feasibility.md "The worked example above gives"."""
    result = run(fandene_data())
    assert [(s["code"], s["expected_cost"]) for s in result["services"]] == [
        ("OPD", "1080"),
        ("DRUG", "1800"),
        ("LAB", "600"),
        ("MAT", "280"),
        ("HOSP", "960"),
    ]
    assert result["pure_premium"] == "4720"
    assert result["adjusted_pure_premium"] == "5192"
    assert result["gross_contribution"] == "6922.67"
    assert result["contribution_per_person_year"] == "7000"
    assert result["contribution_per_person_month"] == "583"
    assert result["contribution_per_household_year"] == "42000"
    assert result["expected_claims_ratio"] == 0.7417
    assert result["member_share"] == "3500"
    assert result["affordability_ratio"] == 0.0088
    assert result["willingness_share"] == 0.6667
    assert result["break_even_beneficiaries"] == 2971  # ⌈2400000 / 808⌉


def test_fandene_projection_table():
    """The 3-year table of feasibility.md, cell by cell."""
    table = """
1 | 0 | 1800 | 1800 | 1350 | 5670000 | 5670000 | 7009200 | 2940000 | 1390800 | 1390800 | 0.6181 | 2.3811
2 | 1440 | 900 | 2340 | 2115 | 7371000 | 7371000 | 10981080 | 3102000 | 658920 | 2049720 | 0.7449 | 2.2399
3 | 1872 | 900 | 2772 | 2547 | 8731800 | 8731800 | 13224024 | 3231600 | 1007976 | 3057696 | 0.7572 | 2.7747
    """
    keys = [
        "year", "renewed", "new", "beneficiaries", "exposure", "member_contributions", "subsidies", "claims",
        "admin_costs", "result", "reserve", "claims_ratio", "reserve_months",
    ]  # fmt: skip
    expected = []
    for line in table.strip().splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        row = dict(zip(keys, cells, strict=True))
        for key in ("year", "renewed", "new", "beneficiaries"):
            row[key] = int(row[key])
        for key in ("exposure", "claims_ratio", "reserve_months"):
            row[key] = float(row[key])
        expected.append(row)
    projection = run(fandene_data())["projection"]
    assert projection == expected
    assert [list(row) for row in projection] == [keys] * 3
    assert all(isinstance(row[key], int) for row in projection for key in ("year", "renewed", "new"))


def test_sensitivity_rows_names_and_order():
    """Six rows named exactly as feasibility.md step 10, in its order."""
    result = run(fandene_data())
    assert [row["case"] for row in result["sensitivity"]] == [
        "frequency x0.8",
        "frequency x1.2",
        "unit cost x0.8",
        "unit cost x1.2",
        "collection rate -0.10",
        "new enrolment x0.5",
    ]
    assert list(SENSITIVITY_CASES) == [row["case"] for row in result["sensitivity"]]
    assert all(list(row) == ["case", "last_year_result", "break_even_beneficiaries"] for row in result["sensitivity"])


# ------------------------------------------------------------------------------------------ single rules


def test_pure_loading_basis_hand_worked():
    """Loadings as shares of the pure premium: 5192 · 1.25 = 6490 → P = 6500 (rounded up to 500)."""
    data = fandene_data() | {"loading_basis": "pure"}
    result = run(data)
    assert result["gross_contribution"] == "6490.00"
    assert result["contribution_per_person_year"] == "6500"
    assert result["contribution_per_person_month"] == "542"  # 541.67 half up
    assert result["contribution_per_household_year"] == "39000"
    assert result["expected_claims_ratio"] == 0.7988  # 5192 / 6500 = 0.79877
    assert result["member_share"] == "3250"
    assert result["affordability_ratio"] == 0.0081  # 3250 / 400000 = 0.008125
    assert result["willingness_share"] == 0.6667  # 3500, 3600, 4000, 5000 of 6 answers
    # 0.9 · 6500 − 5192 − 300 = 358; 2400000 / 358 = 6703.9
    assert result["break_even_beneficiaries"] == 6704
    year1 = result["projection"][0]
    assert year1["member_contributions"] == "5265000"  # 0.9 · 1800 · 3250
    assert year1["subsidies"] == "5265000"
    assert year1["claims"] == "7009200"  # unchanged: 5192 · 1350
    assert year1["result"] == "580800"  # 10530000 − 7009200 − 2940000


def test_pure_basis_accepts_loadings_summing_past_one():
    """Only the gross basis divides by 1 − Σ loadings; on the pure basis 0.6+0.3+0.2 is a plain markup."""
    data = fandene_data() | {
        "loading_basis": "pure",
        "loadings": {"admin": "0.6", "reserve": "0.3", "safety": "0.2"},
    }
    assert run(data)["gross_contribution"] == "10903.20"  # 5192 · 2.1
    with pytest.raises(StudyError) as caught:
        parse_study(data | {"loading_basis": "gross"})
    assert [path for path, _ in caught.value.errors] == ["loadings"]


def test_scheme_that_cannot_break_even():
    """Denominator ≤ 0 → null, and the explanation says so (feasibility.md step 8)."""
    data = fandene_data() | {"collection_rate": "0.5"}  # 3500 − 5192 − 300 < 0
    result = run(data)
    assert result["break_even_beneficiaries"] is None
    assert "cannot cover its costs at any size" in explain_break_even(result)
    # Exactly zero margin is not a break-even either: 0.9 · P − adjusted − variable = 0.
    zero = fandene_data() | {"variable_cost_per_beneficiary": "1108"}  # 6300 − 5192 − 1108 = 0
    assert run(zero)["break_even_beneficiaries"] is None


def test_break_even_explanation_when_reachable():
    """The sentence gives P and the count, and whether the projection gets there."""
    result = run(fandene_data())
    text = explain_break_even(result)
    assert "7000 XOF" in text and "2971" in text and "stays below" in text
    bigger = run(fandene_data() | {"new_enrolment": [1800, 900, 900, 900]})  # year 4: 3117 ≥ 2971
    assert "passes that number in year 4" in explain_break_even(bigger)
    french = explain_break_even(result, gettext=lambda s: s.replace("At %(price)s", "À %(price)s"))
    assert french.startswith("À 7000 XOF")


def test_rounding_up_with_and_without_rounding():
    """With ``rounding`` P is rounded UP to a multiple; without, half up to the minor unit (step 5)."""
    data = fandene_data() | {"insurance_effect": "0"}  # gross = 4720 / 0.75 = 6293.33…
    assert run(data)["gross_contribution"] == "6293.33"
    assert run(data | {"rounding": "1"})["contribution_per_person_year"] == "6294"  # up, not half up
    assert run(data | {"rounding": "500"})["contribution_per_person_year"] == "6500"
    without = dict(data)
    del without["rounding"]
    assert run(without)["contribution_per_person_year"] == "6293"  # half up
    # A gross contribution already on a multiple stays where it is.
    exact = fandene_data() | {
        "loadings": {"admin": "0.2", "reserve": "0", "safety": "0"},
        "insurance_effect": "0",
    }
    assert run(exact | {"rounding": "100"})["contribution_per_person_year"] == "5900"  # 4720 / 0.8 = 5900


def test_currency_with_decimals_keeps_them():
    """An INR study: amounts carry 2 decimals, P rounds half up to the paisa without ``rounding``."""
    data = fandene_data() | {"currency": "INR"}
    del data["rounding"]
    result = run(data)
    assert result["contribution_per_person_year"] == "6922.67"
    assert result["contribution_per_person_month"] == "576.89"  # 6922.67 / 12 = 576.889
    assert result["member_share"] == "3461.34"  # 3461.335 half up
    assert result["pure_premium"] == "4720.00"
    assert result["projection"][0]["renewed"] == 0
    with pytest.raises(StudyError) as caught:
        parse_study(fandene_data() | {"rounding": "0.5"})  # XOF has no decimals
    assert caught.value.errors[0][0] == "rounding"


def test_ceiling_applies_before_and_after_unit_cost_moves():
    """min(unit_cost, ceiling) in step 1 and in the unit-cost sensitivity cases."""
    data = fandene_data()
    data["services"] = [
        {
            "code": "HOSP",
            "frequency": "0.03",
            "unit_cost": "120000",
            "coverage_rate": "1",
            "ceiling_per_case": "100000",
        }
    ]
    result = run(data)
    assert result["services"] == [{"code": "HOSP", "expected_cost": "3000"}]  # 0.03 · 100000
    cases = {row["case"]: row for row in result["sensitivity"]}
    # ×1.2 stays at the ceiling, so it changes nothing; ×0.8 (96000) falls below it.
    plain_result = result["projection"][-1]["result"]
    assert cases["unit cost x1.2"]["last_year_result"] == plain_result
    assert cases["unit cost x0.8"]["last_year_result"] != plain_result


def test_half_up_rounding_of_people():
    """Renewals and halved newcomers are whole people rounded half up (steps 9 and 10)."""
    data = fandene_data() | {"new_enrolment": [1801, 0], "renewal_rate": "0.5"}
    projection = run(data)["projection"]
    assert projection[1]["renewed"] == 901  # 900.5 half up
    odd = fandene_data() | {"new_enrolment": [901]}
    halved = fandene_data() | {"new_enrolment": [451]}  # 450.5 half up
    assert run(odd)["sensitivity"][5]["last_year_result"] == run(halved)["projection"][0]["result"]


def test_exposure_and_ratios_keep_four_decimals():
    """Exposure is a number with 4 decimals: 901 newcomers waiting one month give 825.9167 years."""
    data = fandene_data() | {"new_enrolment": [901], "waiting_period_months": 1}
    year = run(data)["projection"][0]
    assert year["exposure"] == 825.9167
    # Claims use the exact exposure, not the rounded one: 5192 · 901 · 11 / 12 = 4288158.67 → 4288159.
    assert year["claims"] == "4288159"


def test_without_survey_willingness_is_null():
    """No survey, or an empty one: willingness_share is null (step 7)."""
    data = fandene_data()
    del data["willingness_to_pay"]
    assert run(data)["willingness_share"] is None
    assert run(data | {"willingness_to_pay": []})["willingness_share"] is None


def test_opening_reserve_carries_into_the_reserve():
    """reserve = opening_reserve + Σ results so far."""
    result = run(fandene_data() | {"opening_reserve": "1000000"})
    assert [row["reserve"] for row in result["projection"]] == ["2390800", "3049720", "4057696"]


def test_collection_rate_sensitivity_never_goes_below_zero():
    """A collection rate under 0.10 drops to 0 in the sensitivity case (decision: the spec is silent)."""
    result = run(fandene_data() | {"collection_rate": "0.05"})
    row = result["sensitivity"][4]
    assert row["break_even_beneficiaries"] is None
    assert row["last_year_result"] == "-16455624"  # 0 collected − 13224024 claims − 3231600 costs


def test_study_is_immutable_and_reusable():
    """A parsed study can be varied with dataclasses.replace and rerun (what-if screens)."""
    study = parse_study(fandene_data())
    cheaper = replace(study, rounding=Decimal("100"))
    assert run_study(cheaper)["contribution_per_person_year"] == "7000"  # 6922.67 up to 100
    assert run_study(study) == run_study(study)


# ------------------------------------------------------------------------------------------ validation


def test_json_numbers_are_read_as_decimals_not_floats():
    """A study may write decimals as JSON numbers; the loader keeps them exact."""
    text = (EXAMPLES / "fandene-study.json").read_text(encoding="utf-8").replace('"0.90"', "0.90")
    study = load_study_text(text)
    assert study.services[0].frequency == Decimal("0.90")
    assert study.collection_rate == Decimal("0.90")
    assert run_study(study) == run(fandene_data())


def test_floats_in_a_dict_are_refused():
    """A float handed over by code that used plain json.loads is not exact: refused, naming the field."""
    data = fandene_data()
    data["services"][1]["frequency"] = 1.2
    data["collection_rate"] = 0.9
    errors = error_paths(data)
    assert set(errors) == {"services[1].frequency", "collection_rate"}
    assert "decimal string" in errors["collection_rate"]


def test_every_bad_field_is_named_at_once():
    """All problems come back together, each with its field path."""
    data = fandene_data()
    del data["fixed_costs"]
    data["subsidy_share"] = "1"
    data["loading_basis"] = "net"
    data["household_size"] = "six"
    data["renewal_rat"] = "0.8"
    data["new_enrolment"] = [1800, "900", -1]
    data["waiting_period_months"] = 13
    data["services"][0]["coverage_rate"] = "1.5"
    data["services"][2]["unit_cost"] = "-2500"
    data["services"][3]["code"] = "OPD"
    data["loadings"]["admin"] = "1.2"
    errors = error_paths(data)
    assert errors == {
        "fixed_costs": "is missing",
        "subsidy_share": "1 must be at least 0 and less than 1",
        "loading_basis": "'net' must be 'gross' or 'pure'",
        "household_size": "'six' is not a number (expected digits with '.' as decimal separator)",
        "renewal_rat": "is not a field of a study (check the spelling)",
        "new_enrolment[1]": "'900' must be a whole number",
        "new_enrolment[2]": "-1 must be at least 0",
        "waiting_period_months": "13 must be between 0 and 12",
        "services[0].coverage_rate": "1.5 must be more than 0 and at most 1",
        "services[2].unit_cost": "-2500 must be more than 0",
        "services[3].code": "'OPD' appears twice; each service needs its own code",
        "loadings.admin": "1.2 must be at least 0 and less than 1",
    }


def test_every_message_is_a_message_id_said_in_the_readers_language(app):
    """Each error is a ``Message`` (issue 16): its English is the text above, and a French request reads it in
    French, numbers written the French way."""
    data = fandene_data()
    del data["fixed_costs"]
    data["subsidy_share"] = "1.5"
    data["household_size"] = "six"
    data["renewal_rat"] = "0.8"
    with pytest.raises(StudyError) as caught:
        parse_study(data)
    messages = dict(caught.value.errors)
    assert all(isinstance(message, Message) for message in messages.values())
    assert messages["subsidy_share"].message == "%(number)s must be at least %(low)s and less than %(high)s"
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        from flask_babel import force_locale

        with force_locale("fr"):
            french = {path: say(message) for path, message in messages.items()}
    assert french == {
        "fixed_costs": "est à renseigner",
        "subsidy_share": "1,5 doit être au moins égal à 0 et inférieur à 1",
        "household_size": "'six' n'est pas un nombre (des chiffres sont attendus, avec la virgule comme séparateur "
        "décimal : 1 250,50)",
        "renewal_rat": "n'est pas un champ d'une étude (vérifiez l'orthographe)",
    }
    assert "household_size: 'six' is not a number (expected digits with '.'" in str(caught.value)  # CLI: English


def test_study_error_message_lists_the_fields():
    """str(StudyError) is a one-line summary for the command line."""
    with pytest.raises(StudyError, match=r"currency: 'xof' is not an ISO 4217 currency code"):
        parse_study(fandene_data() | {"currency": "xof"})


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("{not json", ""),
        ("[1, 2]", ""),
        ('{"name": "x", "frequency": NaN}', ""),
    ],
)
def test_unreadable_documents(text, path):
    """Not JSON, not an object, or NaN: one error without a field, nothing run."""
    with pytest.raises(StudyError) as caught:
        load_study_text(text)
    assert caught.value.errors[0][0] == path


def test_services_must_be_a_non_empty_list():
    """A study without services has no premium to compute."""
    assert error_paths(fandene_data() | {"services": []})["services"].startswith("must be a non-empty list")
    data = fandene_data()
    del data["services"]
    assert error_paths(data)["services"] == "is missing"
    data = fandene_data() | {"services": ["OPD"]}
    assert "services[0]" in error_paths(data)


def test_new_enrolment_needs_at_least_one_year():
    """The projection needs at least one year (step 9)."""
    assert "new_enrolment" in error_paths(fandene_data() | {"new_enrolment": []})


def test_booleans_are_not_numbers():
    """JSON true is not 1 for a study."""
    errors = error_paths(fandene_data() | {"target_population": True, "fixed_costs": False})
    assert set(errors) == {"target_population", "fixed_costs"}
