"""What a person reads instead of a register code (issue 16: labels, never codes): a person's relationship to the
head of the household (``head``, ``spouse``, …), sex and reason for leaving. A code the table does not know is
shown as it is rather than hidden.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

RELATION_LABELS = {
    "head": _l("Head of household"),
    "spouse": _l("Spouse"),
    "child": _l("Child"),
    "parent": _l("Parent"),
    "other": _l("Other"),
}
SEX_LABELS = {"F": _l("Female"), "M": _l("Male")}
EXIT_REASON_LABELS = {"death": _l("Death"), "resignation": _l("Resignation"), "other": _l("Other")}


def relation_label(code: str | None) -> str:
    """A relationship code (head, spouse, child, parent, other) in the reader's language."""
    label = RELATION_LABELS.get(code or "")
    return str(label) if label is not None else (code or "")


def sex_label(code: str | None) -> str:
    """F or M in the reader's language."""
    label = SEX_LABELS.get(code or "")
    return str(label) if label is not None else (code or "")


def exit_reason_label(code: str | None) -> str:
    """Why a person left (death, resignation, other) in the reader's language."""
    label = EXIT_REASON_LABELS.get(code or "")
    return str(label) if label is not None else (code or "")


def init_app(app) -> None:
    """The labels as template filters: ``{{ person.relation | relation_label }}``."""
    app.add_template_filter(relation_label, "relation_label")
    app.add_template_filter(sex_label, "sex_label")
    app.add_template_filter(exit_reason_label, "exit_reason_label")
