"""Shortcuts taken for speed (issue 8) give exactly what the long way gives."""

from __future__ import annotations

from pandas.testing import assert_frame_equal

from dashboard import data
from pipelines import queries


def test_the_overdue_list_taken_from_the_open_list_equals_its_own_query(units):
    for unit in units.values():
        shown = data.sla_requests(unit, "overdue", None, 100)
        asked = queries.requests(
            data.current_build().con,
            level=unit.level,
            unit_id=unit.unit_id,
            open_only=True,
            lamp="red",
            limit=100,
            columns=data.SLA_COLUMNS,
        )
        # the same rows and values; an empty list may differ in its columns' dtypes only
        assert_frame_equal(shown, asked, check_dtype=not asked.empty, obj=unit.unit_id)


def test_a_cached_result_is_the_same_object_on_the_next_call(units):
    district = units["district"]
    first = data.sla_requests(district, "open", None, data.SLA_OPEN_ROWS)
    assert data.sla_requests(district, "open", None, data.SLA_OPEN_ROWS) is first
