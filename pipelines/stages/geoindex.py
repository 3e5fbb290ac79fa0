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

A point already located by the previous run, with the same source coordinates and the
same layers (boundaries, resolution, snapping rule, code: the ``locate_keys`` of the
manifest), keeps its result: a day's delivery locates that day's points only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from pipelines import catalog, db, geo, h3index
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
    previous = _previous_locate_keys(settings)
    layer_keys: dict[str, str] = {}
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
        layer_keys[hierarchy] = f"{key}:{_ids_key(ids)}"
        report["crosswalk_cells"][hierarchy] = len(layer.crosswalk.cells)
    # The city's extent, buffered by ~10 km (more than any datum offset), for axis-swap repair.
    minx, miny, maxx, maxy = shapely.bounds(city)
    extent = (
        minx - EXTENT_BUFFER_DEG,
        miny - EXTENT_BUFFER_DEG,
        maxx + EXTENT_BUFFER_DEG,
        maxy + EXTENT_BUFFER_DEG,
    )
    report["locate_keys"] = {}
    for kind, source, key, coord_sys in (
        ("request", "stg_requests", "request_id", spec.requests.coord_sys),
        (
            "component",
            "stg_components",
            "component_id",
            spec.components[0].coord_sys if spec.components else "WGS84",
        ),
    ):
        locate_key = _locate_key(
            settings, spec, coord_sys, extent, layer_keys, geo.geometry_key([city], 0)
        )
        report["locate_keys"][kind] = locate_key
        report[f"int_{kind}_geo"], report[f"int_{kind}_geo_flags"], report[f"{kind}_place"] = (
            _locate_table(
                con,
                settings,
                source,
                kind,
                key,
                coord_sys,
                layers,
                extent,
                reuse=previous.get(kind) == locate_key,
            )
        )
    report["population_cells"] = _cell_population(settings, spec, units, layers)
    catalog.path(settings, "geoindex_manifest").write_text(
        json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return report


def _ids_key(ids: np.ndarray) -> str:
    return hashlib.sha256("\x1f".join(map(str, ids)).encode()).hexdigest()[:16]


def _locate_key(
    settings: Settings,
    spec: SourceSpec,
    coord_sys: str,
    extent: tuple[float, float, float, float],
    layer_keys: dict[str, str],
    outline_key: str,
) -> str:
    """Hash of everything a point's result depends on besides its own coordinates."""
    return hashlib.sha256(
        json.dumps(
            {
                "res": settings.point_res,
                "snap_m": spec.snap_m,
                "coord_sys": coord_sys,
                "extent": extent,
                "layers": layer_keys,
                "outline": outline_key,
                "code": db.code_fingerprint(),
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]


def _previous_locate_keys(settings: Settings) -> dict[str, str]:
    """The ``locate_keys`` of the previous run's manifest (none: nothing is reused)."""
    path = catalog.path(settings, "geoindex_manifest")
    try:
        keys = json.loads(path.read_text(encoding="utf-8")).get("locate_keys", {})
    except (OSError, ValueError):
        return {}
    return keys if isinstance(keys, dict) else {}


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
    # the source's coordinates, as located: the next run reuses a point's row when equal
    ("lng_src", pa.float64()),
    ("lat_src", pa.float64()),
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
    *,
    reuse: bool = False,
) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, int]]]:
    """Write ``int_<kind>_geo`` (one row per point) and ``int_<kind>_place`` (per hierarchy).

    ``geo_status`` of the geo table is the primary hierarchy's rule, or why the point is
    unusable; the place table has each hierarchy's leaf and rule. With ``reuse`` (the
    previous run located with the same layers), rows whose key and source coordinates are
    unchanged are copied from the previous files and only the others are located. Keys are
    unique: staging quarantines duplicate ids.

    Returns
    -------
    tuple
        Points per primary status, flag counts, and per hierarchy points per rule.
    """
    geo_out = catalog.path(settings, f"int_{kind}_geo")
    place_out = catalog.path(settings, f"int_{kind}_place")
    geo_out.parent.mkdir(parents=True, exist_ok=True)
    src = str(catalog.path(settings, source))
    geo_schema = pa.schema([(key, pa.string()), *GEO_SCHEMA])
    place_schema = pa.schema([(key, pa.string()), *PLACE_SCHEMA])
    primary = next(iter(layers))
    geo_tmp, place_tmp = geo_out.with_suffix(".tmp"), place_out.with_suffix(".tmp")
    con.execute(f"CREATE OR REPLACE TEMP TABLE reused_points ({key} VARCHAR)")
    with (
        pq.ParquetWriter(geo_tmp, geo_schema, compression="zstd") as geo_writer,
        pq.ParquetWriter(place_tmp, place_schema, compression="zstd") as place_writer,
    ):
        if reuse and _has_source_coordinates(geo_out) and place_out.exists():
            _copy_unchanged(con, src, key, (geo_out, geo_writer), (place_out, place_writer))
        todo = con.sql(
            f"SELECT s.{key}, s.lng_src, s.lat_src FROM read_parquet(?) AS s"  # noqa: S608
            f" ANTI JOIN reused_points AS r ON r.{key} = s.{key}",
            params=[src],
        ).to_arrow_reader(BATCH_ROWS)
        for batch in todo:
            lng_src = batch.column("lng_src").to_numpy(zero_copy_only=False)
            lat_src = batch.column("lat_src").to_numpy(zero_copy_only=False)
            points = geo.prepare_points(
                lng_src, lat_src, coord_sys=coord_sys, res=settings.point_res, extent=extent
            )
            usable = points["usable"].to_numpy()
            unusable_status = points["geo_status"].to_numpy()
            primary_status = unusable_status
            for hierarchy, (layer, ids) in layers.items():
                index, rule = geo.assign(points, layer)
                status = np.where(usable, rule, unusable_status)
                if hierarchy == primary:
                    primary_status = status
                place_writer.write_table(
                    pa.table(
                        {
                            key: batch.column(key),
                            "hierarchy": pa.array(np.full(len(status), hierarchy), pa.string()),
                            "leaf_id": pa.array(geo.ids_of(index, ids), pa.string()),
                            "geo_status": pa.array(status.astype(str), pa.string()),
                        },
                        schema=place_schema,
                    )
                )
            geo_writer.write_table(
                pa.table(
                    {
                        key: batch.column(key),
                        "lng_src": lng_src,
                        "lat_src": lat_src,
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
    reused = con.execute("SELECT count(*) FROM reused_points").fetchall()[0][0]
    log.info("%s points: %d kept from the previous run, the rest located", kind, reused)
    con.execute("DROP TABLE reused_points")
    return _located_counts(con, geo_out, place_out, list(layers))


def _has_source_coordinates(geo_file: Path) -> bool:
    """Whether a previous geo file exists and records the coordinates it located."""
    if not geo_file.exists():
        return False
    names = pq.read_schema(geo_file).names
    return "lng_src" in names and "lat_src" in names


def _copy_unchanged(
    con: duckdb.DuckDBPyConnection,
    src: str,
    key: str,
    geo_files: tuple[Path, pq.ParquetWriter],
    place_files: tuple[Path, pq.ParquetWriter],
) -> None:
    """Copy the previous rows of points whose source coordinates are unchanged.

    Fills ``reused_points`` with their keys (NULL coordinates match NULL: an unusable point
    stays unusable).
    """
    (geo_prev, geo_writer), (place_prev, place_writer) = geo_files, place_files
    con.execute(
        f"INSERT INTO reused_points SELECT s.{key} FROM read_parquet(?) AS s"  # noqa: S608
        f" JOIN read_parquet(?) AS g ON g.{key} = s.{key}"
        " AND g.lng_src IS NOT DISTINCT FROM s.lng_src"
        " AND g.lat_src IS NOT DISTINCT FROM s.lat_src",
        [src, str(geo_prev)],
    )
    for previous, writer in ((geo_prev, geo_writer), (place_prev, place_writer)):
        columns = ", ".join(writer.schema.names)
        rows = con.sql(
            f"SELECT {columns} FROM read_parquet(?) SEMI JOIN reused_points USING ({key})",  # noqa: S608
            params=[str(previous)],
        ).to_arrow_reader(BATCH_ROWS)
        for batch in rows:
            writer.write_table(pa.Table.from_batches([batch]).cast(writer.schema))


def _located_counts(
    con: duckdb.DuckDBPyConnection, geo_file: Path, place_file: Path, hierarchies: list[str]
) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, int]]]:
    """Points per primary status, flag counts and per hierarchy points per rule."""
    counts: dict[str, int] = dict.fromkeys(geo.GEO_STATUSES, 0)
    for status, n in con.execute(
        "SELECT geo_status, count(*) FROM read_parquet(?) GROUP BY ALL ORDER BY ALL",
        [str(geo_file)],
    ).fetchall():
        counts[str(status)] = counts.get(str(status), 0) + int(n)
    swapped, low = con.execute(
        "SELECT count(*) FILTER (WHERE axis_swapped), count(*) FILTER (WHERE low_precision)"
        " FROM read_parquet(?)",
        [str(geo_file)],
    ).fetchall()[0]
    per_hierarchy = {h: dict.fromkeys(geo.GEO_STATUSES, 0) for h in hierarchies}
    for hierarchy, status, n in con.execute(
        "SELECT hierarchy, geo_status, count(*) FROM read_parquet(?) GROUP BY ALL ORDER BY ALL",
        [str(place_file)],
    ).fetchall():
        statuses = per_hierarchy[str(hierarchy)]
        statuses[str(status)] = statuses.get(str(status), 0) + int(n)
    return counts, {"axis_swapped": int(swapped), "low_precision": int(low)}, per_hierarchy


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
