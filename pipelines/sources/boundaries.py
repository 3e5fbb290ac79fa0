"""Read admin boundaries of every level into one WGS-84 table of units.

Each level's file is read with pyogrio, its fields renamed per the spec, its datum
converted to WGS-84, invalid polygons repaired (and counted), and the hierarchy checked:
a unit whose parent is missing is quarantined, never silently attached elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipelines.coords import geometry_to_wgs84
from pipelines.sources.spec import BOUNDARY_LEVELS, SourceSpec, SpecError

PARENT_LEVEL = {
    "district": "city",
    "street": "district",
    "community": "street",
    "grid": "community",
}
EQUAL_AREA_CRS = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global: areas in m²
#: Vertices closer than this (about 1 cm) are snapped together when a level's coverage is
#: cleaned. Datum conversion bends long straight edges a little differently from the split
#: edges of the neighbour, leaving sub-millimetre slivers that GEOS reports as invalid.
SNAP_DEG = 1e-7


@dataclass
class BoundaryResult:
    """Units of every level plus what was rejected or repaired, with reasons."""

    units: gpd.GeoDataFrame
    rejected: pd.DataFrame
    stats: dict[str, dict[str, int]] = field(default_factory=dict)


def read_boundaries(spec: SourceSpec) -> BoundaryResult:
    """Read, convert, validate and link all boundary levels of ``spec``."""
    f = spec.boundary_fields
    frames: list[gpd.GeoDataFrame] = []
    rejected: list[pd.DataFrame] = []
    stats: dict[str, dict[str, int]] = {}
    known: dict[str, set[str]] = {"city": {spec.city_id}}
    for level in BOUNDARY_LEVELS:
        path = spec.root / spec.boundary_files[level]
        if not path.is_file():
            raise SpecError(f"boundary file for {level} not found: {path}")
        # GeoParquet through pyarrow (GDAL's Parquet driver is not in the pyogrio wheel);
        # GeoJSON, Shapefile, GeoPackage, FlatGeobuf ... through pyogrio.
        raw = gpd.read_parquet(path) if path.suffix.lower() == ".parquet" else gpd.read_file(path)
        missing = [f[k] for k in ("id", "name", "parent") if f[k] not in raw.columns]
        if level != "district" and missing:
            raise SpecError(f"{path.name}: missing fields {missing}")
        n_in = len(raw)
        frame = pd.DataFrame(
            {
                "unit_id": raw[f["id"]].astype("string").str.strip(),
                "level": level,
                "parent_id": (
                    raw[f["parent"]].astype("string").str.strip()
                    if f["parent"] in raw.columns
                    else spec.city_id
                ),
                "name_zh": raw[f["name"]].astype("string"),
                "name_en": (
                    raw[f["name_en"]].astype("string")
                    if f["name_en"] in raw.columns
                    else raw[f["name"]].astype("string")
                ),
                "population": (
                    pd.to_numeric(raw[f["population"]], errors="coerce")
                    if f["population"] in raw.columns
                    else np.nan
                ),
            }
        )
        if level == "district":
            frame["parent_id"] = frame["parent_id"].fillna(spec.city_id)
        geoms = np.asarray(raw.geometry.values, dtype=object)
        empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        geoms = geoms.copy()
        geoms[empty] = None
        geoms = geometry_to_wgs84(geoms, source=spec.boundary_coord_sys)
        invalid = ~empty & ~shapely.is_valid(geoms)
        geoms = np.where(invalid, shapely.make_valid(geoms, method="structure"), geoms)
        reason = pd.Series(pd.NA, index=frame.index, dtype="string")
        reason[frame["unit_id"].isna() | (frame["unit_id"] == "")] = "MISSING_ID"
        reason[reason.isna() & pd.Series(empty, index=frame.index)] = "EMPTY_GEOMETRY"
        reason[reason.isna() & frame["unit_id"].duplicated()] = "DUPLICATE_ID"
        parent_ok = frame["parent_id"].isin(known[PARENT_LEVEL[level]])
        reason[reason.isna() & ~parent_ok] = "UNKNOWN_PARENT"
        keep = reason.isna().to_numpy()
        rejected.append(
            pd.DataFrame(
                {
                    "dataset": f"boundary_{level}",
                    "source_file": str(path),
                    "source_row": np.flatnonzero(~keep),
                    "reason": reason[~keep].to_numpy(),
                    "raw": raw.loc[~keep]
                    .drop(columns="geometry")
                    .to_json(orient="records", force_ascii=False)
                    if (~keep).any()
                    else "[]",
                }
            )
        )
        kept = np.asarray(geoms[keep], dtype=object)
        invalid_in_source = _invalid_edges(kept)
        if len(kept) > 1:
            kept = shapely.coverage_clean(kept, snapping_distance=SNAP_DEG)
        good = gpd.GeoDataFrame(
            frame.loc[keep].reset_index(drop=True), geometry=list(kept), crs="EPSG:4326"
        )
        known[level] = set(good["unit_id"])
        frames.append(good)
        stats[level] = {
            "rows_in": n_in,
            "accepted": int(keep.sum()),
            "quarantined": int((~keep).sum()),
            "repaired": int(invalid.sum()),
            "invalid_edges_in_source": invalid_in_source,
            "invalid_edges": _invalid_edges(kept),
        }
    units = pd.concat(frames, ignore_index=True)
    city = gpd.GeoDataFrame(
        {
            "unit_id": [spec.city_id],
            "level": ["city"],
            "parent_id": [None],
            "name_zh": [spec.city_name],
            "name_en": [spec.city_name_en],
            "population": [np.nan],
        },
        geometry=[shapely.union_all(units.loc[units["level"] == "district"].geometry.values)],
        crs="EPSG:4326",
    )
    units = gpd.GeoDataFrame(pd.concat([city, units], ignore_index=True), crs="EPSG:4326")
    units = _fill_population(units)
    units["area_km2"] = units.to_crs(EQUAL_AREA_CRS).area / 1e6
    return BoundaryResult(units, pd.concat(rejected, ignore_index=True), stats)


def _fill_population(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill each unit's population bottom-up where only children carry it."""
    out = units.copy()
    for level in ("community", "street", "district", "city"):
        child = {
            "community": "grid",
            "street": "community",
            "district": "street",
            "city": "district",
        }[level]
        sums = out.loc[out["level"] == child].groupby("parent_id")["population"].sum(min_count=1)
        mask = (out["level"] == level) & out["population"].isna()
        if mask.any():
            out.loc[mask, "population"] = out.loc[mask, "unit_id"].map(sums).astype(float)
    out["population"] = out["population"].fillna(0).round().astype("int64")
    return out


def _invalid_edges(geoms: np.ndarray) -> int:
    """Number of polygons with shared edges that do not match (0 for a clean tiling)."""
    if len(geoms) < 2:
        return 0
    edges = shapely.coverage_invalid_edges(np.asarray(geoms, dtype=object))
    return int((~shapely.is_empty(edges)).sum())
