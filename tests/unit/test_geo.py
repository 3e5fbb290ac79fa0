"""Point location: the H3 crosswalk must agree exactly with point-in-polygon."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from pipelines import geo

# Two hand-drawn grids in Shenzhen sharing a slanted edge, and a third, separate one.
WEST = Polygon([(114.000, 22.500), (114.020, 22.500), (114.025, 22.520), (114.000, 22.520)])
EAST = Polygon([(114.020, 22.500), (114.040, 22.500), (114.040, 22.520), (114.025, 22.520)])
ISLAND = Polygon([(114.060, 22.500), (114.065, 22.500), (114.065, 22.505), (114.060, 22.505)])
GRIDS = np.array([WEST, EAST, ISLAND], dtype=object)


@pytest.fixture(scope="module")
def layer() -> geo.Layer:
    return geo.Layer.build(GRIDS, 11)


@pytest.fixture(scope="module")
def crosswalk(layer: geo.Layer) -> geo.Crosswalk:
    return layer.crosswalk


def brute_force(lng: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Smallest index of a polygon covering each point, -1 if none (the reference)."""
    pts = shapely.points(lng, lat)
    out = np.full(len(lng), -1)
    for i in reversed(range(len(GRIDS))):
        out[shapely.intersects(GRIDS[i], pts)] = i
    return out


def test_crosswalk_cells_never_belong_to_two_polygons(crosswalk):
    assert len(crosswalk.cells) > 100
    assert (np.diff(crosswalk.cells) > 0).all()


def test_every_random_point_gets_the_polygon_a_brute_force_test_gives(layer):
    rng = np.random.default_rng(3)
    lng = rng.uniform(113.995, 114.070, 20_000)
    lat = rng.uniform(22.495, 22.525, 20_000)
    located = geo.locate(lng, lat, coord_sys="WGS84", layer=layer)
    assert located["grid_index"].tolist() == brute_force(lng, lat).tolist()
    statuses = set(located["geo_status"])
    assert {"interior", "exact", "outside"} <= statuses


def test_points_on_the_shared_edge_go_to_the_smallest_grid(layer):
    t = np.linspace(0.0, 1.0, 201)
    lng = np.r_[114.020, 114.025, 114.020 + 0.005 * t]  # the two shared vertices first
    lat = np.r_[22.500, 22.520, 22.500 + 0.020 * t]
    pts = shapely.points(lng, lat)
    on_both = shapely.intersects(WEST, pts) & shapely.intersects(EAST, pts)
    assert on_both.sum() >= 2  # at least the shared vertices are exactly on both
    located = geo.locate(
        lng[on_both],
        lat[on_both],
        coord_sys="WGS84",
        layer=layer,
    )
    assert set(located["grid_index"]) == {0}


def test_bad_coordinates_are_kept_with_a_reason_and_never_indexed(layer):
    lng = np.array([np.nan, 0.0, 200.0, 114.01, 114.5])
    lat = np.array([22.51, 0.0, 22.5, 91.0, 22.9])
    located = geo.locate(lng, lat, coord_sys="WGS84", layer=layer)
    assert located["geo_status"].tolist() == [
        "no_location",
        "null_island",
        "out_of_range",
        "out_of_range",
        "outside",
    ]
    assert located["cell"].tolist()[:4] == [0, 0, 0, 0]
    assert (located["grid_index"] == -1).all()


def test_gcj02_input_is_converted_before_locating(layer):
    from pipelines.coords import wgs84_to_gcj02

    wgs_lng, wgs_lat = np.array([114.010]), np.array([22.510])  # inside WEST in WGS-84
    gcj_lng, gcj_lat = wgs84_to_gcj02(lng=wgs_lng, lat=wgs_lat)
    located = geo.locate(gcj_lng, gcj_lat, coord_sys="GCJ02", layer=layer)
    assert located["grid_index"].tolist() == [0]
    assert located["lng"].iloc[0] == pytest.approx(114.010, abs=1e-8)


def test_a_point_in_overlapping_units_goes_to_the_smaller_one():
    big = shapely.buffer(WEST, 0.002)
    overlapping = np.array([big, WEST], dtype=object)  # the big one has the smaller index
    layer = geo.Layer.build(overlapping, 11)
    rng = np.random.default_rng(5)
    lng = rng.uniform(114.001, 114.019, 2_000)
    lat = rng.uniform(22.501, 22.519, 2_000)
    located = geo.locate(lng, lat, coord_sys="WGS84", layer=layer)
    # every point is inside both: none may come from the crosswalk, all go to WEST
    assert set(located["geo_status"]) == {"overlap"}
    assert set(located["grid_index"]) == {1}
    outside_west = geo.locate(
        np.array([113.9995]), np.array([22.51]), coord_sys="WGS84", layer=layer
    )
    assert outside_west["grid_index"].tolist() == [0]
    assert outside_west["geo_status"].iloc[0] in ("interior", "exact")


def test_points_just_outside_snap_to_the_nearest_unit_and_far_ones_are_out_of_area():
    outline = shapely.union_all(GRIDS)
    layer = geo.Layer.build(GRIDS, 11, outline=outline, snap_m=200)
    # 100 m west of WEST; 100 m south of EAST; 1 km south of EAST; far out at sea
    lng = np.array([114.0 - 100 / 111_320 / np.cos(np.radians(22.51)), 114.03, 114.03, 114.5])
    lat = np.array([22.51, 22.5 - 100 / 111_320, 22.5 - 1000 / 111_320, 22.0])
    located = geo.locate(lng, lat, coord_sys="WGS84", layer=layer)
    assert located["geo_status"].tolist() == ["snapped", "snapped", "out_of_area", "out_of_area"]
    assert located["grid_index"].tolist() == [0, 1, -1, -1]


def test_a_point_in_a_gap_inside_the_city_is_outside_not_out_of_area():
    outline = shapely.box(113.99, 22.49, 114.08, 22.53)  # the city is bigger than its units
    layer = geo.Layer.build(GRIDS, 11, outline=outline, snap_m=200)
    located = geo.locate(np.array([114.05]), np.array([22.51]), coord_sys="WGS84", layer=layer)
    assert located["geo_status"].tolist() == ["outside"]
    assert located["grid_index"].tolist() == [-1]


def test_swapped_axes_inside_the_city_are_repaired_and_flagged(layer):
    extent = (113.9, 22.4, 114.2, 22.7)
    lng = np.array([22.510, 114.010, 40.0])  # swapped; normal; swapped but far away
    lat = np.array([114.010, 22.510, 116.0])
    located = geo.locate(lng, lat, coord_sys="WGS84", layer=layer, extent=extent)
    assert located["axis_swapped"].tolist() == [True, False, False]
    assert located["grid_index"].tolist() == [0, 0, -1]
    assert located["geo_status"].tolist()[2] == "out_of_range"


def test_coordinates_with_three_decimals_or_fewer_are_flagged_low_precision(layer):
    lng = np.array([114.01, 114.012345, 114.015, np.nan])
    lat = np.array([22.51, 22.512345, 22.5101, 22.51])
    located = geo.locate(lng, lat, coord_sys="WGS84", layer=layer)
    assert located["low_precision"].tolist() == [True, False, False, False]
    assert (located["grid_index"].iloc[:3] == 0).all()
