"""The notebook API (``pipelines.api``) on the small built city: the cockpit's figures.

Every figure is checked against the warehouse it is read from (the ``warehouse`` fixture
reads the same build) or against another API call that must agree with it: units and
their children, a level and the city, cells and units, request rows and unit counts,
traffic lights and the SLA summary, rankings and metrics.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from pipelines import api
from pipelines import metrics as registry
from pipelines.settings import Settings

LEVELS = ("city", "district", "street", "community", "grid")
BELOW_CITY = LEVELS[1:]
BREAKDOWN_LEVEL = "district"  # breakdowns exist down to the street level
UNASSIGNED = "__unassigned__"
#: Names the city's data never uses, for the error cases.
NOWHERE = "no_such_thing"
NO_LIMIT = 10**9


@pytest.fixture(autouse=True)
def connected(built_city: Settings) -> None:
    """Point the API's module-level connection at the small city before every test.

    Other tests point it elsewhere (copies of the city, other cities), so every test here
    reconnects rather than rely on the order tests run in.
    """
    api.connect(built_city.data_dir)


@pytest.fixture(scope="module")
def meta(warehouse) -> dict[str, str]:
    return dict(warehouse.execute("SELECT key, value FROM meta").fetchall())


@pytest.fixture(scope="module")
def rules(meta) -> dict[str, Any]:
    return json.loads(meta["sla_rules"])


@pytest.fixture(scope="module")
def months(built_city: Settings) -> list[str]:
    """The complete calendar months, newest first."""
    api.connect(built_city.data_dir)
    p = api.periods()
    done = p[(p["kind"] == "month") & (p["end_local"] <= p["as_of"])]
    ids = done.sort_values("start_local", ascending=False)["period_id"].tolist()
    assert len(ids) >= 2
    return ids


@pytest.fixture(scope="module")
def all_requests(built_city: Settings) -> pd.DataFrame:
    """Every request row at the as-of time."""
    api.connect(built_city.data_dir)
    rows = api.requests(limit=NO_LIMIT)
    assert len(rows) > 0
    return rows


def city_total(period: str) -> int:
    return int(api.metrics("city", period, ["requests"])["requests"].iloc[0])


# --- units ------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_units_are_one_valid_wgs84_outline_per_unit_of_the_level_inside_the_city(warehouse, level):
    units = api.units(level)
    n = warehouse.execute("SELECT count(*) FROM dim_unit WHERE level = ?", [level]).fetchall()
    assert isinstance(units, gpd.GeoDataFrame)
    assert units.crs == "EPSG:4326"
    assert len(units) == n[0][0] > 0
    assert units["unit_id"].is_unique
    assert (units["level"] == level).all()
    assert set(units.geom_type) <= {"Polygon", "MultiPolygon"}
    assert units.is_valid.all() and not units.is_empty.any()
    minx, miny, maxx, maxy = api.units("city").total_bounds
    eps = 1e-9
    assert (units.bounds["minx"] >= minx - eps).all() and (units.bounds["maxx"] <= maxx + eps).all()
    assert (units.bounds["miny"] >= miny - eps).all() and (units.bounds["maxy"] <= maxy + eps).all()
    assert minx > 73 and maxx < 136 and miny > 3 and maxy < 54  # lng/lat in China, not metres


def test_the_units_of_each_parent_are_its_children_and_together_the_whole_level():
    streets = api.units("street")
    seen: list[str] = []
    for district in api.units("district")["unit_id"]:
        kids = api.units("street", parent_id=district)
        assert len(kids) > 0 and (kids["parent_id"] == district).all()
        seen += kids["unit_id"].tolist()
    assert sorted(seen) == sorted(streets["unit_id"])


# --- metrics ----------------------------------------------------------------------------


def test_metrics_return_every_registry_metric_by_default_and_only_those_asked_for():
    everything = api.metrics("district", "last30")
    assert set(registry.registry()) <= set(everything.columns)
    assert everything["unit_id"].is_unique and len(everything) > 0
    some = api.metrics("district", "last30", ["completion_rate"])
    assert "completion_rate" in some.columns and "on_time_rate" not in some.columns
    assert {"unit_id", "name_zh", "name_en", "requests", "closed"} <= set(some.columns)
    assert some["completion_rate"].tolist() == everything["completion_rate"].tolist()


def test_metrics_include_the_numerator_and_denominator_of_every_share():
    frame = api.metrics("district", "last30")
    missing = sorted(
        {c for m in registry.registry().values() for c in (m.numerator, m.denominator) if c}
        - set(frame.columns)
    )
    assert missing == []


@pytest.mark.parametrize("level", LEVELS)
def test_metrics_are_the_kpi_mart_values_of_the_level_and_period(warehouse, months, level):
    n_units = len(api.units(level))
    shares = [m.id for m in registry.registry().values() if m.unit == "share"]
    for period in ("last7", "last30", "last365", *months[:2]):
        got = api.metrics(level, period).set_index("unit_id")
        want = (
            warehouse.execute(
                "SELECT * FROM mart_unit_kpi WHERE level = ? AND period_id = ? "
                "AND unit_id <> '__unassigned__' ORDER BY unit_id",
                [level, period],
            )
            .df()
            .set_index("unit_id")
        )
        assert len(got) == n_units and got.index.is_unique and len(want) > 0
        cols = [c for c in got.columns if c in want.columns]
        assert set(registry.registry()) <= set(cols)
        pd.testing.assert_frame_equal(got.loc[want.index, cols], want[cols], check_dtype=False)
        # a unit without requests in the period is listed with zero counts and no rates
        quiet = got.drop(index=want.index)
        assert (quiet["requests"] == 0).all() and quiet[shares].isna().all().all()


@pytest.mark.parametrize("level", BELOW_CITY)
def test_a_level_plus_its_unassigned_bucket_sums_to_the_city(level):
    bucket_seen = False
    for period in api.periods()["period_id"]:
        city = city_total(period)
        units = api.metrics(level, period, ["requests"])
        with_bucket = api.metrics(level, period, ["requests"], include_unassigned=True)
        assert UNASSIGNED not in set(units["unit_id"])
        bucket = with_bucket.loc[with_bucket["unit_id"] == UNASSIGNED, "requests"].sum()
        bucket_seen |= bucket > 0
        assert int(with_bucket["requests"].sum()) == city
        assert int(units["requests"].sum() + bucket) == city
    assert bucket_seen  # the demo has requests placed in no unit


@pytest.mark.parametrize("dim", ["category", "department"])
def test_a_category_or_department_filter_returns_that_slice_of_the_breakdown_mart(
    warehouse, months, dim
):
    period = months[0]
    keys = warehouse.execute(
        "SELECT key, any_value(key_en), sum(requests) AS n FROM mart_unit_breakdown "
        "WHERE level = ? AND period_id = ? AND dim = ? GROUP BY key ORDER BY n DESC LIMIT 3",
        [BREAKDOWN_LEVEL, period, dim],
    ).fetchall()
    assert len(keys) == 3
    for key, key_en, _ in keys:
        got = api.metrics(BREAKDOWN_LEVEL, period, **{dim: key})
        want = warehouse.execute(
            "SELECT * FROM mart_unit_breakdown WHERE level = ? AND period_id = ? AND dim = ? "
            "AND key = ? AND unit_id <> '__unassigned__' ORDER BY unit_id",
            [BREAKDOWN_LEVEL, period, dim, key],
        ).df()
        assert len(got) == len(want) > 0
        cols = [c for c in got.columns if c in want.columns]
        assert {"unit_id", "requests", "completion_rate", "on_time_rate"} <= set(cols)
        pd.testing.assert_frame_equal(got[cols], want[cols], check_dtype=False)
        by_english = api.metrics(BREAKDOWN_LEVEL, period, **{dim: key_en})
        pd.testing.assert_frame_equal(by_english, got)


@pytest.mark.parametrize("dim", ["category", "department"])
def test_the_slices_of_each_unit_add_up_to_its_requests(warehouse, months, dim):
    period = months[0]
    keys = warehouse.execute(
        "SELECT DISTINCT key FROM mart_unit_breakdown WHERE level = ? AND period_id = ? "
        "AND dim = ?",
        [BREAKDOWN_LEVEL, period, dim],
    ).fetchall()
    assert len(keys) > 5
    parts = pd.concat([api.metrics(BREAKDOWN_LEVEL, period, **{dim: k}) for (k,) in keys])
    summed = parts.groupby("unit_id")["requests"].sum()
    total = api.metrics(BREAKDOWN_LEVEL, period, ["requests"]).set_index("unit_id")["requests"]
    pd.testing.assert_series_equal(summed, total, check_dtype=False, check_names=False)


def test_a_category_and_a_department_together_are_refused():
    with pytest.raises(ValueError, match="category or department"):
        api.metrics("district", "last30", category="交通管理", department="x")


# --- errors -----------------------------------------------------------------------------

ERRORS: list[Any] = [
    pytest.param(
        lambda: api.metrics("district", "last30", ["completion_rate", NOWHERE]),
        KeyError,
        "on_time_rate",
        id="metric",
    ),
    pytest.param(
        lambda: api.ranking("district", "last30", NOWHERE),
        KeyError,
        "on_time_rate",
        id="ranking_metric",
    ),
    pytest.param(lambda: api.metrics(NOWHERE, "last30"), ValueError, "district", id="level"),
    pytest.param(lambda: api.units(NOWHERE), ValueError, "district", id="units_level"),
    pytest.param(lambda: api.cells(NOWHERE, "last30"), ValueError, "district", id="cells_level"),
    pytest.param(lambda: api.sla(NOWHERE), ValueError, "district", id="sla_level"),
    pytest.param(
        lambda: api.cells("district", "last30", NOWHERE), ValueError, "worry_index", id="measure"
    ),
    pytest.param(lambda: api.requests(**{NOWHERE: 1}), TypeError, "lamp", id="filter"),
    pytest.param(lambda: api.requests(lamp=NOWHERE), ValueError, "yellow", id="lamp"),
]


@pytest.mark.parametrize(("call", "error", "known"), ERRORS)
def test_an_unknown_name_is_refused_naming_it_and_the_known_ones(
    call: Callable[[], object], error: type[Exception], known: str
):
    with pytest.raises(error) as info:
        call()
    assert NOWHERE in str(info.value) and known in str(info.value)


def test_a_resolution_no_level_is_drawn_at_is_refused_with_each_levels_resolution():
    with pytest.raises(ValueError, match=r"res 3.*'district': 8"):
        api.cells(3, "last30")


UNKNOWN_PERIOD = "m1999-01"


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: api.metrics("district", UNKNOWN_PERIOD), id="metrics"),
        pytest.param(lambda: api.cells("district", UNKNOWN_PERIOD), id="cells"),
        pytest.param(
            lambda: api.ranking("district", UNKNOWN_PERIOD, "completion_rate"), id="ranking"
        ),
        pytest.param(lambda: api.requests(period=UNKNOWN_PERIOD), id="requests"),
    ],
)
def test_an_unknown_period_is_refused_naming_the_known_ones(call):
    with pytest.raises(ValueError, match="last30"):
        call()


def test_ranking_refuses_an_unknown_level():
    with pytest.raises(ValueError, match="district"):
        api.ranking(NOWHERE, "last30", "completion_rate")


@pytest.mark.parametrize("dim", ["category", "department"])
def test_an_unknown_category_or_department_is_refused(dim):
    key: dict[str, Any] = {dim: NOWHERE}
    with pytest.raises(ValueError, match=NOWHERE):
        api.metrics("district", "last30", **key)


# --- cells ------------------------------------------------------------------------------


def test_cells_by_resolution_are_the_cells_of_the_level_drawn_at_it():
    levels = api.levels()
    per_res = levels.groupby("res")["level"].apply(list)
    checked = 0
    for res, drawn in zip(per_res.index, per_res, strict=True):
        by_res = api.cells(int(res), "last30")
        assert len(by_res) > 0
        if len(drawn) == 1:  # a resolution two levels share is read as the first of them
            pd.testing.assert_frame_equal(by_res, api.cells(drawn[0], "last30"))
            checked += 1
        assert (by_res["level"] == drawn[0]).all()
    assert checked >= 3


@pytest.mark.parametrize(
    "measure",
    [
        "requests",
        "open",
        "overdue",
        "requests_per_10k_30d",
        "backlog_share",
        "dissatisfied_share",
        "worry_index",
    ],
)
def test_cells_are_wgs84_hexagons_at_the_levels_resolution_valued_by_the_measure(measure):
    res = dict(zip(api.levels()["level"], api.levels()["res"], strict=True))
    cells = api.cells("street", "last30", measure)
    assert isinstance(cells, gpd.GeoDataFrame) and cells.crs == "EPSG:4326"
    assert len(cells) > 0 and (cells["res"] == res["street"]).all()
    assert cells.is_valid.all() and (cells.geom_type == "Polygon").all()
    assert (cells.geometry.apply(lambda g: len(g.exterior.coords)) == 7).all()  # 6 + closing
    pd.testing.assert_series_equal(cells["value"], cells[measure], check_names=False)


@pytest.mark.parametrize("level", BELOW_CITY)
def test_the_cells_of_a_level_add_up_to_each_units_requests(months, level):
    for period in ("last30", "last365", months[0]):
        cells = api.cells(level, period, "requests")
        units = api.metrics(level, period, ["requests"]).set_index("unit_id")["requests"]
        units = units[units > 0]
        per_unit = cells.groupby("unit_id")["requests"].sum()
        assert int(cells["requests"].sum()) == int(units.sum()) > 0
        pd.testing.assert_series_equal(
            per_unit.sort_index(), units.sort_index(), check_dtype=False, check_names=False
        )


def test_the_city_cells_hold_every_request_placed_in_a_unit():
    for period in api.periods()["period_id"]:
        cells = api.cells("city", period, "requests")
        assert cells["cell"].is_unique  # one hierarchy's split, not one row per hierarchy
        districts = api.metrics("district", period, ["requests"])
        # requests with no location or outside every unit are counted by the city but cannot
        # be drawn: the city's cells hold the districts' requests, not the city's
        assert int(cells["requests"].sum()) == int(districts["requests"].sum())
        assert int(cells["requests"].sum()) <= city_total(period)


# --- requests ---------------------------------------------------------------------------


def test_the_requests_of_a_unit_in_a_month_are_its_requests_in_the_kpi_mart(warehouse, months):
    for period in months[:2]:
        want = warehouse.execute(
            "SELECT unit_id, requests FROM mart_unit_kpi WHERE period_id = ? "
            "AND level IN ('district', 'street') AND unit_id <> '__unassigned__'",
            [period],
        ).fetchall()
        assert len(want) > 20
        for unit_id, n in want:
            assert len(api.requests(unit_id=unit_id, period=period, limit=NO_LIMIT)) == n


def test_the_city_level_filters_no_place(months):
    city_id = str(api.units("city")["unit_id"].iloc[0])
    period = months[0]
    everything = api.requests(period=period, limit=NO_LIMIT)
    assert len(everything) == city_total(period) > 0
    by_level = api.requests(level="city", unit_id=city_id, period=period, limit=NO_LIMIT)
    assert by_level["request_id"].tolist() == everything["request_id"].tolist()


def test_the_citys_unit_id_filters_no_place(months):
    city_id = str(api.units("city")["unit_id"].iloc[0])
    period = months[0]
    assert len(api.requests(unit_id=city_id, period=period)) == city_total(period)


def _filters(rows: pd.DataFrame) -> list[tuple[dict[str, Any], pd.Series]]:
    """Each filter with the rows it must select (as a mask over every request)."""
    kinds = rows.dropna(subset=["l1_zh"]).iloc[0]
    department = rows["department"].value_counts().index[0]
    out: list[tuple[dict[str, Any], pd.Series]] = [
        ({"open_only": True}, rows["is_open"]),
        ({"long_unresolved_only": True}, rows["long_unresolved"]),
        ({"min_escalation": 1}, rows["escalation"] >= 1),
        ({"min_escalation": 2}, rows["escalation"] >= 2),
        ({"category": kinds["l1_zh"]}, rows["l1_zh"] == kinds["l1_zh"]),
        ({"category": kinds["l1_en"]}, rows["l1_en"] == kinds["l1_en"]),
        ({"category": kinds["event_type"]}, rows["event_type"] == kinds["event_type"]),
        ({"department": department}, rows["department"] == department),
        ({"open_only": True, "lamp": "red"}, rows["is_open"] & (rows["lamp"] == "red")),
    ]
    out += [({"lamp": lamp}, rows["lamp"] == lamp) for lamp in ("green", "yellow", "red")]
    return out


def test_each_request_filter_returns_exactly_the_matching_rows(all_requests):
    for filters, mask in _filters(all_requests):
        want = set(all_requests.loc[mask.fillna(False).astype(bool), "request_id"])
        got = api.requests(**filters, limit=NO_LIMIT)
        assert 0 < len(want) < len(all_requests), filters
        assert len(got) == len(want) and set(got["request_id"]) == want, filters


def test_a_limit_keeps_the_most_urgent_rows(all_requests):
    first = api.requests(limit=25)
    assert first["request_id"].tolist() == all_requests["request_id"].head(25).tolist()
    assert first["escalation"].is_monotonic_decreasing
    assert first["escalation"].iloc[0] == all_requests["escalation"].max() > 0


def test_lamps_are_red_when_overdue_and_yellow_past_the_share_of_the_limit(
    all_requests, meta, rules
):
    rows = all_requests
    as_of = pd.Timestamp(meta["as_of_local"])
    is_open = rows["closed_at"].isna()
    assert (rows["is_open"] == is_open).all()
    red = is_open & (rows["due_at"] < as_of)
    used = rows["open_working_hours"] >= rules["yellow_at"] * rows["time_limit_hours"]
    yellow = is_open & ~red & used.fillna(False).astype(bool)
    want = pd.Series("green", index=rows.index).mask(yellow, "yellow").mask(red, "red")
    assert rows.loc[~is_open, "lamp"].isna().all()
    assert rows.loc[is_open, "lamp"].tolist() == want[is_open].tolist()
    assert set(rows.loc[is_open, "lamp"]) == {"green", "yellow", "red"}  # every rule applies


def _busiest(level: str, parent_id: str | None = None) -> str:
    """The unit of ``level`` (under ``parent_id``) with the most open requests now."""
    units = api.units(level, parent_id=parent_id)["unit_id"]
    return max(units, key=lambda u: api.sla(level, u)["open_now"])


@pytest.mark.parametrize("level", ["city", "district", "street"])
def test_sla_counts_are_the_open_requests_per_light_and_escalation(level):
    if level == "city":
        unit_id = None
    elif level == "district":
        unit_id = _busiest("district")
    else:
        unit_id = _busiest("street", parent_id=_busiest("district"))
    summary = api.sla(level, unit_id)
    rows = api.requests(level=level, unit_id=unit_id, open_only=True, limit=NO_LIMIT)
    assert summary["open_now"] == len(rows) > 0
    for lamp in ("green", "yellow", "red"):
        assert summary[lamp] == int((rows["lamp"] == lamp).sum())
    for step in (1, 2, 3):
        assert summary[f"escalation_{step}"] == int((rows["escalation"] == step).sum())
    assert summary["long_unresolved_open"] == int(rows["long_unresolved"].sum())
    assert summary["response_overdue"] == int(rows["response_overdue"].sum())


# --- ranking ----------------------------------------------------------------------------


def _shown(values: pd.Series, metric_id: str) -> pd.Series:
    """Values as displayed: equal here means equal on screen, so tied."""
    m = registry.metric(metric_id)
    shown = (values / registry.DISPLAY_STEP[m.unit]).round()
    return -shown if m.higher_is_better else shown  # smaller is better


def _rankings(months: list[str]):
    for period in (months[0], "last365"):
        for m in registry.rankable():
            yield period, m.id, api.ranking("street", period, m.id)


def test_units_below_the_minimum_sample_or_without_a_value_have_no_rank(months, rules):
    minimum = rules["rank_min_requests"]
    unranked = 0
    for period, metric_id, ranked in _rankings(months):
        counts = api.metrics("street", period, [metric_id]).set_index("unit_id")
        requests = ranked["unit_id"].map(counts["requests"])
        eligible = (requests >= minimum) & ranked["value"].notna()
        assert ranked["eligible"].tolist() == eligible.tolist(), (period, metric_id)
        assert ranked.loc[~eligible, "rank"].isna().all()
        assert ranked.loc[eligible, "rank"].notna().all()
        assert ranked["eligible"].is_monotonic_decreasing  # the ranked units come first
        unranked += int((~eligible).sum())
    assert unranked > 0  # the month has streets below the minimum


def test_ranks_run_from_one_in_the_metrics_better_direction_and_ties_share_the_better_rank(
    months,
):
    ties = 0
    for period, metric_id, ranked in _rankings(months):
        ok = ranked[ranked["eligible"]].reset_index(drop=True)
        if ok.empty:
            continue
        shown = _shown(ok["value"], metric_id)
        assert shown.is_monotonic_increasing, (period, metric_id)
        better = np.array([(shown < s).sum() for s in shown])
        assert ok["rank"].tolist() == (1 + better).tolist(), (period, metric_id)
        assert ok["rank"].min() == 1 and ok["rank"].max() <= len(ok)
        ties += int(ok["rank"].duplicated().sum())
    assert ties > 0  # some units share a rank, so the tie rule was exercised


def test_ranked_values_and_intervals_are_the_units_metrics(months):
    period = months[0]
    for m in registry.rankable():
        ranked = api.ranking("street", period, m.id).set_index("unit_id")
        units = api.metrics("street", period, [m.id]).set_index("unit_id")
        assert sorted(ranked.index) == sorted(units.index)
        pd.testing.assert_series_equal(
            ranked["value"], units.loc[ranked.index, m.id], check_names=False, check_dtype=False
        )
        if m.has_interval:
            assert m.denominator is not None
            ok = ranked["n"] > 0
            assert (ranked.loc[ok, "ci_low"] <= ranked.loc[ok, "value"] + 1e-12).all()
            assert (ranked.loc[ok, "value"] <= ranked.loc[ok, "ci_high"] + 1e-12).all()
            pd.testing.assert_series_equal(
                ranked["n"],
                units.loc[ranked.index, m.denominator],
                check_names=False,
                check_dtype=False,
            )


def test_a_ranking_within_a_parent_ranks_only_its_children(months):
    district = _busiest("district")
    ranked = api.ranking("street", "last365", "completion_rate", parent_id=district)
    kids = set(api.units("street", parent_id=district)["unit_id"])
    assert set(ranked["unit_id"]) <= kids and len(ranked) > 1
    assert ranked.loc[ranked["eligible"], "rank"].min() == 1


def test_snapshots_of_a_period_never_published_has_the_snapshot_columns():
    listed = api.snapshots_of("m1999-01")
    assert listed["snapshot_id"].tolist() == []
