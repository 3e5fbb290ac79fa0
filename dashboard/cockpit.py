"""One cockpit template for every drill level (a page factory, Vizro's habit).

The city page (``/``) and the unit page (``/<level>/<unit_id>``) call :func:`render` with
the level from the URL; levels and their hierarchies are data from the warehouse.
``render`` parses the URL state, reads through :mod:`dashboard.data`, builds figures with
:mod:`dashboard.figures` and composes :mod:`dashboard.components`. Any state the URL can
hold renders something sensible: unknown ids and wrong levels give a friendly empty state,
unknown periods fall back to the default, a missing warehouse says how to publish one.
"""

from __future__ import annotations

import logging
from typing import Any

from dash import dcc, html

from dashboard import (
    access,
    backlog_view,
    basemap,
    components,
    components_view,
    data,
    export,
    figures,
    fmt,
    ids,
    routes,
    views,
    worry_view,
)
from dashboard.cache import memo_json
from dashboard.i18n import Lang, resolve_lang, t

log = logging.getLogger(__name__)

#: Categories shown in the bar chart.
TOP_CATEGORIES = 10


def level_label(level: str, lang: Lang) -> str:
    """Return the name of a level in ``lang`` ("区", "Subdistrict", "Neighborhood council" …).

    Names come from the source spec through the warehouse; a level the build does not know
    (a mistyped URL) is shown as typed.
    """
    try:
        info = data.level_info(level)
    except data.WarehouseUnavailableError:
        info = None
    if info is not None:
        return info.label(lang)
    return t("level.city", lang) if level == "city" else level


#: English level words dropped from map labels: the panel title already names the level.
_EN_LEVEL_WORDS = ("District", "Subdistrict", "Street", "Community")


def map_label(child: str, parent: str, *, lang: str, is_grid: bool) -> str:
    """Return the short label of a child unit on the map (full names stay in the ranking)."""
    if is_grid:
        return short_name(child, parent)
    head, _, last = child.rpartition(" ")
    if lang == "en" and head and last in _EN_LEVEL_WORDS:
        return head
    return child


def short_name(child: str, parent: str) -> str:
    """Drop the parent's name from a child's label when it merely repeats it.

    ``光辉社区第1网格`` under ``光辉社区`` → ``第1网格``; ``Guanghui Grid 1`` under
    ``Guanghui Community`` → ``Grid 1``. Map labels of grids are otherwise too long to read.
    """
    if parent and child.startswith(parent) and len(child) > len(parent):
        return child[len(parent) :].strip()
    first = parent.split(" ", 1)[0]
    if " " in parent and child.startswith(first + " "):
        return child[len(first) + 1 :]
    return child


def render(level: str, unit_id: str | None = None, **query: Any) -> html.Div:
    """Return the cockpit of ``unit_id`` at ``level`` for the URL's query state.

    Parameters
    ----------
    level
        The page's level; a unit of another level in the URL is treated as unknown.
    unit_id
        Path variable from the URL (ignored on the city page).
    **query
        Query-string values; ``period`` and ``lang`` are used, anything else ignored.

    Returns
    -------
    dash.html.Div
        The cockpit, or an empty state (``ids.EMPTY``); never raises for bad input.
    """
    lang = resolve_lang(query.get("lang"))
    raw_period = query.get("period")
    try:
        if level != "city" and (data.level_info(level) is None or "/" in str(unit_id or "")):
            # /<level>/<id> catches every two-segment path (and Dash's matcher lets an id
            # span slashes): a level the warehouse does not have is no page at all.
            return not_found(lang)
        # "/" is each user's own top: the city, or the top unit of a scoped user's area.
        unit = data.home() if level == "city" else data.unit(unit_id)
        period = data.resolve_period(raw_period)
        if unit is None or (level != "city" and unit.level != level):
            return unknown_unit(level, unit_id, lang=lang, period=period.period_id)
        hierarchy = data.resolve_hierarchy(query.get("by")) if unit.level == "city" else None
        view = query.get("view") if query.get("view") in routes.VIEWS else "overview"
        return _cockpit(
            unit,
            period,
            lang,
            hierarchy,
            view=str(view),
            metric=query.get("metric"),
            snapshot=query.get("snapshot"),
            kind=query.get("kind"),
        )
    except data.WarehouseUnavailableError as exc:
        log.warning("cockpit unavailable: %s", exc)
        return no_warehouse(lang)


def not_found(lang: Lang) -> html.Div:
    """Return the state for a path that is no page at all (a friendly note, a way home)."""
    return components.empty_state(
        t("not_found.title", lang),
        t("not_found.body", lang),
        back_href=routes.with_query("/", lang=lang),
        back_text=t("empty.back", lang),
        component_id=ids.NOT_FOUND,
    )


def unknown_unit(level: str, unit_id: object, *, lang: Lang, period: str | None) -> html.Div:
    """Return the empty state for an id that is not a unit of ``level``."""
    label = level_label(level, lang)
    return components.empty_state(
        t("empty.unknown_unit.title", lang, level=label),
        unknown_unit_text(unit_id, label, lang),
        back_href=routes.href("city", None, period=period, lang=lang),
        # "/" is the top of a scoped user's own area, not the city
        back_text=t(
            "empty.back" if access.current().everywhere else "auth.out_of_scope_hint", lang
        ),
    )


def account(lang: Lang) -> html.Form | None:
    """The signed-in user's name, role and sign-out button (nothing outside the web)."""
    principal = access.current()
    if principal is access.SYSTEM:
        return None
    return components.account_menu(principal.user, t(f"role.{principal.role.name}", lang), lang)


def unknown_unit_text(unit_id: object, level_label: str, lang: Lang) -> str:
    """Why a unit id shows nothing, without confirming a unit outside the asker's scope.

    A city-wide user is told the id is unknown (it is); anyone else cannot tell an unknown
    id from another area's, so the id is not echoed and the message covers both.
    """
    if access.current().everywhere:
        return t("empty.unknown_unit.body", lang, unit_id=str(unit_id or ""), level=level_label)
    return t("auth.unknown_or_out_of_scope", lang, level=level_label)


def no_warehouse(lang: Lang, component_id: str = ids.EMPTY) -> html.Div:
    """Return the empty state shown until a warehouse is published."""
    return components.empty_state(
        t("empty.no_warehouse.title", lang),
        t("empty.no_warehouse.body", lang),
        back_href=routes.with_query("/", lang=lang),
        back_text=t("empty.back", lang),
        component_id=component_id,
    )


def _cockpit(
    unit: data.Unit,
    period: data.Period,
    lang: Lang,
    hierarchy: str | None,
    *,
    view: str = "overview",
    metric: object = None,
    snapshot: object = None,
    kind: object = None,
) -> html.Div:
    pid = period.period_id
    meta = data.meta()
    chain = data.lineage(unit)
    crumbs = [
        components.BreadcrumbItem(
            label=u.name(lang),
            href=None
            if u is unit
            else routes.href(u.level, u.unit_id, period=pid, lang=lang, view=view),
            level_label=level_label(u.level, lang),
        )
        for u in chain
    ]
    head = components.header(
        unit_name=unit.name(lang),
        breadcrumb=crumbs,
        period_options=[(p.period_id, p.label(lang)) for p in data.periods()],
        period=pid,
        lang=lang,
        as_of=fmt.fmt_local_time(meta.as_of_local),
        built=fmt.fmt_utc_as_local(meta.built_at_utc, meta.timezone),
        account=account(lang),
        show_quality=access.current().role.can_see_quality,
    )
    tabs = _view_tabs(unit, pid, lang, hierarchy, view)
    ticker = _ticker(unit, lang, pid)
    if view == "worry":
        body = worry_view.worry_view(unit, period, lang, hierarchy)
    elif view == "backlog":
        body = backlog_view.backlog_view(unit, period, lang, hierarchy)
    elif view == "components":
        body = components_view.components_view(unit, period, lang, hierarchy, kind=kind)
    elif view == "sla":
        body = views.sla_view(unit, period, lang)
    elif view == "ranking":
        body = views.ranking_view(
            unit, period, lang, metric_id=metric, snapshot_id=snapshot, hierarchy=hierarchy
        )
    else:
        body = _overview(unit, period, lang, hierarchy)
    # What this page shows; callbacks compare against it, because Dash fires a page's
    # callbacks when the router inserts it (prevent_initial_call does not cover that).
    shown = {
        "period": pid,
        "lang": lang,
        "by": hierarchy,
        "view": view,
        "metric": views.resolve_metric(metric).id if view == "ranking" else None,
        "snapshot": snapshot if view == "ranking" else None,
    }
    state = dcc.Store(id=ids.STATE, data=shown, storage_type="memory")
    fitted = dcc.Store(id=ids.MAP_FITTED, storage_type="memory")
    return html.Div(
        [
            state,
            fitted,
            head,
            ticker,
            # the view tabs share their row with the export menu (downloads, open as code)
            html.Div(
                [tabs, export.export_menu(unit, period, lang, view, hierarchy, kind=kind)],
                className="yw-tabs-bar",
            ),
            *body,
        ],
        className=f"yw-cockpit yw-level-{unit.level} yw-view-{view}",
        lang="en" if lang == "en" else "zh-CN",
    )


#: Alerts on the ticker at most, and how far back (days of data) they may have run.
TICKER_ALERTS = 12
TICKER_DAYS = 30


def _ticker(unit: data.Unit, lang: Lang, pid: str) -> html.Div:
    """The latest early-warning alerts of the unit's area (``pipelines.signal_queries``)."""
    rows = data.recent_alerts(unit, TICKER_DAYS, TICKER_ALERTS)
    items = []
    for r in rows.to_dict("records"):
        category = str(r["category_en"] if lang == "en" else r["category_zh"])
        if bool(r["city_wide"]):
            place = t("ticker.city_wide", lang, n=int(r["units_folded"]))
            href = None
        else:
            where = data.unit(r["unit_id"])
            place = where.name(lang) if where is not None else str(r["unit_id"])
            href = (
                routes.href(where.level, where.unit_id, period=pid, lang=lang, view="worry")
                if where is not None
                else None
            )
        items.append(
            components.TickerItem(
                alert_id=str(r["alert_id"]),
                severity=int(r["severity"]),
                text=t(
                    "ticker.item",
                    lang,
                    severity=t(f"ticker.severity.{int(r['severity'])}", lang),
                    day=fmt.fmt_day(r["first_day"]),
                    place=place,
                    category=category,
                    observed=fmt.fmt_int(r["observed"]),
                    # a spike on a usually silent series: show the small expectation
                    expected=fmt.fmt_number(r["expected"], 1 if r["expected"] >= 1 else 2),
                ),
                href=href,
            )
        )
    return components.alert_ticker(
        items,
        title=t("ticker.title", lang),
        empty_text=t("ticker.none", lang, days=TICKER_DAYS),
    )


def _view_tabs(unit: data.Unit, pid: str, lang: Lang, hierarchy: str | None, view: str) -> html.Nav:
    """Links to the unit's overview, SLA view and ranking view (the URL keeps the view)."""
    links: list[Any] = []
    for name in routes.VIEWS:
        label = t(f"view.{name}", lang)
        if name == view:
            links.append(html.Span(label, className="yw-tab yw-tab-on"))
            continue
        # the primary hierarchy is the default: only another one is spelled out
        by = hierarchy if hierarchy != data.meta().primary_hierarchy else None
        href = routes.href(unit.level, unit.unit_id, period=pid, lang=lang, by=by, view=name)
        links.append(dcc.Link(label, href=href or "/", className="yw-tab"))
    return html.Nav(links, id=ids.VIEW_TABS, className="yw-tabs")


def _overview(unit: data.Unit, period: data.Period, lang: Lang, hierarchy: str | None) -> list[Any]:
    pid = period.period_id
    kpis = components.kpi_strip(data.unit_kpis(unit, pid), lang=lang)

    child = data.child_level(unit, hierarchy)
    if child is not None:
        ranked = data.child_kpis(unit, pid, hierarchy)
        rank_level = child.level
        title = t("panel.ranking", lang, level=child.label(lang))
    else:
        # A leaf (a grid, an LA council) has no children: rank it among its peers instead,
        # which is the first thing its chief asks ("how does my grid compare?").
        # Peers outside the user's scope are not shown: a grid chief sees their grid alone.
        parent = data.unit(unit.parent_id)
        ranked = data.peer_kpis(unit, pid)
        rank_level = unit.level
        title = t(
            "panel.ranking_peers",
            lang,
            level=level_label(unit.level, lang),
            parent=parent.name(lang) if parent is not None else unit.name(lang),
        )
    names = [
        n_en if lang == "en" else n_zh
        for n_zh, n_en in zip(ranked["name_zh"], ranked["name_en"], strict=True)
    ]
    hrefs = [
        None if uid == unit.unit_id else routes.href(rank_level, uid, period=pid, lang=lang)
        for uid in ranked["unit_id"]
    ]
    footnote = None
    if unit.level == "city":
        footnote = t(
            "ranking.unassigned",
            lang,
            value=fmt.fmt_int(data.unassigned_requests(pid, hierarchy)),
        )
    ranking = components.panel(
        title,
        components.ranking_table(ranked, names=names, hrefs=hrefs, lang=lang, footnote=footnote),
        subtitle=t("panel.ranking_sub", lang),
        class_name="yw-panel-ranking",
    )

    map_panel = components.panel(
        t("panel.map", lang),
        components.graph(
            ids.MAP, map_figure(unit.unit_id, pid, lang, hierarchy or ""), class_name="yw-map"
        ),
        subtitle=(
            t("panel.map_hint", lang)
            if child is not None
            else t("panel.map_hint_leaf", lang, level=level_label(unit.level, lang))
        ),
        class_name="yw-panel-map",
        extra=_hierarchy_switch(unit, pid, lang, hierarchy),
    )
    trend = components.panel(
        t("panel.trend_week" if period.bucket == "week" else "panel.trend_day", lang),
        components.graph(
            ids.TREND,
            figures.trend_chart(
                data.trend(unit, period),
                lang=lang,
                text={
                    "requests": t("trend.requests", lang),
                    "closed": t("trend.closed", lang),
                    "empty": t("chart.empty", lang),
                },
            ),
        ),
        class_name="yw-panel-trend",
        extra=components.legend_key(
            [(t("trend.requests", lang), figures.ACCENT), (t("trend.closed", lang), figures.CLOSED)]
        ),
    )
    categories = components.panel(
        t("panel.categories", lang, n=TOP_CATEGORIES),
        components.graph(
            ids.CATEGORIES,
            figures.category_bars(
                data.top_categories(unit, pid, TOP_CATEGORIES),
                lang=lang,
                text={
                    "requests": t("col.requests", lang),
                    "open": t("col.open", lang),
                    "empty": t("chart.empty", lang),
                },
            ),
        ),
        class_name="yw-panel-categories",
        extra=components.legend_key(
            [(t("col.requests", lang), figures.ACCENT), (t("col.open", lang), figures.OPEN)]
        ),
    )
    return [
        kpis,
        html.Main(
            [map_panel, html.Div([ranking, trend, categories], className="yw-side")],
            className="yw-main",
        ),
    ]


def _hierarchy_switch(
    unit: data.Unit, pid: str, lang: Lang, hierarchy: str | None
) -> html.Nav | None:
    """Links that divide the city by each hierarchy (LA: regions, council districts)."""
    tops = data.hierarchies() if unit.level == "city" else ()
    if len(tops) < 2:
        return None
    links = [
        html.Span(t("hierarchy.by", lang, level=top.label(lang)), className="yw-switch-on")
        if top.hierarchy == hierarchy
        else dcc.Link(
            t("hierarchy.by", lang, level=top.label(lang)),
            href=routes.href("city", None, period=pid, lang=lang, by=top.hierarchy) or "/",
            className="yw-switch",
        )
        for top in tops
    ]
    return html.Nav(links, className="yw-hierarchy", title=t("hierarchy.label", lang))


def map_figure(unit_id: str, period_id: str, lang: Lang, hierarchy: str = "") -> dict[str, Any]:
    """Return the heatmap figure of a unit (cached per build, unit, period and language).

    The figure is the heaviest part of a page (hundreds to a few thousand polygons); caching
    it by build name makes a revisit a dictionary lookup. ``hierarchy`` picks the city's
    division (empty: the primary one). The cache is shared by all users, so the scope is
    checked before it: a unit outside the asker's scope is an empty map.
    """
    if not data.in_scope(unit_id):
        return figures.empty_figure(t("chart.empty", lang))
    return _map_figure(data.current_build().name, unit_id, period_id, lang, hierarchy)


@memo_json
def _map_figure(
    build: str, unit_id: str, period_id: str, lang: Lang, hierarchy: str
) -> dict[str, Any]:
    # ``build`` is only the cache key: data.* always reads the current build, and a stale
    # entry for an old build can never be hit once CURRENT moved on.
    del build
    unit = data.unit(unit_id)
    if unit is None:
        return figures.empty_figure(t("chart.empty", lang))
    by = hierarchy or None
    child = data.child_level(unit, by)
    kids = {u.unit_id: u for u in data.children(unit, by)}
    parent_name = unit.name(lang)

    def label(uid: object) -> str:
        kid = kids.get(str(uid))
        return kid.name(lang) if kid else fmt.NA

    def path(uid: object) -> str:
        if child is None or str(uid) not in kids:
            return ""
        return routes.page_path(child.level, str(uid)) or ""

    cells = data.hex_cells(unit, period_id, by)
    cells = cells.assign(
        child_name=[label(c) for c in cells["child_id"]],
        drill_path=[path(c) for c in cells["child_id"]],
    )
    ranked = data.child_kpis(unit, period_id, by)
    shapes = data.child_outlines(unit, by).set_index("unit_id")["geojson"]
    is_grid = child is not None and child.child_level is None
    names = [label(uid) for uid in ranked["unit_id"]]
    children = ranked.assign(
        geojson=ranked["unit_id"].map(shapes),
        name=names,
        label=[map_label(n, parent_name, lang=lang, is_grid=is_grid) for n in names],
        lng=ranked["center_lng"],
        lat=ranked["center_lat"],
        drill_path=[path(uid) for uid in ranked["unit_id"]],
    )
    figure = figures.hex_map(
        cells,
        bbox=unit.bbox,
        children=children,
        unit_outline=data.outline(unit),
        text={
            "requests": t("hover.requests", lang),
            "open": t("hover.open", lang),
            "overdue": t("hover.overdue", lang),
            "worry": t("hover.worry", lang),
            "insufficient": t("hover.insufficient", lang),
            "colorbar": t("map.colorbar", lang),
            "legend_insufficient": t("map.insufficient", lang),
        },
        revision=unit_id,
    )
    return basemap.for_display(figure)
