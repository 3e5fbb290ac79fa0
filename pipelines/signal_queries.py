"""Read-side queries of the signal marts: hotspots, repeat places and alerts.

The dashboard and the notebook API call these on their own read-only connection to a
warehouse build, like :mod:`pipelines.queries` (one SQL text per figure, the
``queries/signal_*`` models, every value bound). A unit filter works at any level of any
hierarchy: a row belongs to every unit in its ``unit_ids`` (the units its requests lie in
and their ancestors; for a city-wide alert, the units it folded and their ancestors), so a
street's rows are always among its district's. The city (``level="city"`` or the city's
own id) filters nothing.

Each frame keeps the mart's ``route`` (level -> responsible unit id) and adds it as one
column per level, ``<level>_id`` (the demo's ``district_id``, ``street_id``,
``community_id``, ``grid_id``), empty where the route stops (a street alert has no grid).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipelines import db
from pipelines.queries import run_query

CITY = "city"
SERIES = ("unit", "cell")
#: The most rows one call returns unless asked for more.
DEFAULT_LIMIT = 10_000
#: The signal marts (see :mod:`pipelines.signal_marts`).
TABLES = (
    "mart_alert",
    "mart_hotspot_cell",
    "mart_hotspot_cluster",
    "mart_hotspot_period",
    "mart_repeat_place",
)


def available(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the build holds the signal marts (builds made before them do not)."""
    return set(run_query(con, "signal_tables", {})["table_name"]) == set(TABLES)


def _unit(unit_id: str | None, level: str | None) -> str | None:
    return None if level == CITY else unit_id


def _with_route_columns(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> pd.DataFrame:
    """``route`` spread over one ``<level>_id`` column per level, coarse to fine."""
    cur = con.cursor()
    try:
        levels = [r[0] for r in cur.execute(db.load_sql("queries/signal_levels")).fetchall()]
    finally:
        cur.close()
    routes = [r if isinstance(r, dict) else {} for r in frame["route"]]
    for level in levels:
        frame[f"{level}_id"] = pd.Series(
            [r.get(level) for r in routes], index=frame.index, dtype="string"
        )
    return frame


def hotspot_periods(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The periods analysed for hotspots (at most 90 days each), in period order.

    One row per period: window, ``requests`` = ``located`` + ``not_located``, cells
    tested, significant and hot cells, clusters, emerging clusters, the expectation's
    scale and the overdispersion, and whether the window before it is covered by data.
    """
    return run_query(con, "signal_hotspot_periods", {})


def hotspot_cells(
    con: duckdb.DuckDBPyConnection,
    period_id: str,
    *,
    unit_id: str | None = None,
    level: str | None = None,
) -> pd.DataFrame:
    """The hot cells of ``period_id`` (``mart_hotspot_cell``), optionally in one unit.

    Each cell is significant at the false-discovery rate and part of a cluster; ``ring``
    is its outline (``[[lng, lat], ...]`` JSON text). Ordered by cluster, hottest first.
    """
    frame = run_query(
        con, "signal_hotspot_cells", {"period_id": period_id, "unit_id": _unit(unit_id, level)}
    )
    return _with_route_columns(con, frame)


def hotspot_clusters(
    con: duckdb.DuckDBPyConnection,
    period_id: str,
    *,
    unit_id: str | None = None,
    level: str | None = None,
    emerging_only: bool = False,
) -> pd.DataFrame:
    """The hotspot clusters of ``period_id`` (``mart_hotspot_cluster``), largest excess first.

    ``unit_id`` keeps the clusters with a cell in that unit; ``emerging_only`` the new and
    intensifying ones (``emerging`` is empty where the data do not reach the window before).
    """
    frame = run_query(
        con,
        "signal_hotspot_clusters",
        {
            "period_id": period_id,
            "unit_id": _unit(unit_id, level),
            "emerging_only": emerging_only,
        },
    )
    return _with_route_columns(con, frame)


def repeat_places(
    con: duckdb.DuckDBPyConnection,
    period_id: str,
    *,
    unit_id: str | None = None,
    level: str | None = None,
    min_requests: int = 3,
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Repeat-address clusters (同址重复诉求) of ``period_id``, most requests first."""
    if limit < 0:
        raise ValueError("limit must be >= 0")
    frame = run_query(
        con,
        "signal_repeat_places",
        {
            "period_id": period_id,
            "unit_id": _unit(unit_id, level),
            "min_requests": min_requests,
            "limit": limit,
        },
    )
    return _with_route_columns(con, frame)


def alerts(
    con: duckdb.DuckDBPyConnection,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    unit_id: str | None = None,
    level: str | None = None,
    series: str | None = None,
    min_severity: int = 1,
    city_wide: bool | None = None,
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Early-warning alerts (``mart_alert``), newest first.

    Parameters
    ----------
    con
        A connection to a warehouse build.
    since, until
        Alerts still running on or after ``since`` (``last_day``) and raised on or before
        ``until`` (``first_day``).
    unit_id, level
        Alerts of one unit at any level: its own and its sub-units' alerts, and the
        city-wide alerts that folded it or a sub-unit.
    series
        ``"unit"`` (unit series and the city-wide alerts folded from them) or ``"cell"``.
    min_severity
        1 关注 / watch, 2 预警 / warning, 3 严重 / severe.
    city_wide
        ``True`` only the city-wide (storm) alerts, ``False`` none of them.
    limit
        Most rows returned.
    """
    if series is not None and series not in SERIES:
        raise ValueError(f"series must be one of {SERIES}, got {series!r}")
    if limit < 0:
        raise ValueError("limit must be >= 0")
    frame = run_query(
        con,
        "signal_alerts",
        {
            "since": since,
            "until": until,
            "unit_id": _unit(unit_id, level),
            "series": series,
            "min_severity": min_severity,
            "city_wide": city_wide,
            "limit": limit,
        },
    )
    return _with_route_columns(con, frame)
