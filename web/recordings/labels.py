"""Names of the recording languages and the translated reasons a recording is refused."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from audio.recordings import RecordingError

LANGUAGE_NAMES = {
    "vi": _l("Vietnamese"),
    "bahnar": _l("Bahnar (Ba Na)"),
    "sedang": _l("Sedang (Xơ Đăng)"),
    "rhade": _l("Rhade (Ê Đê)"),
    "jarai": _l("Jarai (Gia Rai)"),
    "koho": _l("Koho (Cơ Ho)"),
    "hmong": _l("Hmong (H'Mông)"),
    "thai": _l("Tai Dam (Thái)"),
    "tay": _l("Tày"),
    "nung": _l("Nùng"),
    "muong": _l("Mường"),
    "khmer": _l("Khmer"),
    "cham": _l("Cham (Chăm)"),
}


def language_name(code: str) -> str:
    return str(LANGUAGE_NAMES.get(code, code))


def explain_recording(exc: RecordingError) -> str:
    """The user's language version of why a recording was refused."""
    p = exc.params
    if exc.code == "empty":
        return _("The file is empty: there is no sound in it.")
    if exc.code == "too_big":
        return _(
            "The file is too large (%(size)s MB); the limit is %(limit)s MB.",
            size=_mb(p.get("size")),
            limit=_mb(p.get("limit")),
        )
    if exc.code == "not_audio":
        return _("This file is not audio. Choose a sound recording (MP3, WAV, OGG, WebM, M4A…).")
    if exc.code == "corrupt":
        return _("The audio file is damaged or incomplete. Record or export it again.")
    if exc.code == "too_long":
        return _(
            "The recording is %(seconds)s seconds long; at most %(limit)s seconds are allowed.",
            seconds=round(float(p.get("seconds", 0))),
            limit=round(float(p.get("limit", 0))),
        )
    if exc.code == "too_short":
        return _("The recording is too short (less than half a second).")
    if exc.code == "silent":
        return _("The recording is silent. Check the microphone and record again.")
    return _("The recording cannot be used.")


def _mb(n: object) -> str:
    try:
        return f"{int(n) / 1024 / 1024:.1f}"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return "?"


def explain_refusal(exc: Exception) -> str:
    """A refused recording (RecordingError) or change (WorkflowError, NotAllowed), translated."""
    if isinstance(exc, RecordingError):
        return explain_recording(exc)
    code = getattr(exc, "code", "")
    if code == "not-editable":
        return _("Recordings can be changed only while the announcement is a draft or rejected.")
    if code == "unknown-language":
        return _("Choose the language of the recording.")
    if code == "not-author":
        return _("Only the author of the announcement can change its recordings.")
    from web.announcements.messages import explain

    return explain(exc)
