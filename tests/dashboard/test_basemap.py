"""The basemap: offline unless configured; a GCJ-02 tile source moves every drawn coordinate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboard import basemap, figures
from pipelines import coords
from pipelines.settings import Settings

TILES = "http://tiles.intranet/{z}/{x}/{y}.png"


@pytest.fixture
def configured() -> Iterator[None]:
    yield
    basemap.configure(Settings())


def _figure() -> dict:
    ring = [[114.05, 22.54], [114.06, 22.54], [114.06, 22.55], [114.05, 22.54]]
    return {
        "data": [
            {
                "type": "choroplethmap",
                "geojson": {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "id": "a",
                            "geometry": {"type": "Polygon", "coordinates": [ring]},
                        },
                        {
                            "type": "Feature",
                            "id": "b",
                            "geometry": {"type": "MultiPolygon", "coordinates": [[ring], [ring]]},
                        },
                    ],
                },
                "locations": ["a", "b"],
                "z": [1, 2],
            },
            {"type": "scattermap", "lon": [114.05, None, 114.06], "lat": [22.54, None, 22.55]},
        ],
        "layout": figures._map_layout((114.0, 22.5, 114.1, 22.6), "r"),
    }


def test_offline_by_default_the_figure_is_untouched_and_fetches_nothing(configured):
    basemap.configure(Settings())
    fig = _figure()
    assert basemap.for_display(fig) is fig
    style = fig["layout"]["map"]["style"]
    assert style["sources"] == {} and "glyphs" not in style


def test_a_tile_url_puts_a_raster_layer_under_the_overlays_without_moving_them(configured):
    basemap.configure(Settings(basemap_url=TILES, basemap_attribution="© 城市测绘"))
    fig = _figure()
    shown = basemap.for_display(fig)
    style = shown["layout"]["map"]["style"]
    assert style["sources"]["basemap"]["tiles"] == [TILES]
    assert style["sources"]["basemap"]["attribution"] == "© 城市测绘"
    assert [layer["id"] for layer in style["layers"]] == ["background", "basemap"]
    assert "glyphs" not in style  # labels still drawn locally
    assert shown["data"] == fig["data"]  # a WGS-84 source: nothing shifts
    assert figures.MAP_STYLE["sources"] == {}  # the offline constant is not mutated


def test_a_gcj02_tile_source_shifts_polygons_points_centre_and_frame(configured):
    basemap.configure(Settings(basemap_url=TILES, basemap_crs="gcj02"))
    fig = _figure()
    shown = basemap.for_display(fig)
    gx, gy = coords.wgs84_to_gcj02(lng=[114.05], lat=[22.54])
    polygon = shown["data"][0]["geojson"]["features"][0]["geometry"]["coordinates"][0][0]
    multi = shown["data"][0]["geojson"]["features"][1]["geometry"]["coordinates"][1][0][0]
    assert polygon == pytest.approx([gx[0], gy[0]])
    assert multi == pytest.approx([gx[0], gy[0]])
    # Shenzhen's offset is several hundred metres: the shift is real, not rounding.
    assert abs(polygon[0] - 114.05) > 0.003
    points = shown["data"][1]
    assert points["lon"][1] is None and points["lat"][1] is None  # line breaks survive
    assert points["lon"][0] == pytest.approx(gx[0])
    center = shown["layout"]["map"]["center"]
    assert center["lon"] != fig["layout"]["map"]["center"]["lon"]
    x0, y0, x1, y1 = shown["layout"]["meta"]["bbox"]
    bx, by = coords.wgs84_to_gcj02(lng=[114.0, 114.1], lat=[22.5, 22.6])
    assert [x0, y0, x1, y1] == pytest.approx([bx[0], by[0], bx[1], by[1]])
    # the figure the caches hold is never modified
    assert fig["data"][0]["geojson"]["features"][0]["geometry"]["coordinates"][0][0] == [
        114.05,
        22.54,
    ]


def test_gcj02_without_tiles_changes_nothing(configured):
    basemap.configure(Settings(basemap_crs="gcj02"))
    assert not basemap.shifted()
    assert basemap.shift_points([114.05], [22.54]) == ([114.05], [22.54])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"YIWANG_BASEMAP_CRS": "bd09"}, "basemap_crs"),
        ({"YIWANG_BASEMAP_URL": "http://tiles/{z}.png"}, "basemap_url"),
    ],
)
def test_bad_basemap_settings_fail_with_a_clear_message(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


def _map_figures(tree: object) -> list[dict]:
    """Every map figure (a ``layout.map``) in a rendered page tree."""
    found = []
    for node in [tree, *tree._traverse()]:  # type: ignore[attr-defined]
        figure = getattr(node, "figure", None)
        if isinstance(figure, dict) and "map" in figure.get("layout", {}):
            found.append(figure)
    return found


@pytest.mark.parametrize("view", ["overview", "worry", "sla", "backlog", "components"])
def test_every_cockpit_map_is_drawn_over_the_configured_gcj02_tiles(configured, units, view):
    from dashboard import cockpit

    cockpit._map_figure.cache_clear()
    basemap.configure(Settings(basemap_url=TILES, basemap_crs="gcj02"))
    try:
        street = units["street"]
        page = cockpit.render(street.level, street.unit_id, period="last30", view=view)
        maps = _map_figures(page)
        assert maps, f"no map on the {view} view"
        for figure in maps:
            assert figure["layout"]["map"]["style"]["sources"]["basemap"]["tiles"] == [TILES]
            x0 = figure["layout"]["meta"]["bbox"][0]
            assert x0 != pytest.approx(street.bbox[0], abs=1e-4)  # the frame moved with the data
    finally:
        cockpit._map_figure.cache_clear()
