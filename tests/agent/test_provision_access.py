"""deploy/mosquitto/README.md's steps with a stock Debian Mosquitto: ``BROADCASTER_BROKER_DIR``
is a setting the `sites` commands use, and Mosquitto, which reads the provisioned files after
dropping root for the ``mosquitto`` user, can read them (issue 10: they were root:root 0600, and
Mosquitto would not start)."""

from __future__ import annotations

import grp
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import SERVER_USER, free_port
from broadcaster.cli import main
from broadcaster.config import Settings
from broadcaster.provision.broker_files import mosquitto_conf
from broadcaster.wire.signing import Signer
from tests.support.process import mosquitto

from .test_provision import Client


def _mosquitto_gid() -> int | None:
    try:
        return grp.getgrnam("mosquitto").gr_gid
    except KeyError:
        return None


@pytest.fixture
def etc() -> Iterator[Path]:
    """A stand-in for /etc/mosquitto that the mosquitto user can walk into."""
    if os.geteuid() != 0 or _mosquitto_gid() is None:
        pytest.skip("needs root and Debian's mosquitto user (the broker drops root for it)")
    root = Path(tempfile.mkdtemp(prefix="broadcaster-etc-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root)


def _cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_readme_steps_give_mosquitto_files_it_can_read(etc: Path, tmp_path: Path) -> None:
    broker_dir = etc / "broadcaster"
    key = tmp_path / "signing-key.pem"
    Signer.generate().save(key)
    server_password = "a-long-server-password"
    env = {
        "BROADCASTER_BROKER_DIR": str(broker_dir),  # as the README says
        "BROADCASTER_SIGNING_KEY_FILE": str(key),
        "BROADCASTER_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "BROADCASTER_MQTT_USERNAME": SERVER_USER,
        "BROADCASTER_MQTT_PASSWORD": server_password,
    }
    assert Settings.load(env=env).broker_dir == str(broker_dir)  # a known setting now
    _cli(env, "sites", "tls-init", "--host", "localhost")
    out = _cli(
        env, "sites", "provision", "cum-loa-a", "--zone", "thon-1", "--out", str(tmp_path / "a")
    )
    assert f"broker files updated in {broker_dir}" in out

    gid = _mosquitto_gid()
    assert stat.S_IMODE(broker_dir.stat().st_mode) == 0o750 and broker_dir.stat().st_gid == gid
    for name in ("passwd", "acl", "server-passwd", "server-acl", "server.key", "agents.json"):
        info = (broker_dir / name).stat()
        assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o640, gid), name
    assert stat.S_IMODE((broker_dir / "ca.key").stat().st_mode) == 0o600  # never read by it

    # Debian's /etc/mosquitto/mosquitto.conf, with our folder, and conf.d/broadcaster.conf.
    plain, tls = free_port(), free_port()
    (etc / "conf.d").mkdir()
    state = etc / "lib"
    state.mkdir()
    shutil.chown(state, "mosquitto", "mosquitto")
    main_conf = etc / "mosquitto.conf"
    main_conf.write_text(
        f"persistence true\npersistence_location {state}/\nlog_dest stderr\n"
        f"include_dir {etc / 'conf.d'}\n"
    )
    (etc / "conf.d/broadcaster.conf").write_text(
        mosquitto_conf(broker_dir, plain_port=plain, tls_port=tls)
    )
    with mosquitto(main_conf).start() as server:
        server.wait_port(plain, 10)
        agent = AgentConfig.load(tmp_path / "a" / "agent.toml")
        clients = [
            Client(tls, agent.mqtt_username, agent.mqtt_password, ca=broker_dir / "ca.crt"),
            Client(plain, SERVER_USER, server_password),
        ]
        for client in clients:
            rc = client.connect()
            client.close()
            assert rc is not None and not rc.is_failure, server.log()

    # The files as they were before (root:root 0600): Mosquitto cannot even start.
    (broker_dir / "passwd").chmod(0o600)
    os.chown(broker_dir / "passwd", 0, 0)
    with mosquitto(main_conf).start() as server:
        assert server.wait(10) != 0
        assert "Unable to open pwfile" in server.log()
