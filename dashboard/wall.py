"""Wall mode: the unattended big-screen cockpit (``/wall``, ``/wall/<level>/<unit_id>``).

A wall is a browser on a command-centre screen that nobody touches: no controls, no links,
no cursor, type readable from five metres. It shows one unit (or tours the city, its
districts and their streets) for ``period=last30`` unless the URL says otherwise, and it
refreshes itself every ``wall_refresh_seconds``:

- the page renders a first frame server-side (:func:`render`);
- each tick of ``dcc.Interval`` makes the browser report its clock and viewport
  (``assets/wall.js`` ``yiwangWall.clock``), and :func:`refresh` answers with a new frame only
  when what it would show changed (another build, tour stop, language, size), else with just
  the watermark and the staleness banner, which depend on the time;
- a refresh that fails for any reason keeps the last good frame: :func:`refresh` logs the
  error and returns ``no_update``; ``assets/wall.js`` turns a failed request (HTTP 5xx, server
  down) into "no update" too, so the renderer never collects an error.

Layouts: ``?layout=single`` (default) fills one 1920×1080 or 3840×2160 screen; ``?layout=2x2``
with ``tile=1..4`` is one screen of a video wall of four, each showing its quadrant of the
canvas so that no panel straddles a bezel (1 the heatmap, 2 KPIs and alerts, 3 trend and
categories, 4 the worry leaders).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component

from dashboard import access, cockpit, components, data, figures, fmt, ids
from dashboard.components.panels import attributes
from dashboard.i18n import Lang, resolve_lang, t
from pipelines import metrics

log = logging.getLogger(__name__)

LAYOUTS = ("single", "2x2")
TILES = (1, 2, 3, 4)
#: The KPIs a wall shows (registry ids, ``pipelines/metrics.toml``): six numbers read from afar.
KPIS = ("requests", "open", "overdue", "completion_rate", "satisfaction_rate", "worry_index")
#: Rows of the worry leaders: what fits the single-screen panel, and a whole 2×2 tile.
RANK_ROWS = {"single": 10, "2x2": 16}
TOP_CATEGORIES = {"single": 8, "2x2": 10}
#: The design size: the CSS and the figure fonts are laid out for it and scale with the
#: viewport (``--u`` in assets/wall.css), so 3840×2160 is the same wall at twice the size.
DESIGN = (1920, 1080)
#: Figures are built for a laptop (12–15 px text); a wall draws them half as large again.
FIGURE_ZOOM = 1.5
#: A tour may not flip faster than this: a stop must be readable.
MIN_TOUR_SECONDS = 5
MAX_TOUR_SECONDS = 3600


@dataclass(frozen=True)
class WallQuery:
    """What a wall URL asks for, validated (odd values fall back to the defaults)."""

    level: str
    unit_id: str | None
    period: str | None
    lang: Lang
    layout: str
    tile: int
    tour: int

    def context(self) -> dict[str, Any]:
        """Return the JSON the page keeps in ``ids.WALL_CONTEXT`` for its refreshes."""
        return asdict(self)

    @classmethod
    def from_context(cls, ctx: Mapping[str, Any]) -> WallQuery:
        """Rebuild the query from :meth:`context` (validated again: it came from a browser)."""
        return parse_query(str(ctx.get("level") or "city"), ctx.get("unit_id"), ctx)


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def parse_query(level: str, unit_id: object, query: Mapping[str, Any]) -> WallQuery:
    """Validate a wall URL's path variables and query values.

    Parameters
    ----------
    level, unit_id
        Path variables (``"city"`` and ``None`` for ``/wall``).
    query
        Query-string values: ``period``, ``lang``, ``layout`` (``single`` | ``2x2``),
        ``tile`` (1–4, with ``2x2``), ``tour`` (seconds per stop; ``0`` no tour; absent: the
        ``wall_tour_seconds`` setting).

    Returns
    -------
    WallQuery
        Never raises: unknown layouts are ``single``, a bad tile is 1, a bad tour is the
        setting, and a tour is kept within 5 s – 1 h.
    """
    layout = query.get("layout") if query.get("layout") in LAYOUTS else "single"
    tile = _int(query.get("tile")) if layout == "2x2" else 0
    if layout == "2x2" and tile not in TILES:
        tile = 1
    tour = _int(query.get("tour"))
    if tour is None or tour < 0:
        tour = data.settings().wall_tour_seconds
    if tour:
        tour = min(max(tour, MIN_TOUR_SECONDS), MAX_TOUR_SECONDS)
    period = query.get("period")
    return WallQuery(
        level=level,
        unit_id=str(unit_id) if unit_id is not None and level != "city" else None,
        period=period if isinstance(period, str) else None,
        lang=resolve_lang(query.get("lang")),
        layout=str(layout),
        tile=int(tile or 0),
        tour=int(tour),
    )


# ---------------------------------------------------------------------------------------------
# time: the tour, the staleness banner


def tour_stops(root: data.Unit) -> tuple[data.Unit, ...]:
    """Return the tour of ``root``: itself, then each child followed by the child's children.

    For the city: the city, district 1, its streets, district 2, its streets, … Children are
    ordered by id, so every screen (and every run) computes the same sequence.
    """
    stops = [root]
    for child in sorted(data.children(root), key=lambda u: u.unit_id):
        stops.append(child)
        stops.extend(sorted(data.children(child), key=lambda u: u.unit_id))
    return tuple(stops)


def tour_index(now_s: float, seconds: int, n: int) -> int:
    """Return the stop shown at ``now_s`` (epoch seconds) when each stop lasts ``seconds``.

    Derived from the wall clock rather than from when the page opened, so the four screens of
    a 2×2 wall (whose clocks are synchronised) show the same stop.
    """
    if n <= 1 or seconds <= 0:
        return 0
    return int(now_s // seconds) % n


def stale_hours(built_at_utc: str, now: datetime, limit_hours: float) -> float | None:
    """Return the build's age in hours if it is older than ``limit_hours``, else ``None``.

    An unreadable build time is not called stale: the watermark shows it as it is.
    """
    try:
        built = datetime.fromisoformat(built_at_utc)
    except ValueError:
        return None
    if built.tzinfo is None:
        built = built.replace(tzinfo=UTC)
    age = (now - built).total_seconds() / 3600
    return age if age > limit_hours else None


def utcnow() -> datetime:
    """The server's time (a function, so tests can move it)."""
    return datetime.now(UTC)


def figure_scale(width: object, height: object) -> float:
    """Return the factor for figure text on a ``width``×``height`` viewport (CSS pixels).

    The viewport's share of the design size times :data:`FIGURE_ZOOM`, in quarter steps so a
    few pixels of resizing do not redraw the wall.
    """
    w = float(width) if isinstance(width, int | float) and width > 0 else DESIGN[0]
    h = float(height) if isinstance(height, int | float) and height > 0 else DESIGN[1]
    k = min(w / DESIGN[0], h / DESIGN[1]) * FIGURE_ZOOM
    return min(max(round(k * 4) / 4, 0.5), 8.0)


#: Figure keys whose numbers are lengths on screen: scaled with the text.
_FONT_KEYS = ("font", "textfont", "tickfont")
#: Large arrays (polygons, values) are shared with the cached figure, never walked.
_DATA_KEYS = frozenset(
    ("geojson", "locations", "z", "customdata", "lon", "lat", "x", "y", "text", "tickvals")
)


def scale_figure(figure: Mapping[str, Any], k: float) -> dict[str, Any]:
    """Return ``figure`` with its text, margins and line widths scaled by ``k``.

    The cached figure is not modified: dictionaries on the way are copied, data arrays are
    shared (a city map holds thousands of polygons; copying them every frame would be waste).
    """

    def walk(node: Any, key: str) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for name, value in node.items():
                if name in _DATA_KEYS:
                    out[name] = value
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    out[name] = _scaled(key, name, value, k)
                else:
                    out[name] = walk(value, name)
            return out
        if isinstance(node, list) and node and isinstance(node[0], dict):
            return [walk(item, key) for item in node]
        return node

    return walk(dict(figure), "")


def _scaled(parent: str, name: str, value: float, k: float) -> float:
    if name == "size" and (parent in _FONT_KEYS or parent == "marker"):
        return round(value * k, 1)
    if parent == "margin" or (parent == "line" and name == "width") or name == "thickness":
        return round(value * k, 1)
    return value


# ---------------------------------------------------------------------------------------------
# the frame: everything the wall shows for one unit, period, language and screen


@dataclass(frozen=True)
class Frame:
    """One refresh's output: the body, the key saying what it shows, and the marks.

    ``body`` is ``None`` when the wall already shows this key; the marks (watermark, staleness
    banner) change with time and are sent on every refresh.
    """

    key: str
    body: Component | None
    watermark: list[Component]
    banner: str
    stale: bool


def compose(
    q: WallQuery,
    *,
    now_s: float,
    viewport: tuple[object, object] | None,
    checked_at: datetime | None = None,
    shown: str | None = None,
) -> Frame:
    """Build the frame the wall shows at ``now_s`` on a screen of ``viewport`` CSS pixels.

    ``now_s`` is the browser's clock (epoch seconds), which picks the tour stop; the build's
    age is measured against ``checked_at``, the server's clock (default: now), since the data's
    age is the server's business and a kiosk's clock may be off. When the frame's key equals
    ``shown`` (the key of the frame on screen) the body is not built at all.

    Raises
    ------
    data.WarehouseUnavailableError
        When nothing is published or the build cannot answer (callers keep the last frame).
    """
    meta = data.meta()  # re-reads CURRENT: a newly published build is picked up here
    build = data.current_build().name
    scale = figure_scale(*(viewport or DESIGN))
    now = checked_at or utcnow()
    watermark = _watermark(meta, q.lang, now, build)
    age = stale_hours(meta.built_at_utc, now, data.settings().stale_after_hours)
    banner = (
        t(
            "wall.stale",
            q.lang,
            hours=fmt.fmt_int(math.floor(age)),
            built=fmt.fmt_utc_as_local(meta.built_at_utc, meta.timezone),
        )
        if age is not None
        else ""
    )
    root = _root(q)
    if root is None:
        key = f"{build}|unknown|{q.level}|{_asked_id(q)}|{q.lang}"
        body = None if key == shown else _unknown(q)
        return Frame(key, body, watermark, banner, age is not None)
    period = data.resolve_period(q.period)
    stops = tour_stops(root) if q.tour else (root,)
    position = tour_index(now_s, q.tour, len(stops))
    stop = stops[position]
    key = "|".join(
        str(v) for v in (build, stop.unit_id, period.period_id, q.lang, q.layout, q.tile, scale)
    )
    tour = (position + 1, len(stops)) if len(stops) > 1 else None
    if key == shown:
        return Frame(key, None, watermark, banner, age is not None)
    body = _frame(stop, period, q, scale=scale, tour=tour, key=key, build=build)
    return Frame(key, body, watermark, banner, age is not None)


def _root(q: WallQuery) -> data.Unit | None:
    if q.level == "city":
        # the wall's "/" is the viewer's own top: the city, or the top of their scope
        return data.home()
    if data.level_info(q.level) is None or "/" in (q.unit_id or ""):
        return None
    u = data.unit(q.unit_id)
    return u if u is not None and u.level == q.level else None


def _asked_id(q: WallQuery) -> str:
    """The unit id to keep in the page: not echoed to a scoped user when it is not theirs.

    Scoped users cannot tell an unknown id from another area's, so neither is repeated back
    (as the cockpit's empty state does not repeat it).
    """
    if not q.unit_id or access.current().everywhere:
        return q.unit_id or ""
    try:
        return q.unit_id if data.unit(q.unit_id) is not None else ""
    except data.WarehouseUnavailableError:
        return ""


def _unknown(q: WallQuery) -> html.Div:
    """A unit the build does not have: said calmly, in the wall's type."""
    if data.level_info(q.level) is None or "/" in (q.unit_id or ""):
        title, body = t("not_found.title", q.lang), t("wall.not_found", q.lang)
    else:
        label = cockpit.level_label(q.level, q.lang)
        title = t("empty.unknown_unit.title", q.lang, level=label)
        body = cockpit.unknown_unit_text(q.unit_id, label, q.lang)
    return components.empty_state(
        title, body, back_href=None, back_text="", component_id=ids.WALL_EMPTY
    )


def _waiting(lang: Lang) -> html.Div:
    """No published warehouse (yet): the wall says so and shows data once it is there."""
    return components.empty_state(
        t("empty.no_warehouse.title", lang),
        t("empty.no_warehouse.body", lang),
        back_href=None,
        back_text="",
        component_id=ids.WALL_EMPTY,
    )


def _local(now: datetime, timezone: str) -> datetime:
    try:
        return now.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return now


def _watermark(meta: data.Meta, lang: Lang, now: datetime, build: str) -> list[Component]:
    return [
        html.Span(
            t("wall.as_of", lang, time=fmt.fmt_local_time(meta.as_of_local)),
            className="yw-wall-as-of",
            **attributes({"data-build": build}),
        ),
        html.Span(
            t("wall.built", lang, time=fmt.fmt_utc_as_local(meta.built_at_utc, meta.timezone))
        ),
        html.Span(
            t("wall.refreshed", lang, time=_local(now, meta.timezone).strftime("%H:%M")),
            className="yw-wall-refreshed",
        ),
        html.Span(t("wall.suppressed", lang, k=_k()), className="yw-wall-suppressed"),
    ]


def _frame(
    unit: data.Unit,
    period: data.Period,
    q: WallQuery,
    *,
    scale: float,
    tour: tuple[int, int] | None,
    key: str,
    build: str,
) -> html.Div:
    """The panels of ``unit`` for this layout (all of them, or one tile's)."""
    lang, pid = q.lang, period.period_id
    # A 2×2 wall is one canvas: the title sits on tile 1 (top left), the watermark on tile 2
    # (top right, see assets/wall.css); the other tiles are all panel.
    wanted = {
        0: ("title", "kpis", "map", "ranking", "trend", "categories", "ticker"),
        1: ("title", "map"),
        2: ("kpis", "ticker"),
        3: ("trend", "categories"),
        4: ("ranking",),
    }[q.tile]
    build_panel = {
        "title": lambda: _title(unit, period, lang, tour),
        "kpis": lambda: _kpis(data.unit_kpis(unit, pid), lang),
        "map": lambda: _map(unit, pid, lang, scale),
        "ranking": lambda: _ranking(unit, pid, lang, RANK_ROWS[q.layout]),
        "trend": lambda: _trend(unit, period, lang, scale),
        "categories": lambda: _categories(unit, pid, lang, TOP_CATEGORIES[q.layout], scale),
        "ticker": lambda: _unlinked(cockpit._ticker(unit, lang, pid)),
    }
    return html.Div(
        [build_panel[name]() for name in wanted],
        className=f"yw-wall-frame yw-level-{unit.level}",
        **attributes({"data-frame": key, "data-build": build, "data-unit": unit.unit_id}),
    )


def _unlinked(node: Any) -> Any:
    """Return ``node`` with every link replaced by its text: a wall has nothing to click.

    The cockpit's ticker links each alert to its place (``cockpit._ticker``); the wall reuses
    the ticker and drops the links.
    """
    if isinstance(node, html.A):
        return html.Span(_unlinked(node.children), className=getattr(node, "className", None))
    if isinstance(node, list | tuple):
        return [_unlinked(c) for c in node]
    if isinstance(node, Component) and getattr(node, "children", None) is not None:
        node.children = _unlinked(node.children)
    return node


def _title(
    unit: data.Unit,
    period: data.Period,
    lang: Lang,
    tour: tuple[int, int] | None,
) -> html.Header:
    """The unit's name, where it lies, the period and the tour position; nothing to click."""
    chain = data.lineage(unit)[:-1]
    parts: list[Component] = []
    if chain:
        parts.append(html.Div(" › ".join(u.name(lang) for u in chain), className="yw-wall-lineage"))
    line: list[Component] = [html.H1(unit.name(lang), className="yw-wall-name")]
    line.append(html.Span(period.label(lang), className="yw-wall-period"))
    if tour is not None:
        line.append(
            html.Span(
                t("wall.tour", lang, n=tour[0], total=tour[1]),
                className="yw-wall-tour",
                **attributes({"data-stop": str(tour[0]), "data-stops": str(tour[1])}),
            )
        )
    parts.append(html.Div(line, className="yw-wall-titleline"))
    return html.Header(parts, id=ids.WALL_TITLE, className="yw-wall-title")


# ---------------------------------------------------------------------------------------------
# small counts on a shared screen
#
# A wall is read by everyone in the room, so a count small enough to point at a person ("2
# complaints about noise at this community") is shown as "<k" (``suppress_below``), and
# chart points and bars of fewer than k requests are left out. Zero is shown: it names
# nobody. Rates and the worry index are not counts and stay.


def _k() -> int:
    return max(1, int(data.settings().suppress_below))


def is_small(value: object, k: int) -> bool:
    """Whether ``value`` is a count a shared screen must not show (1 ≤ value < k)."""
    return not fmt.is_missing(value) and 0 < float(value) < k  # type: ignore[arg-type]


def count_text(value: object, k: int) -> str:
    """A count as the wall shows it: ``<k`` when small, else the formatted number."""
    return f"<{k}" if is_small(value, k) else fmt.fmt_int(value)


def _suppress_trend(figure: dict[str, Any], daily: Any, k: int) -> dict[str, Any]:
    """Blank the trend's points whose bucket holds fewer than ``k`` requests (or closings)."""
    if not figure.get("data") or daily is None or daily.empty:
        return figure
    traces = []
    for trace, column in zip(figure["data"], ("requests", "closed"), strict=False):
        counts = list(daily[column])
        y = [None if is_small(c, k) else v for v, c in zip(trace["y"], counts, strict=True)]
        traces.append({**trace, "y": y, "connectgaps": False})
    return {**figure, "data": traces}


def _suppress_bars(figure: dict[str, Any], k: int) -> dict[str, Any]:
    """Leave out the category bars (requests, open) of fewer than ``k``."""
    if not figure.get("data"):
        return figure
    traces = []
    for trace in figure["data"]:
        x = [None if is_small(v, k) else v for v in trace.get("x", [])]
        out = {**trace, "x": x}
        if "text" in trace:
            out["text"] = [f"<{k}" if v is None else f"{v:,}" for v in x]
        traces.append(out)
    return {**figure, "data": traces}


def _without_hover(figure: dict[str, Any]) -> dict[str, Any]:
    """The wall's map: colours only. Nobody hovers on a wall, so no per-cell counts are sent."""
    traces = []
    for trace in figure.get("data", []):
        bare = {
            key: value
            for key, value in trace.items()
            if key not in ("customdata", "text", "hovertext", "hovertemplate")
        }
        traces.append({**bare, "hoverinfo": "skip"})
    return {**figure, "data": traces}


def _kpis(k: Mapping[str, Any] | None, lang: Lang) -> html.Div:
    """Six big numbers, named from the metric registry (as the cockpit's KPI strip)."""
    values: Mapping[str, Any] = k or {}
    small = _k()
    tiles = []
    for mid in KPIS:
        metric = metrics.metric(mid)
        raw = values.get(mid)
        text = (
            count_text(raw or 0, small)
            if metric.unit == "count"
            else fmt.fmt_metric(raw, metric.unit)
        )
        style = (
            {"color": figures.worry_color(raw)}
            if mid == "worry_index" and not fmt.is_missing(raw)
            else None
        )
        tiles.append(
            html.Div(
                [
                    html.Div(metric.name(lang), className="yw-wall-kpi-label"),
                    html.Div(text, className="yw-wall-kpi-value", style=style),
                ],
                className=f"yw-wall-kpi yw-wall-kpi-{mid}",
                **attributes({"data-kpi": mid, "data-value": text}),
            )
        )
    return html.Div(tiles, id=ids.WALL_KPIS, className="yw-wall-kpis")


def _graph(component_id: str, figure: Mapping[str, Any], class_name: str = "") -> dcc.Graph:
    # A wall is looked at, not touched: a static chart (no hover layer, no zoom handlers).
    # The map keeps plotly's interactive mode: MapLibre draws only there.
    return dcc.Graph(
        id=component_id,
        figure=figure,
        className=f"yw-graph {class_name}".strip(),
        responsive=True,
        config={"displayModeBar": False, "staticPlot": component_id != ids.WALL_MAP},
        style={"height": "100%", "width": "100%"},
    )


def _map(unit: data.Unit, pid: str, lang: Lang, scale: float) -> html.Section:
    figure = scale_figure(_without_hover(cockpit.map_figure(unit.unit_id, pid, lang)), scale)
    return components.panel(
        t("wall.panel.map", lang),
        _graph(ids.WALL_MAP, figure, "yw-map"),
        class_name="yw-wall-map",
    )


def _trend(unit: data.Unit, period: data.Period, lang: Lang, scale: float) -> html.Section:
    daily = data.trend(unit, period)
    figure = figures.trend_chart(
        daily,
        lang=lang,
        text={
            "requests": t("trend.requests", lang),
            "closed": t("trend.closed", lang),
            "empty": t("chart.empty", lang),
        },
    )
    return components.panel(
        t("panel.trend_week" if period.bucket == "week" else "panel.trend_day", lang),
        _graph(ids.WALL_TREND, scale_figure(_suppress_trend(figure, daily, _k()), scale)),
        class_name="yw-wall-trend",
        extra=components.legend_key(
            [(t("trend.requests", lang), figures.ACCENT), (t("trend.closed", lang), figures.CLOSED)]
        ),
    )


def _categories(unit: data.Unit, pid: str, lang: Lang, n: int, scale: float) -> html.Section:
    figure = figures.category_bars(
        data.top_categories(unit, pid, n),
        lang=lang,
        text={
            "requests": t("col.requests", lang),
            "open": t("col.open", lang),
            "empty": t("chart.empty", lang),
        },
    )
    return components.panel(
        t("panel.categories", lang, n=n),
        _graph(ids.WALL_CATEGORIES, scale_figure(_suppress_bars(figure, _k()), scale)),
        class_name="yw-wall-categories",
        extra=components.legend_key(
            [(t("col.requests", lang), figures.ACCENT), (t("col.open", lang), figures.OPEN)]
        ),
    )


def _ranking(unit: data.Unit, pid: str, lang: Lang, rows: int) -> html.Section:
    """The worry leaders among the unit's children (a leaf: among its peers)."""
    child = data.child_level(unit)
    if child is not None:
        ranked = data.child_kpis(unit, pid)
        title = t("wall.panel.ranking", lang, level=child.label(lang))
    else:
        parent = data.unit(unit.parent_id)
        ranked = data.peer_kpis(unit, pid)
        title = t(
            "wall.panel.ranking_peers",
            lang,
            level=cockpit.level_label(unit.level, lang),
            parent=(parent or unit).name(lang),
        )
    return components.panel(
        title,
        _leaders(ranked.head(rows), lang, highlight=unit.unit_id),
        subtitle=t("panel.ranking_sub", lang),
        class_name="yw-wall-ranking",
    )


def _leaders(ranked: Any, lang: Lang, *, highlight: str) -> html.Table:
    small = _k()
    head = html.Thead(
        html.Tr(
            [
                html.Th(t("col.rank", lang), className="yw-col-rank"),
                html.Th(t("col.name", lang), className="yw-col-name"),
                html.Th(t("col.requests", lang), className="yw-num"),
                html.Th(t("col.overdue", lang), className="yw-num"),
                html.Th(t("col.satisfaction", lang), className="yw-num yw-wall-wide"),
                html.Th(t("col.worry", lang), className="yw-num"),
            ]
        )
    )
    body: list[Component] = []
    for i, row in enumerate(ranked.itertuples(index=False), start=1):
        name = row.name_en if lang == "en" and row.name_en else row.name_zh
        worry = row.worry_index
        badge = html.Span(
            fmt.fmt_index(worry),
            className="yw-badge" if not fmt.is_missing(worry) else "yw-badge yw-badge-na",
            style=None
            if fmt.is_missing(worry)
            else {"backgroundColor": figures.worry_color(worry)},
        )
        body.append(
            html.Tr(
                [
                    html.Td(str(i), className="yw-col-rank"),
                    html.Td(str(name), className="yw-col-name"),
                    html.Td(count_text(row.requests, small), className="yw-num"),
                    html.Td(count_text(row.overdue, small), className="yw-num yw-overdue"),
                    html.Td(fmt.fmt_pct(row.satisfaction_rate), className="yw-num yw-wall-wide"),
                    html.Td(badge, className="yw-num"),
                ],
                className="yw-wall-here" if str(row.unit_id) == highlight else None,
                **attributes({"data-unit": str(row.unit_id)}),
            )
        )
    if not body:
        body.append(html.Tr(html.Td(t("ranking.empty", lang), colSpan=6, className="yw-muted")))
    return html.Table([head, html.Tbody(body)], id=ids.WALL_RANKING, className="yw-wall-table")


# ---------------------------------------------------------------------------------------------
# the page and its refresh


def interval_ms(q: WallQuery) -> int:
    """Milliseconds between two refreshes: the setting, or while touring at most 5 s.

    The stop follows the wall clock, but a screen only notices at its next tick: short ticks
    keep the four screens of a 2×2 wall within 5 s of each other, whenever each was opened.
    A tick that changes nothing costs the server a stat of ``CURRENT`` and a few cache hits.
    """
    seconds = max(1, int(data.settings().wall_refresh_seconds))
    if q.tour:
        seconds = min(seconds, q.tour, MIN_TOUR_SECONDS)
    return seconds * 1000


def render(level: str, unit_id: str | None = None, **query: Any) -> html.Div:
    """Return the wall page for a URL: the first frame and what keeps it fresh.

    Never raises: an unknown unit shows a calm note, no warehouse shows how to publish one
    (and the wall fills itself once a build is published), anything else is logged and the
    first refresh draws the frame.
    """
    q = parse_query(level, unit_id, query)
    try:
        first = compose(q, now_s=time.time(), viewport=None)
        key, body, watermark, banner, stale = (
            first.key,
            first.body,
            first.watermark,
            first.banner,
            first.stale,
        )
    except data.WarehouseUnavailableError as exc:
        log.warning("wall without a warehouse: %s", exc)
        key, body, watermark, banner, stale = "", _waiting(q.lang), [], "", False
    except Exception:
        log.exception("wall: first frame failed; the next refresh draws it")
        key, body, watermark, banner, stale = "", html.Div(), [], "", False
    classes = f"yw-wall yw-wall-{q.layout}" + (f" yw-tile-{q.tile}" if q.tile else "")
    context = q.context()
    context["unit_id"] = _asked_id(q) or None
    return html.Div(
        [
            dcc.Store(id=ids.WALL_CONTEXT, data=context),
            dcc.Store(id=ids.WALL_SHOWN, data=key),
            dcc.Store(id=ids.WALL_CLOCK),
            dcc.Store(id=ids.WALL_MAP_FITTED),
            dcc.Interval(id=ids.WALL_TICK, interval=interval_ms(q)),
            html.Div(body, id=ids.WALL_BODY, className="yw-wall-body"),
            html.Div(watermark, id=ids.WALL_WATERMARK, className="yw-wall-watermark"),
            html.Div(banner, id=ids.WALL_BANNER, className=_banner_class(stale), role="alert"),
        ],
        id=ids.WALL,
        className=classes,
        lang="en" if q.lang == "en" else "zh-CN",
    )


def _banner_class(stale: bool) -> str:
    return "yw-wall-banner yw-wall-banner-on" if stale else "yw-wall-banner"


def refresh(
    clock: Mapping[str, Any] | None, ctx: Mapping[str, Any] | None, shown: str | None
) -> Any:
    """Answer one tick: a new frame if what the wall shows changed, else the marks only.

    Parameters
    ----------
    clock
        ``{"now": epoch ms, "w": px, "h": px}`` from the browser (``yiwangWall.clock``).
    ctx
        The page's :meth:`WallQuery.context`.
    shown
        The key of the frame on screen.

    Returns
    -------
    tuple
        ``(body, shown key, watermark, banner text, banner class)``; all ``no_update`` when the
        refresh failed, which keeps the last good frame on screen.
    """
    try:
        q = WallQuery.from_context(ctx or {})
        c = clock or {}
        now_ms = c.get("now")
        now_s = float(now_ms) / 1000 if isinstance(now_ms, int | float) else time.time()
        frame = compose(q, now_s=now_s, viewport=(c.get("w"), c.get("h")), shown=shown)
    except data.WarehouseUnavailableError as exc:
        log.warning("wall refresh skipped, warehouse unavailable: %s", exc)
        return (no_update,) * 5
    except Exception:
        # An unattended screen must not go blank or red: log it and keep the last frame.
        log.exception("wall refresh failed; keeping the last frame")
        return (no_update,) * 5
    body = no_update if frame.body is None else frame.body
    return body, frame.key, frame.watermark, frame.banner, _banner_class(frame.stale)


def register(app: dash.Dash) -> None:
    """Attach the wall's callbacks to ``app``."""
    # Tick → the browser's clock and viewport (client side) → the refresh (server side).
    app.clientside_callback(
        ClientsideFunction(namespace="yiwangWall", function_name="clock"),
        Output(ids.WALL_CLOCK, "data"),
        Input(ids.WALL_TICK, "n_intervals"),
    )
    app.callback(
        Output(ids.WALL_BODY, "children"),
        Output(ids.WALL_SHOWN, "data"),
        Output(ids.WALL_WATERMARK, "children"),
        Output(ids.WALL_BANNER, "children"),
        Output(ids.WALL_BANNER, "className"),
        Input(ids.WALL_CLOCK, "data"),
        State(ids.WALL_CONTEXT, "data"),
        State(ids.WALL_SHOWN, "data"),
        prevent_initial_call=True,
    )(refresh)
    # Frame the unit for the screen's real map size, as on the cockpit (assets/cockpit.js).
    app.clientside_callback(
        ClientsideFunction(namespace="yiwang", function_name="fitMap"),
        Output(ids.WALL_MAP_FITTED, "data"),
        Input(ids.WALL_MAP, "figure"),
        State(ids.WALL_MAP, "id"),
    )
