"""Backlog playback (``?view=backlog``): the requests open at each moment, cell by cell.

The map holds every heatmap cell of the unit that had an open request at some moment of
the last 12 months (``pipelines.backlog_queries``: open intervals run up per cell, one
query per unit and build, cached by ``data.read``). A slider over the moments (ends of
days; every 6 hours for short data) and a play button step through them: the server
sends the moment's colours and hovers only, and ``assets/backlog.js`` restyles the drawn
cells and moves the marker on the total-backlog chart, so the polygons are sent once. The
colour scale is fixed for the whole playback (log counts up to the busiest cell's peak).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component

from dashboard import backlog_figures, basemap, components, data, fmt, ids
from dashboard.components.panels import attributes
from dashboard.i18n import Lang, t
from pipelines import backlog_queries

#: Milliseconds between frames when playing.
PLAY_INTERVAL_MS = 500
#: Frames one loop of playback shows at most: a year of days is stepped a few days a tick.
PLAY_FRAMES = 120


def backlog(unit: data.Unit) -> backlog_queries.Backlog | None:
    """The unit's playback from the served build (cached per build and unit)."""
    result: backlog_queries.Backlog | None = data.read(
        backlog_queries.backlog, unit.level, unit.unit_id
    )
    return result


def start_moment(period: data.Period, plan: backlog_queries.Schedule) -> int:
    """Moment shown first: the end of the page's period (a month), else the as-of time."""
    end = min(period.end, plan.last)
    moments = plan.moments()
    before = [k for k, m in enumerate(moments) if m <= end]
    return before[-1] if before else len(moments) - 1


def play_stride(count: int) -> int:
    """Moments advanced per tick, so that one loop takes at most :data:`PLAY_FRAMES` ticks."""
    return max(1, -(-count // PLAY_FRAMES))


def _day(moment: dt.datetime, lang: Lang) -> str:
    months = t("backlog.months", lang).split(",")
    return t(
        "backlog.day_format",
        lang,
        y=moment.year,
        d=moment.day,
        mon=months[moment.month - 1],
    )


def moment_label(moment: dt.datetime, plan: backlog_queries.Schedule, lang: Lang) -> str:
    """The moment in words: "end of 31 Oct 2026" for a daily moment, else date and time."""
    if plan.daily and moment.time() == dt.time():
        return t("backlog.moment_day", lang, day=_day(moment - dt.timedelta(days=1), lang))
    return t("backlog.moment_time", lang, day=_day(moment, lang), time=moment.strftime("%H:%M"))


def slider_marks(plan: backlog_queries.Schedule, lang: Lang) -> dict[int, dict[str, str]]:
    """One mark per month: at the moment that ends the month's first day (or starts it)."""
    months = t("backlog.months", lang).split(",")
    marks: dict[int, dict[str, str]] = {}
    seen: set[tuple[int, int]] = set()
    for k, moment in enumerate(plan.moments()):
        day = moment - dt.timedelta(days=1) if plan.daily else moment
        key = (day.year, day.month)
        if key in seen:
            continue
        seen.add(key)
        if k > 0 or day.day == 1:
            marks[k] = {"label": months[day.month - 1]}
    return marks


def summary(result: backlog_queries.Backlog, k: int, lang: Lang) -> list[Component]:
    """The moment's whole backlog in figures: open, overdue, and open without a place."""
    items = (
        ("open", "backlog.now_open", result.total_open[k]),
        ("overdue", "backlog.now_overdue", result.total_overdue[k]),
        ("unlocated", "backlog.now_unlocated", result.unlocated_open[k]),
    )
    return [
        html.Div(
            [
                html.Div(t(label, lang), className="yw-backlog-label"),
                html.Div(
                    fmt.fmt_int(int(value)),
                    className="yw-backlog-value",
                    **attributes({f"data-{name}": str(int(value))}),
                ),
            ],
            className=f"yw-backlog-figure yw-backlog-{name}",
        )
        for name, label, value in items
    ]


def map_text(lang: Lang) -> dict[str, str]:
    """Translated strings of the playback's figures."""
    return {
        "cell": t("backlog.cell", lang),
        "open": t("backlog.open", lang),
        "overdue": t("backlog.overdue", lang),
        "colorbar": t("backlog.colorbar", lang),
    }


def frame_of(result: backlog_queries.Backlog, k: int) -> dict[str, list]:
    """The map's colours and hovers at moment ``k`` (cells in the drawn order)."""
    return backlog_figures.frame(
        list(result.cells["cell_id"]), result.open[:, k], result.overdue[:, k]
    )


def _iso(moments: list[dt.datetime]) -> list[str]:
    return [m.isoformat(sep=" ") for m in moments]


def backlog_view(
    unit: data.Unit, period: data.Period, lang: Lang, hierarchy: str | None
) -> list[Any]:
    """The playback: cell map with slider and play button, the moment's figures, the total."""
    result = backlog(unit)
    if result is None or not (result.total_open.any() or len(result.cells)):
        return [
            components.empty_state(
                t("backlog.empty", lang), "", back_href=None, back_text="", component_id=ids.EMPTY
            )
        ]
    plan = result.schedule
    at = start_moment(period, plan)
    kids = data.children(unit, hierarchy)
    outlines: list[str | None] = (
        list(data.child_outlines(unit, hierarchy)["geojson"]) if kids else []
    )
    text = map_text(lang)
    figure = basemap.for_display(
        backlog_figures.backlog_map(
            result.cells,
            frame_of(result, at),
            peak=result.peak,
            bbox=unit.bbox,
            unit_outline=data.outline(unit),
            child_outlines=outlines,
            text=text,
            revision=f"backlog-{unit.unit_id}",
        )
    )
    chart = backlog_figures.total_chart(
        _iso(plan.moments()),
        [int(v) for v in result.total_open],
        [int(v) for v in result.total_overdue],
        at,
        lang=lang,
        text=text,
    )
    moments = plan.moments()
    controls = html.Div(
        [
            html.Button(
                t("backlog.play", lang), id=ids.BACKLOG_PLAY, className="yw-play", n_clicks=0
            ),
            html.Div(
                dcc.Slider(
                    id=ids.BACKLOG_SLIDER,
                    min=0,
                    max=plan.count - 1,
                    step=1,
                    value=at,
                    marks=slider_marks(plan, lang),
                    included=False,
                    allow_direct_input=False,
                ),
                className="yw-slider",
            ),
            html.Span(
                moment_label(moments[at], plan, lang), id=ids.BACKLOG_MOMENT, className="yw-month"
            ),
            *components.playback_stores(
                tick=ids.BACKLOG_TICK,
                fitted=ids.BACKLOG_FITTED,
                frame=ids.BACKLOG_FRAME,
                applied=ids.BACKLOG_APPLIED,
                interval_ms=PLAY_INTERVAL_MS,
            ),
            dcc.Store(
                id=ids.BACKLOG_CONTEXT,
                data={
                    "unit_id": unit.unit_id,
                    "count": plan.count,
                    "stride": play_stride(plan.count),
                    "top": chart["layout"]["yaxis"]["range"][1],
                    "lang": lang,
                },
            ),
        ],
        className="yw-worry-controls yw-backlog-controls",
    )
    steps = t("backlog.steps_daily" if plan.daily else "backlog.steps_hourly", lang, n=plan.count)
    map_panel = components.panel(
        t("backlog.map", lang),
        html.Div(
            [components.graph(ids.BACKLOG_MAP, figure, class_name="yw-map"), controls],
            className="yw-worry-body",
        ),
        subtitle=t("backlog.map_hint", lang),
        class_name="yw-panel-map",
    )
    now = components.panel(
        t("backlog.total", lang),
        html.Div(
            [
                html.Div(
                    summary(result, at, lang), id=ids.BACKLOG_SUMMARY, className="yw-backlog-now"
                ),
                html.Div(components.graph(ids.BACKLOG_CHART, chart), className="yw-backlog-chart"),
                html.P(
                    [
                        t("backlog.total_hint", lang),
                        html.Br(),
                        steps,
                        html.Br(),
                        t("backlog.scale_note", lang, peak=fmt.fmt_int(result.peak)),
                    ],
                    className="yw-muted yw-backlog-note",
                ),
            ],
            className="yw-backlog-side",
        ),
        class_name="yw-panel-backlog",
        extra=components.legend_key(
            [
                (t("backlog.open", lang), backlog_figures.ACCENT),
                (t("backlog.overdue", lang), backlog_figures.OVERDUE_COLOR),
            ]
        ),
    )
    return [html.Main([map_panel, html.Div([now], className="yw-side")], className="yw-main")]


# ---------------------------------------------------------------------------------------------
# callbacks (plain functions; :func:`register` wires them)


def _context(context: dict[str, Any] | None) -> tuple[backlog_queries.Backlog | None, Lang]:
    ctx = context or {}
    lang: Lang = "en" if ctx.get("lang") == "en" else "zh"
    unit = data.unit(ctx.get("unit_id"))
    return (backlog(unit) if unit is not None else None), lang


def recolour(value: int | None, context: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    """The slider moved: the moment's colours and hovers, its label and its figures.

    The first output is the ``ids.BACKLOG_FRAME`` store's data, ``{"cells": {"z",
    "customdata"}, "cursor": {"x", "y"}, "trace", "cursor_traces"}``, which
    ``assets/backlog.js`` applies with ``Plotly.restyle`` (never a new figure, never a
    Dash ``Patch``: the polygons stay as MapLibre holds them).
    """
    result, lang = _context(context)
    try:
        k = int(value) if value is not None else -1
    except (TypeError, ValueError):
        k = -1
    if result is None or not 0 <= k < result.schedule.count:
        return no_update, no_update, no_update
    moment = result.schedule.moments()[k]
    top = float((context or {}).get("top") or 1)
    update = {
        "cells": frame_of(result, k),
        "cursor": backlog_figures.cursor(moment.isoformat(sep=" "), int(result.total_open[k]), top),
        "trace": backlog_figures.CELLS_TRACE,
        "cursor_traces": list(backlog_figures.CURSOR_TRACES),
    }
    return update, moment_label(moment, result.schedule, lang), summary(result, k, lang)


def toggle_play(n_clicks: int | None, context: dict[str, Any] | None) -> tuple[bool, str]:
    """Play / pause: odd clicks play (the interval runs), even clicks pause."""
    lang: Lang = "en" if (context or {}).get("lang") == "en" else "zh"
    playing = n_clicks is not None and n_clicks % 2 == 1
    return (not playing, t("backlog.pause" if playing else "backlog.play", lang))


def step(n_intervals: int | None, value: int | None, context: dict[str, Any] | None) -> Any:
    """One tick of playback: ``stride`` moments on, back to the first after the last."""
    ctx = context or {}
    count = int(ctx.get("count") or 0)
    if not n_intervals or count == 0:
        return no_update
    current = int(value or 0)
    if current >= count - 1:
        return 0
    return min(current + int(ctx.get("stride") or 1), count - 1)


def register(app: dash.Dash) -> None:
    """Attach the playback's callbacks to ``app``."""
    app.clientside_callback(
        ClientsideFunction(namespace="yiwang", function_name="fitMap"),
        Output(ids.BACKLOG_FITTED, "data"),
        Input(ids.BACKLOG_MAP, "figure"),
        State(ids.BACKLOG_MAP, "id"),
    )
    app.callback(
        Output(ids.BACKLOG_FRAME, "data"),
        Output(ids.BACKLOG_MOMENT, "children"),
        Output(ids.BACKLOG_SUMMARY, "children"),
        Input(ids.BACKLOG_SLIDER, "value"),
        State(ids.BACKLOG_CONTEXT, "data"),
        prevent_initial_call=True,
    )(recolour)
    app.clientside_callback(
        ClientsideFunction(namespace="yiwangBacklog", function_name="recolour"),
        Output(ids.BACKLOG_APPLIED, "data"),
        Input(ids.BACKLOG_FRAME, "data"),
        State(ids.BACKLOG_MAP, "id"),
        State(ids.BACKLOG_CHART, "id"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(ids.BACKLOG_TICK, "disabled"),
        Output(ids.BACKLOG_PLAY, "children"),
        Input(ids.BACKLOG_PLAY, "n_clicks"),
        State(ids.BACKLOG_CONTEXT, "data"),
        prevent_initial_call=True,
    )(toggle_play)
    app.callback(
        Output(ids.BACKLOG_SLIDER, "value"),
        Input(ids.BACKLOG_TICK, "n_intervals"),
        State(ids.BACKLOG_SLIDER, "value"),
        State(ids.BACKLOG_CONTEXT, "data"),
        prevent_initial_call=True,
    )(step)
