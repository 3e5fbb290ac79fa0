"""GCJ-02 / BD-09 conversion: reference pairs, round trips, real DataV polygons."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import coords
from tests.conftest import shared_data

# Beijing railway station, GCJ-02 and BD-09 (reference pair from the geoChina docs).
BJ_GCJ = (116.42703, 39.90245)
BJ_BD = (116.43351, 39.90851)
METRES_PER_DEG = 111_320.0


def test_bd09_reference_pair_converts_both_ways():
    lng, lat = coords.gcj02_to_bd09(lng=[BJ_GCJ[0]], lat=[BJ_GCJ[1]])
    assert lng[0] == pytest.approx(BJ_BD[0], abs=2e-5)
    assert lat[0] == pytest.approx(BJ_BD[1], abs=2e-5)
    back_lng, back_lat = coords.bd09_to_gcj02(lng=lng, lat=lat)
    assert back_lng[0] == pytest.approx(BJ_GCJ[0], abs=1e-6)
    assert back_lat[0] == pytest.approx(BJ_GCJ[1], abs=1e-6)


def test_gcj02_offset_in_shenzhen_is_several_hundred_metres():
    lng, lat = coords.wgs84_to_gcj02(lng=[114.05], lat=[22.55])
    shift = np.hypot((lng[0] - 114.05) * np.cos(np.radians(22.55)), lat[0] - 22.55)
    assert 300 < shift * METRES_PER_DEG < 800


@settings(max_examples=200, deadline=None)
@given(st.floats(113.5, 114.9), st.floats(22.2, 23.0))
def test_gcj02_round_trip_error_is_below_a_millimetre(lng, lat):
    g_lng, g_lat = coords.wgs84_to_gcj02(lng=[lng], lat=[lat])
    w_lng, w_lat = coords.gcj02_to_wgs84(lng=g_lng, lat=g_lat)
    assert abs(w_lng[0] - lng) * METRES_PER_DEG < 1e-3
    assert abs(w_lat[0] - lat) * METRES_PER_DEG < 1e-3


@settings(max_examples=100, deadline=None)
@given(st.floats(113.5, 114.9), st.floats(22.2, 23.0))
def test_bd09_round_trip_through_to_and_from_wgs84(lng, lat):
    b_lng, b_lat = coords.from_wgs84(lng=[lng], lat=[lat], target="BD09")
    w_lng, w_lat = coords.to_wgs84(lng=b_lng, lat=b_lat, source="BD09")
    assert abs(w_lng[0] - lng) * METRES_PER_DEG < 0.5
    assert abs(w_lat[0] - lat) * METRES_PER_DEG < 0.5


def test_nan_coordinates_stay_nan():
    lng, _ = coords.gcj02_to_wgs84(lng=[np.nan, 114.0], lat=[22.5, 22.5])
    assert np.isnan(lng[0]) and np.isfinite(lng[1])


def test_unknown_coordinate_system_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown coordinate system"):
        coords.to_wgs84(lng=[114.0], lat=[22.5], source="Mars")


@pytest.mark.shared
def test_datav_gcj02_polygons_convert_to_the_published_wgs84_file():
    """The shared folder ships Shenzhen districts in GCJ-02 and their WGS-84 conversion."""
    gcj = json.loads(
        shared_data("shenzhen-admin", "shenzhen_districts_datav_gcj02.geojson").read_text(
            encoding="utf-8"
        )
    )
    wgs = json.loads(
        shared_data("shenzhen-admin", "shenzhen_districts_wgs84.geojson").read_text(
            encoding="utf-8"
        )
    )
    for f_gcj, f_wgs in zip(gcj["features"], wgs["features"], strict=True):
        a = np.array(_flatten(f_gcj["geometry"]["coordinates"]))
        b = np.array(_flatten(f_wgs["geometry"]["coordinates"]))
        lng, lat = coords.gcj02_to_wgs84(lng=a[:, 0], lat=a[:, 1])
        err_m = np.hypot(lng - b[:, 0], lat - b[:, 1]).max() * METRES_PER_DEG
        assert err_m < 0.01, f_gcj["properties"]["name"]


def _flatten(nested):
    if isinstance(nested[0], (int, float)):
        return [nested[:2]]
    out = []
    for item in nested:
        out.extend(_flatten(item))
    return out


def test_web_mercator_metres_convert_to_degrees_and_back():
    lng, lat = coords.from_wgs84(lng=[114.05], lat=[22.55], target="EPSG:3857")
    assert lng[0] == pytest.approx(6_378_137 * np.radians(114.05), abs=0.01)  # metres
    back_lng, back_lat = coords.to_wgs84(lng=lng, lat=lat, source="epsg:3857")
    assert back_lng[0] == pytest.approx(114.05, abs=1e-9)
    assert back_lat[0] == pytest.approx(22.55, abs=1e-9)


def test_cgcs2000_is_within_a_metre_of_wgs84():
    lng, lat = coords.to_wgs84(lng=[114.05], lat=[22.55], source="EPSG:4490")
    assert abs(lng[0] - 114.05) * METRES_PER_DEG < 1
    assert abs(lat[0] - 22.55) * METRES_PER_DEG < 1


def test_an_unknown_epsg_code_is_refused_by_name():
    with pytest.raises(ValueError, match="EPSG:999999"):
        coords.check_coord_sys("EPSG:999999")
