"""`broadcaster programme import|export` and `broadcaster plan`, through the real CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from broadcaster.cli import _Ctx, main
from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from schedules.programme_file import DEMO_PROGRAMME, ProgrammeFileError, load

EXAMPLE = Path(__file__).parents[2] / "schedules" / "example_programme.yaml"


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BROADCASTER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BROADCASTER_MEDIA_DIR", settings.media_dir)
    monkeypatch.setenv("BROADCASTER_SECRET_KEY", "k" * 40)
    runner = CliRunner()

    def run(*args: str, obj: object = None) -> tuple[int, str]:
        result = runner.invoke(main, list(args), obj=obj, catch_exceptions=False)
        return result.exit_code, result.output

    code, out = run("users", "add", "quantri", "--role", "admin", "--password", "quantri123")
    assert code == 0, out
    return run


def test_import_dry_run_then_import_then_export_round_trip(cli, tmp_path: Path) -> None:
    code, out = cli("programme", "import", str(EXAMPLE), "--dry-run")
    assert code == 0, out
    assert "+ slot Buổi sáng 06:00–06:30" in out and "would be made (dry run)" in out
    code, out2 = cli("programme", "import", str(EXAMPLE), "--dry-run")
    assert out2 == out  # the dry run changed nothing
    code, out = cli("programme", "import", str(EXAMPLE))
    assert code == 0 and "+ item 'Tiêm chủng mở rộng tháng 12' (draft)" in out
    code, out = cli("programme", "import", str(EXAMPLE))
    assert "+ " not in out and "exists" in out  # idempotent
    code, text = cli("programme", "export")
    exported = tmp_path / "out.yaml"
    exported.write_text(text, encoding="utf-8")
    prog = load(exported)
    assert [s["name"] for s in prog.slots] == ["Buổi sáng", "Cuối tuần", "Buổi chiều"]
    assert len(prog.items) == 4 and len(prog.relays) == 2 and len(prog.campaigns) == 2
    tiem = next(i for i in prog.items if i["title"].startswith("Tiêm"))
    assert tiem["rrule"] == "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=10;BYSECOND=0"
    assert str(tiem["until"]) == "2026-12-05"


def test_validation_errors_name_file_line_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "zones:\n"
        "  - {id: thon-1, name: Thôn 1}\n"
        "sites:\n"
        "  - {id: s1, zones: [thon-9]}\n"
        "slots:\n"
        "  - {name: Sáng, start: '06:00', end: '05:00'}\n"
        "items:\n"
        "  - title: X\n"
        "    body: y\n"
        "    zones: [thon-1]\n"
        "    start: hôm nay\n"
        "    slot: Tối\n",
        encoding="utf-8",
    )
    with pytest.raises(ProgrammeFileError) as err:
        load(bad)
    assert err.value.problems == [
        f"{bad}:4: site s1: unknown zones ['thon-9']",
        f"{bad}:6: slot Sáng: end 05:00 is not after start 06:00",
        f"{bad}:11: item 'X': 'start' should be a local date and time like 2026-12-01 17:00",
        f"{bad}:12: item 'X': unknown slot 'Tối'",
    ]


def test_sites_coordinates_and_users_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "zones: [{id: z}]\n"
        "sites:\n"
        "  - {id: s1, zones: [z], latitude: north, longitude: 1}\n"
        "  - {id: s2, zones: [z], latitude: 91, longitude: 1}\n"
        "users:\n"
        "  - {username: a, password: abcdefgh, role: mayor}\n"
        "  - {username: b, role: editor}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProgrammeFileError) as err:
        load(bad)
    assert err.value.problems == [
        f"{bad}:3: site s1: latitude and longitude must both be numbers",
        f"{bad}:4: site s2: coordinates out of range",
        f"{bad}:6: user a: role 'mayor'; use editor, approver, officer, admin",
        f"{bad}:7: user b: missing 'password'",
    ]


def test_the_demo_programme_with_users_then_export_keeps_the_map(cli, tmp_path: Path) -> None:
    code, out = cli("programme", "import", str(DEMO_PROGRAMME))
    assert code == 0, out
    assert "+ site dai-xa" in out and "+ user" not in out  # users only when asked
    code, out = cli("programme", "import", str(DEMO_PROGRAMME), "--with-users")
    assert code == 0, out
    assert "+ user bientap (editor)" in out and "+ user quantri" not in out  # quantri existed
    code, text = cli("programme", "export")
    exported = tmp_path / "out.yaml"
    exported.write_text(text, encoding="utf-8")
    prog = load(exported)
    assert prog.users == []  # no passwords in an export
    dai_xa = next(s for s in prog.sites if s["id"] == "dai-xa")
    assert (dai_xa["latitude"], dai_xa["longitude"]) == (14.6712, 107.9321)
    assert [z["language"] for z in prog.zones][-1] == "bahnar"
    # The units go round: the province and its communes, each zone in its own.
    assert [(u["code"], u["parent"]) for u in prog.units] == [
        ("62", ""),
        ("62001", "62"),
        ("62002", "62"),
    ]
    assert {z["id"]: z["unit"] for z in prog.zones}["thon-1"] == "62001"


def test_items_need_an_author(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROADCASTER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BROADCASTER_MEDIA_DIR", settings.media_dir)
    result = CliRunner().invoke(main, ["programme", "import", str(EXAMPLE), "--dry-run"])
    assert result.exit_code == 1
    assert "no author for the items: create an admin first" in result.output


def test_cli_reports_bad_file_and_exits_1(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("zones: [\n", encoding="utf-8")
    code, out = cli("programme", "import", str(bad))
    assert code == 1 and f"{bad}:2: not valid YAML" in out


def test_plan_command_prints_a_sites_plan(cli, settings: Settings) -> None:
    from broadcaster.db import make_engine, session_factory
    from broadcaster.models import Announcement, Media

    cli("programme", "import", str(EXAMPLE))
    with session_factory(make_engine(settings.database_url))() as s, s.begin():
        media = Media(sha256="a" * 64, ext="mp3", size=10, duration_ms=90_000)
        for ann in s.query(Announcement):
            ann.status, ann.media, ann.decided_at = "approved", media, None
    code, out = cli(
        "plan", "--site", "cum-loa-t1", "--from", "2026-12-01T00:00", "--to", "2026-12-03T00:00"
    )
    assert code == 0, out
    assert "cum-loa-t1: 5 airings, 3 relay items" in out
    assert "relay     Tiếp sóng thời sự VOV1" in out
    code, out = cli(
        "plan",
        "--site",
        "cum-loa-t1",
        "--from",
        "2026-12-01T00:00",
        "--to",
        "2026-12-03T00:00",
        "--json",
    )
    items = json.loads(out)
    relays = [i for i in items if "stream" in i]
    assert relays and relays[0]["start"] == "2026-11-30T22:30:00.000Z"  # VOV1 at 05:30 local
    assert [i["start"] for i in items if "stream" not in i][:2] == [
        "2026-11-30T23:00:02.000Z",  # the morning slot, 2 s after the VOV1 relay ends
        "2026-11-30T23:10:00.000Z",  # 06:10 local, fixed time
    ]
    code, out = cli("plan", "--site", "nowhere")
    assert code == 1 and "unknown site" in out


def test_plan_starts_at_the_injected_clocks_now(cli, settings: Settings) -> None:
    from broadcaster.db import make_engine, session_factory
    from broadcaster.models import Announcement, Media

    cli("programme", "import", str(EXAMPLE))
    with session_factory(make_engine(settings.database_url))() as s, s.begin():
        media = Media(sha256="a" * 64, ext="mp3", size=10, duration_ms=90_000)
        for ann in s.query(Announcement):
            ann.status, ann.media = "approved", media
    clock = FakeClock(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))  # 00:00 on 1 Dec local
    code, out = cli("plan", "--site", "cum-loa-t1", "--json", obj=_Ctx(None, clock))
    assert code == 0, out
    ahead = (clock.now() + timedelta(hours=settings.plan_horizon_hours)).isoformat()
    code, explicit = cli(
        "plan", "--site", "cum-loa-t1", "--json", "--from", "2026-12-01T00:00", "--to", ahead
    )
    assert json.loads(out) == json.loads(explicit) != []


def test_a_user_display_name_split_by_an_unquoted_comma_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "users:\n"
        "  - {username: bt, password: bientap123, role: editor,"
        " display_name: A Hoa (biên tập, xã Đắk Hà)}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProgrammeFileError) as err:
        load(bad)
    assert err.value.problems == [
        f"{bad}:2: user bt: unknown key 'xã Đắk Hà)'; quote a value with a comma"
    ]
    good = tmp_path / "good.yaml"
    good.write_text(
        bad.read_text().replace("A Hoa (biên tập, xã Đắk Hà)", '"A Hoa (biên tập, xã Đắk Hà)"')
    )
    assert load(good).users[0]["display_name"] == "A Hoa (biên tập, xã Đắk Hà)"
