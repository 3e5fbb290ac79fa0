"""Figure builders on tiny hand-made frames: trace types, fixed colour range, ids that match."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pytest

from dashboard import figures

# Two neighbouring res-7 cells of Shenzhen (rings as the warehouse stores them).
RING_A = (
    "[[114.24956,22.75096],[114.24688,22.76352],[114.23419,22.76832],[114.22419,22.76055],"
    "[114.22688,22.74799],[114.23957,22.74319],[114.24956,22.75096]]"
)
RING_B = (
    "[[114.22688,22.74799],[114.22419,22.76055],[114.2115,22.76535],[114.2015,22.75758],"
    "[114.20419,22.74502],[114.21688,22.74022],[114.22688,22.74799]]"
)
SQUARE = (
    '{"type":"Polygon","coordinates":'
    "[[[114.2,22.74],[114.25,22.74],[114.25,22.77],[114.2,22.77],[114.2,22.74]]]}"
)
TEXT = {
    "requests": "诉求",
    "open": "未办结",
    "overdue": "超期",
    "worry": "忧虑指数",
    "insufficient": "数据不足",
    "colorbar": "忧虑指数",
    "legend_insufficient": "灰色：数据不足",
}


@pytest.fixture
def cells() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cell_id": ["87411c000ffffff", "87411c001ffffff", "87411c002ffffff"],
            "ring": [RING_A, RING_B, RING_A],
            "requests": [195, 24, 2],
            "open": [19, 2, 0],
            "overdue": [6, 3, 0],
            "worry_index": [65.4, 12.0, math.nan],
            "child_name": ["龙岗区", "龙岗区", "龙岗区"],
            "drill_path": ["/district/440307", "/district/440307", "/district/440307"],
        }
    )


@pytest.fixture
def children() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": ["440307", "440308"],
            "geojson": [SQUARE, None],
            "name": ["龙岗区", "盐田区"],
            "label": ["龙岗区", "盐田区"],
            "lng": [114.22, 114.28],
            "lat": [22.75, 22.60],
            "requests": [219, 0],
            "open": [21, 0],
            "overdue": [9, 0],
            "worry_index": [60.0, math.nan],
            "drill_path": ["/district/440307", "/district/440308"],
        }
    )


@pytest.fixture
def heatmap(cells, children) -> dict:
    return figures.hex_map(
        cells,
        bbox=(114.20, 22.74, 114.25, 22.77),
        children=children,
        unit_outline=SQUARE,
        text=TEXT,
        revision="440300",
    )


def test_heatmap_is_a_plain_json_serialisable_dict(heatmap):
    assert isinstance(heatmap, dict)
    json.dumps(heatmap)


def test_heatmap_layers_are_unit_tint_hexes_then_lines_then_labels(heatmap):
    kinds = [(t["type"], t.get("mode")) for t in heatmap["data"]]
    assert kinds == [
        ("choroplethmap", None),  # child units tinted by their worry
        ("choroplethmap", None),  # insufficient-data cells
        ("choroplethmap", None),  # scored cells
        ("scattermap", "lines"),  # child boundaries
        ("scattermap", "lines"),  # the unit's own outline
        ("scattermap", "markers+text"),  # child names
    ]


def test_worry_colours_use_the_fixed_0_to_100_range(heatmap):
    worry_traces = [t for t in heatmap["data"] if t.get("colorscale") and t.get("zmax") == 100]
    assert len(worry_traces) == 2
    for trace in worry_traces:
        assert (trace["zmin"], trace["zmax"], trace["zauto"]) == (0.0, 100.0, False)


def test_every_hex_location_has_a_feature_with_that_id(heatmap):
    for trace in heatmap["data"]:
        if trace["type"] == "choroplethmap":
            feature_ids = [f["id"] for f in trace["geojson"]["features"]]
            assert feature_ids == trace["locations"]


def test_cells_without_a_worry_index_are_drawn_apart_not_dropped(heatmap):
    scored, thin = heatmap["data"][2], heatmap["data"][1]
    assert scored["locations"] == ["87411c000ffffff", "87411c001ffffff"]
    assert thin["locations"] == ["87411c002ffffff"]
    assert thin["customdata"][0][3] == "数据不足"


def test_hex_customdata_carries_counts_and_ends_with_the_drill_path(heatmap):
    first = heatmap["data"][2]["customdata"][0]
    assert first[:3] == [195, 19, 6]
    assert first[-1] == "/district/440307"


def test_boundaries_are_one_trace_with_none_between_rings(heatmap):
    lines = heatmap["data"][3]
    assert lines["lon"][-1] is None
    assert len(lines["lon"]) == len(lines["lat"]) == 6  # 5 ring points + separator


def test_map_style_is_offline_no_sources_no_glyph_url(heatmap):
    style = heatmap["layout"]["map"]["style"]
    assert style["sources"] == {}
    assert "glyphs" not in style
    assert "http" not in json.dumps(style)


def test_view_is_centred_on_the_unit_bbox(heatmap):
    center = heatmap["layout"]["map"]["center"]
    assert center["lon"] == pytest.approx(114.225)
    assert 22.74 < center["lat"] < 22.77


def test_the_unit_bbox_travels_with_the_figure_for_client_side_fitting(heatmap):
    assert heatmap["layout"]["meta"]["bbox"] == [114.20, 22.74, 114.25, 22.77]


def test_a_smaller_bbox_zooms_in():
    _, city_zoom = figures.map_view((113.75, 22.40, 114.62, 22.86))
    _, community_zoom = figures.map_view((114.06, 22.58, 114.07, 22.59))
    assert 8 < city_zoom < 11 < community_zoom


def test_worry_color_is_green_at_zero_red_at_hundred_grey_when_missing():
    assert figures.worry_color(0) == "#1a9850"
    assert figures.worry_color(100) == "#d73027"
    assert figures.worry_color(150) == "#d73027"
    assert figures.worry_color(None) == figures.INSUFFICIENT_COLOR
    assert figures.worry_color(math.nan) == figures.INSUFFICIENT_COLOR


def test_trend_has_received_and_closed_lines_with_localised_dates():
    daily = pd.DataFrame(
        {
            "day": [dt.date(2026, 10, 1), dt.date(2026, 10, 2)],
            "requests": [120, 90],
            "closed": [100, 95],
        }
    )
    fig = figures.trend_chart(
        daily, lang="zh", text={"requests": "受理", "closed": "办结", "empty": "无"}
    )
    assert [t["name"] for t in fig["data"]] == ["受理", "办结"]
    assert fig["data"][0]["x"] == ["2026-10-01", "2026-10-02"]
    assert "月" in fig["layout"]["xaxis"]["tickformat"]


def test_weekly_buckets_are_daily_averages_so_partial_weeks_do_not_dip():
    weekly = pd.DataFrame(
        {
            "day": [dt.date(2025, 10, 27), dt.date(2025, 11, 3)],
            "requests": [200, 700],  # a 2-day partial week, then a full week
            "closed": [100, 700],
            "days": [2, 7],
        }
    )
    fig = figures.trend_chart(
        weekly, lang="en", text={"requests": "Received", "closed": "Closed", "empty": ""}
    )
    assert fig["data"][0]["y"] == [100.0, 100.0]
    assert fig["data"][1]["y"] == [50.0, 100.0]


def test_empty_inputs_give_a_message_not_an_error():
    fig = figures.trend_chart(
        pd.DataFrame({"day": [], "requests": [], "closed": []}),
        lang="en",
        text={"requests": "Received", "closed": "Closed", "empty": "No data"},
    )
    assert fig["data"] == []
    assert fig["layout"]["annotations"][0]["text"] == "No data"


def test_category_bars_put_the_largest_on_top_in_the_chosen_language():
    cats = pd.DataFrame(
        {
            "l1_zh": ["环保水务", "市容环卫"],
            "l1_en": ["Environment & water", "City appearance"],
            "requests": [9522, 9222],
            "open": [199, 201],
            "rank": [1, 2],
        }
    )
    fig = figures.category_bars(
        cats, lang="en", text={"requests": "Requests", "open": "Open", "empty": ""}
    )
    bars = fig["data"][0]
    assert bars["orientation"] == "h"
    # plotly draws the first y category at the bottom, so rank 1 comes last
    assert bars["y"] == ["City appearance", "Environment & water"]
    assert bars["x"] == [9222, 9522]
