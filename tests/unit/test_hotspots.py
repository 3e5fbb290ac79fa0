"""Hotspots: Gi* of the excess over expectation, clusters, emerging ones, repeat addresses.

Fields are synthetic and seeded: H3 res-9 cells over a 20 x 20 km square in Shenzhen,
Poisson counts around an expectation (flat, or a town over a thin background), and
planted excess on known disks.
"""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from pipelines import h3index, hotspots

LNG0, LAT0 = 114.05, 22.55  # Futian, Shenzhen


def study_area(half_km: float = 10.0, res: int = 9) -> np.ndarray:
    dlat = half_km / 110.57
    dlng = half_km / (111.32 * np.cos(np.radians(LAT0)))
    square = box(LNG0 - dlng, LAT0 - dlat, LNG0 + dlng, LAT0 + dlat)
    return np.sort(h3index.polygon_cells(square, res))


CELLS = study_area()  # about 3,900 cells


def disk(centre: int, k: int = 1) -> np.ndarray:
    return np.array([h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(int(centre)), k)])


def cell_at(lng: float, lat: float) -> int:
    return int(h3index.points_to_cells(lng=[lng], lat=[lat], res=9)[0])


def town(cells: np.ndarray, *, background: float, peak: float, sigma_km: float = 2.0):
    """Expected requests: a town centred on (LNG0, LAT0) over a thin background."""
    lng, lat = h3index.cell_centers(cells)
    dx = (lng - LNG0) * 111.32 * np.cos(np.radians(LAT0))
    dy = (lat - LAT0) * 110.57
    return background + peak * np.exp(-(dx**2 + dy**2) / (2 * sigma_km**2))


def km_between(lng1, lat1, lng2, lat2) -> float:
    return float(
        np.hypot((lng1 - lng2) * 111.32 * np.cos(np.radians(LAT0)), (lat1 - lat2) * 110.57)
    )


# Three planted places, several km apart and away from the square's edge.
PLANTED = [cell_at(114.00, 22.51), cell_at(114.09, 22.53), cell_at(114.04, 22.60)]


def planted_field(seed: int, *, expected: np.ndarray, boost: float = 3.0) -> np.ndarray:
    """Poisson counts around ``expected``, ``boost`` times the rate on each planted disk."""
    rng = np.random.default_rng(seed)
    rate = expected.copy()
    rate[np.isin(CELLS, np.concatenate([disk(c) for c in PLANTED]))] *= boost
    return rng.poisson(rate).astype(float)


# --- the H3 neighbourhood --------------------------------------------------------------


def test_disk_pairs_are_the_h3_disks_restricted_to_the_given_cells():
    cells = disk(cell_at(LNG0, LAT0), 3)  # 37 cells
    i, j = h3index.disk_pairs(cells, 1)
    for pos, cell in enumerate(cells):
        expected = set(disk(cell, 1).tolist()) & set(cells.tolist())
        assert set(cells[j[i == pos]].tolist()) == expected
    # symmetric, self included; an inner cell has 7, the outer ring's corners 4, edges 5
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == set(
        zip(j.tolist(), i.tolist(), strict=True)
    )
    assert sorted(np.bincount(i).tolist()) == [4] * 6 + [5] * 12 + [7] * 19


def test_disk_pairs_refuse_repeated_cells():
    cells = disk(cell_at(LNG0, LAT0), 1)
    with pytest.raises(ValueError, match="distinct"):
        h3index.disk_pairs(np.concatenate([cells, cells[:1]]), 1)


# --- Gi* of the excess -------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_excess_is_found_and_each_place_forms_one_cluster(seed):
    expected = np.full(len(CELLS), 5.0)
    observed = planted_field(seed, expected=expected)
    result = hotspots.gi_star(CELLS, observed, expected)
    found = hotspots.clusters(result)

    assert len(found) == 3
    for centre in PLANTED:
        lng, lat = h3index.cell_centers([centre])
        nearest = found.iloc[
            np.argmin(
                [
                    km_between(x, y, lng[0], lat[0])
                    for x, y in zip(found.lng, found.lat, strict=True)
                ]
            )
        ]
        assert km_between(nearest.lng, nearest.lat, lng[0], lat[0]) < 0.3
        assert set(disk(centre, 1).tolist()) <= set(nearest.cells.tolist())  # all 7 planted cells
        assert set(nearest.cells.tolist()) <= set(disk(centre, 2).tolist())  # and no further
        assert nearest.rate_ratio > 1.5


def test_a_field_without_hotspots_gives_no_cluster_in_at_least_nine_seeds_out_of_ten():
    expected = town(CELLS, background=0.3, peak=20.0)
    with_cluster, false_cells = 0, 0
    for seed in range(40):
        observed = np.random.default_rng(seed).poisson(expected)
        result = hotspots.gi_star(CELLS, observed, expected)
        with_cluster += len(hotspots.clusters(result)) > 0
        false_cells += int(result["significant"].sum())
    assert with_cluster <= 4
    assert false_cells <= 40 * 0.05 * 7  # FDR: under a full null, rarely any discovery at all


def test_classical_permutation_gi_star_finds_false_hotspots_in_a_town_and_ours_does_not():
    # Why gi_star's default null is the Poisson model (see its docstring).
    expected = town(CELLS, background=0.3, peak=20.0)
    classical, ours = 0, 0
    for seed in range(40):
        observed = np.random.default_rng(seed).poisson(expected)
        classical += hotspots.gi_star(CELLS, observed, expected, null="randomization")[
            "significant"
        ].any()
        ours += hotspots.gi_star(CELLS, observed, expected)["significant"].any()
    assert classical >= 8  # 13 of 40 when measured
    assert ours <= 2


def test_a_dense_area_that_gets_what_its_residents_predict_is_not_flagged():
    expected = town(CELLS, background=0.5, peak=200.0, sigma_km=1.5)
    observed = np.round(expected)
    result = hotspots.gi_star(CELLS, observed, expected)
    assert not result["significant"].any()
    # the same counts tested against a flat expectation (raw density) light up the town
    dense = hotspots.gi_star(CELLS, observed, np.ones(len(CELLS)))
    assert dense["significant"].sum() > 100
    assert dense.loc[dense["significant"], "expected"].min() > 0  # sanity: scaled, not 0


def test_the_expectation_is_a_share_so_its_unit_and_a_busier_window_do_not_matter():
    expected = town(CELLS, background=3.0, peak=20.0)
    observed = planted_field(4, expected=expected)
    as_residents = hotspots.gi_star(CELLS, observed, expected * 1234.5)
    as_counts = hotspots.gi_star(CELLS, observed, expected)
    np.testing.assert_allclose(as_residents["z"], as_counts["z"])
    assert list(as_counts.columns) == list(hotspots.GI_COLUMNS)
    busier = hotspots.gi_star(CELLS, planted_field(4, expected=3 * expected), expected)
    assert len(hotspots.clusters(busier)) == 3  # still the planted three, not the whole map


def test_empty_cells_in_the_area_are_counted_and_scale_excludes_the_hotspots():
    expected = np.full(len(CELLS), 5.0)
    observed = planted_field(5, expected=expected)
    result = hotspots.gi_star(CELLS, observed, expected)
    background = ~np.isin(CELLS, np.concatenate([disk(c, 2) for c in PLANTED]))
    # the expectation's total matches the observed total outside the significant cells
    outside = ~result["significant"].to_numpy()
    assert result["expected"][outside].sum() == pytest.approx(observed[outside].sum())
    assert result.attrs["scale"] == pytest.approx(1.0, abs=0.03)
    assert result["excess"][background].mean() == pytest.approx(0.0, abs=0.1)


def populated_square() -> tuple[np.ndarray, np.ndarray]:
    """Cells of an 11 x 11 km populated square, and the ring of cells just outside it."""
    lng, lat = h3index.cell_centers(CELLS)
    inside = (np.abs(lng - LNG0) < 0.05) & (np.abs(lat - LAT0) < 0.05)
    i, j = h3index.disk_pairs(CELLS, 1)
    touching = np.zeros(len(CELLS), dtype=bool)
    touching[i[inside[j]]] = True
    return inside, touching & ~inside


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_requests_spilling_just_outside_the_populated_cells_are_not_a_hotspot(seed):
    inside, rim = populated_square()
    rng = np.random.default_rng(seed)
    expected = np.where(inside, 5.0, 0.0)  # residents only inside
    observed = rng.poisson(expected).astype(float)
    observed[rim] = rng.poisson(2.5, int(rim.sum()))  # people report at the street outside
    assert hotspots.clusters(hotspots.gi_star(CELLS, observed, expected)).empty
    # without spreading the expectation, the rim reads as a string of hotspots
    assert len(hotspots.clusters(hotspots.gi_star(CELLS, observed, expected, smooth=0))) >= 3


def test_spreading_the_expectation_keeps_its_total_and_a_flat_interior():
    inside, rim = populated_square()
    expected = np.where(inside, 5.0, 0.0)
    spread = hotspots.spread_expected(CELLS, expected, 1)
    assert spread.sum() == pytest.approx(expected.sum())
    i, j = h3index.disk_pairs(CELLS, 2)
    deep = np.ones(len(CELLS), dtype=bool)
    deep[i[~inside[j]]] = False  # two steps from any empty cell
    np.testing.assert_allclose(spread[deep], 5.0)
    assert (spread[rim] > 0).all() and (spread[rim] < 5.0).all()
    assert (spread[~inside & ~rim] == 0).all()


def test_an_empty_cell_inside_a_hot_cluster_does_not_split_it():
    expected = np.full(len(CELLS), 5.0)
    rng = np.random.default_rng(6)
    observed = rng.poisson(expected).astype(float)
    centre = PLANTED[0]
    ring = np.isin(CELLS, disk(centre, 1)) & (CELLS != centre)
    observed[ring] = 25.0
    observed[CELLS == centre] = 0.0  # a lake in the middle
    found = hotspots.clusters(hotspots.gi_star(CELLS, observed, expected))
    assert len(found) == 1
    assert set(CELLS[ring].tolist()) <= set(found.iloc[0].cells.tolist())

    # even when the empty cell is not passed at all (a caller's mistake), one cluster
    keep = CELLS != centre
    found = hotspots.clusters(hotspots.gi_star(CELLS[keep], observed[keep], expected[keep]))
    assert len(found) == 1
    assert found.iloc[0]["size"] >= 6


def test_a_lone_significant_cell_without_a_family_wise_core_is_no_cluster():
    expected = np.full(len(CELLS), 5.0)
    result = hotspots.gi_star(CELLS, np.random.default_rng(7).poisson(expected), expected)
    result["significant"] = result["cell"] == PLANTED[0]  # FDR-significant, no core
    assert hotspots.clusters(result).empty
    kept = hotspots.clusters(result, require_core=False)
    assert kept["cells"].map(len).tolist() == [1]


def test_gi_star_refuses_inputs_that_would_bias_it():
    cells, ones = CELLS[:10], np.ones(10)
    with pytest.raises(ValueError, match="distinct"):
        hotspots.gi_star(np.concatenate([cells, cells[:1]]), np.ones(11), np.ones(11))
    with pytest.raises(ValueError, match="length"):
        hotspots.gi_star(cells, ones[:9], ones)
    with pytest.raises(ValueError, match="observed"):
        hotspots.gi_star(cells, -ones, ones)
    with pytest.raises(ValueError, match="expected is 0"):
        hotspots.gi_star(cells, ones, 0 * ones)
    with pytest.raises(ValueError, match="method"):
        hotspots.gi_star(cells, ones, ones, method="holm")  # type: ignore[arg-type]


def test_permutation_gi_star_equals_esda_g_local_star():
    """Golden values from esda 2.9.0 / libpysal 4.14.1, computed outside this project:

    ``esda.G_Local(y + 10, libpysal.weights.W(neighbours), transform="B", star=True,
    permutations=0).Zs`` with ``y`` the Freeman-Tukey residuals of the counts below
    against 2.5135135 per cell, ``neighbours`` the 1-disks of the 37 cells. (esda's ratio
    form flips the sign of z for a variable with a negative mean; Gi* z is shift
    invariant, hence ``+ 10``.)
    """
    centre = h3.latlng_to_cell(22.55, 114.05, 9)
    cells = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, 3)), dtype=np.int64)
    observed = np.array([(i * 7) % 5 for i in range(len(cells))], dtype=float)
    observed[np.isin(cells, disk(h3.str_to_int(centre), 1))] += 3
    esda_zs = [
        -0.900987, -2.407874, -0.904614, -1.124173, -0.595689, 0.132083, 1.590144,
        0.324785, -0.81492, -0.865578, -0.48431, 0.298167, 0.944117, -0.616674,
        0.656177, -0.041211, 0.314229, -0.900987, 0.457931, 0.282114, 1.704673,
        2.855502, 0.41124, 1.094047, 0.299359, 0.496626, 0.924855, 0.754048,
        -1.119249, -1.46087, -0.328784, -2.407874, 0.314229, -0.418428, 0.979518,
        -0.656151, 1.56207,
    ]  # fmt: skip
    result = hotspots.gi_star(cells, observed, np.ones(len(cells)), null="randomization", smooth=0)
    assert result.attrs["scale"] == pytest.approx(2.5135135, abs=1e-6)
    np.testing.assert_allclose(result["z"], esda_zs, atol=2e-6)


def test_freeman_tukey_residual_is_near_zero_at_expectation_and_finite_where_none_is_expected():
    values = hotspots.freeman_tukey_residual([0, 4, 100, 3], [0.0, 4.0, 100.0, 0.0])
    assert values[0] == 0.0
    assert abs(values[1]) < 0.15 and abs(values[2]) < 0.05
    assert values[3] == pytest.approx(np.sqrt(3) + 2 - 1)


# --- clusters ---------------------------------------------------------------------------


def test_clusters_summarise_cells_counts_excess_and_the_centre_of_excess():
    expected = np.full(len(CELLS), 5.0)
    observed = planted_field(8, expected=expected, boost=4.0)
    result = hotspots.gi_star(CELLS, observed, expected)
    found = hotspots.clusters(result)
    assert list(found.columns) == list(hotspots.CLUSTER_COLUMNS)
    assert found["cluster_id"].tolist() == [1, 2, 3]
    assert found["excess"].is_monotonic_decreasing
    for row in found.itertuples():
        members = result.set_index("cell").loc[row.cells]
        assert row.size == len(row.cells)
        assert row.requests == members["observed"].sum()
        assert row.excess == pytest.approx(members["excess"].sum())
        assert row.peak_z == members["z"].max()
        assert row.peak_cell == members["z"].idxmax()
        assert row.rate_ratio == pytest.approx(row.requests / row.expected)


def test_clusters_of_a_quiet_field_is_an_empty_frame_with_the_columns():
    expected = np.full(len(CELLS), 5.0)
    result = hotspots.gi_star(CELLS, np.round(expected), expected)
    found = hotspots.clusters(result)
    assert found.empty
    assert list(found.columns) == list(hotspots.CLUSTER_COLUMNS)


# --- emerging ---------------------------------------------------------------------------


def window(seed: int, boosts: dict[int, float]) -> pd.DataFrame:
    expected = np.full(len(CELLS), 5.0)
    rate = expected.copy()
    for centre, boost in boosts.items():
        rate[np.isin(CELLS, disk(centre))] *= boost
    observed = np.random.default_rng(seed).poisson(rate)
    return hotspots.gi_star(CELLS, observed, expected)


def status_near(frame: pd.DataFrame, centre: int) -> str:
    rows = frame.loc[frame["cells"].map(lambda cells: centre in set(cells.tolist()))]
    assert len(rows) == 1
    return str(rows.iloc[0]["status"])


def test_emerging_marks_new_intensifying_and_persistent_clusters():
    new, rising, steady, faded = [*PLANTED, cell_at(114.08, 22.58)]
    previous = window(10, {rising: 2.5, steady: 3.0, faded: 3.0})
    current = window(11, {new: 3.0, rising: 5.0, steady: 3.0})
    out = hotspots.emerging(current, previous)

    assert status_near(out, new) == "new"
    assert status_near(out, rising) == "intensifying"
    assert status_near(out, steady) == "persistent"
    assert not out["cells"].map(lambda cells: faded in set(cells.tolist())).any()
    assert out.loc[out["status"] != "persistent", "emerging"].all()
    assert not out.loc[out["status"] == "persistent", "emerging"].any()
    row = out.loc[out["status"] == "intensifying"].iloc[0]
    assert row.rate_ratio >= 1.25 * row.previous_rate_ratio


def test_a_cluster_that_rose_less_than_min_rise_stays_persistent():
    centre = PLANTED[1]
    previous = window(12, {centre: 3.0})
    current = window(13, {centre: 3.3})
    assert status_near(hotspots.emerging(current, previous), centre) == "persistent"
    assert status_near(hotspots.emerging(current, previous, min_rise=0.0), centre) == (
        "intensifying"
    )


# --- repeat addresses -------------------------------------------------------------------


def requests_frame() -> pd.DataFrame:
    day = pd.Timestamp("2026-03-01 09:00")
    rows = [
        # the same lamp out, three times in 20 days, the address written three ways
        ("R1", "福田区 香梅路 1号", "lamp", 0, 114.0501, 22.5501),
        ("R2", "福田区香梅路 1号", "lamp", 5, 114.0503, 22.5503),  # a different place key
        ("R3", "  福田区 香梅路  1号 ", "lamp", 5, 114.0502, 22.5502),
        ("R4", "福田区 香梅路 1号", "lamp", 20, 114.0504, 22.5504),
        # noise at the same address: another matter, never merged with the lamp
        ("R5", "福田区 香梅路 1号", "noise", 1, 114.0501, 22.5501),
        ("R6", "福田区 香梅路 1号", "noise", 2, 114.0501, 22.5501),
        # monthly complaints 40 days apart never make an episode
        ("R7", "Main St 5", "lamp", 0, 114.1, 22.6),
        ("R8", "MAIN st 5", "lamp", 40, 114.1, 22.6),
        ("R9", "main st 5", "lamp", 80, 114.1, 22.6),
        # two bursts of three, a hundred days apart: two clusters
        ("R10", "莲花路 8号", "water", 0, 114.06, 22.56),
        ("R11", "莲花路 8号", "water", 1, 114.06, 22.56),
        ("R12", "莲花路 8号", "water", 2, 114.06, 22.56),
        ("R13", "莲花路 8号", "water", 100, 114.06, 22.56),
        ("R14", "莲花路 8号", "water", 101, 114.06, 22.56),
        ("R15", "莲花路 8号", "water", 102.5, 114.06, 22.56),
        # no address: the cell decides the place
        ("R16", None, "dumping", 0, 114.07, 22.57),
        ("R17", "", "dumping", 3, 114.07, 22.57),
        ("R18", None, "dumping", 6, 114.07, 22.57),
    ]
    frame = pd.DataFrame(rows, columns=["request_id", "address", "event_type", "day", "lng", "lat"])
    frame["created_local"] = day + pd.to_timedelta(frame.pop("day"), unit="D")
    frame["cell"] = h3index.points_to_cells(lng=frame["lng"], lat=frame["lat"], res=11)
    return frame.sample(frac=1.0, random_state=3)  # arrival order must not matter


def test_repeat_address_clusters_count_each_place_and_matter_separately():
    found = hotspots.repeat_address_clusters(requests_frame(), window_days=30, min_requests=3)
    summary = {
        (row.place_key, row.event_type, row.first_at.day): row.requests
        for row in found.itertuples()
    }
    cell_key = str(h3index.points_to_cells(lng=[114.07], lat=[22.57], res=11)[0])
    assert summary == {
        ("福田区 香梅路 1号", "lamp", 1): 3,
        ("莲花路 8号", "water", 1): 3,
        ("莲花路 8号", "water", 9): 3,  # 2026-03-01 + 100 days = 2026-06-09
        (cell_key, "dumping", 1): 3,
    }


def test_a_repeat_cluster_reports_its_span_location_and_requests():
    found = hotspots.repeat_address_clusters(requests_frame())
    lamp = found.loc[found["event_type"] == "lamp"].iloc[0]
    assert sorted(lamp.request_ids) == ["R1", "R3", "R4"]
    assert lamp.first_at == pd.Timestamp("2026-03-01 09:00")
    assert lamp.last_at == pd.Timestamp("2026-03-21 09:00")
    assert lamp.span_days == 20.0
    assert lamp.lng == pytest.approx(114.0502) and lamp.lat == pytest.approx(22.5502)
    burst = found.loc[found["event_type"] == "water"].sort_values("first_at").iloc[1]
    assert burst.span_days == 2.5


def test_min_requests_and_window_decide_what_counts_as_a_repeat_cluster():
    frame = requests_frame()
    two = hotspots.repeat_address_clusters(frame, min_requests=2)
    assert set(two.loc[two["requests"] == 2, "event_type"]) == {"noise"}
    wide = hotspots.repeat_address_clusters(frame, window_days=45)
    main_st = wide.loc[wide["place_key"] == "main st 5"]
    assert main_st["requests"].tolist() == [3]
    none = hotspots.repeat_address_clusters(frame, min_requests=4)
    assert none.empty
    assert {"place_key", "event_type", "requests", "first_at", "last_at"} <= set(none.columns)


def test_a_given_place_key_is_used_as_is():
    frame = requests_frame().assign(place_key="one place for all").drop(columns="address")
    found = hotspots.repeat_address_clusters(frame)
    assert set(found["place_key"]) == {"one place for all"}
    assert "address" not in found.columns
    with pytest.raises(ValueError, match="place_key or address"):
        hotspots.repeat_address_clusters(frame.drop(columns="place_key"))


def test_place_key_folds_spaces_and_case_and_falls_back_to_the_cell():
    keys = hotspots.place_key(
        pd.Series(["  Main  St 5 ", "", None, "莲花路\t8号"]), pd.Series([1, 2, 3, 4])
    )
    assert keys.tolist() == ["main st 5", "2", "3", "莲花路 8号"]
