"""Read-side queries for officers: playback logs, proof of broadcast, site health, reports.

Pure SQLAlchemy, no Flask: the web views, the JSON API, the exports and the benchmarks all call
these, on SQLite and on PostgreSQL alike.
"""
