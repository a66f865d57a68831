"""`broadcaster sites provision --from sites.csv`: every row checked before anything is written,
the sites in the database, and the broker's files for Mosquitto (password file and ACL) or NATS
(a users file each node includes), each run against the real broker with the bundles' logins."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import SERVER_USER, free_port
from broadcaster.cli import main
from broadcaster.config import Settings
from broadcaster.models import Site, Zone
from broadcaster.provision.broker_files import BrokerFiles, mosquitto_conf
from broadcaster.provision.passwords import (
    bcrypt_hash,
    bcrypt_verify,
    mosquitto_hash,
    mosquitto_verify,
)
from broadcaster.provision.staged import StagedFiles
from broadcaster.units import add_unit
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from tests.support.process import mosquitto

from .test_provision import Client

TOPICS = Topics()
SERVER_PASSWORD = "bulk-server-password-0123456789"
SITES_CSV = """site,name,unit,zones
cum-loa-a,Cụm loa thôn 1,X01,thon-1
cum-loa-b,"Cụm loa thôn 2, chợ",X01,thon-2 thon-1
cum-loa-c,Cụm loa bản Mông,X02,ban-1
"""


@pytest.fixture
def province(db: sessionmaker[Session]) -> sessionmaker[Session]:
    """A province with two communes and their zones."""
    with db() as s, s.begin():
        top = add_unit(s, "province", "P1", "Tỉnh Thử")
        x1 = add_unit(s, "commune", "X01", "Xã Một", top)
        x2 = add_unit(s, "commune", "X02", "Xã Hai", top)
        add_unit(s, "district", "D01", "Huyện Một", top)
        s.add_all(
            [
                Zone(id="thon-1", name="Thôn 1", unit=x1),
                Zone(id="thon-2", name="Thôn 2", unit=x1),
                Zone(id="ban-1", name="Bản 1", unit=x2),
            ]
        )
    return db


def _env(settings: Settings, tmp_path: Path, kind: str = "mosquitto") -> dict[str, str]:
    key = tmp_path / "signing-key.pem"
    if not key.exists():
        Signer.generate().save(key)
    return {
        "BROADCASTER_DATABASE_URL": settings.database_url,
        "BROADCASTER_SIGNING_KEY_FILE": str(key),
        "BROADCASTER_BROKER_DIR": str(tmp_path / "broker"),
        "BROADCASTER_BROKER_KIND": kind,
        "BROADCASTER_MQTT_USERNAME": SERVER_USER,
        "BROADCASTER_MQTT_PASSWORD": SERVER_PASSWORD,
        "BROADCASTER_MQTT_HOST": "127.0.0.1",
    }


def _provision(env: dict[str, str], csv: Path, *args: str) -> Result:
    out = str(csv.parent / "bundles")
    return CliRunner(env=env).invoke(
        main,
        ["sites", "provision", "--from", str(csv), "--out", out, "--no-tls", *args],
        catch_exceptions=False,
    )


def _sites_csv(tmp_path: Path, text: str = SITES_CSV) -> Path:
    path = tmp_path / "sites.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _login(tmp_path: Path, site: str) -> AgentConfig:
    return AgentConfig.load(tmp_path / "bundles" / site / "agent.toml")


def test_mosquitto_hashes_are_the_ones_mosquitto_passwd_makes(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text("someone:a-password-of-32-characters-xx\n")
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    subprocess.run([tool, "-U", str(path)], check=True, capture_output=True)
    theirs = path.read_text().strip().split(":", 1)[1]
    assert mosquitto_verify("a-password-of-32-characters-xx", theirs)
    assert not mosquitto_verify("another-password", theirs)
    mine = mosquitto_hash("pw")
    assert mine.startswith("$7$101$") and mosquitto_verify("pw", mine)
    assert not mosquitto_verify("pw", bcrypt_hash("pw"))
    assert bcrypt_hash("pw").startswith("$2a$") and bcrypt_verify("pw", bcrypt_hash("pw"))


def test_bulk_mosquitto_logins_work_and_the_acl_holds(
    province: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    env = _env(settings, tmp_path)
    csv = _sites_csv(tmp_path)
    result = _provision(env, csv, "--player", "file")
    assert result.exit_code == 0, result.output
    assert "3 sites provisioned (3 new passwords, 0 kept) for mosquitto" in result.output
    with province() as s:
        b = s.get(Site, "cum-loa-b")
        assert b is not None and b.name == "Cụm loa thôn 2, chợ" and b.unit.code == "X01"
        assert sorted(z.id for z in b.zones) == ["thon-1", "thon-2"]
    broker_dir = tmp_path / "broker"
    files = BrokerFiles(broker_dir)
    assert files.agents() == {
        "cum-loa-a": ["thon-1"],
        "cum-loa-b": ["thon-1", "thon-2"],
        "cum-loa-c": ["ban-1"],
    }
    assert not list(broker_dir.glob(".*.part")) and not list(tmp_path.glob("bundles/*/.*.part"))

    plain, agents_port = free_port(), free_port()
    conf = broker_dir / "mosquitto.conf"
    text = mosquitto_conf(
        broker_dir,
        plain_port=plain,
        tls_port=None,
        agent_port=agents_port,
        persistence_dir=f"{broker_dir}/",
    )
    text += "log_dest stderr\n" + ("user root\n" if os.geteuid() == 0 else "")
    conf.write_text(text)
    with mosquitto(conf).start() as server:
        server.wait_port(agents_port, 10)
        a = _login(tmp_path, "cum-loa-a")
        assert (a.mqtt_port, a.mqtt_protocol, a.mqtt_tls, a.mqtt_qos) == (1884, "5", False, 1)
        client = Client(agents_port, a.mqtt_username, a.mqtt_password)
        rc = client.connect()
        try:
            assert rc is not None and not rc.is_failure, rc
            assert not client.publish(TOPICS.events("cum-loa-a"), b"mine").is_failure
            assert client.publish(TOPICS.events("cum-loa-b"), b"forged").is_failure
            assert client.publish(TOPICS.plan("cum-loa-a"), b"forged").is_failure
        finally:
            client.close()
        wrong = Client(agents_port, a.mqtt_username, _login(tmp_path, "cum-loa-b").mqtt_password)
        rc = wrong.connect()
        wrong.close()
        assert rc is not None and rc.is_failure  # another site's password


def test_a_rerun_changes_nothing_and_new_passwords_replace_them(
    province: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    env = _env(settings, tmp_path)
    csv = _sites_csv(tmp_path)
    assert _provision(env, csv).exit_code == 0
    before = tmp_path / "before"
    shutil.copytree(tmp_path / "broker", before / "broker")
    shutil.copytree(tmp_path / "bundles", before / "bundles")
    again = _provision(env, csv)
    assert again.exit_code == 0, again.output
    assert "(0 new passwords, 3 kept)" in again.output
    assert "0 added, 0 changed, 3 unchanged" in again.output
    for name in ("broker", "bundles"):
        compared = filecmp.dircmp(before / name, tmp_path / name)
        assert not compared.diff_files and not compared.left_only and not compared.right_only
        for sub in compared.subdirs.values():
            assert not sub.diff_files and not sub.left_only and not sub.right_only

    old = _login(tmp_path, "cum-loa-a").mqtt_password
    rotated = _provision(env, csv, "--new-passwords")
    assert "(3 new passwords, 0 kept)" in rotated.output
    new = _login(tmp_path, "cum-loa-a").mqtt_password
    hashed = BrokerFiles(tmp_path / "broker").hashes()["agent-cum-loa-a"]
    assert new != old and mosquitto_verify(new, hashed) and not mosquitto_verify(old, hashed)


def test_bad_rows_are_named_by_line_and_nothing_is_written(
    province: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    env = _env(settings, tmp_path)
    csv = _sites_csv(
        tmp_path,
        "site,name,unit,zones\n"
        "cum-loa-a,Cụm loa thôn 1,X01,thon-1\n"
        "Cum Loa B,Cụm loa B,X01,thon-1\n"  # line 3: not a slug
        "cum-loa-c,,X01,\n"  # line 4: no name
        "cum-loa-a,Again,X01,thon-1\n"  # line 5: twice
        "cum-loa-d,D,X01,thon-1,extra\n",  # line 6: too many values
    )
    result = _provision(env, csv)
    assert result.exit_code == 1
    for expected in (
        "line 3: site id 'Cum Loa B' is not a lowercase slug",
        "line 4: no name",
        "line 5: site 'cum-loa-a' is already on line 2",
        "line 6: 5 values for 4 columns",
        "4 error(s); nothing was written",
    ):
        assert expected in result.output, result.output

    # Rows that are well formed but do not match the database: found before writing too.
    csv = _sites_csv(
        tmp_path,
        "zones,site,unit,name\n"  # any column order
        "thon-1,cum-loa-a,X01,A\n"
        "thon-9,cum-loa-b,X01,B\n"  # line 3: no such zone
        "ban-1,cum-loa-c,X01,C\n"  # line 4: another commune's zone
        "thon-1,cum-loa-d,D01,D\n"  # line 5: a district, not a commune
        "thon-1,cum-loa-e,X99,E\n",  # line 6: no such unit
    )
    result = _provision(env, csv)
    assert result.exit_code == 1
    for expected in (
        "line 3: no zone 'thon-9' (add it first, or run with --create-zones)",
        "line 4: zone ban-1 belongs to another commune than X01",
        "line 5: unit D01 is a district; a site belongs to a commune",
        "line 6: no unit with code 'X99'",
    ):
        assert expected in result.output, result.output
    assert not (tmp_path / "broker").exists() and not (tmp_path / "bundles").exists()
    with province() as s:
        assert s.scalars(select(Site)).all() == []

    bad_header = _sites_csv(tmp_path, "site,name,commune\ncum-loa-a,A,X01\n")
    result = _provision(env, bad_header)
    assert result.exit_code == 1
    assert "line 1: unknown column(s) commune; missing column(s) unit, zones" in result.output


def test_create_zones_makes_them_in_the_sites_commune(
    province: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    csv = _sites_csv(tmp_path, "site,name,unit,zones\ncum-loa-z,Z,X02,ban-9;ban-1\n")
    result = _provision(_env(settings, tmp_path), csv, "--create-zones")
    assert result.exit_code == 0, result.output
    assert "zones made: ban-9" in result.output
    with province() as s:
        zone = s.get(Zone, "ban-9")
        assert zone is not None and zone.unit.code == "X02"


def test_a_failure_before_commit_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "kept" / "agent.toml"
    target.parent.mkdir()
    target.write_text("old")
    with pytest.raises(RuntimeError), StagedFiles() as staged:
        staged.add(target, "new", 0o600)
        staged.add(tmp_path / "new-dir" / "deep" / "agent.toml", "new", 0o600)
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["agent.toml", "kept"]


@pytest.mark.skipif(
    not (shutil.which("nats-server") or Path("/usr/sbin/nats-server").exists()),
    reason="nats-server is not installed (Debian package nats-server; scripts/bootstrap.sh)",
)
def test_bulk_nats_users_file_on_a_real_cluster(
    province: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    from broadcaster.nats_cluster import NatsCluster

    env = _env(settings, tmp_path, kind="nats")
    result = _provision(env, _sites_csv(tmp_path), "--fallback-brokers", "n2:8883,n3:8883")
    assert result.exit_code == 0, result.output
    assert "for nats" in result.output and "systemctl reload nats-server" in result.output
    users_file = tmp_path / "broker" / "users.conf"
    a = _login(tmp_path, "cum-loa-a")
    assert a.mqtt_protocol == "3.1.1" and a.mqtt_fallback_brokers == "n2:8883,n3:8883"
    assert a.mqtt_qos == 0  # no JetStream consumer per subscription (docs/decisions.md)
    assert a.mqtt_password not in users_file.read_text()  # bcrypt hashes only

    cluster = NatsCluster(
        tmp_path / "nats", server_password=SERVER_PASSWORD, users_file=users_file, size=3
    )
    try:
        cluster.start()  # its readiness probe logs in as the provisioned server user
        port = cluster.nodes[1].mqtt_port
        client = Client(port, a.mqtt_username, a.mqtt_password, protocol=311)
        rc = client.connect()
        try:
            assert rc is not None and not rc.is_failure, rc
            assert not client.subscribe(TOPICS.plan("cum-loa-a")).is_failure
            assert not client.subscribe(TOPICS.zone_cmd("thon-1")).is_failure
            assert client.subscribe(TOPICS.plan("cum-loa-b")).is_failure
            client.publish(TOPICS.events("cum-loa-a"), b"mine")
            client.publish(TOPICS.events("cum-loa-b"), b"forged")
        finally:
            client.close()
        log = cluster.log(cluster.nodes[1])
        deadline = time.monotonic() + 10
        while "Publish Violation" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        violations = [ln for ln in log.read_text().splitlines() if "Violation" in ln]
        assert any("cum-loa-b.events" in ln for ln in violations), violations
        assert not any("cum-loa-a.events" in ln for ln in violations), violations
        wrong = Client(port, a.mqtt_username, "not-the-password", protocol=311)
        rc = wrong.connect()
        wrong.close()
        assert rc is not None and rc.is_failure
    finally:
        cluster.stop()


def test_sites_are_added_and_updated_on_both_databases(any_db_url: str, tmp_path: Path) -> None:
    from broadcaster.db import make_engine, session_factory, transaction
    from broadcaster.provision.site_records import register_sites
    from broadcaster.provision.sites_csv import read_sites_csv

    engine = make_engine(any_db_url)
    factory = session_factory(engine)
    try:
        with transaction(factory) as s:
            top = add_unit(s, "province", "P1", "Tỉnh Thử")
            x1 = add_unit(s, "commune", "X01", "Xã Một", top)
            add_unit(s, "commune", "X02", "Xã Hai", top)
            s.add_all([Zone(id="thon-1", name="Thôn 1", unit=x1)])
        rows = read_sites_csv(_sites_csv(tmp_path))
        with transaction(factory) as s:
            done = register_sites(s, rows, create_zones=True)
        assert (done.added, done.changed, done.zones_created) == (3, 0, ["ban-1", "thon-2"])
        changed = read_sites_csv(
            _sites_csv(tmp_path, SITES_CSV.replace("cum-loa-c,Cụm loa bản Mông", "cum-loa-c,Mới"))
        )
        with transaction(factory) as s:
            again = register_sites(s, changed)
        assert (again.added, again.changed, again.unchanged) == (0, 1, 2)
        with factory() as s:
            c = s.get(Site, "cum-loa-c")
            assert c is not None and c.name == "Mới" and [z.id for z in c.zones] == ["ban-1"]
            assert c.state == "unknown" and c.output == "amplifier"  # the model's defaults
            b = s.get(Site, "cum-loa-b")
            assert b is not None and sorted(z.id for z in b.zones) == ["thon-1", "thon-2"]
    finally:
        engine.dispose()


def test_the_deploy_examples_hold(tmp_path: Path) -> None:
    """deploy/sites.example.csv reads without error; deploy/nats/nats-server.conf is a valid
    NATS config with a provisioned users file where it includes it (relative to /etc)."""
    from broadcaster.provision.nats_files import NatsFiles
    from broadcaster.provision.sites_csv import read_sites_csv
    from broadcaster.provision.tls import make_ca, make_server_cert

    repo = Path(__file__).resolve().parents[2]
    rows = read_sites_csv(repo / "deploy/sites.example.csv")
    assert [r.zones for r in rows] == [("thon-1",), ("thon-1", "thon-2"), ("ban-mong",)]
    if not (shutil.which("nats-server") or Path("/usr/sbin/nats-server").exists()):
        pytest.skip("nats-server is not installed")
    etc = tmp_path / "etc"
    files = NatsFiles(etc / "nats" / "broadcaster")
    files.set_password(SERVER_USER, SERVER_PASSWORD, server=True)
    files.write_acl(TOPICS)
    ca_key, ca = make_ca()
    key, cert = make_server_cert(ca_key, ca, ["nats1.example.gov.vn"])
    files.write(files.server_key, key)
    files.write(files.server_cert, cert)
    conf = (repo / "deploy/nats/nats-server.conf").read_text()
    (etc / "nats-server.conf").write_text(conf.replace('"/etc/', f'"{etc}/'))  # TLS files
    tool = shutil.which("nats-server") or "/usr/sbin/nats-server"
    checked = subprocess.run(
        [tool, "-c", str(etc / "nats-server.conf"), "-t"], capture_output=True, text=True
    )
    assert checked.returncode == 0 and "is valid" in checked.stdout + checked.stderr, checked


def test_one_site_or_a_file_not_both(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, tmp_path)
    for args in ([], ["cum-loa-a", "--from", str(_sites_csv(tmp_path))]):
        result = CliRunner(env=env).invoke(main, ["sites", "provision", *args])
        assert result.exit_code == 2 and "give a SITE or --from FILE" in result.output
