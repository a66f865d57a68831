"""The `broadcaster` root command: lazy command table, exit statuses, --check-config, quiet logs."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from broadcaster.cli import COMMANDS, main
from broadcaster.exit_status import ExitStatus

REPO = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    """The environment without the caller's broadcaster settings, importing this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def _broadcaster(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broadcaster.cli", *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        timeout=120,
    )


def test_exit_statuses_agree_with_click() -> None:
    assert [int(s) for s in ExitStatus] == [0, 1, 2, 3]
    assert click.ClickException.exit_code == ExitStatus.FAILURE
    assert click.UsageError.exit_code == ExitStatus.USAGE


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_lazy_command_loads_and_its_listed_help_is_its_docstring(name: str) -> None:
    module, attr = COMMANDS[name].target.split(":")
    command = getattr(importlib.import_module(module), attr)
    assert isinstance(command, click.Command)
    assert command.name == name
    first_paragraph = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
    assert COMMANDS[name].short_help == first_paragraph


def test_help_lists_every_command_without_importing_them() -> None:
    probe = (
        "import sys\n"
        "from broadcaster.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    *help_lines, modules = done.stdout.splitlines()
    listed = {line.split()[0] for line in help_lines if line.startswith("  ") and line.strip()}
    assert set(COMMANDS) <= listed
    loaded = set(modules.split())
    for heavy in ("sqlalchemy", "flask", "audio", "schedules", "broadcaster.config"):
        assert heavy not in loaded


def test_check_config_without_a_subcommand(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        f'database_url = "sqlite:///{tmp_path}/db.sqlite3"\nmqtt_port = 1884\n'
        f'secret_key = "{"k" * 40}"\n'
    )
    result = CliRunner().invoke(main, ["--config", str(good), "--check-config"])
    assert result.exit_code == ExitStatus.OK, result.output
    assert "configuration OK" in result.output
    assert "127.0.0.1:1884" in result.output


@pytest.mark.parametrize(
    "content", ["no_such_setting = 1\n", "mqtt_port = 'x'\n", "not toml [\n", None]
)
def test_check_config_rejects_a_bad_config_with_the_config_status(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "server.toml"
    if content is not None:
        path.write_text(content)
    result = CliRunner().invoke(main, ["--config", str(path), "--check-config"])
    assert result.exit_code == ExitStatus.CONFIG, result.output
    assert "configuration error" in result.output


def test_a_command_given_a_bad_config_exits_with_the_config_status(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text("no_such_setting = 1\n")
    result = CliRunner().invoke(main, ["--config", str(path), "db", "upgrade"])
    assert result.exit_code == ExitStatus.CONFIG, result.output


@pytest.mark.parametrize(
    "args", [["-v"], ["no-such-command"], ["--no-such-option"], ["db", "upgrade", "extra"]]
)
def test_usage_mistakes_exit_with_the_usage_status(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == ExitStatus.USAGE, result.output


def test_a_failing_command_exits_with_the_failure_status(tmp_path: Path) -> None:
    bad = tmp_path / "programme.yaml"
    bad.write_text("zones: 3\n")
    result = CliRunner().invoke(
        main,
        ["programme", "import", str(bad)],
        env={"BROADCASTER_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"},
    )
    assert result.exit_code == ExitStatus.FAILURE, result.output


def test_agent_bad_config_exits_with_the_config_status(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text("site = \n")
    for argv in (
        [sys.executable, "-m", "broadcaster.agent", "--config", str(path), "--check-config"],
        [sys.executable, "-m", "broadcaster.agent", "--config", str(path)],
        [sys.executable, "-m", "broadcaster.cli", "agent", "--config", str(path)],
        [sys.executable, "-m", "broadcaster.cli", "agent", "--config", str(tmp_path / "none")],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=60)
        assert done.returncode == ExitStatus.CONFIG, (argv, done.stderr)
        assert "bad config" in done.stderr


def test_commands_are_quiet_by_default_and_verbose_shows_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    quiet = _broadcaster("db", "upgrade", BROADCASTER_DATABASE_URL=url)
    assert quiet.returncode == ExitStatus.OK, quiet.stderr
    assert quiet.stdout == "database is up to date\n"
    assert quiet.stderr == ""

    (tmp_path / "db.sqlite3").unlink()
    verbose = _broadcaster("-v", "db", "upgrade", BROADCASTER_DATABASE_URL=url)
    assert verbose.returncode == ExitStatus.OK, verbose.stderr
    assert "alembic.runtime.migration: Running upgrade" in verbose.stderr
