"""Pure figure builders: frames in, plain plotly figure **dicts** out.

No DuckDB, no callbacks, no globals beyond constants. Dicts (not ``go.Figure``) because they
cost nothing to build and Dash serialises them as they are; plotly.js fills in defaults.

The map is fully offline: its MapLibre style is an inline object with one background layer,
no tile source and no ``glyphs`` URL. Without a glyphs URL MapLibre (6.x, bundled with
plotly.js 4) draws every label glyph locally with the browser's fonts, so Chinese labels
render without any request. Plotly's built-in ``"white-bg"`` style would be offline for
polygons too, but it names a remote glyphs URL that text labels would fetch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import pandas as pd

from dashboard.fmt import plotly_text

Figure = dict[str, Any]

#: The worry index is always coloured on this fixed range, whatever the view holds, so that
#: the same colour means the same worry on every level and in every period.
WORRY_RANGE = (0.0, 100.0)
WORRY_COLORSCALE: tuple[tuple[float, str], ...] = (
    (0.0, "#1a9850"),
    (0.25, "#91cf60"),
    (0.5, "#fee08b"),
    (0.75, "#fc8d59"),
    (1.0, "#d73027"),
)
INSUFFICIENT_COLOR = "#5b6b82"

BACKGROUND = "#07111f"
TEXT = "#d7e3f4"
MUTED = "#8ea3bf"
GRID = "rgba(142, 163, 191, 0.14)"
ACCENT = "#38bdf8"
CLOSED = "#34d399"
OPEN = "#fb923c"
FONT_FAMILY = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "Helvetica Neue", Arial, sans-serif'
)

#: An offline MapLibre style: a plain background, no sources, deliberately no ``glyphs``.
MAP_STYLE: dict[str, Any] = {
    "version": 8,
    "name": "yiwang-dark",
    "sources": {},
    "layers": [
        {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}}
    ],
}

#: Pixel size the default view is fitted to: the map panel on a 1920×1080 wall.
MAP_VIEWPORT = (1150, 820)
#: MapLibre's world is 512 px wide at zoom 0.
_TILE = 512.0


def worry_color(value: object) -> str:
    """Return the colour of a worry index on the fixed 0–100 scale (grey if missing).

    Parameters
    ----------
    value
        Worry index 0–100, or ``None``/NaN for insufficient data.

    Returns
    -------
    str
        ``#rrggbb``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return INSUFFICIENT_COLOR
    lo, hi = WORRY_RANGE
    x = min(max((float(value) - lo) / (hi - lo), 0.0), 1.0)  # type: ignore[arg-type]
    for (x0, c0), (x1, c1) in itertools.pairwise(WORRY_COLORSCALE):
        if x <= x1:
            f = 0.0 if x1 == x0 else (x - x0) / (x1 - x0)
            rgb0 = [int(c0[i : i + 2], 16) for i in (1, 3, 5)]
            rgb1 = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
            return "#" + "".join(
                f"{round(a + (b - a) * f):02x}" for a, b in zip(rgb0, rgb1, strict=True)
            )
    return WORRY_COLORSCALE[-1][1]


def map_view(
    bbox: Sequence[float],
    *,
    viewport: tuple[int, int] = MAP_VIEWPORT,
    padding: float = 0.12,
) -> tuple[dict[str, float], float]:
    """Return the centre and zoom that fit ``bbox`` into a ``viewport`` of pixels.

    Parameters
    ----------
    bbox
        ``(minx, miny, maxx, maxy)`` in degrees (WGS-84).
    viewport
        ``(width, height)`` of the map in CSS pixels.
    padding
        Zoom levels subtracted as a margin around the box.

    Returns
    -------
    tuple
        ``({"lon": ..., "lat": ...}, zoom)``.
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    width, height = viewport

    def merc(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dx = max(maxx - minx, 1e-6)
    dy = max(merc(maxy) - merc(miny), 1e-8)
    zoom_x = math.log2(width * 360.0 / (_TILE * dx))
    zoom_y = math.log2(height * 2 * math.pi / (_TILE * dy))
    zoom = min(max(min(zoom_x, zoom_y) - padding, 2.0), 18.0)
    # Centre on the Mercator midpoint so the box is vertically balanced on screen.
    mid = (merc(miny) + merc(maxy)) / 2
    lat = math.degrees(2 * math.atan(math.exp(mid)) - math.pi / 2)
    return {"lon": (minx + maxx) / 2, "lat": lat}, round(zoom, 3)


def hex_feature_collection(cell_ids: Iterable[str], rings: Iterable[str]) -> dict[str, Any]:
    """Build a GeoJSON FeatureCollection of H3 polygons keyed by ``cell_id``.

    The rings are already compact JSON text (``[[lng,lat],...]``), so features are joined as
    text and parsed once: an order of magnitude faster than building nested dicts.

    Parameters
    ----------
    cell_ids
        Hex-string H3 ids; they become the feature ``id`` that ``locations`` refer to.
    rings
        Closed rings as JSON text, one per cell.

    Returns
    -------
    dict
        GeoJSON ``FeatureCollection``.
    """
    features = ",".join(
        f'{{"type":"Feature","id":"{cid}","geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}'
        for cid, ring in zip(cell_ids, rings, strict=True)
    )
    return dict(orjson.loads(f'{{"type":"FeatureCollection","features":[{features}]}}'))


def geometry_lines(
    geometries: Iterable[str | None],
) -> tuple[list[float | None], list[float | None]]:
    """Flatten (Multi)Polygon GeoJSON texts into ``lon``/``lat`` line arrays.

    Rings are separated by ``None`` so one ``scattermap`` trace draws every outline.

    Returns
    -------
    tuple of list
        ``(lons, lats)``.
    """
    lons: list[float | None] = []
    lats: list[float | None] = []
    for text in geometries:
        if not isinstance(text, str) or not text:  # None/NaN: a unit without a shape
            continue
        geom = orjson.loads(text)
        kind = geom.get("type")
        if kind == "Polygon":
            polygons = [geom["coordinates"]]
        elif kind == "MultiPolygon":
            polygons = geom["coordinates"]
        else:
            continue
        for polygon in polygons:
            for ring in polygon:
                for lng, lat, *_ in ring:
                    lons.append(lng)
                    lats.append(lat)
                lons.append(None)
                lats.append(None)
    return lons, lats


def outline_traces(
    geometries: Iterable[str | None], *, width: float, color: str
) -> list[dict[str, Any]]:
    """One ``scattermap`` line trace drawing every outline (none when there is nothing)."""
    lons, lats = geometry_lines(geometries)
    if not lons:
        return []
    return [
        {
            "type": "scattermap",
            "mode": "lines",
            "lon": lons,
            "lat": lats,
            "line": {"width": width, "color": color},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    ]


def worry_colorbar(title: str) -> dict[str, Any]:
    """The worry scale's legend: horizontal, 0–100, in the map's bottom-right corner.

    Small enough for a phone; the same on every map, like the scale itself.
    """
    return {
        "title": {"text": title, "side": "top", "font": {"color": TEXT}},
        "orientation": "h",
        "tickvals": [0, 25, 50, 75, 100],
        "tickfont": {"color": MUTED, "size": 12},
        "thickness": 10,
        "len": 0.3,
        "lenmode": "fraction",
        "x": 0.985,
        "xanchor": "right",
        "y": 0.02,
        "yanchor": "bottom",
        "bgcolor": "rgba(7, 17, 31, 0.72)",
        "outlinewidth": 0,
    }


def _colorscale() -> list[list[Any]]:
    return [[x, c] for x, c in WORRY_COLORSCALE]


def _hover(labels: Mapping[str, str]) -> str:
    return (
        "<b>%{customdata[4]}</b><br>"
        f"{labels['requests']} %{{customdata[0]:,}}<br>"
        f"{labels['open']} %{{customdata[1]:,}}<br>"
        f"{labels['overdue']} %{{customdata[2]:,}}<br>"
        f"{labels['worry']} %{{customdata[3]}}<extra></extra>"
    )


def _customdata(frame: pd.DataFrame, worry: list[str], name_col: str) -> list[list[Any]]:
    # Hover and click read positions 0-5; the drill path is always last (see callbacks).
    return [
        [int(r), int(o), int(d), w, plotly_text(n), p]
        for r, o, d, w, n, p in zip(
            frame["requests"],
            frame["open"],
            frame["overdue"],
            worry,
            frame[name_col],
            frame["drill_path"],
            strict=True,
        )
    ]


def unit_feature_collection(unit_ids: Iterable[str], geometries: Iterable[str]) -> dict[str, Any]:
    """Build a FeatureCollection from GeoJSON geometry texts keyed by ``unit_id``."""
    features = ",".join(
        f'{{"type":"Feature","id":"{uid}","geometry":{geom}}}'
        for uid, geom in zip(unit_ids, geometries, strict=True)
        if geom
    )
    return dict(orjson.loads(f'{{"type":"FeatureCollection","features":[{features}]}}'))


def hex_map(
    cells: pd.DataFrame,
    *,
    bbox: Sequence[float],
    children: pd.DataFrame,
    unit_outline: str | None = None,
    text: Mapping[str, str],
    revision: str = "",
) -> Figure:
    """Build the worry heatmap: child units tinted, H3 cells, boundaries and names on top.

    Layers, bottom to top: child units filled faintly by their own worry index (so sparse
    levels such as a community's grids still read), the H3 cells (NaN worry = insufficient
    data, drawn grey in their own trace), child boundaries, the unit's own outline, and the
    child names at their centres. Every colour uses the fixed 0–100 worry scale.

    Parameters
    ----------
    cells
        One row per cell: ``cell_id, ring, requests, open, overdue, worry_index`` plus
        ``child_name`` (shown in the hover) and ``drill_path`` (page of the child unit the
        cell mostly belongs to, ``""`` if none).
    bbox
        ``(minx, miny, maxx, maxy)`` of the unit: the initial view fits it.
    children
        One row per child unit: ``unit_id, geojson`` (geometry text), ``name`` (full),
        ``label`` (short map label), ``lng, lat`` (label position), ``requests, open,
        overdue, worry_index`` and ``drill_path``.
    unit_outline
        GeoJSON geometry text of the unit itself, drawn as a bright line.
    text
        Translated strings: ``requests, open, overdue, worry, insufficient, colorbar,
        legend_insufficient``.
    revision
        ``uirevision``: user pan/zoom survives updates with the same revision.

    Returns
    -------
    dict
        Plotly figure with ``choroplethmap`` and ``scattermap`` traces.
    """
    zmin, zmax = WORRY_RANGE
    scored = cells[cells["worry_index"].notna()]
    thin = cells[cells["worry_index"].isna()]
    hover = _hover(text)
    traces: list[dict[str, Any]] = []

    tinted = children[children["worry_index"].notna() & children["geojson"].notna()]
    if len(tinted):
        traces.append(
            {
                "type": "choroplethmap",
                "name": "units",
                "geojson": unit_feature_collection(tinted["unit_id"], tinted["geojson"]),
                "locations": list(tinted["unit_id"]),
                "z": [float(v) for v in tinted["worry_index"]],
                "zmin": zmin,
                "zmax": zmax,
                "zauto": False,
                "colorscale": _colorscale(),
                "showscale": False,
                "marker": {"opacity": 0.45, "line": {"width": 0}},
                "customdata": _customdata(
                    tinted, [f"{v:.1f}" for v in tinted["worry_index"]], "name"
                ),
                "hovertemplate": hover,
            }
        )
    if len(thin):
        traces.append(
            {
                "type": "choroplethmap",
                "name": text["insufficient"],
                "geojson": hex_feature_collection(thin["cell_id"], thin["ring"]),
                "locations": list(thin["cell_id"]),
                "z": [0] * len(thin),
                "zmin": 0,
                "zmax": 1,
                "colorscale": [[0, INSUFFICIENT_COLOR], [1, INSUFFICIENT_COLOR]],
                "showscale": False,
                # Light and see-through: "requests here, too few to score" should not hide the
                # unit tint underneath.
                "marker": {"opacity": 0.28, "line": {"width": 0.8, "color": MUTED}},
                "customdata": _customdata(thin, [text["insufficient"]] * len(thin), "child_name"),
                "hovertemplate": hover,
            }
        )
    if len(scored):
        traces.append(
            {
                "type": "choroplethmap",
                "name": text["worry"],
                "geojson": hex_feature_collection(scored["cell_id"], scored["ring"]),
                "locations": list(scored["cell_id"]),
                "z": [float(v) for v in scored["worry_index"]],
                "zmin": zmin,
                "zmax": zmax,
                "zauto": False,
                "colorscale": _colorscale(),
                "marker": {"opacity": 0.85, "line": {"width": 0.5, "color": BACKGROUND}},
                "customdata": _customdata(
                    scored, [f"{v:.1f}" for v in scored["worry_index"]], "child_name"
                ),
                "hovertemplate": hover,
                "colorbar": worry_colorbar(text["colorbar"]),
            }
        )
    traces += outline_traces(children["geojson"], width=1.4, color="rgba(214, 236, 255, 0.78)")
    traces += outline_traces([unit_outline], width=2.6, color=ACCENT)
    if len(children):
        traces.append(
            {
                "type": "scattermap",
                "mode": "markers+text",
                "lon": [float(v) for v in children["lng"]],
                "lat": [float(v) for v in children["lat"]],
                "text": [plotly_text(v) for v in children["label"]],
                "textposition": "top center",
                "textfont": {"size": 15, "color": "#ffffff", "family": "Open Sans Bold"},
                "marker": {"size": 7, "color": "#ffffff", "opacity": 0.9},
                "customdata": [
                    [plotly_text(n), p]
                    for n, p in zip(children["name"], children["drill_path"], strict=True)
                ],
                "hovertemplate": "<b>%{customdata[0]}</b><extra></extra>",
                "showlegend": False,
            }
        )
    annotations = []
    if len(thin):
        annotations.append(
            {
                "text": f"<span style='color:{INSUFFICIENT_COLOR}'>■</span> "
                + text["legend_insufficient"],
                "x": 0.012,
                "y": 0.015,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"color": MUTED, "size": 12},
                "bgcolor": "rgba(7, 17, 31, 0.72)",
            }
        )
    return {
        "data": traces,
        "layout": _map_layout(bbox, revision, showlegend=False, annotations=annotations),
    }


#: Trace positions of the worry view's map: the time slider patches these only.
WORRY_CELLS_TRACE = 0
WORRY_MARKS_TRACE = 1


def worry_frame(series: pd.DataFrame, cell_ids: Sequence[str], period_id: str) -> dict[str, list]:
    """One month of the worry view: ``z`` and ``customdata`` aligned with ``cell_ids``.

    A cell without requests that month gets ``None`` (drawn transparent, geometry kept).
    ``customdata`` per cell: ``[index text, requests, cell id]``.
    """
    month = series.loc[series["period_id"] == period_id]
    index = dict(zip(month["cell_id"], month["worry_index"].astype(float), strict=True))
    requests = dict(zip(month["cell_id"], month["requests"].astype(int), strict=True))
    z: list[float | None] = []
    custom: list[list[Any]] = []
    for cid in cell_ids:
        value = index.get(cid)
        if value is not None and value == value:  # NaN is "no index"
            z.append(round(value, 2))
            custom.append([f"{value:.1f}", requests[cid], cid])
        else:
            z.append(None)
            custom.append(["—", 0, cid])
    return {"z": z, "customdata": custom}


def worry_map(
    cells: pd.DataFrame,
    frame: Mapping[str, list],
    *,
    bbox: Sequence[float],
    unit_outline: str | None,
    child_outlines: Iterable[str | None],
    marks: pd.DataFrame | None = None,
    text: Mapping[str, str],
    revision: str = "",
) -> Figure:
    """The worry view's map: every cell the unit had in any month, coloured for one month.

    The geometry (all cells, outlines) is drawn once; stepping through months replaces
    only the cell trace's ``z`` and ``customdata`` (:data:`WORRY_CELLS_TRACE`, a Dash
    ``Patch``), and the overlay markers' positions (:data:`WORRY_MARKS_TRACE`), so the map
    never re-renders its polygons. Colours use the fixed 0–100 worry scale.

    Parameters
    ----------
    cells
        ``cell_id, ring`` of every cell, in the order of ``frame``'s lists.
    frame
        :func:`worry_frame` of the month shown first.
    bbox
        ``(minx, miny, maxx, maxy)`` of the unit.
    unit_outline, child_outlines
        GeoJSON geometry texts drawn as lines.
    marks
        Overlay markers of the month (:func:`marks_trace`): ``lng, lat, kind, label``;
        empty or ``None`` for none.
    text
        Translated strings: ``worry, requests, colorbar, cell``.
    revision
        ``uirevision``: pan and zoom survive the month changes.
    """
    zmin, zmax = WORRY_RANGE
    hover = (
        f"{text['cell']} %{{customdata[2]}}<br>{text['worry']} <b>%{{customdata[0]}}</b><br>"
        f"{text['requests']} %{{customdata[1]:,}}<extra></extra>"
    )
    traces: list[dict[str, Any]] = [
        {
            "type": "choroplethmap",
            "name": text["worry"],
            "geojson": hex_feature_collection(cells["cell_id"], cells["ring"]),
            "locations": list(cells["cell_id"]),
            "z": list(frame["z"]),
            "customdata": list(frame["customdata"]),
            "zmin": zmin,
            "zmax": zmax,
            "zauto": False,
            "colorscale": _colorscale(),
            "marker": {"opacity": 0.85, "line": {"width": 0.4, "color": BACKGROUND}},
            "hovertemplate": hover,
            "colorbar": worry_colorbar(text["colorbar"]),
        },
        marks_trace(marks),
    ]
    traces += outline_traces(child_outlines, width=1.2, color="rgba(214, 236, 255, 0.7)")
    traces += outline_traces([unit_outline], width=2.6, color=ACCENT)
    return {"data": traces, "layout": _map_layout(bbox, revision, showlegend=False)}


def marks_trace(marks: pd.DataFrame | None) -> dict[str, Any]:
    """Overlay markers (hotspot clusters, alerts) as one ``scattermap`` trace of circles.

    ``marks``: ``lng, lat, kind`` (``hotspot``, ``emerging``, ``alert``: colour and size
    from :data:`MARKS`) and ``label`` (hover text); ``None`` or empty gives an empty trace
    that keeps its position. Circles only: a text glyph would need a font the offline map
    style may not have.
    """
    frame = marks if marks is not None else pd.DataFrame(columns=["lng", "lat", "kind", "label"])
    kinds = [MARKS.get(str(k), MARKS["hotspot"]) for k in frame["kind"]]
    return {
        "type": "scattermap",
        "mode": "markers",
        "lon": [float(v) for v in frame["lng"]],
        "lat": [float(v) for v in frame["lat"]],
        "marker": {
            "size": [size for _, size in kinds],
            "color": [colour for colour, _ in kinds],
            "opacity": 0.95,
        },
        "hovertext": [plotly_text(v) for v in frame["label"]],
        "hoverinfo": "text",
        "showlegend": False,
    }


#: Overlay markers by kind: (colour, size), apart from the worry scale's green-to-red.
MARKS = {
    "hotspot": ("#c084fc", 14),
    "emerging": ("#f0abfc", 20),
    "alert": ("#38bdf8", 12),
}


def _map_layout(bbox: Sequence[float], revision: str, **extra: Any) -> dict[str, Any]:
    """Layout of every cockpit map: offline style, the unit framed, dark paper."""
    center, zoom = map_view(bbox)
    layout: dict[str, Any] = {
        "map": {"style": MAP_STYLE, "center": center, "zoom": zoom},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "paper_bgcolor": BACKGROUND,
        "font": {"family": FONT_FAMILY, "color": TEXT, "size": 13},
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": 14}},
        "uirevision": revision,
        # Read by assets/cockpit.js, which refits the view to the real map size.
        "meta": {"bbox": [float(v) for v in bbox]},
    }
    layout.update(extra)
    return layout


def _base_layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 8, "r": 12, "t": 8, "b": 8},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT_FAMILY, "color": TEXT, "size": 13},
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
    }
    layout.update(extra)
    return layout


def empty_figure(message: str) -> Figure:
    """Return a blank chart that says ``message`` in the middle (no axes)."""
    return {
        "data": [],
        "layout": _base_layout(
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[
                {
                    "text": message,
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                    "font": {"color": MUTED, "size": 15},
                }
            ],
        ),
    }


#: d3 time formats per language: plotly's default month names are English only.
_DATE_TICKS = {"zh": "%-m月%-d日", "en": "%b %-d"}
_DATE_HOVER = {"zh": "%Y年%-m月%-d日", "en": "%b %-d, %Y"}


def trend_chart(daily: pd.DataFrame, *, lang: str, text: Mapping[str, str]) -> Figure:
    """Line chart of requests received and closed per bucket (day or week).

    Parameters
    ----------
    daily
        ``day, requests, closed`` and optionally ``days`` (days in each bucket). Buckets of
        several days are plotted as daily averages, so partial weeks at the period's ends do
        not look like drops.
    lang
        Date label language.
    text
        Translated strings: ``requests``, ``closed``, ``empty``.

    Returns
    -------
    dict
    """
    if daily.empty:
        return empty_figure(text["empty"])
    days = [d.isoformat() for d in pd.to_datetime(daily["day"]).dt.date]
    span = daily["days"] if "days" in daily else pd.Series(1, index=daily.index)
    averaged = bool((span > 1).any())
    received = [round(float(v), 1) for v in daily["requests"] / span]
    closed = [round(float(v), 1) for v in daily["closed"] / span]
    hover = "%{y:,.1f}" if averaged else "%{y:,}"
    axis = {"gridcolor": GRID, "zeroline": False, "color": MUTED, "tickfont": {"size": 12}}
    top = max(max(received), max(closed))
    # Counts: SI suffixes only for thousands ("3k"), never "500m" for half a request, and
    # whole-number ticks when a small unit has a handful of requests a day.
    counts: dict[str, Any] = {"tickformat": "~s" if top >= 1000 else ",d"}
    if top <= 6:
        counts["dtick"] = 1
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": text["requests"],
                "x": days,
                "y": received,
                "line": {"color": ACCENT, "width": 2.4},
                "fill": "tozeroy",
                "fillcolor": "rgba(56, 189, 248, 0.12)",
                "hovertemplate": hover,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": text["closed"],
                "x": days,
                "y": closed,
                "line": {"color": CLOSED, "width": 2, "dash": "dot"},
                "hovertemplate": hover,
            },
        ],
        "layout": _base_layout(
            margin={"l": 44, "r": 12, "t": 10, "b": 28},
            hovermode="x unified",
            showlegend=False,  # keyed in the panel heading, like the categories
            xaxis={
                **axis,
                "type": "date",
                "showgrid": False,
                "tickformat": _DATE_TICKS.get(lang, _DATE_TICKS["en"]),
                "hoverformat": _DATE_HOVER.get(lang, _DATE_HOVER["en"]),
            },
            yaxis={**axis, **counts, "rangemode": "tozero"},
        ),
    }


def category_bars(categories: pd.DataFrame, *, lang: str, text: Mapping[str, str]) -> Figure:
    """Horizontal bars of the top request categories (largest on top), open overlaid.

    Parameters
    ----------
    categories
        ``l1_zh, l1_en, requests, open`` ordered by rank.
    lang
        Picks ``l1_zh`` or ``l1_en`` for the names.
    text
        Translated strings: ``requests``, ``open``, ``empty``.

    Returns
    -------
    dict
    """
    if categories.empty:
        return empty_figure(text["empty"])
    ordered = categories.iloc[::-1]
    names = [plotly_text(v) for v in ordered["l1_en" if lang == "en" else "l1_zh"]]
    requests = [int(v) for v in ordered["requests"]]
    opened = [int(v) for v in ordered["open"]]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": text["requests"],
                "y": names,
                "x": requests,
                "text": [f"{v:,}" for v in requests],
                "textposition": "outside",
                "cliponaxis": False,
                "textfont": {"color": TEXT, "size": 12},
                "marker": {"color": ACCENT, "opacity": 0.85},
                "hovertemplate": "%{y}<br>" + text["requests"] + " %{x:,}<extra></extra>",
            },
            {
                "type": "bar",
                "orientation": "h",
                "name": text["open"],
                "y": names,
                "x": opened,
                "width": 0.35,
                "marker": {"color": OPEN},
                "hovertemplate": "%{y}<br>" + text["open"] + " %{x:,}<extra></extra>",
            },
        ],
        "layout": _base_layout(
            barmode="overlay",
            bargap=0.22,
            margin={"l": 8, "r": 52, "t": 4, "b": 2},
            # The key sits in the panel heading (components.legend_key): every pixel of a
            # short panel goes to the bars.
            showlegend=False,
            xaxis={"visible": False},
            yaxis={
                "automargin": True,
                "color": TEXT,
                # Name every bar: plotly would otherwise thin out labels in a short panel.
                "tickmode": "array",
                "tickvals": names,
                "tickfont": {"size": 13},
                "ticksuffix": "  ",
                "showgrid": False,
            },
        ),
    }


#: Traffic-light colours of open requests (SLA view): the same on every screen.
LAMP_COLORS = {"green": "#22c55e", "yellow": "#facc15", "red": "#ef4444"}


def lamp_map(
    points: pd.DataFrame,
    *,
    bbox: tuple[float, float, float, float],
    unit_outline: str | None,
    child_outlines: Iterable[str | None],
    text: Mapping[str, str],
    revision: str = "",
) -> Figure:
    """Open requests as dots coloured by their traffic light, red drawn on top.

    Parameters
    ----------
    points
        One row per open request with coordinates: ``request_id, lng, lat, lamp, l4``
        (category name in the page's language) and ``open_hours`` (working hours open).
    bbox
        ``(minx, miny, maxx, maxy)`` of the unit: the initial view fits it.
    unit_outline, child_outlines
        GeoJSON geometry texts of the unit and its children, drawn as lines.
    text
        Translated strings: ``green``, ``yellow``, ``red`` (legend names), ``hours``
        (hover label of the open time).
    revision
        ``uirevision`` (pan/zoom kept across updates of the same unit).
    """
    traces: list[dict[str, Any]] = [
        *outline_traces(child_outlines, width=1.0, color="rgba(214, 236, 255, 0.45)"),
        *outline_traces([unit_outline], width=2.4, color=ACCENT),
    ]
    located = points[points["lng"].notna() & points["lat"].notna()]
    for lamp in ("green", "yellow", "red"):
        sub = located[located["lamp"] == lamp]
        traces.append(
            {
                "type": "scattermap",
                "mode": "markers",
                "name": f"{text[lamp]} ({len(sub):,})",
                "lon": [float(v) for v in sub["lng"]],
                "lat": [float(v) for v in sub["lat"]],
                "marker": {"size": 7 if lamp == "green" else 10, "color": LAMP_COLORS[lamp]},
                "customdata": [
                    [plotly_text(rid), plotly_text(cat), f"{h:.1f}", ""]
                    for rid, cat, h in zip(
                        sub["request_id"], sub["l4"], sub["open_hours"].fillna(0.0), strict=True
                    )
                ],
                "hovertemplate": "<b>%{customdata[1]}</b><br>%{customdata[0]}<br>"
                + text["hours"]
                + " %{customdata[2]}<extra></extra>",
            }
        )
    legend = {
        "x": 0.01,
        "y": 0.02,
        "yanchor": "bottom",
        "bgcolor": "rgba(7, 17, 31, 0.72)",
        "font": {"color": TEXT},
    }
    return {"data": traces, "layout": _map_layout(bbox, revision, showlegend=True, legend=legend)}


def interval_chart(
    ranked: pd.DataFrame, *, names: Sequence[str], unit: str, text: Mapping[str, str]
) -> Figure:
    """Each unit's value with its 95 % interval, in ranking order (best at the top).

    Parameters
    ----------
    ranked
        Output of ``pipelines.metrics.rank_units``: ``value, ci_low, ci_high, eligible``.
    names
        Display name per row.
    unit
        The metric's registry unit (``share`` values are drawn as percentages).
    text
        Translated strings: ``ranked``, ``too_few`` (legend names), ``empty``.
    """
    if ranked.empty:
        return empty_figure(text["empty"])
    scale = 100.0 if unit == "share" else 1.0
    suffix = "%" if unit == "share" else ""
    traces: list[dict[str, Any]] = []
    order = list(range(len(ranked)))
    for eligible, label, color in ((True, text["ranked"], ACCENT), (False, text["too_few"], MUTED)):
        rows = [i for i in order if bool(ranked["eligible"].iloc[i]) is eligible]
        if not rows:
            continue
        value = ranked["value"].iloc[rows].astype(float) * scale
        low = ranked["ci_low"].iloc[rows].astype(float) * scale
        high = ranked["ci_high"].iloc[rows].astype(float) * scale
        has_ci = bool(low.notna().any())
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "markers",
            "name": label,
            "x": [None if math.isnan(v) else round(v, 2) for v in value],
            "y": [plotly_text(names[i]) for i in rows],
            "marker": {"size": 9, "color": color},
            "hovertemplate": "%{y}: %{x:.1f}" + suffix + "<extra></extra>",
        }
        if has_ci:
            trace["error_x"] = {
                "type": "data",
                "symmetric": False,
                "array": [
                    0 if math.isnan(h) else round(h - v, 3)
                    for h, v in zip(high, value, strict=True)
                ],
                "arrayminus": [
                    0 if math.isnan(lo) else round(v - lo, 3)
                    for lo, v in zip(low, value, strict=True)
                ],
                "color": color,
                "thickness": 1.4,
                "width": 3,
            }
        traces.append(trace)
    # Up to 24 units fill the panel; longer lists get 26 px a row and scroll.
    extra: dict[str, Any] = {"height": 26 * len(ranked) + 70} if len(ranked) > 24 else {}
    return {
        "data": traces,
        "layout": _base_layout(
            **extra,
            xaxis={"gridcolor": GRID, "zeroline": False, "ticksuffix": suffix, "color": MUTED},
            yaxis={
                "autorange": "reversed",
                "categoryorder": "array",
                "categoryarray": list(names),
                "color": TEXT,
                "gridcolor": GRID,
                "automargin": True,
            },
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            showlegend=True,
            margin={"l": 8, "r": 16, "t": 30, "b": 36},
        ),
    }
