from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.agent.config import AgentConfig, ConfigError
from broadcaster.wire.signing import Signer


def _config(tmp_path: Path, **changes: object) -> AgentConfig:
    base: dict[str, object] = dict(
        site="cum-loa-t1",
        zones=["thon-1", "thon-2"],
        trusted_keys=[Signer.generate().public_b64],
        state_dir=str(tmp_path / "state"),
        mqtt_password='p"w\\d',
        player="file",
        output_dir=str(tmp_path / "out"),
    )
    base.update(changes)
    return AgentConfig(**base)  # type: ignore[arg-type]


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    config = _config(tmp_path, late_grace_s=5, mqtt_username="agent-cum-loa-t1")
    path = tmp_path / "agent.toml"
    config.dump(path)
    loaded = AgentConfig.load(path)
    assert loaded == config
    assert loaded.zones == ("thon-1", "thon-2")
    assert loaded.late_grace_s == 5.0
    assert path.stat().st_mode & 0o077 == 0


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    _config(tmp_path).dump(path)
    path.write_text(path.read_text() + "mqtt_hots = 'x'\n")
    with pytest.raises(ConfigError, match=r"agent.toml:\d+: unknown key 'mqtt_hots'"):
        AgentConfig.load(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"site": "Bad Site"}, "site"),
        ({"player": "vlc"}, "player"),
        ({"output_dir": ""}, "output_dir"),
        ({"trusted_keys": ["not-a-key"]}, "trusted key"),
        ({"trusted_keys": []}, "trusted_keys"),
        ({"mqtt_port": "1883"}, "mqtt_port"),
    ],
)
def test_bad_values_are_rejected(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, **changes)


def test_missing_key_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('site = "x"\n')
    with pytest.raises(ConfigError, match="missing key"):
        AgentConfig.load(path)


def test_mqtt_protocol_and_tls_keys(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        mqtt_protocol="3.1.1",
        mqtt_tls=True,
        mqtt_ca_file="/etc/broadcaster-agent/ca.crt",
        mqtt_cert_file="/etc/broadcaster-agent/client.crt",
        mqtt_key_file="/etc/broadcaster-agent/client.key",
        keepalive_s=15,
    )
    path = tmp_path / "agent.toml"
    config.dump(path)
    options = AgentConfig.load(path).mqtt_options()
    assert (options.protocol, options.tls, options.keepalive_s) == ("3.1.1", True, 15)
    assert options.cert_file.endswith("client.crt") and options.key_file.endswith("client.key")
    assert _config(tmp_path).mqtt_options().protocol == "5"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mqtt_protocol": "3"}, "mqtt_protocol"),
        ({"mqtt_protocol": 5}, "mqtt_protocol must be of type str"),
        ({"mqtt_ca_file": "/ca.crt"}, "mqtt_ca_file is set but mqtt_tls is false"),
        ({"mqtt_tls": True, "mqtt_key_file": "/k"}, "mqtt_key_file is set but mqtt_cert_file"),
        ({"mqtt_tls": "yes"}, "mqtt_tls must be true or false"),
    ],
)
def test_bad_mqtt_keys_are_named(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, **changes)
