"""Site health and alerts on SQLite and PostgreSQL; webhook and e-mail to local servers."""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as email_policy

from officers_seed import NOW, add_playback

from broadcaster.alerts import Notifier, Thresholds, check
from broadcaster.models import Site
from broadcaster.queries.health import site_health


def make_trouble(factory) -> None:
    """cum-loa-t1: 3 failures in 24 h, plan behind, clock off; cum-loa-t2 offline 3 h."""
    with factory() as s, s.begin():
        for n in range(3):
            add_playback(s, "cum-loa-t1", 1, NOW - timedelta(hours=n + 1), "failed", detail="amp")
        t1 = s.get(Site, "cum-loa-t1")
        t1.reported_plan_version, t1.clock_offset_ms = 4, 4500


def test_site_health_rows(seeded) -> None:
    make_trouble(seeded.factory)
    with seeded.factory() as s:
        rows = {r.site_id: r for r in site_health(s, NOW)}
    t1 = rows["cum-loa-t1"]
    assert t1.failures_24h == 3 and t1.plan_behind and t1.published_plan_version == 5
    assert t1.communes == ["Xã Đắk Hà"]
    assert rows["dai-xa"].last_playback_at is not None and not rows["dai-xa"].plan_behind
    assert rows["cum-loa-t2"].state == "offline"


def test_alerts_are_raised_once_and_cleared(seeded) -> None:
    make_trouble(seeded.factory)
    quiet = Notifier()
    t = Thresholds(
        offline_after_s=3600, failures_24h=3, stale_plan_after_s=600, clock_drift_ms=2000
    )
    first = check(seeded.factory, t, quiet, now=NOW)
    kinds = sorted((a.site_id, a.kind) for a in first.raised)
    assert kinds == [
        ("cum-loa-t1", "clock-drift"),
        ("cum-loa-t1", "failures"),
        ("cum-loa-t1", "stale-plan"),
        ("cum-loa-t2", "offline"),
    ]
    again = check(seeded.factory, t, quiet, now=NOW + timedelta(minutes=1))
    assert again.raised == [] and again.cleared == []
    with seeded.factory() as s, s.begin():
        s.get(Site, "cum-loa-t1").clock_offset_ms = 12
    later = check(seeded.factory, t, quiet, now=NOW + timedelta(minutes=2))
    assert [(a.site_id, a.kind) for a in later.cleared] == [("cum-loa-t1", "clock-drift")]


def test_a_silent_online_site_is_offline_after_the_threshold(seeded) -> None:
    t = Thresholds(offline_after_s=600)
    early = check(seeded.factory, t, Notifier(), now=NOW + timedelta(minutes=5)).raised
    assert [a.site_id for a in early] == ["cum-loa-t2"]  # offline since the seed
    late = check(seeded.factory, t, Notifier(), now=NOW + timedelta(minutes=11)).raised
    assert {(a.site_id, a.kind) for a in late} >= {("dai-xa", "offline")}
    assert any("no heartbeat" in a.detail for a in late)


def test_new_alerts_go_to_the_webhook_and_by_mail(seeded, webhook, smtp) -> None:
    url, received = webhook
    make_trouble(seeded.factory)
    notifier = Notifier(
        webhook_url=url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        email_from="loa@xa.example",
        email_to=("canbo@huyen.example",),
    )
    check(seeded.factory, Thresholds(), notifier, now=NOW)
    assert len(received) == 1
    assert {a["kind"] for a in received[0]["raised"]} == {
        "failures",
        "stale-plan",
        "clock-drift",
        "offline",
    }
    assert received[0]["raised"][0]["site_name"]
    [raw] = smtp.messages
    mail = message_from_bytes(raw, policy=email_policy)
    assert mail["To"] == "canbo@huyen.example" and "cảnh báo" in mail["Subject"]
    assert "Cụm loa thôn 1 - ngã ba chợ (cum-loa-t1): failures" in mail.get_content()
    # nothing new: nothing sent
    check(seeded.factory, Thresholds(), notifier, now=NOW + timedelta(minutes=1))
    assert len(received) == 1 and len(smtp.messages) == 1


def test_a_dead_webhook_is_logged_and_mail_still_goes(seeded, smtp, caplog) -> None:
    make_trouble(seeded.factory)
    dead = socket.create_server(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    notifier = Notifier(
        webhook_url=f"http://127.0.0.1:{port}/",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        email_to=("a@b.example",),
        timeout_s=2,
    )
    check(seeded.factory, Thresholds(), notifier, now=NOW)
    assert "alert webhook" in caplog.text and len(smtp.messages) == 1


def test_thresholds_and_notifier_read_settings_defensively() -> None:
    class S:
        alert_offline_after_s = 60
        alert_email_to = "a@x.example, b@x.example"

    t = Thresholds.from_settings(S())
    assert t.offline_after_s == 60 and t.failures_24h == Thresholds().failures_24h
    assert Notifier.from_settings(S()).email_to == ("a@x.example", "b@x.example")
    assert Notifier.from_settings(object()).webhook_url == ""


def test_cli_alerts_check_records_alerts(settings, seeded_sqlite) -> None:
    from click.testing import CliRunner
    from sqlalchemy import select

    from broadcaster.cli import _Ctx, main
    from broadcaster.clock import FakeClock
    from broadcaster.models import SiteAlert

    with seeded_sqlite.factory() as s, s.begin():
        s.get(Site, "cum-loa-t2").state_at = NOW - timedelta(hours=2)
    result = CliRunner().invoke(
        main,
        ["alerts", "check"],
        env={"BROADCASTER_DATABASE_URL": settings.database_url},
        obj=_Ctx(None, FakeClock(NOW)),  # the CLI's clock
    )
    assert result.exit_code == 0, result.output
    assert "raised" in result.output
    with seeded_sqlite.factory() as s:
        kinds = {(a.site_id, a.kind) for a in s.scalars(select(SiteAlert))}
    assert ("cum-loa-t2", "offline") in kinds
