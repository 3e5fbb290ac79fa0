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

#: Screen position of the first dot of the first component layer.
FIRST_DOT = """() => {
  const gd = document.querySelector('#cockpit-map .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const t = gd.data.find(t => t.meta && t.meta.role === 'components' && t.lon.length);
  const xy = map.project([t.lon[0], t.lat[0]]);
  const box = map.getCanvas().getBoundingClientRect();
  return {x: box.left + xy.x, y: box.top + xy.y, id: t.customdata[0][0]};
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


def test_a_street_shows_dots_with_owner_in_the_tooltip_and_the_legend_toggles_a_kind(
    server, wall, screenshots
):
    open_layer(wall, f"{server}/?view=components")
    wall.locator("#comp-health tbody tr a").first.click()  # a district, then one of its streets
    wall.wait_for_url("**/district/**", timeout=30_000)
    wall.wait_for_function(
        "() => document.querySelectorAll('#cockpit-breadcrumb .yw-crumb').length === 2",
        timeout=30_000,
    )
    wall.locator("#comp-health tbody tr a").first.click()
    wall.wait_for_url("**/street/**", timeout=30_000)
    wall.wait_for_function(MAP_READY, timeout=30_000)
    wall.wait_for_timeout(700)
    assert "view=components" in wall.url
    stats = wall.evaluate(LAYER_STATS)
    assert stats["components"] > 50 and stats["cells"] == 0
    dot = wall.evaluate(FIRST_DOT)
    wall.mouse.move(dot["x"], dot["y"])
    wall.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
    tip = wall.locator(".hoverlayer .hovertext").inner_text()
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
