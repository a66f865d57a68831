"""Campaigns: list, create and edit them, and see planned vs achieved airings per zone."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns", template_folder="templates")

from web.campaigns import routes  # noqa: E402, F401  (registers the views)
