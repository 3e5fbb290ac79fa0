"""The data-access layer against the session's small city built by the real pipeline."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from dashboard import data

pytestmark = pytest.mark.usefixtures("city_data")


def test_meta_names_the_published_build_and_the_city(built_city):
    meta = data.meta()
    current = (built_city.data_dir / "04_warehouse" / "CURRENT").read_text().strip()
    assert meta.build_id == current
    assert data.city().unit_id == meta.city_id
    assert meta.as_of_local.startswith("20")


def test_periods_start_with_rolling_windows_and_default_to_last30():
    ids = [p.period_id for p in data.periods()]
    assert ids[:3] == ["last7", "last30", "last365"]
    assert data.resolve_period(None).period_id == "last30"
    assert data.resolve_period("no-such-period").period_id == "last30"
    assert data.resolve_period("last7").period_id == "last7"


def test_long_periods_trend_by_week_short_ones_by_day():
    assert data.resolve_period("last365").bucket == "week"
    assert data.resolve_period("last30").bucket == "day"


@pytest.mark.parametrize("period", ["last7", "last30", "last365"])
def test_city_requests_equal_districts_plus_unassigned(period):
    city = data.city()
    kpis = data.unit_kpis(city, period)
    districts = data.child_kpis(city, period)
    assert kpis is not None
    assert districts["requests"].sum() + data.unassigned_requests(period) == kpis["requests"]


@pytest.mark.parametrize("level", ["street", "community"])
def test_children_below_the_city_add_up_to_their_parent(units, level):
    # The demo city's units nest exactly, so below the city nothing is unassigned.
    parent = data.unit(units[level].parent_id)
    kids = data.child_kpis(parent, "last30")
    assert kids["requests"].sum() == data.unit_kpis(parent, "last30")["requests"]


def test_ranking_excludes_the_unassigned_pseudo_unit_and_is_sorted_by_worry():
    ranked = data.child_kpis(data.city(), "last30")
    assert data.UNASSIGNED not in set(ranked["unit_id"])
    worry = ranked["worry_index"].dropna().tolist()
    assert worry == sorted(worry, reverse=True)


def test_grids_are_the_children_of_a_community(units):
    grids = data.child_kpis(units["community"], "last30")
    assert len(grids) > 0
    assert all(data.unit(g).level == "grid" for g in grids["unit_id"])


def test_hex_cells_hold_the_unit_requests_and_point_at_its_children(units):
    for level in ("district", "street", "community"):
        unit = units[level]
        cells = data.hex_cells(unit, "last30")
        kids = {c.unit_id for c in data.children(unit)}
        assert cells["requests"].sum() == data.unit_kpis(unit, "last30")["requests"]
        assert set(cells["child_id"]) <= kids
        assert cells["cell_id"].str.fullmatch(r"[0-9a-f]{15}").all()
        assert cells["ring"].str.startswith("[[").all()


def test_city_hexes_hold_every_located_request():
    city = data.city()
    cells = data.hex_cells(city, "last30")
    located = data.unit_kpis(city, "last30")["requests"] - data.unassigned_requests("last30")
    assert cells["requests"].sum() == located


def test_lineage_runs_from_the_city_down(units):
    chain = data.lineage(units["community"])
    assert [u.level for u in chain] == ["city", "district", "street", "community"]


def test_unknown_units_are_none_not_errors():
    assert data.unit("no-such-unit") is None
    assert data.unit(None) is None


def test_weekly_trend_counts_every_request_of_the_period(units):
    period = data.resolve_period("last365")
    weekly = data.trend(units["street"], period)
    assert weekly["days"].sum() == 365
    assert weekly["days"].max() == 7
    assert weekly["requests"].sum() == data.unit_kpis(units["street"], "last365")["requests"]


def test_trend_covers_the_period_only(units):
    period = data.resolve_period("last30")
    daily = data.trend(units["district"], period)
    assert len(daily) == 30
    days = pd.to_datetime(daily["day"])
    assert days.min() >= pd.Timestamp(period.start)
    assert days.max() < pd.Timestamp(period.end)


def test_top_categories_are_ranked_and_limited():
    cats = data.top_categories(data.city(), "last30", n=5)
    assert list(cats["rank"]) == [1, 2, 3, 4, 5]
    assert cats["requests"].is_monotonic_decreasing


def test_results_are_cached_per_build():
    city = data.city()
    assert data.hex_cells(city, "last30") is data.hex_cells(city, "last30")


def test_the_connection_cannot_read_other_files(tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    con = data.current_build().con
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_csv($p)", {"p": str(outside)}).fetchall()
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")
