"""The workflow renders with the commune's settings, the announcement's repeat count and the
admins' lexicon as it is at render time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from audio.lexicon_store import import_lexicon
from audio.render import Rendered
from audio.renderer import Renderer, TextRenderer, make_renderer
from broadcaster.config import Settings
from broadcaster.models import Announcement, User
from schedules import workflow
from tests.support.clock import FIXED_NOW


def _draft(session: Session, author: User, **kw: object) -> Announcement:
    fields: dict[str, object] = {
        "title": "Họp dân",
        "body": "Mời bà con dự họp của UBND xã.",
        "zone_ids": ["thon-1"],
        "start_at": FIXED_NOW + timedelta(hours=1),
        "now": FIXED_NOW,
    }
    fields.update(kw)
    return workflow.create_announcement(session, author, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("priority", "repeat"), [("normal", 2), ("priority", 3), ("emergency", 3)])
def test_repeat_defaults_by_priority(session: Session, users, priority: str, repeat: int) -> None:
    ann = _draft(session, users["editor"], priority=priority)
    session.flush()
    session.refresh(ann)
    assert ann.repeat == repeat


def test_repeat_can_be_chosen_within_limits(session: Session, users) -> None:
    assert _draft(session, users["editor"], repeat=1).repeat == 1
    with pytest.raises(workflow.WorkflowError) as err:
        _draft(session, users["editor"], repeat=9)
    assert err.value.code == "bad-repeat"


def test_make_renderer_follows_the_settings(settings: Settings) -> None:
    render = make_renderer(settings.replace(audio_format="opus", loudness_target_lufs=-18))
    assert isinstance(render, TextRenderer)
    assert (render.fmt, render.bitrate) == ("opus", "64k")
    assert render.target is not None and render.target.integrated == -18
    assert render.cache is not None and str(render.cache.root) == settings.render_cache_dir


def test_a_new_lexicon_entry_applies_at_the_next_render(
    session: Session, users, fake_renderer: TextRenderer
) -> None:
    engine = fake_renderer.engine
    ann = _draft(session, users["editor"], body="Bà con đến KDC Kon Klo.", repeat=1)
    workflow.submit(session, ann, users["editor"], fake_renderer)
    before = " ".join(engine.calls)  # type: ignore[attr-defined]
    assert "ca dê xê" in before

    import_lexicon(session, {"KDC": "khu dân cư"})
    workflow.reject(session, ann, users["approver"], "đọc sai tên")
    engine.calls.clear()  # type: ignore[attr-defined]
    workflow.submit(session, ann, users["editor"], fake_renderer)
    after = " ".join(engine.calls)  # type: ignore[attr-defined]
    assert "khu dân cư" in after and "ca dê xê" not in after


def test_submit_masters_with_the_repeat_count(
    session: Session, users, fake_renderer: TextRenderer
) -> None:
    once = _draft(session, users["editor"], body="Thông báo lịch tiêm phòng.", repeat=1)
    twice = _draft(session, users["editor"], body="Thông báo lịch tiêm phòng.", repeat=2)
    workflow.submit(session, once, users["editor"], fake_renderer)
    workflow.submit(session, twice, users["editor"], fake_renderer)
    assert once.media is not None and twice.media is not None
    # The second says it again after "Xin nhắc lại": clearly longer.
    assert twice.media.duration_ms > once.media.duration_ms + 1000


def test_submit_gives_any_renderer_repeat_lexicon_and_commune(
    session: Session, users, fake_renderer: TextRenderer
) -> None:
    """Every Renderer, not only TextRenderer, gets the announcement's repeat count, the
    admins' lexicon as it is now and the zone's commune."""
    calls: list[tuple[str, int, dict[str, str], str | None]] = []

    class Recording(Renderer):
        def __call__(
            self,
            text: str,
            *,
            repeat: int,
            lexicon: Mapping[str, str] | None = None,
            commune: str | None = None,
        ) -> Rendered:
            calls.append((text, repeat, dict(lexicon or {}), commune))
            return fake_renderer(text, repeat=repeat, lexicon=lexicon, commune=commune)

    import_lexicon(session, {"KDC": "khu dân cư"})
    ann = _draft(session, users["editor"], repeat=3)
    workflow.submit(session, ann, users["editor"], Recording())
    commune = ann.zones[0].commune
    assert calls == [(ann.body, 3, {"KDC": "khu dân cư"}, commune)]
    assert commune and ann.status == "submitted" and ann.media is not None


def test_each_commune_speaks_with_its_own_voice(
    settings: Settings, session: Session, users
) -> None:
    """commune_voices picks espeak-ng's regional voice by the announcement's commune."""
    settings = settings.replace(tts_engine="espeak", commune_voices="Xã Đắk Hà=south")
    render = make_renderer(settings)
    assert isinstance(render, TextRenderer)
    assert render.engine_for("Xã Đắk Hà").voice == "vi-vn-x-south"  # type: ignore[attr-defined]
    assert render.engine_for("Xã Khác").voice == "vi"  # type: ignore[attr-defined]
    ann = _draft(session, users["editor"], body="Bà con chú ý.", repeat=1)
    workflow.submit(session, ann, users["editor"], render)
    assert ann.tts_engine == "espeak" and ann.media is not None


def test_bad_commune_voices_are_refused() -> None:
    from broadcaster.config import ConfigError

    with pytest.raises(ConfigError, match="has voice 'east'"):
        Settings.load(env={}, commune_voices="Xã A=east")
    with pytest.raises(ConfigError, match="not 'commune name=voice'"):
        Settings.load(env={}, commune_voices="Xã A")
