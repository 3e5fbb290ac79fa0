"""Pure figure builders of the backlog playback: the cell map, its frames, the total line.

The map is drawn once with every cell that is ever open; a frame (one moment) is only
``z`` and ``customdata`` for those cells in that order, which the browser applies with
``Plotly.restyle`` (``assets/backlog.js``). Counts are coloured on a fixed log scale from
0 to the busiest cell's peak over the whole playback, so one count is one colour at every
moment; a cell with nothing open is left transparent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.figures import (
    ACCENT,
    BACKGROUND,
    GRID,
    LAMP_COLORS,
    MUTED,
    TEXT,
    Figure,
    _base_layout,
    _map_layout,
    hex_feature_collection,
    outline_traces,
)

#: Trace positions the frames restyle: the map's cells, the chart's moment cursor and dot.
CELLS_TRACE = 0
CURSOR_TRACES = (2, 3)
#: Open requests per cell, few to many (dark blue to red), on a dark map.
COLORSCALE: tuple[tuple[float, str], ...] = (
    (0.0, "#1e3a8a"),
    (0.3, "#0ea5e9"),
    (0.55, "#fde047"),
    (0.8, "#f97316"),
    (1.0, "#dc2626"),
)
OVERDUE_COLOR = LAMP_COLORS["red"]


def z_value(count: int) -> float | None:
    """Colour position of an open count: ``log10(1 + count)``; ``None`` (transparent) for 0."""
    return round(math.log10(1 + count), 4) if count > 0 else None


def scale(peak: int) -> dict[str, Any]:
    """The fixed colour range for a playback whose busiest cell peaks at ``peak``.

    Ticks are counts (1, 10, 100 … and the peak) at their log positions.
    """
    top = max(int(peak), 1)
    ticks = [v for v in (1, 3, 10, 30, 100, 300, 1000, 3000, 10000) if v < top * 0.8]
    ticks.append(top)
    return {
        "zmin": 0.0,
        "zmax": math.log10(1 + top),
        "tickvals": [math.log10(1 + v) for v in ticks],
        "ticktext": [f"{v:,}" for v in ticks],
    }


def frame(cell_ids: Sequence[str], open_: Iterable[int], overdue: Iterable[int]) -> dict[str, list]:
    """One moment of the map: ``z`` and ``customdata`` (``[cell id, open, overdue]``).

    Aligned with ``cell_ids``, the order the map was drawn in.
    """
    opened = [int(v) for v in open_]
    late = [int(v) for v in overdue]
    return {
        "z": [z_value(v) for v in opened],
        "customdata": [[c, o, d] for c, o, d in zip(cell_ids, opened, late, strict=True)],
    }


def colorbar(title: str, ticks: Mapping[str, Any]) -> dict[str, Any]:
    """The count legend: horizontal, bottom right, ticks in counts (like the worry map's)."""
    return {
        "title": {"text": title, "side": "top", "font": {"color": TEXT}},
        "orientation": "h",
        "tickvals": list(ticks["tickvals"]),
        "ticktext": list(ticks["ticktext"]),
        "tickfont": {"color": MUTED, "size": 12},
        "thickness": 10,
        "len": 0.32,
        "lenmode": "fraction",
        "x": 0.985,
        "xanchor": "right",
        "y": 0.02,
        "yanchor": "bottom",
        "bgcolor": "rgba(7, 17, 31, 0.72)",
        "outlinewidth": 0,
    }


def backlog_map(
    cells: pd.DataFrame,
    first: Mapping[str, list],
    *,
    peak: int,
    bbox: Sequence[float],
    unit_outline: str | None,
    child_outlines: Iterable[str | None],
    text: Mapping[str, str],
    revision: str = "",
) -> Figure:
    """The playback's map: every cell ever open, coloured for the moment ``first``.

    Parameters
    ----------
    cells
        ``cell_id, ring`` in the order of the frames' lists.
    first
        :func:`frame` of the moment shown first.
    peak
        The most requests open in one cell at any moment: the top of the fixed scale.
    bbox
        ``(minx, miny, maxx, maxy)`` of the unit.
    unit_outline, child_outlines
        GeoJSON geometry texts drawn as lines.
    text
        Translated strings: ``cell, open, overdue, colorbar``.
    revision
        ``uirevision``: pan and zoom survive the playback.
    """
    ticks = scale(peak)
    hover = (
        f"{text['cell']} %{{customdata[0]}}<br>{text['open']} <b>%{{customdata[1]:,}}</b><br>"
        f"{text['overdue']} %{{customdata[2]:,}}<extra></extra>"
    )
    traces: list[dict[str, Any]] = [
        {
            "type": "choroplethmap",
            "name": text["open"],
            "geojson": hex_feature_collection(cells["cell_id"], cells["ring"]),
            "locations": list(cells["cell_id"]),
            "z": list(first["z"]),
            "customdata": list(first["customdata"]),
            "zmin": ticks["zmin"],
            "zmax": ticks["zmax"],
            "zauto": False,
            "colorscale": [[x, c] for x, c in COLORSCALE],
            "marker": {"opacity": 0.85, "line": {"width": 0.4, "color": BACKGROUND}},
            "hovertemplate": hover,
            "colorbar": colorbar(text["colorbar"], ticks),
        }
    ]
    traces += outline_traces(child_outlines, width=1.2, color="rgba(214, 236, 255, 0.7)")
    traces += outline_traces([unit_outline], width=2.6, color=ACCENT)
    return {"data": traces, "layout": _map_layout(bbox, revision, showlegend=False)}


#: d3 formats of the chart's dates per language (plotly's month names are English only).
_TICKS = {"zh": "%-m月%-d日", "en": "%b %-d"}
_HOVER = {"zh": "%Y年%-m月%-d日 %H:%M", "en": "%b %-d, %Y %H:%M"}


def cursor(moment: str, total: int, top: float) -> dict[str, list]:
    """The chart's marker of the moment shown: a vertical line and a dot on the total."""
    return {"x": [[moment, moment], [moment]], "y": [[0, top], [int(total)]]}


def total_chart(
    moments: Sequence[str],
    open_: Sequence[int],
    overdue: Sequence[int],
    at: int,
    *,
    lang: str,
    text: Mapping[str, str],
) -> Figure:
    """The unit's whole backlog over the playback, with the moment shown marked.

    Traces: open (0), overdue (1), then the cursor line and dot (:data:`CURSOR_TRACES`),
    which each frame moves. ``text``: ``open, overdue``.
    """
    top = max(max(open_, default=0), 1) * 1.05
    place = cursor(moments[at], open_[at], top)
    axis = {"gridcolor": GRID, "zeroline": False, "color": MUTED, "tickfont": {"size": 12}}
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": text["open"],
                "x": list(moments),
                "y": [int(v) for v in open_],
                "line": {"color": ACCENT, "width": 2.2},
                "fill": "tozeroy",
                "fillcolor": "rgba(56, 189, 248, 0.12)",
                "hovertemplate": "%{y:,}",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": text["overdue"],
                "x": list(moments),
                "y": [int(v) for v in overdue],
                "line": {"color": OVERDUE_COLOR, "width": 1.8, "dash": "dot"},
                "hovertemplate": "%{y:,}",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": place["x"][0],
                "y": place["y"][0],
                "line": {"color": TEXT, "width": 1.2, "dash": "dash"},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": place["x"][1],
                "y": place["y"][1],
                "marker": {"color": TEXT, "size": 9, "line": {"color": ACCENT, "width": 2}},
                "hoverinfo": "skip",
                "showlegend": False,
            },
        ],
        "layout": _base_layout(
            margin={"l": 48, "r": 12, "t": 10, "b": 28},
            hovermode="x unified",
            showlegend=False,
            xaxis={
                **axis,
                "type": "date",
                "showgrid": False,
                "tickformat": _TICKS.get(lang, _TICKS["en"]),
                "hoverformat": _HOVER.get(lang, _HOVER["en"]),
            },
            yaxis={**axis, "rangemode": "tozero", "range": [0, top], "tickformat": ",d"},
        ),
    }
