"""Geoindex: every request and component gets a WGS-84 point, an H3 cell and a grid.

Inputs:  stg_units, stg_requests, stg_components
Outputs: int_crosswalk, int_request_geo, int_component_geo, int_cell_population,
         geoindex_manifest

H3 is computed once per point at ``settings.point_res``; the grid comes from an H3 <->
polygon crosswalk that is exact for cells straddling a boundary (see ``pipelines.geo``).
Community, street and district follow from the grid through the unit hierarchy, so counts
reconcile across levels by construction. Work goes in batches to bound memory at 50 M rows.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from pipelines import catalog, geo, h3index
from pipelines.settings import Settings
from pipelines.sources.spec import load_spec

log = logging.getLogger(__name__)
BATCH_ROWS = 2_000_000
EXTENT_BUFFER_DEG = 0.1


def run(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Run the stage; returns assignment counts per status."""
    spec = load_spec(settings.source_spec)
    units = gpd.read_parquet(catalog.path(settings, "stg_units"))
    grids = units.loc[units["level"] == "grid"].sort_values("unit_id").reset_index(drop=True)
    grid_ids = grids["unit_id"].to_numpy(dtype=object)
    geoms = np.asarray(grids.geometry.values, dtype=object)
    crosswalk = _crosswalk(settings, geoms, grid_ids)
    tree = shapely.STRtree(geoms)
    # The city's extent, buffered by ~10 km (more than any datum offset), for axis-swap repair.
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    extent = (
        minx - EXTENT_BUFFER_DEG,
        miny - EXTENT_BUFFER_DEG,
        maxx + EXTENT_BUFFER_DEG,
        maxy + EXTENT_BUFFER_DEG,
    )
    report: dict[str, Any] = {"crosswalk_cells": len(crosswalk.cells), "res": crosswalk.res}
    for name, source, key, coord_sys in (
        ("int_request_geo", "stg_requests", "request_id", spec.requests.coord_sys),
        (
            "int_component_geo",
            "stg_components",
            "component_id",
            spec.components.coord_sys if spec.components else "WGS84",
        ),
    ):
        report[name], report[f"{name}_flags"] = _locate_table(
            con, settings, source, name, key, coord_sys, crosswalk, tree, grid_ids, extent
        )
    report["population_cells"] = _cell_population(settings, units)
    catalog.path(settings, "geoindex_manifest").write_text(
        json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return report


def _crosswalk(settings: Settings, geoms: np.ndarray, grid_ids: np.ndarray) -> geo.Crosswalk:
    out = catalog.path(settings, "int_crosswalk")
    key = geo.geometry_key(geoms, settings.point_res)
    key_file = out.with_suffix(".key")
    if out.exists() and key_file.exists() and key_file.read_text() == key:
        table = pq.read_table(out)
        index = {g: i for i, g in enumerate(grid_ids)}
        cells = table["cell"].to_numpy()
        grid_index = np.array([index[g] for g in table["grid_id"].to_pylist()], dtype=np.int32)
        log.info("reusing crosswalk %s (%d cells)", key, len(cells))
        return geo.Crosswalk(settings.point_res, cells, grid_index)
    xw = geo.build_crosswalk(geoms, settings.point_res)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "cell": pa.array(xw.cells, pa.int64()),
                "grid_id": pa.array(grid_ids[xw.grid_index], pa.string()),
            }
        ),
        out,
        compression="zstd",
    )
    key_file.write_text(key)
    return xw


def _locate_table(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    source: str,
    out_name: str,
    key: str,
    coord_sys: str,
    crosswalk: geo.Crosswalk,
    tree: shapely.STRtree,
    grid_ids: np.ndarray,
    extent: tuple[float, float, float, float],
) -> tuple[dict[str, int], dict[str, int]]:
    src = catalog.path(settings, source)
    out = catalog.path(settings, out_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    rel = con.read_parquet(str(src)).select(key, "lng_src", "lat_src")
    reader = rel.to_arrow_reader(BATCH_ROWS)
    counts: dict[str, int] = dict.fromkeys(geo.GEO_STATUSES, 0)
    flags = {"axis_swapped": 0, "low_precision": 0}
    schema = pa.schema(
        [
            (key, pa.string()),
            ("lng", pa.float64()),
            ("lat", pa.float64()),
            ("cell", pa.int64()),
            ("grid_id", pa.string()),
            ("geo_status", pa.string()),
            ("axis_swapped", pa.bool_()),
            ("low_precision", pa.bool_()),
        ]
    )
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in reader:
            lng = batch.column("lng_src").to_numpy(zero_copy_only=False)
            lat = batch.column("lat_src").to_numpy(zero_copy_only=False)
            located = geo.locate(
                lng,
                lat,
                coord_sys=coord_sys,
                crosswalk=crosswalk,
                tree=tree,
                extent=extent,
            )
            gi = located["grid_index"].to_numpy()
            grid = np.where(gi >= 0, grid_ids[np.maximum(gi, 0)], None)
            for status, n in located["geo_status"].value_counts().items():
                counts[str(status)] += int(n)
            for flag in flags:
                flags[flag] += int(located[flag].sum())
            writer.write_table(
                pa.table(
                    {
                        key: batch.column(key),
                        "lng": located["lng"].to_numpy(),
                        "lat": located["lat"].to_numpy(),
                        "cell": located["cell"].to_numpy(),
                        "grid_id": pa.array(grid, pa.string()),
                        "geo_status": pa.array(located["geo_status"].to_numpy(), pa.string()),
                        "axis_swapped": pa.array(located["axis_swapped"].to_numpy(), pa.bool_()),
                        "low_precision": pa.array(located["low_precision"].to_numpy(), pa.bool_()),
                    },
                    schema=schema,
                )
            )
    tmp.replace(out)
    return counts, flags


def _cell_population(settings: Settings, units: gpd.GeoDataFrame) -> int:
    """Spread each community's population evenly over the cells whose centre it holds.

    Cells are at the finest heatmap resolution; coarser cells sum their children, so
    population, like counts, adds up across resolutions.
    """
    res = max(settings.map_res.values())
    comms = units.loc[units["level"] == "community"]
    frames = []
    for unit_id, geom, pop in zip(
        comms["unit_id"], comms.geometry, comms["population"], strict=True
    ):
        cells = h3index.polygon_cells(geom, res)
        if len(cells) == 0:
            p = geom.representative_point()
            cells = h3index.points_to_cells(lng=[p.x], lat=[p.y], res=res)
        frames.append(
            pd.DataFrame(
                {"cell": cells, "community_id": unit_id, "population": float(pop) / len(cells)}
            )
        )
    table = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(
            {
                "cell": pd.Series(dtype="int64"),
                "community_id": pd.Series(dtype="string"),
                "population": pd.Series(dtype="float64"),
            }
        )
    )
    table.to_parquet(catalog.path(settings, "int_cell_population"), index=False)
    return len(table)
