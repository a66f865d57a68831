"""MQTT topic names under a configurable root (default ``loa/v1``).

>>> t = Topics("loa/v1")
>>> t.plan("cum-loa-t1")
'loa/v1/sites/cum-loa-t1/plan'
>>> t.site_from("loa/v1/sites/cum-loa-t1/events")
'cum-loa-t1'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SITE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def valid_id(value: str) -> bool:
    """Site and zone ids are lowercase slugs, safe inside topics and file names."""
    return bool(SITE_ID_RE.match(value))


@dataclass(frozen=True)
class Topics:
    root: str = "loa/v1"

    def _site(self, site: str, leaf: str) -> str:
        return f"{self.root}/sites/{site}/{leaf}"

    def plan(self, site: str) -> str:
        return self._site(site, "plan")

    def site_cmd(self, site: str) -> str:
        return self._site(site, "cmd")

    def zone_cmd(self, zone: str) -> str:
        return f"{self.root}/zones/{zone}/cmd"

    def status(self, site: str) -> str:
        return self._site(site, "status")

    def events(self, site: str) -> str:
        return self._site(site, "events")

    def ack(self, site: str) -> str:
        return self._site(site, "ack")

    def keys(self) -> str:
        """Retained trusted-keys list for every agent (signed ``KeysUpdate``)."""
        return f"{self.root}/keys"

    def plans_mark(self) -> str:
        """Retained, server only: the newest plan version the broker holds (``PlansMark``)."""
        return f"{self.root}/server/plans-mark"

    def probe(self, client_id: str) -> str:
        """Server only: a process's own echo topic (``PlansMark``'s check on connect)."""
        return f"{self.root}/server/probe/{client_id}"

    def all_events(self) -> str:
        return f"{self.root}/sites/+/events"

    def all_status(self) -> str:
        return f"{self.root}/sites/+/status"

    @staticmethod
    def shared(group: str, topic_filter: str) -> str:
        """``topic_filter`` as an MQTT shared subscription of ``group`` (each message goes to one
        subscriber of the group); the filter itself when ``group`` is empty."""
        return f"$share/{group}/{topic_filter}" if group else topic_filter

    def site_from(self, topic: str) -> str | None:
        """The site id in a ``…/sites/{site}/…`` topic, or None."""
        prefix = f"{self.root}/sites/"
        if not topic.startswith(prefix):
            return None
        site = topic[len(prefix) :].split("/", 1)[0]
        return site if valid_id(site) else None
