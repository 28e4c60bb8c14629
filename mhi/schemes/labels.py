"""What a person reads instead of a scheme code (issue 16: labels, never codes): a provider's kind
(``services.PROVIDER_KINDS``: health_post, health_centre, …). A code the table does not know is shown as it is.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

PROVIDER_KIND_LABELS = {
    "health_post": _l("health post"),
    "health_centre": _l("health centre"),
    "hospital": _l("hospital"),
    "clinic": _l("clinic"),
    "pharmacy": _l("pharmacy"),
    "laboratory": _l("laboratory"),
    "other": _l("other"),
}


def provider_kind_label(kind: str | None) -> str:
    """A provider's kind in the reader's language."""
    label = PROVIDER_KIND_LABELS.get(kind or "")
    return str(label) if label is not None else (kind or "")


def init_app(app) -> None:
    """The label as a template filter: ``{{ provider.kind | provider_kind_label }}``."""
    app.add_template_filter(provider_kind_label, "provider_kind_label")
