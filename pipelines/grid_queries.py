"""Read-side queries of the grid chief's view: the worklist, repeat places, nearby components.

Like :mod:`pipelines.queries`, each function takes a DuckDB connection to a warehouse build
first and runs one ``queries/grid_*`` model with bound values, so the phone view (through
``dashboard.data.read``) and a notebook get the same rows. A unit filter works at any level
of any hierarchy (a grid, a community, a Los Angeles neighbourhood council): the unit is
the chief's area. The city's own id filters nothing.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import shapely

from pipelines import component_queries
from pipelines.queries import run_query

#: The most rows one call returns unless asked for more.
DEFAULT_LIMIT = 10_000
#: How far around a unit its chief looks after components (metres from its outline).
NEAR_METRES = 200.0
#: Status classes (``mart_component``) that need the chief's attention, most pressing
#: first; normal and unknown sort after them.
ABNORMAL = ("damaged", "repair", "disabled")
#: Metres per degree of latitude (and of longitude at the equator) on the WGS-84 sphere
#: approximation: plenty for "within 200 m" over a unit a few kilometres wide.
_M_PER_DEG = 111_320.0
COMPONENT_COLUMNS = (
    "component_id",
    "kind",
    "kind_zh",
    "kind_en",
    "owner",
    "maintainer",
    "status",
    "status_class",
    "lng",
    "lat",
    "alarms",
    "last_alarm",
    "open_requests",
    "inside",
    "distance_m",
    "abnormal",
)


def open_requests(
    con: duckdb.DuckDBPyConnection, unit_id: str, *, limit: int = DEFAULT_LIMIT
) -> pd.DataFrame:
    """The unit's requests open now, most urgent first (overdue, then due soon, then on time).

    Parameters
    ----------
    con
        A connection to a warehouse build.
    unit_id
        Any unit (the city's id: the whole city).
    limit
        Most rows returned; ``total`` still counts every open request.

    Returns
    -------
    pandas.DataFrame
        ``request_id, created_local, l1_zh, l1_en, l4_zh, l4_en, address, department, lamp,
        escalation, long_unresolved, due_at, lng, lat, component_id, age_hours`` (since it
        was created), ``past_due_hours`` (positive: overdue by; negative: due in) and
        ``total``.
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    return run_query(con, "grid_open_requests", {"unit_id": unit_id, "limit": limit})


def repeat_places(
    con: duckdb.DuckDBPyConnection,
    unit_id: str,
    period_id: str,
    *,
    min_requests: int = 3,
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Repeat-address clusters of ``period_id`` in the unit with their open requests.

    The places are those of :func:`pipelines.signal_queries.repeat_places` for the same
    unit (``mart_repeat_place``), in its order; this adds ``open`` (requests of the place
    still open), ``since_last_hours`` (since its latest request) and ``total``.
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    return run_query(
        con,
        "grid_repeat_places",
        {
            "period_id": period_id,
            "unit_id": unit_id,
            "min_requests": min_requests,
            "limit": limit,
        },
    )


def unit_shape(con: duckdb.DuckDBPyConnection, unit_id: str) -> shapely.Geometry | None:
    """The unit's outline as drawn (its box where the build has none); ``None`` if unknown."""
    frame = run_query(con, "grid_unit_shape", {"unit_id": unit_id})
    if frame.empty:
        return None
    row = frame.iloc[0]
    if isinstance(row["geojson"], str) and row["geojson"]:
        return shapely.from_geojson(row["geojson"])
    return shapely.box(row["minx"], row["miny"], row["maxx"], row["maxy"])


def nearby_components(
    con: duckdb.DuckDBPyConnection, unit_id: str, *, within_m: float = NEAR_METRES
) -> pd.DataFrame:
    """City components in the unit or within ``within_m`` metres of it, abnormal ones first.

    A component is inside when it is placed in the unit (its leaf lies in it, in any
    hierarchy) or its point lies in the unit's outline; otherwise its distance to the
    outline is measured in a local metric projection around the unit (an equirectangular
    one: its error is far below a metre over a few kilometres). Reads ``mart_component``;
    a build made before the component marts is read from the register (``dim_component``).

    Returns
    -------
    pandas.DataFrame
        :data:`COMPONENT_COLUMNS`: the register's ``kind`` (with ``kind_zh``,
        ``kind_en``), ``owner, maintainer, status``, its ``status_class`` (normal,
        damaged, repair, disabled, unknown), ``alarms`` (sensor alarms in the last 30 days),
        ``last_alarm``, ``open_requests`` (naming the component), ``inside``,
        ``distance_m`` (0 inside) and ``abnormal``; ordered by :data:`ABNORMAL` class, then
        alarms, then distance. Empty for an unknown unit.
    """
    if within_m < 0:
        raise ValueError("within_m must be >= 0")
    shape = unit_shape(con, unit_id)
    if shape is None:
        return pd.DataFrame(columns=list(COMPONENT_COLUMNS))
    minx, miny, maxx, maxy = shape.bounds
    lat0 = (miny + maxy) / 2
    lng0 = (minx + maxx) / 2
    kx = _M_PER_DEG * math.cos(math.radians(lat0))
    # widen the box a little more than the distance: the box is only a prefilter
    pad_lat = within_m * 1.1 / _M_PER_DEG
    pad_lng = within_m * 1.1 / kx
    model = "grid_components" if component_queries.available(con) else "grid_components_register"
    frame = run_query(
        con,
        model,
        {
            "unit_id": unit_id,
            "minx": minx - pad_lng,
            "miny": miny - pad_lat,
            "maxx": maxx + pad_lng,
            "maxy": maxy + pad_lat,
        },
    )

    def metres(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(((xy[:, 0] - lng0) * kx, (xy[:, 1] - lat0) * _M_PER_DEG))

    outline = shapely.transform(shape, metres)
    # Prepared, containment and "within distance" are fast even for a district's outline;
    # the exact distance is then measured only for the few points near the boundary.
    shapely.prepare(outline)
    lng = frame["lng"].to_numpy(dtype=float)
    lat = frame["lat"].to_numpy(dtype=float)
    placed = ~(np.isnan(lng) | np.isnan(lat))
    x = np.where(placed, (lng - lng0) * kx, 0.0)
    y = np.where(placed, (lat - lat0) * _M_PER_DEG, 0.0)
    inside = frame["in_area"].to_numpy(dtype=bool) | (placed & shapely.contains_xy(outline, x, y))
    # points are made only for the components outside (a district holds tens of thousands)
    outside = np.flatnonzero(placed & ~inside)
    points = shapely.points(np.column_stack((x[outside], y[outside])))
    close = shapely.dwithin(outline, points, within_m)
    near = np.zeros(len(frame), dtype=bool)
    near[outside[close]] = True
    distance = np.full(len(frame), np.nan)
    distance[inside] = 0.0
    distance[outside[close]] = shapely.distance(outline, points[close])
    status_rank = {s: i for i, s in enumerate(ABNORMAL)}
    out = frame.assign(
        inside=inside,
        distance_m=distance,
        abnormal=frame["status_class"].isin(ABNORMAL),
        _status=frame["status_class"].map(status_rank).fillna(len(ABNORMAL)),
    )
    out = out.loc[inside | near]
    out = out.sort_values(
        ["_status", "alarms", "distance_m", "component_id"],
        ascending=[True, False, True, True],
        kind="stable",
    )
    return out.drop(columns="_status").reset_index(drop=True)[list(COMPONENT_COLUMNS)]
