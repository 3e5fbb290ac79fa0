"""The grid chief's phone view (``/grid/<unit_id>``): my area, what is late, where to go.

Designed at 375×812 for a phone on a slow connection, fine on a laptop. One scrolling
column: the area and its data stamp, four counts (open, overdue, new in 7 days, worry
index), a small hotspot map, the worklist (open requests most urgent first, repeat
addresses, alerts), the city components in and around the area with their status, and a
one-tap export of the open requests.

It is light on purpose: no plotly figure (the map is a server-drawn SVG, see
:mod:`dashboard.grid_map`), no dropdown, no hidden tab, lists of :data:`LIST_LIMIT` or
:data:`SHORT_LIMIT` items with a "more" link. Every action is a link (language, more, full
cockpit), so the view needs no callback and its first load is the Dash shell plus one page
render (docs/benchmarks.md, "Grid-chief view first load").

Any unit id works, of any level: a community, a street or a Los Angeles neighbourhood
council is then the chief's area. ``?view=overview|worry|…`` on ``/grid/<id>`` shows the
grid's ordinary cockpit instead (:func:`page`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any, NamedTuple
from urllib.parse import urlencode

import dash
import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from dashboard import (
    access,
    cockpit,
    components,
    contact,
    data,
    figures,
    fmt,
    grid_map,
    ids,
    routes,
)
from dashboard.cache import memo
from dashboard.components.panels import attributes
from dashboard.export import export_href
from dashboard.i18n import Lang, resolve_lang, t
from pipelines import export as export_core
from pipelines import grid_queries, signal_queries

log = logging.getLogger(__name__)

#: The level whose page path this view takes over (``/grid/<id>``).
LEVEL = "grid"
#: Items per list on first load (the worklist; the shorter lists), and after "more".
LIST_LIMIT = 30
SHORT_LIMIT = 10
MORE_LIMIT = 300
#: Lists a "more" link can expand (the ``more`` query key).
MORE_LISTS = ("requests", "places", "components")
#: The map, worry index and repeat places look at this period; "new" at the short one.
MAP_PERIOD = "last30"
NEW_PERIOD = "last7"
#: Alerts still running in the last ``ALERT_DAYS`` days of data, at most ``ALERT_LIMIT``.
ALERT_DAYS = 30
ALERT_LIMIT = 10
#: Repeat places numbered on the map (the rest are listed only).
MAP_MARKS = 9
#: Component status classes (``mart_component``) the view names.
STATUS_CLASSES = ("normal", "damaged", "repair", "disabled", "unknown")
#: Durations longer than this many hours read in days.
DAYS_AFTER_HOURS = 48


def page(unit_id: str | None = None, **query: Any) -> html.Div:
    """Return what ``/grid/<unit_id>`` shows for the URL's query.

    ``?view=`` naming a cockpit view (overview, worry, backlog, sla, ranking, components)
    renders the grid's ordinary cockpit, so nothing the unit page offered is lost; without
    it the grid chief's view.
    """
    if query.get("view") in routes.VIEWS:
        return cockpit.render(LEVEL, unit_id, **query)
    return chief_view(unit_id, **query)


def chief_view(unit_id: str | None, **query: Any) -> html.Div:
    """Return the chief's view of any unit; a friendly empty state for an unknown id.

    Parameters
    ----------
    unit_id
        Path variable (a grid's id, or any unit's id: then that unit is the area).
    **query
        ``lang`` and ``more`` (one of :data:`MORE_LISTS`) are used, and ``period`` is
        passed on to the full cockpit (the chief's counts have their own fixed windows);
        anything else is ignored.
    """
    lang = resolve_lang(query.get("lang"))
    more = query.get("more") if query.get("more") in MORE_LISTS else None
    try:
        # Dash's matcher lets a path variable span slashes: no unit id has one.
        unit = data.unit(unit_id) if "/" not in str(unit_id or "") else None
        if unit is None:
            return unknown_area(unit_id, lang)
        raw = query.get("period")
        period = raw if isinstance(raw, str) and _has_period(raw) else None
        return _view(unit, Shown(lang, more, period))
    except data.WarehouseUnavailableError as exc:
        log.warning("grid view unavailable: %s", exc)
        return cockpit.no_warehouse(lang, component_id=ids.GRID_EMPTY)


def unknown_area(unit_id: object, lang: Lang) -> html.Div:
    """Return the empty state for an id that is no unit at all."""
    return components.empty_state(
        t("grid.empty.title", lang),
        t("grid.empty.body", lang, unit_id=str(unit_id or ""))
        if access.current().everywhere
        else t("auth.unknown_or_out_of_scope", lang, level=t("auth.area", lang)),
        back_href=routes.with_query("/", lang=lang),
        back_text=t(
            "empty.back" if access.current().everywhere else "auth.out_of_scope_hint", lang
        ),
        component_id=ids.GRID_EMPTY,
    )


class Shown(NamedTuple):
    """The URL state the view is rendered with (its links keep it)."""

    lang: Lang
    more: str | None = None
    period: str | None = None


def href(unit_id: str, shown: Shown) -> str:
    """Return the chief view's link for ``unit_id`` in the state ``shown``."""
    path = routes.page_path(LEVEL, unit_id) or "/"
    query = {"period": shown.period, "lang": shown.lang, "more": shown.more}
    return f"{path}?{urlencode({k: v for k, v in query.items() if v})}"


def cockpit_href(unit: data.Unit, shown: Shown) -> str:
    """Return the link to the unit's full cockpit (a grid's overview is ``?view=overview``)."""
    if unit.level == "city":
        return routes.with_query("/", period=shown.period, lang=shown.lang)
    if unit.level == LEVEL:
        # ``/grid/<id>`` alone is this view, so the grid's overview is asked for by name.
        path = routes.page_path(LEVEL, unit.unit_id) or "/"
        query = {"period": shown.period, "lang": shown.lang, "view": "overview"}
        return f"{path}?{urlencode({k: v for k, v in query.items() if v})}"
    return routes.href(unit.level, unit.unit_id, period=shown.period, lang=shown.lang) or "/"


def export_period() -> str:
    """The period of the one-tap export: any (what is open now, whenever it came in).

    The worklist lists every request open now, however old, so its export drops the
    intake-period filter (``period=any`` of the export route).
    """
    return export_core.ANY_PERIOD


# ---------------------------------------------------------------------------------------------
# the view


def _view(unit: data.Unit, shown: Shown) -> html.Div:
    lang, more = shown.lang, shown.more
    signals = bool(data.read(signal_queries.available))
    first = {"requests": LIST_LIMIT, "places": SHORT_LIMIT, "components": SHORT_LIMIT}
    limit = {name: MORE_LIMIT if name == more else first[name] for name in MORE_LISTS}
    places = (
        data.read(grid_queries.repeat_places, unit.unit_id, MAP_PERIOD, limit=limit["places"])
        if signals and _has_period(MAP_PERIOD)
        else pd.DataFrame()
    )
    return html.Div(
        [
            _header(unit, shown),
            _kpis(unit, lang),
            # one column on a phone, two balanced columns on a laptop (grid.css)
            html.Div(
                [
                    _map(unit, places, lang, signals),
                    _requests(unit, shown, limit["requests"]),
                    _places(unit, places, shown),
                    _alerts(unit, lang, signals),
                    _components(unit, shown, limit["components"]),
                ],
                className="yw-grid-cards",
            ),
            html.Footer(cockpit.account(lang), className="yw-grid-account"),
        ],
        id=ids.GRID_VIEW,
        className=f"yw-grid yw-grid-level-{unit.level}",
        lang="en" if lang == "en" else "zh-CN",
    )


def _has_period(period_id: str) -> bool:
    return any(p.period_id == period_id for p in data.periods())


def _header(unit: data.Unit, shown: Shown) -> html.Header:
    lang = shown.lang
    meta = data.meta()
    # the area's community and street (the two levels above it, below the city)
    above = [u for u in data.lineage(unit)[:-1] if u.level != "city"][-2:]
    where = " · ".join(u.name(lang) for u in reversed(above))
    other: Lang = "en" if lang == "zh" else "zh"
    switch = html.Nav(
        [
            html.Span("中文" if lang == "zh" else "EN", className="yw-grid-lang-on"),
            dcc.Link(
                html.Span(
                    "EN" if lang == "zh" else "中文", lang="en" if other == "en" else "zh-CN"
                ),
                href=href(unit.unit_id, shown._replace(lang=other)),
                className="yw-grid-lang-link",
            ),
        ],
        id=ids.GRID_LANG,
        className="yw-grid-lang",
    )
    return html.Header(
        [
            html.Div(
                [
                    html.Span(
                        f"{t('app.title', lang)} · {t('grid.brand', lang)}",
                        className="yw-grid-brand",
                    ),
                    switch,
                ],
                className="yw-grid-topline",
            ),
            html.H1(unit.name(lang), className="yw-grid-name"),
            html.Div(where, className="yw-grid-where") if where else None,
            html.Div(
                [
                    html.Span(
                        t("grid.as_of", lang, time=fmt.fmt_local_time(meta.as_of_local)),
                        className="yw-grid-asof",
                    ),
                    dcc.Link(
                        t("grid.cockpit", lang),
                        href=cockpit_href(unit, shown),
                        id=ids.GRID_COCKPIT,
                        className="yw-grid-cockpit",
                    ),
                ],
                className="yw-grid-stamp",
            ),
        ],
        className="yw-grid-head",
    )


def kpi_values(unit: data.Unit) -> dict[str, Any]:
    """The four counts of the view: ``open``, ``overdue`` (now), ``new7``, ``worry``.

    ``open`` and ``overdue`` are the unit's requests open now and those past due (red lamp),
    as the SLA view counts them; ``new7`` the requests received in the last 7 days and
    ``worry`` the worry index of the last 30 days, as the KPI strip shows them (``None``:
    not available in this build, or too few data).
    """
    sla = data.sla_summary(unit)
    new = data.unit_kpis(unit, NEW_PERIOD) if _has_period(NEW_PERIOD) else None
    worry = data.unit_kpis(unit, MAP_PERIOD) if _has_period(MAP_PERIOD) else None
    return {
        "open": int(sla.get("open_now", 0)),
        "overdue": int(sla.get("red", 0)),
        "new7": None if not _has_period(NEW_PERIOD) else int((new or {}).get("requests") or 0),
        "worry": (worry or {}).get("worry_index"),
    }


def _kpis(unit: data.Unit, lang: Lang) -> html.Section:
    values = kpi_values(unit)
    worry = values["worry"]
    tiles = [
        ("open", fmt.fmt_int(values["open"]), None),
        (
            "overdue",
            fmt.fmt_int(values["overdue"]),
            "yw-grid-kpi-warn" if values["overdue"] else None,
        ),
        ("new7", fmt.fmt_int(values["new7"]), None),
        ("worry", fmt.fmt_index(worry), None),
    ]
    children = []
    for key, text, extra in tiles:
        style = (
            {"color": figures.worry_color(worry)} if key == "worry" and worry is not None else None
        )
        children.append(
            html.Div(
                [
                    html.Div(t(f"grid.kpi.{key}", lang), className="yw-grid-kpi-label"),
                    html.Div(text, className="yw-grid-kpi-value", style=style),
                    html.Div(t(f"grid.kpi.{key}_sub", lang), className="yw-grid-kpi-sub"),
                ],
                className=f"yw-grid-kpi {extra or ''}".strip(),
                **attributes({"data-kpi": key, "data-value": text}),
            )
        )
    return html.Section(children, id=ids.GRID_KPIS, className="yw-grid-kpis")


def _card(
    component_id: str,
    title: str,
    sub: str,
    body: list[Any],
    *,
    action: Component | None = None,
) -> html.Section:
    head: list[Any] = [html.H2(title, className="yw-grid-card-title")]
    if sub:
        head.append(html.Span(sub, className="yw-grid-card-sub"))
    if action is not None:
        head.append(action)
    return html.Section(
        [html.Div(head, className="yw-grid-card-head"), *body],
        id=component_id,
        className="yw-grid-card",
    )


def _map_layers(
    unit: data.Unit, has_period: bool, signals: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The map's worry cells and hot cells (empty frames with their columns when none)."""
    cells = data.hex_cells(unit, MAP_PERIOD) if has_period else pd.DataFrame()
    if cells.empty:
        cells = pd.DataFrame({"ring": [], "worry_index": []})
    hot = (
        data.read(signal_queries.hotspot_cells, MAP_PERIOD, unit_id=unit.unit_id, level=unit.level)
        if signals and has_period
        else pd.DataFrame({"ring": []})
    )
    return cells, hot


def _map(unit: data.Unit, places: pd.DataFrame, lang: Lang, signals: bool) -> html.Section:
    has_period = _has_period(MAP_PERIOD)
    cells, hot = _map_layers(unit, has_period, signals)
    numbered = places.head(MAP_MARKS) if {"lng", "lat"} <= set(places.columns) else None
    marks = (
        [
            (str(i), float(lng), float(lat))
            for i, (lng, lat) in enumerate(
                zip(numbered["lng"], numbered["lat"], strict=True), start=1
            )
            if not (fmt.is_missing(lng) or fmt.is_missing(lat))
        ]
        if numbered is not None
        else []
    )
    # the picture is shared by all users, so the scope is checked before its cache
    if not data.in_scope(unit):
        raise access.OutOfScopeError("outside the principal's scope")
    picture = _picture(data.current_build().name, unit.unit_id, has_period, signals, tuple(marks))
    alt = t("grid.map.alt", lang, name=unit.name(lang), cells=len(cells), hot=len(hot))
    body: list[Any] = [html.Img(src=picture, alt=alt, title=alt, className="yw-grid-map-img")]
    if cells.empty:
        body.append(html.P(t("grid.map.empty", lang), className="yw-grid-note"))
    body.append(_legend(lang, hot=not hot.empty, places=bool(marks)))
    return _card(ids.GRID_MAP, t("grid.map.title", lang), t("grid.map.sub", lang), body)


@memo
def _picture(
    build: str,
    unit_id: str,
    has_period: bool,
    signals: bool,
    marks: tuple[tuple[str, float, float], ...],
) -> str:
    """The map as a data URI (cached per build: drawing a street's 700 cells took ~30 ms)."""
    del build  # the cache key: data.* reads the current build
    unit = data.unit(unit_id)
    if unit is None:  # not reached: the caller holds the unit
        return ""
    cells, hot = _map_layers(unit, has_period, signals)
    svg = grid_map.svg_map(
        cells,
        bbox=unit.bbox,
        outline=data.outline(unit),
        hot_rings=list(hot["ring"]),
        marks=list(marks),
    )
    return grid_map.data_uri(svg)


def _legend(lang: Lang, *, hot: bool, places: bool) -> html.Div:
    stops = ", ".join(f"{c} {x * 100:.0f}%" for x, c in figures.WORRY_COLORSCALE)
    scale = {"background": f"linear-gradient(90deg, {stops})"}
    grey = {"background": figures.INSUFFICIENT_COLOR}
    # each key stays on one line with its swatch
    groups: list[list[Any]] = [
        [
            html.Span(t("grid.legend.low", lang)),
            html.I(className="yw-grid-scale", style=scale),
            html.Span(t("grid.legend.high", lang)),
        ],
        [html.I(className="yw-grid-swatch", style=grey), t("grid.legend.insufficient", lang)],
    ]
    if hot:
        groups.append(
            [html.I(className="yw-grid-swatch yw-grid-swatch-hot"), t("grid.legend.hot", lang)]
        )
    if places:
        groups.append(
            [html.I(className="yw-grid-swatch yw-grid-swatch-place"), t("grid.legend.place", lang)]
        )
    return html.Div(
        [html.Span(g, className="yw-grid-key") for g in groups], className="yw-grid-legend"
    )


# ---------------------------------------------------------------------------------------------
# lists


def duration(hours: object, lang: Lang) -> str:
    """Format a span of hours for a list: ``36`` → "36小时" / "36 h"; ``80`` → "3天" / "3 d"."""
    if fmt.is_missing(hours):
        return fmt.NA
    h = abs(float(hours))  # type: ignore[arg-type]
    if h < DAYS_AFTER_HOURS:
        return t("grid.hours", lang, n=max(1, math.floor(h)))
    return t("grid.days", lang, n=math.floor(h / 24))


def _list(items: list[Any], empty_text: str, footer: list[Any]) -> list[Any]:
    if not items:
        return [html.P(empty_text, className="yw-grid-note")]
    return [html.Ol(items, className="yw-grid-list"), *footer]


def _footer(unit: data.Unit, state: Shown, name: str, shown: int, total: int) -> list[Any]:
    lang = state.lang
    if total <= shown:
        return []
    if name != state.more:
        return [
            html.Div(
                dcc.Link(
                    t("grid.more", lang, total=fmt.fmt_int(total)),
                    href=href(unit.unit_id, state._replace(more=name)),
                ),
                className="yw-grid-more",
                **attributes({"data-more": name}),
            )
        ]
    return [
        html.P(
            t("grid.shown", lang, shown=shown, total=fmt.fmt_int(total)), className="yw-grid-note"
        )
    ]


def _total(frame: pd.DataFrame) -> int:
    return int(frame["total"].iloc[0]) if not frame.empty else 0


def _requests(unit: data.Unit, state: Shown, limit: int) -> html.Section:
    lang = state.lang
    rows = data.read(grid_queries.open_requests, unit.unit_id, limit=limit)
    shown = contact.masked_contacts(unit.unit_id, tuple(str(r) for r in rows["request_id"]))
    items = []
    for r in rows.itertuples():
        lamp = str(r.lamp) if r.lamp in ("red", "yellow", "green") else "green"
        due = (
            t("grid.overdue_by", lang, time=duration(r.past_due_hours, lang))
            if lamp == "red"
            else t("grid.due_in", lang, time=duration(r.past_due_hours, lang))
        )
        meta = [due, t("grid.age", lang, time=duration(r.age_hours, lang))]
        if bool(r.long_unresolved):
            meta.append(t("grid.long_unresolved", lang))
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(
                                t(f"grid.lamp.{lamp}", lang),
                                className=f"yw-grid-lamp yw-grid-lamp-{lamp}",
                            ),
                            html.Span(
                                str(r.l4_en if lang == "en" else r.l4_zh),
                                className="yw-grid-item-title",
                                title=str(r.l1_en if lang == "en" else r.l1_zh),
                            ),
                        ],
                        className="yw-grid-item-head",
                    ),
                    html.Div(components.as_recorded(r.address), className="yw-grid-item-addr"),
                    *contact.worklist_lines(str(r.request_id), unit.unit_id, shown, lang),
                    html.Div(" · ".join(meta), className="yw-grid-item-meta"),
                ],
                className="yw-grid-item",
                **attributes({"data-request-id": str(r.request_id), "data-lamp": lamp}),
            )
        )
    export = html.A(
        t("grid.export", lang),
        href=export_href(
            "requests",
            "csv",
            unit_id=unit.unit_id,
            period=export_period(),
            status="open",
            lang=lang,
        ),
        id=ids.GRID_EXPORT,
        className="yw-grid-export",
        title=t("grid.export_hint", lang),
        download="",
    )
    total = _total(rows)
    return _card(
        ids.GRID_REQUESTS,
        t("grid.requests.title", lang),
        t("grid.requests.sub", lang),
        _list(
            items,
            t("grid.requests.none", lang),
            _footer(unit, state, "requests", len(rows), total),
        ),
        action=export,
    )


def _places(unit: data.Unit, places: pd.DataFrame, state: Shown) -> html.Section:
    lang = state.lang
    items = []
    for i, r in enumerate(places.itertuples(), start=1):
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(str(i), className="yw-grid-num") if i <= MAP_MARKS else None,
                            html.Span(
                                str(r.category_en if lang == "en" else r.category_zh),
                                className="yw-grid-item-title",
                            ),
                        ],
                        className="yw-grid-item-head",
                    ),
                    html.Div(components.as_recorded(r.address), className="yw-grid-item-addr"),
                    html.Div(
                        " · ".join(
                            [
                                t(
                                    "grid.places.item",
                                    lang,
                                    n=fmt.fmt_int(r.requests),
                                    open=fmt.fmt_int(r.open),
                                ),
                                t(
                                    "grid.places.last",
                                    lang,
                                    time=duration(r.since_last_hours, lang),
                                ),
                            ]
                        ),
                        className="yw-grid-item-meta",
                    ),
                ],
                className="yw-grid-item",
                **attributes({"data-place": str(r.place_key), "data-open": str(r.open)}),
            )
        )
    return _card(
        ids.GRID_PLACES,
        t("grid.places.title", lang),
        t("grid.places.sub", lang),
        _list(
            items,
            t("grid.places.none", lang),
            _footer(unit, state, "places", len(places), _total(places)),
        ),
    )


def recent_alerts(unit: data.Unit, signals: bool) -> pd.DataFrame:
    """Alerts of the unit (both series, city-wide ones folding it) still running lately."""
    if not signals:
        return pd.DataFrame()
    as_of = dt.datetime.fromisoformat(data.meta().as_of_local)
    since = (as_of - dt.timedelta(days=ALERT_DAYS)).date()
    return data.read(
        signal_queries.alerts,
        since=since,
        unit_id=unit.unit_id,
        level=unit.level,
        limit=ALERT_LIMIT,
    )


def _alerts(unit: data.Unit, lang: Lang, signals: bool) -> html.Section:
    items = []
    for r in recent_alerts(unit, signals).to_dict("records"):
        severity = int(r["severity"])
        if bool(r["city_wide"]):
            place = t("ticker.city_wide", lang, n=int(r["units_folded"]))
        elif r["series"] == "cell":
            place = t("grid.alerts.cell", lang)
        else:
            where = data.unit(r["unit_id"])
            place = where.name(lang) if where is not None else str(r["unit_id"])
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(
                                t(f"ticker.severity.{severity}", lang),
                                className=f"yw-grid-sev yw-grid-sev-{severity}",
                            ),
                            html.Span(
                                str(r["category_en"] if lang == "en" else r["category_zh"]),
                                className="yw-grid-item-title",
                            ),
                        ],
                        className="yw-grid-item-head",
                    ),
                    html.Div(place, className="yw-grid-item-addr"),
                    html.Div(
                        t(
                            "grid.alerts.item",
                            lang,
                            day=fmt.fmt_day(r["first_day"]),
                            observed=fmt.fmt_int(r["observed"]),
                            expected=fmt.fmt_number(r["expected"], 1 if r["expected"] >= 1 else 2),
                        ),
                        className="yw-grid-item-meta",
                    ),
                ],
                className="yw-grid-item",
                **attributes({"data-alert": str(r["alert_id"])}),
            )
        )
    return _card(
        ids.GRID_ALERTS,
        t("grid.alerts.title", lang),
        t("grid.alerts.sub", lang),
        _list(items, t("grid.alerts.none", lang), []),
    )


def _components(unit: data.Unit, state: Shown, limit: int) -> html.Section:
    lang = state.lang
    frame = data.read(grid_queries.nearby_components, unit.unit_id)
    shown = frame.head(limit)
    items = []
    for r in shown.itertuples():
        where = (
            t("grid.components.inside", lang)
            if bool(r.inside)
            else t("grid.components.distance", lang, m=fmt.fmt_int(r.distance_m))
        )
        meta: list[Any] = [where]
        if r.alarms:
            meta.append(t("grid.components.alarms", lang, n=fmt.fmt_int(r.alarms)))
        if r.open_requests:
            meta.append(t("grid.components.open", lang, n=fmt.fmt_int(r.open_requests)))
        status = "abnormal" if bool(r.abnormal) else "normal"
        status_class = r.status_class if r.status_class in STATUS_CLASSES else "unknown"
        kind = r.kind_en if lang == "en" else r.kind_zh
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(
                                t(f"grid.status.{status_class}", lang),
                                className=f"yw-grid-status yw-grid-status-{status_class}",
                            ),
                            html.Span(str(kind), className="yw-grid-item-title"),
                            html.Span(str(r.component_id), className="yw-grid-item-id", lang="zxx"),
                        ],
                        className="yw-grid-item-head",
                    ),
                    html.Div(
                        [t("grid.components.owner", lang), components.as_recorded(r.owner)],
                        className="yw-grid-item-addr",
                    ),
                    html.Div(" · ".join(meta), className="yw-grid-item-meta"),
                ],
                className="yw-grid-item",
                **attributes(
                    {
                        "data-component": str(r.component_id),
                        "data-distance": f"{float(r.distance_m):.1f}",
                        "data-status": status,
                    }
                ),
            )
        )
    summary = t(
        "grid.components.summary",
        lang,
        n=fmt.fmt_int(len(frame)),
        abnormal=fmt.fmt_int(int(frame["abnormal"].sum()) if len(frame) else 0),
    )
    body = _list(
        items,
        t("grid.components.none", lang),
        _footer(unit, state, "components", len(shown), len(frame)),
    )
    if items:
        body.insert(0, html.P(summary, className="yw-grid-note"))
    return _card(
        ids.GRID_COMPONENTS,
        t("grid.components.title", lang),
        t("grid.components.sub", lang, m=fmt.fmt_int(grid_queries.NEAR_METRES)),
        body,
    )


def register(app: dash.Dash) -> None:
    """Attach the grid view's callbacks to ``app``: none, every action is a link."""
    del app
