"""What the demo takes from the configuration, and the database it owns (SQLite in its folder,
or its own marked schema on PostgreSQL; skipped with a message when PostgreSQL is absent)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from broadcaster.config import Settings
from broadcaster.demo_settings import (
    DEMO_SCHEMA,
    DemoDatabaseError,
    demo_database_url,
    demo_settings,
    reset_demo_schema,
)

PG = "postgresql+psycopg://u:secret@db.example:5432/broadcaster"


def test_the_configuration_is_honoured_but_the_demo_keeps_its_own_parts(tmp_path: Path) -> None:
    configured = Settings.load(
        env={
            "BROADCASTER_DATABASE_URL": PG,
            "BROADCASTER_TTS_ENGINE": "espeak",
            "BROADCASTER_TOPIC_ROOT": "xa/v1",
            "BROADCASTER_MEDIA_DIR": "/srv/broadcaster/media",
            "BROADCASTER_MQTT_HOST": "broker.example",
            "BROADCASTER_MQTT_TLS": "true",
            "BROADCASTER_MQTT_PROTOCOL": "3.1.1",
            "BROADCASTER_SECRET_KEY": "from-the-config-" + "k" * 32,
        }
    )
    settings = demo_settings(configured, tmp_path / "demo", 8123)
    url = make_url(settings.database_url)
    assert (url.host, url.database, url.password) == ("db.example", "broadcaster", "secret")
    assert url.query["options"] == f"-csearch_path={DEMO_SCHEMA}"
    assert (settings.tts_engine, settings.topic_root) == ("espeak", "xa/v1")
    assert settings.secret_key == "from-the-config-" + "k" * 32
    # Its own: media and key in its folder, its web port; the broker's come when it starts.
    assert settings.media_dir == str((tmp_path / "demo/media").resolve())
    assert settings.signing_key_file == str((tmp_path / "demo/signing-key.pem").resolve())
    assert (settings.web_port, settings.public_url) == (8123, "http://127.0.0.1:8123")
    assert (settings.mqtt_host, settings.mqtt_tls, settings.mqtt_protocol) == (
        "127.0.0.1",
        False,
        "5",
    )
    # The demo's quicker publish interval, unless the configuration chose one.
    assert settings.plan_publish_interval_s == 2.0
    chosen = configured.replace(plan_publish_interval_s=5.0)
    assert demo_settings(chosen, tmp_path, 8123).plan_publish_interval_s == 5.0


def test_a_configured_sqlite_database_is_never_opened(tmp_path: Path, caplog) -> None:
    configured = Settings.load(env={"BROADCASTER_DATABASE_URL": "sqlite:////srv/prod.sqlite3"})
    with caplog.at_level(logging.WARNING):
        settings = demo_settings(configured, tmp_path / "demo", 8080)
    assert settings.database_url == f"sqlite:///{(tmp_path / 'demo').resolve()}/broadcaster.sqlite3"
    assert "not sqlite:////srv/prod.sqlite3" in caplog.text
    unset = demo_settings(Settings.load(env={}), tmp_path / "demo", 8080)
    assert unset.database_url == settings.database_url


def test_the_search_path_joins_options_already_in_the_url(tmp_path: Path) -> None:
    url = demo_database_url(f"{PG}?options=-cstatement_timeout%3D5000", tmp_path, "demo_x")
    assert make_url(url).query["options"] == "-cstatement_timeout=5000 -csearch_path=demo_x"


@pytest.mark.parametrize(
    ("url", "schema", "message"),
    [
        ("mysql://u@h/db", DEMO_SCHEMA, "SQLite or PostgreSQL, not mysql"),
        (PG, "public; DROP TABLE x", "not a plain schema name"),
        (PG, "Demo", "not a plain schema name"),
    ],
)
def test_databases_the_demo_cannot_own_are_refused(url, schema, message, tmp_path) -> None:
    with pytest.raises(DemoDatabaseError, match=message):
        demo_database_url(url, tmp_path, schema)


def test_the_demo_command_passes_the_configuration_on(monkeypatch, tmp_path: Path) -> None:
    import broadcaster.demo
    from broadcaster.cli import main

    seen: dict[str, object] = {}

    def fake_run_demo(**kwargs: object) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(broadcaster.demo, "run_demo", fake_run_demo)
    for name in [n for n in os.environ if n.startswith("BROADCASTER_")]:
        monkeypatch.delenv(name)  # only what the test gives
    config = tmp_path / "server.toml"
    config.write_text('tts_engine = "espeak"\n', encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "demo", "--check", "--dir", str(tmp_path / "d")],
        env={"BROADCASTER_DATABASE_URL": PG},
    )
    assert result.exit_code == 0, result.output
    settings = seen["config"]
    assert isinstance(settings, Settings)
    assert (settings.database_url, settings.tts_engine) == (PG, "espeak")
    assert seen["check"] is True


def _tables(url: str, schema: str) -> list[str]:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
        )
        return [r[0] for r in rows]


@pytest.mark.postgres
def test_the_demo_drops_only_a_schema_it_made(postgres_schema, tmp_path: Path) -> None:
    server, schema = postgres_schema
    url = demo_database_url(server, tmp_path, schema)
    reset_demo_schema(url, schema)
    with psycopg.connect(server.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".leftover (id int)')
    reset_demo_schema(url, schema)  # its own schema, from an earlier run: wiped
    assert _tables(server, schema) == []

    with psycopg.connect(server.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'COMMENT ON SCHEMA "{schema}" IS NULL')  # now it is someone else's
        conn.execute(f'CREATE TABLE "{schema}".precious (id int)')
    with pytest.raises(DemoDatabaseError, match="was not made by the demo"):
        reset_demo_schema(url, schema)
    assert _tables(server, schema) == ["precious"]
