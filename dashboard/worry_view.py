"""The worry view of a unit page (``?view=worry``): the index month by month, and why.

The map holds every heatmap cell the unit had in any calendar month; a slider (and a play
button that steps it) recolours the cells for one month: the server sends the month's
colours and the browser restyles the cell trace (``assets/cockpit.js``), so the polygons
are sent once and never redrawn. Clicking a cell explains it in the side panel:
each component's contribution (they add up to the index), the estimates it was shrunk
toward, and the categories, addresses and city components with the most requests. The
panel first explains the unit itself.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html, no_update
from dash.development.base_component import Component

from dashboard import basemap, components, data, figures, fmt, ids
from dashboard.cache import memo, memo_json
from dashboard.components.panels import attributes
from dashboard.i18n import Lang, t

#: Milliseconds between months when playing.
PLAY_INTERVAL_MS = 1200
#: Groups listed per kind (categories, addresses, components) in the explanation.
BEHIND_ROWS = 5


def months() -> list[data.Period]:
    """Calendar-month periods, oldest first (the slider's steps)."""
    return sorted((p for p in data.periods() if p.kind == "month"), key=lambda p: p.start)


def start_month(period: data.Period, steps: list[data.Period]) -> int:
    """Slider position shown first: the page's period if a month, else the newest month."""
    for i, p in enumerate(steps):
        if p.period_id == period.period_id:
            return i
    return len(steps) - 1


def cell_order(series: pd.DataFrame) -> pd.DataFrame:
    """Every cell of the series once (``cell_id, ring, cell``), in one fixed order."""
    return (
        series.drop_duplicates("cell_id")[["cell_id", "ring", "cell"]]
        .sort_values("cell_id")
        .reset_index(drop=True)
    )


def month_marks(unit: data.Unit, period_id: str, lang: Lang) -> pd.DataFrame:
    """The month's overlay markers in the unit: hotspot clusters and early-warning alerts.

    ``kind`` is ``hotspot``, ``emerging`` (significant and rising) or ``alert`` (a street
    alert sits at its street's centre, a cell alert at its cell; city-wide storms are on
    the ticker, not the map).
    """
    rows: list[dict[str, Any]] = []
    for r in data.hotspot_clusters(unit, period_id).to_dict("records"):
        emerging = (not fmt.is_missing(r["emerging"])) and bool(r["emerging"])
        label = t(
            "worry.mark.emerging" if emerging else "worry.mark.hotspot",
            lang,
            requests=fmt.fmt_int(r["requests"]),
            expected=fmt.fmt_number(r["expected"]),
            category=str(r["top_l1_en"] if lang == "en" else r["top_l1_zh"]),
        )
        kind = "emerging" if emerging else "hotspot"
        rows.append({"lng": r["lng"], "lat": r["lat"], "kind": kind, "label": label})
    for r in data.period_alerts(unit, period_id).to_dict("records"):
        lng, lat = r.get("lng"), r.get("lat")
        where = data.unit(r["unit_id"]) if r.get("unit_id") else None
        if fmt.is_missing(lng) and where is not None:
            lng, lat = where.center_lng, where.center_lat
        if fmt.is_missing(lng) or fmt.is_missing(lat):
            continue
        label = t(
            "worry.mark.alert",
            lang,
            day=fmt.fmt_day(r["first_day"]),
            severity=t(f"ticker.severity.{int(r['severity'])}", lang),
            category=str(r["category_en"] if lang == "en" else r["category_zh"]),
            observed=fmt.fmt_int(r["observed"]),
            expected=fmt.fmt_number(r["expected"], 1 if r["expected"] >= 1 else 2),
        )
        rows.append({"lng": lng, "lat": lat, "kind": "alert", "label": label})
    frame = pd.DataFrame(rows, columns=["lng", "lat", "kind", "label"])
    frame["lng"] = frame["lng"].astype(float)
    frame["lat"] = frame["lat"].astype(float)
    return frame


# Cached per build and shared by all users (callers check the scope first): the slider
# asks for a month's colours again and again, and the city's cells are thousands.


@memo
def _cells(build: str, unit_id: str, hierarchy: str) -> pd.DataFrame:
    """:func:`cell_order` of the unit's series."""
    del build  # the cache key: data.* reads the current build
    unit = data.unit(unit_id)
    if unit is None:  # not reached: callers hold the unit
        return pd.DataFrame(columns=["cell_id", "ring", "cell"])
    return cell_order(data.worry_series(unit, hierarchy or None))


@memo_json
def _frame(build: str, unit_id: str, hierarchy: str, period_id: str) -> dict[str, list[Any]]:
    """One month's colours and hovers of the unit's cells (``figures.worry_frame``)."""
    unit = data.unit(unit_id)
    if unit is None:  # not reached: callers hold the unit
        return {"z": [], "customdata": []}
    series = data.worry_series(unit, hierarchy or None)
    cells = _cells(build, unit_id, hierarchy)
    return figures.worry_frame(series, list(cells["cell_id"]), period_id)


@memo
def _marks(build: str, unit_id: str, period_id: str, lang: Lang) -> pd.DataFrame:
    """:func:`month_marks` of the unit."""
    del build  # the cache key: data.* reads the current build
    unit = data.unit(unit_id)
    if unit is None:  # not reached: callers hold the unit
        return month_marks_empty()
    return month_marks(unit, period_id, lang)


def month_marks_empty() -> pd.DataFrame:
    """No marks (the frame :func:`month_marks` returns for a month without any)."""
    frame = pd.DataFrame(columns=["lng", "lat", "kind", "label"])
    frame["lng"] = frame["lng"].astype(float)
    frame["lat"] = frame["lat"].astype(float)
    return frame


def map_text(lang: Lang) -> dict[str, str]:
    """Translated strings of the worry map."""
    return {
        "worry": t("hover.worry", lang),
        "requests": t("hover.requests", lang),
        "colorbar": t("map.colorbar", lang),
        "cell": t("worry.cell", lang),
    }


def worry_view(
    unit: data.Unit, period: data.Period, lang: Lang, hierarchy: str | None
) -> list[Component]:
    """The worry view: the monthly map with slider and play button, and the explanation."""
    steps = months()
    if not steps:
        return [
            components.empty_state(
                t("worry.no_months", lang), "", back_href=None, back_text="", component_id=ids.EMPTY
            )
        ]
    at = start_month(period, steps)
    data.worry_series(unit, hierarchy)  # the scope check, before the shared caches below
    build = data.current_build().name
    cells = _cells(build, unit.unit_id, hierarchy or "")
    frame = _frame(build, unit.unit_id, hierarchy or "", steps[at].period_id)
    kids = data.children(unit, hierarchy)
    outlines: list[str | None] = (
        list(data.child_outlines(unit, hierarchy)["geojson"]) if kids else []
    )
    figure = figures.worry_map(
        cells,
        frame,
        bbox=unit.bbox,
        unit_outline=data.outline(unit),
        child_outlines=outlines,
        marks=_marks(build, unit.unit_id, steps[at].period_id, lang),
        text=map_text(lang),
        revision=f"worry-{unit.unit_id}",
    )
    figure = basemap.for_display(figure)
    marks = {
        i: {"label": p.start.strftime("%y-%m") if len(steps) > 12 else p.start.strftime("%m")}
        for i, p in enumerate(steps)
    }
    controls = html.Div(
        [
            html.Button(t("worry.play", lang), id=ids.WORRY_PLAY, className="yw-play", n_clicks=0),
            html.Div(
                dcc.Slider(
                    id=ids.WORRY_SLIDER,
                    min=0,
                    max=len(steps) - 1,
                    step=1,
                    value=at,
                    marks=marks,
                    included=False,
                    allow_direct_input=False,
                ),
                className="yw-slider",
            ),
            html.Span(steps[at].label(lang), id=ids.WORRY_MONTH, className="yw-month"),
            *components.playback_stores(
                tick=ids.WORRY_TICK,
                fitted=ids.WORRY_FITTED,
                frame=ids.WORRY_FRAME,
                applied=ids.WORRY_APPLIED,
                interval_ms=PLAY_INTERVAL_MS,
            ),
            dcc.Store(
                id=ids.WORRY_CONTEXT,
                data={
                    "unit_id": unit.unit_id,
                    "hierarchy": hierarchy or "",
                    "months": [p.period_id for p in steps],
                    "lang": lang,
                },
            ),
        ],
        className="yw-worry-controls",
    )
    map_panel = components.panel(
        t("worry.map", lang),
        html.Div(
            [components.graph(ids.WORRY_MAP, figure, class_name="yw-map"), controls],
            className="yw-worry-body",
        ),
        subtitle=t("worry.map_hint", lang) + " · " + t("worry.marks_hint", lang),
        class_name="yw-panel-map",
    )
    explain = components.panel(
        t("worry.explain", lang),
        html.Div(explanation(unit, steps[at].period_id, None, lang), id=ids.WORRY_EXPLAIN),
        class_name="yw-panel-explain",
    )
    return [html.Main([map_panel, html.Div([explain], className="yw-side")], className="yw-main")]


def explanation(
    unit: data.Unit, period_id: str, cell_id: str | None, lang: Lang
) -> list[Component]:
    """Why the unit (or one cell of its map) has its index in ``period_id``.

    Never raises for a stale click: a cell without requests in the month says so.
    """
    level = data.level_info(unit.level)
    cell = None
    res = None
    if cell_id:
        try:
            cell = int(cell_id, 16)
        except ValueError:
            cell_id, cell = None, None
        res = level.res if level is not None and cell is not None else None
        if res is None:
            cell = None
    row = data.worry_place(unit, period_id, cell)
    period = data.resolve_period(period_id)
    place = (
        t("worry.cell_of", lang, cell=cell_id, unit=unit.name(lang)) if cell else unit.name(lang)
    )
    head = html.Div(
        [html.Div(place, className="yw-explain-place"), html.Div(period.label(lang))],
        className="yw-explain-head",
    )
    if row is None or fmt.is_missing(row.get("worry_index")):
        return [head, html.P(t("worry.nothing", lang), className="yw-muted")]
    value = float(row["worry_index"])
    badge = html.Div(
        fmt.fmt_index(value),
        className="yw-explain-index",
        style={"backgroundColor": figures.worry_color(value)},
        **attributes({"data-worry": f"{value:.1f}"}),
    )
    parts = data.worry_components(row)
    bars = [
        html.Div(
            [
                html.Span(t(f"worry.c.{name}", lang), className="yw-bar-label"),
                html.Span(
                    html.Span(className="yw-bar-fill", style={"width": f"{100 * score:.0f}%"}),
                    className="yw-bar",
                    title=t(f"worry.c.{name}_hint", lang),
                ),
                html.Span(f"{points:.1f} / {100 * weight:.0f}", className="yw-num"),
            ],
            className="yw-explain-row",
            **attributes({"data-component": name}),
        )
        for name, weight, score, points in zip(
            parts["component"].astype(str),
            parts["weight"].fillna(0).astype(float),
            parts["score"].fillna(0).astype(float),
            parts["contribution"].fillna(0).astype(float),
            strict=True,
        )
    ]
    facts = _facts(row, lang)
    behind = data.worry_behind(unit, period_id, cell, res, BEHIND_ROWS)
    lists = [_behind_list(behind, kind, lang) for kind in ("category", "address", "component")]
    return [
        head,
        html.Div(
            [badge, html.Div(t("worry.sum_hint", lang), className="yw-muted")],
            className="yw-explain-top",
        ),
        html.Div(bars, className="yw-explain-bars"),
        facts,
        *[x for x in lists if x is not None],
    ]


def _facts(row: dict[str, Any], lang: Lang) -> html.Ul:
    """The counts and the estimates the place was shrunk toward, in words."""
    items = [
        t(
            "worry.fact.requests",
            lang,
            requests=fmt.fmt_int(row.get("requests")),
            rate=fmt.fmt_number(row.get("requests_per_10k_30d")),
            prior=fmt.fmt_number(row.get("prior_rate")),
        ),
        t(
            "worry.fact.open",
            lang,
            open=fmt.fmt_int(row.get("open")),
            overdue=fmt.fmt_int(row.get("overdue_open")),
        ),
        t(
            "worry.fact.previous",
            lang,
            previous=fmt.fmt_int(row.get("previous_requests")),
            days=fmt.fmt_number(row.get("previous_days")),
        ),
    ]
    return html.Ul([html.Li(x) for x in items], className="yw-explain-facts")


def _behind_key(text: str, kind: str) -> html.Span:
    """A category (in the page's language), an address as typed, or a component id · kind."""
    if kind == "address":
        return html.Span(text, className="yw-explain-key", lang=fmt.text_lang(text))
    if kind == "component":
        ident, _, what = text.partition(" · ")
        return html.Span(
            [html.Span(ident, lang="zxx"), " · " + what if what else ""],
            className="yw-explain-key",
        )
    return html.Span(text, className="yw-explain-key")


def _behind_list(behind: pd.DataFrame, kind: str, lang: Lang) -> html.Div | None:
    rows = behind.loc[behind["kind"] == kind]
    if rows.empty:
        return None
    key = "key_en" if lang == "en" else "key_zh"
    return html.Div(
        [
            html.Div(t(f"worry.top.{kind}", lang), className="yw-explain-sub"),
            html.Ol(
                [
                    html.Li(
                        [
                            _behind_key(str(getattr(r, key)), kind),
                            html.Span(
                                t(
                                    "worry.top.counts",
                                    lang,
                                    requests=fmt.fmt_int(r.requests),
                                    repeats=fmt.fmt_int(r.repeats),
                                ),
                                className="yw-muted",
                            ),
                        ]
                    )
                    for r in rows.itertuples(index=False)
                ]
            ),
        ],
        className=f"yw-explain-list yw-explain-{kind}",
    )


# ---------------------------------------------------------------------------------------------
# callbacks (plain functions; ``dashboard.callbacks.register`` wires them)


def _context_unit(context: dict[str, Any] | None) -> tuple[data.Unit | None, dict[str, Any]]:
    ctx = context or {}
    return data.unit(ctx.get("unit_id")), ctx


def recolour(value: int | None, context: dict[str, Any] | None) -> tuple[Any, Any]:
    """The slider moved: the month's colours, hovers and markers, and the month's label.

    Returns the ``ids.WORRY_FRAME`` store's data, ``{"cells": {"z", "customdata"},
    "marks": {"lon", "lat", "marker", "hovertext"}}``, which ``assets/cockpit.js`` applies
    with ``Plotly.restyle``: the polygons stay as drawn and only their colours change. (A
    Dash ``Patch`` of the figure would make plotly re-diff the map style, which MapLibre
    refuses for an inline style.)
    """
    unit, ctx = _context_unit(context)
    steps: list[str] = list(ctx.get("months") or [])
    if unit is None or value is None or not 0 <= int(value) < len(steps):
        return no_update, no_update
    period_id = steps[int(value)]
    hierarchy = str(ctx.get("hierarchy") or "")
    data.worry_series(unit, hierarchy or None)  # the scope check, before the shared caches
    build = data.current_build().name
    frame = _frame(build, unit.unit_id, hierarchy, period_id)
    lang: Lang = "en" if ctx.get("lang") == "en" else "zh"
    marks = figures.marks_trace(_marks(build, unit.unit_id, period_id, lang))
    marks["lon"], marks["lat"] = basemap.shift_points(marks["lon"], marks["lat"])
    update = {
        "cells": {"z": frame["z"], "customdata": frame["customdata"]},
        "marks": {k: marks[k] for k in ("lon", "lat", "marker", "hovertext")},
        "traces": [figures.WORRY_CELLS_TRACE, figures.WORRY_MARKS_TRACE],
    }
    return update, data.resolve_period(period_id).label(lang)


def toggle_play(n_clicks: int | None, context: dict[str, Any] | None) -> tuple[bool, str]:
    """Play / pause: odd clicks play (the interval runs), even clicks pause."""
    lang: Lang = "en" if (context or {}).get("lang") == "en" else "zh"
    playing = n_clicks is not None and n_clicks % 2 == 1
    return (not playing, t("worry.pause" if playing else "worry.play", lang))


def step(n_intervals: int | None, value: int | None, context: dict[str, Any] | None) -> Any:
    """One tick of playback: the next month, back to the first after the last."""
    count = len((context or {}).get("months") or [])
    if not n_intervals or count == 0:
        return no_update
    return (int(value or 0) + 1) % count


def explain_click(
    click_data: dict[str, Any] | None, value: int | None, context: dict[str, Any] | None
) -> Any:
    """A cell was clicked: explain it for the month the slider shows."""
    unit, ctx = _context_unit(context)
    steps: list[str] = list(ctx.get("months") or [])
    points = (click_data or {}).get("points") or []
    if unit is None or not points or value is None or not 0 <= int(value) < len(steps):
        return no_update
    custom = points[0].get("customdata")
    cell_id = custom[2] if isinstance(custom, list) and len(custom) > 2 else None
    if not isinstance(cell_id, str):
        return no_update
    lang: Lang = "en" if ctx.get("lang") == "en" else "zh"
    return explanation(unit, steps[int(value)], cell_id, lang)
