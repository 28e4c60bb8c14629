"""The fast QR path gives exactly the modules ReportLab's own ``make()`` gives, mask choice included."""

from __future__ import annotations

import numpy as np
import pytest

from mhi.core.qr import qr_matrix, qr_widget

VALUES = [f"NDG-{n:06d}" for n in range(0, 400, 7)] + [
    "M1",
    "12345",
    "ÀÉ-12/x",
    "HR-THIES/2025/00013",
    "<b>x</b>",
    "a" * 40,
    "9" * 120,
    "MUT-POUT-000001-" * 8,
]


@pytest.mark.parametrize("value", VALUES)
def test_same_modules_as_reportlab(value):
    fast = qr_matrix(qr_widget(value))
    reference = qr_widget(value)
    reference.qr.make()
    assert np.array_equal(fast, np.array(reference.qr.modules, dtype=bool))


def test_the_widget_holds_the_bare_member_number():
    # The eligibility page takes the raw member number: no prefix, no URL.
    assert qr_widget("NDG-000123").value == "NDG-000123"
