"""Pure figure builders of the component layer (``?view=components``): frames in, dicts out.

One ``scattermap`` trace per component kind, so the legend toggles kinds; colour is the
component's state (:data:`STATUS_COLORS`). Alarming sensors get a translucent ring under
their dot, in the same legend group as their kind. Where a unit holds too many components
to send one dot each (the city, a district), :func:`component_cell_map` draws one marker
per kind and H3 cell instead: its size is the number of components, its colour the share
that is abnormal, its ring the alarming sensors in it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.figures import ACCENT, MUTED, TEXT, Figure, _map_layout, outline_traces
from dashboard.fmt import plotly_text

#: Colours of a component's state: the register's status classes, and alarming (a sensor
#: that raised an alarm lately), which outranks the register's "normal".
STATUS_COLORS: dict[str, str] = {
    "normal": "#22c55e",
    "damaged": "#ef4444",
    "repair": "#f59e0b",
    "disabled": "#7c8ba1",
    "unknown": "#a5b4fc",
    "alarming": "#e879f9",
}
#: Drawing order inside a trace: calm first, so the legend swatch is calm and the states
#: that need attention are drawn on top.
DRAW_ORDER = ("normal", "unknown", "disabled", "repair", "damaged", "alarming")
#: Abnormal share (cell markers) from calm to alarming: 25 % abnormal is as red as it gets.
SHARE_RANGE = (0.0, 0.25)
SHARE_COLORSCALE = (
    (0.0, STATUS_COLORS["normal"]),
    (0.4, "#facc15"),
    (0.7, STATUS_COLORS["repair"]),
    (1.0, STATUS_COLORS["damaged"]),
)
_RING_COLOR = "rgba(232, 121, 249, 0.38)"
#: Tooltips on the dark panel: a coloured box would put light text on a green dot colour.
_HOVERLABEL = {
    "bgcolor": "rgba(8, 20, 38, 0.95)",
    "bordercolor": ACCENT,
    "font": {"color": TEXT, "size": 14},
    "align": "left",
}
_LEGEND = {
    "x": 0.01,
    "y": 0.02,
    "yanchor": "bottom",
    "bgcolor": "rgba(7, 17, 31, 0.78)",
    "font": {"color": TEXT, "size": 13},
    "itemclick": "toggle",
    "itemdoubleclick": "toggleothers",
}
POINT_COLUMNS = (
    "component_id",
    "kind",
    "kind_name",
    "state",
    "state_text",
    "owner",
    "property_unit",
    "maintainer",
    "last_alarm_text",
    "failures_30d",
    "lng",
    "lat",
)


def _coord(values: Iterable[object]) -> list[float]:
    # 6 decimals = 0.1 m: enough for a dot, a third shorter in the payload than float repr
    return [round(float(v), 6) for v in values]  # type: ignore[arg-type]


def _base(unit_outline: str | None, child_outlines: Iterable[str | None]) -> list[dict[str, Any]]:
    return [
        *outline_traces(child_outlines, width=1.0, color="rgba(214, 236, 255, 0.35)"),
        *outline_traces([unit_outline], width=2.2, color=ACCENT),
    ]


def component_point_map(
    points: pd.DataFrame,
    *,
    kinds: Sequence[tuple[str, str]],
    bbox: tuple[float, float, float, float],
    unit_outline: str | None,
    child_outlines: Iterable[str | None],
    text: Mapping[str, str],
    revision: str = "",
) -> Figure:
    """Every component of a unit as a dot coloured by its state, one trace per kind.

    Parameters
    ----------
    points
        One row per located component with :data:`POINT_COLUMNS`: ``kind_name`` and
        ``state_text`` in the page's language, ``state`` a key of :data:`STATUS_COLORS`,
        ``last_alarm_text`` the last alarm (time and type) or a dash.
    kinds
        ``(kind, name)`` of the kinds to draw, in legend order (kinds without a dot in the
        unit still get a legend entry, with a count of 0).
    bbox
        ``(minx, miny, maxx, maxy)`` of the unit: the initial view fits it.
    unit_outline, child_outlines
        GeoJSON geometry texts drawn as lines.
    text
        Hover labels: ``status``, ``owner``, ``property_unit``, ``maintainer``,
        ``last_alarm``, ``failures``.
    revision
        ``uirevision`` (pan and zoom kept across updates of the same unit).
    """
    traces = _base(unit_outline, child_outlines)
    rank = {s: i for i, s in enumerate(DRAW_ORDER)}
    ordered = points.assign(_rank=points["state"].map(rank).fillna(0)).sort_values(
        ["_rank", "component_id"], kind="stable"
    )
    hover = (
        "<b>%{customdata[1]}</b> %{customdata[0]}<br>"
        f"{text['status']}: %{{customdata[2]}}<br>"
        f"{text['owner']}: %{{customdata[3]}}<br>"
        f"{text['property_unit']}: %{{customdata[4]}}<br>"
        f"{text['maintainer']}: %{{customdata[5]}}<br>"
        f"{text['last_alarm']}: %{{customdata[6]}}<br>"
        f"{text['failures']}: %{{customdata[7]}}<extra></extra>"
    )
    rings: list[dict[str, Any]] = []
    dots: list[dict[str, Any]] = []
    for kind, name in kinds:
        sub = ordered[ordered["kind"] == kind]
        alarming = sub[sub["state"] == "alarming"]
        rings.append(
            {
                "type": "scattermap",
                "mode": "markers",
                "name": name,
                "legendgroup": kind,
                "showlegend": False,
                "lon": _coord(alarming["lng"]),
                "lat": _coord(alarming["lat"]),
                "marker": {"size": 22, "color": _RING_COLOR},
                "hoverinfo": "skip",
                "meta": {"kind": kind, "role": "ring"},
            }
        )
        dots.append(
            {
                "type": "scattermap",
                "mode": "markers",
                "name": f"{name} ({len(sub):,})",
                "legendgroup": kind,
                "lon": _coord(sub["lng"]),
                "lat": _coord(sub["lat"]),
                "marker": {
                    "size": 9,
                    "color": [STATUS_COLORS.get(s, MUTED) for s in sub["state"]],
                },
                # the drill path goes last (dashboard.callbacks.map_click_href): none here
                "customdata": [
                    [plotly_text(v) for v in row] + [""]
                    for row in sub[
                        [
                            "component_id",
                            "kind_name",
                            "state_text",
                            "owner",
                            "property_unit",
                            "maintainer",
                            "last_alarm_text",
                            "failures_30d",
                        ]
                    ].itertuples(index=False, name=None)
                ],
                "hovertemplate": hover,
                "hoverlabel": _HOVERLABEL,
                "meta": {"kind": kind, "role": "components"},
            }
        )
    layout = _map_layout(bbox, revision, showlegend=True, legend=_LEGEND)
    return {"data": [*traces, *rings, *dots], "layout": layout}


def component_cell_map(
    cells: pd.DataFrame,
    *,
    kinds: Sequence[tuple[str, str]],
    bbox: tuple[float, float, float, float],
    unit_outline: str | None,
    child_outlines: Iterable[str | None],
    text: Mapping[str, str],
    revision: str = "",
) -> Figure:
    """Components gathered per kind and H3 cell: size = how many, colour = share abnormal.

    Parameters
    ----------
    cells
        One row per kind and cell: ``kind, lng, lat`` (the components' mean position),
        ``components, normal, damaged, under_repair, disabled, alarming, failures_30d``.
    kinds
        ``(kind, name)`` in legend order.
    bbox, unit_outline, child_outlines, revision
        As :func:`component_point_map`.
    text
        Labels: ``components``, ``abnormal``, ``damaged``, ``repair``, ``disabled``,
        ``alarming``, ``failures``, ``share`` (the colour bar's title).
    """
    traces = _base(unit_outline, child_outlines)
    biggest = float(cells["components"].max()) if len(cells) else 1.0
    hover = (
        "<b>%{customdata[0]}</b><br>"
        f"{text['components']}: %{{customdata[1]}}<br>"
        f"{text['abnormal']}: %{{customdata[2]}} (%{{customdata[3]}})<br>"
        f"{text['damaged']} %{{customdata[4]}} · {text['repair']} %{{customdata[5]}}"
        f" · {text['disabled']} %{{customdata[6]}}<br>"
        f"{text['alarming']}: %{{customdata[7]}}<br>"
        f"{text['failures']}: %{{customdata[8]}}<extra></extra>"
    )
    rings: list[dict[str, Any]] = []
    dots: list[dict[str, Any]] = []
    for i, (kind, name) in enumerate(kinds):
        sub = cells[cells["kind"] == kind]
        abnormal = sub["damaged"] + sub["under_repair"] + sub["disabled"]
        share = (abnormal / sub["components"].where(sub["components"] > 0)).fillna(0.0)
        size = [6 + 16 * math.sqrt(float(n) / biggest) for n in sub["components"]]
        alarm = sub[sub["alarming"] > 0]
        rings.append(
            {
                "type": "scattermap",
                "mode": "markers",
                "name": name,
                "legendgroup": kind,
                "showlegend": False,
                "lon": _coord(alarm["lng"]),
                "lat": _coord(alarm["lat"]),
                "marker": {
                    "size": [12 + 16 * math.sqrt(float(n) / biggest) for n in alarm["components"]],
                    "color": _RING_COLOR,
                },
                "hoverinfo": "skip",
                "meta": {"kind": kind, "role": "ring"},
            }
        )
        marker: dict[str, Any] = {
            "size": [round(s, 1) for s in size],
            "color": [round(float(v), 3) for v in share],
            "cmin": SHARE_RANGE[0],
            "cmax": SHARE_RANGE[1],
            "colorscale": [[x, c] for x, c in SHARE_COLORSCALE],
            "opacity": 0.85,
        }
        if i == 0:
            marker["showscale"] = True
            marker["colorbar"] = _share_colorbar(text["share"])
        dots.append(
            {
                "type": "scattermap",
                "mode": "markers",
                "name": f"{name} ({int(sub['components'].sum()):,})",
                "legendgroup": kind,
                "lon": _coord(sub["lng"]),
                "lat": _coord(sub["lat"]),
                "marker": marker,
                "customdata": [
                    [plotly_text(name), *(f"{v:,}" for v in (n, a)), f"{s:.0%}"]
                    + [f"{v:,}" for v in (d, r, x, al, f)]
                    + [""]
                    for n, a, s, d, r, x, al, f in zip(
                        sub["components"],
                        abnormal,
                        share,
                        sub["damaged"],
                        sub["under_repair"],
                        sub["disabled"],
                        sub["alarming"],
                        sub["failures_30d"],
                        strict=True,
                    )
                ],
                "hovertemplate": hover,
                "hoverlabel": _HOVERLABEL,
                "meta": {"kind": kind, "role": "cells"},
            }
        )
    layout = _map_layout(bbox, revision, showlegend=True, legend=_LEGEND)
    return {"data": [*traces, *rings, *dots], "layout": layout}


def _share_colorbar(title: str) -> dict[str, Any]:
    return {
        "title": {"text": title, "side": "top", "font": {"color": TEXT}},
        "orientation": "h",
        "tickvals": [0, 0.05, 0.1, 0.15, 0.2, 0.25],
        "ticktext": ["0", "5%", "10%", "15%", "20%", "≥25%"],
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
