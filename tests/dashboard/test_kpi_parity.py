"""What a cockpit shows equals what the notebook API returns for the same unit and period.

Every KPI tile carries its metric id (``data-kpi``) and the text it shows (``data-value``);
the SLA tiles carry ``data-sla``; ranking rows carry the unit id. The tests render real
pages over the small built city and compare each with ``pipelines.api`` formatted the
same way (``dashboard.fmt.fmt_metric``), for every level, several periods and both
languages.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from dashboard import data, ids
from dashboard.components.kpis import DISPATCH, TILES
from dashboard.fmt import fmt_int, fmt_metric, fmt_pct
from pipelines import api, metrics
from pipelines.settings import Settings

PERIODS = ("last30", "last365", "m2026-03")


@pytest.fixture
def notebook(city_data: Settings) -> Settings:
    """The notebook API pointed at the same published build as the dashboard."""
    api.connect(city_data.data_dir)
    return city_data


def _attrs(page: Any, key: str) -> dict[str, Any]:
    """``{data-<key> value: component}`` for every component of the page carrying it."""
    out: dict[str, Any] = {}
    for node in page._traverse():
        value = getattr(node, f"data-{key}", None)
        if value is not None:
            out[str(value)] = node
    return out


def _every_cockpit() -> list[tuple[str, str | None]]:
    """The city and, at every level, its busiest unit, its quietest and one in the middle."""
    picked: list[tuple[str, str | None]] = [("city", None)]
    for level in data.levels():
        if level == "city":
            continue
        rows = api.metrics(level, "last365", ["requests"]).sort_values(["requests", "unit_id"])
        ids_ = list(rows["unit_id"])
        for uid in {ids_[0], ids_[len(ids_) // 2], ids_[-1]}:
            picked.append((level, uid))
    return picked


def test_every_kpi_tile_on_every_cockpit_shows_the_value_the_api_returns(notebook, layout_of):
    checked = 0
    for level, unit_id in _every_cockpit():
        for period in PERIODS:
            for lang in ("zh", "en"):
                # view=overview: a grid's bare path is its chief's view, checked in test_grid_view
                page = layout_of(level, unit_id=unit_id, period=period, lang=lang, view="overview")
                tiles = _attrs(page, "kpi")
                wanted = api.metrics(
                    level,
                    period,
                    list(TILES) + list(DISPATCH),
                    unit_id=unit_id or data.city().unit_id,
                )
                assert len(wanted) == 1, (level, unit_id, period)
                row = wanted.iloc[0]
                for metric_id in TILES:
                    m = metrics.metric(metric_id)
                    value = row[metric_id]
                    expected = fmt_metric(
                        value if m.unit != "count" or pd.notna(value) else 0, m.unit
                    )
                    shown = getattr(tiles[metric_id], "data-value")
                    assert shown == expected, (level, unit_id, period, metric_id)
                    checked += 1
                for metric_id in DISPATCH:
                    assert tiles[metric_id].children == fmt_pct(row[metric_id], 1)
                    checked += 1
    assert checked > 500


def test_every_tile_names_its_metric_and_explains_it_on_hover(notebook, layout_of):
    for lang in ("zh", "en"):
        tiles = _attrs(layout_of("city", lang=lang), "kpi")
        for metric_id in TILES:
            m = metrics.metric(metric_id)
            tile = tiles[metric_id]
            assert m.definition(lang) in tile.title
            assert tile.children[0].children == m.name(lang)


def test_the_sla_tiles_show_the_open_request_counts_the_api_returns(notebook, layout_of):
    for level, unit_id in _every_cockpit():
        page = layout_of(level, unit_id=unit_id, view="sla", period="last30")
        tiles = _attrs(page, "sla")
        counts = api.sla(level, unit_id)
        assert tiles, (level, unit_id)
        for key, tile in tiles.items():
            assert tile.children[1].children == fmt_int(counts[key]), (level, unit_id, key)
        overdue = api.requests(level=level, unit_id=unit_id, open_only=True, lamp="red")
        listed = _table_keys(page, ids.SLA_OVERDUE)
        assert listed == list(overdue["request_id"].head(len(listed)))
        assert len(listed) == min(len(overdue), 100)


def _table_keys(page: Any, table_id: str) -> list[str]:
    table = next(n for n in page._traverse() if getattr(n, "id", None) == table_id)
    return [str(getattr(n, "data-key")) for n in table._traverse() if hasattr(n, "data-key")]


@pytest.mark.parametrize("metric_id", ["on_time_rate", "satisfaction_rate", "worry_index"])
def test_the_ranking_view_lists_the_api_ranking(notebook, layout_of, metric_id):
    city = data.city()
    for level, unit_id in (("city", None), ("district", None)):
        if unit_id is None and level != "city":
            unit_id = str(api.metrics(level, "last365", ["requests"])["unit_id"].iloc[0])
        page = layout_of(level, unit_id=unit_id, view="ranking", metric=metric_id, period="last365")
        parent = unit_id or city.unit_id
        child = data.child_level(data.unit(parent) or city)
        assert child is not None
        expected = api.ranking(child.level, "last365", metric_id, parent_id=parent)
        assert _table_keys(page, ids.RANK_TABLE) == list(expected["unit_id"])
