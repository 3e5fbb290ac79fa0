"""Counts reconcile: city = sum of each level (+ unassigned), every row is accounted for."""

from __future__ import annotations

import json

import pytest

from pipelines import catalog

COUNT_COLUMNS = (
    "requests",
    "closed",
    "open",
    "overdue",
    "overdue_open",
    "closed_1d",
    "closed_3d",
    "rated",
    "satisfied",
    "dissatisfied",
    "dispatched",
    "reopened",
)


@pytest.mark.parametrize("level", ["district", "street", "community", "grid"])
def test_every_level_sums_to_the_city_in_every_period(warehouse, level):
    sums = ", ".join(f"sum(k.{c}) AS {c}" for c in COUNT_COLUMNS)
    city = ", ".join(f"c.{c}" for c in COUNT_COLUMNS)
    rows = warehouse.execute(
        f"""
        SELECT k.period_id, {sums}
        FROM mart_unit_kpi k WHERE k.level = $level GROUP BY k.period_id ORDER BY 1
    """,
        {"level": level},
    ).fetchall()
    city_rows = warehouse.execute(f"""
        SELECT c.period_id, {city} FROM mart_unit_kpi c WHERE c.level = 'city' ORDER BY 1
    """).fetchall()
    assert len(city_rows) == 15
    assert rows == city_rows


def test_children_sum_to_their_parent_for_every_unit_and_period(warehouse):
    mismatches = warehouse.execute("""
        SELECT p.level, p.unit_id, p.period_id, p.requests, sum(c.requests)
        FROM mart_unit_kpi p
        JOIN mart_unit_kpi c ON c.parent_id = p.unit_id AND c.period_id = p.period_id
             AND c.unit_id <> '__unassigned__'
        WHERE p.level IN ('district', 'street', 'community')
        GROUP BY ALL HAVING sum(c.requests) <> p.requests
    """).fetchall()
    assert mismatches == []


def test_heatmap_cells_sum_to_their_unit(warehouse):
    mismatches = warehouse.execute("""
        WITH cells AS (
            SELECT level, unit_id, period_id, sum(requests) AS requests, sum(open) AS open
            FROM mart_hex GROUP BY ALL
        )
        SELECT k.level, k.unit_id, k.period_id
        FROM mart_unit_kpi k JOIN cells c USING (level, unit_id, period_id)
        WHERE k.level <> 'city' AND (k.requests <> c.requests OR k.open <> c.open)
    """).fetchall()
    assert mismatches == []
    city_unassigned = warehouse.execute("""
        SELECT (SELECT requests FROM mart_unit_kpi WHERE level = 'city' AND period_id = 'last365')
             - (SELECT sum(requests) FROM mart_hex WHERE level = 'city'
                AND period_id = 'last365'),
               (SELECT requests FROM mart_unit_kpi WHERE level = 'district'
                AND unit_id = '__unassigned__' AND period_id = 'last365')
    """).fetchall()[0]
    assert city_unassigned[0] == city_unassigned[1]


def test_every_input_row_is_accepted_or_quarantined(built_city):
    manifest = json.loads(catalog.path(built_city, "ingest_manifest").read_text())
    for name, info in manifest["inputs"].items():
        if name == "boundaries":
            for level, stats in info.items():
                assert stats["rows_in"] == stats["accepted"] + stats["quarantined"], level
            continue
        assert info["rows_in"] == info["accepted"] + sum(info["quarantined"].values()), name


def test_every_accepted_request_has_exactly_one_location_status(built_city, warehouse):
    manifest = json.loads(catalog.path(built_city, "ingest_manifest").read_text())
    geo = json.loads(catalog.path(built_city, "geoindex_manifest").read_text())
    accepted = manifest["inputs"]["requests"]["accepted"]
    assert sum(geo["int_request_geo"].values()) == accepted
    city = warehouse.execute(
        "SELECT requests FROM mart_unit_kpi WHERE level = 'city' AND period_id = 'last365'"
    ).fetchall()[0][0]
    assert city == accepted
    unassigned = warehouse.execute(
        "SELECT requests FROM mart_unit_kpi WHERE level = 'grid' "
        "AND unit_id = '__unassigned__' AND period_id = 'last365'"
    ).fetchall()[0][0]
    located = sum(geo["int_request_geo"][s] for s in ("interior", "exact", "overlap", "snapped"))
    assert unassigned == accepted - located
    assert unassigned > 0  # the demo plants points off the map and without coordinates


def test_ingested_boundaries_of_every_level_form_a_clean_coverage(warehouse):
    rows = dict(
        warehouse.execute(
            "SELECT dataset, count FROM quality WHERE item = 'coverage_invalid_edges'"
        ).fetchall()
    )
    assert rows == {
        "boundary_district": 0,
        "boundary_street": 0,
        "boundary_community": 0,
        "boundary_grid": 0,
    }
