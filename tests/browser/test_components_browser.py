"""The component layer in a real browser: the city's cells, a street's dots, hover, legend.

Screenshots (1920×1080) go to ``artifacts/screenshots/components.png`` (the city) and
``components-street.png``; the ``wall`` fixture fails the test on any console error or any
request leaving this server.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("cjk_font")]

MAP_READY = """() => {
  const gd = document.querySelector('#cockpit-map .js-plotly-plot');
  const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  return !!(sub && sub.map && gd.dataset.fitted && sub.map.loaded() && sub.map.isStyleLoaded());
}"""

#: Component markers plotly holds per role (dots, cells, rings) and MapLibre's layer count.
LAYER_STATS = """() => {
  const gd = document.querySelector('#cockpit-map .js-plotly-plot');
  const out = {components: 0, cells: 0, ring: 0, kinds: 0};
  for (const t of gd.data) {
    if (t.meta && t.meta.role) {
      out[t.meta.role] += t.lon.length;
      if (t.meta.role !== 'ring') out.kinds += 1;
    }
  }
  out.layers = gd._fullLayout.map._subplot.map.getStyle().layers.length;
  return out;
}"""

#: Screen position of the dot nearest the map's centre (clear of the legend and edges).
CENTRAL_DOT = """() => {
  const gd = document.querySelector('#cockpit-map .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const box = map.getCanvas().getBoundingClientRect();
  let best = null;
  for (const t of gd.data.filter(t => t.meta && t.meta.role === 'components')) {
    t.lon.forEach((lon, i) => {
      const xy = map.project([lon, t.lat[i]]);
      const d = Math.hypot(xy.x - box.width / 2, xy.y - box.height / 2);
      if (!best || d < best.d) {
        best = {d: d, x: box.left + xy.x, y: box.top + xy.y, id: t.customdata[i][0]};
      }
    });
  }
  return best;
}"""

#: The map holds a trace of single components (not cells).
DOTS_DRAWN = """() => {
  const gd = document.querySelector('#cockpit-map .js-plotly-plot');
  return !!(gd && gd.data && gd.data.some(t => t.meta && t.meta.role === 'components'));
}"""


def open_layer(page: Any, url: str) -> float:
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#cockpit-map .maplibregl-canvas", timeout=30_000)
    page.wait_for_function(MAP_READY, timeout=30_000)
    page.wait_for_timeout(700)
    return time.perf_counter() - start


def test_the_city_component_layer_draws_cells_per_kind(server, wall, screenshots):
    seconds = open_layer(wall, f"{server}/?view=components")
    stats = wall.evaluate(LAYER_STATS)
    assert stats["kinds"] >= 2 and stats["cells"] > 50
    assert stats["layers"] > stats["kinds"]  # MapLibre drew the traces as layers
    assert wall.locator("#comp-kpis .yw-kpi").count() == 6
    assert wall.locator("#comp-health tbody tr").count() > 1
    wall.screenshot(path=str(screenshots / "components.png"))
    assert seconds < 30


def test_a_streets_kind_shows_dots_with_owner_in_the_tooltip_and_the_legend_toggles_it(
    server, wall, screenshots
):
    open_layer(wall, f"{server}/?view=components")
    for crumbs, level in ((2, "district"), (3, "street")):  # the unit with most failures
        wall.locator("#comp-health tbody tr a").first.click()
        wall.wait_for_url(f"**/{level}/**", timeout=30_000)
        wall.wait_for_function(
            f"() => document.querySelectorAll('#cockpit-breadcrumb .yw-crumb').length === {crumbs}",
            timeout=30_000,
        )
    # one kind (the first chip after "all"): a busy street's thousands become hundreds of dots
    wall.locator("#comp-kinds a").first.click()
    wall.wait_for_url("**kind=**", timeout=30_000)
    wall.wait_for_function(DOTS_DRAWN, timeout=30_000)
    wall.wait_for_function(MAP_READY, timeout=30_000)
    wall.wait_for_timeout(700)
    assert "view=components" in wall.url
    stats = wall.evaluate(LAYER_STATS)
    assert stats["components"] > 20 and stats["cells"] == 0 and stats["kinds"] == 1
    dot = wall.evaluate(CENTRAL_DOT)
    wall.mouse.move(dot["x"] + 30, dot["y"] + 30)
    wall.mouse.move(dot["x"], dot["y"], steps=5)  # MapLibre hovers on mouse moves
    wall.wait_for_function("() => !!document.querySelector('.hoverlayer .hovertext')")
    tip = wall.locator(".hoverlayer .hovertext").first.text_content() or ""
    for label in ("主管单位", "权属单位", "养护单位"):
        assert label in tip
    wall.screenshot(path=str(screenshots / "components-street.png"))
    wall.mouse.move(5, 5)
    wall.locator("#cockpit-map .legend .traces").first.click()
    wall.wait_for_function(
        """() => document.querySelector('#cockpit-map .js-plotly-plot').data
            .some(t => t.meta && t.meta.role === 'components' && t.visible === 'legendonly')""",
        timeout=10_000,
    )
