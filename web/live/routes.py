"""Live pages: an approver starts a session, the browser streams its microphone over a
WebSocket (MediaRecorder's WebM/Opus chunks), the sites of the chosen zones play it; "Dừng"
stops it everywhere. The phone layout shows a level meter and which sites are live now."""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from broadcaster.live.feed import FeedError, LiveFeed
from broadcaster.models import Announcement, LiveSession, Zone
from broadcaster.scope import Scope
from schedules import live as service
from schedules.workflow import NotAllowed, WorkflowError
from web.announcements.messages import explain
from web.i18n import format_local
from web.live.forms import StartForm
from web.live.hub import LiveHub
from web.scope import get_or_404, scope
from web.security import roles_required
from web.services import Services, db, now, services

bp = Blueprint(
    "live",
    __name__,
    url_prefix="/live",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
sock = Sock()
logger = logging.getLogger(__name__)

RECENT = 20


def hub() -> LiveHub:
    found: LiveHub = current_app.extensions["live"]
    return found


def _form() -> StartForm:
    form = StartForm()
    zones = db().scalars(select(Zone).where(scope().zones()).order_by(Zone.name))
    form.zones.choices = [SelectChoice(z.id, z.name) for z in zones]
    return form


def _recent() -> list[LiveSession]:
    return list(
        db().scalars(
            select(LiveSession)
            .where(scope().live_sessions())
            .options(
                selectinload(LiveSession.speaker),
                selectinload(LiveSession.announcement).selectinload(Announcement.zones),
            )
            .order_by(LiveSession.started_at.desc())
            .limit(RECENT)
        )
    )


@bp.route("/")
@roles_required(*service.LIVE_ROLES)
def index() -> ResponseReturnValue:
    return render_template("live/index.html", form=_form(), recent=_recent(), enabled=hub().enabled)


@bp.route("/start", methods=["POST"])
@roles_required(*service.LIVE_ROLES)
def start() -> ResponseReturnValue:
    """Record the session; the browser then opens its audio socket."""
    form = _form()
    if not hub().enabled:
        return jsonify(error={"code": "live-off", "message": _off()}), 503
    if not form.validate_on_submit():
        # not the fields' own messages: they repeat the values asked for (another unit's zone)
        message = _("Pick at least one zone.") if form.zones.errors else _not_started()
        return jsonify(error={"code": "invalid", "message": message}), 400
    try:
        live = service.start_live(
            db(), current_user.model, list(form.zones.data), form.priority.data, now=now()
        )
    except (NotAllowed, WorkflowError) as exc:
        db().rollback()
        return jsonify(error={"code": exc.code, "message": explain(exc)}), 400
    db().commit()
    return jsonify(
        id=live.id,
        audio_url=url_for("live.audio", live_id=live.id),
        status_url=url_for("live.status_json", live_id=live.id),
        stop_url=url_for("live.stop", live_id=live.id),
    )


def _off() -> str:
    return _("Live broadcasting is not set up on this server.")


def _not_started() -> str:
    return _("The live session could not start.")


@bp.route("/<int:live_id>/stop", methods=["POST"])
@roles_required(*service.LIVE_ROLES)
def stop(live_id: int) -> ResponseReturnValue:
    """ "Dừng": the stop command to every site now; the browser then closes its socket."""
    live = get_or_404(LiveSession, live_id)
    ended = service.end_live(
        db(),
        live,
        f"stopped by {current_user.model.display_name}",
        now=now(),
        commands=services().commands() if live.command_id else None,
    )
    db().commit()
    return jsonify(ended=True, stopped_now=ended)


@bp.route("/<int:live_id>/status.json")
@login_required
def status_json(live_id: int) -> ResponseReturnValue:
    live = get_or_404(LiveSession, live_id)
    states = service.site_states(db(), live)
    return jsonify(
        id=live.id,
        ended=live.ended_at is not None,
        end_reason=live.end_reason,
        sites=[
            {"site": s.site_id, "name": s.name, "live": s.live, "detail": s.detail} for s in states
        ],
        live_sites=[s.name for s in states if s.live],
        started_local=format_local(live.started_at, "%H:%M:%S"),
    )


def _same_origin() -> bool:
    """A page of another site may not open the socket with our cookie (browsers send Origin;
    compared by host name: some clients leave the port out of Host)."""
    origin = request.headers.get("Origin", "")
    return not origin or urlsplit(origin).hostname == request.host.rsplit(":", 1)[0]


@sock.route("/<int:live_id>/audio", bp=bp)
def audio(ws: Any, live_id: int) -> None:
    """The microphone of session ``live_id``: binary WebM/Opus chunks until the browser closes
    the socket (or sends nothing for the stall time). Only the session's own speaker."""
    if (
        not current_user.is_authenticated
        or current_user.role not in service.LIVE_ROLES
        or not _same_origin()
    ):
        logger.warning("live socket %d refused: not an approver of this site", live_id)
        ws.close(1008, "forbidden")
        return
    svc, live_hub = services(), hub()
    with svc.sessions() as dbs:
        live = Scope.of(dbs, current_user.model).get(dbs, LiveSession, live_id)
        if live is None or live.speaker_id != current_user.id or live.ended_at is not None:
            logger.warning("live socket %d refused to %s", live_id, current_user.username)
            ws.close(1008, "not your session, or it has ended")
            return
        name, mount = live.name, live.mount
    token = service.new_token()
    live_hub.passwords.allow(name, token)
    feed = live_hub.open_feed(name, mount)
    done = threading.Event()
    announcer = threading.Thread(
        target=_announce, args=(svc, live_hub, live_id, token, done), daemon=True
    )
    reason = "the announcer's connection closed"
    try:
        while True:
            data = ws.receive(timeout=svc.settings.live_stall_s)
            if data is None:
                reason = f"no audio from the announcer for {svc.settings.live_stall_s} s"
                break
            if isinstance(data, str):
                continue
            feed.write(data)
            if announcer.ident is None:  # the first chunk: the feed connects to the server
                announcer.start()
    except ConnectionClosed:
        pass
    except FeedError as exc:
        reason = f"streaming server: {exc}"
        logger.error("live session %s: %s", name, exc)
    finally:
        done.set()
        _finish(svc, live_hub, live_id, name, feed, reason)


def _announce(
    svc: Services, live_hub: LiveHub, live_id: int, token: str, done: threading.Event
) -> None:
    """Once the stream is up on the streaming server, send the signed live command."""
    with svc.sessions() as dbs:
        live = dbs.get(LiveSession, live_id)
        assert live is not None
        if not live_hub.wait_for_mount(live.mount, live.name, token, done):
            logger.error("live session %s: the stream never came up", live.name)
            return
        if live.ended_at is not None:
            return
        service.publish_live(dbs, live, token, svc.commands(), live_hub.options)
        dbs.commit()


def _finish(
    svc: Services, live_hub: LiveHub, live_id: int, name: str, feed: LiveFeed, reason: str
) -> None:
    """Stop the agents first (the stop command), then the stream; archive the recording."""
    with svc.sessions() as dbs:
        live = dbs.get(LiveSession, live_id)
        assert live is not None
        service.end_live(
            dbs,
            live,
            reason,
            now=svc.clock.now(),
            commands=svc.commands() if live.command_id else None,
        )
        dbs.commit()
    feed.close()
    live_hub.passwords.revoke(name)
    live_hub.drop_feed(name)
    with svc.sessions() as dbs:
        live = dbs.get(LiveSession, live_id)
        assert live is not None
        try:
            service.archive_live(
                dbs,
                live,
                feed.archive,
                store=svc.media,
                fmt=svc.settings.audio_format,
                bitrate=svc.settings.audio_bitrate,
            )
        except ValueError as exc:
            logger.error("live session %s: recording not archived: %s", name, exc)
            return
        dbs.commit()
    feed.archive.unlink(missing_ok=True)
