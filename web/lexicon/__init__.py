"""The admins' lexicon: list and search entries, add, edit, delete, import a file, try a text.

Entries apply at the next render (``workflow.submit`` reads the lexicon from the database).
"""

from flask import Blueprint

bp = Blueprint(
    "lexicon",
    __name__,
    url_prefix="/lexicon",
    template_folder="templates",
    static_folder="static",
)

from web.lexicon import routes  # noqa: E402, F401  (registers the views)
