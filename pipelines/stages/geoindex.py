"""Geoindex: every request and component gets a WGS-84 point, an H3 cell and a leaf unit.

Inputs:  stg_units, stg_requests, stg_components
Outputs: int_crosswalk, int_request_geo, int_request_place, int_component_geo,
         int_component_place, int_cell_population, int_cell_place, geoindex_manifest

A point is checked and converted once (H3 at ``settings.point_res``), then assigned in
every hierarchy to a unit of its finest level, through an H3 <-> polygon crosswalk that is
exact for cells straddling a boundary, with documented rules for overlaps, gaps and points
just outside (see ``pipelines.geo``). Coarser levels follow from the leaf through the unit
hierarchy, so counts reconcile across levels by construction. Work goes in batches to
bound memory at 50 M rows.
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
from pipelines.levels import level_res
from pipelines.settings import Settings
from pipelines.sources.spec import SourceSpec, load_spec

log = logging.getLogger(__name__)
BATCH_ROWS = 2_000_000
EXTENT_BUFFER_DEG = 0.1


def run(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Run the stage; returns assignment counts per hierarchy and rule."""
    spec = load_spec(settings.source_spec)
    units = gpd.read_parquet(catalog.path(settings, "stg_units"))
    city = units.loc[units["level"] == "city"].geometry.iloc[0]
    layers: dict[str, tuple[geo.Layer, np.ndarray]] = {}
    report: dict[str, Any] = {"res": settings.point_res, "crosswalk_cells": {}}
    for hierarchy in spec.hierarchies:
        leaf = spec.leaf(hierarchy).name
        rows = units.loc[units["level"] == leaf].sort_values("unit_id").reset_index(drop=True)
        ids = rows["unit_id"].to_numpy(dtype=object)
        geoms = np.asarray(rows.geometry.values, dtype=object)
        key = geo.geometry_key(geoms, settings.point_res)
        layer = geo.Layer.build(
            geoms,
            settings.point_res,
            outline=city,
            snap_m=spec.snap_m,
            crosswalk=_cached_crosswalk(settings, hierarchy, key, ids),
        )
        _save_crosswalk(settings, hierarchy, key, ids, layer.crosswalk)
        layers[hierarchy] = (layer, ids)
        report["crosswalk_cells"][hierarchy] = len(layer.crosswalk.cells)
    # The city's extent, buffered by ~10 km (more than any datum offset), for axis-swap repair.
    minx, miny, maxx, maxy = shapely.bounds(city)
    extent = (
        minx - EXTENT_BUFFER_DEG,
        miny - EXTENT_BUFFER_DEG,
        maxx + EXTENT_BUFFER_DEG,
        maxy + EXTENT_BUFFER_DEG,
    )
    for kind, source, key, coord_sys in (
        ("request", "stg_requests", "request_id", spec.requests.coord_sys),
        (
            "component",
            "stg_components",
            "component_id",
            spec.components[0].coord_sys if spec.components else "WGS84",
        ),
    ):
        report[f"int_{kind}_geo"], report[f"int_{kind}_geo_flags"], report[f"{kind}_place"] = (
            _locate_table(con, settings, source, kind, key, coord_sys, layers, extent)
        )
    report["population_cells"] = _cell_population(settings, spec, units, layers)
    catalog.path(settings, "geoindex_manifest").write_text(
        json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return report


def _crosswalk_files(settings: Settings, hierarchy: str) -> tuple[Any, Any]:
    folder = catalog.path(settings, "int_crosswalk")
    return folder / f"{hierarchy}.parquet", folder / f"{hierarchy}.key"


def _cached_crosswalk(
    settings: Settings, hierarchy: str, key: str, ids: np.ndarray
) -> geo.Crosswalk | None:
    out, key_file = _crosswalk_files(settings, hierarchy)
    if not (out.exists() and key_file.exists() and key_file.read_text() == key):
        return None
    table = pq.read_table(out)
    index = {g: i for i, g in enumerate(ids)}
    cells = table["cell"].to_numpy()
    leaf_index = np.array([index[g] for g in table["unit_id"].to_pylist()], dtype=np.int32)
    log.info("reusing %s crosswalk %s (%d cells)", hierarchy, key, len(cells))
    return geo.Crosswalk(settings.point_res, cells, leaf_index)


def _save_crosswalk(
    settings: Settings, hierarchy: str, key: str, ids: np.ndarray, xw: geo.Crosswalk
) -> None:
    out, key_file = _crosswalk_files(settings, hierarchy)
    if key_file.exists() and key_file.read_text() == key:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "cell": pa.array(xw.cells, pa.int64()),
                "unit_id": pa.array(ids[xw.grid_index], pa.string()),
            }
        ),
        out,
        compression="zstd",
    )
    key_file.write_text(key)


GEO_SCHEMA = [
    ("lng", pa.float64()),
    ("lat", pa.float64()),
    ("cell", pa.int64()),
    ("geo_status", pa.string()),
    ("axis_swapped", pa.bool_()),
    ("low_precision", pa.bool_()),
]
PLACE_SCHEMA = [
    ("hierarchy", pa.string()),
    ("leaf_id", pa.string()),
    ("geo_status", pa.string()),
]


def _locate_table(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    source: str,
    kind: str,
    key: str,
    coord_sys: str,
    layers: dict[str, tuple[geo.Layer, np.ndarray]],
    extent: tuple[float, float, float, float],
) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, int]]]:
    """Write ``int_<kind>_geo`` (one row per point) and ``int_<kind>_place`` (per hierarchy).

    ``geo_status`` of the geo table is the primary hierarchy's rule, or why the point is
    unusable; the place table has each hierarchy's leaf and rule.
    """
    geo_out = catalog.path(settings, f"int_{kind}_geo")
    place_out = catalog.path(settings, f"int_{kind}_place")
    geo_out.parent.mkdir(parents=True, exist_ok=True)
    rel = con.read_parquet(str(catalog.path(settings, source))).select(key, "lng_src", "lat_src")
    geo_schema = pa.schema([(key, pa.string()), *GEO_SCHEMA])
    place_schema = pa.schema([(key, pa.string()), *PLACE_SCHEMA])
    counts: dict[str, int] = dict.fromkeys(geo.GEO_STATUSES, 0)
    flags = {"axis_swapped": 0, "low_precision": 0}
    per_hierarchy = {h: dict.fromkeys(geo.GEO_STATUSES, 0) for h in layers}
    primary = next(iter(layers))
    geo_tmp, place_tmp = geo_out.with_suffix(".tmp"), place_out.with_suffix(".tmp")
    with (
        pq.ParquetWriter(geo_tmp, geo_schema, compression="zstd") as geo_writer,
        pq.ParquetWriter(place_tmp, place_schema, compression="zstd") as place_writer,
    ):
        for batch in rel.to_arrow_reader(BATCH_ROWS):
            points = geo.prepare_points(
                batch.column("lng_src").to_numpy(zero_copy_only=False),
                batch.column("lat_src").to_numpy(zero_copy_only=False),
                coord_sys=coord_sys,
                res=settings.point_res,
                extent=extent,
            )
            usable = points["usable"].to_numpy()
            unusable_status = points["geo_status"].to_numpy()
            primary_status = unusable_status
            for hierarchy, (layer, ids) in layers.items():
                index, rule = geo.assign(points, layer)
                status = np.where(usable, rule, unusable_status)
                leaf = geo.ids_of(index, ids)
                if hierarchy == primary:
                    primary_status = status
                for s, n in zip(*np.unique(status.astype(str), return_counts=True), strict=True):
                    per_hierarchy[hierarchy][str(s)] += int(n)
                place_writer.write_table(
                    pa.table(
                        {
                            key: batch.column(key),
                            "hierarchy": pa.array(np.full(len(status), hierarchy), pa.string()),
                            "leaf_id": pa.array(leaf, pa.string()),
                            "geo_status": pa.array(status.astype(str), pa.string()),
                        },
                        schema=place_schema,
                    )
                )
            for s, n in zip(
                *np.unique(primary_status.astype(str), return_counts=True), strict=True
            ):
                counts[str(s)] += int(n)
            for flag in flags:
                flags[flag] += int(points[flag].sum())
            geo_writer.write_table(
                pa.table(
                    {
                        key: batch.column(key),
                        "lng": points["lng"].to_numpy(),
                        "lat": points["lat"].to_numpy(),
                        "cell": points["cell"].to_numpy(),
                        "geo_status": pa.array(primary_status.astype(str), pa.string()),
                        "axis_swapped": points["axis_swapped"].to_numpy(),
                        "low_precision": points["low_precision"].to_numpy(),
                    },
                    schema=geo_schema,
                )
            )
    geo_tmp.replace(geo_out)
    place_tmp.replace(place_out)
    return counts, flags, per_hierarchy


def _cell_population(
    settings: Settings,
    spec: SourceSpec,
    units: gpd.GeoDataFrame,
    layers: dict[str, tuple[geo.Layer, np.ndarray]],
) -> int:
    """Spread residents over H3 cells, and say which leaf of each hierarchy holds each cell.

    The population comes from the deepest level of the primary hierarchy that has one.
    Each unit's residents are spread evenly over the cells (at the finest heatmap
    resolution) whose centre it holds; a cell claimed by two overlapping units goes to the
    smaller. Every hierarchy then reads its units' residents off the same surface, so a
    level without a census of its own (LA's council districts) still gets a population,
    and population, like counts, adds up across levels and resolutions.
    """
    res = _finest_res(settings, spec)
    source_level = next(
        (
            lvl.name
            for lvl in reversed(spec.hierarchies[spec.primary_hierarchy])
            if units.loc[units["level"] == lvl.name, "population"].notna().any()
        ),
        None,
    )
    frames = []
    if source_level is not None:
        rows = units.loc[units["level"] == source_level].copy()
        rows = rows.assign(_area=shapely.area(np.asarray(rows.geometry.values, dtype=object)))
        rows = rows.sort_values(["_area", "unit_id"])
        claimed: set[int] = set()
        for unit_id, geom, pop in zip(
            rows["unit_id"], rows.geometry, rows["population"].fillna(0), strict=True
        ):
            cells = np.array(
                [c for c in h3index.polygon_cells(geom, res) if int(c) not in claimed],
                dtype=np.int64,
            )
            if len(cells) == 0:
                p = geom.representative_point()
                cells = h3index.points_to_cells(lng=[p.x], lat=[p.y], res=res)
            claimed.update(int(c) for c in cells)
            frames.append(
                pd.DataFrame(
                    {"cell": cells, "source_unit": unit_id, "population": pop / len(cells)}
                )
            )
    table = (
        pd.concat(frames, ignore_index=True)
        .groupby("cell", as_index=False)
        .agg(population=("population", "sum"), source_unit=("source_unit", "first"))
        if frames
        else pd.DataFrame(
            {
                "cell": pd.Series(dtype="int64"),
                "population": pd.Series(dtype="float64"),
                "source_unit": pd.Series(dtype="string"),
            }
        )
    )
    table.to_parquet(catalog.path(settings, "int_cell_population"), index=False)
    lng, lat = np.empty(0), np.empty(0)
    if len(table):
        lng, lat = h3index.cell_centers(table["cell"].to_numpy())
    points = pd.DataFrame(
        {
            "lng": lng,
            "lat": lat,
            "cell": (
                h3index.points_to_cells(lng=lng, lat=lat, res=settings.point_res)
                if len(table)
                else np.empty(0, np.int64)
            ),
            "usable": True,
        }
    )
    places = []
    for hierarchy, (layer, ids) in layers.items():
        index, _ = geo.assign(points, layer)
        places.append(
            pd.DataFrame(
                {
                    "cell": table["cell"].to_numpy(),
                    "hierarchy": hierarchy,
                    "leaf_id": geo.ids_of(index, ids),
                }
            )
        )
    pd.concat(places, ignore_index=True).to_parquet(
        catalog.path(settings, "int_cell_place"), index=False
    )
    return len(table)


def _finest_res(settings: Settings, spec: SourceSpec) -> int:
    return max(level_res(settings, spec).values())
