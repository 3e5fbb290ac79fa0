"""H3 boundary module: golden values, bit-arithmetic parents, SQL macros."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from pipelines import db, h3index
from pipelines.settings import Settings

# Golden point from h3-py's own suite (tests/test_lib/test_cells_and_edges.py).
SF_LAT, SF_LNG = 37.7752702151959, -122.418307270836
SF_RES9 = 617700169958293503  # '8928308280fffff'


def random_points(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(113.7, 114.7, n), rng.uniform(22.3, 22.9, n)


def test_points_to_cells_matches_the_h3_golden_value():
    cells = h3index.points_to_cells(lng=[SF_LNG], lat=[SF_LAT], res=9)
    assert cells.tolist() == [SF_RES9]
    assert h3.int_to_str(SF_RES9) == "8928308280fffff"


def test_points_to_cells_agrees_with_h3_py_on_many_points():
    lng, lat = random_points(2000)
    ours = h3index.points_to_cells(lng=lng, lat=lat, res=11)
    ref = [h3.str_to_int(h3.latlng_to_cell(y, x, 11)) for x, y in zip(lng, lat, strict=True)]
    assert ours.tolist() == ref


def test_missing_coordinates_get_cell_zero_instead_of_a_wrapped_cell():
    cells = h3index.points_to_cells(lng=[np.nan, 114.0], lat=[22.5, np.nan], res=9)
    assert cells.tolist() == [0, 0]


@pytest.mark.parametrize("res", range(11))
def test_bit_arithmetic_parent_equals_h3_cell_to_parent(res):
    lng, lat = random_points(500, seed=res)
    cells = h3index.points_to_cells(lng=lng, lat=lat, res=11)
    parents = h3index.cells_to_parent(cells, res)
    ref = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in cells]
    assert parents.tolist() == ref
    assert set(h3index.cell_resolution(parents).tolist()) == {res}


def test_sql_macros_compute_the_same_parents_as_h3(tmp_path):
    settings = Settings.from_env(environ={}, data_dir=tmp_path)
    con = db.connect(settings)
    lng, lat = random_points(300)
    cells = h3index.points_to_cells(lng=lng, lat=lat, res=11)
    for res in (7, 8, 9, 10):
        got = [
            r[0]
            for r in con.execute(
                "SELECT h3_parent(c, $r) FROM unnest($cells) t(c)",
                {"r": res, "cells": cells.tolist()},
            ).fetchall()
        ]
        assert got == h3index.cells_to_parent(cells, res).tolist()
    resolutions = con.execute(
        "SELECT DISTINCT h3_res(h3_parent(c, 8)) FROM unnest($cells) t(c)",
        {"cells": cells.tolist()},
    ).fetchall()
    assert resolutions == [(8,)]


def test_cell_ids_fit_signed_bigint():
    lng, lat = random_points(1000)
    cells = h3index.points_to_cells(lng=lng, lat=lat, res=15)
    assert (cells > 0).all()
    assert cells.dtype == np.int64


def test_boundary_json_is_a_closed_lng_lat_ring():
    import json

    ring = json.loads(h3index.cells_to_boundary_json([SF_RES9])[0])
    assert ring[0] == ring[-1]
    assert len(ring) == 7
    lngs = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    assert all(-122.43 < x < -122.41 for x in lngs)
    assert all(37.77 < y < 37.78 for y in lats)


def test_str_to_cell_rejects_garbage():
    assert h3index.str_to_cell("8928308280fffff") == SF_RES9
    with pytest.raises(ValueError, match="not an H3 cell"):
        h3index.str_to_cell("not-a-cell")
