"""QR codes for member cards: ReportLab's ``QrCodeWidget`` encodes, NumPy picks the mask, the canvas draws one path.

A card's QR code carries exactly the member number (the eligibility page takes the raw number). ReportLab's
widget does the encoding (mode, version, Reed–Solomon blocks, placement); its own ``make()`` then tries the
eight mask patterns in pure Python (about 2 ms a code) and ``draw()`` builds a validated shape per module run
(about 2 ms more), drawn through renderPDF. For a batch of 10 000 cards that alone is over half a minute, so ``qr_matrix`` places the
widget's codewords once and scores the eight masks together with NumPy using *the same penalty rules as*
ReportLab's ``QRUtil.getLostPoint`` (same quirks included), so it picks the mask ReportLab would and yields the
identical module matrix (tests/cards/test_qr.py compares them). ``draw_qr`` writes the dark runs as one fill.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.pdfgen.canvas import Canvas

#: Error correction M (15 %): a card in a pocket gets scratched; the code stays small (21×21 for ≤ 14 chars).
LEVEL = "M"
#: Quiet zone in modules (ISO/IEC 18004 asks for 4).
BORDER = 4

# ReportLab rebuilds the Reed–Solomon generator polynomial for every code (ten polynomial products, a third of
# a code's encoding time). It depends only on the number of error-correction codewords and nothing mutates it,
# so it is computed once per count; the codes are unchanged (tests/cards/test_qr.py).
if not hasattr(qrencoder.QRUtil.getErrorCorrectPolynomial, "cache_info"):
    qrencoder.QRUtil.getErrorCorrectPolynomial = staticmethod(
        lru_cache(maxsize=None)(qrencoder.QRUtil.getErrorCorrectPolynomial)
    )

# ReportLab's rule 3 pattern (dark, light, dark×3, light, dark, light×4), searched in one direction only.
_FINDER_LIKE = np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)


def qr_widget(member_no: str) -> QrCodeWidget:
    """The widget encoding ``member_no`` and nothing else (no prefix, no URL: the eligibility page reads it raw)."""
    return QrCodeWidget(member_no, barLevel=LEVEL, barBorder=BORDER)


@lru_cache(maxsize=64)
def _layout(version: int, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Per QR version: data module positions, the eight mask values there, and the function-pattern matrices.

    Returns (rows, cols, masks[8, positions], test_template, real_templates[8]) where a template is the matrix
    with every data module light: ``test`` as ReportLab scores it (format information blank), ``real`` as it is
    printed with mask i's format information.
    """
    qr = qrencoder.QRCode(version, level)
    qr.moduleCount = version * 4 + 17  # dataPosIterator walks a grid of this size
    positions = qr.dataPosIterator()
    cols = np.fromiter((c for c, _ in positions), dtype=np.intp, count=len(positions))
    rows = np.fromiter((r for _, r in positions), dtype=np.intp, count=len(positions))
    masks = np.array(
        [[qrencoder.QRUtil.getMask(i)(r, c) for c, r in positions] for i in range(8)],
        dtype=bool,
    )

    def template(test: bool, mask: int) -> np.ndarray:
        """ReportLab's function patterns for ``mask`` with the data modules cleared."""
        qr.dataCache = []  # no codewords: mapData then writes only light (masked) modules, cleared below
        qr.makeImpl(test, mask)
        matrix = np.array(qr.modules, dtype=bool)
        matrix[rows, cols] = False
        return matrix

    return rows, cols, masks, template(True, 0), tuple(template(False, i) for i in range(8))


def _runs_score(stack: np.ndarray) -> np.ndarray:
    """Rule 1 per matrix: each run of 5 or more same-colour modules along the last axis costs its length − 2."""
    count, height, width = stack.shape
    lines = stack.reshape(count * height, width)
    edges = np.ones((lines.shape[0], width + 1), dtype=bool)
    edges[:, 1:-1] = lines[:, 1:] != lines[:, :-1]
    starts = np.flatnonzero(edges)
    lengths = np.diff(starts)  # the step from one line's end to the next line's start is a harmless 1
    line_of_run = starts[:-1] // (width + 1)
    scores = np.where(lengths >= 5, lengths - 2, 0)
    return np.bincount(line_of_run // height, weights=scores, minlength=count)


def _finder_score(stack: np.ndarray) -> np.ndarray:
    """Rule 3 per matrix along the last axis, as ReportLab counts it (its last window position is not looked at)."""
    width = stack.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(stack, _FINDER_LIKE.size, axis=-1)
    windows = windows[:, :, : width - _FINDER_LIKE.size, :]
    # The pattern cannot overlap itself, so ReportLab's skip-after-match counting equals counting every match.
    return 40 * (windows == _FINDER_LIKE).all(axis=-1).sum(axis=(1, 2))


def _lost_points(stack: np.ndarray) -> np.ndarray:
    """ReportLab's ``getLostPoint`` for eight candidate matrices at once."""
    score = _runs_score(stack) + _runs_score(stack.transpose(0, 2, 1))
    same = (stack[:, 1:, 1:] == stack[:, :-1, 1:]) & (stack[:, 1:, 1:] == stack[:, 1:, :-1])
    same &= stack[:, 1:, 1:] == stack[:, :-1, :-1]
    score += 3 * same.sum(axis=(1, 2))
    # Rule 3 along rows only: ReportLab's column pass compares tuples with a list and never matches.
    score += _finder_score(stack)
    cells = stack.shape[1] * stack.shape[2]
    dark = stack.sum(axis=(1, 2))
    score += 10 * (np.abs(100 * dark // cells - 50) // 5)
    return score


def qr_matrix(widget: QrCodeWidget) -> np.ndarray:
    """The widget's module matrix (True = dark), the same ReportLab's ``make()`` would give, computed fast."""
    qr = widget.qr
    if qr.version is None:
        qr.version = qr.calculate_version()
    codewords = qrencoder.QRCode.createData(qr.version, qr.errorCorrectLevel, qr.dataList)
    rows, cols, masks, test_template, real_templates = _layout(qr.version, qr.errorCorrectLevel)
    bits = np.unpackbits(np.asarray(codewords, dtype=np.uint8)).astype(bool)
    data = np.zeros(rows.size, dtype=bool)
    data[: min(bits.size, rows.size)] = bits[: rows.size]
    masked = data[np.newaxis, :] ^ masks  # (8, positions)
    candidates = np.repeat(test_template[np.newaxis], 8, axis=0)
    candidates[:, rows, cols] = masked
    # ReportLab keeps the first mask with the fewest lost points; argmin keeps the first minimum too.
    best = int(np.argmin(_lost_points(candidates)))
    matrix = real_templates[best].copy()
    matrix[rows, cols] = masked[best]
    return matrix


def draw_qr(canvas: Canvas, matrix: np.ndarray, x: float, y: float, size: float) -> None:
    """Draw ``matrix`` with its quiet zone as a ``size``-point square whose lower-left corner is (x, y).

    The canvas is scaled to one unit a module, so every dark run of a row is a rectangle with whole-number
    coordinates, written as one fill (operator ``f``: non-zero winding, so touching rectangles never cancel).
    The operators are written with ``addLiteral``: formatting a hundred rectangles a code through ReportLab's
    path object is most of the cost of a card when its C accelerator is not installed.
    """
    count = matrix.shape[0]
    total = count + 2 * BORDER
    padded = np.zeros((count, count + 2), dtype=np.int8)
    padded[:, 1:-1] = matrix
    changes = np.diff(padded, axis=1)
    rows, starts = np.nonzero(changes == 1)
    _, ends = np.nonzero(changes == -1)  # row-major like the starts: the n-th end closes the n-th start
    lefts = (starts + BORDER).tolist()
    widths = (ends - starts).tolist()
    bottoms = (total - BORDER - 1 - rows).tolist()
    runs = zip(lefts, bottoms, widths, strict=True)
    operators = " ".join(f"{left} {bottom} {width} 1 re" for left, bottom, width in runs)
    canvas.saveState()
    canvas.transform(size / total, 0, 0, size / total, x, y)
    canvas.addLiteral(operators + " f")
    canvas.restoreState()
