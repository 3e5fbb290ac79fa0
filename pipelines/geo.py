"""Point location against admin polygons: validation, datum conversion, H3 crosswalk.

``locate`` assigns every point to exactly one grid or to none, with a status that says how:

- ``no_location``: missing or non-numeric coordinate; ``null_island``: (0, 0);
  ``out_of_range``: |lat| > 90 or |lng| > 180. Checked *before* H3, which wraps bad input.
- ``interior``: the point's H3 cell lies wholly inside one grid (shrunk by ``MARGIN_DEG``),
  so a crosswalk lookup is exact.
- ``exact``: the cell straddles a boundary, so the point was tested against the polygons;
  a point on a shared edge goes to the smallest grid id, deterministically.
- ``outside``: in no grid (the sea, a neighbouring city). Counted as unassigned, never dropped.

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
GEO_STATUSES = ("interior", "exact", "outside", "no_location", "null_island", "out_of_range")


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
    """Cells at ``res`` lying wholly inside each polygon (polygons must not overlap)."""
    shrunk = shapely.buffer(np.asarray(geoms, dtype=object), -MARGIN_DEG)
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
    if len(all_cells) and (np.diff(all_cells) == 0).any():
        raise ValueError("overlapping polygons: a cell lies wholly inside two of them")
    return Crosswalk(res, all_cells, all_index)


def locate(
    lng_src: npt.ArrayLike,
    lat_src: npt.ArrayLike,
    *,
    coord_sys: CoordSys,
    crosswalk: Crosswalk,
    tree: shapely.STRtree,
    extent: tuple[float, float, float, float] | None = None,
) -> pd.DataFrame:
    """Validate, convert and assign points; see the module docstring for the statuses.

    ``extent`` (min lng, min lat, max lng, max lat, in the source's datum, generously
    buffered) enables the swapped-axes repair.

    Returns
    -------
    pandas.DataFrame
        Columns ``lng``, ``lat`` (WGS-84, NaN without a location), ``cell`` (0 without a
        location), ``grid_index`` (-1 when unassigned), ``geo_status``, ``axis_swapped`` and
        ``low_precision``.
    """
    x = np.asarray(lng_src, dtype=np.float64)
    y = np.asarray(lat_src, dtype=np.float64)
    n = len(x)
    swapped = np.zeros(n, dtype=bool)
    if extent is not None:
        swapped = ~_inside(extent, x, y) & _inside(extent, y, x)
        x, y = np.where(swapped, y, x), np.where(swapped, x, y)
    status = np.full(n, "outside", dtype=object)
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
    cell[ok] = h3index.points_to_cells(lng=lng[ok], lat=lat[ok], res=crosswalk.res)
    grid = np.full(n, -1, dtype=np.int64)
    pos = np.searchsorted(crosswalk.cells, cell)
    pos = np.minimum(pos, max(len(crosswalk.cells) - 1, 0))
    hit = ok & (len(crosswalk.cells) > 0)
    hit &= crosswalk.cells[pos] == cell if len(crosswalk.cells) else np.zeros(n, bool)
    grid[hit] = crosswalk.grid_index[pos[hit]]
    status[hit] = "interior"
    todo = np.flatnonzero(ok & ~hit)
    if len(todo):
        pts = shapely.points(lng[todo], lat[todo])
        q_in, q_tree = tree.query(pts, predicate="intersects")
        if len(q_in):
            # smallest grid index wins on shared edges: sort by (point, tree index), keep first
            order = np.lexsort((q_tree, q_in))
            q_in, q_tree = q_in[order], q_tree[order]
            first = np.r_[True, q_in[1:] != q_in[:-1]]
            grid[todo[q_in[first]]] = q_tree[first]
            status[todo[q_in[first]]] = "exact"
    return pd.DataFrame(
        {
            "lng": lng,
            "lat": lat,
            "cell": cell,
            "grid_index": grid,
            "geo_status": status,
            "axis_swapped": swapped,
            "low_precision": ok
            & _is_multiple(x, LOW_PRECISION_STEP)
            & _is_multiple(y, LOW_PRECISION_STEP),
        }
    )


def _inside(
    extent: tuple[float, float, float, float],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    minx, miny, maxx, maxy = extent
    return (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)


def _is_multiple(values: npt.NDArray[np.float64], step: float) -> npt.NDArray[np.bool_]:
    scaled = values / step
    return np.isfinite(scaled) & (np.abs(scaled - np.round(scaled)) < 1e-6)
