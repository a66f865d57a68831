""" "Nghe thử": a draft's text rendered before it is saved, and its spoken form.

The same renderer, render cache and media store as submitting (``workflow.render_audio``): a
draft listened to and then submitted unchanged is a mastered-cache hit, and an edited one
synthesizes only the sentences that changed. Nothing is written to the database: the audio
sits in the content-addressed store like any rendered file, with no ``Media`` row until the
announcement is submitted; never submitted, it goes once unused for ``media_prune_grace_hours``
(``audio.media_prune``).

:func:`prepare` reads what the render needs (the admins' lexicon, the commune's voice) and
checks the text and the user; :func:`render` runs the renderer, so the caller can end its
database transaction in between and hold nothing while the engine speaks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from audio.lexicon_store import load_lexicon
from audio.render import Rendered, spoken_form
from audio.renderer import Renderer
from broadcaster.models import DEFAULT_REPEAT, MAX_REPEAT, Unit, User
from broadcaster.roles import APPROVE_ROLES, EDIT_ROLES
from broadcaster.scope import Scope
from schedules.workflow import NotAllowed, WorkflowError, checked_text

logger = logging.getLogger(__name__)

PREVIEW_ROLES = tuple(dict.fromkeys((*EDIT_ROLES, *APPROVE_ROLES)))


@dataclass(frozen=True)
class Draft:
    """What a preview renders: the text, its repeat count, the lexicon as it is now, whose
    voice speaks (the commune's, None for the default) and the spoken form."""

    text: str
    repeat: int
    lexicon: dict[str, str]
    commune: str | None
    spoken: list[str]


def prepare(
    session: Session,
    user: User,
    *,
    text: str,
    priority: str = "normal",
    repeat: int | None = None,
    zone_ids: Sequence[str] = (),
    max_chars: int = 5000,
) -> Draft:
    """A draft ready to render, or a refusal (``WorkflowError``/``NotAllowed`` by code): the
    text checked as the form checks it, the zones looked up in the user's scope (their commune
    speaks with its voice; without zones, the user's own commune's), and the spoken form
    (``unspeakable`` when nothing is left to read once normalized)."""
    if user.role not in PREVIEW_ROLES:
        raise NotAllowed(f"role {user.role} cannot listen to drafts", "cannot-write")
    # The title is not read out; a placeholder satisfies the shared check.
    _, body = checked_text("-", text, priority, max_chars)
    if repeat is None:
        repeat = DEFAULT_REPEAT[priority]
    if not 1 <= repeat <= MAX_REPEAT:
        raise WorkflowError(
            f"repeat must be 1..{MAX_REPEAT}, not {repeat}", "bad-repeat", max=MAX_REPEAT
        )
    scope = Scope.of(session, user)
    zones = scope.zones_in(session, zone_ids)
    missing = sorted(set(zone_ids) - {z.id for z in zones})
    if missing:
        raise WorkflowError(
            f"unknown zones: {', '.join(missing)}", "unknown-zones", zones=", ".join(missing)
        )
    commune = zones[0].commune if zones else _own_commune(session, user)
    lexicon = load_lexicon(session)
    try:
        spoken = spoken_form(body, lexicon)
    except ValueError as exc:
        raise WorkflowError(str(exc), "unspeakable") from exc
    return Draft(text=body, repeat=repeat, lexicon=lexicon, commune=commune, spoken=spoken)


def _own_commune(session: Session, user: User) -> str | None:
    """The name of the user's unit when it is a commune (its voice), else None."""
    unit = session.get(Unit, user.unit_id)
    return unit.name if unit is not None and unit.holds_zones else None


def render(draft: Draft, renderer: Renderer) -> Rendered:
    """The draft's audio (in the media store) by the app's renderer; ``WorkflowError``
    ``unspeakable`` for text the renderer refuses, ``TTSError`` when no engine speaks."""
    try:
        rendered = renderer(
            draft.text, repeat=draft.repeat, lexicon=draft.lexicon, commune=draft.commune
        )
    except ValueError as exc:
        raise WorkflowError(str(exc), "unspeakable") from exc
    logger.info(
        "preview: %d chars as %s.%s (%d ms, %s)",
        len(draft.text),
        rendered.sha256,
        rendered.ext,
        rendered.duration_ms,
        rendered.engine,
    )
    return rendered
