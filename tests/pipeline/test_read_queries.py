"""The shared read queries (pipelines/queries.py) as the cockpit calls them (issue 8 speed-ups)."""

from __future__ import annotations

import pytest

from pipelines import queries


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
