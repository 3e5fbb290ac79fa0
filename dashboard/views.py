"""The SLA view and the ranking view of a unit page (``?view=sla``, ``?view=ranking``).

Both read through :mod:`dashboard.data` (which shares its queries with the notebook API)
and compose components; like the overview they never raise for bad URL state: an unknown
metric falls back to the default, a snapshot of another period or an unknown snapshot is
ignored with a note.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from dashboard import basemap, components, data, figures, fmt, ids, routes
from dashboard.cache import memo, memo_json
from dashboard.components.panels import attributes
from dashboard.i18n import Lang, t
from pipelines import metrics

#: The ranking view's default metric (on-time handling: what a 12345 review opens with).
DEFAULT_RANK_METRIC = "on_time_rate"
#: Rows of each SLA list.
LIST_ROWS = 100
#: Departments in the league table.
LEAGUE_ROWS = 40
_LAMP_KEYS = ("open_now", "green", "yellow", "red", "response_overdue")
_ESCALATION_KEYS = ("escalation_1", "escalation_2", "escalation_3", "long_unresolved_open")


def _name(row: Any, lang: Lang, zh: str, en: str) -> str:
    value = getattr(row, en) if lang == "en" else getattr(row, zh)
    return str(value) if not fmt.is_missing(value) else fmt.NA


def _time(value: object) -> str:
    if fmt.is_missing(value):
        return fmt.NA
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]


def _summary_tiles(summary: dict[str, int], lang: Lang) -> html.Div:
    tiles = []
    for key in _LAMP_KEYS + _ESCALATION_KEYS:
        tiles.append(
            html.Div(
                [
                    html.Div(t(f"sla.{key}", lang), className="yw-kpi-label"),
                    html.Div(fmt.fmt_int(summary.get(key, 0)), className="yw-kpi-value"),
                ],
                className=f"yw-kpi yw-sla-{key}",
                title=t(f"sla.{key}_hint", lang),
                **attributes({"data-sla": key}),
            )
        )
    return html.Div(tiles, id=ids.SLA_SUMMARY, className="yw-kpis yw-sla-tiles")


def sla_view(unit: data.Unit, period: data.Period, lang: Lang) -> list[Component]:
    """The SLA view: lamps now, the overdue and long-unresolved lists, department league."""
    rules = data.sla_rules()
    summary = data.sla_summary(unit)  # also the scope check before the figure's cache
    open_now = data.sla_requests(unit, "open", None, data.SLA_OPEN_ROWS)
    lamp_figure = _lamp_figure(data.current_build().name, unit.unit_id, lang)
    map_panel = components.panel(
        t("sla.map", lang),
        components.graph(ids.MAP, lamp_figure, class_name="yw-map"),
        subtitle=t(
            "sla.map_hint",
            lang,
            yellow=fmt.fmt_pct(rules.get("yellow_at", 0.8), 0),
            shown=fmt.fmt_int(min(len(open_now), data.SLA_OPEN_ROWS)),
        ),
        class_name="yw-panel-map",
    )
    overdue = data.sla_requests(unit, "overdue", None, LIST_ROWS)
    overdue_table = components.simple_table(
        [
            (t("sla.col.id", lang), "yw-col-id"),
            (t("sla.col.type", lang), "yw-col-name"),
            (t("sla.col.department", lang), "yw-col-name"),
            (t("sla.col.created", lang), ""),
            (t("sla.col.limit", lang), "yw-num"),
            (t("sla.col.open_hours", lang), "yw-num"),
            (t("sla.col.escalation", lang), ""),
        ],
        [
            [
                str(r.request_id),
                _name(r, lang, "l4_zh", "l4_en"),
                components.as_recorded(r.department),
                _time(r.created_local),
                fmt.fmt_int(r.time_limit_hours),
                fmt.fmt_number(r.open_working_hours),
                t(f"sla.escalation.{r.escalation}", lang),
            ]
            for r in overdue.itertuples(index=False)
        ],
        component_id=ids.SLA_OVERDUE,
        empty_text=t("sla.none_overdue", lang),
        row_keys=[str(v) for v in overdue["request_id"]],
    )
    long = data.sla_requests(unit, "long_unresolved", period.period_id, LIST_ROWS)
    long_table = components.simple_table(
        [
            (t("sla.col.id", lang), "yw-col-id"),
            (t("sla.col.type", lang), "yw-col-name"),
            (t("sla.col.created", lang), ""),
            (t("sla.col.state", lang), ""),
            (t("sla.col.reopens", lang), "yw-num"),
            (t("sla.col.reason", lang), ""),
        ],
        [
            [
                str(r.request_id),
                _name(r, lang, "l4_zh", "l4_en"),
                _time(r.created_local),
                t("sla.state.open" if r.is_open else "sla.state.closed", lang),
                fmt.fmt_int(r.reopen_count),
                " · ".join(
                    t(key, lang, days=fmt.fmt_number(rules.get("long_open_working_days"), 0))
                    for key, on in (
                        ("sla.reason.long_open", r.long_open),
                        ("sla.reason.reopened", r.reopened_often),
                    )
                    if on
                ),
            ]
            for r in long.itertuples(index=False)
        ],
        component_id=ids.SLA_LONG,
        empty_text=t("sla.none_long", lang),
        row_keys=[str(v) for v in long["request_id"]],
    )
    side = html.Div(
        [
            components.panel(
                t("sla.overdue_title", lang, n=fmt.fmt_int(summary.get("red", 0))),
                overdue_table,
                subtitle=t("sla.overdue_sub", lang),
            ),
            components.panel(
                t("sla.long_title", lang),
                long_table,
                subtitle=t(
                    "sla.long_sub",
                    lang,
                    days=fmt.fmt_number(rules.get("long_open_working_days"), 0),
                    reopens=fmt.fmt_int(rules.get("long_reopens")),
                    period=period.label(lang),
                ),
            ),
            _department_league(unit, period, lang),
        ],
        className="yw-side yw-side-sla",
    )
    return [
        _summary_tiles(summary, lang),
        html.Main([map_panel, side], className="yw-main"),
    ]


@memo_json
def _lamp_figure(build: str, unit_id: str, lang: Lang) -> dict[str, Any]:
    """The SLA map of a unit (cached per build: a district's 2,000 dots took ~15 ms)."""
    del build  # the cache key: data.* reads the current build
    unit = data.unit(unit_id)
    if unit is None:
        return figures.empty_figure(t("chart.empty", lang))
    open_now = data.sla_requests(unit, "open", None, data.SLA_OPEN_ROWS)
    points = open_now.assign(
        l4=open_now["l4_en"] if lang == "en" else open_now["l4_zh"],
        open_hours=open_now["open_working_hours"],
    )
    kids = data.children(unit)
    child_shapes: list[str | None] = list(data.child_outlines(unit)["geojson"]) if kids else []
    return basemap.for_display(
        figures.lamp_map(
            points,
            bbox=unit.bbox,
            unit_outline=data.outline(unit),
            child_outlines=child_shapes,
            text={
                "green": t("sla.green", lang),
                "yellow": t("sla.yellow", lang),
                "red": t("sla.red", lang),
                "hours": t("sla.open_hours", lang),
            },
            revision=f"sla-{unit.unit_id}",
        )
    )


@memo
def _league(
    build: str, unit_id: str, period_id: str
) -> tuple[int, tuple[tuple[Any, Any, Any, dict[str, Any]], ...]]:
    """The unit's requests and its league's rows: (rank, eligible, department, metrics).

    Cached per build (the ranking and the per-department dicts were ~60 % of a warm SLA
    view of the 10 M city, whose breakdown lists hundreds of departments); the caller has
    passed the scope check (``data.breakdown``).
    """
    del build  # the cache key: data.* reads the current build
    unit = data.unit(unit_id)
    if unit is None:
        return 0, ()
    rows = data.breakdown(unit, period_id, "department")
    if rows.empty:
        return 0, ()
    total = int(rows["requests"].sum())
    frame = rows.assign(unit_id=rows["key"])
    ranked = metrics.rank_units(frame, "on_time_rate", data.min_rank_requests()).head(LEAGUE_ROWS)
    # one dict per department shown: a .loc lookup per row was most of the table's time
    top = frame.loc[frame["unit_id"].astype(str).isin(ranked["unit_id"].astype(str))]
    records: list[dict[str, Any]] = top.to_dict("records")  # type: ignore[assignment]
    by_key = dict(zip(top["unit_id"].astype(str), records, strict=True))
    return total, tuple(
        (r.rank, r.eligible, r.unit_id, by_key[str(r.unit_id)])
        for r in ranked.itertuples(index=False)
    )


def _department_league(unit: data.Unit, period: data.Period, lang: Lang) -> html.Section:
    """Departments handling the unit's requests, ranked on on-time handling."""
    rows = data.breakdown(unit, period.period_id, "department")
    columns = [
        (t("col.rank", lang), "yw-col-rank"),
        (t("sla.col.department", lang), "yw-col-name"),
        (t("col.requests", lang), "yw-num"),
        (t("sla.col.dispatch_share", lang), "yw-num"),
    ]
    shown = ("on_time_rate", "response_rate", "satisfaction_rate", "reopen_rate")
    columns += [(metrics.metric(m).name(lang), "yw-num") for m in shown]
    columns.append((metrics.metric("handling_hours_p50").name(lang), "yw-num"))
    body: list[list[Any]] = []
    keys: list[str] = []
    # the dispatch split by department: each department's share of the unit's requests
    total, league = _league(data.current_build().name, unit.unit_id, period.period_id)
    for rank, eligible, key, src in league:
        body.append(
            [
                fmt.fmt_int(rank) if eligible else fmt.NA,
                components.as_recorded(src["key_en"] if lang == "en" else key),
                fmt.fmt_int(src["requests"]),
                fmt.fmt_pct(src["requests"] / total if total else None),
                *[fmt.fmt_metric(src[m], "share") for m in shown],
                fmt.fmt_metric(src["handling_hours_p50"], "hours"),
            ]
        )
        keys.append(str(key))
    note = (
        t("sla.league_sub", lang, n=fmt.fmt_int(data.min_rank_requests()))
        if not rows.empty
        else t("sla.league_none", lang)
    )
    return components.panel(
        t("sla.league_title", lang),
        components.simple_table(
            columns,
            body,
            component_id=ids.SLA_DEPARTMENTS,
            empty_text=t("sla.league_none", lang),
            row_keys=keys,
        ),
        subtitle=note,
    )


def resolve_metric(metric_id: object) -> metrics.Metric:
    """The URL's ranking metric, or the default one when missing or not rankable."""
    for m in metrics.rankable():
        if m.id == metric_id:
            return m
    return metrics.metric(DEFAULT_RANK_METRIC)


def ranking_view(
    unit: data.Unit,
    period: data.Period,
    lang: Lang,
    *,
    metric_id: object = None,
    snapshot_id: object = None,
    hierarchy: str | None = None,
) -> list[Component]:
    """Rank the unit's children (a leaf: its peers) on one metric, live or as published."""
    m = resolve_metric(metric_id)
    child = data.child_level(unit, hierarchy)
    parent: data.Unit | None
    parent_id: str | None
    if child is not None:
        level, parent_id, parent = child.level, unit.unit_id, unit
    else:
        # A leaf ranks among its peers; a scoped user's peers are cut to their scope (and
        # the parent, not theirs, is not named).
        level, parent_id, parent = unit.level, unit.parent_id, data.unit(unit.parent_id)
    available = data.snapshot_list(period.period_id)
    chosen = next((s for s in available if s.snapshot_id == snapshot_id), None)
    note: list[Component | str] = []
    if snapshot_id and chosen is None:
        note.append(t("ranking.snapshot_unknown", lang))
    if chosen is not None:
        frozen = data.snapshot_ranking(chosen.snapshot_id, level, parent_id, m.id)
    else:
        frozen = None
    if frozen is not None:
        info, ranked = frozen
        note.append(
            t(
                "ranking.snapshot_note",
                lang,
                published=info.published_at_utc[:16].replace("T", " "),
                build=info.build_id,
            )
        )
        stars_source = None
    else:
        ranked = data.live_ranking(level, parent_id, period.period_id, m.id)
        stars_source = data.peer_metrics(level, parent_id, period.period_id)
        note.append(t("ranking.live_note", lang))
    min_n = chosen.min_requests if chosen is not None else data.min_rank_requests()
    note.append(t("ranking.rule", lang, n=fmt.fmt_int(min_n)))
    info_level = data.level_info(level)
    is_leaf = info_level is not None and info_level.child_level is None
    stars: dict[str, int] = {}
    if is_leaf and stars_source is not None and not stars_source.empty:
        starred = metrics.star_table(stars_source)
        stars = {
            str(u): int(s)
            for u, s in zip(starred["unit_id"], starred["stars"], strict=True)
            if not fmt.is_missing(s)
        }
    controls = html.Div(
        [
            html.Label(
                [
                    html.Span(t("ranking.metric", lang), className="yw-control-label"),
                    dcc.Dropdown(
                        id=ids.RANK_METRIC,
                        options=[
                            {"label": x.name(lang), "value": x.id} for x in metrics.rankable()
                        ],
                        value=m.id,
                        clearable=False,
                        searchable=False,
                        className="yw-period",
                    ),
                ],
                className="yw-control",
            ),
            html.Label(
                [
                    html.Span(t("ranking.snapshot", lang), className="yw-control-label"),
                    dcc.Dropdown(
                        id=ids.RANK_SNAPSHOT,
                        options=[{"label": t("ranking.live", lang), "value": "live"}]
                        + [{"label": s.label(), "value": s.snapshot_id} for s in available],
                        value=chosen.snapshot_id if chosen is not None else "live",
                        clearable=False,
                        searchable=False,
                        className="yw-period",
                    ),
                ],
                className="yw-control",
            ),
        ],
        className="yw-controls yw-ranking-controls",
    )
    columns = [
        (t("col.rank", lang), "yw-col-rank"),
        (t("col.name", lang), "yw-col-name"),
        (m.name(lang), "yw-num"),
        (t("ranking.interval", lang), "yw-num"),
        (t("ranking.n", lang), "yw-num"),
    ]
    if stars:
        columns.append((t("ranking.stars", lang), ""))
    body: list[list[Any]] = []
    for r in ranked.itertuples(index=False):
        name = str(r.name_en if lang == "en" else r.name_zh)
        href = routes.href(level, str(r.unit_id), period=period.period_id, lang=lang)
        interval = (
            f"{fmt.fmt_pct(r.ci_low)} – {fmt.fmt_pct(r.ci_high)}"
            if not fmt.is_missing(r.ci_low)
            else fmt.NA
        )
        row: list[Any] = [
            fmt.fmt_int(r.rank) if r.eligible else t("ranking.too_few", lang),
            dcc.Link(name, href=href) if href else name,
            fmt.fmt_metric(r.value, m.unit),
            interval,
            fmt.fmt_int(r.n),
        ]
        if stars:
            count = stars.get(str(r.unit_id))
            row.append("★" * count if count else fmt.NA)
        body.append(row)
    table = components.simple_table(
        columns,
        body,
        component_id=ids.RANK_TABLE,
        empty_text=t("ranking.empty", lang),
        row_keys=[str(u) for u in ranked["unit_id"]],
    )
    title = t(
        "ranking.title",
        lang,
        level=info_level.label(lang) if info_level else level,
        parent=(parent or unit).name(lang),
        metric=m.name(lang),
    )
    names = [
        str(n_en if lang == "en" else n_zh)
        for n_zh, n_en in zip(ranked["name_zh"], ranked["name_en"], strict=True)
    ]
    chart = dcc.Graph(
        figure=figures.interval_chart(
            ranked,
            names=names,
            unit=m.unit,
            text={
                "ranked": t("ranking.ranked", lang),
                "too_few": t("ranking.too_few", lang),
                "empty": t("ranking.empty", lang),
            },
        ),
        config={"displayModeBar": False, "responsive": True},
        className="yw-interval-chart",
        style={"height": "100%"} if len(ranked) <= 24 else {},
    )
    return [
        components.panel(
            title,
            [
                controls,
                html.P(" ".join(str(n) for n in note), id=ids.RANK_NOTE, className="yw-footnote"),
                html.Div([table, chart], className="yw-ranking-body"),
            ],
            subtitle=f"{m.definition(lang)} · {t(_better_key(m), lang)}",
            class_name="yw-panel-ranking-view",
        )
    ]


def _better_key(m: metrics.Metric) -> str:
    return "kpi.higher_better" if m.higher_is_better else "kpi.lower_better"
