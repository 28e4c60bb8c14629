"""Phone-sized: the pages a clerk, a claims officer and a manager use fit a 390 px phone without sideways
scrolling, and a 1280 px desktop too (issue 16). Tables turn into stacked rows on a phone; the menus collapse.

Each page is measured in the browser: the document must be no wider than the window (``scrollWidth`` against
``innerWidth``), and no element inside ``main`` may stick out past the right edge (a clipped amount would not
widen a document whose overflow is hidden, so both are checked).
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import SCREENSHOTS, screenshot, sign_in

pytestmark = pytest.mark.browser

#: What the phone check measures, in the page: the document's width, and the elements that stick out of it.
MEASURE = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.querySelectorAll('main *, header *, nav *')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1 && getComputedStyle(el).visibility !== 'hidden') {
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
               + ' right=' + Math.round(box.right));
    }
  }
  return {width, scroll: document.documentElement.scrollWidth, out: out.slice(0, 5)};
}"""


def _pages(demo) -> list[str]:
    """The pages measured: what a clerk, a claims officer and a manager open in a day."""
    code = demo.scheme_code
    return [
        "/",
        f"/schemes/{code}",
        f"/schemes/{code}/households",
        f"/schemes/{code}/households?q=a",
        f"/schemes/{code}/contributions",
        f"/schemes/{code}/eligibility?member_no={demo.covered_member_no}",
        f"/schemes/{code}/claims",
        f"/schemes/{code}/claims/new",
        f"/schemes/{code}/indicators",
        f"/schemes/{code}/providers",
        f"/schemes/{code}/batches",
        f"/schemes/{code}/subsidies",
        f"/schemes/{code}/lists/arrears",
        f"/schemes/{code}/cards",
        f"/schemes/{code}/accounts",
        "/schemes",
        "/audit",
        "/account/password",
    ]


def _household_urls(page, code: str) -> list[str]:
    """A household page and its receipt form, found through the register's first link."""
    page.goto(f"/schemes/{code}/households?q=a")
    hrefs = page.locator("main a[href*='/households/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    href = next(h for h in hrefs if h.rstrip("/").rsplit("/", 1)[-1].isdigit())
    return [href, f"{href}/receipts/new"]


@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_the_screen_without_sideways_scrolling(browser, live_server, demo, width):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-SN", viewport={"width": width, "height": 844 if width < 500 else 900}
    )
    page = context.new_page()
    try:
        sign_in(page, "scheme.keur@demo.mhi", english=False)
        urls = _pages(demo) + _household_urls(page, demo.scheme_code)
        wide = {}
        for url in urls:
            response = page.goto(url)
            assert response is not None and response.status == 200, f"{url}: {response and response.status}"
            measured = page.evaluate(MEASURE)
            if measured["scroll"] > measured["width"] or measured["out"]:
                wide[url] = measured
                screenshot(page, f"phone-{width}-" + url.strip("/").replace("/", "_").replace("?", "_")[:60])
        assert not wide, f"pages wider than {width} px: {wide}"
        if width < 500:  # the top of the household page and of the claims queue, for a person to look at
            for name, url in (("household-390", urls[-2]), ("claims-390", f"/schemes/{demo.scheme_code}/claims")):
                page.goto(url)
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(
                    path=str(SCREENSHOTS / f"{name}.png"), clip={"x": 0, "y": 0, "width": 390, "height": 1400}
                )
    finally:
        context.close()


def test_the_menu_collapses_on_a_phone_and_opens_without_scripts(browser, live_server, demo):
    """At 390 px the main menu is folded behind one button that opens it; pages work with scripts off too."""
    context = browser.new_context(
        base_url=live_server.url, locale="fr-SN", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, "scheme.keur@demo.mhi", english=False)
        page.goto(f"/schemes/{demo.scheme_code}/households")
        menu = page.locator("nav.main-nav")
        assert not menu.is_visible()
        header_height = page.locator("header.site").bounding_box()["height"]
        assert header_height < 844 / 8, f"the header takes {header_height} px of 844"
        page.locator("label.menu-button").first.click()
        assert menu.is_visible()
        assert page.locator("nav.main-nav a").first.is_visible()
    finally:
        context.close()
