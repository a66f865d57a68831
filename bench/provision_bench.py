"""Benchmark: bulk provisioning, `broadcaster sites provision --from sites.csv`, for 5,000 sites
(issue 12: under a minute; ~75 min before, at 0.9 s a site).

Run: .venv/bin/python -m bench.provision_bench [--sites 5000] [--kind mosquitto,nats]
         [--database-url URL]

Each kind: the command for one site (a fresh process's fixed cost: imports, the database's
migration check), then the real command in a fresh process (CSV checked, sites added to the database,
passwords made and hashed, 5,000 bundles and the broker's files staged then renamed into place),
then the same command again (a re-run: nothing changes, passwords kept, hashes verified).
Beside it, in the same run, the bare parts: hashing 5,000 passwords alone (the broker's hash)
and writing 5,000 bundle folders of two files alone (plain writes and one sync); "first / bare"
is the first run over their sum. And the old way's cost: one ``mosquitto_passwd -U`` process
per site (timed for 20 sites, times 5,000).

The database (SQLite in a temporary folder by default) holds a province with one commune per 10
sites and 10 zones per commune; each site has two zones of its commune.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.db import make_engine, session_factory, transaction, upgrade
from broadcaster.models import Unit, Zone
from broadcaster.provision.passwords import bcrypt_hash, mosquitto_hash
from broadcaster.wire.signing import Signer

REPO = Path(__file__).resolve().parents[1]
SERVER_PASSWORD = "bench-server-password-0123456789"


def make_province(url: str, sites: int, csv: Path) -> None:
    upgrade(url)
    engine = make_engine(url)
    communes = max(1, sites // 10)
    with transaction(session_factory(engine)) as s:
        if s.scalar(select(Unit.id).where(Unit.code == "BENCH")) is not None:
            communes = len(s.scalars(select(Unit.id).where(Unit.kind == "commune")).all())
        else:
            _add_units(s, communes)
    engine.dispose()
    lines = ["site,name,unit,zones"]
    for i in range(sites):
        c = i % communes
        lines.append(f"site-{i:05d},Cụm loa {i},B{c:05d},z{c}-{i % 10} z{c}-{(i + 1) % 10}")
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _add_units(s: Session, communes: int) -> None:
    top = Unit(kind="province", code="BENCH", name="Tỉnh Thử")
    s.add(top)
    for c in range(communes):
        unit = Unit(kind="commune", code=f"B{c:05d}", name=f"Xã {c}", parent=top)
        s.add(unit)
        s.add_all(Zone(id=f"z{c}-{z}", name=f"Thôn {z}", unit=unit) for z in range(10))


def provision(kind: str, url: str, tmp: Path, csv: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command's process, its summary line)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "BROADCASTER_DATABASE_URL": url,
        "BROADCASTER_SIGNING_KEY_FILE": str(tmp / "signing-key.pem"),
        "BROADCASTER_BROKER_DIR": str(tmp / kind / "broker"),
        "BROADCASTER_BROKER_KIND": kind,
        "BROADCASTER_MQTT_USERNAME": "server",
        "BROADCASTER_MQTT_PASSWORD": SERVER_PASSWORD,
    }
    command = [sys.executable, "-m", "broadcaster.cli", "sites", "provision", "--from", str(csv)]
    command += ["--out", str(tmp / kind / "bundles"), "--no-tls", "--broker-host", "mqtt1"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"provisioning failed:\n{done.stdout}\n{done.stderr}")
    last = [line for line in done.stderr.splitlines() if "sites provisioned" in line]
    return elapsed, cpu, last[-1].split("] ", 1)[-1] if last else ""


def bare_hashing(kind: str, n: int) -> tuple[float, float]:
    """(wall, CPU) seconds to hash ``n`` passwords one after the other."""
    hash_password = bcrypt_hash if kind == "nats" else mosquitto_hash
    passwords = [secrets.token_urlsafe(24) for _ in range(n)]
    started, cpu = time.perf_counter(), time.process_time()
    for p in passwords:
        hash_password(p)
    return time.perf_counter() - started, time.process_time() - cpu


def bare_writes(tmp: Path, n: int) -> tuple[float, float]:
    """A folder and two small files a site (a bundle without TLS, as the runs write them),
    plain writes, one sync."""
    root = tmp / f"bare-{secrets.token_hex(4)}"
    toml, keys = b"x" * 900, b"y" * 150
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        d = root / f"site-{i:05d}"
        d.mkdir(parents=True)
        for name, data in (("agent.toml", toml), ("trusted-keys.json", keys)):
            (d / name).write_bytes(data)
    os.sync()
    return time.perf_counter() - started, time.process_time() - cpu


def old_way_per_site(tmp: Path, samples: int = 20) -> float:
    """One ``mosquitto_passwd -U`` process per site, as provisioning did (per site, seconds)."""
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    path = tmp / "old-way-passwd"
    started = time.perf_counter()
    for i in range(samples):
        path.write_text(f"agent-{i}:{secrets.token_urlsafe(24)}\n")
        subprocess.run([tool, "-U", str(path)], check=True, capture_output=True)
    return (time.perf_counter() - started) / samples


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=5000)
    ap.add_argument("--kind", default="mosquitto,nats")
    ap.add_argument("--database-url", default="", help="default: SQLite in a temporary folder")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(
        f"# provision_bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{os.cpu_count()} CPUs, load {load:.1f}, {args.sites} sites"
    )
    with tempfile.TemporaryDirectory(prefix="provision-bench-") as name:
        tmp = Path(name)
        Signer.generate().save(tmp / "signing-key.pem")
        csv = tmp / "sites.csv"
        old = old_way_per_site(tmp)
        print(f"old way: mosquitto_passwd per site {old * 1000:.0f} ms → {old * args.sites:.0f} s")
        print(
            "Wall time (CPU time of the process in brackets: what a loaded machine changes least)"
        )
        print(
            "| broker | one site (fixed cost) | first run | re-run | bare: hashing "
            "| bare: writing | first / bare |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for kind in args.kind.split(","):
            url = args.database_url or f"sqlite:///{tmp}/{kind}.sqlite3"
            make_province(url, args.sites, csv)
            one = tmp / "one.csv"
            one.write_text("\n".join(csv.read_text().splitlines()[:2]) + "\n", encoding="utf-8")
            fixed, fixed_cpu, _ = provision(kind, url, tmp / "one", one)
            first, first_cpu, said = provision(kind, url, tmp, csv)
            again, again_cpu, said_again = provision(kind, url, tmp, csv)
            hashing, hashing_cpu = bare_hashing(kind, args.sites)
            writing, writing_cpu = bare_writes(tmp, args.sites)
            print(
                f"| {kind} | {fixed:.1f} s ({fixed_cpu:.1f}) | {first:.1f} s ({first_cpu:.1f}) "
                f"| {again:.1f} s ({again_cpu:.1f}) | {hashing:.2f} s ({hashing_cpu:.2f}) "
                f"| {writing:.2f} s ({writing_cpu:.2f}) | {first / (hashing + writing):.1f}× "
                f"({first_cpu / (hashing_cpu + writing_cpu):.1f}×) |"
            )
            print(f"  ({said}; re-run: {said_again})", file=sys.stderr)


if __name__ == "__main__":
    main()
