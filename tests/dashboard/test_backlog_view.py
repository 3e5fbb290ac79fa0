"""The backlog playback: one map recoloured in place, a fixed colour scale, the total line."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pytest
from dash import no_update

from dashboard import backlog_figures, backlog_view, data, ids
from dashboard.i18n import t
from pipelines import api
from pipelines.settings import Settings


def _find(tree: Any, component_id: str) -> Any:
    for node in [tree, *tree._traverse()]:
        if getattr(node, "id", None) == component_id:
            return node
    raise AssertionError(f"{component_id} not in the page")


def _context(page: Any) -> dict[str, Any]:
    return dict(_find(page, ids.BACKLOG_CONTEXT).data)


def _cells_trace(page: Any) -> dict[str, Any]:
    figure = _find(page, ids.BACKLOG_MAP).figure
    return figure["data"][backlog_figures.CELLS_TRACE]


def _page(layout_of, unit: data.Unit, lang: str = "zh", period: str = "last30") -> Any:
    kwargs = {} if unit.level == "city" else {"unit_id": unit.unit_id}
    return layout_of(unit.level, view="backlog", period=period, lang=lang, **kwargs)


def test_the_backlog_view_has_a_map_a_slider_a_play_button_and_the_total_line(
    layout_of, units, ids_in, texts_in
):
    for level, unit in units.items():
        for lang in ("zh", "en"):
            page = _page(layout_of, unit, lang)
            found = ids_in(page)
            for wanted in (
                ids.BACKLOG_MAP,
                ids.BACKLOG_SLIDER,
                ids.BACKLOG_PLAY,
                ids.BACKLOG_TICK,
                ids.BACKLOG_CHART,
                ids.BACKLOG_SUMMARY,
            ):
                assert wanted in found, (level, lang, wanted)
            text = texts_in(page)
            for key in ("backlog.map", "backlog.total", "backlog.play", "backlog.now_unlocated"):
                assert t(key, lang) in text, (level, lang, key)


def test_the_map_shows_every_cell_ever_open_and_the_page_starts_at_the_as_of_time(layout_of, units):
    unit = units["district"]
    result = backlog_view.backlog(unit)
    assert result is not None
    page = _page(layout_of, unit)
    trace = _cells_trace(page)
    cell_ids = list(result.cells["cell_id"])
    assert trace["locations"] == cell_ids
    assert [f["id"] for f in trace["geojson"]["features"]] == cell_ids
    # every drawn cell has open requests at some moment of the playback
    assert (result.open.max(axis=1) > 0).all()
    slider = _find(page, ids.BACKLOG_SLIDER)
    assert slider.value == slider.max == result.schedule.count - 1
    assert [c[1] for c in trace["customdata"]] == [int(v) for v in result.open[:, -1]]
    shown = _find(page, ids.BACKLOG_SUMMARY)
    values = {
        attr: getattr(node, attr)
        for node in shown._traverse()
        for attr in ("data-open", "data-overdue", "data-unlocated")
        if getattr(node, attr, None) is not None
    }
    assert values == {
        "data-open": str(int(result.total_open[-1])),
        "data-overdue": str(int(result.total_overdue[-1])),
        "data-unlocated": str(int(result.unlocated_open[-1])),
    }


def test_a_month_page_starts_the_playback_at_the_end_of_that_month(layout_of, units):
    unit = units["street"]
    page = _page(layout_of, unit, period="m2026-03")
    result = backlog_view.backlog(unit)
    assert result is not None
    moment = result.schedule.moments()[_find(page, ids.BACKLOG_SLIDER).value]
    assert moment == data.resolve_period("m2026-03").end


def test_a_slider_step_sends_only_colours_of_the_same_cells_in_the_same_order(layout_of, units):
    unit = units["city"]
    page = _page(layout_of, unit)
    context = _context(page)
    drawn = _cells_trace(page)["locations"]
    result = backlog_view.backlog(unit)
    assert result is not None
    for k in (0, 57, result.schedule.count // 2, result.schedule.count - 1):
        update, label, summary = backlog_view.recolour(k, context)
        assert set(update) == {"cells", "cursor", "trace", "cursor_traces"}
        assert set(update["cells"]) == {"z", "customdata"}
        assert update["trace"] == backlog_figures.CELLS_TRACE
        assert update["cursor_traces"] == list(backlog_figures.CURSOR_TRACES)
        # no geometry: the browser restyles what it has (assets/backlog.js)
        assert "geojson" not in json.dumps(update) and "coordinates" not in json.dumps(update)
        assert [c[0] for c in update["cells"]["customdata"]] == drawn
        assert [c[1] for c in update["cells"]["customdata"]] == [int(v) for v in result.open[:, k]]
        assert update["cursor"]["y"][1] == [int(result.total_open[k])]
        assert label == backlog_view.moment_label(
            result.schedule.moments()[k], result.schedule, "zh"
        )
        assert summary
    # the frames differ: the backlog really moves over the year
    first = backlog_view.recolour(0, context)[0]["cells"]["z"]
    last = backlog_view.recolour(result.schedule.count - 1, context)[0]["cells"]["z"]
    assert first != last


def test_the_colour_scale_is_fixed_for_the_whole_playback(layout_of, units):
    unit = units["city"]
    page = _page(layout_of, unit)
    trace = _cells_trace(page)
    result = backlog_view.backlog(unit)
    assert result is not None
    assert trace["zauto"] is False
    assert trace["zmin"] == 0.0
    assert trace["zmax"] == pytest.approx(math.log10(1 + result.peak))
    # the peak is the busiest cell at any moment, not at the moment shown
    assert result.peak == result.open.max() > result.open[:, -1].max()
    colour_of: dict[int, float] = {}
    context = _context(page)
    for k in range(0, result.schedule.count, 7):
        cells = backlog_view.recolour(k, context)[0]["cells"]
        for z, (_, count, _) in zip(cells["z"], cells["customdata"], strict=True):
            if count == 0:
                assert z is None  # nothing open: transparent
                continue
            assert 0 < z <= trace["zmax"] + 1e-9
            assert colour_of.setdefault(count, z) == z  # one count, one colour
    ticks = trace["colorbar"]["ticktext"]
    assert ticks[-1] == f"{result.peak:,}"


def test_the_total_line_and_the_api_show_the_same_numbers(layout_of, units, city_data: Settings):
    unit = units["street"]
    page = _page(layout_of, unit, lang="en")
    chart = _find(page, ids.BACKLOG_CHART).figure
    api.connect(city_data.data_dir)
    totals = api.backlog("street", unit.unit_id, by="total")
    assert chart["data"][0]["y"] == [int(v) for v in totals["open"]]
    assert chart["data"][1]["y"] == [int(v) for v in totals["overdue"]]
    assert pd.to_datetime(chart["data"][0]["x"]).equals(pd.DatetimeIndex(totals["moment"]))
    # the cursor sits on the moment shown (the as-of time)
    assert chart["data"][3]["y"] == [int(totals["open"].iloc[-1])]


def test_play_toggles_the_interval_and_each_tick_strides_round(units):
    context = {"count": 365, "stride": backlog_view.play_stride(365), "lang": "en"}
    assert backlog_view.toggle_play(1, context) == (False, t("backlog.pause", "en"))
    assert backlog_view.toggle_play(2, context) == (True, t("backlog.play", "en"))
    stride = context["stride"]
    assert 1 < stride and 365 / stride <= backlog_view.PLAY_FRAMES
    assert backlog_view.step(1, 0, context) == stride
    assert backlog_view.step(2, 363, context) == 364  # the last moment is always shown
    assert backlog_view.step(3, 364, context) == 0
    assert backlog_view.step(None, 5, context) is no_update


def test_odd_or_stale_slider_values_never_raise(units):
    context = {"unit_id": units["street"].unit_id, "lang": "zh", "top": 10}
    for value in (None, -1, 10_000, "x"):
        assert backlog_view.recolour(value, context) == (no_update, no_update, no_update)
    assert backlog_view.recolour(3, {"unit_id": "no-such-unit"})[0] is no_update
    assert backlog_view.recolour(3, None)[0] is no_update


def test_a_unit_without_requests_gets_a_friendly_empty_state(
    city_data, layout_of, warehouse, ids_in, texts_in
):
    quiet = warehouse.execute(
        """
        SELECT u.unit_id FROM dim_unit AS u
        WHERE u.level = 'grid' AND NOT EXISTS (
            SELECT 1 FROM mart_unit_kpi AS k
            WHERE k.unit_id = u.unit_id AND k.period_id = 'last365' AND k.requests > 0
        )
        ORDER BY u.unit_id LIMIT 1
        """
    ).fetchone()
    assert quiet is not None, "the demo city has grids without requests"
    for lang in ("zh", "en"):
        page = layout_of("grid", unit_id=quiet[0], view="backlog", lang=lang)
        assert ids.EMPTY in ids_in(page)
        assert ids.BACKLOG_MAP not in ids_in(page)
        assert t("backlog.empty", lang) in texts_in(page)
