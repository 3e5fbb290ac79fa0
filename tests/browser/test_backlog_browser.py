"""Backlog playback in Chromium: playing recolours the drawn cells, geometry is sent once."""

from __future__ import annotations

from typing import Any

#: The playback's map is drawn and framed (MapLibre loaded, the unit fitted).
BACKLOG_READY = """() => {
  const gd = document.querySelector('#backlog-map .js-plotly-plot');
  const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  return !!(sub && sub.map && gd.dataset.fitted && sub.map.loaded() && sub.map.isStyleLoaded());
}"""

#: The cell trace and the chart's cursor; ``same`` says whether the polygons are still the
#: very object plotly drew first (``window.__backlogGeo``, stored by the test).
BACKLOG_STATE = """() => {
  const gd = document.querySelector('#backlog-map .js-plotly-plot');
  const chart = document.querySelector('#backlog-chart .js-plotly-plot');
  const t = gd.data[0];
  return {
    features: t.geojson.features.length,
    locations: t.locations,
    z: t.z,
    zmin: t.zmin,
    zmax: t.zmax,
    same: window.__backlogGeo === t.geojson,
    frames: Number(gd.dataset.frames || 0),
    cursor: chart.data[3].x[0],
    moment: document.querySelector('#backlog-moment').innerText.trim(),
  };
}"""


def test_playing_the_backlog_recolours_the_map_without_resending_geometry(
    server, wall, screenshots
):
    updates: list[Any] = []
    wall.on(
        "response",
        lambda r: updates.append(r) if "_dash-update-component" in r.url else None,
    )
    wall.goto(server + "/?view=backlog")
    wall.wait_for_selector("#backlog-map .maplibregl-canvas", timeout=30_000)
    wall.wait_for_function(BACKLOG_READY, timeout=30_000)
    wall.evaluate(
        "() => { window.__backlogGeo ="
        " document.querySelector('#backlog-map .js-plotly-plot').data[0].geojson; }"
    )
    before = wall.evaluate(BACKLOG_STATE)
    assert before["features"] > 0 and before["same"]
    assert before["moment"].endswith("日终")  # the as-of time: the end of the last day
    loaded = len(updates)

    wall.click("#backlog-play")
    wall.wait_for_function(
        "() => Number(document.querySelector('#backlog-map .js-plotly-plot')"
        ".dataset.frames || 0) >= 3",
        timeout=30_000,
    )
    wall.click("#backlog-play")  # pause
    wall.wait_for_selector("#backlog-play:has-text('播放')")
    wall.wait_for_timeout(1500)  # a tick in flight when paused lands first
    after = wall.evaluate(BACKLOG_STATE)

    # same polygons (the very object), same order, same fixed scale; other colours
    assert after["same"]
    assert after["features"] == before["features"]
    assert after["locations"] == before["locations"]
    assert (after["zmin"], after["zmax"]) == (before["zmin"], before["zmax"])
    assert after["z"] != before["z"]
    assert after["moment"] != before["moment"]
    assert after["cursor"] != before["cursor"]  # the chart's marker moved with it
    # what the server sent while playing: colours, hovers, labels; never a polygon
    played = updates[loaded:]
    assert played, "playing made no server round trip"
    for response in played:
        body = response.text()
        assert "geojson" not in body and "coordinates" not in body
    # the unit is framed on the wall without scrolling
    assert wall.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    ) == [1920, 1080]
    wall.screenshot(path=str(screenshots / "backlog.png"))


def test_the_backlog_view_speaks_english_and_steps_with_the_slider(server, wall):
    wall.goto(server + "/?view=backlog&lang=en")
    wall.wait_for_function(BACKLOG_READY, timeout=30_000)
    before = wall.evaluate(BACKLOG_STATE)
    assert before["moment"].startswith("End of ")
    assert wall.inner_text("#backlog-play").strip() == "▶ Play"
    # a step back with the keyboard: one moment earlier, recoloured in place
    wall.focus("#backlog-slider [role=slider]")
    wall.keyboard.press("ArrowLeft")
    wall.wait_for_function(
        "m => document.querySelector('#backlog-moment').innerText.trim() !== m",
        arg=before["moment"],
        timeout=15_000,
    )
    wall.wait_for_function(
        "() => Number(document.querySelector('#backlog-map .js-plotly-plot')"
        ".dataset.frames || 0) >= 1",
        timeout=15_000,
    )
    after = wall.evaluate(BACKLOG_STATE)
    assert after["moment"].startswith("End of ")
    assert after["features"] == before["features"]
    assert after["locations"] == before["locations"]
