"""The shared read queries (pipelines/queries.py) as the cockpit calls them (issue 8 speed-ups)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines import db, queries
from pipelines.sources.spec import load_spec


def _units(warehouse) -> list[tuple[str, str]]:
    rows = warehouse.execute(
        "SELECT level, unit_id FROM dim_unit WHERE level <> 'city' QUALIFY "
        "row_number() OVER (PARTITION BY level ORDER BY unit_id) = 1"
    ).fetchall()
    return [("city", None), *rows]


@pytest.mark.parametrize(
    "filters",
    [
        {"open_only": True, "limit": 5000},
        {"open_only": True, "lamp": "red", "limit": 100},
        {"long_unresolved_only": True, "period_id": "last30", "limit": 100},
        {"period_id": "last30", "limit": 250},
    ],
)
def test_a_column_subset_is_the_same_rows_in_the_same_order(warehouse, filters):
    wanted = ["request_id", "lng", "lat", "lamp", "open_working_hours", "escalation"]
    for level, unit_id in _units(warehouse):
        whole = queries.requests(warehouse, level=level, unit_id=unit_id, **filters)
        some = queries.requests(warehouse, level=level, unit_id=unit_id, columns=wanted, **filters)
        assert list(some.columns) == [c for c in whole.columns if c in wanted]
        assert some.reset_index(drop=True).equals(whole[list(some.columns)]), (level, filters)
        assert "contact_phone_key" not in whole.columns


def test_the_phone_key_cannot_be_asked_for(warehouse):
    rows = queries.requests(warehouse, columns=["request_id", "contact_phone_key"], limit=5)
    assert list(rows.columns) == ["request_id"]


def test_columns_must_name_something(warehouse):
    with pytest.raises(ValueError, match="columns"):
        queries.requests(warehouse, columns=[])
    with pytest.raises(ValueError, match="columns"):
        queries.requests(warehouse, columns="lng")


def test_the_sla_summary_counts_every_flagged_request(warehouse):
    for level, unit_id in _units(warehouse):
        summary = queries.sla_summary(warehouse, level, unit_id)
        rows = queries.requests(
            warehouse,
            level=level,
            unit_id=unit_id,
            limit=10**9,
            columns=["is_open", "lamp", "response_overdue", "escalation", "long_unresolved"],
        )
        assert summary["open_now"] == int(rows["is_open"].sum())
        assert summary["red"] == int((rows["lamp"] == "red").sum())
        assert summary["response_overdue"] == int(rows["response_overdue"].fillna(False).sum())
        assert summary["escalation_2"] == int((rows["escalation"] == 2).sum())
        assert summary["long_unresolved"] == int(rows["long_unresolved"].fillna(False).sum())


def test_fact_request_is_stored_in_row_number_order(warehouse):
    rows, misplaced, numbers = warehouse.execute(
        "SELECT count(*), count(*) FILTER (WHERE row_no <> rowid), count(DISTINCT row_no)"
        " FROM fact_request"
    ).fetchall()[0]
    assert rows > 0
    assert misplaced == 0
    assert numbers == rows


def test_every_units_requests_lie_in_its_row_range(warehouse, built_city):
    primary = load_spec(built_city.source_spec).primary_hierarchy
    found = warehouse.execute(
        "SELECT l.unit_id, any_value(u.hierarchy), min(p.row_no), max(p.row_no), count(*)"
        " FROM fact_request_place AS p"
        " JOIN dim_unit_lineage AS l USING (hierarchy, leaf_id)"
        " JOIN dim_unit AS u ON u.unit_id = l.unit_id"
        " GROUP BY l.unit_id"
    ).fetchall()
    ranges = {
        u: (lo, hi, n)
        for u, lo, hi, n in warehouse.execute(
            "SELECT unit_id, row_lo, row_hi, requests FROM dim_unit_rows"
        ).fetchall()
    }
    assert len(found) == len(ranges) > 0
    for unit_id, hierarchy, lo, hi, n in found:
        assert ranges[unit_id] == (lo, hi, n), unit_id
        if hierarchy == primary:
            # the leaves under a unit are one run of the stored order: nothing else between
            assert hi - lo + 1 == n, unit_id


def test_a_units_request_list_is_the_requests_placed_in_it(warehouse):
    for level, unit_id in _units(warehouse)[1:]:
        listed = queries.requests(
            warehouse, level=level, unit_id=unit_id, limit=10**9, columns=["request_id"]
        )
        placed = warehouse.execute(
            "SELECT DISTINCT p.request_id FROM fact_request_place AS p"
            " JOIN dim_unit_lineage AS l USING (hierarchy, leaf_id) WHERE l.unit_id = ?",
            [unit_id],
        ).fetchall()
        assert len(listed) > 0, unit_id
        assert sorted(listed["request_id"]) == sorted(r for (r,) in placed), unit_id


def test_the_row_range_of_the_city_an_unknown_id_and_an_empty_unit():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE dim_unit AS SELECT * FROM (VALUES ('c', 'city'), ('d1', 'district'),"
        " ('d2', 'district')) AS t(unit_id, level)"
    )
    con.execute(
        "CREATE TABLE dim_unit_rows AS SELECT * FROM (VALUES ('d1', 10, 19, 10)) AS"
        " t(unit_id, row_lo, row_hi, requests)"
    )
    span = db.load_sql("queries/unit_rows")
    every = (0, 2**63 - 1)

    def rows_of(unit_id: str | None) -> tuple[int, int]:
        return con.execute(span, {"unit_id": unit_id}).fetchall()[0]

    assert rows_of("d1") == (10, 19)
    assert rows_of("d2") == (0, -1)  # known, no requests: nothing to read
    assert rows_of("c") == every
    assert rows_of(None) == every
    assert rows_of("no-such-unit") == every  # the query's own unit test finds nothing


def test_a_build_without_row_ranges_asks_for_a_rebuild():
    con = duckdb.connect()  # a build made before dim_unit_rows has none
    with pytest.raises(queries.StaleBuildError, match="yiwang build"):
        queries.sla_summary(con, "district", "d1")
