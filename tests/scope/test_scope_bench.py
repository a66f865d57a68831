"""bench/scope_bench.py at a toy size, so it cannot rot: a province of 10 communes, one day of
airings, on SQLite and PostgreSQL. No timing is asserted (the figures are in bench/RESULTS.md);
the bench itself checks, before it times anything, that each scoped page shows what the same
page without a scope shows: everything for the province, the commune's rows for the commune."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import logquery_bench, scope_bench


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_scope_bench_runs_and_its_scopes_agree_with_the_filters(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(logquery_bench, "COMMUNES", 10)
    monkeypatch.setattr(logquery_bench, "SITES", 10 * 15)
    monkeypatch.setattr(logquery_bench, "ANNOUNCEMENTS", 120)
    ratios = scope_bench.main(
        ["--days", "1", "--runs", "1", "--bulletins", "4", "--db", kind, "--dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    pages = len(scope_bench.LOG_VIEWS) + 3  # the inbox, the sender's view, the report
    assert len(ratios) == 2 * pages and all(r > 0 for r in ratios)
    assert "commune's inbox" in out and "the month's roll-up report" in out
    assert f"{kind}: 900 playbacks" in out  # 150 sites × 6 a day
