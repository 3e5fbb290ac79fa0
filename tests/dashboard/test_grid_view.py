"""The grid chief's view (``/grid/<id>``): worklist order, counts, nearby components, states.

Pages are rendered the way the Dash router renders them, over the session's small built
city, and compared with the notebook API (``pipelines.api``) or with an independent
computation on a copy of the warehouse (distances measured in UTM with geopandas, not in
the view's own local projection).
"""

from __future__ import annotations

import gzip
import re
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

import dash
import geopandas as gpd
import pandas as pd
import pytest
from dash._pages import _path_to_page
from dash._utils import to_json

from dashboard import data, fmt, grid_view, ids
from dashboard.export import export_href
from dashboard.i18n import t
from pipelines import api, grid_queries
from pipelines.settings import Settings

LAMP_RANK = {"red": 0, "yellow": 1, "green": 2}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@pytest.fixture
def notebook(city_data: Settings) -> Settings:
    """The notebook API pointed at the same published build as the dashboard."""
    api.connect(city_data.data_dir)
    return city_data


def _nodes(page: Any) -> list[Any]:
    return [page, *page._traverse()]


def _by_id(page: Any, component_id: str) -> Any:
    return next(n for n in _nodes(page) if getattr(n, "id", None) == component_id)


def _attr(page: Any, key: str) -> list[Any]:
    """Nodes carrying ``data-<key>``, in page order."""
    return [n for n in _nodes(page) if getattr(n, f"data-{key}", None) is not None]


def _kpis(page: Any) -> dict[str, str]:
    return {getattr(n, "data-kpi"): getattr(n, "data-value") for n in _attr(page, "kpi")}


def _visible_text(node: Any, page_lang: str) -> list[str]:
    """Strings of a tree outside any element tagged with another language (as HTML reads)."""
    own = getattr(node, "lang", None)
    if own is not None and own != page_lang:
        return []
    children = getattr(node, "children", None)
    if isinstance(children, str):
        return [children]
    if isinstance(children, (list, tuple)):
        out: list[str] = []
        for c in children:
            out += [c] if isinstance(c, str) else _visible_text(c, page_lang)
        return out
    return _visible_text(children, page_lang) if children is not None else []


def _busiest(level: str, column: str = "open") -> str:
    """The unit of ``level`` with the most open requests now (ties: lowest id)."""
    rows = api.requests(level="city", open_only=True)
    place = data.read(_leaf_units, level)
    counts = rows.merge(place, on="request_id")["unit_id"].value_counts()
    ranked = counts.reset_index().sort_values(["count", "unit_id"], ascending=[False, True])
    return str(ranked["unit_id"].iloc[0])


def _leaf_units(con: Any, level: str) -> pd.DataFrame:
    """Request → unit of ``level`` (through the leaf lineage), read on the served build."""
    return con.execute(
        """
        SELECT p.request_id, l.unit_id FROM fact_request_place AS p
        JOIN dim_unit_lineage AS l ON l.hierarchy = p.hierarchy AND l.leaf_id = p.leaf_id
        WHERE l.level = $level
        """,
        {"level": level},
    ).df()


# ---------------------------------------------------------------------------------------------
# routing


def test_grid_paths_reach_the_chief_page_and_other_levels_the_unit_page(app):
    page, variables = _path_to_page("grid/440303001001001")
    assert page["module"] == "dashboard.pages.grid"
    assert variables == {"unit_id": "440303001001001"}
    assert _path_to_page("community/440303001001")[0]["module"] == "dashboard.pages.unit"
    assert _path_to_page("")[0]["module"] == "dashboard.pages.city"
    modules = list(dash.page_registry)
    assert modules.index("dashboard.pages.grid") < modules.index("dashboard.pages.unit")


def test_a_view_query_keeps_the_grids_ordinary_cockpit(units, layout_of, ids_in):
    grid = data.children(units["community"])[0]
    overview = ids_in(layout_of("grid", unit_id=grid.unit_id, view="overview"))
    assert {ids.KPIS, ids.MAP, ids.RANKING} <= overview
    assert ids.GRID_VIEW not in overview
    sla = ids_in(layout_of("grid", unit_id=grid.unit_id, view="sla", lang="en"))
    assert ids.SLA_SUMMARY in sla and ids.GRID_VIEW not in sla
    chief = ids_in(layout_of("grid", unit_id=grid.unit_id, view="no-such-view"))
    assert ids.GRID_VIEW in chief


def test_the_chief_view_links_to_the_full_cockpit(units, layout_of):
    grid = data.children(units["community"])[0]
    page = layout_of("grid", unit_id=grid.unit_id, lang="en")
    assert _by_id(page, ids.GRID_COCKPIT).href == f"/grid/{grid.unit_id}?lang=en&view=overview"
    street = units["street"]
    page = layout_of("grid", unit_id=street.unit_id)
    assert _by_id(page, ids.GRID_COCKPIT).href == f"/street/{street.unit_id}?lang=zh"
    # a period from the cockpit the chief came from is passed back to it; a bogus one is not
    page = layout_of("grid", unit_id=street.unit_id, period="m2026-03", lang="en")
    assert _by_id(page, ids.GRID_COCKPIT).href == (
        f"/street/{street.unit_id}?period=m2026-03&lang=en"
    )
    toggle = [n.href for n in _by_id(page, ids.GRID_LANG)._traverse() if hasattr(n, "href")]
    assert toggle == [f"/grid/{street.unit_id}?period=m2026-03&lang=zh"]
    page = layout_of("grid", unit_id=grid.unit_id, period="m1999-01")
    assert _by_id(page, ids.GRID_COCKPIT).href == f"/grid/{grid.unit_id}?lang=zh&view=overview"


# ---------------------------------------------------------------------------------------------
# the worklist


def test_open_requests_are_listed_overdue_first_then_due_soon_then_on_time(notebook, layout_of):
    for level in ("district", "grid"):
        unit_id = _busiest(level)
        page = layout_of("grid", unit_id=unit_id, more="requests", lang="zh")
        shown = [
            (getattr(n, "data-request-id"), getattr(n, "data-lamp"))
            for n in _attr(page, "request-id")
        ]
        wanted = api.requests(level=level, unit_id=unit_id, open_only=True).set_index("request_id")
        assert len(shown) == min(len(wanted), grid_view.MORE_LIMIT) > 0, level
        assert {rid for rid, _ in shown} <= set(wanted.index)
        assert all(lamp == wanted.at[rid, "lamp"] for rid, lamp in shown)
        # the most urgent first: by lamp, then by due time (furthest overdue, soonest due)
        keys = [(LAMP_RANK[lamp], wanted.at[rid, "due_at"]) for rid, lamp in shown]
        assert keys == sorted(keys), level


def test_the_first_load_lists_thirty_requests_and_offers_the_rest(notebook, layout_of):
    city = data.city()
    page = layout_of("grid", unit_id=city.unit_id, lang="en")
    total = len(api.requests(open_only=True))
    assert total > grid_view.LIST_LIMIT  # the demo city has more open than one page
    assert len(_attr(page, "request-id")) == grid_view.LIST_LIMIT
    more = [n for n in _attr(page, "more") if getattr(n, "data-more") == "requests"]
    assert len(more) == 1
    link = more[0].children
    assert link.href == f"/grid/{city.unit_id}?lang=en&more=requests"
    assert fmt.fmt_int(total) in link.children


@pytest.mark.parametrize("level", ["grid", "community", "street"])
def test_the_counts_equal_the_api_for_the_area(notebook, layout_of, level):
    unit_id = _busiest(level)
    open_now = api.requests(level=level, unit_id=unit_id, open_only=True)
    new = api.metrics(level, "last7", ["requests"], unit_id=unit_id)
    worry = api.metrics(level, "last30", ["worry_index"], unit_id=unit_id)
    for lang in ("zh", "en"):
        shown = _kpis(layout_of("grid", unit_id=unit_id, lang=lang))
        assert shown == {
            "open": fmt.fmt_int(len(open_now)),
            "overdue": fmt.fmt_int(int((open_now["lamp"] == "red").sum())),
            "new7": fmt.fmt_int(int(new["requests"].iloc[0])),
            "worry": fmt.fmt_index(worry["worry_index"].iloc[0]),
        }, (level, lang)


def test_repeat_places_are_the_apis_with_their_open_requests(notebook, layout_of, warehouse):
    every = api.repeat_places("last30", level="city")
    assert not every.empty  # the demo plants repeat addresses
    grid_id = str(every["grid_id"].dropna().iloc[0])
    page = layout_of("grid", unit_id=grid_id, lang="en")
    wanted = api.repeat_places("last30", level="grid", unit_id=grid_id)
    shown = _attr(page, "place")
    assert [getattr(n, "data-place") for n in shown] == list(
        wanted["place_key"].head(grid_view.SHORT_LIMIT)
    )
    for node, ids_ in zip(shown, wanted["request_ids"], strict=False):
        open_ = warehouse.execute(
            "SELECT count(*) FROM fact_request WHERE is_open AND list_contains($ids, request_id)",
            {"ids": list(ids_)},
        ).fetchone()[0]
        assert getattr(node, "data-open") == str(open_)


def test_the_alerts_are_the_apis_recent_alerts_of_the_area(notebook, layout_of):
    since = (pd.Timestamp(data.meta().as_of_local) - pd.Timedelta(days=30)).date().isoformat()
    recent = api.alerts(level="city", since=since)
    assert not recent.empty  # the demo plants spikes all year
    checked = 0
    for level in ("street", "community", "grid"):
        # an area the latest alerts were routed to, so that the list is not empty
        routed = recent[f"{level}_id"].dropna()
        unit_id = str(routed.iloc[0]) if not routed.empty else _busiest(level)
        page = layout_of("grid", unit_id=unit_id)
        wanted = api.alerts(level=level, unit_id=unit_id, since=since)
        shown = [getattr(n, "data-alert") for n in _attr(page, "alert")]
        assert shown == list(wanted["alert_id"].head(grid_view.ALERT_LIMIT)), level
        checked += len(shown)
    assert checked > 0


# ---------------------------------------------------------------------------------------------
# components near the area


def _utm_distances(warehouse: Any, grid_id: str, component_ids: list[str]) -> pd.Series:
    """Metres from each component to the grid's outline, in the area's UTM zone."""
    grids = api.units("grid")
    outline = grids.loc[grids["unit_id"] == grid_id]
    utm = outline.estimate_utm_crs()
    shape = outline.to_crs(utm).geometry.iloc[0]
    rows = warehouse.execute(
        "SELECT component_id, lng, lat FROM dim_component WHERE list_contains($ids, component_id)",
        {"ids": component_ids},
    ).df()
    points = gpd.GeoSeries.from_xy(rows["lng"], rows["lat"], crs=grids.crs).to_crs(utm)
    return pd.Series(points.distance(shape).to_numpy(), index=rows["component_id"])


def test_components_listed_near_the_grid_really_are_within_the_distance(
    notebook, layout_of, warehouse
):
    grid_id = _busiest("grid")
    page = layout_of("grid", unit_id=grid_id, more="components", lang="en")
    shown = {getattr(n, "data-component"): n for n in _attr(page, "component")}
    assert shown
    measured = _utm_distances(warehouse, grid_id, list(shown))
    for cid, node in shown.items():
        # a projection error well under 1 % of 200 m separates UTM from the view's metres
        assert measured[cid] <= grid_queries.NEAR_METRES + 2, cid
        assert abs(measured[cid] - float(getattr(node, "data-distance"))) < 2, cid


def test_every_component_within_the_distance_is_listed_abnormal_first(
    notebook, layout_of, warehouse
):
    grid_id = _busiest("grid")
    listed = data.read(grid_queries.nearby_components, grid_id)
    grids = api.units("grid")
    outline = grids.loc[grids["unit_id"] == grid_id]
    minx, miny, maxx, maxy = outline.total_bounds
    around = warehouse.execute(
        """
        SELECT component_id FROM dim_component
        WHERE lng BETWEEN $x0 AND $x1 AND lat BETWEEN $y0 AND $y1
        """,
        {"x0": minx - 0.01, "x1": maxx + 0.01, "y0": miny - 0.01, "y1": maxy + 0.01},
    ).df()["component_id"]
    measured = _utm_distances(warehouse, grid_id, list(around))
    clearly_near = set(measured.index[measured < grid_queries.NEAR_METRES - 2])
    clearly_far = set(measured.index[measured > grid_queries.NEAR_METRES + 2])
    assert clearly_near <= set(listed["component_id"])
    assert not clearly_far & set(listed["component_id"])
    # abnormal (damaged, under repair, out of service) before normal, in the page too
    statuses = list(listed["abnormal"])
    assert statuses == sorted(statuses, reverse=True)
    page = layout_of("grid", unit_id=grid_id, more="components")
    shown = [getattr(n, "data-status") for n in _attr(page, "component")]
    assert shown == ["abnormal" if a else "normal" for a in statuses[: len(shown)]]


# ---------------------------------------------------------------------------------------------
# the map, the export, languages and odd input


def test_the_map_is_a_small_svg_of_the_areas_cells(units, layout_of):
    grid = data.unit(_grid_with_cells(units))
    assert grid is not None
    page = layout_of("grid", unit_id=grid.unit_id)
    img = next(n for n in _by_id(page, ids.GRID_MAP)._traverse() if hasattr(n, "src"))
    prefix = "data:image/svg+xml;charset=utf-8,"
    assert img.src.startswith(prefix)
    svg = unquote(img.src[len(prefix) :])
    root = ElementTree.fromstring(svg)
    cells = data.hex_cells(grid, "last30")
    filled = [p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("fill") != "none"]
    assert len(filled) == len(cells) > 0
    # coordinates rounded to 0.1 unit: no long decimals on the wire
    assert not re.search(r"\d\.\d\d", svg)
    assert len(img.src) < 20_000


def _grid_with_cells(units: dict[str, data.Unit]) -> str:
    for grid in data.children(units["community"]):
        if not data.hex_cells(grid, "last30").empty:
            return grid.unit_id
    raise AssertionError("the busiest community has no grid with requests")


def test_the_export_link_asks_for_the_areas_open_requests(units, layout_of):
    for unit in (data.children(units["community"])[0], units["street"]):
        page = layout_of("grid", unit_id=unit.unit_id, lang="en")
        link = _by_id(page, ids.GRID_EXPORT)
        assert link.href == export_href(
            "requests", "csv", unit_id=unit.unit_id, period="any", status="open", lang="en"
        )
        assert link.children == t("grid.export", "en")


def test_the_view_speaks_chinese_by_default_and_english_on_request(units, layout_of):
    grid = data.unit(_grid_with_cells(units))
    assert grid is not None
    zh = _visible_text(layout_of("grid", unit_id=grid.unit_id), "zh-CN")
    en = _visible_text(layout_of("grid", unit_id=grid.unit_id, lang="en"), "en")
    assert grid.name_zh in zh and t("grid.requests.title", "zh") in zh
    assert grid.name_en in en and t("grid.requests.title", "en") in en
    # in English, Chinese appears only inside elements tagged as Chinese (addresses, owners)
    assert [s for s in en if CJK.search(s)] == []
    latin = {w for s in zh for w in re.findall(r"[A-Za-z]+", s)}
    assert latin <= {"EN", "CSV", "h", "m"}


@pytest.mark.parametrize("unit_id", ["nope'; DROP TABLE meta; --", "", "440303001001001/extra"])
def test_an_unknown_id_gives_a_friendly_state_with_a_way_back(layout_of, ids_in, texts_in, unit_id):
    for lang in ("zh", "en"):
        page = layout_of("grid", unit_id=unit_id, lang=lang)
        found = ids_in(page)
        assert {ids.GRID_EMPTY, ids.BACK_LINK} <= found
        assert ids.GRID_VIEW not in found
        assert t("grid.empty.title", lang) in texts_in(page)


def test_a_unit_of_another_level_is_the_chiefs_area(units, layout_of, ids_in):
    for level in ("city", "district", "street", "community"):
        unit = units[level]
        page = layout_of("grid", unit_id=unit.unit_id, lang="en")
        assert ids.GRID_VIEW in ids_in(page), level
        assert unit.name("en") in _visible_text(page, "en")
        assert set(_kpis(page)) == {"open", "overdue", "new7", "worry"}


def test_the_first_render_is_small_for_a_slow_connection(units, layout_of):
    grid = data.unit(_grid_with_cells(units))
    assert grid is not None
    for lang in ("zh", "en"):
        page = layout_of("grid", unit_id=grid.unit_id, lang=lang)
        body = to_json(page).encode()
        # the page's share of the first load (docs/benchmarks.md): a few kilobytes gzipped
        assert len(gzip.compress(body)) < 15_000, lang


@pytest.mark.parametrize(
    ("hours", "lang", "text"),
    [(0.2, "zh", "1小时"), (36, "zh", "36小时"), (80, "en", "3 d"), (-30, "en", "30 h")],
)
def test_durations_read_in_hours_then_days(hours, lang, text):
    assert grid_view.duration(hours, lang) == text


def test_a_build_without_the_component_marts_lists_the_same_components(built_city, tmp_path):
    """Builds made before ``mart_component`` are read from the register, with equal rows."""
    import shutil

    import duckdb

    from pipelines import catalog, component_queries

    build = catalog.path(built_city, "warehouse_current").read_text().strip()
    # a copy: the dashboard holds the published file open with its own configuration
    path = tmp_path / "build.duckdb"
    shutil.copyfile(catalog.path(built_city, "warehouse_builds") / f"{build}.duckdb", path)
    old = duckdb.connect()
    old.execute(f"ATTACH '{path}' AS w (READ_ONLY)")
    # the tables a build had before the component marts, copied without them
    for table in ("dim_component", "dim_unit", "dim_unit_lineage", "fact_request", "meta"):
        old.execute(f"CREATE TABLE {table} AS SELECT * FROM w.{table}")
    old.execute("CREATE TABLE unit_shape AS SELECT * FROM w.unit_shape")
    old.execute("DETACH w")
    new = duckdb.connect(str(path), read_only=True)
    assert component_queries.available(new) and not component_queries.available(old)
    grid_id = str(
        new.execute(
            "SELECT leaf_id FROM mart_component GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]
    )
    current = grid_queries.nearby_components(new, grid_id)
    legacy = grid_queries.nearby_components(old, grid_id)
    # alarms differ by design: the mart counts the sensor alarm feed, the register path the
    # sensor-channel requests (all an old build has)
    columns = ["component_id", "kind", "status_class", "inside", "abnormal"]
    assert not current.empty
    pd.testing.assert_frame_equal(
        current[columns].sort_values("component_id", ignore_index=True),
        legacy[columns].sort_values("component_id", ignore_index=True),
        check_dtype=False,
    )
    assert (current["distance_m"].to_numpy() >= 0).all()
