"""Campaign and period reports: figures, charts, XLSX and PDF exports."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")

from web.reports import routes  # noqa: E402, F401  (registers the views)
