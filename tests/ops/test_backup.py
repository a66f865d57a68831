"""deploy/backup/broadcaster-backup.sh on the local PostgreSQL, then the restore that
deploy/PROVINCE.md documents: the restored database has the same rows, the media copy the same
files; a second run copies only what is new and old dumps are pruned."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from broadcaster.db import make_engine, session_factory, transaction, upgrade
from broadcaster.models import Site, User, Zone
from schedules.programme_import import import_demo
from tests.conftest import POSTGRES_URL, _postgres_available
from tests.ops.conftest import ROOT

pytestmark = pytest.mark.postgres
SCRIPT = ROOT / "deploy/backup/broadcaster-backup.sh"
RAW = POSTGRES_URL.replace("+psycopg", "")  # postgresql://postgres@127.0.0.1:5432/test


def url_of(database: str, driver: bool = False) -> str:
    base = POSTGRES_URL if driver else RAW
    return base.rsplit("/", 1)[0] + "/" + database


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """(a database of its own for the installation, a name for the restored copy)."""
    reason = _postgres_available()
    if reason:
        pytest.skip(reason)
    live, restored = (f"t_backup_{uuid.uuid4().hex[:8]}" for _ in range(2))
    with psycopg.connect(RAW, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{live}"')
    try:
        yield live, restored
    finally:
        with psycopg.connect(RAW, autocommit=True) as conn:
            for name in (live, restored):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return {
                m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
                for m in (Site, User, Zone)
            }
    finally:
        engine.dispose()


def test_backup_then_restore(databases: tuple[str, str], tmp_path: Path) -> None:
    live, restored = databases
    upgrade(url_of(live, driver=True))
    engine = make_engine(url_of(live, driver=True))
    with transaction(session_factory(engine)) as session:
        import_demo(session)
    engine.dispose()
    media = tmp_path / "media"
    (media / "ab").mkdir(parents=True)
    (media / "ab" / "ab12.mp3").write_bytes(b"one")
    backups, remote = tmp_path / "backups", tmp_path / "remote"
    env = dict(
        os.environ,
        BACKUP_DATABASE=url_of(live),
        BACKUP_DIR=str(backups),
        BACKUP_MEDIA_DIR=str(media),
        BACKUP_RSYNC_TO=f"{remote}/",
    )
    first = subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    dumps = sorted(backups.glob("db-*.dump"))
    assert len(dumps) == 1 and "media 1 files" in first.stdout

    # The restore, as deploy/PROVINCE.md says.
    host, user = "127.0.0.1", "postgres"  # those of POSTGRES_URL
    assert f"{user}@{host}" in RAW
    subprocess.run(["createdb", "-h", host, "-U", user, restored], check=True, timeout=30)
    restore = subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={url_of(restored)}", str(dumps[0])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert restore.returncode == 0, restore.stderr
    original = counts(url_of(live, driver=True))
    assert original["sites"] > 0  # the demo programme's sites
    assert counts(url_of(restored, driver=True)) == original
    assert (remote / "media" / "ab" / "ab12.mp3").read_bytes() == b"one"
    assert sorted(p.name for p in remote.glob("db-*.dump")) == [dumps[0].name]

    # A dump older than BACKUP_KEEP_DAYS goes; new media files are added, none removed.
    old = time.time() - 20 * 86400
    os.utime(dumps[0], (old, old))
    (media / "ab" / "ab12.mp3").unlink()
    (media / "ab" / "ab34.mp3").write_bytes(b"two")
    time.sleep(1.1)  # the next dump gets another name (one-second stamps)
    second = subprocess.run(
        [SCRIPT], env=dict(env, BACKUP_KEEP_DAYS="14"), capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stderr
    assert dumps[0] not in set(backups.glob("db-*.dump"))
    assert len(list(backups.glob("db-*.dump"))) == 1
    assert sorted(p.name for p in (backups / "media" / "ab").iterdir()) == ["ab12.mp3", "ab34.mp3"]
