"""The one data-access layer of the dashboard: the only module that touches DuckDB.

It serves the published warehouse build named in ``04_warehouse/CURRENT`` (catalog names
``warehouse_current`` and ``warehouse_builds``):

* the build file is opened **read-only**, with external access switched off and the
  configuration locked, so a query can never read or write anything but the warehouse;
* every call stats ``CURRENT`` (microseconds) and reopens when the publisher swapped it, so a
  new build is served without restarting the app;
* every cache is keyed by the build, so a swap can never mix two builds in one screen, and
  lives in one memory-bounded pool (:mod:`dashboard.cache`: least recently used results go
  past its budget, and concurrent callers of a cold result wait for one computation);
* values are bound as ``$name`` parameters, never formatted into SQL; the only identifier
  chosen at run time (the trend bucket) comes from an allow-list;
* levels are data (``dim_level``): the demo's district/street/community/grid and LA's
  region/council, with alternative hierarchies, go through the same code.

The public functions below are the only way pages reach data, and they apply the scope of
the principal asking (:func:`dashboard.access.current`, from the server-side session, never
from a callback input): a unit outside it does not exist (:func:`unit` returns ``None``), and
any function given one raises :class:`~dashboard.access.OutOfScopeError`; a query naming no
unit (a city-wide result) needs a city-wide scope. Scoped users only ever see units wholly
inside their scope, whose marts are computed from those units' own requests, so no figure of
theirs mixes in records from outside. Checks run before the caches, which are shared by all
users. Results are shared between requests, so callers must treat returned frames as
read-only (builders use ``assign``, never in-place edits).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeAlias

import duckdb
import pandas as pd

from dashboard import access, cache
from dashboard.cache import memo
from dashboard.fmt import is_missing
from pipelines import (
    catalog,
    component_queries,
    db,
    metrics,
    queries,
    signal_queries,
    snapshots,
)
from pipelines.settings import Settings

log = logging.getLogger(__name__)

Level: TypeAlias = str
Bucket: TypeAlias = Literal["day", "week"]

CHILD_KPI_COLUMNS = (
    "unit_id",
    "name_zh",
    "name_en",
    "center_lng",
    "center_lat",
    "requests",
    "open",
    "overdue",
    "completion_rate",
    "satisfaction_rate",
    "worry_index",
)
#: Pseudo-unit holding requests with no location or outside every unit (one per level).
UNASSIGNED = "__unassigned__"
DEFAULT_PERIOD = "last30"
#: Periods longer than this are trended by ISO week: 365 daily points are unreadable on a wall.
WEEKLY_AFTER_DAYS = 62
#: Allow-list for the one identifier chosen at run time (the trend bucket of date_trunc).
_BUCKETS: dict[str, str] = {"day": "day", "week": "week"}
#: A build name becomes a file name, so it must not be able to walk out of the builds folder.
_BUILD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class WarehouseUnavailableError(RuntimeError):
    """The warehouse cannot answer: nothing published, a missing build, or a failed query."""


@dataclass(frozen=True)
class Unit:
    """One administrative unit (city, district, street, community or grid)."""

    unit_id: str
    level: Level
    parent_id: str | None
    name_zh: str
    name_en: str
    population: int | None
    center_lng: float
    center_lat: float
    bbox: tuple[float, float, float, float]

    def name(self, lang: str) -> str:
        """Return the unit's name in ``lang`` (Chinese unless ``"en"``)."""
        return self.name_en if lang == "en" and self.name_en else self.name_zh


@dataclass(frozen=True)
class LevelInfo:
    """One level of the build's hierarchies (the city is level ``city``, depth 0)."""

    level: str
    hierarchy: str | None
    depth: int
    parent_level: str | None
    child_level: str | None
    label_zh: str
    label_en: str
    res: int

    def label(self, lang: str) -> str:
        """Return the level's name in ``lang``."""
        return self.label_en if lang == "en" else self.label_zh


@dataclass(frozen=True)
class Period:
    """One selectable statistics period (rolling window or calendar month)."""

    period_id: str
    kind: str
    start: datetime
    end: datetime
    label_zh: str
    label_en: str
    days: float

    def label(self, lang: str) -> str:
        """Return the period's label in ``lang``."""
        return self.label_en if lang == "en" else self.label_zh

    @property
    def bucket(self) -> Bucket:
        """Trend granularity that reads well for this period's length."""
        return "week" if self.days > WEEKLY_AFTER_DAYS else "day"


@dataclass(frozen=True)
class Meta:
    """Provenance of the served build, shown in the header stamp."""

    build_id: str
    built_at_utc: str
    as_of_local: str
    source_name: str
    city_id: str
    timezone: str
    primary_hierarchy: str
    periods_computed: tuple[str, ...] = ()
    periods_copied: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Build:
    """An open, read-only published build. Equal (and hashed) by name and path only.

    Cached query functions take a ``Build`` as their first argument, which is what keys every
    cache by build.
    """

    name: str
    path: Path
    con: duckdb.DuckDBPyConnection = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Build) and (self.name, self.path) == (other.name, other.path)

    def __hash__(self) -> int:
        return hash((self.name, self.path))


class Warehouse:
    """Follows ``CURRENT`` and hands out the build being served.

    Parameters
    ----------
    settings
        Supplies ``data_dir`` (through the catalog), ``memory_limit`` and ``threads``.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current_file = catalog.path(settings, "warehouse_current")
        self.builds_dir = catalog.path(settings, "warehouse_builds")
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._build: Build | None = None

    def build(self) -> Build:
        """Return the build named in ``CURRENT``, reopening if it changed since last call.

        Raises
        ------
        WarehouseUnavailableError
            When nothing is published or the named build file is missing.
        """
        try:
            st = self.current_file.stat()
        except OSError as exc:
            raise WarehouseUnavailableError(f"no published warehouse: {exc}") from None
        # Publishing replaces CURRENT atomically (new inode), so this stat is a cheap, exact
        # change detector; reading the file on every request would be cheap too, but a stat
        # avoids racing a writer that is not atomic.
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._build is not None and stamp == self._stamp:
            return self._build
        with self._lock:
            if self._build is not None and stamp == self._stamp:
                return self._build
            name = self.current_file.read_text(encoding="utf-8").strip()
            if self._build is None or name != self._build.name:
                swapped = self._build is not None
                self._build = self._open(name)
                # Old builds drop out of every cache at once; their connection closes when the
                # last in-flight request holding it finishes.
                clear_caches()
                if swapped and _LISTENER is not None:
                    _LISTENER(self._build)
            self._stamp = stamp
            return self._build

    def _open(self, name: str) -> Build:
        if not _BUILD_NAME.match(name):
            raise WarehouseUnavailableError(f"CURRENT holds an invalid build name {name!r}")
        path = self.builds_dir / f"{name}.duckdb"
        if not path.is_file():
            raise WarehouseUnavailableError(f"CURRENT names {name!r} but {path} is missing")
        try:
            con = db.open_build(path, self.settings)
        except duckdb.Error as exc:
            raise WarehouseUnavailableError(f"cannot open build {path}: {exc}") from exc
        return Build(name=name, path=path, con=con)


_WAREHOUSE: Warehouse | None = None
#: Called with the new build when a publish swaps the served one (the warm-up).
_LISTENER: Callable[[Build], None] | None = None


def on_new_build(listener: Callable[[Build], None] | None) -> None:
    """Call ``listener(build)`` whenever a newly published build replaces the served one.

    It runs on the request that noticed the swap, under the warehouse's lock, so it must
    return at once (start a thread). One listener; ``None`` removes it.
    """
    global _LISTENER
    _LISTENER = listener


def configure(settings: Settings) -> Warehouse:
    """Point the data layer at ``settings.data_dir``; called once by ``create_app``.

    Returns
    -------
    Warehouse
        The handle now used by every query function.
    """
    global _WAREHOUSE
    _WAREHOUSE = Warehouse(settings)
    cache.configure(settings.cache_mb, settings.cache_entry_mb)
    clear_caches()
    return _WAREHOUSE


def settings() -> Settings:
    """Return the settings the data layer was configured with (``Settings()`` before)."""
    return _WAREHOUSE.settings if _WAREHOUSE is not None else Settings()


def current_build() -> Build:
    """Return the build being served.

    Raises
    ------
    WarehouseUnavailableError
        If :func:`configure` was not called or nothing is published.
    """
    if _WAREHOUSE is None:
        raise WarehouseUnavailableError("dashboard.data.configure(settings) was not called")
    return _WAREHOUSE.build()


def _query(b: Build, sql: str, params: Mapping[str, Any] | None, fetch: str) -> Any:
    # A cursor per call is DuckDB's thread-safe way to share one connection: Flask serves
    # requests on several threads.
    cur = b.con.cursor()
    try:
        result = cur.execute(sql, dict(params or {}))
        return result.df() if fetch == "df" else result.fetchall()
    except duckdb.Error as exc:
        # e.g. a build published with an older schema: a friendly screen, not a traceback.
        log.exception("warehouse query failed on build %s", b.name)
        raise WarehouseUnavailableError(f"query failed on build {b.name}: {exc}") from exc
    finally:
        cur.close()


def _shared(b: Build, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one of the shared read queries (``pipelines.queries``) on the build."""
    try:
        return query(b.con, *args, **kwargs)
    except duckdb.Error as exc:
        log.exception("warehouse query failed on build %s", b.name)
        raise WarehouseUnavailableError(f"query failed on build {b.name}: {exc}") from exc


def _frame(b: Build, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    return _query(b, sql, params, "df")


def _rows(b: Build, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    return _query(b, sql, params, "rows")


# ---------------------------------------------------------------------------------------------
# cached queries (first argument: the build, which keys the cache)


@memo
def _meta(b: Build) -> Meta:
    values = dict(_rows(b, "SELECT key, value FROM meta"))
    return Meta(
        build_id=values.get("build_id", b.name),
        built_at_utc=values.get("built_at_utc", ""),
        as_of_local=values.get("as_of_local", ""),
        source_name=values.get("source_name", ""),
        city_id=values.get("city_id", ""),
        timezone=values.get("timezone", "UTC"),
        primary_hierarchy=values.get("primary_hierarchy", "main"),
        periods_computed=tuple(json.loads(values.get("periods_computed", "[]"))),
        periods_copied=tuple(json.loads(values.get("periods_copied", "[]"))),
    )


@memo
def _levels(b: Build) -> dict[str, LevelInfo]:
    rows = _rows(
        b,
        """
        SELECT level, hierarchy, depth, parent_level, child_level, label_zh, label_en, res
        FROM dim_level ORDER BY sort_order
        """,
    )
    return {r[0]: LevelInfo(*r) for r in rows}


@memo
def _periods(b: Build) -> tuple[Period, ...]:
    rows = _rows(
        b,
        """
        SELECT period_id, kind, start_local, end_local, label_zh, label_en, period_days
        FROM dim_period
        ORDER BY sort_order, period_id
        """,
    )
    return tuple(Period(*row) for row in rows)


@memo
def _units(b: Build) -> dict[str, Unit]:
    rows = _rows(
        b,
        """
        SELECT unit_id, level, parent_id, name_zh, name_en, population,
               center_lng, center_lat, minx, miny, maxx, maxy
        FROM dim_unit
        """,
    )
    return {
        r[0]: Unit(
            unit_id=r[0],
            level=r[1],
            parent_id=r[2],
            name_zh=r[3] or r[0],
            name_en=r[4] or r[3] or r[0],
            population=r[5],
            center_lng=float(r[6]),
            center_lat=float(r[7]),
            bbox=(float(r[8]), float(r[9]), float(r[10]), float(r[11])),
        )
        for r in rows
    }


@memo
def _children_index(b: Build) -> dict[str, tuple[Unit, ...]]:
    index: dict[str, list[Unit]] = {}
    for u in _units(b).values():
        if u.parent_id is not None:
            index.setdefault(u.parent_id, []).append(u)
    return {k: tuple(sorted(v, key=lambda u: u.unit_id)) for k, v in index.items()}


@memo
def _level_metrics(b: Build, level: Level, period_id: str) -> pd.DataFrame:
    # Every unit of the level at once (the unassigned bucket too): a query for one unit
    # cost nearly as much as for all of its level (20 vs 60 ms for the demo's 4,330 grids),
    # so the next unit of the level opened in the period is a lookup. The notebook API reads
    # the same query (pipelines/queries.py): one figure, one SQL.
    frame = _shared(b, queries.unit_metrics, level, period_id, include_unassigned=True)
    return frame.set_index(frame["unit_id"].astype(str), drop=False)


@memo
def _unit_kpis(b: Build, level: Level, unit_id: str, period_id: str) -> dict[str, Any] | None:
    frame = _level_metrics(b, level, period_id)
    if unit_id not in frame.index:
        return None
    row = frame.loc[unit_id].to_dict()
    # NULL arrives as NaN/NA from pandas; callers test ``is None``.
    return {str(k): (None if is_missing(v) else v) for k, v in row.items()}


@memo
def _child_kpis(b: Build, child_level: Level, parent_id: str, period_id: str) -> pd.DataFrame:
    return _frame(
        b,
        """
        SELECT u.unit_id, u.name_zh, u.name_en, u.center_lng, u.center_lat,
               coalesce(k.requests, 0) AS requests,
               coalesce(k.open, 0) AS open,
               coalesce(k.overdue, 0) AS overdue,
               k.completion_rate, k.satisfaction_rate, k.worry_index
        FROM dim_unit AS u
        LEFT JOIN mart_unit_kpi AS k
          ON k.unit_id = u.unit_id AND k.level = u.level AND k.period_id = $period_id
        WHERE u.level = $level AND u.parent_id = $parent_id
        ORDER BY k.worry_index DESC NULLS LAST, requests DESC, u.unit_id
        """,
        {"level": child_level, "parent_id": parent_id, "period_id": period_id},
    )


@memo
def _hex_cells(
    b: Build, level: Level, unit_id: str, period_id: str, hierarchy: str
) -> pd.DataFrame:
    return _frame(
        b,
        """
        SELECT s.cell_id, s.ring, m.requests, m.open, m.overdue, m.worry_index, m.child_id
        FROM mart_hex AS m
        JOIN hex_shape AS s ON s.res = m.res AND s.cell = m.cell
        WHERE m.level = $level AND m.unit_id = $unit_id AND m.period_id = $period_id
          AND m.hierarchy = $hierarchy
        ORDER BY m.cell
        """,
        {"level": level, "unit_id": unit_id, "period_id": period_id, "hierarchy": hierarchy},
    )


@memo
def _outlines(b: Build, level: Level, parent_id: str) -> pd.DataFrame:
    return _frame(
        b,
        """
        SELECT unit_id, geojson FROM unit_shape
        WHERE level = $level AND parent_id = $parent_id
        ORDER BY unit_id
        """,
        {"level": level, "parent_id": parent_id},
    )


@memo
def _outline(b: Build, unit_id: str) -> str | None:
    rows = _rows(b, "SELECT geojson FROM unit_shape WHERE unit_id = $unit_id", {"unit_id": unit_id})
    return rows[0][0] if rows else None


@memo
def _trend(
    b: Build, level: Level, unit_id: str, start: datetime, end: datetime, bucket: Bucket
) -> pd.DataFrame:
    # The bucket is an identifier-like keyword inside date_trunc; it comes from an allow-list.
    unit = _BUCKETS[bucket]
    # Every day of the period appears (a quiet day is a 0, not a gap the line skips over), and
    # ``days`` says how many days of the period fall in each bucket, so partial first and last
    # weeks can be shown as daily averages instead of fake dips.
    return _frame(
        b,
        f"""
        WITH days AS (
            SELECT CAST(range AS DATE) AS day
            FROM range($start::TIMESTAMP, $end::TIMESTAMP, INTERVAL 1 DAY)
        ),
        daily AS (
            SELECT d.day, coalesce(m.requests, 0) AS requests, coalesce(m.closed, 0) AS closed
            FROM days AS d
            LEFT JOIN mart_unit_daily AS m
              ON m.day = d.day AND m.level = $level AND m.unit_id = $unit_id
        )
        SELECT date_trunc('{unit}', day)::DATE AS day,
               sum(requests)::BIGINT AS requests,
               sum(closed)::BIGINT AS closed,
               count(*)::INTEGER AS days
        FROM daily
        GROUP BY ALL
        ORDER BY day
        """,  # noqa: S608 - only the allow-listed bucket is formatted in
        {"level": level, "unit_id": unit_id, "start": start, "end": end},
    )


@memo
def _categories(b: Build, level: Level, unit_id: str, period_id: str, n: int) -> pd.DataFrame:
    return _frame(
        b,
        """
        SELECT l1_zh, l1_en, requests, open, rank
        FROM mart_unit_category
        WHERE level = $level AND unit_id = $unit_id AND period_id = $period_id AND rank <= $n
        ORDER BY rank
        """,
        {"level": level, "unit_id": unit_id, "period_id": period_id, "n": n},
    )


@memo
def _quality(b: Build) -> tuple[tuple[str, str, int], ...]:
    rows = _rows(b, "SELECT dataset, item, count FROM quality ORDER BY seq")
    return tuple((str(d), str(i), int(n)) for d, i, n in rows)


@memo
def _boundary_issues(b: Build, limit: int) -> pd.DataFrame:
    return _frame(
        b,
        """
        SELECT level, kind, unit_id, other_unit_id, area_m2
        FROM boundary_issues
        WHERE kind IN ('overlap', 'gap', 'outside_parent')
        QUALIFY row_number() OVER (PARTITION BY level, kind ORDER BY area_m2 DESC) <= $limit
        ORDER BY area_m2 DESC
        """,
        {"limit": limit},
    )


@memo
def _quarantine_sample(b: Build, per_reason: int) -> pd.DataFrame:
    return _frame(
        b,
        """
        SELECT dataset, reason, source_file, source_row
        FROM quarantine
        QUALIFY row_number() OVER (
            PARTITION BY dataset, reason ORDER BY source_file, source_row
        ) <= $n
        ORDER BY dataset, reason, source_file, source_row
        """,
        {"n": per_reason},
    )


@memo
def _peer_metrics(b: Build, level: Level, parent_id: str | None, period_id: str) -> pd.DataFrame:
    # its own query, not a slice of _level_metrics: a column's dtype follows the NULLs in
    # the rows read (Int64 or int64), and the rankings compute on these frames
    return _shared(b, queries.unit_metrics, level, period_id, parent_id=parent_id)


@memo
def _breakdown(b: Build, level: Level, unit_id: str, period_id: str, dim: str) -> pd.DataFrame:
    return _shared(b, queries.unit_breakdown, level, unit_id, period_id, dim)


@memo
def _sla_summary(b: Build, level: Level, unit_id: str) -> dict[str, int]:
    return _shared(b, queries.sla_summary, level, unit_id)


@memo
def _sla_requests(
    b: Build, level: Level, unit_id: str, kind: str, period_id: str | None, limit: int
) -> pd.DataFrame:
    if kind == "overdue" and period_id is None:
        # The overdue list is the red part of the open list, in the same order: when the
        # SLA map's open list is whole, it is taken from there instead of read again.
        whole = _sla_requests(b, level, unit_id, "open", None, SLA_OPEN_ROWS)
        if len(whole) < SLA_OPEN_ROWS:
            red = whole["lamp"].eq("red").fillna(False).astype(bool)
            return whole.loc[red].head(limit).reset_index(drop=True)
    filters = _SLA_LISTS[kind]
    return _shared(
        b,
        queries.requests,
        level=level,
        unit_id=unit_id,
        period_id=period_id,
        limit=limit,
        columns=SLA_COLUMNS,
        **filters,
    )


#: Open requests the SLA map draws at most (the most urgent first).
SLA_OPEN_ROWS = 5000
#: The SLA view's request lists, as filters of ``queries.requests`` (an allow-list).
_SLA_LISTS: dict[str, dict[str, Any]] = {
    "open": {"open_only": True},
    "overdue": {"open_only": True, "lamp": "red"},
    "long_unresolved": {"long_unresolved_only": True},
}
#: What the SLA view shows of a request (map dots, the overdue and long-unresolved lists):
#: reading these instead of all 40-odd columns (addresses, descriptions) makes the city's
#: 5,000 map dots about 4x cheaper to read, and keeps the cached lists small.
SLA_COLUMNS = (
    "request_id",
    "created_local",
    "l4_zh",
    "l4_en",
    "department",
    "time_limit_hours",
    "reopen_count",
    "lng",
    "lat",
    "is_open",
    "open_working_hours",
    "lamp",
    "long_open",
    "reopened_often",
    "escalation",
)


@memo
def _sla_rules(b: Build) -> dict[str, Any]:
    values = dict(_rows(b, "SELECT key, value FROM meta"))
    rules: dict[str, Any] = json.loads(values.get("sla_rules", "{}"))
    return rules


@memo
def _worry_series(b: Build, level: Level, unit_id: str, hierarchy: str) -> pd.DataFrame:
    return _frame(
        b,
        """
        SELECT m.period_id, m.cell, s.cell_id, s.ring, m.worry_index, m.requests, m.child_id
        FROM mart_hex AS m
        JOIN hex_shape AS s ON s.res = m.res AND s.cell = m.cell
        JOIN dim_period AS p ON p.period_id = m.period_id
        WHERE m.level = $level AND m.unit_id = $unit_id AND m.hierarchy = $hierarchy
          AND p.kind = 'month'
        ORDER BY p.start_local, m.cell
        """,
        {"level": level, "unit_id": unit_id, "hierarchy": hierarchy},
    )


@memo
def _worry_place(
    b: Build, level: Level, unit_id: str, period_id: str, cell: int | None
) -> dict[str, Any] | None:
    return _shared(b, queries.worry_place, level, unit_id, period_id, cell=cell)


@memo
def _worry_behind(
    b: Build, unit_id: str, period_id: str, cell: int | None, res: int | None, limit: int
) -> pd.DataFrame:
    return _shared(b, queries.worry_behind, unit_id, period_id, cell=cell, res=res, limit=limit)


@memo
def _worry_weights(b: Build) -> dict[str, float]:
    values = dict(_rows(b, "SELECT key, value FROM meta"))
    weights: dict[str, float] = json.loads(values.get("worry_config", "{}")).get("weights", {})
    return weights


@memo
def _signals_available(b: Build) -> bool:
    return bool(_shared(b, signal_queries.available))


@memo
def _alerts(b: Build, level: Level, unit_id: str, since: str | None, limit: int) -> pd.DataFrame:
    if not _signals_available(b):
        return pd.DataFrame()
    return _shared(
        b,
        signal_queries.alerts,
        since=None if since is None else datetime.fromisoformat(since).date(),
        unit_id=unit_id,
        level=level,
        series="unit",
        limit=limit,
    )


@memo
def _alerts_between(b: Build, level: Level, unit_id: str, since: str, until: str) -> pd.DataFrame:
    if not _signals_available(b):
        return pd.DataFrame()
    return _shared(
        b,
        signal_queries.alerts,
        since=datetime.fromisoformat(since).date(),
        until=datetime.fromisoformat(until).date(),
        unit_id=unit_id,
        level=level,
        city_wide=False,
    )


@memo
def _hotspot_clusters(b: Build, level: Level, unit_id: str, period_id: str) -> pd.DataFrame:
    if not _signals_available(b):
        return pd.DataFrame()
    return _shared(b, signal_queries.hotspot_clusters, period_id, unit_id=unit_id, level=level)


# ---------------------------------------------------------------------------------------------
# scope: what the principal asking may see

#: Queries that return reference data, not anyone's requests (kinds, rules, availability):
#: the only ones a scoped user may run without naming a unit of theirs.
REFERENCE_QUERIES: frozenset[Callable[..., Any]] = frozenset(
    {
        component_queries.available,
        component_queries.kinds,
        component_queries.rules,
        signal_queries.available,
    }
)
#: Keyword arguments of query functions that name a unit (``None`` there means city-wide).
_UNIT_ARGS = ("unit_id", "parent_id")


def _visible(b: Build, unit_id: str | None, principal: access.Principal) -> bool:
    if principal.everywhere:
        return True
    units = _units(b)
    seen = 0
    while unit_id is not None and seen < 64:
        if unit_id in principal.scope:
            return True
        parent = units.get(unit_id)
        unit_id = parent.parent_id if parent is not None else None
        seen += 1
    return False


def in_scope(u: Unit | str | None) -> bool:
    """Return whether the principal asking may see ``u`` (a unit or unit id)."""
    unit_id = u.unit_id if isinstance(u, Unit) else u
    return unit_id is not None and _visible(current_build(), unit_id, access.current())


def _require(u: Unit | str | None) -> None:
    """Raise :class:`~dashboard.access.OutOfScopeError` unless ``u`` is in scope.

    ``None`` stands for the whole city (a top-level list, a city-wide query).
    """
    principal = access.current()
    if principal.everywhere:
        return
    unit_id = u.unit_id if isinstance(u, Unit) else u
    if unit_id is None or not _visible(current_build(), unit_id, principal):
        raise access.OutOfScopeError("outside the principal's scope")


def _require_quality() -> None:
    """The data-quality figures describe the whole input (quarantined rows included)."""
    principal = access.current()
    if not principal.role.can_see_quality:
        raise access.OutOfScopeError(f"role {principal.role.name} may not see data quality")
    _require_city_wide()


def _require_city_wide() -> None:
    if not access.current().everywhere:
        raise access.OutOfScopeError("a city-wide result needs a city-wide scope")


def _check_query(query: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Every unit a feature query names must be in scope; naming none means city-wide."""
    if access.current().everywhere:
        return
    units = _units(current_build())
    named: list[str | None] = [kwargs[k] for k in _UNIT_ARGS if k in kwargs]
    for value in (*args, *kwargs.values()):
        if isinstance(value, str) and value in units:
            named.append(value)
        elif hasattr(value, "unit_id"):  # a Unit, an export Selection
            named.append(value.unit_id)
    if not named:
        if query in REFERENCE_QUERIES:
            return
        _require_city_wide()
    for unit_id in named:
        _require(unit_id)


def _ancestors_of_scope(b: Build, principal: access.Principal) -> frozenset[str]:
    units = _units(b)
    return frozenset(
        a.unit_id for s in principal.scope if s in units for a in _chain(b, units[s])[:-1]
    )


def _cut_to_scope(result: Any) -> Any:
    """Drop rows that reach outside the scope (alerts, hotspot cells and clusters).

    Signal rows list every unit they touch, with their ancestors, in ``unit_ids`` (a
    city-wide alert folds many streets; a cluster can straddle a boundary). A scoped user
    keeps only the rows whose units are all theirs or above them and at least one theirs,
    so no statistic that counts outside records reaches them.
    """
    principal = access.current()
    if principal.everywhere or not isinstance(result, pd.DataFrame):
        return result
    if "unit_ids" not in result.columns or result.empty:
        return result
    b = current_build()
    above = _ancestors_of_scope(b, principal)

    def inside(unit_ids: Any) -> bool:
        if unit_ids is None or (isinstance(unit_ids, float) and pd.isna(unit_ids)):
            return False
        mine = [_visible(b, str(u), principal) for u in unit_ids]
        # every unit touched is theirs or above them, and one is theirs: a row touching only
        # units above the scope (a street's alert, seen by a grid chief) counts outsiders
        return any(mine) and all(m or u in above for m, u in zip(mine, unit_ids, strict=True))

    keep = result["unit_ids"].map(inside).astype(bool)
    return result.loc[keep].reset_index(drop=True)


def home() -> Unit:
    """Return where the principal's cockpit starts: the city, or the top unit of their scope.

    Raises
    ------
    dashboard.access.OutOfScopeError
        When no unit of their scope exists in the served build.
    """
    principal = access.current()
    b = current_build()
    if principal.everywhere:
        return _city(b)
    units = _units(b)
    mine = [units[s] for s in principal.scope if s in units]
    if not mine:
        raise access.OutOfScopeError("no unit of the scope exists in this build")
    # The highest level first (fewest ancestors), then the smallest id: stable across calls.
    return min(mine, key=lambda u: (len(_chain(b, u)), u.unit_id))


def scope_units() -> tuple[Unit, ...]:
    """The top units of the principal's scope that exist in the build (the city if all)."""
    principal = access.current()
    b = current_build()
    if principal.everywhere:
        return (_city(b),)
    units = _units(b)
    mine = [units[s] for s in principal.scope if s in units]
    return tuple(sorted(mine, key=lambda u: (len(_chain(b, u)), u.unit_id)))


@memo
def _read(
    b: Build, query: Callable[..., Any], args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
) -> Any:
    return _shared(b, query, *args, **dict(kwargs))


def run(query: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """Run ``query`` like :func:`read` but uncached (large one-off results: exports).

    Returns
    -------
    tuple
        The name of the build it ran on, and the query's result.
    """
    _check_query(query, args, kwargs)
    b = current_build()
    return b.name, _cut_to_scope(_shared(b, query, *args, **kwargs))


def read(query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a shared read query on the served build, cached per build and arguments.

    ``query`` is a function of a feature's query module (``pipelines.*_queries``) taking the
    DuckDB connection first, so the notebook API and the dashboard run the same SQL; the
    arguments must be hashable. Treat a returned frame as read-only (it is shared).
    """
    _check_query(query, args, kwargs)
    return _cut_to_scope(_read(current_build(), query, args, tuple(sorted(kwargs.items()))))


def clear_caches() -> None:
    """Forget every cached result (called when the served build changes)."""
    cache.clear()


# ---------------------------------------------------------------------------------------------
# public API: what pages and callbacks call


def meta() -> Meta:
    """Return the served build's provenance (build id, as-of time, build time, city id)."""
    return _meta(current_build())


def periods() -> tuple[Period, ...]:
    """Return the selectable periods, rolling windows first, then months newest first."""
    return _periods(current_build())


def resolve_period(period_id: object) -> Period:
    """Return the period ``period_id``, or the default (``last30``) if it is unknown.

    Parameters
    ----------
    period_id
        Raw value from the query string; anything that is not a known id falls back.

    Returns
    -------
    Period
    """
    known = {p.period_id: p for p in periods()}
    if isinstance(period_id, str) and period_id in known:
        return known[period_id]
    return known.get(DEFAULT_PERIOD) or next(iter(known.values()))


def levels() -> dict[str, LevelInfo]:
    """Return the build's levels by name, the city first, then each hierarchy top down."""
    return _levels(current_build())


def level_info(level: object) -> LevelInfo | None:
    """Return the level called ``level``, or ``None`` if the build has none of that name."""
    return levels().get(level) if isinstance(level, str) else None


def hierarchies() -> tuple[LevelInfo, ...]:
    """Return the top level of each hierarchy, the primary one first (the city's drills)."""
    tops = [lv for lv in levels().values() if lv.depth == 1]
    primary = meta().primary_hierarchy
    return tuple(sorted(tops, key=lambda lv: lv.hierarchy != primary))


def resolve_hierarchy(hierarchy: object) -> str:
    """Return ``hierarchy`` if the build has it, else the primary hierarchy."""
    known = {lv.hierarchy for lv in hierarchies()}
    return (
        hierarchy if isinstance(hierarchy, str) and hierarchy in known else meta().primary_hierarchy
    )


def child_level(u: Unit, hierarchy: str | None = None) -> LevelInfo | None:
    """Return the level of ``u``'s children (for the city: in ``hierarchy``); None at a leaf."""
    if u.level == "city":
        wanted = resolve_hierarchy(hierarchy)
        return next((lv for lv in hierarchies() if lv.hierarchy == wanted), None)
    info = level_info(u.level)
    return level_info(info.child_level) if info and info.child_level else None


def _hierarchy_of(u: Unit, hierarchy: str | None) -> str:
    info = level_info(u.level)
    if u.level == "city" or info is None or info.hierarchy is None:
        return resolve_hierarchy(hierarchy)
    return info.hierarchy


def city() -> Unit:
    """Return the city unit (the root of the drill tree).

    Raises
    ------
    dashboard.access.OutOfScopeError
        For a principal whose scope is not the whole city (use :func:`home`).
    """
    b = current_build()
    _require(_city(b).unit_id)
    return _city(b)


def _city(b: Build) -> Unit:
    units = _units(b)
    city_id = _meta(b).city_id
    if city_id in units:
        return units[city_id]
    return next(u for u in units.values() if u.level == "city")


def unit(unit_id: object) -> Unit | None:
    """Return the unit with ``unit_id``, or ``None`` if there is none."""
    if not isinstance(unit_id, str):
        return None
    b = current_build()
    found = _units(b).get(unit_id)
    if found is None or not _visible(b, unit_id, access.current()):
        return None
    return found


def lineage(u: Unit) -> tuple[Unit, ...]:
    """Return the chain city → … → ``u`` (for the breadcrumb), from the top of the scope.

    A street leader's chain starts at their street: units above the scope are not theirs.
    """
    _require(u)
    b = current_build()
    principal = access.current()
    return tuple(x for x in _chain(b, u) if _visible(b, x.unit_id, principal))


def _chain(b: Build, u: Unit) -> tuple[Unit, ...]:
    units = _units(b)
    chain = [u]
    while chain[-1].parent_id is not None and chain[-1].parent_id in units:
        chain.append(units[chain[-1].parent_id])
    return tuple(reversed(chain))


def children(u: Unit, hierarchy: str | None = None) -> tuple[Unit, ...]:
    """Return the child units of ``u`` (districts of the city, …, grids of a community).

    The city has children in every hierarchy; ``hierarchy`` picks one (default: primary).
    """
    _require(u)
    kids = _children_index(current_build()).get(u.unit_id, ())
    level = child_level(u, hierarchy)
    return tuple(k for k in kids if level is not None and k.level == level.level)


def unit_kpis(u: Unit, period_id: str) -> dict[str, Any] | None:
    """Return the KPI row of ``u`` for the period (``None`` when it had no requests).

    Returns
    -------
    dict or None
        Columns of ``mart_unit_kpi``; SQL NULLs (e.g. an insufficient worry index) as ``None``.
    """
    _require(u)
    return _unit_kpis(current_build(), u.level, u.unit_id, period_id)


def child_kpis(u: Unit, period_id: str, hierarchy: str | None = None) -> pd.DataFrame:
    """Return one row per child unit of ``u`` ranked by worry index (highest first).

    Children without requests in the period are included with zero counts. The
    ``__unassigned__`` pseudo-unit is never a child here: see :func:`unassigned_requests`.

    Returns
    -------
    pandas.DataFrame
        ``unit_id, name_zh, name_en, center_lng, center_lat, requests, open, overdue,
        completion_rate, satisfaction_rate, worry_index``.
    """
    _require(u)
    level = child_level(u, hierarchy)
    if level is None:
        return pd.DataFrame(columns=list(CHILD_KPI_COLUMNS))
    return _child_kpis(current_build(), level.level, u.unit_id, period_id)


def peer_kpis(u: Unit, period_id: str) -> pd.DataFrame:
    """Return the KPI rows of ``u`` and its siblings that the principal may see.

    Columns as :func:`child_kpis`; a grid chief gets their own grid's row only.
    """
    _require(u)
    b = current_build()
    if u.parent_id is None:
        return _child_kpis(b, u.level, "", period_id).iloc[0:0]
    return _only_visible(_child_kpis(b, u.level, u.parent_id, period_id), u.parent_id)


def _only_visible(frame: pd.DataFrame, parent_id: str | None) -> pd.DataFrame:
    """Rows of units under ``parent_id``, cut to those in scope unless the parent is."""
    principal = access.current()
    b = current_build()
    if principal.everywhere or (parent_id is not None and _visible(b, parent_id, principal)):
        return frame
    keep = frame["unit_id"].map(lambda uid: _visible(b, str(uid), principal)).astype(bool)
    if not keep.any():
        raise access.OutOfScopeError("no unit of this list is in scope")
    return frame.loc[keep].reset_index(drop=True)


def unassigned_requests(period_id: str, hierarchy: str | None = None) -> int:
    """Return requests of the period no top-level unit holds (no location, outside all)."""
    _require_city_wide()
    b = current_build()
    top = child_level(city(), hierarchy)
    if top is None:
        return 0
    row = _unit_kpis(b, top.level, UNASSIGNED, period_id)
    return int(row["requests"]) if row and row.get("requests") is not None else 0


def hex_cells(u: Unit, period_id: str, hierarchy: str | None = None) -> pd.DataFrame:
    """Return the unit's H3 heatmap cells at its level's resolution, with cell rings.

    Returns
    -------
    pandas.DataFrame
        ``cell_id`` (hex string), ``ring`` (compact JSON ``[[lng, lat], ...]``),
        ``requests, open, overdue, worry_index`` (NaN = insufficient data) and ``child_id``
        (the child unit holding most of the cell's requests, in ``hierarchy`` for the city:
        the drill target).
    """
    _require(u)
    return _hex_cells(current_build(), u.level, u.unit_id, period_id, _hierarchy_of(u, hierarchy))


def child_outlines(u: Unit, hierarchy: str | None = None) -> pd.DataFrame:
    """Return GeoJSON geometry text of the child units of ``u`` (``unit_id, geojson``)."""
    _require(u)
    level = child_level(u, hierarchy)
    if level is None:
        return pd.DataFrame({"unit_id": [], "geojson": []})
    return _outlines(current_build(), level.level, u.unit_id)


def outline(u: Unit) -> str | None:
    """Return the GeoJSON geometry text of ``u`` itself."""
    _require(u)
    return _outline(current_build(), u.unit_id)


def trend(u: Unit, period: Period) -> pd.DataFrame:
    """Return requests received and closed per day (or ISO week for long periods).

    Returns
    -------
    pandas.DataFrame
        ``day`` (bucket start), ``requests``, ``closed`` and ``days`` (days of the period in
        the bucket: 1 for daily buckets, up to 7 for weeks). Quiet days count as zeros.
    """
    _require(u)
    return _trend(current_build(), u.level, u.unit_id, period.start, period.end, period.bucket)


def top_categories(u: Unit, period_id: str, n: int = 10) -> pd.DataFrame:
    """Return the unit's top ``n`` first-level request categories of the period.

    Returns
    -------
    pandas.DataFrame
        ``l1_zh, l1_en, requests, open, rank`` ordered by rank.
    """
    _require(u)
    return _categories(current_build(), u.level, u.unit_id, period_id, int(n))


def quality_counts() -> dict[str, int]:
    """Return the build's data-quality counters as ``{"dataset:item": count}``."""
    _require_quality()
    return {f"{d}:{i}": n for d, i, n in _quality(current_build())}


def quality_by_dataset() -> dict[str, dict[str, int]]:
    """Return the build's data-quality counters as ``{dataset: {item: count}}``."""
    _require_quality()
    out: dict[str, dict[str, int]] = {}
    for dataset, item, n in _quality(current_build()):
        out.setdefault(dataset, {})[item] = n
    return out


def boundary_issues(limit: int = 5) -> pd.DataFrame:
    """Return the largest overlaps and gaps of each boundary level (no geometry).

    Returns
    -------
    pandas.DataFrame
        ``level, kind, unit_id, other_unit_id, area_m2``, largest first.
    """
    _require_quality()
    return _boundary_issues(current_build(), int(limit))


def quarantine_sample(per_reason: int = 3) -> pd.DataFrame:
    """Return the first quarantined rows of each dataset and reason (where to find them).

    Returns
    -------
    pandas.DataFrame
        ``dataset, reason, source_file, source_row`` (-1: the whole file).
    """
    _require_quality()
    return _quarantine_sample(current_build(), int(per_reason))


# ---------------------------------------------------------------------------------------------
# governance metrics: rankings, SLA, departments, snapshots (issue 4)


def sla_rules() -> dict[str, Any]:
    """The city's SLA rules as built (``[sla]``: yellow threshold, long-unresolved, min n)."""
    return _sla_rules(current_build())


def min_rank_requests() -> int:
    """Units with fewer requests are listed but not ranked."""
    return int(sla_rules().get("rank_min_requests", 30))


def peer_metrics(level: Level, parent_id: str | None, period_id: str) -> pd.DataFrame:
    """Every metric of the units of ``level`` under ``parent_id`` (all when None).

    A principal who may not see ``parent_id`` gets the rows of its units they may see.
    """
    return _only_visible(_peer_metrics(current_build(), level, parent_id, period_id), parent_id)


def live_ranking(
    level: Level, parent_id: str | None, period_id: str, metric_id: str
) -> pd.DataFrame:
    """Units of ``level`` under ``parent_id`` ranked on ``metric_id`` from the live build.

    Ranked among the units the principal may see (a scoped user's ranks are among theirs).
    """
    rows = peer_metrics(level, parent_id, period_id)
    ranked = metrics.rank_units(rows, metric_id, min_rank_requests())
    return ranked.join(rows.set_index("unit_id")[["name_zh", "name_en"]], on="unit_id")


def snapshot_list(period_id: str) -> list[snapshots.SnapshotInfo]:
    """Published snapshots of ``period_id``, newest first."""
    if _WAREHOUSE is None:
        return []
    return snapshots.list_snapshots(_WAREHOUSE.settings, period_id)


def snapshot_ranking(
    snapshot_id: str, level: Level, parent_id: str | None, metric_id: str
) -> tuple[snapshots.SnapshotInfo, pd.DataFrame] | None:
    """A published ranking restricted to the units under ``parent_id``; None if unknown.

    Cut to the units the principal may see (published ranks are kept as published).
    """
    if _WAREHOUSE is None:
        return None
    try:
        info, kpi, ranking = _snapshot(_WAREHOUSE.settings.data_dir, snapshot_id)
    except snapshots.SnapshotError as exc:
        log.warning("snapshot %s unavailable: %s", snapshot_id, exc)
        return None
    rows = ranking.loc[(ranking["level"] == level) & (ranking["metric"] == metric_id)]
    if parent_id is not None:
        under = set(kpi.loc[(kpi["level"] == level) & (kpi["parent_id"] == parent_id), "unit_id"])
        rows = rows.loc[rows["unit_id"].isin(under)]
    return info, _only_visible(rows.reset_index(drop=True), parent_id)


@lru_cache(maxsize=16)  # immutable files, a few per period
def _snapshot(
    data_dir: Path, snapshot_id: str
) -> tuple[snapshots.SnapshotInfo, pd.DataFrame, pd.DataFrame]:
    # Snapshots are immutable once published, so caching by id is safe across builds.
    assert _WAREHOUSE is not None
    return snapshots.load(_WAREHOUSE.settings, snapshot_id)


def breakdown(u: Unit, period_id: str, dim: str) -> pd.DataFrame:
    """A unit's metrics by ``category`` or ``department`` (empty below the breakdown depth)."""
    _require(u)
    return _breakdown(current_build(), u.level, u.unit_id, period_id, dim)


def sla_summary(u: Unit) -> dict[str, int]:
    """Open requests of the unit now, by lamp and escalation level."""
    _require(u)
    return _sla_summary(current_build(), u.level, u.unit_id)


def sla_requests(
    u: Unit, kind: str, period_id: str | None = None, limit: int = 200
) -> pd.DataFrame:
    """The unit's ``open``, ``overdue`` or ``long_unresolved`` requests, most urgent first."""
    _require(u)
    if kind not in _SLA_LISTS:
        raise ValueError(f"kind must be one of {sorted(_SLA_LISTS)}")
    return _sla_requests(current_build(), u.level, u.unit_id, kind, period_id, limit)


def worry_series(u: Unit, hierarchy: str | None = None) -> pd.DataFrame:
    """The unit's heatmap cells in every calendar month, oldest month first.

    Columns ``period_id, cell, cell_id, ring, worry_index, requests, child_id``: what the
    worry view's time slider steps through (one row per month and cell with requests).
    """
    _require(u)
    return _worry_series(current_build(), u.level, u.unit_id, _hierarchy_of(u, hierarchy))


def worry_place(u: Unit, period_id: str, cell: int | None = None) -> dict[str, Any] | None:
    """The worry row of the unit (or of one cell of its heatmap) in a period, or ``None``."""
    _require(u)
    return _worry_place(current_build(), u.level, u.unit_id, period_id, cell)


def worry_behind(
    u: Unit, period_id: str, cell: int | None = None, res: int | None = None, limit: int = 5
) -> pd.DataFrame:
    """Top categories, addresses and city components behind the unit's (or cell's) index."""
    _require(u)
    return _worry_behind(current_build(), u.unit_id, period_id, cell, res, limit)


def worry_components(row: dict[str, Any]) -> pd.DataFrame:
    """A worry row's components with their weights, largest contribution first."""
    return queries.worry_components(row, _worry_weights(current_build()))


def recent_alerts(u: Unit, days: int = 30, limit: int = 12) -> pd.DataFrame:
    """Early-warning alerts of the unit's area still running in the last ``days`` of data.

    Unit series (streets in the demo) and the city-wide alerts folded from them, newest
    first (``pipelines.signal_queries.alerts``); empty for a build without the signal marts.
    """
    _require(u)
    as_of = datetime.fromisoformat(meta().as_of_local)
    since = (as_of - pd.Timedelta(days=days)).date().isoformat()
    return _cut_to_scope(_alerts(current_build(), u.level, u.unit_id, since, limit))


def hotspot_clusters(u: Unit, period_id: str) -> pd.DataFrame:
    """Significant hotspot clusters of ``period_id`` with a cell in the unit (may be empty).

    Only periods of at most 90 days are analysed (months, last 7 and 30 days).
    """
    _require(u)
    return _cut_to_scope(_hotspot_clusters(current_build(), u.level, u.unit_id, period_id))


def period_alerts(u: Unit, period_id: str) -> pd.DataFrame:
    """Alerts of the unit's area (street and cell series, no storms) raised in the period."""
    _require(u)
    period = resolve_period(period_id)
    last_day = (period.end - pd.Timedelta(days=1)).date().isoformat()
    return _cut_to_scope(
        _alerts_between(
            current_build(), u.level, u.unit_id, period.start.date().isoformat(), last_day
        )
    )
