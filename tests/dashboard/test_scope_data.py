"""Scope in the data layer: what each principal's calls return, whoever renders them."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import access, data
from pipelines import component_queries, grid_queries
from tests.signin import COMMUNITY, DISTRICT, GRID, STREET


def _as(role: str, *scope: str) -> access.Principal:
    return access.Principal(role, access.ROLES[role], frozenset(scope))


STREET_LEADER = _as("street_leader", STREET)
GRID_CHIEF = _as("grid_chief", GRID)


def test_a_unit_outside_the_scope_does_not_exist_for_the_user(city_data):
    other = next(u for u in data.children(data.city()) if u.unit_id != DISTRICT)
    with access.acting_as(STREET_LEADER):
        assert data.unit(STREET) is not None
        assert data.unit(COMMUNITY) is not None  # below the scope
        assert data.unit(DISTRICT) is None  # above it
        assert data.unit(other.unit_id) is None  # beside it
        assert not data.in_scope(other)


def test_functions_given_an_out_of_scope_unit_refuse(city_data):
    district = data.unit(DISTRICT)
    assert district is not None
    with access.acting_as(STREET_LEADER):
        for call in (
            lambda: data.unit_kpis(district, "last30"),
            lambda: data.child_kpis(district, "last30"),
            lambda: data.hex_cells(district, "last30"),
            lambda: data.children(district),
            lambda: data.outline(district),
            lambda: data.city(),
            lambda: data.unassigned_requests("last30"),
            lambda: data.quality_counts(),
        ):
            with pytest.raises(access.OutOfScopeError):
                call()


def test_home_and_breadcrumbs_start_at_the_top_of_the_scope(city_data):
    with access.acting_as(STREET_LEADER):
        home = data.home()
        assert home.unit_id == STREET
        grid = data.unit(GRID)
        assert grid is not None
        assert [u.unit_id for u in data.lineage(grid)] == [STREET, COMMUNITY, GRID]
    with access.acting_as(_as("city_leader", "*")):
        assert data.home().level == "city"


def test_feature_queries_are_checked_on_the_units_they_name(city_data):
    with access.acting_as(GRID_CHIEF):
        assert isinstance(data.read(grid_queries.open_requests, GRID, limit=5), pd.DataFrame)
        with pytest.raises(access.OutOfScopeError):
            data.read(grid_queries.open_requests, STREET, limit=5)
        with pytest.raises(access.OutOfScopeError):  # naming no unit is city-wide
            data.read(component_queries.alarms, unit_id=None, kind=None, limit=5)
        # reference data (component kinds) is no one's requests
        assert data.read(component_queries.kinds) is not None


def test_a_grid_chief_ranks_among_the_peers_they_may_see_only(city_data):
    grid = data.unit(GRID)
    assert grid is not None
    everyone = data.peer_kpis(grid, "last30")
    assert len(everyone) > 1
    with access.acting_as(GRID_CHIEF):
        mine = data.peer_kpis(grid, "last30")
        assert list(mine["unit_id"]) == [GRID]
        ranked = data.live_ranking("grid", COMMUNITY, "last30", "requests")
        assert set(ranked["unit_id"]) == {GRID}


def test_alerts_and_hotspots_reaching_outside_the_scope_are_left_out(city_data):
    street = data.unit(STREET)
    district = data.unit(DISTRICT)
    assert street is not None and district is not None
    everything = data.recent_alerts(district, days=400, limit=500)
    with access.acting_as(STREET_LEADER):
        kept = data.recent_alerts(street, days=400, limit=500)
        for ids in kept["unit_ids"] if not kept.empty else []:
            assert STREET in ids or any(data.in_scope(u) for u in ids)
            assert not any(
                u not in (STREET, DISTRICT, data.meta().city_id) and not data.in_scope(u)
                for u in ids
            )
        assert not kept.get("city_wide", pd.Series(dtype=bool)).astype(bool).any()
    if not everything.empty:
        assert len(kept) <= len(everything)
    with access.acting_as(GRID_CHIEF):
        grid = data.unit(GRID)
        assert grid is not None
        for ids in data.recent_alerts(grid, days=400, limit=500).get("unit_ids", []):
            assert GRID in ids  # never the street's own alerts, which count its other grids
