"""Read the boundary levels of every hierarchy into one WGS-84 table of units.

Each level's file is read with pyogrio, its fields renamed per the spec, its datum
converted to WGS-84, invalid polygons repaired (and counted), and its place in the
hierarchy checked: a unit whose parent is missing is quarantined, never silently attached
elsewhere. Overlaps and gaps between the units of a level are measured and reported with
the offending edges (``coverage`` stats); they are kept, because the assignment rule in
:mod:`pipelines.geo` decides such points deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipelines.coords import geometry_to_wgs84
from pipelines.sources.spec import LevelSpec, SourceSpec, SpecError

EQUAL_AREA_CRS = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global: areas in m²
#: Vertices closer than this (about 1 cm) are snapped together when a level's coverage is
#: cleaned. Datum conversion bends long straight edges a little differently from the split
#: edges of the neighbour, leaving sub-millimetre slivers that GEOS reports as invalid.
SNAP_DEG = 1e-7
#: An invalid polygon whose two possible repairs differ by more than this share of area is
#: quarantined (REPAIR_CHANGED_AREA) instead of repaired.
REPAIR_AREA_TOLERANCE = 0.01
#: A unit with more than this share of its area outside its parent is reported not nested.
NESTING_TOLERANCE = 0.01
#: Gaps narrower than this (about 10 m) inside a level count as slivers in the report.
GAP_WIDTH_DEG = 1e-4
#: Overlaps below this share of a level's area are cleaned away as digitising noise.
CLEAN_OVERLAP_SHARE = 1e-4


@dataclass
class BoundaryResult:
    """Units of every level plus what was rejected or repaired, with reasons."""

    units: gpd.GeoDataFrame
    rejected: pd.DataFrame
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Offending edges per level (overlaps, gaps, unmatched vertices), WGS-84 WKT.
    invalid_edges: pd.DataFrame = field(default_factory=pd.DataFrame)


def read_boundaries(spec: SourceSpec) -> BoundaryResult:
    """Read, convert, validate and link all boundary levels of ``spec``."""
    frames: list[gpd.GeoDataFrame] = []
    rejected: list[pd.DataFrame] = []
    edges: list[pd.DataFrame] = []
    stats: dict[str, dict[str, Any]] = {}
    by_level: dict[str, pd.DataFrame] = {
        "city": pd.DataFrame({"unit_id": [spec.city_id], "name_source": [spec.city_name]})
    }
    for level in spec.levels:
        good, bad, st, bad_edges = _read_level(spec, level, by_level[level.parent])
        by_level[level.name] = good
        frames.append(good)
        rejected.append(bad)
        edges.append(bad_edges)
        stats[level.name] = st
    units = pd.concat(frames, ignore_index=True).drop(columns="name_source")
    dup = units["unit_id"].duplicated(keep=False)
    if dup.any():
        clash = units.loc[dup].groupby("unit_id")["level"].agg(list).head(5).to_dict()
        raise SpecError(
            f"unit codes repeat across levels {clash}: give the levels an id_prefix in "
            "[[boundaries.levels]] so every code is unique"
        )
    tops = units.loc[units["depth"] == 1]
    city = gpd.GeoDataFrame(
        {
            "unit_id": [spec.city_id],
            "level": ["city"],
            "hierarchy": [None],
            "depth": [0],
            "parent_id": [None],
            "name_zh": [spec.city_name],
            "name_en": [spec.city_name_en],
            "population": [np.nan],
        },
        geometry=[shapely.union_all(np.asarray(tops.geometry.values, dtype=object))],
        crs="EPSG:4326",
    )
    units = gpd.GeoDataFrame(pd.concat([city, units], ignore_index=True), crs="EPSG:4326")
    units = _fill_population(units, spec)
    units["area_km2"] = units.to_crs(EQUAL_AREA_CRS).area / 1e6
    return BoundaryResult(
        units,
        pd.concat(rejected, ignore_index=True),
        stats,
        pd.concat(edges, ignore_index=True),
    )


def _read_level(
    spec: SourceSpec, level: LevelSpec, parents: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    path = spec.root / level.file
    if not path.is_file():
        raise SpecError(f"boundary file for level {level.name} not found: {path}")
    # GeoParquet through pyarrow (GDAL's Parquet driver is not in the pyogrio wheel);
    # GeoJSON, Shapefile, GeoPackage, FlatGeobuf ... through pyogrio.
    raw = gpd.read_parquet(path) if path.suffix.lower() == ".parquet" else gpd.read_file(path)
    needed = [level.id_field, level.name_field]
    if level.parent != "city":
        needed.append(level.parent_field)
    missing = [f for f in needed if f not in raw.columns]
    if missing:
        raise SpecError(
            f"{path.name} (level {level.name}): missing fields {missing}; it has "
            f"{[c for c in raw.columns if c != 'geometry']}"
        )
    ids = raw[level.id_field].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    frame = pd.DataFrame(
        {
            "unit_id": level.id_prefix + ids,
            "level": level.name,
            "hierarchy": level.hierarchy,
            "depth": level.depth,
            "parent_id": _parent_ids(spec, level, raw, parents),
            "name_zh": _names(raw[level.name_field], level.name_zh_template),
            "name_en": _names(
                raw[level.name_en_field]
                if level.name_en_field in raw.columns
                else raw[level.name_field],
                level.name_en_template,
            ),
            "population": _population(spec, level, raw, ids),
            # the name as the file has it: what a child's parent_field may refer to
            "name_source": raw[level.name_field].astype("string").str.strip(),
        }
    )
    geoms = np.asarray(raw.geometry.values, dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms = geoms.copy()
    geoms[empty] = None
    geoms = geometry_to_wgs84(geoms, source=spec.boundary_coord_sys)
    invalid = ~empty & ~shapely.is_valid(geoms)
    repaired = shapely.make_valid(geoms, method="structure")
    # A repair is safe when the two GEOS readings of the rings (shells and holes, or the
    # raw linework) give the same area within 1 %; otherwise nobody can say which shape
    # was meant, and the unit is quarantined for the GIS team rather than guessed.
    other = shapely.make_valid(geoms, method="linework")
    area, other_area = shapely.area(repaired), shapely.area(other)
    ambiguous = invalid & (
        np.abs(area - other_area) > REPAIR_AREA_TOLERANCE * np.maximum(area, other_area)
    )
    geoms = np.where(invalid, repaired, geoms)
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    reason[ids.isna() | (ids == "")] = "MISSING_ID"
    reason[reason.isna() & pd.Series(empty, index=frame.index)] = "EMPTY_GEOMETRY"
    reason[reason.isna() & pd.Series(ambiguous, index=frame.index)] = "REPAIR_CHANGED_AREA"
    reason[reason.isna() & frame["unit_id"].duplicated()] = "DUPLICATE_ID"
    parent_ok = frame["parent_id"].isin(set(parents["unit_id"]))
    reason[reason.isna() & ~parent_ok] = "UNKNOWN_PARENT"
    keep = reason.isna().to_numpy()
    bad = pd.DataFrame(
        {
            "dataset": f"boundary_{level.name}",
            "source_file": str(path),
            "source_row": np.flatnonzero(~keep),
            "reason": reason[~keep].to_numpy(),
            "raw": [
                r.to_json(force_ascii=False, default_handler=str)
                for _, r in raw.loc[~keep].drop(columns="geometry").iterrows()
            ],
        }
    )
    kept = np.asarray(geoms[keep], dtype=object)
    ids = frame.loc[keep, "unit_id"].to_numpy()
    source = coverage_report(kept, ids)
    report = source
    if len(kept) > 1 and source["overlap_share"] < CLEAN_OVERLAP_SHARE:
        # A tiling with only noise between neighbours is cleaned into an exact one, and
        # measured again: the report is about the layer the points are assigned to. Real
        # overlaps (LA's neighbourhood councils) are kept and decided per point.
        kept = shapely.coverage_clean(kept, snapping_distance=SNAP_DEG)
        report = coverage_report(kept, ids)
    good = gpd.GeoDataFrame(
        frame.loc[keep].reset_index(drop=True), geometry=list(kept), crs="EPSG:4326"
    )
    st: dict[str, Any] = {
        "rows_in": len(raw),
        "accepted": int(keep.sum()),
        "quarantined": int((~keep).sum()),
        "quarantined_reasons": {str(k): int(n) for k, n in reason.value_counts().items()},
        "repaired": int(invalid.sum()),
        "invalid_edges_in_source": source["invalid_edges"],
        "overlap_pairs": report["overlap_pairs"],
        "overlap_km2": report["overlap_km2"],
        "gap_km2": report["gap_km2"],
        "invalid_edges": report["invalid_edges"],
    }
    nesting = _not_nested(good, parents)
    st["not_nested"] = len(nesting)
    edges = pd.concat([report["edges"], nesting], ignore_index=True)
    edges.insert(0, "level", level.name)
    return good, bad, st, edges


def _not_nested(units: gpd.GeoDataFrame, parents: pd.DataFrame) -> pd.DataFrame:
    """Units lying partly outside their parent (more than ``NESTING_TOLERANCE``).

    They stay where the file puts them (their points count under their declared parent);
    the pieces outside are reported for the GIS team as ``outside_parent``.
    """
    columns = ["kind", "unit_id", "other_unit_id", "area_m2", "wkt"]
    if "geometry" not in parents or units.empty:
        return pd.DataFrame(columns=columns)
    parent_geom = dict(zip(parents["unit_id"], parents.geometry, strict=True))
    child = np.asarray(units.geometry.values, dtype=object)
    parent = np.array([parent_geom.get(p) for p in units["parent_id"]], dtype=object)
    has = np.array([p is not None for p in parent])
    outside = np.full(len(child), None, dtype=object)
    outside[has] = shapely.difference(child[has], parent[has])
    share = np.zeros(len(child))
    area = shapely.area(child)
    share[has] = shapely.area(outside[has]) / np.maximum(area[has], 1e-18)
    bad = np.flatnonzero(share > NESTING_TOLERANCE)
    m2 = (111_320.0**2) * _cos(child) if len(child) else 0.0
    return pd.DataFrame(
        [
            (
                "outside_parent",
                str(units["unit_id"].iloc[i]),
                str(units["parent_id"].iloc[i]),
                round(shapely.area(outside[i]) * m2, 1),
                shapely.to_wkt(outside[i], 7),
            )
            for i in bad
        ],
        columns=columns,
    )


def _names(values: pd.Series, template: str) -> pd.Series:
    text = values.astype("string").str.strip()
    return text if template == "{}" else text.map(template.format, na_action="ignore")


def _parent_ids(
    spec: SourceSpec, level: LevelSpec, raw: pd.DataFrame, parents: pd.DataFrame
) -> pd.Series:
    if level.parent == "city":
        # A top-level file that names its city must name ours (a neighbour's district in the
        # file is quarantined UNKNOWN_PARENT); one that does not is the city's by definition.
        if level.parent_field in raw.columns:
            named = raw[level.parent_field].astype("string").str.strip()
            return named.fillna(spec.city_id).str.replace(r"\.0$", "", regex=True)
        return pd.Series(spec.city_id, index=raw.index, dtype="string")
    value = raw[level.parent_field].astype("string").str.strip()
    parent_spec = spec.level(level.parent)
    if level.parent_key == "name":
        by_name = dict(zip(parents["name_source"].astype(str), parents["unit_id"], strict=True))
        return value.map(by_name).astype("string")
    return (parent_spec.id_prefix + value.str.replace(r"\.0$", "", regex=True)).astype("string")


def _population(spec: SourceSpec, level: LevelSpec, raw: pd.DataFrame, ids: pd.Series) -> Any:
    if level.population_file:
        table = pd.read_csv(spec.root / level.population_file, dtype=str)
        for col in (level.population_id_field, level.population_field):
            if col not in table.columns:
                raise SpecError(f"{level.population_file}: no column {col!r}")
        key = table[level.population_id_field].str.strip().str.replace(r"\.0$", "", regex=True)
        values = pd.to_numeric(table[level.population_field], errors="coerce")
        return ids.map(dict(zip(key, values, strict=True))).astype(float).to_numpy()
    if level.population_field in raw.columns:
        return pd.to_numeric(raw[level.population_field], errors="coerce").to_numpy()
    return np.nan


def coverage_report(geoms: np.ndarray, ids: np.ndarray) -> dict[str, Any]:
    """Measure how far a level is from a clean tiling, and where.

    Returns the number of polygons with unmatched shared edges, the overlapping pairs and
    their area, the area of holes inside the level's outline (gaps), and a table of the
    offending pieces (``kind`` overlap / gap / edge, the unit ids, WKT) for the GIS team.
    """
    out: dict[str, Any] = {
        "invalid_edges": 0,
        "overlap_pairs": 0,
        "overlap_km2": 0.0,
        "overlap_share": 0.0,
        "gap_km2": 0.0,
    }
    rows: list[tuple[str, str, str, float, str]] = []
    m2 = (111_320.0**2) * _cos(geoms) if len(geoms) else 0.0
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) >= 2:
        edges = shapely.coverage_invalid_edges(geoms)
        bad = ~shapely.is_empty(edges)
        out["invalid_edges"] = int(bad.sum())
        rows += [
            ("edge", str(ids[i]), "", 0.0, shapely.to_wkt(edges[i], 7)) for i in np.flatnonzero(bad)
        ]
        tree = shapely.STRtree(geoms)
        # "intersects", not "overlaps": a unit drawn wholly inside another does not "overlap"
        left, right = tree.query(geoms, predicate="intersects")
        pairs = left < right
        left, right = left[pairs], right[pairs]
        inter = shapely.intersection(geoms[left], geoms[right])
        area = shapely.area(inter)
        real = area > 0
        out["overlap_pairs"] = int(real.sum())
        out["overlap_km2"] = round(float(area[real].sum()) * 111.32**2 * _cos(geoms), 3)
        total = float(shapely.area(geoms).sum())
        out["overlap_share"] = float(area[real].sum()) / total if total else 0.0
        rows += [
            ("overlap", f"{ids[a]}", f"{ids[b]}", round(g.area * m2, 1), shapely.to_wkt(g, 7))
            for a, b, g in zip(left[real], right[real], inter[real], strict=True)
        ]
        outline = shapely.union_all(geoms)
        holes = [
            shapely.Polygon(ring)
            for part in getattr(outline, "geoms", [outline])
            for ring in getattr(part, "interiors", [])
        ]
        gap_area = sum(h.area for h in holes)
        out["gap_km2"] = round(gap_area * 111.32**2 * _cos(geoms), 3)
        rows += [
            ("gap", "", "", round(h.area * m2, 1), shapely.to_wkt(h, 7))
            for h in holes
            if h.area > 0
        ]
    out["edges"] = pd.DataFrame(
        rows, columns=["kind", "unit_id", "other_unit_id", "area_m2", "wkt"]
    ).sort_values(["kind", "area_m2"], ascending=[True, False], ignore_index=True)
    return out


def _cos(geoms: np.ndarray) -> float:
    """Cosine of the level's mean latitude: degrees² to km² near there."""
    miny, maxy = shapely.total_bounds(geoms)[[1, 3]]
    return float(np.cos(np.radians((miny + maxy) / 2)))


def _fill_population(units: gpd.GeoDataFrame, spec: SourceSpec) -> gpd.GeoDataFrame:
    """Fill each unit's population bottom-up where only its children carry it.

    The city takes its primary hierarchy's sum. Units still without a population get
    theirs from the population surface in the geoindex stage.
    """
    out = units.copy()
    for hierarchy, levels in spec.hierarchies.items():
        uppers = ("city", *[lv.name for lv in levels[:-1]])
        for upper, lower in reversed(list(zip(uppers, levels, strict=True))):
            if upper == "city" and hierarchy != spec.primary_hierarchy:
                continue
            child = out.loc[out["level"] == lower.name]
            sums = child.groupby("parent_id")["population"].sum(min_count=1)
            mask = (out["level"] == upper) & out["population"].isna()
            if mask.any():
                out.loc[mask, "population"] = out.loc[mask, "unit_id"].map(sums).astype(float)
    return out
