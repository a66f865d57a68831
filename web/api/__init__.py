"""The officers' JSON API (logs, proof of broadcast, site health, reports) and its OpenAPI 3
document, for district and provincial systems to pull the figures."""
