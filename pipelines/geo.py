"""Point location against admin polygons: validation, datum conversion, H3 crosswalk.

``locate`` assigns every point to exactly one unit of a layer (a hierarchy's finest level)
or to none, with a status that says which rule decided:

- ``no_location``: missing or non-numeric coordinate; ``null_island``: (0, 0);
  ``out_of_range``: |lat| > 90 or |lng| > 180. Checked *before* H3, which wraps bad input.
- ``interior``: the point's H3 cell lies wholly inside one unit (shrunk by ``MARGIN_DEG``),
  so a crosswalk lookup is exact.
- ``exact``: the cell straddles a boundary, so the point was tested against the polygons;
  a point on a shared edge goes to the smallest unit id, deterministically.
- ``overlap``: the point lies inside two or more overlapping units (real layers such as
  LA's neighbourhood councils overlap); the smallest by area wins, then the smallest id.
- ``snapped``: in no unit but within ``snap_m`` of one (GPS noise, a gap between units):
  given to the nearest unit.
- ``outside``: inside the city's outline but in no unit and farther than ``snap_m`` from
  all (a gap in the layer). Counted as unassigned at that layer's levels, never dropped.
- ``out_of_area``: outside the city's outline (plus ``snap_m``): the sea, a neighbouring
  city, a geocoder error. Counted in the city's totals as unassigned, never dropped.

A point outside the city's extent whose swapped coordinates fall inside it had its axes
swapped at the source (lat in the lng column): it is swapped back and flagged
``axis_swapped``, then located like any other point. A point given with three decimals or
fewer (about 100 m) is flagged ``low_precision``: it is still assigned, but it can make a
false hotspot where a geocoder fell back to a rounded or central point.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from pipelines import h3index
from pipelines.coords import CoordSys, to_wgs84

#: Coordinates that are whole multiples of this are "three decimals or fewer".
LOW_PRECISION_STEP = 1e-3
#: Polygons are shrunk by this much (about 0.2 m) before full-containment cell covers, so
#: that the planar-vs-geodesic difference of cell edges can never misassign a point.
MARGIN_DEG = 2e-6
#: Metres per degree of latitude; a snap distance in degrees of latitude is never longer than
#: ``snap_m`` in any direction (a degree of longitude is shorter).
M_PER_DEG = 111_320.0
GEO_STATUSES = (
    "interior",
    "exact",
    "overlap",
    "snapped",
    "outside",
    "out_of_area",
    "no_location",
    "null_island",
    "out_of_range",
)


@dataclass
class Crosswalk:
    """Interior cells (sorted) and the index of the grid each lies in."""

    res: int
    cells: npt.NDArray[np.int64]
    grid_index: npt.NDArray[np.int32]

    @property
    def key(self) -> str:
        """Content hash, to reuse the crosswalk when boundaries have not changed."""
        return hashlib.sha256(self.cells.tobytes() + self.grid_index.tobytes()).hexdigest()[:16]


def geometry_key(geoms: npt.ArrayLike, res: int) -> str:
    """Hash of the polygons and resolution a crosswalk is built from."""
    h = hashlib.sha256(f"{res}:{MARGIN_DEG}".encode())
    for wkb in shapely.to_wkb(np.asarray(geoms, dtype=object)):
        h.update(wkb)
    return h.hexdigest()[:16]


def build_crosswalk(geoms: npt.ArrayLike, res: int) -> Crosswalk:
    """Cells at ``res`` lying wholly inside one polygon and touching no other.

    Cells in or across an overlap of two polygons are left out, so their points take the
    exact path and the overlap rule.
    """
    polys = np.asarray(geoms, dtype=object).copy()
    # Where units overlap, no cell can be decided by lookup: cut the overlaps out first.
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="intersects")
    other = left != right
    left, right = left[other], right[other]
    shared = shapely.area(shapely.intersection(polys[left], polys[right])) > 0
    left, right = left[shared], right[shared]
    original = polys.copy()
    for i in np.unique(left):
        polys[i] = shapely.difference(original[i], shapely.union_all(original[right[left == i]]))
    shrunk = shapely.buffer(polys, -MARGIN_DEG)
    cells: list[npt.NDArray[np.int64]] = []
    index: list[npt.NDArray[np.int32]] = []
    for i, geom in enumerate(shrunk):
        if geom is None or geom.is_empty:
            continue
        c = h3index.polygon_cells(geom, res, contain="full")
        cells.append(c)
        index.append(np.full(len(c), i, dtype=np.int32))
    all_cells = np.concatenate(cells) if cells else np.empty(0, np.int64)
    all_index = np.concatenate(index) if index else np.empty(0, np.int32)
    order = np.argsort(all_cells, kind="stable")
    all_cells, all_index = all_cells[order], all_index[order]
    if len(all_cells):
        repeated = np.zeros(len(all_cells), dtype=bool)
        same = np.diff(all_cells) == 0
        repeated[1:] |= same
        repeated[:-1] |= same
        all_cells, all_index = all_cells[~repeated], all_index[~repeated]
    return Crosswalk(res, all_cells, all_index)


@dataclass
class Layer:
    """Everything :func:`locate` needs about one layer of polygons (sorted by unit id)."""

    crosswalk: Crosswalk
    geoms: npt.NDArray[np.object_]
    tree: shapely.STRtree
    area: npt.NDArray[np.float64]
    outline: shapely.Geometry | None = None
    snap_m: float = 0.0

    @classmethod
    def build(
        cls,
        geoms: npt.ArrayLike,
        res: int,
        *,
        outline: shapely.Geometry | None = None,
        snap_m: float = 0.0,
        crosswalk: Crosswalk | None = None,
    ) -> Layer:
        """Index ``geoms`` for point location (``crosswalk`` reuses a cached one)."""
        g = np.asarray(geoms, dtype=object)
        if outline is not None:
            shapely.prepare(outline)
        return cls(
            crosswalk=crosswalk if crosswalk is not None else build_crosswalk(g, res),
            geoms=g,
            tree=shapely.STRtree(g),
            area=shapely.area(g),
            outline=outline,
            snap_m=snap_m,
        )


def locate(
    lng_src: npt.ArrayLike,
    lat_src: npt.ArrayLike,
    *,
    coord_sys: CoordSys,
    layer: Layer,
    extent: tuple[float, float, float, float] | None = None,
) -> pd.DataFrame:
    """Validate, convert and assign points; see the module docstring for the statuses.

    ``extent`` (min lng, min lat, max lng, max lat, in the source's datum, generously
    buffered) enables the swapped-axes repair.

    Returns
    -------
    pandas.DataFrame
        Columns ``lng``, ``lat`` (WGS-84, NaN without a location), ``cell`` (0 without a
        location), ``grid_index`` (index into the layer, -1 when unassigned),
        ``geo_status``, ``axis_swapped`` and ``low_precision``.
    """
    points = prepare_points(
        lng_src, lat_src, coord_sys=coord_sys, res=layer.crosswalk.res, extent=extent
    )
    index, status = assign(points, layer)
    points["grid_index"] = index
    points["geo_status"] = np.where(points["usable"], status, points["geo_status"])
    return points.drop(columns="usable")


def prepare_points(
    lng_src: npt.ArrayLike,
    lat_src: npt.ArrayLike,
    *,
    coord_sys: CoordSys,
    res: int,
    extent: tuple[float, float, float, float] | None = None,
) -> pd.DataFrame:
    """Check, unswap and convert points to WGS-84 and their H3 cell at ``res``.

    Returns ``lng``, ``lat``, ``cell``, ``usable``, ``geo_status`` (the reason a point is
    not usable, else ``""``), ``axis_swapped`` and ``low_precision``.
    """
    x = np.asarray(lng_src, dtype=np.float64)
    y = np.asarray(lat_src, dtype=np.float64)
    n = len(x)
    swapped = np.zeros(n, dtype=bool)
    if extent is not None:
        swapped = ~_inside(extent, x, y) & _inside(extent, y, x)
        x, y = np.where(swapped, y, x), np.where(swapped, x, y)
    status = np.full(n, "", dtype=object)
    missing = ~(np.isfinite(x) & np.isfinite(y))
    null_island = ~missing & (np.abs(x) < 1e-6) & (np.abs(y) < 1e-6)
    out_of_range = ~missing & ~null_island & ((np.abs(y) > 90) | (np.abs(x) > 180))
    status[missing] = "no_location"
    status[null_island] = "null_island"
    status[out_of_range] = "out_of_range"
    ok = ~(missing | null_island | out_of_range)
    lng = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lng[ok], lat[ok] = to_wgs84(lng=x[ok], lat=y[ok], source=coord_sys)
    cell = np.zeros(n, dtype=np.int64)
    cell[ok] = h3index.points_to_cells(lng=lng[ok], lat=lat[ok], res=res)
    return pd.DataFrame(
        {
            "lng": lng,
            "lat": lat,
            "cell": cell,
            "usable": ok,
            "geo_status": status,
            "axis_swapped": swapped,
            "low_precision": ok
            & _is_multiple(x, LOW_PRECISION_STEP)
            & _is_multiple(y, LOW_PRECISION_STEP),
        }
    )


def assign(
    points: pd.DataFrame, layer: Layer
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Unit index (-1 for none) and deciding rule for the usable points of ``points``."""
    ok = points["usable"].to_numpy()
    lng = points["lng"].to_numpy()
    lat = points["lat"].to_numpy()
    cell = points["cell"].to_numpy()
    n = len(ok)
    xw = layer.crosswalk
    status = np.full(n, "", dtype=object)
    unit = np.full(n, -1, dtype=np.int64)
    if len(xw.cells):
        pos = np.minimum(np.searchsorted(xw.cells, cell), len(xw.cells) - 1)
        hit = ok & (xw.cells[pos] == cell)
        unit[hit] = xw.grid_index[pos[hit]]
        status[hit] = "interior"
    else:
        hit = np.zeros(n, dtype=bool)
    todo = np.flatnonzero(ok & ~hit)
    if len(todo) == 0:
        return unit, status
    pts = shapely.points(lng[todo], lat[todo])
    q_in, q_tree = layer.tree.query(pts, predicate="intersects")
    if len(q_in):
        inside = shapely.contains_properly(layer.geoms[q_tree], pts[q_in])
        n_inside = np.bincount(q_in[inside], minlength=len(todo))
        # Rank candidates: strictly inside first, then smaller area (overlaps), then the
        # smaller index (shared edges, equal areas); the first per point wins.
        area_key = np.where(inside, layer.area[q_tree], np.inf)
        order = np.lexsort((q_tree, area_key, ~inside, q_in))
        q_in, q_tree = q_in[order], q_tree[order]
        first = np.r_[True, q_in[1:] != q_in[:-1]]
        chosen = todo[q_in[first]]
        unit[chosen] = q_tree[first]
        status[chosen] = np.where(n_inside[q_in[first]] > 1, "overlap", "exact")
    rest = todo[unit[todo] < 0]
    if len(rest) and layer.snap_m > 0:
        pts = shapely.points(lng[rest], lat[rest])
        q_in, q_tree = layer.tree.query_nearest(
            pts, max_distance=layer.snap_m / M_PER_DEG, all_matches=False
        )
        unit[rest[q_in]] = q_tree
        status[rest[q_in]] = "snapped"
    rest = todo[unit[todo] < 0]
    if len(rest):
        if layer.outline is None:
            status[rest] = "outside"
        else:
            pts = shapely.points(lng[rest], lat[rest])
            near = shapely.dwithin(layer.outline, pts, layer.snap_m / M_PER_DEG)
            status[rest] = np.where(near, "outside", "out_of_area")
    return unit, status


def ids_of(index: npt.NDArray[np.int64], ids: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Unit ids for layer indexes from :func:`assign` (``None`` where the index is -1)."""
    out = np.full(len(index), None, dtype=object)
    hit = index >= 0
    out[hit] = ids[index[hit]]
    return out


def _inside(
    extent: tuple[float, float, float, float],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    minx, miny, maxx, maxy = extent
    return (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)


def _is_multiple(values: npt.NDArray[np.float64], step: float) -> npt.NDArray[np.bool_]:
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 / 1e-3 is inf: not a multiple
        scaled = values / step
        return np.isfinite(scaled) & (np.abs(scaled - np.round(scaled)) < 1e-6)
