"""Campaign categories in the user's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CATEGORY = {
    "giam-ngheo": _l("Sustainable poverty reduction"),
    "y-te": _l("Health"),
    "thien-tai": _l("Natural disasters"),
    "hanh-chinh": _l("Administration"),
    "sinh-ke": _l("Livelihoods"),
    "khac": _l("Other"),
}


UNCATEGORIZED = _l("Uncategorized")


def category_label(code: str) -> str:
    """A category's words ("Uncategorized" for none); an unknown code is shown as it is."""
    return str(CATEGORY.get(code, code)) if code else str(UNCATEGORIZED)
