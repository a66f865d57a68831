"""The report this request asks for (the page, its exports and the JSON API): the period's
roll-ups brought up to date and committed (so the next request does not redo it), then read."""

from __future__ import annotations

from flask import request

from broadcaster import rollups
from broadcaster.queries.reports import Report, ReportFilter, today_local
from broadcaster.queries.rollup_reports import report
from web.scope import scope
from web.services import db, now, services


def current_report() -> Report:
    tz = services().settings.timezone
    f = ReportFilter.from_args(request.args, today_local(tz, now()))
    sc = scope()
    session = db()
    if rollups.refresh(session, tz, (f.start, f.end)):
        session.commit()
    else:
        session.rollback()  # ends the transaction (and PostgreSQL's refresh lock)
    return report(session, f, tz, sc, fresh=False)
