"""Labels of health levels and alert kinds."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LEVEL = {
    "ok": _l("Healthy"),
    "warning": _l("Needs attention"),
    "critical": _l("Offline"),
    "unknown": _l("Never reported"),
}
ALERT = {
    "offline": _l("Offline too long"),
    "failures": _l("Repeated failures"),
    "stale-plan": _l("Stale plan"),
    "clock-drift": _l("Clock drift"),
    "rejected": _l("Messages refused"),
}
