"""A French clerk on a 390 px phone (issue 16): an amount typed as the screens show it (``1 250``) is accepted, and
a service's refusal (a receipt number already used) comes back in French, on a page no wider than the phone.
"""

from __future__ import annotations

import secrets

import pytest

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

#: The document's width against the window's (test_phone.py measures the same way).
WIDTHS = "() => ({width: window.innerWidth, scroll: document.documentElement.scrollWidth})"


def _receipt_form(page, code: str) -> str:
    """The receipt form of the register's first household."""
    page.goto(f"/schemes/{code}/households?q=a")
    hrefs = page.locator("main a[href*='/households/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    href = next(h for h in hrefs if h.rstrip("/").rsplit("/", 1)[-1].isdigit())
    return f"{href}/receipts/new"


def _record(page, url: str, amount: str, receipt_no: str) -> None:
    page.goto(url)
    page.locator("input[name=amount]").fill(amount)
    page.locator("input[name=receipt_no]").fill(receipt_no)
    page.locator("main form [type=submit]").first.click()
    page.wait_for_load_state()


def test_a_french_clerk_types_1_250_and_reads_the_refusal_in_french(browser, live_server, demo):
    context = browser.new_context(base_url=live_server.url, locale="fr-SN", viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, f"clerk.{demo.scheme_code.split('-')[1].lower()}@demo.mhi", english=False)
        url = _receipt_form(page, demo.scheme_code)
        receipt_no = f"RB-{secrets.token_hex(3).upper()}"

        _record(page, url, "1 250", receipt_no)
        assert "/receipts/new" not in page.url, page.locator("main").inner_text()  # accepted: back on the household
        assert f"Reçu {receipt_no} enregistré" in page.locator("body").inner_text()
        assert page.locator("main").get_by_text(receipt_no).count() >= 1

        _record(page, url, "1 250", receipt_no)  # the same receipt number again: the service refuses it
        assert "/receipts/new" in page.url
        error = page.locator(".has-error .error, .error").first.inner_text()
        assert f"le numéro de reçu {receipt_no} est déjà utilisé dans cette mutuelle" in error, error
        body = page.locator("body").inner_text()
        assert "is already used" not in body and "already used in this scheme" not in body
        screenshot(page, "french-receipt-error-390")

        measured = page.evaluate(WIDTHS)
        assert measured["scroll"] <= measured["width"], f"the page is {measured['scroll']} px wide at 390 px"
    finally:
        context.close()
