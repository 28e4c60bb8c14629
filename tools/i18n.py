"""Translations: extract the messages, merge them into each language's catalog, compile the catalogs.

Run from the repository root with the project's Python (``make i18n`` runs ``update``)::

    python tools/i18n.py extract   # mhi/translations/messages.pot from mhi/**.py and templates/**.html
    python tools/i18n.py update    # extract, merge into mhi/translations/<lang>/LC_MESSAGES/messages.po, compile
    python tools/i18n.py compile   # every messages.po -> messages.mo (make run and make test do this)
    python tools/i18n.py check     # list the messages with no translation yet; exit 1 if there are any

Which files are read, and how, is babel.cfg; which function names mark a message is ``KEYWORDS`` below.
tests/core/test_i18n.py uses the same functions, so a message without its French fails the suite.
The .mo files (and the .pot) are build output: they are not committed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileParser, read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "mhi" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LANGUAGES = ("fr",)

#: Babel's defaults (_, gettext, ngettext, pgettext, npgettext, N_…) plus Flask-Babel's lazy forms.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
}
#: gettext's usual plural rule rather than CLDR's (which adds a third French form for exact millions):
#: translators write a singular and a plural, as in every other French catalog.
PLURAL_FORMS = {"fr": "nplurals=2; plural=(n > 1);"}
#: ``# TRANSLATORS: …`` just above a message reaches the translator as a comment in the .po file.
COMMENT_TAGS = ("TRANSLATORS:",)
#: Python named placeholders: %(name)s, %(count)d, %(rate).2f…
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
#: Flask-Babel's ngettext always passes ``num``; a singular form may leave it out ("un ménage").
IMPLICIT_PLURAL_NAME = "num"


def po_path(language: str, root: Path = ROOT) -> Path:
    """Where the catalog of ``language`` lives."""
    return root / "mhi" / "translations" / language / "LC_MESSAGES" / "messages.po"


def extract_catalog(root: Path = ROOT) -> Catalog:
    """Extract every marked message of the source tree in memory, with the mapping of babel.cfg."""
    with open(root / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(root / "babel.cfg"))
    catalog = Catalog(project="mhi", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root),
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(language: str, root: Path = ROOT) -> Catalog:
    """The catalog of ``language`` as written on disk (an empty one if the file does not exist yet)."""
    path = po_path(language, root)
    if not path.exists():
        catalog = Catalog(
            locale=language,
            project="mhi",
            header_comment=f"# {language} translations of mhi (python tools/i18n.py update refreshes this file).",
            last_translator="mhi developers",
            language_team=f"{language} <mhi>",
            charset="utf-8",
            fuzzy=False,
        )
        if language in PLURAL_FORMS:
            catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[language])]
        return catalog
    with open(path, "rb") as po:
        return read_po(po, locale=language)


def duplicate_entries(language: str, root: Path = ROOT) -> list[str]:
    """msgids written more than once in the .po file (read_po silently keeps the last one)."""
    seen: dict[tuple, int] = {}

    class Counting(PoFileParser):
        def _add_message(self) -> None:
            msgid = tuple(m.denormalize() for m in self.messages)
            context = self.context.denormalize() if self.context else None
            if not self.obsolete:
                seen[(msgid, context)] = seen.get((msgid, context), 0) + 1
            super()._add_message()

    path = po_path(language, root)
    if not path.exists():
        return []
    parser = Counting(Catalog(locale=language), ignore_obsolete=False)
    with open(path, "rb") as po:
        parser.parse(po)
    return [" / ".join(key[0]) for key, count in seen.items() if count > 1]


def message_key(message) -> tuple:
    """What identifies a message in a catalog: its msgid (both forms for a plural) and its context."""
    msgid = message.id if isinstance(message.id, tuple) else (message.id,)
    return msgid, message.context


def untranslated(template: Catalog, catalog: Catalog) -> list[str]:
    """Messages of the source that have no non-empty, non-fuzzy translation in ``catalog``, with a location."""
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        strings = translated.string if translated is not None else None
        forms = strings if isinstance(strings, tuple) else (strings,)
        if translated is None or translated.fuzzy or not all(form and form.strip() for form in forms):
            where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
            missing.append(f"{_show(message.id)}  ({where})")
    return missing


def stale(template: Catalog, catalog: Catalog) -> list[str]:
    """Entries of ``catalog`` whose message is no longer in the source, and obsolete (#~) entries."""
    wanted = {message_key(m) for m in template if m.id}
    entries = [_show(m.id) for m in catalog if m.id and message_key(m) not in wanted]
    return entries + [f"#~ {_show(m.id)}" for m in catalog.obsolete.values()]


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Translations whose %(name)s placeholders differ from the msgid's, or that would not format."""
    problems = []
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue  # a fuzzy entry is a guess, unused until reviewed (and listed as untranslated)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, string in enumerate(strings):
            if not string:
                continue
            source = ids[min(index, len(ids) - 1)]
            expected = set(PLACEHOLDER.findall(source))
            found = set(PLACEHOLDER.findall(string))
            if len(ids) > 1:
                # A plural form may drop the count that Flask-Babel always passes ("un ménage" for 1).
                found |= expected & {IMPLICIT_PLURAL_NAME}
                expected |= found & {IMPLICIT_PLURAL_NAME}
            if expected != found:
                problems.append(
                    f"{_show(message.id)}: placeholders {sorted(expected)} in English, {sorted(found)} in "
                    f"the translation {string!r}"
                )
                continue
            # Templates format every message ("%%" for a literal %), Python code those with placeholders: where
            # the English formats, the French must too — a bare "5 %" (French typography) would break the page.
            values = {name: 1 for name in expected | {IMPLICIT_PLURAL_NAME}}
            if _formats(source, values) and not _formats(string, values):
                problems.append(f"{_show(message.id)}: the translation {string!r} does not format (write %% for %)")
    return problems


def template_format_problems(template: Catalog) -> list[str]:
    """Template messages with a bare %: Jinja formats every message, so "20 % away" prints "20 {}way".

    In a template a message may hold only %(name)s placeholders and %% for a literal percent sign.
    """
    problems = []
    for message in template:
        if not message.id or not any(path.endswith(".html") for path, _ in message.locations):
            continue
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            if "%" in PLACEHOLDER.sub("", text).replace("%%", ""):
                where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
                problems.append(f"{text!r} ({where}): write %% for a percent sign")
    return problems


def _formats(text: str, values: dict) -> bool:
    """True when ``text % values`` works (the English of "20% less often" does not: it is no format string)."""
    try:
        text % values
    except (KeyError, ValueError, TypeError):
        return False
    return True


def _show(msgid) -> str:
    """A msgid for a message to a person (both forms of a plural)."""
    return " | ".join(msgid) if isinstance(msgid, tuple) else msgid


def write_template(template: Catalog) -> None:
    """Write the .pot file (for translators' tools; not committed)."""
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    with open(TEMPLATE, "wb") as pot:
        write_po(pot, template, width=110, include_lineno=False)


def update(language: str, template: Catalog) -> Catalog:
    """Merge the extracted messages into the language's .po: new ones empty, changed ones fuzzy, gone ones dropped.

    Line numbers are left out of the locations so that editing a file does not rewrite the whole catalog.
    """
    catalog = read_catalog(language)
    created = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
    # The header keeps its own date: a new date on every extraction would make every branch's catalog conflict.
    catalog.creation_date = created
    write_catalog(language, catalog)
    return catalog


def write_catalog(language: str, catalog: Catalog) -> None:
    """Write the language's .po file (obsolete entries dropped, no line numbers: see ``update``)."""
    catalog.fuzzy = False  # the header: a fuzzy header would make the whole catalog ignored by compile
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as po:
        write_po(po, catalog, width=110, ignore_obsolete=True, include_previous=True, include_lineno=False)


def compile_catalogs(root: Path = ROOT) -> list[Path]:
    """Write messages.mo beside every messages.po (fuzzy translations are left out, as gettext does)."""
    written = []
    for po_file in sorted((root / "mhi" / "translations").glob("*/LC_MESSAGES/messages.po")):
        with open(po_file, "rb") as po:
            catalog = read_po(po, locale=po_file.parent.parent.name)
        mo_file = po_file.with_suffix(".mo")
        with open(mo_file, "wb") as mo:
            write_mo(mo, catalog, use_fuzzy=False)
        written.append(mo_file)
    return written


def check(template: Catalog) -> int:
    """Print what is missing or wrong in each catalog; the number of problems."""
    count = 0
    for language in LANGUAGES:
        catalog = read_catalog(language)
        sections = {
            "without a translation": untranslated(template, catalog),
            "no longer in the source (run: python tools/i18n.py update)": stale(template, catalog),
            "written twice": duplicate_entries(language),
            "with wrong placeholders": placeholder_problems(catalog),
            "with a bare % in a template": template_format_problems(template),
        }
        for title, lines in sections.items():
            if lines:
                print(f"{language}: {len(lines)} message(s) {title}:")
                print("\n".join(f"  {line}" for line in lines))
                count += len(lines)
    return count


def main(argv: list[str] | None = None) -> int:
    """Command line: extract, update, compile or check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("extract", "update", "compile", "check"))
    args = parser.parse_args(argv)
    if args.action == "compile":
        for path in compile_catalogs():
            print(f"compiled {path.relative_to(ROOT)}")
        return 0
    template = extract_catalog()
    if args.action == "check":
        return 1 if check(template) else 0
    write_template(template)
    print(f"{len(template)} messages extracted to {TEMPLATE.relative_to(ROOT)}")
    if args.action == "update":
        for language in LANGUAGES:
            catalog = update(language, template)
            todo = untranslated(template, catalog)
            print(f"{language}: {len(template) - len(todo)} translated, {len(todo)} to translate")
        compile_catalogs()
        check(template)
    return 0


if __name__ == "__main__":
    sys.exit(main())
