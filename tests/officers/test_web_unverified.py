"""Issue 10: an airing a site reports without it having been sent to it (forged proof) shows as
unverified on the log, the proof page, the exports and the API, and counts nowhere."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

from officers_seed import DAY1, Seeded

from broadcaster.clock import FakeClock
from broadcaster.ingest import Ingestor
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.messages import Event
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics


def forge(seeded: Seeded, site: str, item: str, ann: int) -> None:
    """What a stolen Pi's credentials let it say: its own site, any airing (ingest's real path)."""
    ingestor = Ingestor(
        seeded.factory, Signer.generate(), MemoryPublisher(), Topics(), FakeClock(DAY1)
    )
    ingestor.store_events(
        [
            Event(str(uuid.uuid4()), site, "ob-forger", 1, "started", DAY1, item, ann, DAY1),
            Event(str(uuid.uuid4()), site, "ob-forger", 2, "finished",
                  DAY1 + timedelta(minutes=2), item, ann, DAY1),
        ]
    )  # fmt: skip


def test_a_forged_airing_is_marked_and_not_counted(officer, seeded_sqlite: Seeded) -> None:
    vaccine = seeded_sqlite.vaccine
    before = json.loads(officer.get(f"/api/v1/announcements/{vaccine}/proof").data)
    forge(seeded_sqlite, "cum-loa-t2", "forged-1", vaccine)

    page = officer.get(f"/logs/?announcement={vaccine}").get_data(as_text=True)
    assert page.count("Chưa xác minh</span>") == 1  # only the forged row
    proof_page = officer.get(f"/logs/proof/{vaccine}").get_data(as_text=True)
    assert "Báo cáo chưa xác minh (không được tính)" in proof_page
    assert proof_page.split('id="unverified"')[1].count("Cụm loa thôn 2") == 1

    proof = json.loads(officer.get(f"/api/v1/announcements/{vaccine}/proof").data)
    t2 = next(s for s in proof["sites"] if s["site_id"] == "cum-loa-t2")
    assert (t2["outcome"], t2["reason"]) == ("none", "failed")  # still what it really did
    assert proof["coverage_pct"] == before["coverage_pct"]
    assert [u["item_id"] for u in proof["unverified"]] == ["forged-1"]

    items = json.loads(officer.get(f"/api/v1/logs?announcement={vaccine}").data)["items"]
    assert {i["item_id"]: i["verified"] for i in items if i["site_id"] == "cum-loa-t2"} == {
        f"s{vaccine}-{int(DAY1.timestamp())}": True,
        "forged-1": False,
    }
    text = officer.get(f"/logs/export.csv?announcement={vaccine}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r[12] for r in rows[1:] if r[0] == "forged-1"] == [
        "Đã phát (chưa xác minh / unverified)"
    ]
