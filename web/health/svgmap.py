"""A map of sites drawn server-side as SVG from their coordinates: no tile server needed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from broadcaster.queries.health import SiteHealth

COLOURS = {"ok": "#2e9e4f", "warning": "#e0a100", "critical": "#d33a2c", "unknown": "#9aa3ab"}


@dataclass(frozen=True)
class Point:
    site_id: str
    name: str
    level: str
    x: float
    y: float


def project(
    sites: Sequence[SiteHealth], width: int = 640, height: int = 480, pad: int = 30
) -> list[Point]:
    """Equirectangular projection of the sites with coordinates into the box, aspect kept."""
    located = [s for s in sites if s.latitude is not None and s.longitude is not None]
    if not located:
        return []
    lats = [s.latitude for s in located if s.latitude is not None]
    lons = [s.longitude for s in located if s.longitude is not None]
    mid = math.cos(math.radians((max(lats) + min(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * mid, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2
    out = []
    for s in located:
        assert s.latitude is not None and s.longitude is not None
        x = off_x + (s.longitude - min(lons)) * mid * scale
        y = height - (off_y + (s.latitude - min(lats)) * scale)
        out.append(Point(s.site_id, s.name, s.level, round(x, 1), round(y, 1)))
    return out


def render(sites: Sequence[SiteHealth], title: str, width: int = 640, height: int = 480) -> str:
    """The SVG markup; each site is a coloured dot with its name and a tooltip."""
    points = project(sites, width, height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="group" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for p in points:
        colour = COLOURS.get(p.level, COLOURS["unknown"])
        parts.append(
            f'<a href="#site-{escape(p.site_id)}"><g class="site h-{p.level}">'
            f"<title>{escape(p.name)}</title>"
            f'<circle cx="{p.x}" cy="{p.y}" r="8" fill="{colour}" stroke="#fff" stroke-width="2"/>'
            + _label(p, width)
            + "</g></a>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _label(p: Point, width: int) -> str:
    """The site's name beside its dot, on the side with room (left in the right half)."""
    right = p.x > width * 0.55
    x, anchor = (p.x - 11, "end") if right else (p.x + 11, "start")
    return (
        f'<text x="{x}" y="{p.y + 4}" font-size="12" fill="#222" text-anchor="{anchor}">'
        f"{escape(p.name[:28])}</text>"
    )
