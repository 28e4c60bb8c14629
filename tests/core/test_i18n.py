"""Every message a user can see has its French, and the French catalog is clean.

The messages are extracted in memory from the source tree with the mapping of babel.cfg (tools/i18n.py), so a
new ``_("…")`` in the code or a template without its French fails here, with the list of what is missing. The
fix is always the same: ``make i18n`` (extract and merge), then write the French in
mhi/translations/fr/LC_MESSAGES/messages.po.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]


def _load_tool():
    """tools/i18n.py is a script, not a package: load it by path."""
    spec = importlib.util.spec_from_file_location("mhi_i18n_tool", ROOT / "tools" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


i18n = _load_tool()


@pytest.fixture(scope="module")
def source_messages():
    """The messages marked for translation in mhi/**.py and templates/**.html."""
    return i18n.extract_catalog(ROOT)


@pytest.fixture(scope="module")
def french():
    """The French catalog as committed."""
    assert i18n.po_path("fr").exists(), "mhi/translations/fr/LC_MESSAGES/messages.po is missing"
    return i18n.read_catalog("fr")


def _listing(lines: list[str]) -> str:
    return "\n  ".join([""] + lines)


def test_extraction_finds_the_messages(source_messages):
    # A guard on the guard: a broken babel.cfg would extract nothing and every other test here would pass.
    assert len(source_messages) > 10
    assert any(path.startswith("mhi/") for message in source_messages for path, _ in message.locations)


def test_every_message_has_its_french(source_messages, french):
    missing = i18n.untranslated(source_messages, french)

    assert not missing, (
        f"{len(missing)} message(s) without a French translation (run `make i18n`, then translate them in "
        f"mhi/translations/fr/LC_MESSAGES/messages.po; fuzzy ones need a review):" + _listing(missing)
    )


def test_no_stale_or_obsolete_entries(source_messages, french):
    stale = i18n.stale(source_messages, french)

    assert not stale, "entries no longer in the source (run `make i18n`):" + _listing(stale)


def test_no_duplicate_entries():
    duplicates = i18n.duplicate_entries("fr")

    assert not duplicates, "msgids written twice in the French catalog:" + _listing(duplicates)


def test_placeholders_match(french):
    problems = i18n.placeholder_problems(french)

    assert not problems, "translations whose placeholders differ from the English:" + _listing(problems)


def test_template_messages_escape_the_percent_sign(source_messages):
    problems = i18n.template_format_problems(source_messages)

    assert not problems, "template messages that would print garbage (Jinja formats them):" + _listing(problems)


def test_french_plural_rule(french):
    assert french.num_plurals == 2
    assert french.plural_expr.replace(" ", "") in {"(n>1)", "n>1"}


def test_the_catalog_compiles_and_translates(french, tmp_path):
    mo_file = tmp_path / "messages.mo"
    with open(mo_file, "wb") as mo:
        write_mo(mo, french, use_fuzzy=False)
    with open(mo_file, "rb") as mo:
        translations = Translations(mo, domain="messages")

    translated = [m for m in french if m.id and m.string and not m.fuzzy and isinstance(m.id, str)]
    assert translated, "the French catalog has no translation at all"
    for message in translated:
        if message.context:
            assert translations.pgettext(message.context, message.id) == message.string
        else:
            assert translations.gettext(message.id) == message.string


def test_placeholder_checker_catches_mistakes():
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="fr")
    catalog.add("Year %(year)s", "Année %(annee)s", flags=["python-format"])
    catalog.add("%(rate)s collected", "%(rate)s collecté à 5 %", flags=["python-format"])
    catalog.add("Fine %(name)s", "Bien %(name)s", flags=["python-format"])

    problems = i18n.placeholder_problems(catalog)

    assert len(problems) == 2
    assert "Year %(year)s" in problems[0]
    assert "does not format" in problems[1]
