"""PDF documents with correct Vietnamese diacritics: reportlab with the DejaVu Sans TTF."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"


class PdfFontMissing(RuntimeError):
    """The DejaVu Sans TTF is not installed, so Vietnamese text cannot be set in a PDF."""


def register_fonts(font_dir: Path | None = None) -> None:
    """Register DejaVu Sans (regular, bold) with reportlab once."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    font_dir = font_dir or FONT_DIR
    regular, bold = font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf"
    if not regular.is_file() or not bold.is_file():
        raise PdfFontMissing(
            f"DejaVu Sans is not installed in {font_dir}: install Debian's fonts-dejavu-core "
            "(scripts/bootstrap.sh does) to export PDFs with Vietnamese diacritics"
        )
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    from reportlab.lib.fonts import addMapping

    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)


# The national header of an official document (Quốc hiệu and tiêu ngữ, Nghị định 30/2020/NĐ-CP).
NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"
# Administrative words a unit's name starts with, left out where the place is named alone.
UNIT_WORDS = ("Thành phố", "Đặc khu", "Phường", "Tỉnh", "Xã")


@dataclass(frozen=True)
class Letterhead:
    """The top of an official document: the issuing body at left (under its parent unit),
    Quốc hiệu and tiêu ngữ at right, then the document's number and its place and date."""

    issuer: str  # the unit's name, e.g. "Xã Đắk Hà"
    day: date
    parent: str = ""  # e.g. "Tỉnh Kon Tum"
    number_suffix: str = "XN-UBND"  # "Số: …/XN-UBND" (xác nhận), filled in by hand

    @property
    def place(self) -> str:
        """ "Đắk Hà" from "Xã Đắk Hà": the place line names the place, not its kind."""
        for word in UNIT_WORDS:
            if self.issuer.startswith(word + " "):
                return self.issuer[len(word) + 1 :]
        return self.issuer

    @property
    def dated(self) -> str:
        return (
            f"{self.place}, ngày {self.day.day:02d} tháng {self.day.month:02d} năm {self.day.year}"
        )


class Doc:
    """A simple A4 document: a title, paragraphs, tables and SVG-free bar charts; with a
    ``letterhead``, an official document's national header above the title."""

    def __init__(
        self, title: str, *, landscape: bool = False, letterhead: Letterhead | None = None
    ) -> None:
        register_fonts()
        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

        self.title = title
        self.landscape = landscape
        base = getSampleStyleSheet()
        self.styles = {
            "title": ParagraphStyle("t", parent=base["Title"], fontName=FONT_BOLD, fontSize=16),
            "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName=FONT_BOLD, fontSize=12),
            "body": ParagraphStyle("b", parent=base["BodyText"], fontName=FONT, fontSize=9.5),
            "cell": ParagraphStyle(
                "c", parent=base["BodyText"], fontName=FONT, fontSize=8, leading=10
            ),  # fmt: skip
        }
        self.story: list[Any] = []
        if letterhead is not None:
            self._letterhead(letterhead)
        self.heading(title, "title")

    def heading(self, text: str, style: str = "h2") -> None:
        from reportlab.platypus import Paragraph

        self.story.append(Paragraph(_esc(text), self.styles[style]))

    def para(self, text: str) -> None:
        from reportlab.platypus import Paragraph

        self.story.append(Paragraph(_esc(text), self.styles["body"]))

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[Any]],
        widths: Sequence[float] | None = None,
        colours: Sequence[str | None] | None = None,
    ) -> None:
        """A table with a bold header; ``colours`` tints each row's background (hex)."""
        from reportlab.lib import colors
        from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

        cell = self.styles["cell"]
        data = [[Paragraph(f"<b>{_esc(h)}</b>", cell) for h in header]]
        data += [
            [Paragraph(_esc("" if v is None else str(v)).replace("\n", "<br/>"), cell) for v in r]
            for r in rows
        ]
        t = Table(data, colWidths=widths, repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        for i, colour in enumerate(colours or [], start=1):
            if colour:
                style.append(("BACKGROUND", (0, i), (-1, i), colors.HexColor(colour)))
        t.setStyle(TableStyle(style))
        self.story += [t, Spacer(1, 8)]

    def _letterhead(self, head: Letterhead) -> None:
        issuer = f"<b>ỦY BAN NHÂN DÂN {_esc(head.issuer.upper())}</b>"
        if head.parent:
            left = [f"ỦY BAN NHÂN DÂN {_esc(head.parent.upper())}", issuer]
        else:
            left = [issuer, ""]
        right = [f"<b>{NATIONAL_NAME}</b>", f"<b><u>{NATIONAL_MOTTO}</u></b>"]
        rows = [
            [left[0], right[0]],
            [left[1], right[1]],
            [f"Số: ........../{_esc(head.number_suffix)}", f"<i>{_esc(head.dated)}</i>"],
        ]
        self._columns(rows, centred=True)

    def signatures(self, *blocks: tuple[Sequence[str], str]) -> None:
        """Signature blocks side by side: each its title lines (the first bold, one in
        parentheses italic), room to sign and stamp, then the signer's name (bold)."""
        self.story.append(_spacer(14))
        marked = [
            [
                f"<b>{_esc(line)}</b>"
                if i == 0
                else (f"<i>{_esc(line)}</i>" if line.startswith("(") else _esc(line))
                for i, line in enumerate(lines)
            ]
            for lines, _ in blocks
        ]
        depth = max(len(m) for m in marked)
        rows = [[m[i] if i < len(m) else "" for m in marked] for i in range(depth)]
        rows.append(["" for _ in blocks])  # the room to sign and stamp
        rows.append([f"<b>{_esc(name)}</b>" for _, name in blocks])
        self._columns(rows, centred=True, heights={depth: 64})

    def _columns(
        self,
        rows: Sequence[Sequence[str]],
        *,
        centred: bool,
        heights: dict[int, float] | None = None,
    ) -> None:
        """Two borderless columns of marked-up lines (already escaped); ``heights`` sets the
        height of some rows (by index)."""
        from reportlab.lib.enums import TA_CENTER, TA_LEFT
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.platypus import Paragraph, Table, TableStyle

        style = ParagraphStyle(
            "col", parent=self.styles["body"], alignment=TA_CENTER if centred else TA_LEFT
        )
        data = [[Paragraph(cell, style) for cell in row] for row in rows]
        row_heights = [(heights or {}).get(i) for i in range(len(rows))]
        t = Table(data, colWidths=["42%", "58%"], rowHeights=row_heights)
        t.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                ]
            )
        )
        self.story += [t, _spacer(10)]

    def bars(self, title: str, items: Sequence[tuple[str, float]], unit: str = "") -> None:
        """A horizontal bar chart drawn with reportlab graphics."""
        from reportlab.graphics.shapes import Drawing, Rect, String
        from reportlab.lib import colors

        if not items:
            return
        self.heading(title)
        width, bar_h, gap, label_w = 480.0, 12.0, 5.0, 170.0
        top = max(v for _, v in items) or 1.0
        d = Drawing(width, len(items) * (bar_h + gap))
        for i, (label, value) in enumerate(items):
            y = (len(items) - 1 - i) * (bar_h + gap)
            d.add(String(0, y + 2, label[:40], fontName=FONT, fontSize=8))
            w = (width - label_w - 60) * value / top
            d.add(Rect(label_w, y, w, bar_h, fillColor=colors.HexColor("#2f6f9f"), strokeWidth=0))
            d.add(String(label_w + w + 4, y + 2, f"{value:g}{unit}", fontName=FONT, fontSize=8))
        self.story += [d, _spacer(6)]

    def render(self) -> bytes:
        from reportlab.lib.pagesizes import A4, landscape
        from reportlab.lib.units import cm
        from reportlab.platypus import SimpleDocTemplate

        out = io.BytesIO()
        size = landscape(A4) if self.landscape else A4
        doc = SimpleDocTemplate(
            out,
            pagesize=size,
            title=self.title,
            leftMargin=1.5 * cm,
            rightMargin=1.5 * cm,
            topMargin=1.5 * cm,
            bottomMargin=1.5 * cm,
        )
        doc.build(self.story, onFirstPage=_footer, onLaterPages=_footer)
        return out.getvalue()


def _footer(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 7.5)
    canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 20, f"{doc.page}")
    canvas.restoreState()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _spacer(height: float) -> Any:
    from reportlab.platypus import Spacer

    return Spacer(1, height)
