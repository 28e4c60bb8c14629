"""Checks on rendered pages shared by the view tests."""

from __future__ import annotations

import html
import re

#: The only script a page may load: the application's own file (CSP "script-src 'self'", no inline code).
OWN_SCRIPT = re.compile(r'<script src="/static/js/mhi\.js" defer></script>')


def has_inline_script(page: str) -> bool:
    """True when the page holds a script other than the application's own file (inline code, or any other)."""
    return "<script" in OWN_SCRIPT.sub("", page)


_CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


def without_tokens(page: str) -> str:
    """The page without its CSRF tokens: they are random text and may hold a short code ("C3") by chance."""
    return _CSRF_VALUE.sub('name="csrf_token"', page)


def page_text(body: str) -> str:
    """What a reader sees: no scripts, styles or tags, entities decoded, white space collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S | re.I)
    body = re.sub(r"<[^>]+>", " ", body)
    return " ".join(html.unescape(body).split())
