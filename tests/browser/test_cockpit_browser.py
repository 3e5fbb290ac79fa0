"""The cockpit in a real browser: drill city → district → street → community, screenshots.

Runs ``yiwang serve`` on the session's small city and drives system Chromium. Screenshots go
to ``artifacts/screenshots/`` (git-ignored) for people to look at; the assertions cover URL
state, breadcrumbs, a map that really rendered hexes, no console errors and no request to
any host but this server.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("cjk_font")]

MAP = "#cockpit-map .js-plotly-plot"

#: True once plotly drew the figure, assets/cockpit.js framed the unit (``data-fitted``) and
#: MapLibre finished rendering its layers.
MAP_READY = """() => {
  const gd = document.querySelector('#cockpit-map .js-plotly-plot');
  const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  return !!(sub && sub.map && gd.dataset.fitted && sub.map.loaded() && sub.map.isStyleLoaded());
}"""

#: Hex polygons plotly handed to MapLibre, and how many MapLibre layers draw them.
MAP_STATS = """() => {
  const gd = document.querySelector('#cockpit-map .js-plotly-plot');
  const hexes = gd.data.filter(t => t.type === 'choroplethmap')
    .reduce((n, t) => n + t.locations.length, 0);
  const lines = gd.data.filter(t => t.type === 'scattermap' && t.mode === 'lines').length;
  const labels = gd.data.filter(t => t.mode === 'markers+text')
    .reduce((n, t) => n + t.text.length, 0);
  const layers = gd._fullLayout.map._subplot.map.getStyle().layers.length;
  return {hexes, lines, labels, layers};
}"""

#: Screen position of the busiest cell that drills somewhere (centre of its ring).
DRILLABLE_HEX = """() => {
  const gd = document.querySelector('#cockpit-map .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  let best = null;
  for (const t of gd.data.filter(t => t.type === 'choroplethmap' && t.name !== 'units')) {
    t.customdata.forEach((row, i) => {
      if (row[5] && (!best || row[0] > best.n)) {
        best = {n: row[0], path: row[5], ring: t.geojson.features[i].geometry.coordinates[0]};
      }
    });
  }
  const pts = best.ring.slice(0, -1);
  const lng = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const lat = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const xy = map.project([lng, lat]);
  const box = map.getCanvas().getBoundingClientRect();
  return {x: box.left + xy.x, y: box.top + xy.y, path: best.path};
}"""


def wait_for_map(page: Any) -> float:
    """Wait until the heatmap is drawn; return seconds waited."""
    start = time.perf_counter()
    page.wait_for_selector("#cockpit-map .maplibregl-canvas", timeout=30_000)
    page.wait_for_function(MAP_READY, timeout=30_000)
    elapsed = time.perf_counter() - start
    page.wait_for_timeout(700)  # label glyphs are rasterised just after "loaded"
    return elapsed


def crumbs(page: Any) -> list[str]:
    return [c.strip() for c in page.locator("#cockpit-breadcrumb .yw-crumb").all_inner_texts()]


def goto_cockpit(page: Any, url: str) -> float:
    start = time.perf_counter()
    page.goto(url)
    wait_for_map(page)
    return time.perf_counter() - start


def follow_first_ranking_link(page: Any, level: str) -> str:
    link = page.locator("#cockpit-ranking a").first
    name = link.inner_text().strip()
    link.click()
    # a grid's bare path is its chief's phone view: cockpit links name the overview
    tail = "&view=overview" if level == "grid" else ""
    page.wait_for_url(re.compile(rf"/{level}/\w+\?period=last30&lang=zh{tail}$"))
    page.wait_for_function(
        "n => document.querySelector('#cockpit-title').innerText.includes(n)", arg=name
    )
    wait_for_map(page)
    return name


def assert_map_drawn(page: Any, *, labels: bool = True) -> dict[str, int]:
    """Hexes and boundaries are on the map, and child names unless the unit is a leaf."""
    stats = page.evaluate(MAP_STATS)
    assert stats["hexes"] > 0, stats
    assert stats["lines"] >= 1, stats  # child (and own) boundaries
    if labels:
        assert stats["labels"] > 0, stats
        assert stats["layers"] > 3, stats  # background + fills + lines + labels
    return stats


def test_drill_down_from_city_to_community_and_back(server, wall, screenshots):
    timings: dict[str, float] = {}
    timings["city_load_to_map_s"] = goto_cockpit(wall, server + "/")
    city_name = crumbs(wall)[0]
    assert "一网统管" in wall.inner_text("#cockpit-title")
    assert re.fullmatch(r"[\d,]+", wall.inner_text("[data-kpi=requests] .yw-kpi-value"))
    assert "数据截至" in wall.inner_text("#cockpit-as-of")
    assert_map_drawn(wall)
    no_scrollbars = "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    assert wall.evaluate(no_scrollbars) == [1920, 1080]
    wall.screenshot(path=str(screenshots / "city.png"))

    # city -> district through the ranking
    start = time.perf_counter()
    district = follow_first_ranking_link(wall, "district")
    timings["ranking_click_to_map_s"] = time.perf_counter() - start
    assert crumbs(wall) == [city_name, district]
    assert_map_drawn(wall)
    wall.screenshot(path=str(screenshots / "district.png"))

    # district -> street through a hex on the map
    target = wall.evaluate(DRILLABLE_HEX)
    start = time.perf_counter()
    wall.mouse.click(target["x"], target["y"])
    wall.wait_for_url(re.compile(re.escape(target["path"]) + r"\?period=last30&lang=zh$"))
    wall.wait_for_function(
        "() => document.querySelectorAll('#cockpit-breadcrumb .yw-crumb').length === 3"
    )
    wait_for_map(wall)
    timings["hex_click_to_map_s"] = time.perf_counter() - start
    street = crumbs(wall)[2]
    assert crumbs(wall)[:2] == [city_name, district]
    assert_map_drawn(wall)
    wall.screenshot(path=str(screenshots / "street.png"))

    # street -> community -> grid: a grid chief's cockpit, the grid ranked among its peers
    community = follow_first_ranking_link(wall, "community")
    assert crumbs(wall) == [city_name, district, street, community]
    assert wall.locator("#cockpit-ranking tbody tr").count() > 0
    assert_map_drawn(wall)
    wall.screenshot(path=str(screenshots / "community.png"))
    peers = wall.locator("#cockpit-ranking tbody tr").count()
    grid = follow_first_ranking_link(wall, "grid")
    assert crumbs(wall) == [city_name, district, street, community, grid]
    # every peer is listed; all but the grid itself link to their cockpits
    assert wall.locator("#cockpit-ranking tbody tr").count() == peers
    assert wall.locator("#cockpit-ranking a").count() == peers - 1
    assert_map_drawn(wall, labels=False)
    wall.screenshot(path=str(screenshots / "grid.png"))

    # breadcrumb goes back up, keeping the query state
    wall.locator("#cockpit-breadcrumb a.yw-crumb").first.click()
    wall.wait_for_url(re.compile(r"/\?period=last30&lang=zh$"))
    wait_for_map(wall)
    assert crumbs(wall) == [city_name]
    (screenshots / "timings.json").write_text(json.dumps(timings, indent=1))


def test_period_and_language_controls_rewrite_the_url(server, wall):
    goto_cockpit(wall, server + "/")
    wall.locator("#cockpit-ranking a").first.click()
    wall.wait_for_url(re.compile(r"/district/"))
    wait_for_map(wall)
    before = wall.inner_text("[data-kpi=requests] .yw-kpi-value")

    wall.click("#cockpit-period")
    wall.get_by_role("option", name="近7天").click()
    wall.wait_for_url(re.compile(r"period=last7&lang=zh$"))
    wall.wait_for_function(
        "v => document.querySelector('[data-kpi=requests] .yw-kpi-value').innerText !== v",
        arg=before,
    )

    wall.click("#cockpit-lang label:has-text('EN')")
    wall.wait_for_url(re.compile(r"period=last7&lang=en$"))
    wall.wait_for_selector("text=Requests")
    assert "Unified City Management" in wall.inner_text("#cockpit-title")
    wait_for_map(wall)

    wall.go_back()
    wall.wait_for_url(re.compile(r"lang=zh$"))
    wall.wait_for_selector("text=诉求量")


def test_sla_and_ranking_views_open_from_the_tabs_and_keep_their_state_in_the_url(
    server, wall, screenshots
):
    goto_cockpit(wall, server + "/?period=last365")
    wall.click("#cockpit-views a:has-text('时限督办')")
    wall.wait_for_url(re.compile(r"/\?period=last365&lang=zh&view=sla$"))
    wall.wait_for_selector("#sla-summary [data-sla=red]")
    wait_for_map(wall)
    lamps = wall.evaluate(
        "() => document.querySelector('#cockpit-map .js-plotly-plot').data"
        ".filter(t => t.mode === 'markers').reduce((n, t) => n + t.lon.length, 0)"
    )
    open_now = int(wall.inner_text("[data-sla=open_now] .yw-kpi-value").replace(",", ""))
    assert 0 < lamps <= open_now
    assert wall.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    ) == [1920, 1080]
    wall.screenshot(path=str(screenshots / "sla.png"))

    wall.click("#cockpit-views a:has-text('考核排名')")
    wall.wait_for_url(re.compile(r"view=ranking$"))
    wall.wait_for_selector("#ranking-table tbody tr")
    assert "按期办结率" in wall.inner_text(".yw-panel-ranking-view .yw-panel-title")
    wall.click("#ranking-metric")
    wall.get_by_role("option", name="满意率").click()
    wall.wait_for_url(re.compile(r"view=ranking&metric=satisfaction_rate$"))
    wall.wait_for_function(
        "() => document.querySelector('.yw-panel-ranking-view .yw-panel-title')"
        ".innerText.includes('满意率')"
    )
    ranks = wall.locator("#ranking-table tbody tr td:first-child").all_inner_texts()
    assert ranks and ranks[0].strip() == "1"
    wall.screenshot(path=str(screenshots / "ranking.png"))


def test_english_cockpit(server, wall, screenshots):
    goto_cockpit(wall, server + "/?lang=en&period=last365")
    assert "Unified City Management" in wall.inner_text("#cockpit-title")
    assert "Requests" in wall.inner_text("#cockpit-kpis")
    assert "Weekly trend" in wall.inner_text("body")
    assert_map_drawn(wall)
    wall.screenshot(path=str(screenshots / "city_en.png"))


def test_phone_gets_one_column_without_sideways_scrolling(server, phone, screenshots):
    goto_cockpit(phone, server + "/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    map_box = phone.locator(".yw-panel-map").bounding_box()
    ranking_box = phone.locator(".yw-panel-ranking").bounding_box()
    assert map_box is not None and ranking_box is not None
    assert map_box["width"] > 340
    assert ranking_box["y"] >= map_box["y"] + map_box["height"]
    phone.screenshot(path=str(screenshots / "phone.png"), full_page=True)


def test_unknown_paths_and_units_show_a_way_back(server, wall):
    wall.goto(server + "/no/such/page")
    wall.wait_for_selector("#not-found")

    wall.goto(server + "/street/does-not-exist?lang=en")
    wall.wait_for_selector("#cockpit-empty")
    assert "not found" in wall.inner_text("#cockpit-empty")
    wall.click("#cockpit-back")
    wall.wait_for_url(re.compile(r"/\?(period=last30&)?lang=en$"))
    wait_for_map(wall)


WORRY_READY = """() => {
  const gd = document.querySelector('#worry-map .js-plotly-plot');
  const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  return !!(sub && sub.map && gd.dataset.fitted && sub.map.loaded() && sub.map.isStyleLoaded());
}"""

#: The worry map's cell trace: how many polygons, the colours, and the hottest cell's screen
#: position and index.
WORRY_STATE = """() => {
  const gd = document.querySelector('#worry-map .js-plotly-plot');
  const t = gd.data[0];
  const map = gd._fullLayout.map._subplot.map;
  const marks = gd.data[1];
  const dots = marks.lon.map((lng, i) => map.project([lng, marks.lat[i]]));
  const centre = i => {
    const pts = t.geojson.features[i].geometry.coordinates[0].slice(0, -1);
    const lng = pts.reduce((s, p) => s + p[0], 0) / pts.length;
    const lat = pts.reduce((s, p) => s + p[1], 0) / pts.length;
    return map.project([lng, lat]);
  };
  // the hottest cell not under a hotspot marker (a click there would hit the marker)
  let best = -1;
  t.z.forEach((v, i) => {
    if (v === null || (best >= 0 && v <= t.z[best])) return;
    const xy = centre(i);
    if (dots.every(d => Math.hypot(d.x - xy.x, d.y - xy.y) > 24)) best = i;
  });
  const xy = centre(best);
  const box = map.getCanvas().getBoundingClientRect();
  return {features: t.geojson.features.length, z: t.z, best: t.customdata[best][0],
          x: box.left + xy.x, y: box.top + xy.y};
}"""


def test_worry_view_steps_months_by_recolouring_and_explains_a_clicked_cell(
    server, wall, screenshots
):
    wall.goto(server + "/?period=m2026-03&view=worry")
    wall.wait_for_selector("#worry-map .maplibregl-canvas", timeout=30_000)
    wall.wait_for_function(WORRY_READY, timeout=30_000)
    wall.wait_for_selector("#worry-explain [data-worry]")
    assert wall.inner_text("#worry-month").strip() == "2026年3月"
    before = wall.evaluate(WORRY_STATE)
    assert before["features"] > 0
    # the city's own explanation first: six components adding up to the index
    assert wall.locator("#worry-explain [data-component]").count() == 6
    wall.screenshot(path=str(screenshots / "worry.png"))

    wall.click("#worry-play")
    wall.wait_for_function(
        "() => document.querySelector('#worry-month').innerText.trim() !== '2026年3月'",
        timeout=15_000,
    )
    wall.click("#worry-play")  # pause
    wall.wait_for_selector("#worry-play:has-text('播放')")
    wall.wait_for_timeout(2500)  # a tick in flight when paused lands first
    after = wall.evaluate(WORRY_STATE)
    # same polygons, other colours: the month changed the colours only
    assert after["features"] == before["features"]
    assert after["z"] != before["z"]

    wall.mouse.click(after["x"], after["y"])
    wall.wait_for_function(
        "v => { const e = document.querySelector('#worry-explain [data-worry]');"
        " return e && e.getAttribute('data-worry') === v; }",
        arg=after["best"],
        timeout=15_000,
    )
    assert "单元" in wall.inner_text("#worry-explain .yw-explain-place")
    assert wall.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    ) == [1920, 1080]
    wall.screenshot(path=str(screenshots / "worry_explained.png"))
