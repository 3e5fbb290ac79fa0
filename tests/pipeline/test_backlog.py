"""Backlog playback: requests open at each moment per map cell, from open intervals."""

from __future__ import annotations

import datetime as dt
import itertools

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines import api, backlog_queries, h3index, queries
from pipelines.settings import Settings

MAPPED = ("interior", "exact", "overlap", "snapped", "outside")


@pytest.fixture
def notebook(built_city: Settings) -> Settings:
    api.connect(built_city.data_dir)
    return built_city


def _requests(con: duckdb.DuckDBPyConnection, unit_id: str | None) -> pd.DataFrame:
    """The unit's requests as plain rows, placed in pandas (not the model's SQL)."""
    facts = con.execute(
        "SELECT request_id, created_local, due_at, first_closed_at, closed_at, cell, geo_status"
        " FROM fact_request"
    ).df()
    if unit_id is None:
        return facts
    place = con.execute("SELECT request_id, hierarchy, leaf_id FROM fact_request_place").df()
    lineage = con.execute("SELECT hierarchy, leaf_id, unit_id FROM dim_unit_lineage").df()
    inside = place.merge(lineage[lineage["unit_id"] == unit_id], on=["hierarchy", "leaf_id"])
    return facts[facts["request_id"].isin(set(inside["request_id"]))]


def _brute_force(rows: pd.DataFrame, res: int, moment: dt.datetime) -> tuple[dict, int, int]:
    """Open requests per cell at ``moment`` (created <= t < first close; open now: open)."""
    ends = rows["first_closed_at"].where(rows["closed_at"].notna())
    t = pd.Timestamp(moment)
    is_open = (rows["created_local"] <= t) & (ends.isna() | (t < ends))
    overdue = is_open & (rows["due_at"] < t)
    mapped = rows["geo_status"].isin(MAPPED) & rows["cell"].fillna(0).ne(0)
    cells = h3index.cells_to_str(
        h3index.cells_to_parent(rows.loc[mapped & is_open, "cell"].astype("int64"), res)
    )
    per_cell = pd.Series(cells).value_counts().to_dict()
    return per_cell, int((is_open & ~mapped).sum()), int(overdue.sum())


def _unit(con: duckdb.DuckDBPyConnection, level: str) -> str:
    """The unit of ``level`` with the most requests."""
    return str(
        con.execute(
            "SELECT unit_id FROM mart_unit_kpi WHERE level = $level AND period_id = 'last365'"
            " AND unit_id <> '__unassigned__' ORDER BY requests DESC, unit_id LIMIT 1",
            {"level": level},
        ).fetchone()[0]
    )


def test_the_playback_is_twelve_months_of_day_ends_up_to_the_as_of_time():
    as_of = dt.datetime(2026, 11, 1)
    plan = backlog_queries.schedule(as_of, dt.datetime(2025, 11, 1, 0, 3))
    assert plan.daily and plan.count == 365
    moments = plan.moments()
    assert moments[-1] == as_of
    assert moments[0] == dt.datetime(2025, 11, 2)  # the end of the first day
    assert all(b - a == dt.timedelta(days=1) for a, b in itertools.pairwise(moments))
    # three years of data are still played over the last twelve months
    assert backlog_queries.schedule(as_of, dt.datetime(2023, 1, 5)).count == 365


def test_a_short_data_span_is_played_every_six_hours():
    as_of = dt.datetime(2026, 3, 1)
    plan = backlog_queries.schedule(as_of, dt.datetime(2026, 2, 20, 9, 30))
    assert not plan.daily
    assert plan.step == dt.timedelta(hours=6)
    assert plan.moments()[-1] == as_of
    assert plan.first <= dt.datetime(2026, 2, 20, 6)
    assert plan.count == 9 * 4


@pytest.mark.parametrize("level", ["city", "district", "street", "community"])
def test_counts_equal_a_brute_force_count_per_cell_at_several_moments(warehouse, level):
    unit_id = None if level == "city" else _unit(warehouse, level)
    result = backlog_queries.backlog(warehouse, level, unit_id)
    assert result is not None
    rows = _requests(warehouse, unit_id)
    moments = result.schedule.moments()
    ids = list(result.cells["cell_id"])
    assert ids == sorted(ids)
    checked = 0
    for k in (0, 40, 150, 200, len(moments) - 30, len(moments) - 1):
        per_cell, unlocated, overdue = _brute_force(rows, result.res, moments[k])
        shown = {c: int(v) for c, v in zip(ids, result.open[:, k], strict=True) if v}
        assert shown == per_cell, (level, k)
        assert int(result.unlocated_open[k]) == unlocated
        assert int(result.total_overdue[k]) == overdue
        checked += sum(per_cell.values())
    assert checked > 0


def test_every_request_open_at_some_moment_is_on_the_map_or_counted_as_unlocated(warehouse):
    result = backlog_queries.backlog(warehouse, "city", None)
    assert result is not None
    assert (result.total_open == result.open.sum(axis=0) + result.unlocated_open).all()
    assert (result.total_overdue <= result.total_open).all()
    # the demo places some requests nowhere (no location, outside the area): never dropped
    assert result.unlocated_open.max() > 0
    assert result.peak == result.open.max() > 0


def test_the_last_moment_equals_the_open_kpis_of_the_as_of_time(warehouse):
    for level in ("city", "district", "street"):
        unit_id = None if level == "city" else _unit(warehouse, level)
        result = backlog_queries.backlog(warehouse, level, unit_id)
        assert result is not None
        sla = queries.sla_summary(warehouse, level, unit_id)
        assert int(result.total_open[-1]) == sla["open_now"], level
        assert int(result.total_overdue[-1]) == sla["red"], level
        # every request of the demo lies in the last 12 months: the period's open KPI is
        # the same set (requests created in it and not closed at its end)
        kpi = queries.unit_metrics(
            warehouse, level, "last365", unit_id=unit_id or str(result.unit_id)
        )
        assert int(result.total_open[-1]) == int(kpi["open"].iloc[0]), level


def test_an_unknown_unit_or_a_unit_of_another_level_has_no_playback(warehouse):
    assert backlog_queries.backlog(warehouse, "street", "no-such-unit") is None
    district = _unit(warehouse, "district")
    assert backlog_queries.backlog(warehouse, "street", district) is None


def test_the_api_returns_the_numbers_of_the_playback(warehouse, notebook):
    street = _unit(warehouse, "street")
    result = backlog_queries.backlog(warehouse, "street", street)
    assert result is not None
    cells = api.backlog("street", street)
    assert list(cells.columns) == ["moment", "cell_id", "open", "overdue"]
    last = cells[cells["moment"] == pd.Timestamp(result.schedule.last)]
    located = last[last["cell_id"].notna()]
    assert located["open"].sum() == result.open[:, -1].sum()
    assert last.loc[last["cell_id"].isna(), "open"].sum() == result.unlocated_open[-1]
    totals = api.backlog("street", street, by="total")
    assert len(totals) == result.schedule.count
    assert (totals["open"].to_numpy() == result.total_open).all()
    assert (totals["overdue"].to_numpy() == result.total_overdue).all()
    with pytest.raises(ValueError, match="by must be"):
        api.backlog("street", street, by="day")
    with pytest.raises(ValueError, match="no unit"):
        api.backlog("street", "no-such-unit")


# ---------------------------------------------------------------------------------------------
# the lifecycle, on a hand-made warehouse


AS_OF = dt.datetime(2026, 3, 1)
DAY = dt.timedelta(days=1)


def _tiny_warehouse(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    """A warehouse with only what the backlog reads: requests in two res-7 cells."""
    cells11 = h3index.points_to_cells(lng=[114.05, 114.20], lat=[22.55, 22.60], res=11)
    cells7 = h3index.cells_to_parent(cells11, 7)
    con = duckdb.connect()
    facts = pd.DataFrame(rows)
    facts["cell"] = pd.array(
        [None if pd.isna(i) else int(cells11[int(i)]) for i in facts.pop("at")], dtype="Int64"
    )
    for column in ("created_local", "due_at", "first_closed_at", "closed_at"):
        facts[column] = pd.to_datetime(facts[column])
    con.register("facts", facts)
    con.execute(
        """
        CREATE TABLE fact_request AS SELECT request_id, created_local, due_at,
            first_closed_at, closed_at, cell::BIGINT AS cell, geo_status FROM facts;
        CREATE TABLE fact_request_place AS
            SELECT request_id, 'main' AS hierarchy, 'g1' AS leaf_id FROM facts;
        CREATE TABLE dim_unit_lineage AS SELECT 'main' AS hierarchy, 'g1' AS leaf_id,
            'd1' AS unit_id;
        CREATE TABLE dim_unit (unit_id VARCHAR, level VARCHAR);
        INSERT INTO dim_unit VALUES ('c', 'city'), ('d1', 'district');
        CREATE TABLE dim_level (level VARCHAR, res INTEGER);
        INSERT INTO dim_level VALUES ('city', 7), ('district', 7);
        CREATE TABLE meta (key VARCHAR, value VARCHAR);
        """
    )
    con.execute(
        "INSERT INTO meta VALUES ('city_id', 'c'), ('as_of_local', $as_of)",
        {"as_of": AS_OF.isoformat()},
    )
    shapes = pd.DataFrame(
        {"res": 7, "cell": cells7, "cell_id": h3index.cells_to_str(cells7), "ring": "[]"}
    )
    con.register("shapes", shapes)
    con.execute("CREATE TABLE hex_shape AS SELECT * FROM shapes")
    return con


def _request(rid: str, created: dt.datetime, **kw: object) -> dict:
    row = {
        "request_id": rid,
        "created_local": created,
        "due_at": created + 3 * DAY,
        "first_closed_at": None,
        "closed_at": None,
        "geo_status": "interior",
        "at": 0,
    }
    row.update(kw)
    return row


def test_open_intervals_follow_the_lifecycle_on_a_hand_made_warehouse():
    start = dt.datetime(2026, 1, 10, 9)
    con = _tiny_warehouse(
        [
            # still open: open from creation to the as-of time, overdue after 3 days
            _request("open", start),
            # closed after 2 days: open 2 days, never overdue
            _request("closed", start, first_closed_at=start + 2 * DAY, closed_at=start + 2 * DAY),
            # closed, reopened, closed again: closed from its first close on (the KPIs' rule)
            _request(
                "reopened-closed",
                start,
                first_closed_at=start + DAY,
                closed_at=start + 20 * DAY,
                at=1,
            ),
            # closed, reopened, still open: open now
            _request("reopened-open", start, first_closed_at=start + DAY, at=1),
            # no place on the map
            _request("nowhere", start, geo_status="no_location", at=None),
            # created after the first moments
            _request("late", dt.datetime(2026, 2, 27, 12)),
        ]
    )
    result = backlog_queries.backlog(con, "city", None)
    assert result is not None
    moments = result.schedule.moments()
    assert moments[-1] == AS_OF

    def counts(when: dt.datetime) -> tuple[list[int], int, list[int]]:
        k = moments.index(when)
        return list(result.open[:, k]), int(result.unlocated_open[k]), list(result.overdue[:, k])

    first_cell = h3index.cells_to_str(
        h3index.cells_to_parent(h3index.points_to_cells(lng=[114.05], lat=[22.55], res=11), 7)
    )[0]
    order = list(result.cells["cell_id"])
    a, b = order.index(first_cell), 1 - order.index(first_cell)

    def at(values: list[int]) -> tuple[int, int]:
        return values[a], values[b]

    assert not result.schedule.daily  # 50 days of data: every 6 hours
    opened, nowhere, late = counts(dt.datetime(2026, 1, 11))  # end of day 1
    assert at(opened) == (2, 2) and nowhere == 1 and at(late) == (0, 0)
    opened, nowhere, late = counts(dt.datetime(2026, 1, 12))  # reopened-closed: first close
    assert at(opened) == (2, 1)
    opened, nowhere, late = counts(dt.datetime(2026, 1, 13))  # "closed" closed at 09:00
    assert at(opened) == (1, 1)
    opened, nowhere, late = counts(dt.datetime(2026, 1, 14))  # 3 days: due at 09:00
    assert at(late) == (1, 1)
    opened, nowhere, late = counts(AS_OF)
    assert at(opened) == (2, 1) and nowhere == 1
    assert at(late) == (1, 1)  # "late" (created 2026-02-27 12:00) is not yet past due
    totals = result.totals().set_index("moment")
    assert totals.loc[pd.Timestamp(AS_OF), "open"] == 4
    assert totals.loc[pd.Timestamp(AS_OF), "overdue"] == 3  # open, reopened-open, nowhere
    # a district sees its own requests only (all of them here, through the lineage)
    district = backlog_queries.backlog(con, "district", "d1")
    assert district is not None
    assert np.array_equal(district.total_open, result.total_open)
