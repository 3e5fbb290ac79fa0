"""The metric marts on the built small city agree with the registry and with first principles.

Rates are numerator ÷ denominator, counts add up over every level, breakdowns add up to
their unit, and on-time, repeat, lamp and escalation figures are recomputed here in pandas
from ``fact_request`` and compared with what the SQL published.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import metrics
from pipelines.stages.aggregate import BREAKDOWN_MAX_DEPTH
from pipelines.workcal import calendar_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
# residents are not a request count; the window before (the worry trend) is kept only on
# the rows of units with requests in the period, so it does not sum across a level
ADDITIVE_EXCLUDE = {"population", "previous_requests"}


def frame(con, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


@pytest.fixture(scope="module")
def meta(warehouse) -> dict[str, str]:
    return dict(warehouse.execute("SELECT key, value FROM meta").fetchall())


@pytest.fixture(scope="module")
def rules(meta) -> dict:
    return json.loads(meta["sla_rules"])


@pytest.fixture(scope="module")
def as_of(meta) -> pd.Timestamp:
    return pd.Timestamp(meta["as_of_local"])


@pytest.fixture(scope="module")
def facts(warehouse) -> pd.DataFrame:
    return frame(warehouse, "SELECT * FROM fact_request")


@pytest.fixture(scope="module")
def kpi(warehouse) -> pd.DataFrame:
    return frame(warehouse, "SELECT * FROM mart_unit_kpi")


@pytest.fixture(scope="module")
def periods(warehouse) -> pd.DataFrame:
    return frame(
        warehouse, "SELECT period_id, start_local, least(end_local, as_of) AS end FROM dim_period"
    )


@pytest.fixture(scope="module")
def city(kpi) -> pd.DataFrame:
    """The city's row per period."""
    return kpi.loc[kpi["level"] == "city"].set_index("period_id")


def count_columns(warehouse) -> list[str]:
    """The additive counts of mart_unit_kpi (every integer column but residents)."""
    cols = frame(warehouse, "DESCRIBE mart_unit_kpi")
    ints = cols.loc[cols["column_type"].isin(["BIGINT", "HUGEINT", "INTEGER"]), "column_name"]
    return [c for c in ints if c not in ADDITIVE_EXCLUDE]


def in_period(facts: pd.DataFrame, start, end) -> pd.DataFrame:
    return facts.loc[(facts["created_local"] >= start) & (facts["created_local"] < end)]


# --- rates are their registry ratio -----------------------------------------------------


def ratio_metrics() -> list[metrics.Metric]:
    return [m for m in metrics.registry().values() if m.numerator is not None]


def test_every_registry_metric_is_a_column_of_the_kpi_mart(warehouse):
    cols = set(frame(warehouse, "DESCRIBE mart_unit_kpi")["column_name"])
    missing = [m.id for m in metrics.registry().values() if m.id not in cols]
    assert missing == []
    parts = {c for m in ratio_metrics() for c in (m.numerator, m.denominator)}
    assert parts <= cols


@pytest.mark.parametrize("table", ["mart_unit_kpi", "mart_unit_breakdown"])
def test_every_rate_is_its_numerator_over_its_denominator(warehouse, table):
    zero_denominators = 0
    for m in ratio_metrics():
        got = warehouse.execute(
            f"""
            SELECT
                count(*),
                count(*) FILTER (WHERE {m.denominator} = 0),
                count(*) FILTER (WHERE NOT coalesce(
                    CASE WHEN {m.denominator} = 0 THEN {m.id} IS NULL
                         ELSE abs({m.id} - {m.numerator} / {m.denominator}::DOUBLE) <= 1e-12
                    END, false))
            FROM {table}
            """
        ).fetchall()[0]
        rows, empty, wrong = got
        assert rows > 0
        assert wrong == 0, f"{table}.{m.id} differs from {m.numerator} ÷ {m.denominator}"
        zero_denominators += empty
    # the NULL-for-an-empty-denominator branch was exercised (grids without ratings, ...)
    assert zero_denominators > 0


# --- counts add up ----------------------------------------------------------------------


def test_every_count_of_the_city_is_the_sum_over_each_level_with_unassigned(
    warehouse, kpi, city, meta
):
    cols = count_columns(warehouse)
    assert {"requests", "closed", "overdue", "closed_on_time", "due_decided"} <= set(cols)
    assert {"responded_in_time", "response_decided", "resolved", "rated", "satisfied"} <= set(cols)
    assert {"reopened", "reopened_twice", "repeats", "handled", "dispatched"} <= set(cols)
    levels = frame(
        warehouse,
        "SELECT level FROM dim_level WHERE hierarchy = ? ORDER BY sort_order",
        [meta["primary_hierarchy"]],
    )["level"].tolist()
    assert levels == ["district", "street", "community", "grid"]
    want = city[cols].sort_index()
    assert len(want) == len(frame(warehouse, "SELECT * FROM dim_period"))
    for level in levels:
        rows = kpi.loc[kpi["level"] == level]
        got = rows.groupby("period_id")[cols].sum().sort_index()
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=level)
        # the unassigned bucket is part of the sum, not an afterthought
        placed = rows.loc[rows["unit_id"] != "__unassigned__"]
        assert placed["requests"].sum() < rows["requests"].sum(), level


@pytest.mark.parametrize("dim", ["category", "department"])
def test_breakdown_rows_add_up_to_their_unit(warehouse, kpi, dim):
    cols = count_columns(warehouse)
    breakdown = frame(warehouse, "SELECT * FROM mart_unit_breakdown WHERE dim = ?", [dim])
    keys = ["level", "unit_id", "period_id"]
    got = breakdown.groupby(keys)[cols].sum().sort_index()
    depth = frame(warehouse, "SELECT level, depth FROM dim_level")
    shallow = set(depth.loc[depth["depth"] <= BREAKDOWN_MAX_DEPTH, "level"])
    assert set(breakdown["level"]) == shallow
    want = kpi.loc[kpi["level"].isin(shallow)].set_index(keys)[cols].sort_index()
    # every unit and period of those levels is broken down, and nothing else
    assert got.index.equals(want.index)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert (breakdown.groupby(keys)["key"].nunique() >= 1).all()
    assert breakdown["key"].notna().all()


# --- on time, in working time -----------------------------------------------------------


def test_due_times_are_working_time_and_on_time_follows_them(facts, meta):
    calendar = calendar_for(meta["timezone"])
    closed = facts.loc[facts["first_closed_at"].notna()]
    natural_due = closed["created_local"] + pd.to_timedelta(closed["time_limit_hours"], unit="h")
    # on time only because weekends and holidays do not count
    saved = closed.loc[
        (closed["first_closed_at"] > natural_due) & (closed["first_closed_at"] <= closed["due_at"])
    ]
    assert len(saved) > 0
    sample = pd.concat(
        [closed.sample(200, random_state=4), saved.sample(min(50, len(saved)), random_state=4)]
    )
    for row in sample.itertuples():
        due = calendar.add_working_hours(row.created_local.to_pydatetime(), row.time_limit_hours)
        assert abs((pd.Timestamp(due) - row.due_at).total_seconds()) < 1e-3, row.request_id
        on_time = row.first_closed_at <= pd.Timestamp(due)
        assert on_time == (row.first_closed_at <= row.due_at), row.request_id
    assert (sample["first_closed_at"] <= sample["due_at"]).sum() > 0
    assert (sample["first_closed_at"] > sample["due_at"]).sum() > 0


def test_on_time_counts_are_recomputed_from_the_requests(facts, city, periods):
    assert set(periods["period_id"]) == set(city.index)
    for p in periods.itertuples():
        rows = in_period(facts, p.start_local, p.end)
        closed_before_end = rows["first_closed_at"] < p.end
        on_time = closed_before_end & (rows["first_closed_at"] <= rows["due_at"])
        decided = closed_before_end | (rows["due_at"] < p.end)
        overdue = (rows["first_closed_at"] > rows["due_at"]) | (
            ~closed_before_end & (rows["due_at"] < p.end)
        )
        got = city.loc[p.period_id]
        assert got["requests"] == len(rows), p.period_id
        assert got["closed_on_time"] == on_time.sum(), p.period_id
        assert got["due_decided"] == decided.sum(), p.period_id
        assert got["overdue"] == overdue.sum(), p.period_id
    year = city.loc["last365"]
    assert 0 < year["closed_on_time"] < year["due_decided"] <= year["requests"]


# --- repeat complaints ------------------------------------------------------------------


def test_repeats_are_recomputed_from_type_address_and_window(facts, city, periods, rules):
    # The demo gives every request an address, so the fine-cell fallback is not used here.
    assert facts["address"].notna().all() and (facts["address"].str.strip() != "").all()
    window = pd.Timedelta(days=int(rules["repeat_window_days"]))
    assert window == pd.Timedelta(days=30)
    place = facts["address"].str.strip(" ").str.replace(r"\s+", " ", regex=True).str.lower()
    ordered = facts.assign(place=place).sort_values(
        ["event_type", "place", "created_local", "request_id"]
    )
    previous = ordered.groupby(["event_type", "place"])["created_local"].shift()
    repeat = (previous >= ordered["created_local"] - window).reindex(facts.index)
    assert repeat.sum() > 0
    mismatched = facts.loc[repeat != facts["is_repeat"], "request_id"].tolist()
    assert mismatched == []
    for p in periods.itertuples():
        rows = in_period(facts, p.start_local, p.end)
        assert city.loc[p.period_id, "repeats"] == repeat.loc[rows.index].sum(), p.period_id
    assert city.loc["last365", "repeats"] == repeat.sum()


def test_a_request_of_another_type_at_the_same_place_is_no_repeat(facts, rules):
    window = pd.Timedelta(days=int(rules["repeat_window_days"]))
    place = facts["address"].str.strip(" ").str.replace(r"\s+", " ", regex=True).str.lower()
    by_place = facts.assign(place=place).sort_values(["place", "created_local", "request_id"])
    prev_type = by_place.groupby("place")["event_type"].shift()
    prev_time = by_place.groupby("place")["created_local"].shift()
    # the same place within the window, but a different type from every earlier one there
    first_of_type = ~by_place.duplicated(["place", "event_type"])
    other_type = by_place.loc[
        first_of_type
        & prev_type.notna()
        & (prev_type != by_place["event_type"])
        & (prev_time >= by_place["created_local"] - window)
    ]
    assert len(other_type) > 0
    assert not other_type["is_repeat"].any()


# --- lamps, long-unresolved, escalation -------------------------------------------------


def test_open_requests_have_a_lamp_and_closed_ones_none(facts, as_of, rules):
    is_open = facts["closed_at"].isna()
    assert (facts["is_open"] == is_open).all()
    assert facts.loc[is_open, "lamp"].notna().all()
    assert facts.loc[~is_open, "lamp"].isna().all()
    assert facts.loc[~is_open, "open_working_hours"].isna().all()
    opened = facts.loc[is_open]
    red = opened["due_at"] < as_of
    assert ((opened["lamp"] == "red") == red).all()
    yellow = ~red & (
        opened["open_working_hours"] >= rules["yellow_at"] * opened["time_limit_hours"]
    )
    assert ((opened["lamp"] == "yellow") == yellow).all()
    assert set(opened["lamp"]) >= {"green", "red"}
    # response overdue: open, never accepted, past the response limit
    response_overdue = is_open & facts["accepted_at"].isna() & (facts["response_due_at"] < as_of)
    assert (facts["response_overdue"] == response_overdue).all()


def test_open_working_hours_are_working_time_since_creation(facts, meta, as_of):
    calendar = calendar_for(meta["timezone"])
    opened = facts.loc[facts["is_open"]]
    assert len(opened) > 0
    for row in opened.itertuples():
        hours = calendar.working_seconds(row.created_local.to_pydatetime(), as_of) / 3600
        assert row.open_working_hours == pytest.approx(hours, abs=1e-6), row.request_id


def test_long_unresolved_follows_the_sla_rules(facts, rules):
    long_hours = rules["long_open_working_days"] * 24
    long_open = (facts["open_working_hours"] >= long_hours).fillna(False).astype(bool)
    reopened_often = facts["reopen_count"] >= rules["long_reopens"]
    assert (facts["long_open"] == long_open).all()
    assert (facts["reopened_often"] == reopened_often).all()
    assert (facts["long_unresolved"] == (long_open | reopened_often)).all()


def test_escalation_follows_the_documented_rule(facts, rules):
    long_hours = rules["long_open_working_days"] * 24
    is_open = facts["is_open"].astype(bool)
    hours = facts["open_working_hours"]
    red = (facts["lamp"] == "red").fillna(False).astype(bool)
    level3 = is_open & (hours >= 2 * long_hours).fillna(False)
    level2 = (red & (hours >= 2 * facts["time_limit_hours"]).fillna(False)) | (
        is_open & facts["long_unresolved"]
    )
    want = np.select([level3, level2, red], [3, 2, 1], default=0)
    assert (facts["escalation"].to_numpy() == want).all()
    assert (facts.loc[~is_open, "escalation"] == 0).all()
    assert set(facts["escalation"]) >= {0, 1, 2}


def test_the_demo_plants_second_reopens_long_unresolved_cases_and_responses(facts, city):
    assert (facts["reopen_count"] >= 2).any()
    assert facts["long_unresolved"].any()
    assert (facts["long_unresolved"] & facts["is_open"]).any()
    assert city["response_rate"].notna().all()
    assert 0 < city.loc["last365", "response_rate"] < 1
    assert city.loc["last365", "reopened_twice"] == (facts["reopen_count"] >= 2).sum()
    assert city.loc["last365", "reopened"] == (facts["reopen_count"] >= 1).sum()


# --- the documentation ------------------------------------------------------------------


def test_docs_hold_the_registry_table_as_generated():
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- registry:start -->\n(.*?)\n?<!-- registry:end -->", text, re.S)
    assert found, f"{DOCS} has no <!-- registry:start --> ... <!-- registry:end --> block"
    assert found.group(1).strip() == metrics.docs_table().strip()


def test_as_of_is_midnight_after_the_last_request(facts, as_of):
    last = facts["created_local"].max()
    assert as_of == pd.Timestamp(dt.datetime.combine(last.date(), dt.time())) + pd.Timedelta(days=1)
