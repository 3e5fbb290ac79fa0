"""Backlog playback: requests open at each moment per map cell, from open intervals."""

from __future__ import annotations

import datetime as dt
import itertools

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines import api, backlog_queries, db, h3index, queries
from pipelines.settings import Settings

MAPPED = ("interior", "exact", "overlap", "snapped", "outside")


@pytest.fixture
def notebook(built_city: Settings) -> Settings:
    api.connect(built_city.data_dir)
    return built_city


def _spells(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Closed spells of reopened requests, where the build has them."""
    tables = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    if "backlog_reopen_gap" not in tables:
        return pd.DataFrame(columns=["request_id", "closed_at", "reopened_at"])
    return con.execute("SELECT * FROM backlog_reopen_gap").df()


def _requests(con: duckdb.DuckDBPyConnection, unit_id: str | None) -> pd.DataFrame:
    """The unit's requests as plain rows, placed in pandas (not the model's SQL)."""
    facts = con.execute(
        "SELECT request_id, created_local, due_at, first_closed_at, closed_at, cell, geo_status"
        " FROM fact_request"
    ).df()
    facts.attrs["spells"] = _spells(con)
    if unit_id is None:
        return facts
    place = con.execute("SELECT request_id, hierarchy, leaf_id FROM fact_request_place").df()
    lineage = con.execute("SELECT hierarchy, leaf_id, unit_id FROM dim_unit_lineage").df()
    inside = place.merge(lineage[lineage["unit_id"] == unit_id], on=["hierarchy", "leaf_id"])
    placed = facts[facts["request_id"].isin(set(inside["request_id"]))]
    placed.attrs["spells"] = facts.attrs["spells"]
    return placed


def _brute_force(rows: pd.DataFrame, res: int, moment: dt.datetime) -> tuple[dict, int, int]:
    """Open requests per cell at ``moment``: created <= t < last close, not in a spell."""
    t = pd.Timestamp(moment)
    spells = rows.attrs["spells"]
    shut = set(spells.loc[(spells["closed_at"] <= t) & (t < spells["reopened_at"]), "request_id"])
    is_open = (
        (rows["created_local"] <= t)
        & (rows["closed_at"].isna() | (t < rows["closed_at"]))
        & ~rows["request_id"].isin(shut)
    )
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


def _tiny_warehouse(rows: list[dict], events: list[tuple]) -> duckdb.DuckDBPyConnection:
    """A warehouse with only what the backlog reads: requests in two res-7 cells.

    ``events`` (request id, event, local time) are the closes and reopens the pipeline's
    ``backlog_reopen_gap`` model turns into closed spells (not built here: see the tests).
    """
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
    con.register("log", pd.DataFrame(events, columns=["request_id", "event", "ts_local"]))
    con.execute(
        """
        CREATE TABLE fact_request AS SELECT row_number() OVER () - 1 AS row_no, request_id,
            created_local, due_at, first_closed_at, closed_at, cell::BIGINT AS cell,
            geo_status FROM facts;
        CREATE TABLE fact_request_place AS
            SELECT request_id, 'main' AS hierarchy, 'g1' AS leaf_id, row_no FROM fact_request;
        CREATE TABLE dim_unit_rows AS SELECT 'd1' AS unit_id, min(row_no) AS row_lo,
            max(row_no) AS row_hi, count(*) AS requests FROM fact_request;
        CREATE TABLE dim_unit_lineage AS SELECT 'main' AS hierarchy, 'g1' AS leaf_id,
            'd1' AS unit_id;
        CREATE TABLE dim_unit (unit_id VARCHAR, level VARCHAR);
        INSERT INTO dim_unit VALUES ('c', 'city'), ('d1', 'district');
        CREATE TABLE dim_level (level VARCHAR, res INTEGER);
        INSERT INTO dim_level VALUES ('city', 7), ('district', 7);
        CREATE TABLE meta (key VARCHAR, value VARCHAR);
        CREATE TABLE stg_request_events AS SELECT * FROM log;
        CREATE TABLE int_requests AS SELECT request_id FROM facts;
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
    # the reopen-gap model reads the facts from the warehouse being built, as in aggregate
    con.execute("ATTACH ':memory:' AS wh")
    con.execute("CREATE TABLE wh.fact_request AS SELECT * FROM fact_request")
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


START = dt.datetime(2026, 1, 10, 9)


def _lifecycles() -> duckdb.DuckDBPyConnection:
    """Six requests: open, closed, reopened and closed again, reopened and open, …"""
    rows = [
        # still open: open from creation to the as-of time, overdue after 3 days
        _request("open", START),
        # closed after 2 days: open 2 days, never overdue
        _request("closed", START, first_closed_at=START + 2 * DAY, closed_at=START + 2 * DAY),
        # closed on day 1, reopened on day 5, closed for good on day 20
        _request(
            "reopened-closed", START, first_closed_at=START + DAY, closed_at=START + 20 * DAY, at=1
        ),
        # closed on day 1, reopened on day 2 in the evening, open now
        _request("reopened-open", START, first_closed_at=START + DAY, at=1),
        # no place on the map
        _request("nowhere", START, geo_status="no_location", at=None),
        # created shortly before the as-of time
        _request("late", dt.datetime(2026, 2, 27, 12)),
    ]
    events = [
        ("closed", "closed", START + 2 * DAY),
        ("reopened-closed", "closed", START + DAY),
        ("reopened-closed", "reopened", START + 5 * DAY),
        ("reopened-closed", "closed", START + 20 * DAY),
        ("reopened-open", "closed", START + DAY),
        ("reopened-open", "reopened", START + 2 * DAY + dt.timedelta(hours=12)),
    ]
    return _tiny_warehouse(rows, events)


def _at(result: backlog_queries.Backlog, when: dt.datetime) -> tuple[tuple, int, tuple]:
    """(open in cells A, B), unlocated open, (overdue in A, B) at ``when``."""
    first = h3index.cells_to_str(
        h3index.cells_to_parent(h3index.points_to_cells(lng=[114.05], lat=[22.55], res=11), 7)
    )[0]
    order = list(result.cells["cell_id"])
    a, b = order.index(first), 1 - order.index(first)
    k = result.schedule.moments().index(when)
    return (
        (int(result.open[a, k]), int(result.open[b, k])),
        int(result.unlocated_open[k]),
        (int(result.overdue[a, k]), int(result.overdue[b, k])),
    )


def test_the_reopen_gap_model_pairs_each_reopen_with_the_close_it_undid():
    con = _lifecycles()
    db.run_model(con, "marts/backlog_reopen_gap", materialize="backlog_reopen_gap")
    spells = con.execute(
        "SELECT request_id, closed_at, reopened_at FROM backlog_reopen_gap ORDER BY request_id"
    ).fetchall()
    assert spells == [
        ("reopened-closed", START + DAY, START + 5 * DAY),
        ("reopened-open", START + DAY, START + 2 * DAY + dt.timedelta(hours=12)),
    ]


def test_open_intervals_follow_the_lifecycle_on_a_hand_made_warehouse():
    con = _lifecycles()
    db.run_model(con, "marts/backlog_reopen_gap", materialize="backlog_reopen_gap")
    result = backlog_queries.backlog(con, "city", None)
    assert result is not None
    assert not result.schedule.daily  # 50 days of data: every 6 hours
    assert result.schedule.moments()[-1] == AS_OF
    day = dt.datetime(2026, 1, 10)
    # (open in A, B), unlocated, (overdue in A, B); B holds the two reopened requests
    assert _at(result, day + DAY) == ((2, 2), 1, (0, 0))
    assert _at(result, day + 2 * DAY) == ((2, 0), 1, (0, 0))  # both closed on day 1
    assert _at(result, day + 3 * DAY) == ((1, 1), 1, (0, 0))  # one reopened, one closed
    assert _at(result, day + 4 * DAY) == ((1, 1), 1, (1, 1))  # due on day 3 at 09:00
    assert _at(result, day + 6 * DAY) == ((1, 2), 1, (1, 2))  # reopened on day 5
    assert _at(result, day + 21 * DAY) == ((1, 1), 1, (1, 1))  # closed for good on day 20
    # the as-of time: what is open now ("late" is not yet past due)
    assert _at(result, AS_OF) == ((2, 1), 1, (1, 1))
    totals = result.totals().set_index("moment")
    assert totals.loc[pd.Timestamp(AS_OF), "open"] == 4
    assert totals.loc[pd.Timestamp(AS_OF), "overdue"] == 3
    # a district sees its own requests only (all of them here, through the lineage)
    district = backlog_queries.backlog(con, "district", "d1")
    assert district is not None
    assert np.array_equal(district.total_open, result.total_open)
    assert np.array_equal(district.total_overdue, result.total_overdue)


def test_without_the_closed_spells_a_request_is_open_until_its_last_close():
    # builds made before backlog_reopen_gap: the spells between close and reopen count
    result = backlog_queries.backlog(_lifecycles(), "city", None)
    assert result is not None
    day = dt.datetime(2026, 1, 10)
    assert _at(result, day + 2 * DAY) == ((2, 2), 1, (0, 0))
    assert _at(result, day + 4 * DAY) == ((1, 2), 1, (1, 2))
    assert _at(result, day + 21 * DAY) == ((1, 1), 1, (1, 1))
    assert _at(result, AS_OF) == ((2, 1), 1, (1, 1))
