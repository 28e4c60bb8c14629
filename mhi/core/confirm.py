"""Irreversible actions ask first (issue 12): closing a pool settlement, marking a payment batch paid, reversing a
receipt, activating a product version.

The action's button posts as before; without ``confirmed=yes`` the view answers with a page that says what will be
done and what cannot be undone, and posts the same fields again, with ``confirmed=yes`` and a fresh CSRF token, to
the same address. No JavaScript: two plain forms. "Go back" leaves without doing anything.
"""

from __future__ import annotations

from flask import render_template, request

CONFIRMED = "confirmed"


def confirmed() -> bool:
    """True when the request comes from the confirmation page."""
    return request.form.get(CONFIRMED) == "yes"


def confirmation_page(
    *, title: str, what: str, irreversible: str, button: str, back_url: str, hidden: dict[str, str] | None = None
):
    """The page asking to confirm an action that cannot be undone (``templates/confirm.html``)."""
    return render_template(
        "confirm.html",
        title=title,
        what=what,
        irreversible=irreversible,
        button=button,
        back_url=back_url,
        action=request.path,
        hidden=hidden or {},
    )
