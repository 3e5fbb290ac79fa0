"""The grid chief's hotspot map as a small server-drawn SVG (no plotly, no JavaScript).

A phone on a slow connection should not download plotly.js (about 1.4 MB gzipped, most of
the cockpit's weight) to see twenty hexagons, so the phone view draws its map here: the
unit's heatmap cells coloured on the fixed worry scale (:func:`dashboard.figures.worry_color`),
the hot cells of the period as dashed outlines, numbered repeat places and the unit's
outline, in a local equirectangular projection with coordinates rounded to 0.1 px. The
result is shipped as an ``<img>`` data URI: a few kilobytes, cached by nothing, drawn by the
browser alone.

The drawing has no basemap tiles, so there is nothing the overlays must line up with and
the GCJ-02 shift of :mod:`dashboard.basemap` does not apply: positions are relative to each
other only, and stay in WGS-84 like the exports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import quote

import orjson
import pandas as pd

from dashboard import figures

#: Drawing width in SVG units; the image is scaled to its container (CSS ``width: 100%``).
WIDTH = 360.0
#: Height ÷ width is kept within this range by widening the box in its short direction.
ASPECT = (0.55, 0.9)
#: Margin around the unit's box, as a share of its larger side.
MARGIN = 0.06
HOT_COLOR = figures.MARKS["hotspot"][0]
MARK_COLOR = figures.OPEN


class Projection:
    """Degrees to SVG units for one box (north up, metres equal in x and y).

    Parameters
    ----------
    bbox
        ``(minx, miny, maxx, maxy)`` in degrees (WGS-84).
    width
        Width of the drawing in SVG units.
    """

    def __init__(self, bbox: Sequence[float], width: float = WIDTH) -> None:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        self.kx = math.cos(math.radians((miny + maxy) / 2))
        dx = max((maxx - minx) * self.kx, 1e-6)
        dy = max(maxy - miny, 1e-6)
        pad = max(dx, dy) * MARGIN
        dx, dy = dx + 2 * pad, dy + 2 * pad
        lo, hi = ASPECT
        # widen the short side around the centre so the map is neither a sliver nor a tower
        if dy / dx < lo:
            dy = dx * lo
        elif dy / dx > hi:
            dx = dy / hi
        cx = (minx + maxx) / 2 * self.kx
        cy = (miny + maxy) / 2
        self.x0 = cx - dx / 2
        self.y1 = cy + dy / 2
        self.scale = width / dx
        self.width = width
        self.height = round(dy * self.scale, 1)

    def xy(self, lng: float, lat: float) -> tuple[float, float]:
        """Return the SVG position of a point, rounded to 0.1 unit."""
        return (
            round((lng * self.kx - self.x0) * self.scale, 1),
            round((self.y1 - lat) * self.scale, 1),
        )

    def path(self, rings: Iterable[Sequence[Sequence[float]]]) -> str:
        """Return SVG path data of closed rings (repeated rounded points dropped)."""
        parts: list[str] = []
        for ring in rings:
            points: list[tuple[float, float]] = []
            for lng, lat, *_ in ring:
                p = self.xy(lng, lat)
                if not points or p != points[-1]:
                    points.append(p)
            if len(points) >= 3:
                parts.append("M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in points) + "Z")
        return "".join(parts)


def _n(value: float) -> str:
    """Shortest text of a rounded coordinate (``12.0`` → ``12``)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _polygon_rings(geojson: str | None) -> list[list[list[float]]]:
    """Every ring of a (Multi)Polygon GeoJSON text (none for anything else)."""
    if not isinstance(geojson, str) or not geojson:
        return []
    geom = orjson.loads(geojson)
    if geom.get("type") == "Polygon":
        return list(geom["coordinates"])
    if geom.get("type") == "MultiPolygon":
        return [ring for polygon in geom["coordinates"] for ring in polygon]
    return []


def svg_map(
    cells: pd.DataFrame,
    *,
    bbox: Sequence[float],
    outline: str | None = None,
    hot_rings: Iterable[str] = (),
    marks: Sequence[tuple[str, float, float]] = (),
    width: float = WIDTH,
) -> str:
    """Return the map as SVG text.

    Parameters
    ----------
    cells
        ``ring`` (JSON text ``[[lng, lat], ...]``) and ``worry_index`` (NaN: insufficient
        data, drawn grey), as ``dashboard.data.hex_cells`` returns them.
    bbox
        The unit's box; the drawing frames it.
    outline
        The unit's outline (GeoJSON text), drawn on top.
    hot_rings
        Rings (JSON text) of the period's hot cells, drawn as dashed outlines.
    marks
        ``(label, lng, lat)`` of places to mark with a short label (the worklist's
        numbers of its repeat places).
    width
        Drawing width in SVG units.

    Returns
    -------
    str
        A standalone ``<svg>`` document (dark background, no external reference).
    """
    proj = Projection(bbox, width)
    body: list[str] = [
        f"<rect width='{_n(proj.width)}' height='{_n(proj.height)}' fill='{figures.BACKGROUND}'/>"
    ]
    for ring, worry in zip(cells["ring"], cells["worry_index"], strict=True):
        d = proj.path([orjson.loads(ring)])
        if d:
            body.append(
                f"<path d='{d}' fill='{figures.worry_color(worry)}' fill-opacity='.88'"
                f" stroke='{figures.BACKGROUND}' stroke-width='.8'/>"
            )
    outline_d = proj.path(_polygon_rings(outline))
    if outline_d:
        body.append(
            f"<path d='{outline_d}' fill='none' stroke='{figures.ACCENT}' stroke-width='2'"
            " stroke-linejoin='round'/>"
        )
    for ring in hot_rings:
        d = proj.path([orjson.loads(ring)])
        if d:
            body.append(
                f"<path d='{d}' fill='none' stroke='{HOT_COLOR}' stroke-width='2.2'"
                " stroke-dasharray='5 3'/>"
            )
    for label, lng, lat in marks:
        x, y = proj.xy(lng, lat)
        body.append(
            f"<circle cx='{_n(x)}' cy='{_n(y)}' r='8' fill='{MARK_COLOR}'"
            f" stroke='{figures.BACKGROUND}' stroke-width='1.5'/>"
            f"<text x='{_n(x)}' y='{_n(y + 3.5)}' text-anchor='middle' font-size='10'"
            " font-weight='700' font-family='sans-serif'"
            f" fill='{figures.BACKGROUND}'>{escape(label)}</text>"
        )
    return (
        "<svg xmlns='http://www.w3.org/2000/svg'"
        f" viewBox='0 0 {_n(proj.width)} {_n(proj.height)}'>{''.join(body)}</svg>"
    )


def data_uri(svg: str) -> str:
    """Return ``svg`` as a ``data:`` URI for an ``<img>`` (percent-encoded, not base64).

    Percent-encoding keeps the text repetitive, so it gzips far better than base64 would.
    """
    return "data:image/svg+xml;charset=utf-8," + quote(svg, safe="/:=.,-' ")
