"""`broadcaster live icecast-config` writes a configuration Icecast can use and prints settings
the server accepts as they are (deploy/PROVINCE.md, "Going live")."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from broadcaster.cli import main
from broadcaster.config import Settings


def test_the_config_and_the_settings_it_prints(tmp_path: Path) -> None:
    out, listeners = tmp_path / "icecast.xml", tmp_path / "listeners"
    result = CliRunner().invoke(
        main,
        ["live", "icecast-config", "--out", str(out), "--port", "8123", "--bind", "10.0.0.5",
         "--listeners-file", str(listeners), "--log-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    root = ET.parse(out).getroot()
    assert root.findtext("listen-socket/port") == "8123"
    assert root.findtext("listen-socket/bind-address") == "10.0.0.5"
    assert root.findtext("limits/burst-size") == "0"
    source = root.findtext("authentication/source-password")
    auth = root.find("mount/authentication")
    assert auth is not None and auth.get("type") == "htpasswd"
    assert listeners.exists() and listeners.read_text() == ""
    lines = [line for line in result.stdout.splitlines() if line.startswith("live_")]
    values = tomllib.loads("\n".join(lines))
    assert values["live_icecast_source_url"] == f"icecast://source:{source}@10.0.0.5:8123"
    assert values["live_icecast_public_url"] == "http://10.0.0.5:8123"
    settings = Settings.load(env={}, **values)  # the server takes them as printed
    assert settings.live_listeners_file == str(listeners)
