"""deploy/systemd: every unit passes `systemd-analyze verify` (a parse check where systemd is
absent) with the install paths pointed at this checkout, and every command and setting it
names exists: each `broadcaster …` command answers --help, gunicorn's config file and app
are there, and the BROADCASTER_* variables are valid settings."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from broadcaster.config import Settings
from tests.ops.conftest import ROOT, clean_env, write_config

UNITS = sorted((ROOT / "deploy/systemd").glob("*.service")) + sorted(
    (ROOT / "deploy/systemd").glob("*.timer")
)
SERVICES = [u for u in UNITS if u.suffix == ".service"]
VENV_BIN = Path(sys.executable).parent


def localized(unit: Path) -> str:
    """The unit with /opt/broadcaster (the install directory) pointing at this checkout."""
    text = unit.read_text()
    return text.replace("/opt/broadcaster/.venv/bin/", f"{VENV_BIN}/").replace(
        "/opt/broadcaster/", f"{ROOT}/"
    )


def directives(text: str, key: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"^{key}=(.*)$", text, re.MULTILINE)]


def test_the_province_units_are_there() -> None:
    names = {u.name for u in UNITS}
    assert {
        "broadcaster-web.service",
        "broadcaster-scheduler.service",
        "broadcaster-ingest@.service",
        "broadcaster-backup.service",
        "broadcaster-backup.timer",
    } <= names


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_units_verify(unit: Path, tmp_path: Path) -> None:
    for other in UNITS:  # a timer names its service
        (tmp_path / other.name).write_text(localized(other))
    text = localized(unit)
    # A template is verified as one of its instances.
    name = unit.name.replace("@.", "@2.")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(text)
        assert {"Unit", "Service", "Install"} <= set(parser.sections())
        return
    done = subprocess.run(
        [analyze, "verify", "--man=no", f"./{name}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # unknown keys are only warnings


@pytest.mark.parametrize("unit", SERVICES, ids=lambda u: u.name)
def test_unit_commands_and_settings_exist(unit: Path, tmp_path: Path) -> None:
    text = localized(unit).replace("%i", "2")
    env = dict(
        line.split("=", 1) for line in directives(text, "Environment") if not line.startswith("#")
    )
    settings = {
        k: v for k, v in env.items() if k.startswith("BROADCASTER_") and k != "BROADCASTER_CONFIG"
    }
    Settings.load(env=settings)  # a wrong key or value raises ConfigError
    config = write_config(
        tmp_path / "server.toml",
        {"database_url": f"sqlite:///{tmp_path}/db.sqlite3", "secret_key": "x" * 32},
    )
    run_env = clean_env(BROADCASTER_CONFIG=str(config), PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    commands = directives(text, "ExecStartPre") + directives(text, "ExecStart")
    assert commands
    for command in commands:
        argv = shlex.split(command)
        program = Path(argv[0])
        assert program.is_file(), command
        if program.name == "broadcaster":
            check = [*argv, "--help"]
        elif program.name == "gunicorn":
            # Its config file and app exist; test_gunicorn.py boots the same ones for real.
            conf = Path(argv[argv.index("-c") + 1])
            assert conf.is_file() and conf == ROOT / "deploy/gunicorn.conf.py", command
            module, _, attr = argv[-1].partition(":")
            check = [sys.executable, "-c", f"import {module} as m; assert m.{attr}"]
        else:  # a script of ours (deploy/backup: run for real in test_backup.py)
            assert program.stat().st_mode & 0o111, command
            continue
        done = subprocess.run(
            check, env=run_env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (check, done.stdout, done.stderr)
