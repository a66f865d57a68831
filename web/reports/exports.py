"""The report as XLSX (one sheet per breakdown) and as PDF (tables and bar charts)."""

from __future__ import annotations

from broadcaster.queries.reports import Report
from web.exports.pdf import Doc
from web.exports.tables import xlsx_bytes

DIM_TITLES = {
    "commune": "Theo xã / By commune",
    "zone": "Theo khu vực / By zone",
    "category": "Theo lĩnh vực / By category",
    "campaign": "Theo chiến dịch / By campaign",
}
LINE_HEADER = (
    "Mục / Item",
    "Dự kiến / Planned",
    "Phát trọn / Broadcasts",
    "Phát một phần / Partial",
    "Phút đã phát / Minutes",
    "Đạt / Achieved %",
)


def _lines(r: Report, dim: str) -> list[list[object]]:
    return [
        [x.label, x.planned, x.broadcasts, x.partial, round(x.minutes, 1), round(x.achieved_pct, 1)]
        for x in r.by.get(dim, [])
    ]


def _campaign_rows(r: Report) -> list[list[object]]:
    return [
        [
            c.name,
            c.category,
            c.target_per_week,
            round(c.planned_per_week, 2),
            round(c.achieved_per_week, 2),
            c.airings_planned,
            c.airings_achieved,
        ]  # fmt: skip
        for c in r.campaigns
    ]


CAMPAIGN_HEADER = (
    "Chiến dịch / Campaign",
    "Lĩnh vực / Category",
    "Mục tiêu/tuần / Target per week",
    "Dự kiến/tuần / Planned per week",
    "Đạt/tuần / Achieved per week",
    "Lượt dự kiến / Airings planned",
    "Lượt đạt / Airings achieved",
)
COVERAGE_HEADER = (
    "Bản tin / Announcement",
    "Cụm loa nhắm tới / Targeted",
    "Phát trọn / Fully",
    "Độ phủ / Coverage %",
)


def _coverage_rows(r: Report) -> list[list[object]]:
    return [[c.title, c.targeted, c.played_fully, round(c.coverage, 1)] for c in r.coverage]


def report_xlsx(r: Report) -> bytes:
    t = r.total
    summary: list[list[object]] = [
        ["Từ ngày / From", r.filter.start.isoformat()],
        ["Đến ngày / To", r.filter.end.isoformat()],
        ["Dự kiến / Planned", t.planned],
        ["Phát trọn / Broadcasts", t.broadcasts],
        ["Phát một phần / Partial", t.partial],
        ["Phút đã phát / Minutes aired", round(t.minutes, 1)],
    ]
    sheets: list[tuple[str, tuple[str, ...] | list[str], list[list[object]]]] = [
        ("Tong hop", ["Chỉ số / Figure", "Giá trị / Value"], summary)
    ]
    for dim, title in DIM_TITLES.items():
        sheets.append((title.split(" / ")[1], LINE_HEADER, _lines(r, dim)))
    sheets.append(("Frequency", CAMPAIGN_HEADER, _campaign_rows(r)))
    sheets.append(("Coverage", COVERAGE_HEADER, _coverage_rows(r)))
    return xlsx_bytes(sheets)  # type: ignore[arg-type]


def report_pdf(r: Report) -> bytes:
    doc = Doc("Báo cáo phát thanh / Broadcast report", landscape=True)
    t = r.total
    doc.para(
        f"Kỳ báo cáo / Period: {r.filter.start:%d/%m/%Y} – {r.filter.end:%d/%m/%Y} · "
        f"Dự kiến / planned: {t.planned} · Phát trọn / broadcasts: {t.broadcasts} · "
        f"Một phần / partial: {t.partial} · Phút đã phát / minutes aired: {t.minutes:.1f}"
    )
    for dim, title in DIM_TITLES.items():
        lines = r.by.get(dim, [])
        if not lines:
            continue
        doc.bars(title, [(x.label, x.broadcasts) for x in lines[:15]])
        doc.table(LINE_HEADER, _lines(r, dim))
    if r.campaigns:
        doc.heading("Tần suất dự kiến và đạt được / Planned vs achieved frequency")
        doc.table(CAMPAIGN_HEADER, _campaign_rows(r))
    if r.coverage:
        doc.heading("Độ phủ theo bản tin / Coverage per announcement")
        doc.table(COVERAGE_HEADER, _coverage_rows(r))
    return doc.render()
