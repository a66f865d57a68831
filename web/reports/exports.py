"""The report as XLSX (one sheet per breakdown) and as PDF (tables and bar charts): the
reports sent up the chain ("chế độ báo cáo"), for a unit and a period, annual or ad hoc.

Headings are bilingual (Vietnamese / English) like every export; values are names, never codes
(a category's label, a unit's name), and sheets are named in the request's language."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_pgettext

from broadcaster.queries.reports import CampaignLine, Report
from web.campaigns.labels import category_label
from web.exports.pdf import Doc
from web.exports.tables import sheet_title, xlsx_bytes

DIM_TITLES = {
    "unit": "Theo đơn vị trực thuộc / By unit below",
    "commune": "Theo xã phát / By commune aired under",
    "zone": "Theo thôn, khu vực / By zone",
    "site": "Theo cụm loa / By speaker site",
    "category": "Theo lĩnh vực / By category",
    "campaign": "Theo chiến dịch / By campaign",
}
# Sheet names in the request's language (Excel: at most 31 characters, none of []:*?/\).
SHEET_NAMES = {
    "summary": lazy_pgettext("sheet name", "Summary"),
    "unit": lazy_pgettext("sheet name", "By unit below"),
    "commune": lazy_pgettext("sheet name", "By commune aired under"),
    "zone": lazy_pgettext("sheet name", "By zone"),
    "site": lazy_pgettext("sheet name", "By speaker site"),
    "category": lazy_pgettext("sheet name", "By category"),
    "campaign": lazy_pgettext("sheet name", "By campaign"),
    "frequency": lazy_pgettext("sheet name", "Campaign frequency"),
    "frequency-commune": lazy_pgettext("sheet name", "Frequency per commune"),
    "coverage": lazy_pgettext("sheet name", "Coverage"),
}
LINE_HEADER = (
    "Mục / Item",
    "Dự kiến / Planned",
    "Phát trọn / Broadcasts",
    "Phát một phần / Partial",
    "Phút đã phát / Minutes",
    "Đạt / Achieved %",
)
CAMPAIGN_HEADER = (
    "Chiến dịch / Campaign",
    "Lĩnh vực / Category",
    "Mục tiêu/tuần/xã / Target per week and commune",
    "Dự kiến/tuần/xã / Planned per week and commune",
    "Đạt/tuần/xã / Achieved per week and commune",
    "Lượt dự kiến / Airings planned",
    "Lượt đạt / Airings achieved",
)
FREQUENCY_HEADER = (
    "Chiến dịch / Campaign",
    "Xã / Commune",
    "Mục tiêu/tuần / Target per week",
    "Dự kiến/tuần / Planned per week",
    "Đạt/tuần / Achieved per week",
    "Lượt dự kiến / Airings planned",
    "Lượt đạt / Airings achieved",
    "Đạt mục tiêu / Of target %",
)
COVERAGE_HEADER = (
    "Bản tin / Announcement",
    "Cụm loa nhắm tới / Targeted",
    "Phát trọn / Fully",
    "Độ phủ / Coverage %",
)


def period_name(r: Report) -> str:
    """ "Năm 2026" for a calendar year, else the dates."""
    start, end = r.filter.start, r.filter.end
    if start == date(start.year, 1, 1) and end == date(start.year, 12, 31):
        return f"Năm {start.year} / Year {start.year} ({start:%d/%m/%Y} – {end:%d/%m/%Y})"
    return f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"


def unit_name(r: Report, zone_name: str = "") -> str:
    name = r.unit.name if r.unit else "Toàn bộ / All units"
    return f"{name} › {zone_name}" if zone_name else name


def _lines(r: Report, dim: str) -> list[list[object]]:
    return [
        [
            category_label(x.key) if dim == "category" else x.label,
            x.planned,
            x.broadcasts,
            x.partial,
            round(x.minutes, 1),
            round(x.achieved_pct, 1),
        ]
        for x in r.by.get(dim, [])
    ]


def _campaign_rows(r: Report) -> list[list[object]]:
    return [
        [
            c.name,
            category_label(c.category),
            c.target_per_week,
            round(c.planned_per_week, 2),
            round(c.achieved_per_week, 2),
            c.airings_planned,
            c.airings_achieved,
        ]
        for c in r.campaigns
    ]


def _of_target(achieved_per_week: float, c: CampaignLine) -> object:
    if not c.target_per_week:
        return ""
    return round(100.0 * achieved_per_week / c.target_per_week, 1)


def _frequency_rows(r: Report) -> list[list[object]]:
    """Planned vs achieved frequency per commune, for each campaign."""
    return [
        [
            c.name,
            x.label,
            c.target_per_week,
            round(x.planned_per_week, 2),
            round(x.achieved_per_week, 2),
            x.airings_planned,
            x.airings_achieved,
            _of_target(x.achieved_per_week, c),
        ]
        for c in r.campaigns
        for x in c.communes
    ]


def _coverage_rows(r: Report) -> list[list[object]]:
    return [[c.title, c.targeted, c.played_fully, round(c.coverage, 1)] for c in r.coverage]


def _summary(r: Report, made_on: date, zone_name: str) -> list[list[object]]:
    t = r.total
    return [
        ["Đơn vị / Unit", unit_name(r, zone_name)],
        ["Kỳ báo cáo / Period", period_name(r)],
        ["Từ ngày / From", r.filter.start.isoformat()],
        ["Đến ngày / To", r.filter.end.isoformat()],
        ["Ngày lập / Made on", made_on.isoformat()],
        ["Dự kiến / Planned", t.planned],
        ["Phát trọn / Broadcasts", t.broadcasts],
        ["Phát một phần / Partial", t.partial],
        ["Phút đã phát / Minutes aired", round(t.minutes, 1)],
        ["Đạt / Achieved %", round(t.achieved_pct, 1)],
    ]


def report_xlsx(r: Report, made_on: date, zone_name: str = "") -> bytes:
    def name(key: str) -> str:
        return sheet_title(str(SHEET_NAMES[key]))

    sheets: list[tuple[str, tuple[str, ...] | list[str], list[list[object]]]] = [
        (name("summary"), ["Chỉ số / Figure", "Giá trị / Value"], _summary(r, made_on, zone_name))
    ]
    for dim in DIM_TITLES:
        if dim not in r.skipped:
            sheets.append((name(dim), LINE_HEADER, _lines(r, dim)))
    sheets.append((name("frequency"), CAMPAIGN_HEADER, _campaign_rows(r)))
    sheets.append((name("frequency-commune"), FREQUENCY_HEADER, _frequency_rows(r)))
    sheets.append((name("coverage"), COVERAGE_HEADER, _coverage_rows(r)))
    return xlsx_bytes(sheets)  # type: ignore[arg-type]


def report_pdf(r: Report, made_on: date, zone_name: str = "") -> bytes:
    doc = Doc("Báo cáo kết quả phát thanh / Broadcast report", landscape=True)
    t = r.total
    doc.para(f"Đơn vị / Unit: {unit_name(r, zone_name)}")
    doc.para(f"Kỳ báo cáo / Period: {period_name(r)} · Ngày lập / Made on: {made_on:%d/%m/%Y}")
    doc.para(
        f"Dự kiến / planned: {t.planned} · Phát trọn / broadcasts: {t.broadcasts} · "
        f"Một phần / partial: {t.partial} · Phút đã phát / minutes aired: {t.minutes:.1f} · "
        f"Đạt / achieved: {t.achieved_pct:.1f} %"
    )
    for dim, title in DIM_TITLES.items():
        lines = _lines(r, dim)
        if not lines:
            continue
        doc.bars(title, [(str(x[0]), float(x[2])) for x in lines[:15]])  # type: ignore[arg-type]
        doc.table(LINE_HEADER, lines)
    if r.campaigns:
        doc.heading("Tần suất dự kiến và đạt được / Planned vs achieved frequency")
        doc.table(CAMPAIGN_HEADER, _campaign_rows(r))
        doc.heading("Tần suất theo xã / Frequency per commune")
        doc.table(FREQUENCY_HEADER, _frequency_rows(r))
    if r.coverage:
        doc.heading("Độ phủ theo bản tin / Coverage per announcement")
        doc.table(COVERAGE_HEADER, _coverage_rows(r))
    return doc.render()
