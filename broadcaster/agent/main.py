"""The agent process entry point: parse arguments, validate the config, run an ``Agent`` until
SIGINT/SIGTERM (``python -m broadcaster.agent``, ``broadcaster agent``)."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from broadcaster.exit_status import ExitStatus
from broadcaster.signals import StopSignals

from . import agent as agent_module
from . import sdnotify
from .agent import Agent
from .config import AgentConfig, ConfigError

logger = logging.getLogger(__name__)


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("paho").setLevel(logging.WARNING)


def run(config_path: str | Path) -> int:
    """Run an agent until SIGINT/SIGTERM; return the process exit code."""
    setup_logging()
    try:
        config = AgentConfig.load(config_path)
    except (ConfigError, OSError) as exc:
        logger.error("bad config: %s", exc)
        return ExitStatus.CONFIG
    agent = Agent(config)
    stop = threading.Event()  # ends the watchdog's pings
    with StopSignals() as signals:
        try:
            agent.start()
            sdnotify.notify(f"READY=1\nSTATUS=site {config.site}")
            interval = sdnotify.watchdog_interval_s()
            if interval:
                sdnotify.Watchdog(agent.healthy, stop, interval).start()
                logger.info("pinging the systemd watchdog every %.1f s", interval)
            signals.wait()
            logger.info("signal %d received; stopping", signals.received)
        finally:
            stop.set()
            sdnotify.notify("STOPPING=1")
            agent.stop()
    return ExitStatus.OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="broadcaster agent", description=agent_module.__doc__)
    parser.add_argument("--config", required=True, help="agent TOML config file")
    parser.add_argument(
        "--check-config", action="store_true", help="validate the config file and exit"
    )
    args = parser.parse_args(argv)
    if args.check_config:
        setup_logging()
        try:
            AgentConfig.load(args.config)
        except (ConfigError, OSError) as exc:
            logger.error("bad config: %s", exc)
            return ExitStatus.CONFIG
        logger.info("config %s is valid", args.config)
        return ExitStatus.OK
    return run(args.config)
