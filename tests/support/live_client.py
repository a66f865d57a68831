"""A program in the browser's place for live sessions: log in, start a session, and stream
WebM/Opus over the session's WebSocket as MediaRecorder does (tests and bench/live_bench.py)."""

from __future__ import annotations

import re
from typing import Any

import requests
import simple_websocket

CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_DATA = re.compile(r'data-csrf="([^"]+)"')


class LiveClient:
    """One logged-in user of the web app at ``base``."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base.rstrip("/")
        self.http = requests.Session()
        page = self.http.get(f"{self.base}/login", timeout=10).text
        found = CSRF_INPUT.search(page)
        form = {"username": username, "password": password}
        if found:
            form["csrf_token"] = found.group(1)
        answer = self.http.post(f"{self.base}/login", data=form, timeout=10)
        answer.raise_for_status()

    def start(self, zones: list[str], priority: str = "priority") -> dict[str, Any]:
        """POST /live/start as the page does; the JSON answer (ids and URLs), or raises."""
        page = self.http.get(f"{self.base}/live/", timeout=10)
        page.raise_for_status()
        found = CSRF_DATA.search(page.text)
        headers = {"Accept": "application/json"}
        if found:
            headers["X-CSRFToken"] = found.group(1)
        answer = self.http.post(
            f"{self.base}/live/start",
            data={"zones": zones, "priority": priority},
            headers=headers,
            timeout=10,
        )
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data

    def socket(self, audio_url: str) -> simple_websocket.Client:
        """The session's audio socket, with this user's login cookie."""
        url = audio_url if audio_url.startswith("ws") else "ws" + self.base[4:] + audio_url
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        # the same User-Agent: Flask-Login's "strong" session protection drops a login whose
        # client looks different
        headers = {
            "Cookie": cookie,
            "Origin": self.base,
            "User-Agent": str(self.http.headers["User-Agent"]),
        }
        return simple_websocket.Client.connect(url, headers=headers)

    def stop(self, stop_url: str) -> dict[str, Any]:
        page = self.http.get(f"{self.base}/live/", timeout=10)
        found = CSRF_DATA.search(page.text)
        headers = {"X-CSRFToken": found.group(1)} if found else {}
        answer = self.http.post(f"{self.base}{stop_url}", headers=headers, timeout=10)
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data
