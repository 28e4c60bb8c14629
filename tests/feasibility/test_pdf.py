"""The printed feasibility study: key figures readable back from the PDF, the gettext hook, the fonts."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from mhi.core import pdf as core_pdf
from mhi.core.pdf import money_formatter, register_fonts, stylesheet
from mhi.feasibility.method import load_study_text, parse_study, run_study
from mhi.feasibility.pdf import study_pdf

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "spec" / "examples"


def identity(text: str) -> str:
    """The gettext of an untranslated interface."""
    return text


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, with Babel's no-break spaces made plain so tests can search it."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture(scope="module")
def fandene():
    """The example study and its result."""
    study = load_study_text((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8"))
    return study, run_study(study)


def test_key_figures_in_the_report(fandene):
    """Contribution, month, household, member share, ratios and break-even, formatted for fr_SN."""
    study, result = fandene
    data = study_pdf(result, locale="fr_SN", gettext=identity, study=study)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in (
        "Feasibility study",
        "Mutuelle de Fandène — étude 2026",
        "7 000 F CFA",  # per person per year
        "583 F CFA",  # per month
        "42 000 F CFA",  # per household of 6
        "3 500 F CFA",  # member share
        "0,88 %",  # affordability 0.0088
        "66,67 %",  # willingness 0.6667
        "74,17 %",  # expected claims ratio 0.7417
        "2 971",  # break-even
        "6 922,67 F CFA",  # gross contribution keeps 2 decimals
        "Hospitalisation (HOSP)",
        "3 057 696 F CFA",  # reserve at the end of year 3
        "13 224 024 F CFA",  # year 3 claims
        "Half as many new members each year",
        "-1 636 829 F CFA",  # frequency x1.2
        "22 223",  # collection rate -0.10
        "not reachable",  # the two null break-evens
    ):
        assert expected in text, expected
    # The break-even explained in words.
    assert "the scheme covers its claims and all its running costs from" in " ".join(text.split())


def test_report_without_study_and_in_english(fandene):
    """Only the JSON result (as read back from a file) is needed; en_IN formats the other way round."""
    _, result = fandene
    from_file = json.loads(json.dumps(result))
    text = pdf_text(study_pdf(from_file, locale="en_IN", gettext=identity))
    assert "F CFA7,000" in text
    assert "74.17%" in text
    assert "OPD" in text and "Consultation" not in text


def test_gettext_hook_translates_the_labels(fandene):
    """Every label goes through the gettext given: a French mapping of one string shows up in the PDF."""
    study, result = fandene
    french = {"Feasibility study": "Étude de faisabilité", "Key figures": "Chiffres clés"}
    seen: list[str] = []

    def gettext(text: str) -> str:
        """Record the message asked for and translate the two known ones."""
        seen.append(text)
        return french.get(text, text)

    text = pdf_text(study_pdf(result, locale="fr_SN", gettext=gettext, study=study))
    assert "Étude de faisabilité" in text and "Chiffres clés" in text
    assert "Feasibility study" not in text
    assert {"Contribution per person per year", "Sensitivity", "Projection", "Page %(page)s"} <= set(seen)


def test_report_of_a_scheme_in_deficit_with_many_years():
    """Negative reserves in the chart, null break-even, and more years than fit one table."""
    data = json.loads((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8"), parse_float=Decimal)
    data |= {
        "collection_rate": "0.5",
        "new_enrolment": [1800, 900, 900, 900, 900, 900, 900],
        "currency": "INR",
    }
    result = run_study(parse_study(data))
    assert result["break_even_beneficiaries"] is None
    assert Decimal(result["projection"][-1]["reserve"]) < 0
    text = pdf_text(study_pdf(result, locale="en_IN", gettext=identity))
    assert "Year 7" in text
    assert "cannot cover its costs at any size" in " ".join(text.split())
    assert "₹7,000.00" in text  # DejaVu Sans has the rupee sign
    assert "Page 2" in text


def test_fonts_are_embedded(fandene):
    """The text is set in DejaVu Sans, which carries the narrow no-break space of fr_SN amounts."""
    _, result = fandene
    reader = pypdf.PdfReader(io.BytesIO(study_pdf(result, locale="fr_SN", gettext=identity)))
    fonts = {str(font["/BaseFont"]) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert any("DejaVuSans" in name for name in fonts)
    assert not any("Helvetica" in name for name in fonts)


# ------------------------------------------------------------------------------------------ mhi.core.pdf


def test_register_fonts_is_idempotent_and_styles_use_dejavu():
    """Registering twice is harmless; the sample styles are switched to DejaVu Sans."""
    assert register_fonts() == register_fonts() == ("DejaVuSans", "DejaVuSans-Bold")
    sheet = stylesheet()
    assert sheet["Normal"].fontName == "DejaVuSans"
    assert sheet["Title"].fontName == "DejaVuSans-Bold"


def test_fonts_fall_back_to_the_copy_shipped_with_the_app(monkeypatch, tmp_path):
    """Without the Debian package the app's own copy under mhi/static/fonts is used."""
    shipped = Path(core_pdf.__file__).resolve().parents[1] / "static" / "fonts"
    assert (shipped / "DejaVuSans.ttf").is_file() and (shipped / "DejaVuSans-Bold.ttf").is_file()
    monkeypatch.setattr(core_pdf, "FONT_DIRS", (tmp_path / "nowhere", shipped))
    assert core_pdf._font_file("DejaVuSans-Bold.ttf") == shipped / "DejaVuSans-Bold.ttf"
    monkeypatch.setattr(core_pdf, "FONT_DIRS", (tmp_path / "nowhere",))
    with pytest.raises(FileNotFoundError):
        core_pdf._font_file("DejaVuSans.ttf")


def test_money_formatter():
    """Babel formatting of JSON amount strings and Decimals; floats refused, None a dash."""
    xof = money_formatter("XOF", "fr_SN")
    assert xof("1500").replace("\u202f", " ").replace("\xa0", " ") == "1 500 F CFA"
    assert money_formatter("INR", "en_IN")(Decimal("60")) == "₹60.00"
    assert xof(None) == "—"
    with pytest.raises(TypeError):
        xof(1.5)
