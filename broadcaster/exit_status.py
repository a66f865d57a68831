"""The exit statuses of every `broadcaster` command and of the Pi agent (after httpie's
``status.py``): scripts and systemd units can tell a usage mistake from a bad config file.

Standard library only: the agent imports it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    #: The command ran and failed; also click's ``ClickException``.
    FAILURE = 1
    #: Bad options or arguments; also click's ``UsageError``.
    USAGE = 2
    #: The configuration file or environment is unreadable or invalid.
    CONFIG = 3
