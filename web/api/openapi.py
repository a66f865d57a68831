"""The OpenAPI 3.0 document of the officers' API, built in code next to the endpoints.

The JSON document is in English, as API documents are; the docs page (``api/docs.html``)
shows its titles and descriptions through the catalogue (web/api/translations), so each text
here has its Vietnamese there (tests/scope/test_vietnamese_pages.py finds one that has not)."""

from __future__ import annotations

from typing import Any

from broadcaster.models import PLAYBACK_STATES
from broadcaster.wire.plan import PRIORITIES


def _q(name: str, desc: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": desc, "schema": schema}


DATE = {"type": "string", "format": "date"}
STR = {"type": "string"}
INT = {"type": "integer"}
TIME = {"type": "string", "format": "date-time", "nullable": True}

LOG_PARAMS = [
    _q("start", "First local day (Asia/Ho_Chi_Minh), inclusive", DATE),
    _q("end", "Last local day, inclusive", DATE),
    _q("commune", "Commune name", STR),
    _q("zone", "Zone id", STR),
    _q("site", "Site id", STR),
    _q("announcement", "Announcement id", INT),
    _q("campaign", "Campaign id", INT),
    _q("category", "Announcement or campaign category", STR),
    _q("priority", "Priority", {"type": "string", "enum": list(PRIORITIES)}),
    _q("status", "Playback status", {"type": "string", "enum": list(PLAYBACK_STATES)}),
    _q("q", "Search in the announcement's title and the site's name or id", STR),
    _q(
        "sort",
        "Sort key",
        {"type": "string", "enum": ["scheduled", "site", "status", "announcement"]},
    ),
    _q("dir", "Sort direction", {"type": "string", "enum": ["asc", "desc"]}),
    _q(
        "page",
        "Page number from 1 (offset paging; prefer after/before)",
        {"type": "integer", "minimum": 1},
    ),
    _q("per_page", "Rows per page", {"type": "integer", "enum": [25, 50, 100, 200]}),
    _q("after", "Keyset paging: the rows after this playback id (a page's next_after)", INT),
    _q("before", "Keyset paging: the rows before this playback id (a page's prev_before)", INT),
]
REPORT_PARAMS = [
    _q("start", "First local day; default 29 days before end", DATE),
    _q("end", "Last local day; default today", DATE),
    _q("campaign", "Campaign id", INT),
    _q("category", "Category", STR),
    _q("commune", "Commune name", STR),
    _q("unit", "Unit code: the report over its subtree (default: the top of your units)", STR),
    _q("zone", "Zone id: the report over its sites", STR),
]

LINE = {
    "type": "object",
    "properties": {
        "key": STR,
        "label": STR,
        "planned": INT,
        "broadcasts": INT,
        "partial": INT,
        "minutes": {"type": "number"},
        "achieved_pct": {"type": "number"},
    },
}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": STR, "message": STR}},
    "LogPage": {
        "type": "object",
        "properties": {
            "filter": {"type": "object"},
            "page": INT,
            "per_page": INT,
            "has_next": {"type": "boolean"},
            "has_prev": {"type": "boolean"},
            "next_after": {"type": "integer", "nullable": True},
            "prev_before": {"type": "integer", "nullable": True},
            "total": INT,
            "total_capped": {"type": "boolean"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": INT,
                        "site_id": STR,
                        "site_name": STR,
                        "item_id": STR,
                        "announcement_id": {"type": "integer", "nullable": True},
                        "title": STR,
                        "category": STR,
                        "priority": STR,
                        "campaign": STR,
                        "scheduled_at": TIME,
                        "started_at": TIME,
                        "finished_at": TIME,
                        "status": {"type": "string", "enum": list(PLAYBACK_STATES)},
                        "detail": STR,
                        "verified": {
                            "type": "boolean",
                            "description": "false: the airing was neither in the site's plan "
                            "nor in a command sent to it; never counted",
                        },
                    },
                },
            },
        },
    },
    "Proof": {
        "type": "object",
        "properties": {
            "announcement_id": INT,
            "title": STR,
            "targeted_sites": INT,
            "coverage_pct": {"type": "number", "description": "sites that played fully / targeted"},
            "reach_pct": {"type": "number", "description": "sites that played at least partly"},
            "sites": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "site_id": STR,
                        "site_name": STR,
                        "outcome": {
                            "type": "string",
                            "enum": ["full", "partial", "playing", "pending", "none"],
                        },
                        "reason": {
                            "type": "string",
                            "nullable": True,
                            "enum": [
                                "offline",
                                "failed",
                                "expired",
                                "rejected",
                                "skipped",
                                "no-report",
                                None,
                            ],  # fmt: skip
                        },
                        "airings": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
            "unverified": {
                "type": "array",
                "description": "what sites reported about airings never sent to them; not counted",
                "items": {"type": "object"},
            },
        },
    },
    "Health": {
        "type": "object",
        "properties": {
            "generated_at": TIME,
            "sites": {"type": "array", "items": {"type": "object"}},
            "alerts": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Report": {
        "type": "object",
        "properties": {
            "period": {"type": "object", "properties": {"start": DATE, "end": DATE}},
            "total": {"$ref": "#/components/schemas/Line"},
            "by": {
                "type": "object",
                "properties": {
                    k: {"type": "array", "items": {"$ref": "#/components/schemas/Line"}}
                    for k in ("unit", "commune", "zone", "site", "category", "campaign")
                },
            },
            "unit": {"type": "object", "nullable": True},
            "skipped": {"type": "array", "items": STR},
            "campaigns": {"type": "array", "items": {"type": "object"}},
            "coverage": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Line": LINE,
}


def _op(summary: str, schema: str, params: list[dict[str, Any]], op_id: str) -> dict[str, Any]:
    ok = {"description": "OK", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}  # fmt: skip
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "get": {
            "summary": summary,
            "operationId": op_id,
            "parameters": params,
            "responses": {
                "200": ok,
                "401": {"description": "Not logged in and no valid bearer token", **err},
            },
        }
    }


def document(server: str = "") -> dict[str, Any]:
    """The OpenAPI 3.0.3 document; ``server`` is the base URL the app is reached at."""
    proof = _op(
        "Proof of broadcast for one announcement",
        "Proof",
        [{"name": "ann_id", "in": "path", "required": True, "schema": INT}],
        "getProof",
    )
    proof["get"]["responses"]["404"] = {
        "description": "No such announcement",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "broadcaster officers' API",
            "version": "1",
            "description": "Playback logs, proof of broadcast, site health and broadcast "
            "reports of commune loudspeaker systems. Times are UTC (ISO 8601); date filters "
            "are local days in Asia/Ho_Chi_Minh.",
        },
        "servers": [{"url": server or "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/v1/logs": _op(
                "Filtered playback log, paginated", "LogPage", LOG_PARAMS, "getLogs"
            ),
            "/api/v1/announcements/{ann_id}/proof": proof,
            "/api/v1/health": _op("Every site's health and its alerts", "Health", [], "getHealth"),
            "/api/v1/reports": _op(
                "Broadcasts and minutes per unit below, commune, zone, site, category, campaign; "
                "frequency per commune; coverage (read from the daily roll-ups)",
                "Report",
                REPORT_PARAMS,
                "getReport",
            ),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": SCHEMAS,
        },
    }
