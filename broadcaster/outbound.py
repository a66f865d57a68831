"""The two ways the server tells people something: a JSON POST to a webhook (which can feed an
SMS or Zalo gateway) and an e-mail over SMTP. Used by site-health alerts (``alerts``) and the
workflow's notices (``schedules.notices``); both raise ``OutboundError`` on failure."""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

TIMEOUT_S = 10.0


class OutboundError(Exception):
    """The webhook or the mail server did not take the message."""


def post_json(url: str, body: dict[str, Any], timeout_s: float = TIMEOUT_S) -> None:
    """POST ``body`` as JSON to an http(s) ``url``; any answer but 2xx is an error."""
    if not url.startswith(("http://", "https://")):
        raise OutboundError(f"not an http(s) URL: {url!r}")
    data = json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310
            resp.read()
    except (OSError, urllib.error.URLError) as exc:  # HTTPError (4xx/5xx) is a URLError
        raise OutboundError(f"webhook {url}: {exc}") from exc


def send_mail(
    host: str,
    port: int,
    sender: str,
    to: Sequence[str],
    subject: str,
    text: str,
    timeout_s: float = TIMEOUT_S,
) -> None:
    """One plain-text UTF-8 message to ``to`` through the SMTP server ``host:port``."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(text)
    try:
        with smtplib.SMTP(host, port, timeout=timeout_s) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise OutboundError(f"e-mail via {host}:{port}: {exc}") from exc
