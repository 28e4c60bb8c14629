"""Checks on rendered pages shared by the view tests."""

from __future__ import annotations

import re

#: The only script a page may load: the application's own file (CSP "script-src 'self'", no inline code).
OWN_SCRIPT = re.compile(r'<script src="/static/js/mhi\.js" defer></script>')


def has_inline_script(page: str) -> bool:
    """True when the page holds a script other than the application's own file (inline code, or any other)."""
    return "<script" in OWN_SCRIPT.sub("", page)
