"""Each page's layout, called the way the Dash router calls it: real ids, bad ids, odd queries."""

from __future__ import annotations

import json

import pytest
from dash._utils import to_json

from dashboard import data, ids

COCKPIT_IDS = {
    ids.STATE,
    ids.TITLE,
    ids.BREADCRUMB,
    ids.PERIOD,
    ids.LANG,
    ids.AS_OF,
    ids.KPIS,
    ids.MAP,
    ids.RANKING,
    ids.CATEGORIES,
    ids.TREND,
}

pytestmark = pytest.mark.usefixtures("city_data")


@pytest.mark.parametrize("level", ["city", "district", "street", "community"])
def test_each_cockpit_renders_every_panel(level, units, layout_of, ids_in):
    page = layout_of(level, unit_id=units[level].unit_id)
    assert COCKPIT_IDS <= ids_in(page)
    assert ids.EMPTY not in ids_in(page)


@pytest.mark.parametrize("level", ["district", "street", "community"])
def test_unknown_unit_ids_give_a_friendly_state_with_a_way_back(level, layout_of, ids_in):
    page = layout_of(level, unit_id="nope'; DROP TABLE meta; --")
    assert {ids.EMPTY, ids.BACK_LINK} <= ids_in(page)
    assert ids.MAP not in ids_in(page)


def test_a_unit_of_another_level_is_not_accepted(units, layout_of, ids_in):
    page = layout_of("street", unit_id=units["district"].unit_id)
    assert ids.EMPTY in ids_in(page)


def test_missing_unit_id_is_the_empty_state(layout_of, ids_in):
    assert ids.EMPTY in ids_in(layout_of("community"))


def test_unknown_period_and_extra_query_keys_fall_back_quietly(units, layout_of, ids_in):
    page = layout_of(
        "district", unit_id=units["district"].unit_id, period="m1999-01", utm_source="wechat"
    )
    assert COCKPIT_IDS <= ids_in(page)
    period = next(c for c in page._traverse() if getattr(c, "id", None) == ids.PERIOD)
    state = next(c for c in page._traverse() if getattr(c, "id", None) == ids.STATE)
    assert period.value == state.data["period"] == "last30"


def test_chinese_by_default_english_on_request(units, layout_of, texts_in):
    zh = texts_in(layout_of("city"))
    en = texts_in(layout_of("city", lang="en"))
    assert "诉求量" in zh and "时限督办" in zh and units["city"].name_zh in zh
    assert "Requests" in en and units["city"].name_en in en
    assert "诉求量" not in en and "时限督办" not in en


def test_breadcrumb_links_keep_period_and_language(units, layout_of):
    page = layout_of("community", unit_id=units["community"].unit_id, period="last7", lang="en")
    crumb = next(c for c in page._traverse() if getattr(c, "id", None) == ids.BREADCRUMB)
    hrefs = [getattr(c, "href", None) for c in crumb._traverse() if getattr(c, "href", None)]
    assert hrefs == [
        "/?period=last7&lang=en",
        f"/district/{units['district'].unit_id}?period=last7&lang=en",
        f"/street/{units['street'].unit_id}?period=last7&lang=en",
    ]


def test_ranking_names_link_one_level_down(units, layout_of):
    page = layout_of("street", unit_id=units["street"].unit_id, period="last30", lang="zh")
    ranking = next(c for c in page._traverse() if getattr(c, "id", None) == ids.RANKING)
    hrefs = [getattr(c, "href", "") for c in ranking._traverse() if getattr(c, "href", None)]
    assert hrefs and all(
        h.startswith("/community/") and h.endswith("?period=last30&lang=zh") for h in hrefs
    )


def test_grids_in_the_community_ranking_link_to_grid_cockpits(units, layout_of):
    page = layout_of("community", unit_id=units["community"].unit_id)
    ranking = next(c for c in page._traverse() if getattr(c, "id", None) == ids.RANKING)
    hrefs = [c.href for c in ranking._traverse() if getattr(c, "href", None)]
    assert hrefs and all(h.startswith("/grid/") for h in hrefs)


def test_a_grid_cockpit_ranks_the_grid_among_its_peers(units, layout_of):
    grid = data.children(units["community"])[0]
    page = layout_of("grid", unit_id=grid.unit_id, lang="en", view="overview")
    ranking = next(c for c in page._traverse() if getattr(c, "id", None) == ids.RANKING)
    hrefs = [c.href for c in ranking._traverse() if getattr(c, "href", None)]
    peers = data.children(units["community"])
    # every peer but the page's own grid is a link; the grid itself is plain text
    assert len(hrefs) == len(peers) - 1
    assert not any(grid.unit_id in h for h in hrefs)
    assert units["community"].name("en") in str(page.to_plotly_json())


def test_city_page_notes_unassigned_requests(layout_of, ids_in):
    assert ids.UNASSIGNED in ids_in(layout_of("city"))


def test_map_figure_drills_into_children_of_the_page_unit(units, layout_of):
    page = layout_of("district", unit_id=units["district"].unit_id)
    graph = next(c for c in page._traverse() if getattr(c, "id", None) == ids.MAP)
    paths = {
        row[-1]
        for trace in graph.figure["data"]
        if trace["type"] == "choroplethmap"
        for row in trace["customdata"]
    }
    assert paths and all(p.startswith("/street/") for p in paths)


def test_rendered_pages_serialise_to_json(units, layout_of):
    page = layout_of("street", unit_id=units["street"].unit_id, lang="en")
    assert json.loads(to_json(page))


def test_not_found_page_offers_the_way_home(layout_of, ids_in, texts_in):
    page = layout_of("not_found_404", lang="en")
    assert {ids.NOT_FOUND, ids.BACK_LINK} <= ids_in(page)
    assert "Page not found" in texts_in(page)


def test_the_quality_page_accounts_for_every_input_and_every_location_rule(built_city):
    from dashboard import app as app_module
    from dashboard import data, ids
    from dashboard.pages import quality

    app_module.create_app(built_city)
    page = quality.layout(lang="en")
    text = str(page)
    assert ids.QUALITY_TABLE in text
    counts = data.quality_counts()
    # every input shows read = accepted + quarantined, and says so
    assert "NOT balanced" not in text
    assert text.count("'balanced'") >= 4
    n_requests = counts["requests:rows_in"]
    assert f"{n_requests:,}" in text
    # every rule of the primary hierarchy, with its count and its meaning
    rules = [k.split(":rule:")[1] for k in counts if k.startswith("request_place:main:rule:")]
    assert rules[:2] == ["interior", "exact"]  # in the pipeline's order
    assert {"overlap", "snapped", "outside", "out_of_area", "no_location"} <= set(rules)
    for rule in rules:
        n = counts[f"request_place:main:rule:{rule}"]
        assert f"{n:,} (" in text, rule
    assert "smallest by area wins" in text
    # the boundary table names each level
    for info in data.levels().values():
        if info.level != "city":
            assert info.label("en") in text
