"""Signing in with a real browser: the dashboard after a good password, the error after a wrong one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def watch_console(page) -> list[str]:
    """Collect the script errors and Content-Security-Policy refusals the page reports (both mean a broken page)."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return problems


def log_in(page, email: str, password: str) -> None:
    """Fill the login form and send it with its own submit button."""
    page.goto("/login")
    form = page.locator("form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").first.click()
    page.wait_for_load_state()


def test_log_in_shows_the_dashboard(page, live_server):
    problems = watch_console(page)

    log_in(page, live_server.email, live_server.password)

    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/(\?.*)?$"))
    expect(page.locator("input[name=password]")).to_have_count(0)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    if live_server.scheme_names:
        # An admin's dashboard lists the schemes (the demo's, when the demo command exists).
        visible = [name for name in live_server.scheme_names if page.get_by_text(name).count()]
        assert visible, f"none of the schemes {live_server.scheme_names} is on the dashboard"
    path = screenshot(page, "dashboard")
    assert path.stat().st_size > 1000
    assert problems == []


def test_wrong_password_shows_the_error(page, live_server):
    problems = watch_console(page)

    log_in(page, live_server.email, "Not-the-password-1")

    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page.get_by_text("Wrong e-mail or password.")).to_be_visible()
    screenshot(page, "login-wrong-password")
    assert problems == []


def test_dashboard_needs_a_login(page, live_server):
    page.goto("/")

    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("input[name=password]")).to_be_visible()


def test_french_user_sees_the_dashboard_in_french(french_page, live_server):
    page = french_page
    problems = watch_console(page)

    log_in(page, live_server.french_email, live_server.password)

    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^fr"))
    screenshot(page, "dashboard-fr")
    assert problems == []


def test_a_new_account_changes_its_first_password_before_anything_else(page, live_server):
    problems = watch_console(page)

    log_in(page, live_server.newcomer_email, live_server.password)

    expect(page).to_have_url(re.compile(r"/account/password$"))
    expect(page.get_by_text("Choose your own password before going on")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/account/password$"))  # every page leads back to the change
    form = page.locator("main form")
    form.locator("input[name=current]").fill(live_server.password)
    form.locator("input[name=new]").fill("Baobab-shade-2027")
    form.locator("input[name=confirm]").fill("Baobab-shade-2027")
    screenshot(page, "first-password-change")
    form.locator("[type=submit]").first.click()
    page.wait_for_load_state()

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert problems == []
