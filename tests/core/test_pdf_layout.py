"""PDFs that print clean (issue 16): table columns sized from their content, words never cut in two, no header
cell printed over its neighbour — checked from the text positions in the PDFs themselves, in French (the longer
labels), for the monitoring report, the federation report, the pool settlement and the household statement."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from flask_babel import force_locale
from reportlab.pdfbase import pdfmetrics
from sqlalchemy import select

from mhi.core.pdf import FONT, FONT_BOLD, column_widths, register_fonts
from mhi.reports import indicators as ind
from mhi.reports import pdf as report_pdf
from mhi.reports.labels import LABELS
from tests.pooling.test_services import POOL
from tests.reports import builders
from tests.reports.builders import F, T


def _fragments(data: bytes) -> list[tuple[int, float, float, float, str]]:
    """Every piece of text drawn: (page, y, x start, x end, text), widths measured with the embedded fonts."""
    register_fonts()
    pieces = []
    for number, page in enumerate(pypdf.PdfReader(io.BytesIO(data)).pages):

        def visit(text, cm, tm, font, size, number=number):
            if not text.strip() or font is None:
                return
            name = FONT_BOLD if "Bold" in str(font.get("/BaseFont", "")) else FONT
            scale = cm[0] * tm[0] if cm[0] and tm[0] else 1
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            width = pdfmetrics.stringWidth(text.rstrip("\n"), name, size) * scale
            pieces.append((number, round(y, 1), x, x + width, text.strip()))

        page.extract_text(visitor_text=visit)
    return pieces


def _assert_nothing_overlaps(data: bytes) -> None:
    """No two pieces of text on one line of one page share any horizontal space."""
    lines: dict[tuple[int, float], list] = {}
    for page, y, start, end, text in _fragments(data):
        lines.setdefault((page, y), []).append((start, end, text))
    for (page, y), pieces in lines.items():
        pieces.sort()
        for (s1, e1, t1), (s2, _e2, t2) in zip(pieces, pieces[1:], strict=False):
            assert e1 <= s2 + 0.5, f"page {page + 1}, y={y}: {t1!r} ({s1:.0f}–{e1:.0f}) runs into {t2!r} at {s2:.0f}"


def _assert_whole_words(data: bytes, labels) -> None:
    """Every word of the labels printed appears whole: none was cut at the end of a line."""
    words = set()
    for _page, _y, _start, _end, text in _fragments(data):
        words.update(text.split())
    for label in labels:
        for word in re.findall(r"\w[\w'’\-]{2,}", str(label)):
            assert word in words or any(word in w for w in words), f"{word!r} of {label!r} is not printed whole"


def test_column_widths_come_from_the_content():
    rows = [["Indicateur", "Valeur", "Voyant"], ["Taux de sinistralité incurrée", "1 234 567 F CFA", "rouge"]]
    widths = column_widths(rows, 400)
    assert sum(widths) == pytest.approx(400)
    assert widths[0] > widths[2]  # the long labels get the room
    for column, width in enumerate(widths):
        longest = max(pdfmetrics.stringWidth(w, FONT_BOLD, 8) for row in rows for w in row[column].split())
        assert width >= longest


@pytest.fixture
def hand(session):
    builders.make_federation(session, "UMT", pool=POOL)
    return builders.build_hand_scheme(session, "MUT-HAND", federation="UMT")


def _french(text: str) -> str:
    """The French catalogue's translation of ``text`` (the statement takes a gettext function)."""
    from flask_babel import gettext

    with force_locale("fr"):
        return gettext(text)


def test_monitoring_reports_print_clean_in_french(app, session, hand):
    report = ind.scheme_indicators(session, hand, F, T)
    data = report_pdf.scheme_report_pdf(report, locale="fr_SN")
    with app.test_request_context(), force_locale("fr"):
        labels = [str(LABELS[key]) for key, _ in ind.INDICATORS]
    _assert_nothing_overlaps(data)
    _assert_whole_words(data, labels)
    federation = ind.federation_indicators(session, hand.federation, F, T)
    data = report_pdf.federation_report_pdf(federation, locale="fr_SN")
    _assert_nothing_overlaps(data)
    _assert_whole_words(data, labels)


def test_pool_settlement_prints_clean_in_french(app, session, hand):
    from mhi.pooling import services as pool_services
    from mhi.pooling.pdf import pool_labels, settlement_pdf

    federation = hand.federation
    settlement = pool_services.settle_pool(session, federation, F, T)
    data = settlement_pdf(settlement, federation, "fr_SN")
    with app.test_request_context(), force_locale("fr"):
        labels = list(pool_labels().values())
    _assert_nothing_overlaps(data)
    _assert_whole_words(data, labels)


def test_household_statement_prints_clean_in_french(app, session, hand):
    from mhi.cards.statement import statement_pdf
    from mhi.members.models import Household

    household = session.scalar(select(Household).where(Household.ref == "H1"))
    with app.test_request_context():
        data = statement_pdf(session, household, F, T, language="fr", gettext=_french, include_claims=True)
    _assert_nothing_overlaps(data)
    _assert_whole_words(
        data, ["N° d'adhérent", "Sexe", "Lien de parenté", "Part de l'adhérent", "Mode de paiement", "Collecteur"]
    )
