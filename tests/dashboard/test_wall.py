"""The wall (``/wall``): layouts, refreshes across a warehouse swap and outages, the tour,
the staleness banner, friendly states and both languages, without a browser."""

from __future__ import annotations

import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dash
import duckdb
import pytest
from dash._pages import _path_to_page

from dashboard import data, ids, wall
from pipelines import catalog
from pipelines.settings import Settings

CJK = re.compile(r"[\u3400-\u9fff]")
#: A browser's clock report: now (epoch ms) and a 1920×1080 viewport.
FULL_HD = {"w": 1920, "h": 1080}


def clock(now_s: float | None = None, **viewport: int) -> dict[str, Any]:
    return {"now": (time.time() if now_s is None else now_s) * 1000, **(viewport or FULL_HD)}


def wall_page(**query: Any) -> Any:
    return dash.page_registry["dashboard.pages.wall"]["layout"](**query)


def unit_wall(level: str, unit_id: str, **query: Any) -> Any:
    return dash.page_registry["dashboard.pages.wall_unit"]["layout"](
        level=level, unit_id=unit_id, **query
    )


def find(tree: Any, component_id: str) -> Any:
    if getattr(tree, "id", None) == component_id:
        return tree
    for child in tree._traverse():
        if getattr(child, "id", None) == component_id:
            return child
    raise LookupError(component_id)


def context(page: Any) -> tuple[dict[str, Any], str]:
    """The stores a refresh reads: the wall's context and the key of the frame shown."""
    return find(page, ids.WALL_CONTEXT).data, find(page, ids.WALL_SHOWN).data


def kpi_value(tree: Any, metric: str) -> str:
    for child in tree._traverse():
        if getattr(child, "data-kpi", None) == metric:
            return str(getattr(child, "data-value"))
    raise LookupError(metric)


# ---------------------------------------------------------------------------------------------
# a private copy of the built city, so builds can be swapped and broken


def _publish(data_dir: Path, name: str) -> None:
    """Point CURRENT at ``name`` atomically, as ``pipelines/stages/publish.py`` does."""
    current = data_dir / "04_warehouse" / "CURRENT"
    tmp = current.with_suffix(".tmp")
    tmp.write_text(name + "\n")
    tmp.replace(current)


def publish_copy(data_dir: Path, source: Path, name: str, *, factor: int = 1) -> Path:
    """Publish a copy of ``source`` as build ``name``, request counts multiplied by ``factor``."""
    target = data_dir / "04_warehouse" / "builds" / f"{name}.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    con = duckdb.connect(str(target))
    try:
        con.execute("UPDATE meta SET value = $name WHERE key = 'build_id'", {"name": name})
        if factor != 1:
            con.execute("UPDATE mart_unit_kpi SET requests = requests * $f", {"f": factor})
    finally:
        con.close()
    _publish(data_dir, name)
    return target


@pytest.fixture
def own_city(app: dash.Dash, built_city: Settings, tmp_path: Path) -> Any:
    """The data layer on a copy of the small city's build in a folder of the test's own."""
    build = catalog.path(built_city, "warehouse_current").read_text().strip()
    source = catalog.path(built_city, "warehouse_builds") / f"{build}.duckdb"
    settings = Settings.from_env(environ={}, data_dir=tmp_path, memory_limit="512MB")
    publish_copy(tmp_path, source, "20260101T000000-wall-a")
    data.configure(settings)
    yield settings, source
    data.configure(built_city)


# ---------------------------------------------------------------------------------------------
# routing and layouts


def test_wall_paths_are_not_taken_by_the_unit_page_or_read_as_a_level(app):
    assert _path_to_page("wall")[0]["module"] == "dashboard.pages.wall"
    page, variables = _path_to_page("wall/district/440303")
    assert page["module"] == "dashboard.pages.wall_unit"
    assert variables == {"level": "district", "unit_id": "440303"}
    # the cockpit keeps its own pages
    assert _path_to_page("district/440303")[0]["module"] == "dashboard.pages.unit"


def test_the_city_wall_shows_every_panel_and_nothing_to_click(city_data, ids_in, texts_in):
    page = wall_page()
    found = ids_in(page)
    for component in (
        ids.WALL_TITLE,
        ids.WALL_KPIS,
        ids.WALL_MAP,
        ids.WALL_RANKING,
        ids.WALL_TREND,
        ids.WALL_CATEGORIES,
        ids.TICKER,
        ids.WALL_WATERMARK,
        ids.WALL_TICK,
    ):
        assert component in found, component
    assert data.city().name("zh") in texts_in(find(page, ids.WALL_TITLE))
    kinds = {type(c).__name__ for c in page._traverse()}
    assert not kinds & {"A", "Link", "Dropdown", "RadioItems", "Button", "Slider"}, kinds
    # the map's colour scale is the fixed 0–100 worry scale, whatever the data
    figure = find(page, ids.WALL_MAP).figure
    scored = [tr for tr in figure["data"] if "colorbar" in tr]
    assert scored and all((tr["zmin"], tr["zmax"]) == (0.0, 100.0) for tr in scored)


def test_the_wall_refreshes_at_the_configured_interval(city_data):
    tick = find(wall_page(), ids.WALL_TICK)
    assert tick.interval == data.settings().wall_refresh_seconds * 1000
    # a touring wall ticks often enough for its screens to change stop together
    assert find(wall_page(tour="30"), ids.WALL_TICK).interval == wall.MIN_TOUR_SECONDS * 1000


@pytest.mark.parametrize(
    ("tile", "shown", "absent"),
    [
        ("1", {ids.WALL_MAP, ids.WALL_TITLE}, {ids.WALL_KPIS, ids.WALL_RANKING}),
        ("2", {ids.WALL_KPIS, ids.TICKER}, {ids.WALL_MAP, ids.WALL_TREND}),
        ("3", {ids.WALL_TREND, ids.WALL_CATEGORIES}, {ids.WALL_MAP, ids.WALL_KPIS}),
        ("4", {ids.WALL_RANKING}, {ids.WALL_MAP, ids.TICKER}),
    ],
)
def test_each_tile_of_a_2x2_wall_shows_its_quadrant(city_data, ids_in, tile, shown, absent):
    page = wall_page(layout="2x2", tile=tile)
    assert f"yw-tile-{tile}" in page.className
    found = ids_in(page)
    assert shown <= found
    assert not absent & found


def test_odd_query_values_fall_back_to_the_defaults(city_data):
    q = wall.parse_query("city", None, {"layout": "3x3", "tile": "9", "tour": "abc"})
    assert (q.layout, q.tile, q.tour) == ("single", 0, data.settings().wall_tour_seconds)
    q = wall.parse_query("city", None, {"layout": "2x2", "tile": "x", "tour": "1"})
    assert (q.layout, q.tile, q.tour) == ("2x2", 1, wall.MIN_TOUR_SECONDS)
    page = wall_page(period="nope", lang="xx", layout="2x2", tile="-3")
    assert find(page, ids.WALL_CONTEXT).data["tile"] == 1
    assert "last30" in find(page, ids.WALL_SHOWN).data


# ---------------------------------------------------------------------------------------------
# refreshes


def test_a_refresh_with_nothing_new_sends_only_the_watermark(city_data):
    ctx, shown = context(wall_page())
    body, key, watermark, _banner, _cls = wall.refresh(clock(), ctx, shown)
    assert body is dash.no_update
    assert key == shown
    assert watermark and watermark is not dash.no_update


def test_a_bigger_screen_redraws_figures_with_larger_text(city_data):
    ctx, shown = context(wall_page())
    body, key, *_ = wall.refresh(clock(w=3840, h=2160), ctx, shown)
    assert key != shown and body is not dash.no_update
    big = find(body, ids.WALL_TREND).figure["layout"]["font"]["size"]
    small = find(wall_page(), ids.WALL_TREND).figure["layout"]["font"]["size"]
    assert big == pytest.approx(2 * small)


def test_a_refresh_picks_up_a_newly_published_build(own_city, tmp_path):
    _, source = own_city
    ctx, shown = context(wall_page())
    before = kpi_value(wall_page(), "requests")
    publish_copy(tmp_path, source, "20260102T000000-wall-b", factor=2)

    body, key, watermark, *_ = wall.refresh(clock(), ctx, shown)

    assert body is not dash.no_update
    assert key.startswith("20260102T000000-wall-b|")
    after = kpi_value(body, "requests")
    assert int(after.replace(",", "")) == 2 * int(before.replace(",", ""))
    assert getattr(watermark[0], "data-build") == "20260102T000000-wall-b"


def test_a_refresh_while_the_warehouse_is_unavailable_keeps_the_last_frame(own_city, tmp_path):
    ctx, shown = context(wall_page())
    _publish(tmp_path, "20260103T000000-not-there")  # CURRENT names a missing build
    with pytest.raises(data.WarehouseUnavailableError):
        data.meta()
    assert wall.refresh(clock(), ctx, shown) == (dash.no_update,) * 5
    _publish(tmp_path, "20260101T000000-wall-a")  # back: the next refresh works again
    assert wall.refresh(clock(), ctx, shown)[1] == shown


def test_any_failure_in_a_refresh_keeps_the_last_frame(city_data, monkeypatch, caplog):
    ctx, shown = context(wall_page())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug in a panel")

    monkeypatch.setattr(wall, "_frame", broken)
    assert wall.refresh(clock(w=3840, h=2160), ctx, shown) == (dash.no_update,) * 5
    assert "keeping the last frame" in caplog.text
    # garbage from the browser is no reason to fail either
    assert wall.refresh({"now": "x", "w": None}, {"level": 3}, None)[0] is not None


def test_a_wall_opened_before_any_build_shows_one_once_published(own_city, tmp_path, ids_in):
    _, source = own_city
    empty = Settings.from_env(environ={}, data_dir=tmp_path / "fresh", memory_limit="512MB")
    data.configure(empty)
    page = wall_page()
    assert ids.WALL_EMPTY in ids_in(page)
    ctx, shown = context(page)
    assert wall.refresh(clock(), ctx, shown)[0] is dash.no_update
    publish_copy(empty.data_dir, source, "20260104T000000-first")
    body = wall.refresh(clock(), ctx, shown)[0]
    assert ids.WALL_KPIS in ids_in(body)


# ---------------------------------------------------------------------------------------------
# staleness and the tour


def test_stale_hours_by_age():
    now = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
    built = (now - timedelta(hours=30)).isoformat()
    assert wall.stale_hours(built, now, 26) == pytest.approx(30)
    assert wall.stale_hours((now - timedelta(hours=2)).isoformat(), now, 26) is None
    assert wall.stale_hours("not a time", now, 26) is None


def test_the_staleness_banner_shows_only_when_the_build_is_old(city_data, monkeypatch):
    ctx, shown = context(wall_page())
    built = datetime.fromisoformat(data.meta().built_at_utc)
    limit = data.settings().stale_after_hours
    monkeypatch.setattr(wall, "utcnow", lambda: built + timedelta(hours=1))
    fresh = wall.refresh(clock(), ctx, shown)
    assert fresh[3] == "" and "yw-wall-banner-on" not in fresh[4]
    # the server's clock decides, not the browser's
    monkeypatch.setattr(wall, "utcnow", lambda: built + timedelta(hours=limit + 5))
    old = wall.refresh(clock(built.timestamp()), ctx, shown)
    assert str(limit + 5) in old[3] and "yw-wall-banner-on" in old[4]
    assert "yw-wall-banner-on" in find(wall_page(), ids.WALL_BANNER).className


def test_the_tour_visits_the_city_each_district_and_its_streets_in_a_fixed_order(city_data):
    city = data.city()
    stops = wall.tour_stops(city)
    assert stops == wall.tour_stops(city)  # deterministic
    districts = sorted(data.children(city), key=lambda u: u.unit_id)
    streets = [s for d in districts for s in data.children(d)]
    assert len(stops) == 1 + len(districts) + len(streets)
    assert stops[0] == city and stops[1] == districts[0]
    assert [u.parent_id for u in stops[2 : 2 + len(data.children(districts[0]))]] == [
        districts[0].unit_id
    ] * len(data.children(districts[0]))
    assert {u.level for u in stops} == {"city", "district", "street"}


def test_the_tour_follows_the_wall_clock_and_names_the_stop(city_data):
    assert [wall.tour_index(t, 10, 3) for t in (0, 9.9, 10, 25, 30)] == [0, 0, 1, 2, 0]
    q = wall.parse_query("city", None, {"tour": "20"})
    stops = wall.tour_stops(data.city())
    t0 = 20 * len(stops) * 1000  # a multiple of the whole tour: the first stop
    first = wall.compose(q, now_s=t0, viewport=None)
    second = wall.compose(q, now_s=t0 + 20, viewport=None)
    assert getattr(first.body, "data-unit") == stops[0].unit_id
    assert getattr(second.body, "data-unit") == stops[1].unit_id
    title = find(second.body, ids.WALL_TITLE)
    assert any(
        getattr(c, "data-stop", None) == "2" and getattr(c, "data-stops") == str(len(stops))
        for c in title._traverse()
    )
    assert stops[1].name("zh") in str(title)


# ---------------------------------------------------------------------------------------------
# friendly states and languages


@pytest.mark.parametrize(
    ("level", "unit_id"),
    [("district", "nope"), ("galaxy", "1"), ("district", "a/b"), ("street", "440303")],
)
def test_an_unknown_unit_gets_a_calm_note(city_data, ids_in, level, unit_id):
    page = unit_wall(level, unit_id)
    found = ids_in(page)
    assert ids.WALL_EMPTY in found and ids.WALL_MAP not in found


def test_a_unit_wall_shows_the_unit(units, texts_in):
    street = units["street"]
    page = unit_wall("street", street.unit_id, lang="en")
    assert street.name("en") in texts_in(find(page, ids.WALL_TITLE))
    assert getattr(find(page, ids.WALL_BODY).children, "data-unit") == street.unit_id


def test_english_walls_have_no_chinese_text(city_data, texts_in):
    for query in ({}, {"layout": "2x2", "tile": "2"}, {"layout": "2x2", "tile": "4"}):
        text = texts_in(wall_page(lang="en", **query))
        assert "Data as of" in text
        assert not CJK.search(text), CJK.findall(text)[:20]


def test_chinese_is_the_default(city_data, texts_in):
    text = texts_in(wall_page())
    assert "数据截至" in text and "烦恼指数热力图" in text


def test_figure_scaling_shares_data_and_leaves_the_cache_alone(city_data):
    figure = find(wall_page(), ids.WALL_MAP).figure
    scaled = wall.scale_figure(figure, 2.0)
    assert scaled["layout"]["font"]["size"] == 2 * figure["layout"]["font"]["size"]
    assert scaled["data"][0]["geojson"] is figure["data"][0]["geojson"]
    assert wall.scale_figure(figure, 1.0) == figure
    assert wall.figure_scale(1920, 1080) == wall.FIGURE_ZOOM
    assert wall.figure_scale(3840, 2160) == 2 * wall.FIGURE_ZOOM
    assert wall.figure_scale(None, "x") == wall.FIGURE_ZOOM
