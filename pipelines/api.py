"""The notebook API: the dashboard's figures as DataFrames and GeoDataFrames.

>>> from pipelines import api
>>> api.metrics("street", "last30", ["completion_rate", "on_time_rate"])   # doctest: +SKIP
>>> api.units("district").explore()                                         # doctest: +SKIP

Everything is read from the published warehouse build (``04_warehouse/CURRENT``) through
the same query functions the dashboard uses (``pipelines/queries.py``), so a number here
equals the number on the cockpit for the same unit, period and filter. Geometry is WGS-84
(EPSG:4326). The data folder is ``YIWANG_DATA_DIR`` (or the project's ``data/``); call
:func:`connect` to point elsewhere. A newly published build is picked up on the next call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from pipelines import (
    backlog_queries,
    catalog,
    component_queries,
    component_rules,
    db,
    h3index,
    queries,
    signal_queries,
    snapshots,
    worry,
)
from pipelines import metrics as registry
from pipelines.settings import Settings

__all__ = [
    "alerts",
    "backlog",
    "cells",
    "component_health",
    "components",
    "connect",
    "explain",
    "hotspots",
    "levels",
    "metric_info",
    "metrics",
    "periods",
    "ranking",
    "reading",
    "repeat_places",
    "requests",
    "sla",
    "snapshots_of",
    "units",
]

CRS = "EPSG:4326"
_lock = threading.Lock()
_state: dict[str, Any] = {"settings": None, "build": None, "con": None}
#: A connection bound for the current thread or task by :func:`reading` (the dashboard's
#: exports run the notebook functions on the build it serves); ``None``: the module's own.
_bound: ContextVar[duckdb.DuckDBPyConnection | None] = ContextVar("api_bound_con", default=None)


def connect(data_dir: str | Path | None = None) -> str:
    """Read from ``data_dir`` (default: settings); returns the build being read."""
    settings = Settings.from_env(data_dir=Path(data_dir)) if data_dir else Settings.from_env()
    with _lock:
        _close()
        _state["settings"] = settings
    _con()
    return str(_state["build"])


def _settings() -> Settings:
    if _state["settings"] is None:
        _state["settings"] = Settings.from_env()
    settings: Settings = _state["settings"]
    return settings


def _close() -> None:
    if _state["con"] is not None:
        _state["con"].close()
    _state["con"] = _state["build"] = None


@contextlib.contextmanager
def reading(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within the block, read from the open build ``con`` instead of the connected one.

    The binding is per thread (a context variable), so a web server can run the notebook
    functions on the build it serves while other threads, and notebooks, are unaffected:
    a download and the notebook call it quotes then run the same code on the same data.
    """
    token = _bound.set(con)
    try:
        yield
    finally:
        _bound.reset(token)


def _con() -> duckdb.DuckDBPyConnection:
    """A read-only connection to the build named in CURRENT (reopened when it changes)."""
    bound = _bound.get()
    if bound is not None:
        return bound
    settings = _settings()
    current = catalog.path(settings, "warehouse_current")
    try:
        name = current.read_text(encoding="utf-8").strip()
    except OSError:
        raise RuntimeError(
            f"no published warehouse under {settings.data_dir}: run `yiwang build` (or "
            "api.connect(data_dir=...))"
        ) from None
    with _lock:
        if _state["build"] != name or _state["con"] is None:
            _close()
            path = catalog.path(settings, "warehouse_builds") / f"{name}.duckdb"
            con = db.open_build(path, settings)
            _state["con"], _state["build"] = con, name
        con_: duckdb.DuckDBPyConnection = _state["con"]
        return con_


def _frame(sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    cur = _con().cursor()
    try:
        return cur.execute(sql, params or {}).df()
    finally:
        cur.close()


def levels() -> pd.DataFrame:
    """The levels of every hierarchy (city first), with labels and heatmap resolution."""
    return _frame("SELECT * FROM dim_level ORDER BY sort_order")


def periods() -> pd.DataFrame:
    """The selectable periods (rolling windows and calendar months)."""
    return _frame("SELECT * FROM dim_period ORDER BY sort_order")


def metric_info() -> pd.DataFrame:
    """The metric registry: names, unit, definition, numerator and denominator."""
    return pd.DataFrame([vars(m) for m in registry.registry().values()])


def _check_level(level: str) -> None:
    known = set(levels()["level"])
    if level not in known:
        raise ValueError(f"unknown level {level!r}; known: {sorted(known)}")


def _check_period(period: str) -> None:
    known = list(periods()["period_id"])
    if period not in known:
        raise ValueError(f"unknown period {period!r}; known: {known}")


def _check_key(dim: str, key: str) -> None:
    known = _frame(
        "SELECT DISTINCT key, key_en FROM mart_unit_breakdown WHERE dim = $dim ORDER BY key",
        {"dim": dim},
    )
    if key not in set(known["key"]) and key not in set(known["key_en"]):
        sample = ", ".join(known["key"].head(12))
        raise ValueError(
            f"unknown {dim} {key!r}; {len(known)} known, e.g. {sample} "
            f"(all: api.metrics('city', period, ...) with dim {dim!r} rows)"
        )


def units(level: str, *, parent_id: str | None = None) -> gpd.GeoDataFrame:
    """The units of ``level`` with names, parent, population and outline (as drawn)."""
    _check_level(level)
    frame = _frame(
        """
        SELECT u.*, s.geojson FROM dim_unit AS u
        JOIN unit_shape AS s USING (unit_id)
        WHERE u.level = $level AND ($parent_id::VARCHAR IS NULL OR u.parent_id = $parent_id)
        ORDER BY u.unit_id
        """,
        {"level": level, "parent_id": parent_id},
    )
    geometry = shapely.from_geojson(frame.pop("geojson").to_numpy())
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)


def metrics(
    level: str,
    period: str = "last30",
    metrics: Sequence[str] | None = None,
    *,
    parent_id: str | None = None,
    unit_id: str | None = None,
    category: str | None = None,
    department: str | None = None,
    include_unassigned: bool = False,
    geometry: bool = False,
) -> pd.DataFrame:
    """Metrics of the units of ``level`` in ``period``: one row per unit.

    Parameters
    ----------
    level, period
        A level (``levels()``) and a period id (``periods()``).
    metrics
        Registry ids (``metric_info()``); all of them when omitted. The counts behind
        them (requests, closed, rated, ...) are always included.
    parent_id, unit_id
        Only the children of one unit, or one unit.
    category, department
        One top-level category or one handling department (for units down to the
        breakdown depth; see docs/metrics.md): then one row per unit for that slice.
    include_unassigned
        Keep the ``__unassigned__`` bucket.
    geometry
        Return a GeoDataFrame with each unit's outline (as :func:`units` draws it; the
        ``__unassigned__`` bucket has none).
    """
    _check_level(level)
    _check_period(period)
    wanted = list(metrics) if metrics is not None else list(registry.registry())
    for m in wanted:
        registry.metric(m)  # unknown ids fail with the list of known ones
    con = _con()
    if category is not None and department is not None:
        raise ValueError("give category or department, not both")
    if category is not None or department is not None:
        dim, key = ("category", category) if category is not None else ("department", department)
        _check_key(dim, str(key))
        frame = _breakdown(level, period, dim, str(key), parent_id, unit_id)
    else:
        frame = queries.unit_metrics(
            con,
            level,
            period,
            parent_id=parent_id,
            unit_id=unit_id,
            include_unassigned=include_unassigned,
        )
    counts = [c for c in _COUNT_COLUMNS if c in frame.columns]
    keep = ["unit_id", "name_zh", "name_en", "level", "parent_id", "period_id", "dim", "key"]
    cols = [c for c in keep if c in frame.columns]
    cols += [c for c in counts if c not in cols]
    cols += [m for m in wanted if m in frame.columns and m not in cols]
    out = frame[cols].reset_index(drop=True)
    if not geometry:
        return out
    shapes = _frame(
        "SELECT unit_id, geojson FROM unit_shape WHERE level = $level", {"level": level}
    ).set_index("unit_id")["geojson"]
    texts = out["unit_id"].map(shapes)
    outlines = [None if pd.isna(g) else shapely.from_geojson(g) for g in texts]
    return gpd.GeoDataFrame(out, geometry=outlines, crs=CRS)


_COUNT_COLUMNS = (*queries.COUNT_COLUMNS, "population")


def _breakdown(
    level: str,
    period: str,
    dim: str,
    key: str,
    parent_id: str | None,
    unit_id: str | None,
) -> pd.DataFrame:
    frame = _frame(
        """
        SELECT coalesce(u.name_zh, b.unit_id) AS name_zh,
               coalesce(u.name_en, u.name_zh, b.unit_id) AS name_en, b.*
        FROM mart_unit_breakdown AS b LEFT JOIN dim_unit AS u USING (unit_id)
        WHERE b.level = $level AND b.period_id = $period AND b.dim = $dim
          AND (b.key = $key OR b.key_en = $key)
          AND ($parent_id::VARCHAR IS NULL OR b.parent_id = $parent_id)
          AND ($unit_id::VARCHAR IS NULL OR b.unit_id = $unit_id)
          AND b.unit_id <> '__unassigned__'
        ORDER BY b.unit_id
        """,
        {
            "level": level,
            "period": period,
            "dim": dim,
            "key": key,
            "parent_id": parent_id,
            "unit_id": unit_id,
        },
    )
    return frame


def cells(
    level_or_res: str | int,
    period: str = "last30",
    measure: str = "worry_index",
    *,
    unit_id: str | None = None,
    hierarchy: str | None = None,
) -> gpd.GeoDataFrame:
    """H3 heatmap cells of a level (or of the level drawn at resolution ``level_or_res``).

    Parameters
    ----------
    level_or_res
        A level name, or an H3 resolution one of the levels is drawn at (when two levels
        share it, the coarser one; name the level to get the other).
    measure
        ``requests``, ``open``, ``overdue``, ``requests_per_10k_30d``, ``backlog_share``,
        ``dissatisfied_share`` or ``worry_index``; every column is returned, ``value`` is
        this one.
    unit_id
        Only the cells of one unit of that level (default: all its units).
    hierarchy
        For the city level: which hierarchy's split (default: the primary).
    """
    lv = levels()
    if isinstance(level_or_res, int):
        match = lv.loc[lv["res"] == level_or_res, "level"]
        if match.empty:
            raise ValueError(
                f"no level is drawn at res {level_or_res}; levels and res: "
                f"{dict(zip(lv['level'], lv['res'], strict=True))}"
            )
        level = str(match.iloc[0])
    else:
        level = level_or_res
        _check_level(level)
    if measure not in _CELL_MEASURES:
        raise ValueError(f"measure must be one of {_CELL_MEASURES}, got {measure!r}")
    _check_period(period)
    meta = dict(_frame("SELECT key, value FROM meta").itertuples(index=False, name=None))
    chosen = hierarchy or (meta.get("primary_hierarchy") if level == "city" else None)
    frame = _frame(
        """
        SELECT m.*, s.cell_id, s.ring
        FROM mart_hex AS m JOIN hex_shape AS s ON s.res = m.res AND s.cell = m.cell
        WHERE m.level = $level AND m.period_id = $period
          AND ($unit_id::VARCHAR IS NULL OR m.unit_id = $unit_id)
          AND ($hierarchy::VARCHAR IS NULL OR m.hierarchy = $hierarchy)
        ORDER BY m.unit_id, m.cell
        """,
        {"level": level, "period": period, "unit_id": unit_id, "hierarchy": chosen},
    )
    rings = [shapely.Polygon(json.loads(r)) for r in frame.pop("ring")]
    frame["value"] = frame[measure]
    return gpd.GeoDataFrame(frame, geometry=rings, crs=CRS)


_CELL_MEASURES = (
    "requests",
    "open",
    "overdue",
    "requests_per_10k_30d",
    "backlog_share",
    "dissatisfied_share",
    "worry_index",
    *(f"{kind}_{c}" for kind in ("score", "contribution") for c in worry.COMPONENTS),
)


def explain(
    level: str,
    unit_id: str,
    period: str = "last30",
    *,
    cell: str | int | None = None,
    limit: int = 5,
) -> dict[str, Any]:
    """Why a unit (or one cell of its heatmap) has the worry index it has.

    Parameters
    ----------
    level, unit_id, period
        The unit and period (a cell is one of this unit's heatmap cells).
    cell
        An H3 cell id (string or integer) at the level's heatmap resolution.
    limit
        Groups returned per kind in ``behind``.

    Returns
    -------
    dict
        ``worry_index`` (``None`` when the place had no requests in the period),
        ``components`` (component, weight, score 0–1, contribution in points; they add up
        to the index), ``row`` (every column of the place's mart row: counts, priors,
        previous window) and ``behind`` (the top categories, addresses and city
        components by requests, :func:`pipelines.queries.worry_behind`).
    """
    _check_level(level)
    _check_period(period)
    res = None
    cell_int = None
    if cell is not None:
        cell_int = h3index.str_to_cell(cell) if isinstance(cell, str) else int(cell)
        lv = levels()
        res = int(lv.loc[lv["level"] == level, "res"].iloc[0])
        if h3index.cell_resolution([cell_int])[0] != res:
            raise ValueError(f"cell {cell} is not at {level}'s heatmap resolution {res}")
    con = _con()
    row = queries.worry_place(con, level, unit_id, period, cell=cell_int)
    meta = dict(_frame("SELECT key, value FROM meta").itertuples(index=False, name=None))
    weights = json.loads(meta.get("worry_config", "{}")).get("weights", {})
    return {
        "worry_index": None if row is None else row.get("worry_index"),
        "components": queries.worry_components(row or {}, weights),
        "row": row or {},
        "behind": queries.worry_behind(con, unit_id, period, cell=cell_int, res=res, limit=limit),
    }


def requests(**filters: Any) -> pd.DataFrame:
    """Request rows as they stand at the as-of time, filtered.

    Filters (all optional): ``level`` and ``unit_id`` (requests placed in that unit),
    ``period`` (created in it), ``category`` (top-level class or type code),
    ``department``, ``open_only``, ``lamp`` (green/yellow/red), ``long_unresolved_only``,
    ``min_escalation``, ``repeat_only`` (repeat requests, 重复诉求), ``component_kind``
    (requests about a city component of that kind), ``status`` (the screens' lists:
    ``all``, ``open``, ``overdue`` = open and past due, ``long_unresolved``, ``repeat``),
    ``limit`` (default 100,000 rows). Coordinates are WGS-84 ``lng`` and ``lat``.
    """
    allowed = {
        "status",
        "repeat_only",
        "component_kind",
        "level",
        "unit_id",
        "period",
        "category",
        "department",
        "open_only",
        "lamp",
        "long_unresolved_only",
        "min_escalation",
        "limit",
    }
    unknown = sorted(set(filters) - allowed)
    if unknown:
        raise TypeError(f"unknown filters {unknown}; allowed: {sorted(allowed)}")
    args = dict(filters)
    if "period" in args:
        _check_period(str(args["period"]))
        args["period_id"] = args.pop("period")
    if "level" in args:
        _check_level(str(args["level"]))
    status = args.pop("status", None)
    if status is not None:
        if status not in REQUEST_STATUSES:
            raise ValueError(f"status must be one of {REQUEST_STATUSES}, got {status!r}")
        args.update(REQUEST_STATUSES[status])
    repeat_only = bool(args.pop("repeat_only", False))
    kind = args.pop("component_kind", None)
    if not repeat_only and kind is None:
        return queries.requests(_con(), **args)
    # Filters the read model does not have: applied to its rows, in its order, before the
    # limit (so the limit still means "the most urgent N of the selection").
    limit = int(args.pop("limit", queries.DEFAULT_ROW_LIMIT))
    if limit < 0:
        raise ValueError("limit must be >= 0")
    rows = queries.requests(_con(), **args, limit=2**62)
    keep = pd.Series(True, index=rows.index)
    if repeat_only:
        keep &= rows["is_repeat"].fillna(False).astype(bool)
    if kind is not None:
        of_kind = _frame(
            "SELECT component_id FROM dim_component WHERE kind = $kind", {"kind": str(kind)}
        )["component_id"]
        if of_kind.empty:
            known = _frame("SELECT DISTINCT kind FROM dim_component ORDER BY kind")["kind"]
            raise ValueError(f"unknown component kind {kind!r}; known: {list(known)}")
        keep &= rows["component_id"].isin(set(of_kind))
    return rows.loc[keep].head(limit).reset_index(drop=True)


#: The request lists of the screens (SLA view, grid chief, exports) as request filters.
REQUEST_STATUSES: dict[str, dict[str, Any]] = {
    "all": {},
    "open": {"open_only": True},
    "overdue": {"open_only": True, "lamp": "red"},
    "long_unresolved": {"long_unresolved_only": True},
    "repeat": {"repeat_only": True},
}


def sla(level: str = "city", unit_id: str | None = None) -> dict[str, int]:
    """Open requests of a unit now: counts per traffic light and escalation level."""
    _check_level(level)
    return queries.sla_summary(_con(), level, unit_id)


def ranking(
    level: str,
    period: str,
    metric: str,
    *,
    parent_id: str | None = None,
    snapshot: str | None = None,
) -> pd.DataFrame:
    """Units of ``level`` ranked on ``metric`` (minimum sample, Wilson interval, ties).

    With ``snapshot`` (an id from :func:`snapshots_of`), the ranking exactly as it was
    published, whatever has arrived since.
    """
    m = registry.metric(metric)
    _check_level(level)
    if snapshot is None:
        _check_period(period)
    if snapshot is not None:
        _, _, frozen = snapshots.load(_settings(), snapshot)
        out = frozen.loc[(frozen["level"] == level) & (frozen["metric"] == m.id)]
        if parent_id is not None:
            kids = set(units(level, parent_id=parent_id)["unit_id"])
            out = out.loc[out["unit_id"].isin(kids)]
        return out.reset_index(drop=True)
    frame = queries.unit_metrics(_con(), level, period, parent_id=parent_id)
    rules = json.loads(
        dict(_frame("SELECT key, value FROM meta").itertuples(index=False, name=None)).get(
            "sla_rules", "{}"
        )
    )
    ranked = registry.rank_units(frame, m.id, int(rules.get("rank_min_requests", 30)))
    names = frame.set_index("unit_id")[["name_zh", "name_en"]]
    return ranked.join(names, on="unit_id")


def snapshots_of(period: str | None = None) -> pd.DataFrame:
    """Published snapshots (newest first), optionally of one period."""
    rows = [vars(s) for s in snapshots.list_snapshots(_settings(), period)]
    columns = list(snapshots.SnapshotInfo.__dataclass_fields__)
    return pd.DataFrame(rows, columns=columns)


def hotspots(
    period: str = "last30",
    *,
    level: str = "city",
    unit_id: str | None = None,
    cells: bool = False,
    emerging_only: bool = False,
) -> pd.DataFrame:
    """Significant hotspot clusters (Getis-Ord Gi*, FDR-controlled) of a period.

    Only periods of at most 90 days are analysed (the months, ``last7``, ``last30``); see
    docs/metrics.md. ``level`` and ``unit_id`` keep the clusters touching one unit;
    ``cells=True`` returns the hot cells instead (with their outlines); ``emerging_only``
    the new and intensifying clusters. Columns include the routing ``<level>_id``.
    """
    _check_level(level)
    _check_period(period)
    con = _con()
    if cells:
        return signal_queries.hotspot_cells(con, period, unit_id=unit_id, level=level)
    return signal_queries.hotspot_clusters(
        con, period, unit_id=unit_id, level=level, emerging_only=emerging_only
    )


def repeat_places(
    period: str = "last30",
    *,
    level: str = "city",
    unit_id: str | None = None,
    min_requests: int = 3,
) -> pd.DataFrame:
    """Repeat-address clusters (同址重复诉求) of a period, most requests first."""
    _check_level(level)
    _check_period(period)
    return signal_queries.repeat_places(
        _con(), period, unit_id=unit_id, level=level, min_requests=min_requests
    )


def alerts(
    *,
    level: str = "city",
    unit_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    series: str | None = None,
    min_severity: int = 1,
) -> pd.DataFrame:
    """Early-warning alerts, newest first, each routed to its grid, community, street.

    ``since`` / ``until`` are ISO days; ``series`` ``"unit"`` (street × category, with the
    folded city-wide storm alerts) or ``"cell"`` (res-7 cells × category).
    """
    _check_level(level)
    if series is not None and series not in signal_queries.SERIES:
        raise ValueError(f"series must be one of {signal_queries.SERIES}, got {series!r}")
    day = dt.date.fromisoformat
    return signal_queries.alerts(
        _con(),
        since=None if since is None else day(since),
        until=None if until is None else day(until),
        unit_id=unit_id,
        level=level,
        series=series,
        min_severity=min_severity,
    )


def backlog(level: str = "city", unit_id: str | None = None, *, by: str = "cell") -> pd.DataFrame:
    """The backlog playback of a unit: requests open at each moment (the cockpit's numbers).

    Moments are the ends of days over the 12 months before the as-of time (every 6 hours
    for data spanning under 60 days); a request is open from its creation to its last close
    (to the as-of time when open now) except between a close and a reopen, and overdue
    while open past its due time (:mod:`pipelines.backlog_queries`).

    Parameters
    ----------
    level, unit_id
        The unit (the city needs no id).
    by
        ``"cell"``: rows ``moment, cell_id, open, overdue`` for every cell of the unit's
        heatmap with open requests at that moment (``cell_id`` None: requests without a
        place on the map); ``"total"``: one row per moment, ``moment, open, overdue,
        unlocated_open, unlocated_overdue``.
    """
    _check_level(level)
    if by not in ("cell", "total"):
        raise ValueError(f"by must be 'cell' or 'total', got {by!r}")
    result = backlog_queries.backlog(_con(), level, unit_id)
    if result is None:
        raise ValueError(f"no unit {unit_id!r} at level {level!r}")
    return result.long() if by == "cell" else result.totals()


def _check_kind(kind: str | None) -> None:
    if kind is None:
        return
    known = list(component_queries.kinds(_con())["kind"])
    if kind not in known:
        raise ValueError(f"unknown component kind {kind!r}; known: {known}")


def components(
    level: str = "city",
    unit_id: str | None = None,
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int = component_queries.DEFAULT_LIMIT,
) -> gpd.GeoDataFrame:
    """City components (城市部件) of a unit as they stand, as points (the component layer).

    One row per component: kind (and its names), owner, property unit, maintainer, status
    and ``status_class`` (normal, damaged, repair, disabled, unknown), ``alarming`` (an
    alarm in the last days of data), last alarm, failures of the last 30 days (linked
    complaints + alarms); alarming and abnormal ones first. ``status`` keeps one status
    class. Definitions: docs/metrics.md, City components.
    """
    _check_level(level)
    _check_kind(kind)
    if status is not None and status not in component_rules.STATUS_CLASSES:
        raise ValueError(f"status must be one of {component_rules.STATUS_CLASSES}, got {status!r}")
    frame = component_queries.points(
        _con(),
        unit_id=None if level == "city" else unit_id,
        kind=kind,
        status_class=status,
        limit=limit,
    )
    points = gpd.points_from_xy(frame["lng"], frame["lat"])
    return gpd.GeoDataFrame(frame, geometry=points, crs=CRS)


def component_health(
    level: str = "city",
    period: str = "last30",
    *,
    parent_id: str | None = None,
    unit_id: str | None = None,
    kind: str | None = None,
    by_kind: bool = False,
) -> pd.DataFrame:
    """Component health of the units of ``level`` in ``period``, most failures first.

    Per unit (per unit and kind with ``by_kind``): components, abnormal (damaged, under
    repair, disabled) and ``abnormal_share``, alarming sensors, complaints linked by
    distance, alarms, failures (the two together), failed and repeat-failing components,
    sensor work orders. ``parent_id`` keeps one unit's children; ``kind`` one kind.
    """
    _check_level(level)
    _check_period(period)
    _check_kind(kind)
    return component_queries.health(
        _con(), level, period, parent_id=parent_id, unit_id=unit_id, kind=kind, by_kind=by_kind
    )
