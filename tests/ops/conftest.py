"""Real processes for the deployment tests: a server config file, gunicorn, nginx, scrapes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.process import REPO as ROOT
from tests.support.process import clean_env, cli_args

__all__ = ["ROOT", "clean_env"]

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def write_config(path: Path, values: dict[str, object]) -> Path:
    """A server.toml with ``values`` (strings, numbers and booleans)."""
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def cli(config: Path, *args: str) -> str:
    """Run ``broadcaster --config CONFIG ARGS``; its output."""
    done = subprocess.run(
        cli_args("--config", str(config), *args),
        env=clean_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A Prometheus text page as {(sample name, sorted labels): value}."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(
    page: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in page.items() if n == name and want <= set(ls))


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise AssertionError("nginx is not installed: run scripts/bootstrap.sh")
    return found
