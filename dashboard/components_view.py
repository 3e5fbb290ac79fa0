"""City components (``?view=components``): the component layer of a unit and its health.

A map with one layer per component kind (legend toggles kinds; ``?kind=`` shows one),
coloured by state (normal, damaged, under repair, disabled, alarming), hover with owner,
property unit and maintainer; KPI tiles of the unit's components in the period; a health
table by child unit; the latest sensor alarms; the requests linked to components.

Payload: a unit with more than :data:`POINT_LIMIT` components of the shown kinds (the
city and districts of the demo) is drawn as one marker per kind and H3 cell, at the
finest resolution that keeps at most :data:`CELL_MARKERS` markers; below that every
component is a dot. Reads go through ``data.read`` on :mod:`pipelines.component_queries`
(the notebook API runs the same functions).
"""

from __future__ import annotations

from typing import Any, cast

import dash
import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from dashboard import (
    access,
    basemap,
    component_figures,
    components,
    data,
    figures,
    fmt,
    ids,
    routes,
)
from dashboard.cache import memo_json
from dashboard.components.panels import attributes
from dashboard.i18n import Lang, t
from pipelines import component_queries

#: Above this many components a unit's layer is drawn as cells (payload: see the module doc).
POINT_LIMIT = 3000
#: Cell markers at most (kinds × cells) when gathering into cells.
CELL_MARKERS = 1500
#: Coarsest H3 resolution tried for cells (res 5: ~250 km² cells).
MIN_CELL_RES = 5
#: Rows of the alarm and link lists.
LIST_ROWS = 12


def known_kind(kind: object) -> str | None:
    """Return ``kind`` if the served register has components of it, else ``None``."""
    wanted = kind.strip() if isinstance(kind, str) and kind.strip() else None
    if wanted is None or not data.read(component_queries.available):
        return None
    return wanted if wanted in set(data.read(component_queries.kinds)["kind"]) else None


def components_view(
    unit: data.Unit, period: data.Period, lang: Lang, hierarchy: str | None, *, kind: object = None
) -> list[Any]:
    """Return the component layer of ``unit`` in ``period`` (KPI tiles, then map and lists).

    Parameters
    ----------
    unit, period, lang, hierarchy
        The page's unit, period, language and (for the city) hierarchy.
    kind
        The ``?kind=`` value: a kind of the register shows only that kind; anything else
        (a typo, an old link) shows every kind under a friendly note.
    """
    if not data.read(component_queries.available):
        return [_empty(lang)]
    kinds = data.read(component_queries.kinds)
    if kinds.empty:
        return [_empty(lang)]
    names = dict(zip(kinds["kind"], kinds["kind_en" if lang == "en" else "kind_zh"], strict=True))
    wanted = kind.strip() if isinstance(kind, str) and kind.strip() else None
    note = None
    if wanted is not None and wanted not in names:
        note = html.Div(
            t("comp.kind_unknown", lang, kind=wanted[:40]),
            id=ids.COMP_NOTE,
            className="yw-comp-note",
        )
        wanted = None
    pid = period.period_id
    own = data.read(component_queries.health, unit.level, pid, unit_id=unit.unit_id, kind=wanted)
    row = own.iloc[0].to_dict() if len(own) else {}
    summary = data.read(
        component_queries.link_summary, unit_id=unit.unit_id, period_id=pid, kind=wanted
    )
    tiles = _kpis(row, summary, lang, n_kinds=1 if wanted else len(kinds), of_kind=wanted)
    shown = [(k, names[k]) for k in kinds["kind"] if wanted is None or k == wanted]
    count = int(row.get("components") or 0)
    map_panel = _map_panel(unit, pid, lang, hierarchy, shown, wanted, count, note)
    side = html.Div(
        [
            _health_panel(unit, pid, lang, hierarchy, wanted),
            _alarms_panel(unit, pid, lang, wanted),
            _links_panel(unit, pid, lang, wanted, summary),
        ],
        className="yw-side yw-comp-side",
    )
    return [tiles, html.Main([map_panel, side], className="yw-main")]


def _empty(lang: Lang) -> html.Div:
    return components.empty_state(
        t("comp.empty.title", lang),
        t("comp.empty.body", lang),
        back_href=None,
        back_text="",
        component_id=ids.COMP_EMPTY,
    )


# --- KPI tiles -----------------------------------------------------------------------------


def _tile(key: str, label: str, value: str, sub: str, *, warn: bool = False) -> html.Div:
    return html.Div(
        [
            html.Div(label, className="yw-kpi-label"),
            html.Div(value, className="yw-kpi-value"),
            html.Div(sub, className="yw-kpi-sub"),
        ],
        className="yw-kpi yw-kpi-warn" if warn else "yw-kpi",
        **attributes({"data-kpi": key, "data-value": value}),
    )


def _kpis(
    row: dict[str, Any], links: dict[str, int], lang: Lang, *, n_kinds: int, of_kind: str | None
) -> html.Div:
    def n(key: str) -> int:
        value = row.get(key)
        return 0 if fmt.is_missing(value) else int(cast("float", value))

    rules = _rules()
    share = n("abnormal") / n("components") if n("components") else None
    tiles = [
        _tile(
            "components",
            t("comp.kpi.components", lang),
            fmt.fmt_int(n("components")),
            t("comp.kpi.components_sub", lang, kinds=n_kinds),
        ),
        _tile(
            "abnormal_share",
            t("comp.kpi.abnormal", lang),
            fmt.fmt_pct(share, 1),
            t(
                "comp.kpi.abnormal_sub",
                lang,
                damaged=fmt.fmt_int(n("damaged")),
                repair=fmt.fmt_int(n("under_repair")),
                disabled=fmt.fmt_int(n("disabled")),
            ),
            warn=True,
        ),
        _tile(
            "alarming",
            t("comp.kpi.alarming", lang),
            fmt.fmt_int(n("alarming")),
            t("comp.kpi.alarming_sub", lang, days=rules.get("alarming_days", 7)),
            warn=n("alarming") > 0,
        ),
        _tile(
            "failures",
            t("comp.kpi.failures", lang),
            fmt.fmt_int(n("failures")),
            t(
                "comp.kpi.failures_sub",
                lang,
                complaints=fmt.fmt_int(n("complaints")),
                alarms=fmt.fmt_int(n("alarms")),
            ),
        ),
        _tile(
            "repeat_components",
            t("comp.kpi.repeat", lang),
            fmt.fmt_int(n("repeat_components")),
            t("comp.kpi.repeat_sub", lang, days=rules.get("repeat_window_days", 30)),
            warn=n("repeat_components") > 0,
        ),
        _tile(
            "linked",
            t("comp.kpi.linked", lang),
            fmt.fmt_int(links["sensor"] + links["nearest"]),
            t(
                "comp.kpi.linked_sub_kind" if of_kind else "comp.kpi.linked_sub",
                lang,
                sensor=fmt.fmt_int(links["sensor"]),
                nearest=fmt.fmt_int(links["nearest"]),
                unmatched=fmt.fmt_int(links["unmatched"]),
            ),
        ),
    ]
    return html.Div(tiles, id=ids.COMP_KPIS, className="yw-kpis yw-comp-kpis")


def _rules() -> dict[str, Any]:
    """The build's ``[component_rules]`` (windows, links)."""
    rules: dict[str, Any] = data.read(component_queries.rules)
    return rules


# --- map -----------------------------------------------------------------------------------


def _map_panel(
    unit: data.Unit,
    pid: str,
    lang: Lang,
    hierarchy: str | None,
    shown: list[tuple[str, str]],
    kind: str | None,
    count: int,
    note: html.Div | None,
) -> html.Section:
    # the map is cached per build and shared by all users (building a city's thousand cell
    # markers took longer than reading them), so the scope is checked before it
    if not data.in_scope(unit):
        raise access.OutOfScopeError("outside the principal's scope")
    drawn = _map_figure(
        data.current_build().name, unit.unit_id, lang, hierarchy or "", tuple(shown), kind, count
    )
    figure, hint = drawn["figure"], drawn["hint"]
    keys = components.legend_key(
        [
            (t(f"comp.status.{s}", lang), component_figures.STATUS_COLORS[s])
            for s in ("normal", "damaged", "repair", "disabled", "alarming")
        ]
    )
    return components.panel(
        t("comp.map", lang),
        [
            *([note] if note is not None else []),
            _kind_links(unit, pid, lang, hierarchy, kind),
            html.Div(
                components.graph(ids.MAP, figure, class_name="yw-map"),
                className="yw-comp-map",
            ),
        ],
        subtitle=hint,
        class_name="yw-panel-map yw-comp-map-panel",
        extra=keys,
    )


@memo_json
def _map_figure(
    build: str,
    unit_id: str,
    lang: Lang,
    hierarchy: str,
    shown: tuple[tuple[str, str], ...],
    kind: str | None,
    count: int,
) -> dict[str, Any]:
    """The component map of a unit as displayed (``figure``) and its ``hint`` (cached)."""
    del build  # the cache key: data.* reads the current build
    unit = data.unit(unit_id)
    if unit is None:
        return {"figure": figures.empty_figure(t("chart.empty", lang)), "hint": ""}
    by = hierarchy or None
    kids = data.children(unit, by)
    child_shapes: list[str | None] = list(data.child_outlines(unit, by)["geojson"]) if kids else []
    common: dict[str, Any] = {
        "kinds": list(shown),
        "bbox": unit.bbox,
        "unit_outline": data.outline(unit),
        "child_outlines": child_shapes,
        "revision": f"components-{unit.unit_id}-{kind or ''}",
    }
    unit_filter = None if unit.level == "city" else unit.unit_id
    if count <= POINT_LIMIT:
        rows = data.read(
            component_queries.points, unit_id=unit_filter, kind=kind, limit=POINT_LIMIT
        )
        located = rows[rows["lng"].notna() & rows["lat"].notna()]
        figure = component_figures.component_point_map(
            _point_frame(located, lang),
            text={
                key: t(f"comp.hover.{key}", lang)
                for key in (
                    "status",
                    "owner",
                    "property_unit",
                    "maintainer",
                    "last_alarm",
                    "failures",
                )
            },
            **common,
        )
        hint = t("comp.map_hint_points", lang)
        missing = len(rows) - len(located)
    else:
        cells = _cells(unit, unit_filter, kind)
        figure = component_figures.component_cell_map(
            cells,
            text={
                "components": t("comp.hover.components", lang),
                "abnormal": t("comp.hover.abnormal", lang),
                "damaged": t("comp.status.damaged", lang),
                "repair": t("comp.status.repair", lang),
                "disabled": t("comp.status.disabled", lang),
                "alarming": t("comp.status.alarming", lang),
                "failures": t("comp.hover.failures", lang),
                "share": t("comp.hover.share", lang),
            },
            **common,
        )
        hint = t("comp.map_hint_cells", lang, n=fmt.fmt_int(count))
        missing = count - int(cells["components"].sum()) if len(cells) else count
    if missing > 0:
        hint = f"{hint} · {t('comp.unlocated', lang, n=fmt.fmt_int(missing))}"
    return {"figure": basemap.for_display(figure), "hint": hint}


def _cells(unit: data.Unit, unit_filter: str | None, kind: str | None) -> pd.DataFrame:
    """The unit's components in cells, at the finest resolution under the marker budget."""
    info = data.level_info(unit.level)
    res = max((info.res if info else 8) - 1, MIN_CELL_RES)
    cells = data.read(component_queries.cells, res, unit_id=unit_filter, kind=kind)
    while len(cells) > CELL_MARKERS and res > MIN_CELL_RES:
        res -= 1
        cells = data.read(component_queries.cells, res, unit_id=unit_filter, kind=kind)
    result: pd.DataFrame = cells
    return result


def _point_frame(rows: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """The points' display columns (component_figures.POINT_COLUMNS) in ``lang``."""
    state = rows["status_class"].where(~rows["alarming"].astype(bool), "alarming")
    labels = {s: t(f"comp.status.{s}", lang) for s in component_figures.STATUS_COLORS}
    alarm_type = rows["last_alarm_type_en" if lang == "en" else "last_alarm_type_zh"]
    last_alarm = [
        fmt.NA if fmt.is_missing(ts) else f"{pd.Timestamp(ts):%Y-%m-%d %H:%M} {a}"
        for ts, a in zip(rows["last_alarm_at"], alarm_type, strict=True)
    ]
    return pd.DataFrame(
        {
            "component_id": rows["component_id"],
            "kind": rows["kind"],
            "kind_name": rows["kind_en" if lang == "en" else "kind_zh"],
            "state": state,
            "state_text": state.map(labels),
            "owner": rows["owner"].fillna(fmt.NA),
            "property_unit": rows["property_unit"].fillna(fmt.NA),
            "maintainer": rows["maintainer"].fillna(fmt.NA),
            "last_alarm_text": last_alarm,
            "failures_30d": rows["failures_30d"],
            "lng": rows["lng"],
            "lat": rows["lat"],
        }
    )


def _kind_links(
    unit: data.Unit,
    pid: str,
    lang: Lang,
    hierarchy: str | None,
    kind: str | None,
) -> html.Nav:
    """Links that show one kind (``?kind=``) or all of them, the current one marked."""
    by = hierarchy if unit.level == "city" and hierarchy != data.meta().primary_hierarchy else None
    path = routes.page_path(unit.level, unit.unit_id) or "/"
    all_kinds = data.read(component_queries.kinds)
    names = all_kinds["kind_en" if lang == "en" else "kind_zh"]
    choices: list[tuple[str | None, str]] = [
        (None, t("comp.kind.all", lang)),
        *zip(all_kinds["kind"], names, strict=True),
    ]
    links: list[Component] = []
    for value, label in choices:
        if value == kind:
            links.append(html.Span(label, className="yw-comp-kind yw-comp-kind-on"))
            continue
        href = routes.with_query(path, period=pid, lang=lang, by=by, view="components", kind=value)
        links.append(dcc.Link(label, href=href, className="yw-comp-kind"))
    return html.Nav(
        links,
        id=ids.COMP_KINDS,
        className="yw-comp-kinds",
        **attributes({"aria-label": t("comp.kinds_label", lang)}),
    )


# --- side lists ----------------------------------------------------------------------------


def _health_panel(
    unit: data.Unit, pid: str, lang: Lang, hierarchy: str | None, kind: str | None
) -> html.Section:
    child = data.child_level(unit, hierarchy)
    parent: data.Unit | None
    if child is not None:
        level, parent = child, unit
        title = t("comp.health", lang, level=child.label(lang))
    else:  # a leaf: its peers under its parent (only itself when the parent is not in scope)
        parent = data.unit(unit.parent_id)
        level = data.level_info(unit.level)  # type: ignore[assignment]
        title = t(
            "comp.health_peers",
            lang,
            level=level.label(lang) if level else unit.level,
            parent=(parent or unit).name(lang),
        )
    where = {"parent_id": parent.unit_id} if parent is not None else {"unit_id": unit.unit_id}
    rows = (
        data.read(component_queries.health, level.level, pid, kind=kind, **where)
        if level is not None
        else pd.DataFrame()
    )
    body = components.simple_table(
        [
            (t("comp.col.unit", lang), "yw-col-name"),
            (t("comp.col.components", lang), "yw-num"),
            (t("comp.col.abnormal_share", lang), "yw-num"),
            (t("comp.col.alarming", lang), "yw-num"),
            (t("comp.col.failures", lang), "yw-num"),
            (t("comp.col.repeat", lang), "yw-num"),
        ],
        [
            [
                _unit_link(r, level.level if level else "", pid, lang, kind, unit.unit_id),
                fmt.fmt_int(r["components"]),
                fmt.fmt_pct(r["abnormal_share"], 1),
                fmt.fmt_int(r["alarming"]),
                fmt.fmt_int(r["failures"]),
                fmt.fmt_int(r["repeat_components"]),
            ]
            for r in rows.to_dict("records")
        ],
        component_id=ids.COMP_HEALTH,
        empty_text=t("comp.health_none", lang),
        row_keys=[str(v) for v in rows.get("unit_id", [])],
    )
    return components.panel(
        title, body, subtitle=t("comp.health_sub", lang), class_name="yw-comp-list"
    )


def _unit_link(
    r: dict[str, Any], level: str, pid: str, lang: Lang, kind: str | None, current: str
) -> Component | str:
    name = str(r["name_en"] if lang == "en" and r.get("name_en") else r["name_zh"])
    path = routes.page_path(level, str(r["unit_id"]))
    if path is None or r["unit_id"] == current:
        return name
    href = routes.with_query(path, period=pid, lang=lang, view="components", kind=kind)
    return dcc.Link(name, href=href)


def _alarms_panel(unit: data.Unit, pid: str, lang: Lang, kind: str | None) -> html.Section:
    unit_filter = None if unit.level == "city" else unit.unit_id
    rows = data.read(component_queries.alarms, unit_id=unit_filter, kind=kind, limit=LIST_ROWS)
    types = data.read(component_queries.alarm_types, unit.unit_id, pid, kind=kind)
    name_col = "alarm_type_en" if lang == "en" else "alarm_type_zh"
    if len(types):
        summary = " · ".join(
            f"{n} {fmt.fmt_int(a)}" for n, a in zip(types[name_col], types["alarms"], strict=True)
        )
        subtitle = t("comp.alarms_types", lang, types=summary)
    else:
        subtitle = t("comp.alarms_types_none", lang)
    body = components.simple_table(
        [
            (t("comp.col.time", lang), ""),
            (t("comp.col.component", lang), "yw-col-id"),
            (t("comp.col.kind", lang), "yw-col-name"),
            (t("comp.col.alarm_type", lang), ""),
        ],
        [
            [
                f"{pd.Timestamp(r['ts_local']):%m-%d %H:%M}",
                str(r["component_id"]),
                str(r["kind_en" if lang == "en" else "kind_zh"]),
                str(r[name_col]) if not fmt.is_missing(r[name_col]) else fmt.NA,
            ]
            for r in rows.to_dict("records")
        ],
        component_id=ids.COMP_ALARMS,
        empty_text=t("comp.alarms_none", lang),
        row_keys=[str(v) for v in rows["component_id"]],
    )
    return components.panel(
        t("comp.alarms", lang), body, subtitle=subtitle, class_name="yw-comp-list"
    )


def _links_panel(
    unit: data.Unit, pid: str, lang: Lang, kind: str | None, summary: dict[str, int]
) -> html.Section:
    unit_filter = None if unit.level == "city" else unit.unit_id
    rows = data.read(
        component_queries.links, unit_id=unit_filter, period_id=pid, kind=kind, limit=LIST_ROWS
    )
    has_rules = bool(_rules().get("link")) or summary["sensor"] > 0
    empty = t("comp.links_none" if has_rules else "comp.links_no_rules", lang)
    body = components.simple_table(
        [
            (t("comp.col.request", lang), "yw-col-id"),
            (t("comp.col.category", lang), "yw-col-name"),
            (t("comp.col.link", lang), "yw-col-id"),
            (t("comp.col.distance", lang), "yw-num"),
        ],
        [
            [
                str(r["request_id"]),
                str(r["l4_en" if lang == "en" else "l4_zh"]),
                f"→ {r['linked_component_id']} {r['kind_en' if lang == 'en' else 'kind_zh']}",
                _distance(r, lang),
            ]
            for r in rows.to_dict("records")
        ],
        component_id=ids.COMP_LINKS,
        empty_text=empty,
        row_keys=[str(v) for v in rows["request_id"]],
    )
    return components.panel(
        t("comp.links", lang),
        body,
        subtitle=t("comp.links_sub", lang, n=LIST_ROWS),
        class_name="yw-comp-list",
    )


def _distance(r: dict[str, Any], lang: Lang) -> str:
    if r["link_method"] == "sensor":
        return t("comp.link.sensor", lang)
    return t("comp.distance", lang, m=fmt.fmt_number(r["link_distance_m"], 0))


def register(app: dash.Dash) -> None:
    """Attach the component view's callbacks to ``app`` (none: links carry the state).

    Kind links and the period selector change the URL; the map's legend toggles kinds in
    the browser; map fitting and clicks are the cockpit's callbacks on ``ids.MAP``.
    """
    del app
