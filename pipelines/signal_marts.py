"""Signal marts: hotspots, repeat places and early-warning alerts, built into the warehouse.

The aggregate stage calls :func:`build` once, right after the request facts, on its own
connection (``int_requests``, ``int_request_place``, ``int_unit_lineage``,
``int_cell_population``, ``stg_categories``, ``levels``, ``dim_period``, the new warehouse
attached as ``wh``). The detectors are :mod:`pipelines.hotspots` and
:mod:`pipelines.early_warning`, driven the way the evaluation (:mod:`pipelines.evaluate`)
scores them; this module feeds them, folds storms and stores what they find. The SQL is the
``marts/signal_*`` models; the numbers are computed in numpy on rows read in a fixed order,
so a rebuild of the same inputs writes identical tables.

Tables (docs/metrics.md, "Hotspots" and "Early warning"):

- ``wh.mart_hotspot_period``: each period the hotspot analysis ran on (periods of at most
  90 days: the months and the last 7 and 30 days), its requests, how many were located,
  cells tested, clusters, dispersion;
- ``wh.mart_hotspot_cell``: the hot cells (res 9) of each such period, each significant at
  the false-discovery rate and part of a cluster;
- ``wh.mart_hotspot_cluster``: the clusters, with emerging status, top class, routing;
- ``wh.mart_repeat_place``: repeat-address clusters (同址重复诉求) of every period;
- ``wh.mart_alert``: early-warning episodes over the whole data span, storms folded into
  one city-wide alert per class and day.

Which requests count where (every accepted request is a row of ``int_requests``):

- **hotspots** count the *located* requests of the window: a point and a leaf unit of the
  primary hierarchy. Requests without a point, or outside every unit (out of the city, in
  a gap), cannot be placed in a cell anyone is responsible for; ``mart_hotspot_period``
  counts them (``requests = located + not_located``);
- **repeat places** need a place (an address, else a point) and an event type;
- **alert series**: unit series count the requests placed in a unit of the alert level,
  cell series the located requests; both need an event type. Cell series that never reach
  :data:`MIN_ALERT_COUNT` requests on a day cannot alert and are left out.

Every row carries ``route`` (level -> responsible unit id, coarse to fine) and
``unit_ids`` (every unit the row touches, at every level and hierarchy), which the read
functions (:mod:`pipelines.signal_queries`) filter on.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines import db, early_warning, h3index, hotspots, workcal
from pipelines.settings import Settings
from pipelines.sources.spec import SourceSpec

log = logging.getLogger(__name__)

#: Resolution of the hotspot analysis (about 0.1 km² cells; the detector's evaluated one).
HOTSPOT_RES = 9
#: Longest period analysed for hotspots: over longer windows the overdispersion grows
#: (about 4 over a year at res 9) and a hotspot of a few weeks drowns (pipelines/hotspots.py).
MAX_HOTSPOT_DAYS = 90
#: Fewest requests of a repeat-address cluster.
REPEAT_MIN_REQUESTS = 3
#: Depth of the alert series' units in the primary hierarchy (the demo's streets; a
#: shallower hierarchy uses its leaves).
ALERT_UNIT_DEPTH = 2
#: Resolution of the cell series of the early warning (about 5 km² cells).
ALERT_CELL_RES = 7
#: Fewest requests on a day for an alert (the detector's ``min_count``).
MIN_ALERT_COUNT = 5
#: Quiet days after an alert within which a new alert only extends its episode.
COOLDOWN_DAYS = 3
#: A class alerting on one day in at least this many series of a kind, and at least
#: :data:`FOLD_MIN_SHARE` of them, is a storm: its alerts that day become one city-wide
#: alert. On the 1 M demo, storm days alert in 55 to 67 of 74 streets at once and no other
#: class and day in more than 3.
FOLD_MIN_SERIES = 5
FOLD_MIN_SHARE = 0.1
#: Days without any request in the city that split the data into separately analysed runs.
MAX_GAP_DAYS = 7
#: Key of the cell series that sums a class's sparse cells (model marts/signal_alert_daily_cell).
REST = "rest"

TABLES = (
    "mart_hotspot_period",
    "mart_hotspot_cell",
    "mart_hotspot_cluster",
    "mart_repeat_place",
    "mart_alert",
)


def build(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, settings: Settings, as_of: dt.datetime
) -> dict[str, Any]:
    """Write the signal marts into ``wh``; returns row counts and seconds per part."""
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    primary = spec.primary_hierarchy
    leaf = spec.leaf(primary)
    alert_level = next(
        lvl.name
        for lvl in spec.hierarchies[primary]
        if lvl.depth == min(ALERT_UNIT_DEPTH, leaf.depth)
    )
    residents = _residents(con)
    res = min(HOTSPOT_RES, settings.point_res, *residents["res"])
    db.run_model(
        con,
        "marts/signal_requests",
        {"primary_hierarchy": primary, "hotspot_res": res, "alert_cell_res": ALERT_CELL_RES},
        materialize="signal_requests",
    )
    db.run_model(
        con, "marts/signal_place", {"primary_hierarchy": primary}, materialize="signal_place"
    )
    db.run_model(con, "marts/signal_classes", materialize="signal_classes")
    lineage = con.table("int_unit_lineage").df()
    seconds["requests"] = time.perf_counter() - started

    t = time.perf_counter()
    _hotspots(con, residents, res=res, as_of=as_of, primary=primary, lineage=lineage)
    seconds["hotspots"] = time.perf_counter() - t
    t = time.perf_counter()
    _repeat_places(con, spec, primary=primary, as_of=as_of, lineage=lineage)
    seconds["repeat_places"] = time.perf_counter() - t
    t = time.perf_counter()
    _alerts(con, spec, alert_level=alert_level, lineage=lineage)
    seconds["alerts"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    rows = {name: con.table(f"wh.{name}").aggregate("count(*)").fetchall()[0][0] for name in TABLES}
    log.info(
        "signal marts %s in %s s",
        rows,
        {k: round(v, 2) for k, v in seconds.items()},
    )
    return {"rows": rows, "seconds": {k: round(v, 2) for k, v in seconds.items()}}


# --- hotspots ------------------------------------------------------------------------------


def _residents(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Residents per cell of the finest heatmap resolution and that resolution."""
    db.run_model(con, "marts/signal_hotspot_residents", materialize="signal_residents")
    got = con.table("signal_residents").fetchnumpy()
    cells = np.asarray(got["cell"], dtype=np.int64)
    return {
        "cell": cells,
        "population": np.asarray(got["population"], dtype=np.float64),
        "res": [int(r) for r in np.unique(h3index.cell_resolution(cells))[:1]],
    }


def _study_area(
    residents: dict[str, Any], located: np.ndarray, res: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every cell at ``res`` with residents or located requests, and its residents."""
    parents = h3index.cells_to_parent(residents["cell"], res)
    people = pd.Series(residents["population"]).groupby(parents).sum()
    cells = np.union1d(people.index.to_numpy(dtype=np.int64), np.unique(located))
    return cells, people.reindex(cells, fill_value=0.0).to_numpy(dtype=np.float64)


def hotspot_windows(
    periods: pd.DataFrame, as_of: dt.datetime, first_day: dt.datetime
) -> pd.DataFrame:
    """The periods of at most :data:`MAX_HOTSPOT_DAYS` days with their windows.

    A window ends at the period's end or the as-of time, whichever comes first; the
    previous window is the same length right before it, and ``previous_covered`` says
    whether the data reach back that far (else emerging cannot be told).
    """
    keep = periods.loc[(periods["period_days"] > 0) & (periods["period_days"] <= MAX_HOTSPOT_DAYS)]
    keep = keep.sort_values(["sort_order", "period_id"]).reset_index(drop=True)
    start = pd.to_datetime(keep["start_local"])
    end = pd.to_datetime(keep["end_local"])
    end = end.where(end <= pd.Timestamp(as_of), pd.Timestamp(as_of))
    previous = start - (end - start)
    return pd.DataFrame(
        {
            "period_id": keep["period_id"].astype("string"),
            "start_local": start,
            "end_local": end,
            "previous_start_local": previous,
            "previous_covered": previous >= pd.Timestamp(first_day),
        }
    )


def _hotspots(
    con: duckdb.DuckDBPyConnection,
    residents: dict[str, Any],
    *,
    res: int,
    as_of: dt.datetime,
    primary: str,
    lineage: pd.DataFrame,
) -> None:
    """Gi* hot cells and clusters of every period of at most 90 days, emerging status."""
    db.run_model(con, "marts/signal_hotspot_requests", materialize="signal_hotspot_requests")
    got = con.table("signal_hotspot_requests").fetchnumpy()
    stamp = np.asarray(got["created_local"], dtype="datetime64[us]")
    order = np.argsort(stamp, kind="stable")
    stamp = stamp[order]
    cell_of = np.asarray(got["cell"], dtype=np.int64)[order]
    is_located = cell_of != 0
    times, located = stamp[is_located], cell_of[is_located]
    first_day = pd.Timestamp(stamp[0]).normalize() if len(stamp) else pd.Timestamp(as_of)
    windows = hotspot_windows(con.table("dim_period").df(), as_of, first_day)
    cells, expected = _study_area(residents, located, res)
    where = np.searchsorted(cells, located)
    can_test = len(cells) > 0 and expected.sum() > 0
    if not can_test:
        log.warning("no residents in the study area: hotspots are not computed")

    def count(values: np.ndarray, t0: pd.Timestamp, t1: pd.Timestamp) -> tuple[int, int]:
        lo, hi = np.searchsorted(values, [np.datetime64(t0, "us"), np.datetime64(t1, "us")])
        return int(lo), int(hi)

    cache: dict[tuple[pd.Timestamp, pd.Timestamp], pd.DataFrame] = {}

    def gi(t0: pd.Timestamp, t1: pd.Timestamp) -> pd.DataFrame:
        if (t0, t1) not in cache:
            lo, hi = count(times, t0, t1)
            observed = np.bincount(where[lo:hi], minlength=len(cells)).astype(np.float64)
            cache[t0, t1] = hotspots.gi_star(cells, observed, expected)
        return cache[t0, t1]

    cell_parts: list[pd.DataFrame] = []
    cluster_parts: list[pd.DataFrame] = []
    item_cells: list[pd.DataFrame] = []
    period_rows: list[dict[str, Any]] = []
    item = 0
    for w in windows.to_dict("records"):
        t0, t1 = pd.Timestamp(w["start_local"]), pd.Timestamp(w["end_local"])
        covered = bool(w["previous_covered"])
        lo, hi = count(stamp, t0, t1)
        lo_located, hi_located = count(times, t0, t1)
        summary: dict[str, Any] = {
            "period_id": w["period_id"],
            "start_local": t0,
            "end_local": t1,
            "previous_start_local": w["previous_start_local"],
            "previous_covered": covered,
            "res": res,
            "requests": hi - lo,
            "located": hi_located - lo_located,
            "not_located": (hi - lo) - (hi_located - lo_located),
            "cells": len(cells),
            "significant_cells": 0,
            "hot_cells": 0,
            "clusters": 0,
            "emerging_clusters": 0,
            "scale": np.nan,
            "dispersion": np.nan,
            "alpha": np.nan,
        }
        period_rows.append(summary)
        if not can_test:
            continue
        now = gi(t0, t1)
        # without data before the window there is nothing to emerge from: status unknown
        before = gi(pd.Timestamp(w["previous_start_local"]), t0) if covered else now
        found = hotspots.emerging(now, before)
        summary.update(
            significant_cells=int(now["significant"].sum()),
            clusters=len(found),
            scale=now.attrs["scale"],
            dispersion=now.attrs["dispersion"],
            alpha=now.attrs["alpha"],
        )
        if found.empty:
            continue
        if not covered:
            found["status"] = None
            found["emerging"] = None
            found["previous_significant_cells"] = None
            found["previous_rate_ratio"] = np.nan
        summary["emerging_clusters"] = int(found["emerging"].eq(True).sum())
        found["period_id"] = w["period_id"]
        found["item"] = np.arange(item, item + len(found))
        item += len(found)
        members = found[["item", "cluster_id", "cells"]].explode("cells")
        member_cells = members["cells"].to_numpy(dtype=np.int64)
        hot = now.iloc[np.searchsorted(cells, member_cells)].reset_index(drop=True)
        cell_items = np.arange(item, item + len(members))
        item += len(members)
        part = hot[list(_GI_COLUMNS)].assign(
            period_id=w["period_id"],
            cluster_id=members["cluster_id"].to_numpy(dtype=np.int64),
            item=cell_items,
            cluster_item=members["item"].to_numpy(dtype=np.int64),
        )
        summary["hot_cells"] = len(part)
        cell_parts.append(part)
        cluster_parts.append(found)
        for ids in (members["item"].to_numpy(dtype=np.int64), cell_items):
            item_cells.append(pd.DataFrame({"item": ids, "cell": member_cells, "t0": t0, "t1": t1}))

    _materialize(con, "signal_hotspot_period_frame", _typed(_PERIOD_SCHEMA, period_rows))
    _materialize(con, "signal_hotspot_cell_frame", _cell_frame(cell_parts, res))
    _materialize(con, "signal_hotspot_cluster_frame", _cluster_frame(cluster_parts))
    _materialize(con, "signal_item_cells_frame", _typed(_ITEM_CELL_SCHEMA, item_cells))
    db.run_model(con, "marts/signal_cluster_requests", materialize="signal_item_requests")
    _route_items(con, lineage, primary)
    params = {"primary_hierarchy": primary}
    db.run_model(con, "marts/signal_hotspot_period", materialize="wh.mart_hotspot_period")
    db.run_model(con, "marts/signal_hotspot_cell", params, materialize="wh.mart_hotspot_cell")
    db.run_model(con, "marts/signal_hotspot_cluster", params, materialize="wh.mart_hotspot_cluster")


#: Columns of gi_star's result kept for each hot cell (every hot cell is significant).
_GI_COLUMNS = tuple(c for c in hotspots.GI_COLUMNS if c != "significant")

_ITEM_CELL_SCHEMA = {
    "item": "int64",
    "cell": "int64",
    "t0": "datetime64[us]",
    "t1": "datetime64[us]",
}

_PERIOD_SCHEMA = {
    "period_id": "string",
    "start_local": "datetime64[us]",
    "end_local": "datetime64[us]",
    "previous_start_local": "datetime64[us]",
    "previous_covered": "bool",
    "res": "int32",
    "requests": "int64",
    "located": "int64",
    "not_located": "int64",
    "cells": "int64",
    "significant_cells": "int64",
    "hot_cells": "int64",
    "clusters": "int64",
    "emerging_clusters": "int64",
    "scale": "float64",
    "dispersion": "float64",
    "alpha": "float64",
}

_CELL_SCHEMA = {
    "period_id": "string",
    "cell": "int64",
    "cell_id": "string",
    "res": "int32",
    "requests": "int64",
    "expected": "float64",
    "excess": "float64",
    "disk_requests": "int64",
    "disk_expected": "float64",
    "z": "float64",
    "p": "float64",
    "q": "float64",
    "core": "bool",
    "cluster_id": "int64",
    "lng": "float64",
    "lat": "float64",
    "ring": "string",
    "item": "int64",
    "cluster_item": "int64",
}

_CLUSTER_SCHEMA = {
    "period_id": "string",
    "cluster_id": "int64",
    "size": "int64",
    "requests": "int64",
    "expected": "float64",
    "excess": "float64",
    "rate_ratio": "float64",
    "peak_z": "float64",
    "peak_cell": "int64",
    "lng": "float64",
    "lat": "float64",
    "status": "string",
    "emerging": "boolean",
    "previous_significant_cells": "Int64",
    "previous_rate_ratio": "float64",
    "item": "int64",
}


def _cell_frame(parts: list[pd.DataFrame], res: int) -> pd.DataFrame:
    if not parts:
        return _typed(_CELL_SCHEMA, None)
    frame = pd.concat(parts, ignore_index=True)
    cells = frame["cell"].to_numpy(dtype=np.int64)
    lng, lat = h3index.cell_centers(cells)
    frame = frame.assign(
        cell_id=h3index.cells_to_str(cells),
        res=res,
        requests=np.rint(frame["observed"]).astype(np.int64),
        disk_requests=np.rint(frame["disk_observed"]).astype(np.int64),
        lng=lng,
        lat=lat,
        ring=h3index.cells_to_boundary_json(cells),
    )
    return _typed(_CELL_SCHEMA, frame)


def _cluster_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return _typed(_CLUSTER_SCHEMA, None)
    frame = pd.concat(parts, ignore_index=True)
    frame["requests"] = np.rint(frame["requests"].to_numpy(dtype=np.float64)).astype(np.int64)
    return _typed(_CLUSTER_SCHEMA, frame)


# --- repeat places -------------------------------------------------------------------------


def _repeat_places(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    *,
    primary: str,
    as_of: dt.datetime,
    lineage: pd.DataFrame,
) -> None:
    """Repeat-address clusters of every period (the rule of the repeat metric)."""
    db.run_model(
        con,
        "marts/signal_repeat_requests",
        {"min_requests": REPEAT_MIN_REQUESTS},
        materialize="signal_repeat_requests",
    )
    requests = con.table("signal_repeat_requests").df()
    times = requests["created_local"].to_numpy(dtype="datetime64[us]")
    periods = con.table("dim_period").df().sort_values(["sort_order", "period_id"])
    parts: list[pd.DataFrame] = []
    members: list[pd.DataFrame] = []
    item = 0
    for p in periods.itertuples(index=False):
        end = min(pd.Timestamp(p.end_local), pd.Timestamp(as_of))
        lo, hi = np.searchsorted(
            times, [np.datetime64(pd.Timestamp(p.start_local), "us"), np.datetime64(end, "us")]
        )
        if hi <= lo:
            continue
        found = hotspots.repeat_address_clusters(
            requests.iloc[lo:hi],
            window_days=spec.sla.repeat_window_days,
            min_requests=REPEAT_MIN_REQUESTS,
        )
        if found.empty:
            continue
        found["period_id"] = p.period_id
        found["place_rank"] = np.arange(1, len(found) + 1)
        found["item"] = np.arange(item, item + len(found))
        item += len(found)
        ids = found[["item", "request_ids"]].explode("request_ids")
        members.append(pd.DataFrame({"item": ids["item"], "request_id": ids["request_ids"]}))
        parts.append(found.drop(columns="request_ids"))
    schema = {
        "period_id": "string",
        "place_rank": "int64",
        "place_key": "string",
        "event_type": "string",
        "requests": "int64",
        "first_at": "datetime64[us]",
        "last_at": "datetime64[us]",
        "span_days": "float64",
        "address": "string",
        "lng": "float64",
        "lat": "float64",
        "item": "int64",
    }
    _materialize(con, "signal_repeat_frame", _typed(schema, parts))
    _materialize(
        con, "signal_item_requests", _typed({"item": "int64", "request_id": "string"}, members)
    )
    _route_items(con, lineage, primary)
    db.run_model(
        con,
        "marts/signal_repeat_place",
        {"primary_hierarchy": primary},
        materialize="wh.mart_repeat_place",
    )


# --- early warning -------------------------------------------------------------------------


def _alerts(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, *, alert_level: str, lineage: pd.DataFrame
) -> None:
    """Alert episodes of unit and cell series, storms folded, routed."""
    primary = spec.primary_hierarchy
    calendar = workcal.calendar_for(spec.timezone, spec.country)
    db.run_model(
        con,
        "marts/signal_alert_daily_unit",
        {"primary_hierarchy": primary, "alert_level": alert_level},
        materialize="signal_alert_daily_unit",
    )
    db.run_model(
        con,
        "marts/signal_alert_daily_cell",
        {"min_count": MIN_ALERT_COUNT},
        materialize="signal_alert_daily_cell",
    )
    # numpy, not pandas: 700 k rows of text cost more as a frame than the detector's sums
    unit_daily = con.table("signal_alert_daily_unit").fetchnumpy()
    cell_daily = con.table("signal_alert_daily_cell").fetchnumpy()
    unit_daily["key"] = unit_daily.pop("unit_id")
    cell = np.asarray(cell_daily.pop("cell"), dtype=np.int64)
    cell_daily["key"] = np.where(
        cell == 0, REST, np.asarray(h3index.cells_to_str(cell), dtype=object)
    )
    parts = [
        alert_episodes(
            _within(unit_daily, t0, t1),
            _within(cell_daily, t0, t1),
            calendar=calendar,
            city_id=spec.city_id,
        )
        for t0, t1 in data_spans(unit_daily["day"])
    ]
    episodes = pd.concat([e for e, _ in parts], ignore_index=True) if parts else pd.DataFrame()
    folded = pd.concat([f for _, f in parts], ignore_index=True) if parts else pd.DataFrame()
    frame, folded_units, cell_items = _alert_frame(episodes, folded, alert_level)
    _materialize(con, "signal_alert_frame", frame)
    _materialize(con, "signal_alert_folded", folded_units)
    _materialize(con, "signal_alert_cell_frame", cell_items)
    db.run_model(con, "marts/signal_alert_cell_requests", materialize="signal_item_requests")
    units = frame.loc[frame["series"].eq("unit") & ~frame["city_wide"], ["item", "unit_id"]]
    extra = pd.concat(
        [
            units.assign(own=True),
            folded_units.assign(own=False),
        ],
        ignore_index=True,
    )
    _route_items(con, lineage, primary, extra=extra)
    db.run_model(
        con,
        "marts/signal_alert",
        {"primary_hierarchy": primary, "leaf_level": spec.leaf(primary).name},
        materialize="wh.mart_alert",
    )


def data_spans(
    days: npt.ArrayLike, max_gap_days: int = MAX_GAP_DAYS
) -> list[tuple[np.datetime64, np.datetime64]]:
    """Runs of days the data cover: ``(first, last)`` days, split at longer silences.

    A day without a single request in the whole city is no data, not zero requests: a
    source delivered as separate extracts (LA's four) has months between them. The
    detector fills the days between a series' first and last day with zeros, so each run
    is analysed on its own (its first days are its warm-up).
    """
    seen = np.unique(np.asarray(days, dtype="datetime64[D]"))
    if len(seen) == 0:
        return []
    breaks = np.flatnonzero(np.diff(seen) > np.timedelta64(max_gap_days, "D"))
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(seen) - 1]])
    return [(seen[a], seen[b]) for a, b in zip(starts, ends, strict=True)]


def _within(daily: Mapping[str, Any], t0: np.datetime64, t1: np.datetime64) -> dict[str, Any]:
    day = np.asarray(daily["day"], dtype="datetime64[D]")
    keep = (day >= t0) & (day <= t1)
    return {k: np.asarray(v)[keep] for k, v in daily.items()}


def alert_episodes(
    unit_daily: pd.DataFrame | Mapping[str, Any],
    cell_daily: pd.DataFrame | Mapping[str, Any],
    *,
    calendar: workcal.WorkCalendar,
    city_id: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Alert episodes of unit and cell series, storms folded into city-wide alerts.

    Both inputs have ``key``, ``category``, ``day`` and ``count`` (a cell series keyed
    :data:`REST` feeds the pooled factors and never alerts). Alert days
    (:func:`detect_series`) of storms (:func:`fold_storms`) become one city-wide day per
    class (:func:`city_wide_days`, series ``city``, key ``city_id``); then every series'
    days are merged into episodes (:func:`pipelines.early_warning.deduplicate`, keys
    ``series``, ``key``, ``category``, cool-down :data:`COOLDOWN_DAYS`).

    Returns
    -------
    tuple of pandas.DataFrame
        The episodes, and the alert days folded into storms (``series``, ``key``,
        ``category``, ``day``, ...).
    """
    unit_alerts, unit_totals = detect_series(unit_daily, calendar)
    cell_alerts, _ = detect_series(cell_daily, calendar)
    cell_alerts = cell_alerts.loc[cell_alerts["key"] != REST]
    day_alerts = pd.concat(
        [unit_alerts.assign(series="unit"), cell_alerts.assign(series="cell")], ignore_index=True
    )
    cell_keys = pd.unique(np.asarray(cell_daily["key"], dtype=object))
    kept, folded = fold_storms(
        day_alerts,
        series_counts={
            "unit": len(pd.unique(np.asarray(unit_daily["key"], dtype=object))),
            "cell": int((cell_keys != REST).sum()),
        },
    )
    city = city_wide_days(folded, unit_totals, city_id=city_id)
    episodes = early_warning.deduplicate(
        pd.concat([kept, city], ignore_index=True),
        keys=["series", "key", "category"],
        cooldown_days=COOLDOWN_DAYS,
    )
    return episodes, folded


_ALERT_DAY_SCHEMA = {
    "key": "object",
    "category": "object",
    "day": "datetime64[us]",
    "count": "int64",
    "expected": "float64",
    "ratio": "float64",
    "p_value": "float64",
    "severity": "int8",
}
_TOTAL_SCHEMA = {
    "category": "object",
    "day": "datetime64[us]",
    "count": "int64",
    "expected": "float64",
}


def detect_series(
    daily: pd.DataFrame | Mapping[str, Any], calendar: workcal.WorkCalendar
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Alert days of daily series, and the class totals per day.

    ``daily`` (a frame or a mapping of arrays) has ``key``, ``category``, ``day`` and
    ``count``.
    :func:`pipelines.early_warning.baseline` pooled by category, then ``detect`` with the
    defaults the evaluation scores (``min_count`` :data:`MIN_ALERT_COUNT`). Keys are coded
    as integers for the detector (its string factorisation costs more than its arithmetic)
    and decoded after.

    Returns
    -------
    tuple of pandas.DataFrame
        The alert days (``key``, ``category``, ``day``, ``count``, ``expected``, ``ratio``,
        ``p_value``, ``severity``) and, per ``category`` and ``day``, the ``count`` over all
        series and the sum of their forecasts (``expected``, without the same-day factor).
    """
    columns = ["key", "category", "day", "count", "expected", "ratio", "p_value", "severity"]
    if len(daily["count"]) == 0:
        return _typed(_ALERT_DAY_SCHEMA, None), _typed(_TOTAL_SCHEMA, None)
    key_code, key_names = pd.factorize(np.asarray(daily["key"], dtype=object), sort=True)
    cat_code, cat_names = pd.factorize(np.asarray(daily["category"], dtype=object), sort=True)
    coded = pd.DataFrame(
        {
            "key": key_code,
            "category": cat_code,
            "day": np.asarray(daily["day"], dtype="datetime64[us]"),
            "count": np.asarray(daily["count"], dtype=np.int64),
        }
    )
    keys = ["key", "category"]
    base = early_warning.baseline(coded, calendar=calendar, keys=keys, pool_by="category")
    alerts = early_warning.detect(base, keys=keys, min_count=MIN_ALERT_COUNT)
    totals = base.groupby(["category", "day"], sort=True)[["count", "expected"]].sum()
    totals = totals.reset_index()
    alerts["key"] = np.asarray(key_names, dtype=object)[alerts["key"].to_numpy()]
    for frame in (alerts, totals):
        frame["category"] = np.asarray(cat_names, dtype=object)[frame["category"].to_numpy()]
    return alerts[columns], totals


def fold_storms(
    alerts: pd.DataFrame,
    *,
    series_counts: dict[str, int],
    min_series: int = FOLD_MIN_SERIES,
    min_share: float = FOLD_MIN_SHARE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split alert days into those kept and those folded into city-wide storm alerts.

    A class and day is a storm when, for some kind of series (``series``: ``unit`` or
    ``cell``), at least ``min_series`` and at least ``min_share`` of that kind's series
    (``series_counts``) alert on it. Every alert of a storm's class and day, of either
    kind, is folded.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(kept, folded)``: the rows of ``alerts`` outside and inside storms.
    """
    if alerts.empty:
        return alerts.copy(), alerts.copy()
    need = {k: max(min_series, math.ceil(min_share * n)) for k, n in series_counts.items()}
    per = alerts.groupby(["series", "category", "day"], sort=True)["key"].nunique().reset_index()
    per = per.loc[per["key"] >= per["series"].map(need).fillna(np.inf)]
    storms = per[["category", "day"]].drop_duplicates()
    marked = alerts.merge(storms.assign(_storm=True), on=["category", "day"], how="left")
    storm = marked["_storm"].eq(True).to_numpy()
    return alerts.loc[~storm].reset_index(drop=True), alerts.loc[storm].reset_index(drop=True)


def city_wide_days(folded: pd.DataFrame, totals: pd.DataFrame, *, city_id: str) -> pd.DataFrame:
    """One city-wide alert day per storm class and day (series ``city``).

    ``count`` and ``expected`` are the class's requests that day over all unit series and
    the sum of their forecasts (``totals`` of :func:`detect_series`); ``p_value`` the
    smallest and ``severity`` the highest of the alerts folded.
    """
    columns = ["series", "key", "category", "day", "count", "expected", "ratio"]
    if folded.empty:
        return _typed({"series": "object", **_ALERT_DAY_SCHEMA}, None)[
            [*columns, "p_value", "severity"]
        ]
    storms = folded.groupby(["category", "day"], sort=True).agg(
        p_value=("p_value", "min"), severity=("severity", "max")
    )
    out = storms.join(totals.set_index(["category", "day"]), how="left").reset_index()
    out["count"] = out["count"].fillna(0).astype(np.int64)
    out["expected"] = out["expected"].fillna(0.0)
    out["ratio"] = out["count"] / out["expected"].clip(lower=1e-9)
    out["series"] = "city"
    out["key"] = city_id
    return out[[*columns, "p_value", "severity"]]


def _alert_frame(
    episodes: pd.DataFrame, folded: pd.DataFrame, alert_level: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The mart's rows (before names and routes), folded units, and cell alerts' cells."""
    schema = {
        "item": "int64",
        "alert_id": "string",
        "series": "string",
        "city_wide": "bool",
        "unit_id": "string",
        "unit_level": "string",
        "cell": "Int64",
        "cell_id": "string",
        "category": "string",
        "first_day": "datetime64[us]",
        "last_day": "datetime64[us]",
        "alert_days": "int64",
        "peak_day": "datetime64[us]",
        "observed": "int64",
        "expected": "float64",
        "ratio": "float64",
        "p_value": "float64",
        "severity": "int32",
        "first_severity": "int32",
        "escalated": "datetime64[us]",
        "requests": "int64",
        "excess": "float64",
        "units_folded": "int64",
        "cells_folded": "int64",
        "lng": "float64",
        "lat": "float64",
    }
    folded_schema = {"item": "int64", "unit_id": "string"}
    cell_schema = {
        "item": "int64",
        "cell": "int64",
        "category": "string",
        "first_day": "datetime64[us]",
        "last_day": "datetime64[us]",
    }
    if episodes.empty:
        return _typed(schema, None), _typed(folded_schema, None), _typed(cell_schema, None)
    ep = episodes.sort_values(["start", "series", "key", "category"], ignore_index=True)
    ep["item"] = np.arange(len(ep))
    ep["first_day"] = pd.to_datetime(ep["start"])
    ep["last_day"] = pd.to_datetime(ep["end"])
    is_cell = ep["series"].eq("cell").to_numpy()
    is_city = ep["series"].eq("city").to_numpy()
    cell = np.zeros(len(ep), dtype=np.int64)
    if is_cell.any():
        cell[is_cell] = [h3index.str_to_cell(k) for k in ep.loc[is_cell, "key"]]
    lng = np.full(len(ep), np.nan)
    lat = np.full(len(ep), np.nan)
    if is_cell.any():
        lng[is_cell], lat[is_cell] = h3index.cell_centers(cell[is_cell])
    # folded series of each city-wide episode: those of its class on its alert days
    fold = folded.assign(day=pd.to_datetime(folded["day"])).merge(
        ep.loc[is_city, ["item", "category", "first_day", "last_day"]], on="category"
    )
    fold = fold.loc[(fold["day"] >= fold["first_day"]) & (fold["day"] <= fold["last_day"])]
    units = fold.loc[fold["series"].eq("unit"), ["item", "key"]].drop_duplicates()
    cells_folded = fold.loc[fold["series"].eq("cell")].groupby("item")["key"].nunique()
    prefix = ep["series"]
    frame = pd.DataFrame(
        {
            "item": ep["item"],
            "alert_id": prefix
            + ":"
            + ep["key"].astype(str)
            + ":"
            + ep["category"].astype(str)
            + ":"
            + ep["first_day"].dt.strftime("%Y-%m-%d"),
            "series": np.where(is_cell, "cell", "unit"),
            "city_wide": is_city,
            "unit_id": ep["key"].astype("string").where(~is_cell),
            "unit_level": pd.Series(np.where(is_city, "city", alert_level), dtype="string").where(
                ~is_cell
            ),
            "cell": pd.Series(cell, dtype="Int64").where(is_cell),
            "cell_id": ep["key"].astype("string").where(is_cell),
            "category": ep["category"],
            "first_day": ep["first_day"],
            "last_day": ep["last_day"],
            "alert_days": ep["alert_days"],
            "peak_day": pd.to_datetime(ep["peak_day"]),
            "observed": ep["peak_count"],
            "expected": ep["peak_expected"],
            "ratio": ep["peak_count"] / ep["peak_expected"].astype(float).clip(lower=1e-9),
            "p_value": ep["min_p"],
            "severity": ep["severity"],
            "first_severity": ep["first_severity"],
            "escalated": pd.to_datetime(ep["escalated"]),
            "requests": ep["requests"],
            "excess": ep["excess"],
            "units_folded": ep["item"].map(units.groupby("item").size()).fillna(0),
            "cells_folded": ep["item"].map(cells_folded).fillna(0),
            "lng": lng,
            "lat": lat,
        }
    )
    cells = frame.loc[is_cell, ["item", "cell", "category", "first_day", "last_day"]]
    return (
        _typed(schema, frame),
        _typed(folded_schema, units.rename(columns={"key": "unit_id"})),
        _typed(cell_schema, cells.astype({"cell": "int64"})),
    )


# --- shared --------------------------------------------------------------------------------


def _route_items(
    con: duckdb.DuckDBPyConnection,
    lineage: pd.DataFrame,
    primary: str,
    *,
    extra: pd.DataFrame | None = None,
) -> None:
    """``signal_item_leaf`` and ``signal_route`` of the items in ``signal_item_requests``.

    Each item is routed (:func:`pipelines.early_warning.route`) to the leaf holding most
    of its requests in every hierarchy and that leaf's ancestors; the other leaves it
    touches add to ``unit_ids`` only. ``extra`` rows (``item``, ``unit_id``, ``own``) route
    items to units directly (unit alerts, and the units a city-wide alert folded).
    """
    db.run_model(
        con,
        "marts/signal_item_leaf",
        {"primary_hierarchy": primary},
        materialize="signal_item_leaf",
    )
    leaves = con.table("signal_item_leaf").df()
    rows = pd.DataFrame(
        {
            "item": leaves["item"].to_numpy(dtype=np.int64),
            "unit_id": leaves["leaf_id"].astype("string"),
            "own": leaves["rank"].to_numpy() == 1,
        }
    )
    if extra is not None and not extra.empty:
        rows = pd.concat([rows, extra[["item", "unit_id", "own"]]], ignore_index=True)
    schema = {"item": "int64", "level": "string", "unit_id": "string", "own": "bool"}
    if rows.empty:
        _materialize(con, "signal_route_frame", _typed(schema, None))
    else:
        rows = rows.drop_duplicates(["item", "unit_id", "own"]).reset_index(drop=True)
        routed = early_warning.route(rows, lineage, unit_col="unit_id")
        levels = [lvl for lvl in lineage["level"].drop_duplicates() if lvl in routed.columns]
        long = routed.melt(
            id_vars=["item", "own"], value_vars=levels, var_name="level", value_name="routed"
        ).dropna(subset=["routed"])
        _materialize(
            con,
            "signal_route_frame",
            _typed(
                schema,
                pd.DataFrame(
                    {
                        "item": long["item"],
                        "level": long["level"],
                        "unit_id": long["routed"],
                        "own": long["own"],
                    }
                ),
            ),
        )
    db.run_model(con, "marts/signal_route", materialize="signal_route")


def _typed(
    schema: dict[str, Any], rows: pd.DataFrame | list[pd.DataFrame] | list[dict[str, Any]] | None
) -> pd.DataFrame:
    """The columns of ``schema`` in its dtypes, from a frame, frames or records.

    Nothing (``None`` or an empty list) gives an empty frame that keeps the types, so a
    mart has its schema even when nothing was found.
    """
    if rows is None or (isinstance(rows, list) and not rows):
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in schema.items()})
    if isinstance(rows, list):
        frames = [r for r in rows if isinstance(r, pd.DataFrame)]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(rows)
    else:
        frame = rows.reset_index(drop=True)
    return pd.DataFrame({c: frame[c].astype(t) for c, t in schema.items()})


def _materialize(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """``frame`` as table ``name`` of the session (the marts' SQL reads it by that name)."""
    con.register("signal_frame", frame)
    try:
        db.run_model(con, "marts/signal_frame", materialize=name)
    finally:
        con.unregister("signal_frame")
