"""Issue 10: placeholder or short secrets are refused at start and by `--check-config`.

The attack: the example config's ``secret_key = "change-me-…"`` and ``mqtt_password =
"change-me"`` passed `--check-config`, and with that key we forged an admin session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from broadcaster.cli import main
from broadcaster.config import ConfigError, Settings
from broadcaster.demo_settings import demo_settings
from broadcaster.exit_status import ExitStatus

REPO = Path(__file__).resolve().parents[2]
GOOD_KEY = "Jq3v9c-2Kp8hXnW4tLr7yB1mZs5dFg0aUe6oTi"
BAD = {
    'secret_key = "change-me-to-a-long-random-string"': "secret_key looks like a placeholder",
    'secret_key = "short-but-random-x7Q"': "secret_key is 20 characters long; at least 32",
    'mqtt_password = "change-me"': "mqtt_password looks like a placeholder",
    'mqtt_password = "k3Y9zP"': "mqtt_password is 6 characters long; at least 16",
    'secret_key = "replace-me-with-something-long-and-random"': "secret_key looks like a placeholder",
}


def _config(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "server.toml"
    text = f'database_url = "sqlite:///{tmp_path}/db.sqlite3"\nsecret_key = "{GOOD_KEY}"\n'
    key = line.split("=")[0].strip()
    text = re.sub(rf"^{key} = .*$", line, text, flags=re.M) if key in text else text + line + "\n"
    path.write_text(text)
    return path


@pytest.mark.parametrize("line", BAD)
def test_check_config_refuses_placeholder_and_short_secrets(tmp_path: Path, line: str) -> None:
    result = CliRunner().invoke(main, ["--config", str(_config(tmp_path, line)), "--check-config"])
    assert result.exit_code == ExitStatus.CONFIG, result.output
    assert BAD[line] in result.output and "secrets.token_urlsafe" in result.output
    assert "change-me-to" not in result.output  # never echoed back


@pytest.mark.parametrize("command", ["web", "scheduler", "ingest", "serve"])
def test_every_server_process_refuses_them(tmp_path: Path, command: str) -> None:
    path = _config(tmp_path, 'mqtt_password = "change-me"')
    result = CliRunner().invoke(main, ["--config", str(path), command])
    assert result.exit_code == ExitStatus.CONFIG, result.output
    assert "mqtt_password looks like a placeholder" in result.output


@pytest.mark.parametrize("command", ["web", "serve"])
def test_the_web_ui_needs_a_secret_key(tmp_path: Path, command: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path}/db.sqlite3"\n')
    result = CliRunner().invoke(main, ["--config", str(path), command])
    assert result.exit_code == ExitStatus.CONFIG, result.output
    assert "secret_key is not set" in result.output
    result = CliRunner().invoke(main, ["--config", str(path), "--check-config"])
    assert result.exit_code == ExitStatus.CONFIG and "secret_key is not set" in result.output


def test_a_real_process_exits_with_the_config_status_and_a_clear_message(tmp_path: Path) -> None:
    path = _config(tmp_path, 'secret_key = "change-me-to-a-long-random-string"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "broadcaster.cli", "--config", str(path), "serve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == ExitStatus.CONFIG, done.stderr
    assert "configuration error: secret_key looks like a placeholder" in done.stderr


def test_the_example_config_says_how_to_generate_them_and_its_lines_are_refused() -> None:
    example = (REPO / "deploy/server.example.toml").read_text(encoding="utf-8")
    assert "secrets.token_urlsafe" in example
    for key in ("secret_key", "mqtt_password"):
        commented = re.search(rf'^# {key} = "(.*?)"', example, re.M)
        assert commented, f"the example shows {key}"
        with pytest.raises(ConfigError, match=key):
            Settings.load(env={}, **{key: commented.group(1)})


def test_app_creation_refuses_them_too(settings: Settings) -> None:
    from web import create_app

    with pytest.raises(ConfigError, match="secret_key looks like a placeholder"):
        create_app(settings.replace(secret_key="change-me-to-a-long-random-string"))


def test_the_demo_makes_its_own_strong_key(tmp_path: Path) -> None:
    settings = demo_settings(Settings.load(env={}), tmp_path / "demo", 8123)
    assert len(settings.secret_key) >= 32
    settings.validate_secrets()
    again = demo_settings(Settings.load(env={}), tmp_path / "demo", 8123)
    assert again.secret_key != settings.secret_key
