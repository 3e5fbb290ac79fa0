"""The wall in a real browser: full screens, a 2×2 video wall, and an unattended hour.

Screenshots go to ``artifacts/screenshots/``. The layouts are checked for what a wall
needs: nothing scrolls or spills out of its panel, the heatmap is really drawn (coloured
pixels on the map, not just a canvas), and text is large (measured in computed CSS pixels,
scaling with the screen).

The unattended hour runs its own server on its own copy of the city's warehouse (builds are
swapped and broken there; the shared ``server`` stays untouched). Time is accelerated with
Playwright's clock: ``page.clock.install()`` before the page loads, then each
``clock.fast_forward(refresh)`` fires the wall's ``dcc.Interval`` once, exactly as a minute
passing would, and the test waits for that refresh's response. So the wall runs with its
production setting (one refresh a minute) and sixty refreshes take seconds, not an hour; a
shorter refresh setting would have changed what is tested and still cost five minutes.
"""

from __future__ import annotations

import io
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import psutil
import pytest
from PIL import Image

from pipelines import catalog
from pipelines.settings import Settings
from tests.browser.conftest import PageWatch, open_page, serve

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("cjk_font")]

DESIGN = (1920, 1080)
#: Smallest text anywhere on a wall (CSS px at 1920×1080; scales with the screen), and the
#: KPI numbers, the things read from the back of the room.
MIN_TEXT = 17.5
MIN_KPI = 56
#: Share of clearly coloured pixels above which the heatmap counts as drawn.
MAP_DRAWN = 0.015
REFRESH_SECONDS = 60
REFRESHES = 64
#: RSS growth allowed once the server has warmed up (it has opened the second build and
#: drawn its figures); a leak of a frame per refresh would exceed it within the hour.
RSS_GROWTH_MB = 24

#: Every text node on the wall with its computed size (HTML and plotly's SVG alike).
TEXT_SIZES = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.querySelector('.yw-wall'),
                                           NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    out.push({size: parseFloat(style.fontSize), text: text.slice(0, 24)});
  }
  return out;
}"""

#: Boxes that must lie inside the screen, and content that must lie inside its box.
OVERFLOW = """() => {
  const W = window.innerWidth, H = window.innerHeight, bad = [];
  const root = document.documentElement;
  if (root.scrollWidth > W || root.scrollHeight > H) bad.push('page scrolls');
  const boxes = '.yw-wall .yw-panel, .yw-wall-kpi, .yw-wall .yw-ticker, .yw-wall-title, '
    + '.yw-wall-watermark';
  for (const el of document.querySelectorAll(boxes)) {
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1) bad.push(el.className);
  }
  for (const el of document.querySelectorAll('.yw-wall-table')) {
    const panel = el.closest('.yw-panel').getBoundingClientRect();
    if (el.getBoundingClientRect().bottom > panel.bottom + 1) bad.push('ranking rows cut off');
  }
  for (const el of document.querySelectorAll('.yw-wall-kpi-value, .yw-wall-name')) {
    if (el.scrollWidth > el.clientWidth + 1) bad.push('clipped: ' + el.textContent);
  }
  return bad;
}"""

NO_ERROR_SHOWN = """() => !document.querySelector(
  '.dash-fe-error-top, .dash-error-card, .dash-debug-menu, #wall-empty, #not-found')
  && !/Traceback|Callback error|Error loading/.test(document.body.innerText)"""


def coloured_share(png: bytes) -> float:
    """Share of pixels that are clearly coloured (hexes, outlines), not the dark background."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    return float((spread > 60).mean())


def wait_for_drawn_map(page: Any, selector: str = "#wall-map", timeout: float = 90) -> float:
    """Wait until the heatmap shows coloured hexes; return their share of the map's pixels.

    MapLibre draws with software WebGL here, which takes seconds at 4K: the pixels, not a
    "loaded" flag, say when the map is really on screen. Before it draws, only plotly's colour
    bar is coloured (under 1 % of the map); a quiet street's few hexes and outline make 3 %,
    the city 25 %.
    """
    page.wait_for_selector(f"{selector} .maplibregl-canvas", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    share = 0.0
    while time.monotonic() < deadline:
        share = coloured_share(page.locator(selector).screenshot())
        if share > MAP_DRAWN:
            return share
        page.wait_for_timeout(500)
    raise AssertionError(f"heatmap not drawn after {timeout} s (coloured share {share:.3f})")


def check_layout(page: Any, width: int, height: int) -> list[dict[str, Any]]:
    """Assert the wall fits the screen with large text; return the text sizes."""
    assert page.evaluate(OVERFLOW) == []
    scale = min(width / DESIGN[0], height / DESIGN[1])
    sizes = page.evaluate(TEXT_SIZES)
    small = [s for s in sizes if s["size"] < MIN_TEXT * scale]
    assert not small, f"text under {MIN_TEXT * scale:.1f}px: {small[:8]}"
    kpis = page.eval_on_selector_all(
        ".yw-wall-kpi-value", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert all(k >= MIN_KPI * scale for k in kpis), kpis
    assert page.evaluate("() => getComputedStyle(document.body).cursor") == "none"
    return sizes


@pytest.fixture
def screen(browser: Any, watch: PageWatch) -> Any:
    """``screen(width, height)`` → a page of that size; asserts cleanliness at teardown."""
    pages: list[Any] = []

    def open_screen(width: int, height: int) -> Any:
        page = open_page(browser, watch, width=width, height=height)
        pages.append(page)
        return page

    yield open_screen
    for page in pages:
        page.context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert watch.foreign == [], f"requests left localhost: {watch.foreign}"


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_the_wall_fills_the_screen_without_scrolling(server, screen, screenshots, width, height):
    page = screen(width, height)
    page.goto(f"{server}/wall")
    page.wait_for_selector(f".yw-wall-frame[data-frame$='|{1.5 * width / 1920}']")
    share = wait_for_drawn_map(page)
    sizes = check_layout(page, width, height)
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / f"wall-{width}x{height}.png"))
    print(f"{width}×{height}: map {share:.0%} coloured, text {min(s['size'] for s in sizes)}px+")
    assert page.locator(".yw-wall-kpi-value").count() == 6
    assert page.locator("#wall-ranking tbody tr").count() >= 5
    assert page.locator("a, button, input, select").count() == 0


def test_a_2x2_video_wall_splits_into_four_screens(server, screen, screenshots):
    shots = []
    for tile in (1, 2, 3, 4):
        page = screen(1920, 1080)
        page.goto(f"{server}/wall?layout=2x2&tile={tile}")
        page.wait_for_selector(".yw-wall-frame")
        if tile == 1:
            wait_for_drawn_map(page)
        else:
            assert page.locator("#wall-map").count() == 0
        page.wait_for_timeout(800)
        check_layout(page, 1920, 1080)
        assert page.locator("[data-kpi]").count() == (6 if tile == 2 else 0)
        shots.append(page.screenshot(path=str(screenshots / f"wall-2x2-tile{tile}.png")))
        page.context.close()
    # the four screens side by side, as the video wall shows them (one 3840×2160 canvas)
    canvas = Image.new("RGB", (3840, 2160))
    for i, png in enumerate(shots):
        canvas.paste(Image.open(io.BytesIO(png)), ((i % 2) * 1920, (i // 2) * 1080))
    canvas.save(screenshots / "wall-2x2.png")


def test_a_failed_refresh_request_shows_nothing(server, browser, screenshots):
    """HTTP 500 and a server that is gone: the renderer records no error, nothing shows.

    Chromium itself logs the failed request ("Failed to load resource"); that is the only
    console line allowed here, and no Dash error may follow it.
    """
    watch = PageWatch()
    page = open_page(browser, watch, width=1920, height=1080)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("requestfinished", lambda r: failed.append(r.url) if r.response().status >= 500 else 0)
    page.clock.install()
    page.goto(f"{server}/wall")
    frame = page.wait_for_selector(".yw-wall-frame").get_attribute("data-frame")
    page.wait_for_timeout(1000)  # the first refresh (the real viewport) is done
    wait_for_drawn_map(page)  # plotly.js loaded before the fake clock jumps (see the tour test)
    for failure in ("500", "down", "500"):
        handler = (
            (lambda route: route.fulfill(status=500, body="boom"))
            if failure == "500"
            else (lambda route: route.abort("connectionrefused"))
        )
        page.route("**/_dash-update-component*", handler)
        seen = len(failed)
        page.clock.fast_forward(REFRESH_SECONDS * 1000)
        deadline = time.monotonic() + 10
        while len(failed) == seen and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert len(failed) > seen, f"no failed refresh request ({failure})"
        page.wait_for_timeout(300)
        page.unroute("**/_dash-update-component*")
        assert page.evaluate(NO_ERROR_SHOWN)
        assert page.locator(".yw-wall-frame").get_attribute("data-frame") == frame
    page.screenshot(path=str(screenshots / "wall-after-failed-refreshes.png"))
    page.context.close()
    dash_errors = [e for e in watch.errors if not e.startswith("Failed to load resource")]
    assert dash_errors == []


# ---------------------------------------------------------------------------------------------
# the unattended hour


def updated(response: Any) -> set[str]:
    """The component ids a callback response updates (none for "204" or all ``no_update``)."""
    if response.status == 204:
        return set()
    return set(response.json().get("response", {}))


def _publish(warehouse: Path, name: str) -> None:
    """Point CURRENT at ``name`` atomically (``pipelines/stages/publish.py``)."""
    tmp = warehouse / "CURRENT.tmp"
    tmp.write_text(name)
    tmp.replace(warehouse / "CURRENT")


def _copy_build(
    source: Path, target: Path, *, factor: int, built_at: datetime | None = None
) -> None:
    """A new build file: ``source`` with request counts times ``factor``, built ``built_at``."""
    shutil.copyfile(source, target)
    con = duckdb.connect(str(target))
    try:
        con.execute("UPDATE meta SET value = $v WHERE key = 'build_id'", {"v": target.stem})
        con.execute(
            "UPDATE meta SET value = $v WHERE key = 'built_at_utc'",
            {"v": (built_at or datetime.now(UTC)).isoformat(timespec="seconds")},
        )
        con.execute("UPDATE mart_unit_kpi SET requests = requests * $f", {"f": factor})
    finally:
        con.close()


@pytest.fixture
def own_city(built_city: Settings, tmp_path: Path) -> tuple[Path, Path]:
    """A data folder with a copy of the small city's published build (and nothing else)."""
    name = catalog.path(built_city, "warehouse_current").read_text().strip()
    source = catalog.path(built_city, "warehouse_builds") / f"{name}.duckdb"
    warehouse = tmp_path / "data" / "04_warehouse"
    (warehouse / "builds").mkdir(parents=True)
    shutil.copyfile(source, warehouse / "builds" / source.name)
    _publish(warehouse, name)
    return tmp_path / "data", source


def test_an_unattended_hour_with_a_warehouse_swap_and_an_outage(
    chromium_path, browser, own_city, tmp_path, screenshots
):
    data_dir, source = own_city
    warehouse = data_dir / "04_warehouse"
    first = (warehouse / "CURRENT").read_text().strip()
    swapped = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-wallswap"
    env = {
        "YIWANG_WALL_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "YIWANG_WALL_TOUR_SECONDS": "0",
        # the wall's own memory: after the swap the build warm-up fills the result pool on
        # purpose, up to its budget (tests/dashboard/test_warmup.py), which is no leak
        "YIWANG_WARM_DEPTH": "0",
    }
    with serve(data_dir, tmp_path / "serve.log", env=env) as served:
        process = psutil.Process(served.process.pid)
        watch = PageWatch()
        page = open_page(browser, watch, width=1920, height=1080)
        responses: list[Any] = []
        page.on(
            "response", lambda r: responses.append(r) if "_dash-update-component" in r.url else 0
        )
        page.clock.install()
        page.goto(f"{served.base}/wall")
        page.wait_for_selector(f".yw-wall-frame[data-build='{first}']")
        wait_for_drawn_map(page)
        requests_before = page.get_attribute("[data-kpi=requests]", "data-value")
        frame_before = page.get_attribute(".yw-wall-frame", "data-frame")

        rss: list[float] = []
        outage = range(20, 24)  # refreshes answered while CURRENT names a missing build
        swap_at = 32
        for i in range(REFRESHES):
            if i == outage.start:
                _publish(warehouse, "20200101T000000-missing")
            if i == outage.stop:
                _publish(warehouse, first)
            if i == swap_at:
                _copy_build(source, warehouse / "builds" / f"{swapped}.duckdb", factor=2)
                _publish(warehouse, swapped)
            done = len(responses)
            page.clock.fast_forward(REFRESH_SECONDS * 1000)
            deadline = time.monotonic() + 30
            while len(responses) == done and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            assert len(responses) > done, f"refresh {i} never answered"
            page.wait_for_timeout(100)  # the renderer applies the answer
            assert page.evaluate(NO_ERROR_SHOWN), f"error shown after refresh {i}"
            if i in outage:
                assert updated(responses[-1]) == set()  # the last good frame stays
                assert page.get_attribute(".yw-wall-frame", "data-frame") == frame_before
                assert page.get_attribute("[data-kpi=requests]", "data-value") == requests_before
                if i == outage.start:
                    page.screenshot(path=str(screenshots / "wall-hour-during-outage.png"))
            if i == swap_at:
                page.wait_for_selector(f".yw-wall-frame[data-build='{swapped}']", timeout=30_000)
                page.wait_for_selector(f".yw-wall-as-of[data-build='{swapped}']")
                wait_for_drawn_map(page)
                after = page.get_attribute("[data-kpi=requests]", "data-value")
                assert int(after.replace(",", "")) == 2 * int(requests_before.replace(",", ""))
                page.screenshot(path=str(screenshots / "wall-hour-after-swap.png"))
            rss.append(process.memory_info().rss / 2**20)

        assert all(r.status in (200, 204) for r in responses), [r.status for r in responses]
        page.screenshot(path=str(screenshots / "wall-hour-end.png"))
        page.context.close()

    warm = swap_at + 4  # the second build opened and its figures drawn
    growth = max(rss[warm:]) - rss[warm]
    print(
        f"{REFRESHES} refreshes ({REFRESHES * REFRESH_SECONDS / 60:.0f} simulated minutes): "
        f"server RSS start {rss[0]:.0f} MiB, before swap {rss[swap_at - 1]:.0f} MiB, "
        f"after warm-up {rss[warm]:.0f} MiB, end {rss[-1]:.0f} MiB, max {max(rss):.0f} MiB, "
        f"growth after warm-up {growth:.1f} MiB"
    )
    assert growth < RSS_GROWTH_MB
    assert rss[swap_at - 1] - rss[5] < RSS_GROWTH_MB  # flat before the swap too
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert watch.foreign == []


def test_an_old_build_raises_the_staleness_banner(
    chromium_path, browser, own_city, tmp_path, screenshots
):
    data_dir, source = own_city
    warehouse = data_dir / "04_warehouse"
    old = "20200101T000000-old"
    built = datetime.now(UTC) - timedelta(hours=72, minutes=5)
    _copy_build(source, warehouse / "builds" / f"{old}.duckdb", factor=1, built_at=built)
    _publish(warehouse, old)
    # the tightest screen: the banner takes a strip and the street with the most communities
    # fills every row of the worry leaders
    with duckdb.connect(str(warehouse / "builds" / f"{old}.duckdb"), read_only=True) as con:
        (street,) = con.execute(
            "SELECT parent_id FROM dim_unit WHERE level = 'community'"
            " GROUP BY parent_id ORDER BY count(*) DESC, parent_id LIMIT 1"
        ).fetchone()
    with serve(data_dir, tmp_path / "serve.log") as served:
        watch = PageWatch()
        page = open_page(browser, watch, width=1920, height=1080)
        page.goto(f"{served.base}/wall/street/{street}?lang=en")
        banner = page.wait_for_selector(".yw-wall-banner-on")
        assert "72 hours" in banner.inner_text()
        box = banner.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1920
        wait_for_drawn_map(page)
        check_layout(page, 1920, 1080)
        assert page.locator("#wall-ranking tbody tr").count() == 10
        page.screenshot(path=str(screenshots / "wall-stale-en.png"))
        page.context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"


def test_a_touring_wall_moves_on_by_the_clock(server, screen, screenshots):
    page = screen(1920, 1080)
    page.clock.install()
    page.goto(f"{server}/wall?tour=10")
    frame = page.wait_for_selector(".yw-wall-frame")
    # plotly.js loads asynchronously and dcc gives it 30 s of *page* time: jumping the fake
    # clock before it arrived made dcc report "plotly.js did not load" (a flaky CI run)
    wait_for_drawn_map(page)
    seen = [frame.get_attribute("data-unit")]
    for _ in range(3):
        page.clock.fast_forward(10_000)
        page.wait_for_function(
            "u => document.querySelector('.yw-wall-frame').dataset.unit !== u", arg=seen[-1]
        )
        seen.append(page.get_attribute(".yw-wall-frame", "data-unit"))
    assert len(set(seen)) == 4
    stop = page.locator(".yw-wall-tour")
    assert stop.get_attribute("data-stop") is not None
    assert page.evaluate(NO_ERROR_SHOWN)
    wait_for_drawn_map(page)
    page.screenshot(path=str(screenshots / "wall-tour.png"))
