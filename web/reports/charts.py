"""Simple server-side SVG bar charts (no JavaScript, no external library)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bars(items: Sequence[tuple[str, float]], title: str, unit: str = "", width: int = 520) -> str:
    """Horizontal bars, largest first as given; labels left, values right of each bar."""
    bar_h, gap, label_w, value_w = 18, 6, 170, 70
    height = max(1, len(items)) * (bar_h + gap) + 8
    top = max((v for _, v in items), default=0.0) or 1.0
    room = width - label_w - value_w
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * (bar_h + gap)
        w = max(1.0, room * value / top) if value else 0.0
        text = f"{value:,.1f}".rstrip("0").rstrip(".") + unit
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" text-anchor="end" fill="#333">'
            f"{escape(label[:26])}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="#2f6f9f">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
            f'<text x="{label_w + w + 5:.1f}" y="{y + 13}" font-size="12" fill="#333">'
            f"{escape(text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
