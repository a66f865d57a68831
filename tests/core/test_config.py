"""Server settings: file, environment, and clear errors for unknown keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from broadcaster.config import ConfigError, Settings


def test_defaults_are_valid() -> None:
    s = Settings.load(env={})
    assert s.timezone == "Asia/Ho_Chi_Minh"
    assert s.tts_engine == "auto"


def test_file_then_environment(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('mqtt_port = 1999\ntopic_root = "xa/v1"\n')
    s = Settings.load(f, env={"BROADCASTER_MQTT_PORT": "2000"})
    assert (s.mqtt_port, s.topic_root) == (2000, "xa/v1")


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('mqtt_port = 1999\nmqtt_hots = "x"\n')
    with pytest.raises(ConfigError, match=r"c.toml:2: unknown setting 'mqtt_hots'"):
        Settings.load(f, env={})


def test_unknown_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="BROADCASTER_MQTT_PORTT"):
        Settings.load(env={"BROADCASTER_MQTT_PORTT": "1"})


def test_the_test_suites_own_variables_are_not_settings() -> None:
    # The README tells developers to export BROADCASTER_TEST_POSTGRES_URL; every command must
    # still run with it set.
    env = {"BROADCASTER_TEST_POSTGRES_URL": "postgresql+psycopg://x@127.0.0.1/test"}
    assert Settings.load(env=env) == Settings.load(env={})


def test_wrong_type_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="mqtt_port must be int"):
        Settings.load(env={"BROADCASTER_MQTT_PORT": "abc"})
    with pytest.raises(ConfigError, match="tts_engine"):
        Settings.load(env={}, tts_engine="festival")


def test_relative_paths_are_anchored_at_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings.load(env={}, media_dir="data/media")
    assert s.media_dir == str(tmp_path / "data/media")
    assert Path(s.signing_key_file).is_absolute()


def test_mqtt_protocol_and_tls_from_file_and_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "c.toml"
    f.write_text(
        'mqtt_protocol = "3.1.1"\nmqtt_tls = true\nmqtt_ca_file = "tls/ca.crt"\n'
        'mqtt_cert_file = "/etc/b/client.crt"\nmqtt_key_file = "/etc/b/client.key"\n'
    )
    s = Settings.load(f, env={"BROADCASTER_INGEST_WORKER": "east-2"})
    options = s.mqtt_options()
    assert (options.protocol, options.tls) == ("3.1.1", True)
    assert options.ca_file == str(tmp_path / "tls/ca.crt")  # anchored like the other paths
    assert (options.cert_file, options.key_file) == ("/etc/b/client.crt", "/etc/b/client.key")
    assert s.ingest_worker == "east-2"
    assert Settings.load(env={"BROADCASTER_MQTT_TLS": "yes"}).mqtt_tls is True
    assert Settings.load(env={"BROADCASTER_MQTT_TLS": "0"}).mqtt_tls is False
    assert Settings.load(env={}).mqtt_options().protocol == "5"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BROADCASTER_MQTT_PROTOCOL": "3"}, 'mqtt_protocol must be "5" or "3.1.1"'),
        ({"BROADCASTER_MQTT_TLS": "maybe"}, "mqtt_tls must be bool"),
        ({"BROADCASTER_MQTT_CA_FILE": "/ca.crt"}, "mqtt_ca_file is set but mqtt_tls is false"),
        (
            {"BROADCASTER_MQTT_TLS": "1", "BROADCASTER_MQTT_KEY_FILE": "/k"},
            "mqtt_key_file is set but mqtt_cert_file is empty",
        ),
        ({"BROADCASTER_INGEST_WORKER": "a b"}, "ingest_worker"),
    ],
)
def test_bad_mqtt_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(env=env)


REPO = Path(__file__).resolve().parents[2]


def test_the_example_configs_load_and_every_documented_key_exists() -> None:
    """Every setting the README, docs/ and deploy/ name (`mqtt_…`, commented or not in the
    examples) is one the server or the agent reads."""
    import re

    from broadcaster.agent.config import AgentConfig

    Settings.load(REPO / "deploy/server.example.toml", env={})
    AgentConfig.load(REPO / "deploy/pi/agent.example.toml")
    known = {f.name for f in dataclasses.fields(Settings)}
    agent_known = {f.name for f in dataclasses.fields(AgentConfig)}
    texts = {
        p: p.read_text(encoding="utf-8") for p in (REPO / "README.md", *REPO.glob("docs/*.md"))
    }
    texts |= {p: p.read_text(encoding="utf-8") for p in REPO.glob("deploy/**/*.md")}
    named = {(p, k) for p, t in texts.items() for k in re.findall(r"`(mqtt_\w+|ingest_worker)`", t)}
    examples = {"deploy/server.example.toml": known, "deploy/pi/agent.example.toml": agent_known}
    for example, keys in examples.items():
        text = (REPO / example).read_text(encoding="utf-8")
        for key in re.findall(r"^#?\s*(\w+)\s*=", text, re.MULTILINE):
            assert key in keys, f"{example} names {key}, which is not a setting there"
    assert named, "the docs name no MQTT setting"
    for path, key in named:
        assert key in known | agent_known, f"{path.name} documents {key}, which nothing reads"
    assert {"mqtt_protocol", "mqtt_tls", "mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file"} <= (
        known & agent_known
    )
