"""A site's agent bundle, downloaded from the web, started for real: unpack the zip, run
Mosquitto on the broker files the web wrote, and give the bundled agent a local state folder,
a file player and the broker's port (issue 13's places and slots tests)."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import free_port
from broadcaster.provision.broker_files import mosquitto_conf
from tests.support.process import mosquitto


def unpack(data: bytes, out: Path, site: str) -> AgentConfig:
    """The bundle ``data`` (a zip) extracted under ``out``; its agent's configuration."""
    zipfile.ZipFile(io.BytesIO(data)).extractall(out)
    return AgentConfig.load(out / site / "agent.toml")


@dataclass(frozen=True)
class ProvisionedBroker:
    conf: Path
    server_port: int  # the server's user only (server-passwd)
    agents_port: int  # the agents' plain listener (passwd, acl)

    def log(self) -> str:
        return self.conf.with_suffix(".log").read_text()

    def agent_config(self, bundled: AgentConfig, workdir: Path) -> AgentConfig:
        """``bundled`` on this broker, playing to files under ``workdir``."""
        return bundled.replace(
            mqtt_host="127.0.0.1",
            mqtt_port=self.agents_port,
            state_dir=str(workdir / "state"),
            player="file",
            output_dir=str(workdir / "out"),
        )


@contextmanager
def provisioned_mosquitto(broker_dir: Path) -> Iterator[ProvisionedBroker]:
    """Mosquitto on the files in ``broker_dir`` (as the web's bundle route wrote them), with a
    plain listener for agents, for a ``with`` block."""
    server_port, agents_port = free_port(), free_port()
    conf = broker_dir / "mosquitto.conf"
    text = mosquitto_conf(
        broker_dir, plain_port=server_port, tls_port=None, agent_port=agents_port,
        persistence_dir=f"{broker_dir}/",
    )  # fmt: skip
    conf.write_text(text + "log_dest stderr\n" + ("user root\n" if os.geteuid() == 0 else ""))
    with mosquitto(conf).start() as server:
        server.wait_port(agents_port, 10)
        yield ProvisionedBroker(conf, server_port, agents_port)
