"""The signal marts of the small built city: hotspots, repeat places, alerts, their reads.

The 20 k city is small: four of its month windows hold a planted hotspot with 30 planted
requests or more (the evaluation's "present"), and its storms are too thin to alert in any
street (2 % of requests over 4 days, 4 classes and 74 streets: under 1 a street). Hotspot
recall and the storm fold are therefore asserted on what that size supports: every
present hotspot found, every planted spike and repeat address caught; the fold on a
synthetic storm run through the same detector chain.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from pipelines import h3index, signal_marts, signal_queries
from pipelines.coords import gcj02_to_wgs84
from pipelines.settings import Settings
from pipelines.workcal import calendar_for

MARTS = {
    "mart_hotspot_period": "period_id",
    "mart_hotspot_cell": "period_id, cell",
    "mart_hotspot_cluster": "period_id, cluster_id",
    "mart_repeat_place": "period_id, place_rank",
    "mart_alert": "alert_id",
}


def truth(settings: Settings) -> dict:
    path = settings.data_dir / "01_raw" / "demo" / "ground_truth.json"
    return json.loads(path.read_text(encoding="utf-8"))


def km(lng1, lat1, lng2, lat2):
    """Equirectangular distance in km (the evaluation's)."""
    mid = np.radians((lat1 + lat2) / 2.0)
    return np.hypot((lng1 - lng2) * 111.32 * np.cos(mid), (lat1 - lat2) * 110.57)


@pytest.mark.parametrize(("table", "key"), MARTS.items())
def test_keys_are_unique_and_not_null(warehouse, table, key):
    dupes = warehouse.execute(
        f"SELECT {key}, count(*) FROM {table} GROUP BY ALL HAVING count(*) > 1 LIMIT 5"
    ).fetchall()
    assert dupes == []
    nulls = " OR ".join(f"{c.strip()} IS NULL" for c in key.split(","))
    assert warehouse.execute(f"SELECT count(*) FROM {table} WHERE {nulls}").fetchall()[0][0] == 0


def test_hotspots_run_on_the_periods_of_at_most_90_days_and_account_for_every_request(
    warehouse,
):
    rows = warehouse.execute("""
        SELECT h.period_id, h.requests, h.located, h.not_located,
               (SELECT count(*) FROM fact_request AS r
                WHERE r.created_local >= h.start_local AND r.created_local < h.end_local)
        FROM mart_hotspot_period AS h ORDER BY h.period_id
    """).fetchall()
    periods = {
        r[0]
        for r in warehouse.execute(
            "SELECT period_id FROM dim_period WHERE period_days > 0 AND period_days <= 90"
        ).fetchall()
    }
    assert {r[0] for r in rows} == periods
    assert {"last7", "last30"} < periods and "last365" not in periods
    for _, requests, located, not_located, in_facts in rows:
        assert requests == located + not_located == in_facts
        assert 0 <= not_located < requests


def test_hot_cells_are_significant_and_belong_to_a_cluster_with_a_core(warehouse):
    cells = warehouse.table("mart_hotspot_cell").df()
    assert len(cells) > 0
    alpha = warehouse.execute("SELECT max(alpha), min(alpha) FROM mart_hotspot_period").fetchall()
    assert alpha == [(0.05, 0.05)]
    assert (cells["q"] <= 0.05).all() and (cells["z"] > 0).all()
    assert (h3index.cell_resolution(cells["cell"].to_numpy()) == signal_marts.HOTSPOT_RES).all()
    assert cells["cell_id"].tolist() == h3index.cells_to_str(cells["cell"].to_numpy())
    clusters = warehouse.table("mart_hotspot_cluster").df()
    per_cluster = cells.groupby(["period_id", "cluster_id"]).agg(
        size=("cell", "size"), requests=("requests", "sum"), core=("core", "any")
    )
    joined = clusters.set_index(["period_id", "cluster_id"]).join(
        per_cluster.add_suffix("_cells"), how="outer"
    )
    assert len(joined) == len(per_cluster)  # every cell's cluster exists, and vice versa
    assert (joined["size"] == joined["size_cells"]).all()
    assert (joined["requests"] == joined["requests_cells"]).all()
    assert joined["core_cells"].all()
    assert (clusters["cells"].map(len) == clusters["size"]).all()


def test_emerging_is_unknown_only_where_the_data_do_not_reach_the_window_before(warehouse):
    rows = warehouse.execute("""
        SELECT h.previous_covered, k.status IS NULL, k.emerging IS NULL, count(*)
        FROM mart_hotspot_cluster AS k JOIN mart_hotspot_period AS h USING (period_id)
        GROUP BY ALL
    """).fetchall()
    for covered, no_status, no_flag, _ in rows:
        assert no_status == no_flag == (not covered)
    statuses = {
        r[0] for r in warehouse.execute("SELECT status FROM mart_hotspot_cluster").fetchall()
    }
    assert statuses <= {"new", "intensifying", "persistent", None}
    assert "new" in statuses


def test_month_clusters_find_every_planted_hotspot_with_30_requests_in_the_month(
    warehouse, built_city
):
    rows = truth(built_city)["hotspots"]
    lng, lat = gcj02_to_wgs84(lng=[r["gcj02"][0] for r in rows], lat=[r["gcj02"][1] for r in rows])
    start = pd.to_datetime([r["start"] for r in rows])
    stop = pd.to_datetime([r["end"] for r in rows]) + pd.Timedelta(days=1)  # end inclusive
    planted = np.array([r["requests"] for r in rows], dtype=float)
    months = warehouse.execute(
        "SELECT h.period_id, h.start_local, h.end_local FROM mart_hotspot_period AS h"
        " JOIN dim_period USING (period_id) WHERE kind = 'month'"
    ).fetchall()
    present = found = 0
    for period_id, t0, t1 in months:
        overlap = (np.minimum(stop, pd.Timestamp(t1)) - np.maximum(start, pd.Timestamp(t0))).days
        in_month = planted * np.clip(overlap, 0, None) / (stop - start).days
        here = in_month >= 30
        cells = warehouse.execute(
            "SELECT cell FROM mart_hotspot_cell WHERE period_id = ?", [period_id]
        ).fetchnumpy()["cell"]
        x, y = h3index.cell_centers(cells)
        near = km(x[:, None], y[:, None], np.asarray(lng)[None, here], np.asarray(lat)[None, here])
        present += int(here.sum())
        found += int((near <= 0.5).any(axis=0).sum())
    assert present >= 3  # else the city changed and this test says nothing
    assert found == present


def test_every_planted_repeat_address_is_a_repeat_place_of_the_year(warehouse, built_city):
    places = warehouse.execute(
        "SELECT address, requests FROM mart_repeat_place WHERE period_id = 'last365'"
    ).df()
    planted = truth(built_city)["repeat_addresses"]
    assert planted
    for spot in planted:
        assert spot["address"] in set(places["address"]), spot


def test_repeat_places_follow_the_repeat_rule(warehouse):
    places = warehouse.table("mart_repeat_place").df()
    window = dt.timedelta(days=30)
    facts = (
        warehouse.execute("SELECT request_id, created_local, event_type FROM fact_request")
        .df()
        .set_index("request_id")
    )
    periods = warehouse.table("dim_period").df().set_index("period_id")
    for place in places.itertuples():
        ids = list(place.request_ids)
        assert len(ids) == place.requests >= 3
        rows = facts.loc[ids]
        assert (rows["event_type"] == place.event_type).all()
        times = rows["created_local"].sort_values()
        assert (times.diff().dropna() <= window).all()
        assert times.iloc[0] == place.first_at and times.iloc[-1] == place.last_at
        assert times.iloc[0] >= periods.loc[place.period_id, "start_local"]
        assert times.iloc[-1] < periods.loc[place.period_id, "end_local"]


def test_every_planted_spike_after_the_warm_up_alerts_in_its_street(warehouse, built_city):
    alerts = warehouse.execute(
        "SELECT unit_id, category_zh, first_day, last_day FROM mart_alert"
        " WHERE series = 'unit' AND NOT city_wide"
    ).df()
    first = warehouse.execute("SELECT min(created_day) FROM fact_request").fetchall()[0][0]
    street_of = dict(
        warehouse.execute(
            "SELECT leaf_id, unit_id FROM dim_unit_lineage WHERE level = 'street'"
        ).fetchall()
    )
    spikes = [
        s
        for s in truth(built_city)["spikes"]
        if dt.date.fromisoformat(s["start"]) >= first + dt.timedelta(days=7)
    ]
    assert len(spikes) >= 10
    for s in spikes:
        mine = alerts.loc[
            (alerts["unit_id"] == street_of[s["grid"]]) & (alerts["category_zh"] == s["l3"])
        ]
        start, end = dt.date.fromisoformat(s["start"]), dt.date.fromisoformat(s["end"])
        overlapping = mine.loc[
            (mine["first_day"].dt.date <= end + dt.timedelta(days=1))
            & (mine["last_day"].dt.date >= start)
        ]
        assert len(overlapping) == 1, s


def test_alerts_are_routed(warehouse):
    alerts = warehouse.table("mart_alert").df()
    assert len(alerts) > 0
    parent = dict(warehouse.execute("SELECT unit_id, parent_id FROM dim_unit").fetchall())
    level = dict(warehouse.execute("SELECT unit_id, level FROM dim_unit").fetchall())
    units = alerts.loc[(alerts["series"] == "unit") & ~alerts["city_wide"]]
    assert len(units) > 0
    for a in units.itertuples():
        assert a.unit_level == level[a.unit_id] == "street"
        assert a.route == {"district": parent[a.unit_id], "street": a.unit_id}
        assert set(a.unit_ids) == {a.unit_id, parent[a.unit_id]}
    cells = alerts.loc[alerts["series"] == "cell"]
    assert len(cells) > 0
    for a in cells.itertuples():
        assert level[a.leaf_id] == "grid" and a.route["grid"] == a.leaf_id
        assert a.route["community"] == parent[a.leaf_id]
        assert a.route["street"] == parent[a.route["community"]]
        assert a.route["district"] == parent[a.route["street"]]
        # the leaf holds requests of the alert's class in the alert's cell on its days
        rows = warehouse.execute(
            """
            SELECT r.lng, r.lat
            FROM fact_request AS r JOIN fact_request_place AS p USING (request_id)
            WHERE p.leaf_id = ? AND starts_with(r.event_type, ?)
              AND r.created_day BETWEEN ? AND ?
            """,
            [a.leaf_id, a.category, a.first_day.date(), a.last_day.date()],
        ).fetchnumpy()
        fine = h3index.points_to_cells(lng=rows["lng"], lat=rows["lat"], res=11)
        assert (h3index.cells_to_parent(fine, signal_marts.ALERT_CELL_RES) == a.cell).any()
    assert (alerts["severity"].between(1, 3)).all()
    assert (alerts["first_day"] <= alerts["last_day"]).all()


def test_the_city_has_at_most_one_city_wide_alert_per_class_and_day_and_no_flood(warehouse):
    rows = warehouse.execute("""
        SELECT category, first_day, count(*) FILTER (WHERE city_wide),
               count(DISTINCT unit_id) FILTER (WHERE series = 'unit' AND NOT city_wide)
        FROM mart_alert GROUP BY ALL
    """).fetchall()
    streets = warehouse.execute("SELECT count(*) FROM dim_unit WHERE level = 'street'").fetchall()
    fold_at = max(signal_marts.FOLD_MIN_SERIES, signal_marts.FOLD_MIN_SHARE * streets[0][0])
    for _, _, city_wide, streets_alerting in rows:
        assert city_wide <= 1
        assert streets_alerting < fold_at


def synthetic_daily(*, streets: int = 60, days: int = 120, storm_day: int = 100, seed: int = 3):
    """Daily counts of ``streets`` × 2 classes with a storm of class A on one day."""
    rng = np.random.default_rng(seed)
    day = pd.date_range("2026-03-02", periods=days, freq="D")
    key, category, when, count = [], [], [], []
    for s in range(streets):
        for c, mean in (("A", 1.0), ("B", 2.0)):
            n = rng.poisson(mean, days)
            if c == "A":
                n[storm_day] += rng.poisson(15)
            key += [f"S{s:02d}"] * days
            category += [c] * days
            when += list(day)
            count += list(n)
    frame = pd.DataFrame({"key": key, "category": category, "day": when, "count": count})
    return frame, day[storm_day]


def test_a_storm_day_is_one_city_wide_alert_not_one_per_street():
    daily, storm = synthetic_daily()
    no_cells = pd.DataFrame({"key": [], "category": [], "day": [], "count": []})
    calendar = calendar_for("Asia/Shanghai", "CN")
    raw, _ = signal_marts.detect_series(daily, calendar)
    assert (raw.loc[raw["day"] == storm, "category"] == "A").sum() >= 50  # the flood
    episodes, folded = signal_marts.alert_episodes(daily, no_cells, calendar=calendar, city_id="C")
    on_storm = episodes.loc[(episodes["start"] <= storm) & (episodes["end"] >= storm)]
    city = on_storm.loc[on_storm["series"] == "city"]
    assert len(city) == 1
    assert city.iloc[0]["category"] == "A" and city.iloc[0]["key"] == "C"
    assert len(on_storm.loc[(on_storm["series"] == "unit") & (on_storm["category"] == "A")]) == 0
    assert folded["key"].nunique() >= 50 and set(folded["day"]) == {storm}


def test_fold_storms_needs_many_series_on_the_same_day_and_class():
    day = pd.Timestamp("2026-05-01")
    rows = [("unit", f"S{i}", "A", day) for i in range(8)]  # 8 streets at once
    rows += [("unit", f"S{i}", "B", day) for i in range(3)]  # a local event: kept
    rows += [("cell", "c1", "A", day), ("cell", "c2", "B", day)]
    alerts = pd.DataFrame(rows, columns=["series", "key", "category", "day"])
    kept, folded = signal_marts.fold_storms(alerts, series_counts={"unit": 74, "cell": 700})
    assert set(folded["category"]) == {"A"} and len(folded) == 9  # the A cell folds too
    assert set(kept["category"]) == {"B"} and len(kept) == 4


def test_read_functions_filter_by_unit_at_every_level(warehouse):
    assert signal_queries.available(warehouse)
    every = signal_queries.alerts(warehouse)
    assert len(every) == warehouse.execute("SELECT count(*) FROM mart_alert").fetchall()[0][0]
    assert {"district_id", "street_id", "community_id", "grid_id"} <= set(every.columns)
    city_id = warehouse.execute("SELECT unit_id FROM dim_unit WHERE level = 'city'").fetchall()[0][
        0
    ]
    assert len(signal_queries.alerts(warehouse, unit_id=city_id)) == len(every)
    assert len(signal_queries.alerts(warehouse, unit_id="x", level="city")) == len(every)
    districts = every["district_id"].dropna().unique()
    assert len(districts) > 0
    for district in districts:
        mine = signal_queries.alerts(warehouse, unit_id=district, level="district")
        assert len(mine) > 0 and all(district in ids for ids in mine["unit_ids"])
        streets = warehouse.execute(
            "SELECT unit_id FROM dim_unit WHERE parent_id = ?", [district]
        ).fetchall()
        for (street,) in streets:
            sub = signal_queries.alerts(warehouse, unit_id=street, level="street")
            assert set(sub["alert_id"]) <= set(mine["alert_id"])
            assert (sub["district_id"].isna() | (sub["district_id"] == district)).all()
    period = "m2026-04"
    clusters = signal_queries.hotspot_clusters(warehouse, period)
    assert len(clusters) > 0
    for district in clusters["district_id"].unique():
        mine = signal_queries.hotspot_clusters(warehouse, period, unit_id=district)
        cells = signal_queries.hotspot_cells(warehouse, period, unit_id=district)
        assert district in set(mine["district_id"])
        assert set(cells["cluster_id"]) <= set(mine["cluster_id"])
        for street in mine["street_id"].unique():
            sub = signal_queries.hotspot_clusters(warehouse, period, unit_id=street)
            assert set(sub["cluster_id"]) <= set(mine["cluster_id"])
    places = signal_queries.repeat_places(warehouse, "last365", limit=5)
    assert len(places) == 5
    street = places["street_id"].iloc[0]
    in_street = signal_queries.repeat_places(warehouse, "last365", unit_id=street)
    assert len(in_street) > 0 and all(street in ids for ids in in_street["unit_ids"])
    assert len(signal_queries.hotspot_periods(warehouse)) > 0
    with pytest.raises(ValueError, match="series"):
        signal_queries.alerts(warehouse, series="street")
