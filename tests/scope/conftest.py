"""The demo province with something of each kind in each commune, made through the services
as each commune's own staff: the ground for the scope tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import api_tokens
from broadcaster.clock import Clock
from broadcaster.commands import CommandPublisher
from broadcaster.db import transaction
from broadcaster.models import Playback, User
from broadcaster.publisher import MemoryPublisher
from broadcaster.scope import Scope
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules import bulletins, campaigns, emergency, live, programme_edit, workflow
from tests.web.conftest import (  # noqa: F401  (fixtures reused from the web tests)
    PASSWORDS,
    FakeRenderer,
    app,
    client,
    clock_start,
    renderer,
    sample_mp3,
)


@dataclass(frozen=True)
class Commune:
    """What one commune's staff made: ids to ask for, and a word only its pages contain."""

    code: str
    zone: str
    site: str
    approved: int  # an approved announcement (aired once, with a playback row)
    submitted: int  # one waiting for approval
    campaign: int
    emergency: int
    live: int  # a live session on air
    media: str  # sha256 of the approved one's audio
    marker: str
    user: int  # its editor's user id
    token: int  # an API token that reads it
    bulletin: int  # the province's bulletin to this commune only
    delivery: int  # its item in this commune's inbox
    unit: int  # the commune's unit id
    relay: int  # a relay of a radio stream to its zone


@dataclass(frozen=True)
class Province:
    a: Commune  # Xã Đắk Hà
    b: Commune  # Xã Đắk Mar
    sent: MemoryPublisher  # every command the app published


def _user(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def _commune(
    session: Session,
    render: FakeRenderer,
    at: Clock,
    suffix: str,
    zone: str,
    site: str,
    marker: str,
) -> Commune:
    editor = _user(session, f"bientap-{suffix}")
    approver = _user(session, f"pheduyet-{suffix}")
    now = at.now()

    def written(title: str) -> object:
        ann = workflow.create_announcement(
            session,
            editor,
            title=title,
            body=f"Thông báo của {marker}.",
            zone_ids=[zone],
            start_at=now + timedelta(hours=2),
            now=now,
        )
        workflow.submit(session, ann, editor, render, now=now)
        return ann

    approved = written(f"Tin đã duyệt {marker}")
    workflow.approve(session, approved, approver, now=now)  # type: ignore[arg-type]
    submitted = written(f"Tin chờ duyệt {marker}")
    camp = campaigns.create_campaign(
        session,
        campaigns.CampaignFields(
            name=f"Chiến dịch {marker}",
            starts_on=date(2026, 1, 1),
            ends_on=date(2027, 12, 31),
            target_per_week=3,
            zone_ids=[zone],
        ),
        by=editor,
    )
    em = emergency.send_emergency(
        session,
        approver,
        emergency.Draft(
            zone_ids=(zone,),
            reason=f"Lũ ở {marker}",
            title=f"Khẩn {marker}",
            text=f"Nước lên ở {marker}.",
        ),
        render=render,
        now=now,
    )
    on_air = live.start_live(session, approver, [zone], "priority", now=now)
    on_air.command_id = f"live-command-{suffix}"  # as if its stream were up
    session.add(
        Playback(
            site_id=site,
            item_id=f"s{approved.id}-1",  # type: ignore[attr-defined]
            announcement_id=approved.id,  # type: ignore[attr-defined]
            scheduled_at=now - timedelta(hours=1),
            started_at=now - timedelta(hours=1),
            finished_at=now - timedelta(minutes=58),
            status="finished",
            updated_at=now,
        )
    )
    bulletin = bulletins.write_bulletin(
        session,
        _user(session, "bientap"),
        title=f"Tin tỉnh gửi {marker}",
        body=f"Tỉnh thông báo cho {marker}.",
        priority="normal",
        commune_ids=[editor.unit_id],
        render=render,
        now=now,
    )
    bulletins.approve_bulletin(session, bulletin, _user(session, "pheduyet"), now=now)
    relay = programme_edit.save_relay(
        session,
        Scope.below(session, editor.unit_id),
        programme_edit.RelayFields(
            name=f"Tiếp sóng {marker}",
            stream_url=f"https://radio.example/{suffix}",
            start=time(20, 0),
            minutes=30,
            zone_ids=(zone,),
        ),
        render,
    )
    session.flush()
    return Commune(
        code=editor.unit.code,
        zone=zone,
        site=site,
        approved=approved.id,  # type: ignore[attr-defined]
        submitted=submitted.id,  # type: ignore[attr-defined]
        campaign=camp.id,
        emergency=em.id,
        live=on_air.id,
        media=approved.media_sha256,  # type: ignore[attr-defined]
        marker=marker,
        user=editor.id,
        token=api_tokens.issue(session, f"Hệ thống {marker}", editor.unit, editor, now)[0].id,
        bulletin=bulletin.id,
        delivery=bulletin.deliveries[0].id,
        unit=editor.unit_id,
        relay=relay.id,
    )


@pytest.fixture
def province(
    app: Flask,  # noqa: F811 - the fixture
    db: sessionmaker[Session],
    renderer: FakeRenderer,  # noqa: F811 - the fixture
    clock: Clock,  # noqa: F811 - the fixture
) -> Province:
    """Both demo communes, each with its own announcements, campaign, emergency and airing."""
    sent = MemoryPublisher()
    app.extensions["broadcaster"].command_publisher = CommandPublisher(
        Signer.generate(), sent, Topics(app.extensions["broadcaster"].settings.topic_root)
    )
    with transaction(db) as session:
        a = _commune(session, renderer, clock, "dh", "thon-1", "cum-loa-t1", "Đắk Hà")
        b = _commune(session, renderer, clock, "dm", "dm-thon-3", "dm-cum-loa-t3", "Đắk Mar")
    return Province(a, b, sent)
