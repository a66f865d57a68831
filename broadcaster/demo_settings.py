"""The demo's settings: the configuration's where given, the demo's own for what it runs itself,
and a database the demo owns, since it wipes its data at each start.

* From the configuration (``--config``, ``BROADCASTER_*``; the same ``Settings.load`` as every
  command): everything it sets, the TTS engine, topic root, time zone and database included.
  Where it leaves a setting at its default, the demo uses its own (``DEMO_DEFAULTS``).
* Kept by the demo whatever the configuration says: the broker (its private Mosquitto, plain
  on loopback: every ``mqtt_*`` setting), the signing key its agents trust, the media folder
  (both in the demo's folder) and the web port (``--port``).
* The database: SQLite by default, a file in the demo's folder wiped with it; a configured
  SQLite file is never opened (a file cannot hold a separate demo part). On PostgreSQL the demo
  uses its own schema (``broadcaster_demo`` unless told) in the configured database, through
  ``search_path``. It creates that schema with a comment marking it as the demo's, and at the
  next start drops and re-creates only a schema bearing that mark; it refuses a schema of that
  name without the mark, and never touches any other schema (``public`` included).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from broadcaster.config import Settings
from broadcaster.db import make_engine

logger = logging.getLogger(__name__)

DEMO_SCHEMA = "broadcaster_demo"
SCHEMA_MARK = "broadcaster demo data: dropped and re-created at each start of broadcaster demo"
# The demo's choice where the configuration leaves the setting at its default.
DEMO_DEFAULTS = {"plan_publish_interval_s": 2.0}
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}
# The connection to its private Mosquitto (plain, on loopback) is the demo's: every mqtt_* key.
_BROKER_KEYS = [name for name in _DEFAULTS if name.startswith("mqtt_")]
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class DemoDatabaseError(RuntimeError):
    """The configured database cannot hold the demo without touching data it does not own."""


def demo_settings(
    configured: Settings, workdir: Path, web_port: int, schema: str = DEMO_SCHEMA
) -> Settings:
    """The settings the demo runs with (its broker's port and passwords come once it has
    started)."""
    workdir = workdir.resolve()
    own_defaults = {
        k: v for k, v in DEMO_DEFAULTS.items() if getattr(configured, k) == _DEFAULTS[k]
    }
    return configured.replace(
        **own_defaults,
        **{key: _DEFAULTS[key] for key in _BROKER_KEYS},
        database_url=demo_database_url(configured.database_url, workdir, schema),
        media_dir=str(workdir / "media"),
        signing_key_file=str(workdir / "signing-key.pem"),
        web_port=web_port,
        public_url=f"http://127.0.0.1:{web_port}",
        secret_key=configured.secret_key or secrets.token_urlsafe(32),
    )


def demo_database_url(configured_url: str, workdir: Path, schema: str = DEMO_SCHEMA) -> str:
    """SQLite in ``workdir``, or the configured PostgreSQL database in the demo's schema."""
    url = make_url(configured_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        own = f"sqlite:///{workdir / 'broadcaster.sqlite3'}"
        if configured_url != _DEFAULTS["database_url"]:
            logger.warning("demo: keeping its own SQLite database %s, not %s", own, configured_url)
        return own
    if backend == "postgresql":
        return _with_search_path(url, _checked(schema)).render_as_string(hide_password=False)
    raise DemoDatabaseError(f"the demo runs on SQLite or PostgreSQL, not {backend}")


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def reset_demo_schema(url: str, schema: str = DEMO_SCHEMA) -> None:
    """Drop the demo's schema if a previous demo made it, then create it afresh, marked.

    Refuses (``DemoDatabaseError``) a schema of that name that the demo did not make.
    """
    schema = _checked(schema)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:  # PostgreSQL's DDL is transactional: all or nothing
            found = conn.execute(
                text(
                    "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = :s"
                ),
                {"s": schema},
            ).first()
            if found is not None and found[0] != SCHEMA_MARK:
                raise DemoDatabaseError(
                    f"schema {schema!r} exists and was not made by the demo: not dropping it"
                )
            if found is not None:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f"COMMENT ON SCHEMA \"{schema}\" IS '{SCHEMA_MARK}'"))
    finally:
        engine.dispose()
    logger.info("demo: PostgreSQL schema %s created afresh", schema)


def _with_search_path(url: URL, schema: str) -> URL:
    options = url.query.get("options", "")
    if not isinstance(options, str):  # given twice in the URL
        options = " ".join(options)
    return url.update_query_dict({"options": f"{options} -csearch_path={schema}".strip()})


def _checked(schema: str) -> str:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise DemoDatabaseError(f"{schema!r} is not a plain schema name (a-z, 0-9, _)")
    return schema
