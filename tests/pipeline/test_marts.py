"""Schema tests on the published marts (dbt-style: unique, not null, accepted values)."""

from __future__ import annotations

import pytest

LEVELS = ("city", "district", "street", "community", "grid")

UNIQUE_KEYS = [
    ("mart_unit_kpi", "level, unit_id, period_id"),
    ("mart_hex", "level, unit_id, period_id, cell"),
    ("hex_shape", "res, cell"),
    ("dim_unit", "unit_id"),
    ("dim_period", "period_id"),
    ("mart_unit_daily", "level, unit_id, day"),
    ("mart_unit_category", "level, unit_id, period_id, l1_zh"),
    ("unit_shape", "unit_id"),
    ("meta", "key"),
]


@pytest.mark.parametrize(("table", "key"), UNIQUE_KEYS)
def test_keys_are_unique_and_not_null(warehouse, table, key):
    dupes = warehouse.execute(
        f"SELECT {key}, count(*) FROM {table} GROUP BY ALL HAVING count(*) > 1 LIMIT 5"
    ).fetchall()
    assert dupes == []
    nulls = " OR ".join(f"{c.strip()} IS NULL" for c in key.split(","))
    assert warehouse.execute(f"SELECT count(*) FROM {table} WHERE {nulls}").fetchall()[0][0] == 0


def test_levels_are_the_known_ones(warehouse):
    for table in ("mart_unit_kpi", "dim_unit"):
        got = {r[0] for r in warehouse.execute(f"SELECT DISTINCT level FROM {table}").fetchall()}
        assert got <= set(LEVELS)


def test_hex_cells_are_at_their_levels_resolution_and_counts_are_positive(warehouse):
    rows = warehouse.execute("""
        SELECT level, min(res), max(res), bool_and(((cell >> 52) & 15) = res),
               min(requests), min(open), min(population)
        FROM mart_hex GROUP BY level ORDER BY level
    """).fetchall()
    res = {r[0]: (r[1], r[2]) for r in rows}
    assert res == {
        "city": (7, 7),
        "community": (10, 10),
        "district": (8, 8),
        "street": (9, 9),
        "grid": (10, 10),
    }
    for _, _, _, bits_ok, min_requests, min_open, min_pop in rows:
        assert bits_ok
        assert min_requests >= 1 and min_open >= 0 and min_pop >= 0


def test_rates_are_shares_and_worry_is_on_its_0_to_100_scale(warehouse):
    bad = warehouse.execute("""
        SELECT count(*) FROM mart_unit_kpi
        WHERE completion_rate NOT BETWEEN 0 AND 1 OR closed_1d_share > closed_3d_share
           OR satisfaction_rate NOT BETWEEN 0 AND 1 OR worry_index NOT BETWEEN 0 AND 100
           OR abs(dispatch_district_share + dispatch_street_share + dispatch_community_share - 1)
              > 1e-9
    """).fetchall()[0][0]
    assert bad == 0


def test_every_hex_in_the_marts_has_a_shape(warehouse):
    missing = warehouse.execute("""
        SELECT count(*) FROM (SELECT DISTINCT res, cell FROM mart_hex) h
        ANTI JOIN hex_shape s USING (res, cell)
    """).fetchall()[0][0]
    assert missing == 0


def test_child_ids_of_hexes_are_children_of_the_unit(warehouse):
    orphans = warehouse.execute("""
        SELECT count(*) FROM mart_hex h JOIN dim_unit u ON u.unit_id = h.child_id
        WHERE u.parent_id <> h.unit_id
    """).fetchall()[0][0]
    assert orphans == 0
