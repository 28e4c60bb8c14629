"""Browser tests: the real application served by ``flask run`` in a subprocess, driven by Chromium (Playwright).

Run with ``pytest -m browser tests/browser`` (the default options leave them out; .ci/run runs them). They need
Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``); Playwright's own browser download is never
used. The server gets its own SQLite database in a temporary folder, built the way an operator would build one:
``flask db upgrade``, the demo (when the database is empty), and a login made with ``flask user create``.
Screenshots and the server's log go to test-artifacts/ at the repository root.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class LiveServer:
    """Where the application answers, the logins made for the tests, and the schemes in its database."""

    url: str
    email: str
    password: str
    french_email: str
    database: Path
    scheme_names: tuple[str, ...]
    #: An account made like any new one: its first password must be changed at the first sign-in.
    newcomer_email: str = "newcomer@example.org"


def _free_port() -> int:
    """A port nobody listens on now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(env: dict, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``flask --app mhi ARGS`` the way an operator does, in the repository root."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "mhi", *args],
        cwd=ROOT,
        env=env,
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _has_command(env: dict, name: str) -> bool:
    """True when ``flask --app mhi NAME`` exists (the demo command is optional for these tests)."""
    return _flask(env, name, "--help", check=False).returncode == 0


def _scheme_names(database: Path) -> tuple[str, ...]:
    """The names of the schemes in the database (those an admin's dashboard lists)."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM scheme ORDER BY name").fetchall()
    connection.close()
    return tuple(name for (name,) in rows)


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll the login page until it answers; fail with the server's log if it dies or never answers."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"GET /login answered {exc.code}:\n{log.read_text()}") from exc
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> LiveServer:
    """The application on a free 127.0.0.1 port, over a fresh database; stopped at the end of the session."""
    folder = tmp_path_factory.mktemp("live")
    database = folder / "mhi.sqlite"
    env = {
        **os.environ,
        "MHI_DATABASE_URL": f"sqlite:///{database}",
        "MHI_SECRET_KEY": secrets.token_hex(32),
        "MHI_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("FLASK_DEBUG", None)
    # The pages are translated from the compiled catalogs (.mo files are build output, not committed).
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "i18n.py"), "compile"], cwd=ROOT, check=True, capture_output=True
    )
    _flask(env, "db", "upgrade")
    if _has_command(env, "demo"):
        _flask(env, "demo")
    # The password must pass the rules (not built on the e-mail); the operator typed it for these accounts, so no
    # change is asked at their first sign-in (--no-password-change), as for the demo's accounts.
    email, french_email, password = "browser-test@example.org", "navigateur@example.org", "Sahel-river-2026"
    for address, locale in ((email, "en"), (french_email, "fr")):
        _flask(
            env,
            "user",
            "create",
            address,
            "--role",
            "admin",
            "--locale",
            locale,
            "--no-password-change",
            stdin=password + "\n",
        )
    _flask(env, "user", "create", "newcomer@example.org", "--role", "admin", "--locale", "en", stdin=password + "\n")

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "browser-server.log"
    with open(log, "w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "mhi", "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(url, process, log)
            yield LiveServer(url, email, password, french_email, database, _scheme_names(database))
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through Playwright (never Playwright's downloaded browsers)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server):
    """A new browser context (no cookies) per test, in English, with relative URLs resolved against the server."""
    yield from _page(browser, live_server, "en-GB")


@pytest.fixture
def french_page(browser, live_server):
    """The same, for a browser set to French (Accept-Language: fr-SN)."""
    yield from _page(browser, live_server, "fr-SN")


def _page(browser, live_server, locale: str):
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ------------------------------------------------------------------------------------------- the user journeys
# What tests/browser/test_journeys.py needs: the demo's facts read from its database, signing in as a demo
# account, numbered screenshots per journey, and a watch on the browser console.

DEMO_PASSWORD = "demo-mhi-2026"
DEMO_SCHEME = "MUT-KEUR"


@dataclass(frozen=True)
class DemoFacts:
    """What the journeys need from the demo database, read with SQL once per session."""

    scheme_code: str
    scheme_name: str
    federation_code: str
    federation_name: str
    federation_scheme_codes: tuple[str, ...]
    covered_member_no: str  # covered today, enrolled long ago, no claim this year: a claim is not refused for it
    covered_member_name: str
    claim_id: int  # any claim of the scheme: the federation reviewer must not reach it
    claim_ref: str
    claim_member_no: str


# A member of the scheme covered today: household not exited, not struck off, inside a coverage span; the person
# enrolled more than 180 days ago (every waiting period is over) and not exited; no claim this calendar year (no
# ceiling or case count is used up, so a small claim is not refused for that).
COVERED_MEMBER_SQL = """
SELECT p.member_no, p.first_name || ' ' || p.last_name
FROM person p JOIN household h ON h.id = p.household_id JOIN scheme s ON s.id = p.scheme_id
WHERE s.code = :scheme AND p.exit_date IS NULL AND h.exit_date IS NULL AND p.enrolment_date <= :long_ago
  AND (h.strike_off_date IS NULL OR h.strike_off_date > :today)
  AND EXISTS (SELECT 1 FROM coverage_span c WHERE c.household_id = h.id AND c.start <= :today
              AND (c."end" IS NULL OR c."end" > :today))
  AND NOT EXISTS (SELECT 1 FROM claim k WHERE k.person_id = p.id AND k.date_of_service >= :year_start)
ORDER BY p.member_no LIMIT 1
"""


@pytest.fixture(scope="session")
def demo(live_server) -> DemoFacts:
    """The demo's facts (the demo command loaded it into the live server's database); fails without a demo."""
    from datetime import timedelta

    from mhi.core import clock

    today = clock.today()
    with sqlite3.connect(live_server.database) as connection:
        scheme = connection.execute(
            "SELECT id, name, federation_id FROM scheme WHERE code = ?", (DEMO_SCHEME,)
        ).fetchone()
        if scheme is None:
            pytest.fail(f"the demo scheme {DEMO_SCHEME} is not in the database: did `flask demo` run?")
        scheme_id, scheme_name, federation_id = scheme
        federation_code, federation_name = connection.execute(
            "SELECT code, name FROM federation WHERE id = ?", (federation_id,)
        ).fetchone()
        codes = tuple(
            code
            for (code,) in connection.execute(
                "SELECT code FROM scheme WHERE federation_id = ? ORDER BY code", (federation_id,)
            )
        )
        member = connection.execute(
            COVERED_MEMBER_SQL,
            {
                "scheme": DEMO_SCHEME,
                "today": today.isoformat(),
                "long_ago": (today - timedelta(days=180)).isoformat(),
                "year_start": today.replace(month=1, day=1).isoformat(),
            },
        ).fetchone()
        claim = connection.execute(
            "SELECT id, claim_ref, member_no FROM claim WHERE scheme_id = ? ORDER BY id LIMIT 1", (scheme_id,)
        ).fetchone()
    connection.close()
    if member is None or claim is None:
        pytest.fail(f"the demo has no covered member or no claim in {DEMO_SCHEME}")
    return DemoFacts(DEMO_SCHEME, scheme_name, federation_code, federation_name, codes, member[0], member[1], *claim)


class Journey:
    """Numbered full-page screenshots of one journey: test-artifacts/screenshots/<name>/NN-<step>.png."""

    def __init__(self, name: str):
        self.folder = SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):  # a previous run's steps, so the folder shows this run only
            old.unlink()
        self.count = 0

    def shot(self, page, step: str) -> Path:
        """Save the page as the next numbered step and return the file."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


class ConsoleWatch:
    """Every script error and console error of a page (a Content-Security-Policy refusal is a console error).

    A page the journey opens on purpose to see it refused (403, 404) makes Chromium log "Failed to load
    resource"; ``expect_refusal(url)`` allows that one message for that URL, and nothing else.
    """

    def __init__(self, page):
        self.problems: list[str] = []
        self.refused: set[str] = set()
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and url in self.refused:
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def expect_refusal(self, url: str) -> None:
        """The next load of ``url`` (absolute) is meant to be refused: its 'Failed to load resource' is no problem."""
        self.refused.add(url)

    def assert_clean(self) -> None:
        """Fail with every problem seen so far."""
        assert self.problems == [], "\n".join(self.problems)


@pytest.fixture
def console(page) -> ConsoleWatch:
    """The console watch on the test's ``page``; the test calls ``console.assert_clean()`` at its end."""
    return ConsoleWatch(page)


def sign_in(page, email: str, password: str = DEMO_PASSWORD, english: bool = True) -> None:
    """Sign in through the login form, then read the pages in English (or in French with ``english=False``)
    through the header's language button, which the account remembers."""
    page.goto("/login")
    form = page.locator("form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").first.click()
    page.wait_for_load_state()
    if page.locator("input[name=password]").count():
        raise AssertionError(f"{email} could not sign in")
    # The account remembers its language: an earlier test may have switched it, so switch either way.
    wanted = "en" if english else "fr"
    switch = page.locator("header.site form").filter(has=page.locator(f"input[name=lang][value={wanted}]"))
    if switch.count():
        # Submitted as its button would be (on a phone the button sits in the folded menu).
        with page.expect_navigation():
            switch.first.evaluate("form => form.requestSubmit()")
        page.wait_for_load_state()
