"""The analyst's baseline: yiwang's core marts with geopandas ``sjoin`` and pandas ``groupby``.

Issue 8 asks for yiwang to be compared with "the straightforward pipeline a typical analyst
would write" on the same data, in the same run. This module is that pipeline, written the
way a competent analyst would write it, not a straw man: vectorised pandas wherever pandas
offers it, only the columns it needs read from Parquet (events filtered on read), the
default spatial index of ``gpd.sjoin``, and the ``h3`` package called in a list
comprehension (h3-py has no vectorised point API).

Stages (timed separately)

- ``read``: requests and their close/reopen events (``requests/*.parquet``), categories,
  the four boundary layers; local timestamps parsed (the demo's are Asia/Shanghai wall
  time, and so are its periods: no time-zone conversion is needed).
- ``sjoin``: points and boundaries are GCJ-02 in the demo (its ``source.toml`` says so);
  both are converted to WGS-84 (H3 and every other layer are WGS-84), then
  ``gpd.sjoin(points, level, predicate="within")`` for district, street, community and
  grid. yiwang gives a point in no unit but within 200 m of one to the nearest (its
  documented rule); the baseline does the same for the few unmatched points with
  ``gpd.sjoin_nearest``. Points in no unit (no coordinates, at sea) are ``__unassigned__``.
- ``groupby``: each request's first close, last close and last reopen from the events;
  periods as yiwang's (every calendar month with requests, and the last 7, 30 and 365
  days before the as-of time, midnight after the last request's day); per level, unit
  and period: requests, open and closed at the period's end (capped at the as-of time),
  median hours from creation to first close, and requests per top-level category at the
  city, district and street levels.
- ``h3``: each located point's cell at every heatmap resolution (city 7, district 8,
  street 9, community and grid 10), then requests and open requests per level, unit,
  period and cell.
- ``write``: the three tables as Parquet.

It computes less than ``yiwang build``, which also ingests with quarantine and
reconciliation, scrubs personal data, computes the working-time SLA (overdue, on time,
response), ratings, repeats, the worry index, Gi* hotspots, early warnings, the backlog
playback, component links and request facts. So the ratio of the two run times
understates yiwang's advantage.

``python -m benchmarks.baseline <data_dir> [--out DIR]`` prints one JSON line: wall time,
peak RSS, stage times and output row counts.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tomllib
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import pandas as pd

from pipelines.coords import geometry_to_wgs84, to_wgs84

LEVELS = ("district", "street", "community", "grid")
#: yiwang's default heatmap resolution per level (settings ``map_res``; grid: city + 4,
#: capped at 10).
MAP_RES = {"city": 7, "district": 8, "street": 9, "community": 10, "grid": 10}
#: Category breakdowns stop at the street, as yiwang's do.
CATEGORY_LEVELS = ("city", "district", "street")
#: yiwang's snapping distance (``[boundaries] snap_m``, default 200 m) in degrees of latitude,
#: the unit its point location uses.
SNAP_DEG = 200 / 111_320
UNASSIGNED = "__unassigned__"
TS_FORMAT = "%Y-%m-%d %H:%M:%S"

REQUEST_COLUMNS = {"工单编号": "request_id", "受理时间": "created", "事项编码": "event_type"}
REQUEST_COORDS = {"经度": "lng_src", "纬度": "lat_src"}
CLOSE, REOPEN = "办结", "重办"


def read_inputs(raw: Path) -> dict[str, Any]:
    """Read the demo's raw files: requests, close/reopen events, categories, boundaries.

    Parameters
    ----------
    raw
        The source folder (``<data_dir>/01_raw/demo``).

    Returns
    -------
    dict
        ``spec`` (the parsed ``source.toml``), ``requests``, ``events``, ``categories``
        and ``boundaries`` (level name -> GeoDataFrame in the source's datum).
    """
    spec = tomllib.loads((raw / "source.toml").read_text(encoding="utf-8"))
    files = sorted((raw / "requests").glob("requests_*.parquet"))
    requests = pd.concat(
        [pd.read_parquet(f, columns=[*REQUEST_COLUMNS, *REQUEST_COORDS]) for f in files],
        ignore_index=True,
    ).rename(columns={**REQUEST_COLUMNS, **REQUEST_COORDS})
    requests["created"] = pd.to_datetime(requests["created"], format=TS_FORMAT)
    events = pd.concat(
        [
            pd.read_parquet(
                f, columns=["工单编号", "环节", "时间"], filters=[("环节", "in", [CLOSE, REOPEN])]
            )
            for f in sorted((raw / "requests").glob("events_*.parquet"))
        ],
        ignore_index=True,
    ).rename(columns={"工单编号": "request_id", "环节": "event", "时间": "ts"})
    events["ts"] = pd.to_datetime(events["ts"], format=TS_FORMAT)
    categories = pd.read_csv(raw / "categories.csv", usecols=["code", "l1_zh"], dtype=str)
    boundaries = {
        level: gpd.read_file(raw / "boundaries" / f"{level}.geojson", columns=["code"])
        for level in LEVELS
    }
    return {
        "spec": spec,
        "requests": requests,
        "events": events,
        "categories": categories,
        "boundaries": boundaries,
    }


def locate(
    requests: pd.DataFrame,
    boundaries: dict[str, gpd.GeoDataFrame],
    *,
    point_crs: str,
    boundary_crs: str,
) -> pd.DataFrame:
    """``requests`` with WGS-84 ``lng``/``lat`` and a ``<level>_id`` column per level.

    Parameters
    ----------
    requests
        Rows with ``lng_src``/``lat_src`` in ``point_crs`` (NaN where missing).
    boundaries
        Level name -> polygons (``code``) in ``boundary_crs``.
    point_crs, boundary_crs
        ``"GCJ02"``, ``"WGS84"``, ``"BD09"`` or ``"EPSG:<code>"``, as in ``source.toml``.

    Returns
    -------
    pandas.DataFrame
        A copy with the new columns; unplaced points are ``__unassigned__``.
    """
    out = requests.copy()
    out["lng"], out["lat"] = to_wgs84(
        lng=out["lng_src"].to_numpy(), lat=out["lat_src"].to_numpy(), source=point_crs
    )
    has_xy = out[["lng", "lat"]].notna().all(axis=1)
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(out.loc[has_xy, "lng"], out.loc[has_xy, "lat"]),
        index=out.index[has_xy],
        crs="EPSG:4326",
    )
    for level, polygons in boundaries.items():
        layer = gpd.GeoDataFrame(
            {"code": polygons["code"]},
            geometry=geometry_to_wgs84(polygons.geometry.values, source=boundary_crs),
            crs="EPSG:4326",
        )
        joined = gpd.sjoin(points, layer, how="inner", predicate="within")
        unit = joined.loc[~joined.index.duplicated(), "code"]
        missed = points.loc[points.index.difference(unit.index)]
        with warnings.catch_warnings():
            # Distances in degrees on purpose: yiwang's snap rule is stated in them.
            warnings.filterwarnings("ignore", "Geometry is in a geographic CRS", UserWarning)
            near = gpd.sjoin_nearest(missed, layer, how="inner", max_distance=SNAP_DEG)
        unit = pd.concat([unit, near.loc[~near.index.duplicated(), "code"]])
        out[f"{level}_id"] = unit.reindex(out.index).fillna(UNASSIGNED)
    return out


def close_times(events: pd.DataFrame) -> pd.DataFrame:
    """Close state per request, from its close and reopen events.

    Returns ``first_closed``, ``closed_at`` (the last close, unless reopened since) and
    ``last_reopened``, indexed by request id.
    """
    closes = events.loc[events["event"] == CLOSE].groupby("request_id")["ts"]
    reopens = events.loc[events["event"] == REOPEN].groupby("request_id")["ts"].max()
    state = pd.DataFrame({"first_closed": closes.min(), "last_closed": closes.max()})
    state["last_reopened"] = reopens.reindex(state.index)
    still_closed = state["last_reopened"].isna() | (state["last_closed"] > state["last_reopened"])
    state["closed_at"] = state["last_closed"].where(still_closed)
    # Reopened and not closed again: no close event after the reopen.
    only_reopened = reopens.index.difference(state.index)
    extra = pd.DataFrame({"last_reopened": reopens.loc[only_reopened]})
    return pd.concat([state, extra]).drop(columns="last_closed")


def make_periods(created: pd.Series) -> pd.DataFrame:
    """The periods yiwang reports: the last 7 / 30 / 365 days and the newest 24 months.

    The as-of time is midnight after the last request's day; a period's state is read at
    its end, capped at the as-of time (``period_end``). yiwang's "all data" period exists
    only for data longer than 365 days, which the demo never is.
    """
    as_of = created.max().normalize() + pd.Timedelta(days=1)
    rows = [(f"last{days}", as_of - pd.Timedelta(days=days), as_of) for days in (7, 30, 365)]
    months = created.dt.to_period("M").unique()
    for month in sorted(months, reverse=True)[:24]:
        start = month.start_time
        rows.append((f"m{month}", start, (month + 1).start_time))
    periods = pd.DataFrame(rows, columns=["period_id", "start", "end"])
    periods["period_end"] = periods["end"].clip(upper=as_of)
    return periods


def requests_by_period(requests: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """One row per request and period it was created in, with its state at period end.

    The index is the request's row in ``requests`` (repeated across periods).
    """
    parts = []
    for period_id, start, stop, end in zip(
        periods["period_id"], periods["start"], periods["end"], periods["period_end"], strict=True
    ):
        rows = requests.loc[(requests["created"] >= start) & (requests["created"] < stop)]
        closed = (rows["first_closed"] < end) & (
            rows["closed_at"].notna() | (rows["last_reopened"] >= end)
        )
        hours = (rows["first_closed"] - rows["created"]).dt.total_seconds() / 3600
        parts.append(
            rows.assign(
                period_id=str(period_id),
                is_closed=closed,
                is_open=~closed,
                handled_hours=hours.where(rows["first_closed"] < end),
            )
        )
    return pd.concat(parts)


def unit_kpi(long: pd.DataFrame) -> pd.DataFrame:
    """Requests, open, closed and median handling hours per level, unit and period."""
    frames = []
    for level in ("city", *LEVELS):
        kpi = (
            long.groupby(["period_id", f"{level}_id"], sort=False)
            .agg(
                requests=("is_open", "size"),
                open=("is_open", "sum"),
                closed=("is_closed", "sum"),
                handling_hours_p50=("handled_hours", "median"),
            )
            .reset_index()
            .rename(columns={f"{level}_id": "unit_id"})
        )
        frames.append(kpi.assign(level=level))
    return pd.concat(frames, ignore_index=True)


def unit_category(long: pd.DataFrame) -> pd.DataFrame:
    """Requests per top-level category at the city, district and street levels."""
    frames = []
    for level in CATEGORY_LEVELS:
        counts = (
            long.groupby(["period_id", f"{level}_id", "l1_zh"], sort=False)
            .size()
            .reset_index(name="requests")
            .rename(columns={f"{level}_id": "unit_id"})
        )
        frames.append(counts.assign(level=level))
    return pd.concat(frames, ignore_index=True)


def add_cells(requests: pd.DataFrame) -> pd.DataFrame:
    """Each located request's H3 cell at every heatmap resolution (``cell_<res>``).

    Located: placed in a district (points at sea or without coordinates are not drawn).
    """
    located = requests.loc[requests["district_id"] != UNASSIGNED, ["lat", "lng"]]
    cells = pd.DataFrame(index=located.index)
    for res in sorted(set(MAP_RES.values())):
        cells[f"cell_{res}"] = [
            h3.latlng_to_cell(lat, lng, res)
            for lat, lng in zip(located["lat"], located["lng"], strict=True)
        ]
    return cells


def hex_counts(long: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Requests and open requests per level, unit, period and cell at the level's res."""
    keys = [f"{level}_id" for level in MAP_RES]
    located = long[["period_id", "is_open", *keys]].join(cells, how="inner")
    frames = []
    for level, res in MAP_RES.items():
        rows = located.loc[located[f"{level}_id"] != UNASSIGNED]
        counts = (
            rows.groupby(["period_id", f"{level}_id", f"cell_{res}"], sort=False)
            .agg(requests=("is_open", "size"), open=("is_open", "sum"))
            .reset_index()
            .rename(columns={f"{level}_id": "unit_id", f"cell_{res}": "cell"})
        )
        frames.append(counts.assign(level=level, res=res))
    return pd.concat(frames, ignore_index=True)


def run(data_dir: Path, out: Path) -> dict[str, Any]:
    """Run the baseline on the demo city under ``data_dir``; write its tables to ``out``.

    Parameters
    ----------
    data_dir
        A data folder where ``yiwang demo`` wrote ``01_raw/demo``.
    out
        Folder for ``unit_kpi.parquet``, ``unit_category.parquet`` and ``hex.parquet``.

    Returns
    -------
    dict
        ``seconds`` (wall), ``requests`` (rows read), ``stages`` (seconds per stage) and
        ``rows`` (per output table).
    """
    t0 = time.perf_counter()
    stages: dict[str, float] = {}

    def lap(stage: str, started: float) -> float:
        now = time.perf_counter()
        stages[stage] = round(now - started, 2)
        return now

    raw = data_dir / "01_raw" / "demo"
    inputs = read_inputs(raw)
    spec = inputs["spec"]
    t = lap("read", t0)

    requests = locate(
        inputs["requests"],
        inputs["boundaries"],
        point_crs=spec["requests"].get("coord_sys", "WGS84"),
        boundary_crs=spec["boundaries"].get("coord_sys", "WGS84"),
    )
    t = lap("sjoin", t)

    requests["city_id"] = str(spec["source"]["city_id"])
    requests = requests.merge(
        inputs["categories"], how="left", left_on="event_type", right_on="code"
    ).drop(columns="code")
    requests["l1_zh"] = requests["l1_zh"].fillna("未分类")
    requests = requests.join(close_times(inputs["events"]), on="request_id")
    periods = make_periods(requests["created"])
    keep = [
        "created",
        "first_closed",
        "closed_at",
        "last_reopened",
        "l1_zh",
        "city_id",
        *(f"{level}_id" for level in LEVELS),
    ]
    long = requests_by_period(requests[keep], periods)
    kpi = unit_kpi(long)
    categories = unit_category(long)
    t = lap("groupby", t)

    hexes = hex_counts(long, add_cells(requests))
    t = lap("h3", t)

    out.mkdir(parents=True, exist_ok=True)
    tables = {"unit_kpi": kpi, "unit_category": categories, "hex": hexes}
    for name, table in tables.items():
        table.to_parquet(out / f"{name}.parquet", index=False)
    lap("write", t)
    return {
        "seconds": round(time.perf_counter() - t0, 1),
        "requests": len(requests),
        "stages": stages,
        "rows": {name: len(table) for name, table in tables.items()},
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.baseline <data_dir> [--out DIR]``: run and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="data folder holding 01_raw/demo")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: temp)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="yiwang-baseline-"))
    result = run(args.data_dir, out)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = {
        "step": "baseline",
        "seconds": result["seconds"],
        "peak_rss_mib": round(peak_mib),
        "requests": result["requests"],
        "stages": result["stages"],
        "rows": result["rows"],
    }
    sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
