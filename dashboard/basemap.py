"""The basemap under every map: offline by default, an XYZ tile server on request.

Figures are built in WGS-84 with an offline style (:data:`dashboard.figures.MAP_STYLE`).
Before a map figure leaves the server it passes through :func:`for_display`, the one place
that knows the configured basemap:

- no ``basemap_url`` (the default): the figure is returned unchanged, nothing is fetched;
- ``basemap_url`` set: the style gets a raster source of those tiles under the overlays
  (an intranet tile server, a 天地图-style service);
- ``basemap_crs = "gcj02"``: Chinese map tiles are drawn in the GCJ-02 datum, offset from
  WGS-84 by up to ~500 m, so every overlay coordinate (polygons, points, the view's centre
  and box) is shifted into GCJ-02 to sit on the right street. Exports and the API stay in
  WGS-84; only what is drawn moves.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from dashboard import cache
from pipelines import coords
from pipelines.settings import Settings

Figure = dict[str, Any]

_settings: list[Settings] = [Settings()]


def configure(settings: Settings) -> None:
    """Use ``settings``' basemap (called once by ``create_app``).

    Cached map figures were drawn for the previous basemap, so every cached result goes.
    """
    _settings[0] = settings
    cache.clear()


def shifted() -> bool:
    """Whether overlays are drawn in GCJ-02 (a GCJ-02 tile source is configured)."""
    s = _settings[0]
    return bool(s.basemap_url) and s.basemap_crs == "gcj02"


def map_style(offline: dict[str, Any]) -> dict[str, Any]:
    """Return the MapLibre style: ``offline`` itself, or ``offline`` under the tile layer.

    Parameters
    ----------
    offline
        The offline style (background only); its background stays under the tiles, so a
        tile that fails to load shows the dark background rather than a hole.
    """
    s = _settings[0]
    if not s.basemap_url:
        return offline
    style = copy.deepcopy(offline)
    source: dict[str, Any] = {"type": "raster", "tiles": [s.basemap_url], "tileSize": 256}
    if s.basemap_attribution:
        source["attribution"] = s.basemap_attribution
    style["sources"] = {**style.get("sources", {}), "basemap": source}
    style["layers"] = [
        *style.get("layers", []),
        {"id": "basemap", "type": "raster", "source": "basemap", "paint": {"raster-opacity": 0.85}},
    ]
    return style


def shift_points(
    lon: Sequence[float | None], lat: Sequence[float | None]
) -> tuple[list[float | None], list[float | None]]:
    """Return ``lon``/``lat`` as drawn on the basemap (GCJ-02 when the tiles are; ``None`` kept)."""
    if not shifted() or len(lon) == 0:
        return list(lon), list(lat)
    x = np.array([np.nan if v is None else v for v in lon], dtype=float)
    y = np.array([np.nan if v is None else v for v in lat], dtype=float)
    gx, gy = coords.wgs84_to_gcj02(lng=x, lat=y)
    keep = ~np.isnan(x) & ~np.isnan(y)
    return (
        [float(a) if k else None for a, k in zip(gx, keep, strict=True)],
        [float(b) if k else None for b, k in zip(gy, keep, strict=True)],
    )


def _shift_positions(positions: Any) -> Any:
    """Shift nested GeoJSON coordinate arrays (any depth) into GCJ-02."""
    arr = np.asarray(positions, dtype=float)
    if arr.ndim >= 1 and arr.shape[-1] == 2 and arr.dtype != object:
        gx, gy = coords.wgs84_to_gcj02(lng=arr[..., 0], lat=arr[..., 1])
        return np.stack([gx, gy], axis=-1).tolist()
    return [_shift_positions(p) for p in positions]  # ragged rings: one level down


def _shift_geometry(geometry: dict[str, Any] | None) -> dict[str, Any] | None:
    if not geometry:
        return geometry
    if geometry.get("type") == "GeometryCollection":
        return {**geometry, "geometries": [_shift_geometry(g) for g in geometry["geometries"]]}
    return {**geometry, "coordinates": _shift_positions(geometry["coordinates"])}


def _shift_geojson(geojson: Any) -> Any:
    if not isinstance(geojson, dict):
        return geojson  # a URL: plotly fetches it, nothing the server can shift
    kind = geojson.get("type")
    if kind == "FeatureCollection":
        return {**geojson, "features": [_shift_geojson(f) for f in geojson["features"]]}
    if kind == "Feature":
        return {**geojson, "geometry": _shift_geometry(geojson.get("geometry"))}
    return _shift_geometry(geojson)


def for_display(figure: Figure) -> Figure:
    """Return a map ``figure`` ready for the configured basemap (unchanged when offline).

    Shifts every trace's ``geojson`` and ``lon``/``lat``, the layout's map centre and the
    ``meta.bbox`` the browser fits the view to, and puts the tile layer in the style.
    """
    s = _settings[0]
    if not s.basemap_url:
        return figure
    out = dict(figure)
    layout = dict(out.get("layout", {}))
    if "map" in layout:
        layout["map"] = {**layout["map"], "style": map_style(layout["map"].get("style", {}))}
    if shifted():
        traces = []
        for trace in out.get("data", []):
            trace = dict(trace)
            if "geojson" in trace:
                trace["geojson"] = _shift_geojson(trace["geojson"])
            if "lon" in trace and "lat" in trace:
                trace["lon"], trace["lat"] = shift_points(list(trace["lon"]), list(trace["lat"]))
            traces.append(trace)
        out["data"] = traces
        center = layout.get("map", {}).get("center")
        if center:
            (lon,), (lat,) = shift_points([center["lon"]], [center["lat"]])
            layout["map"] = {**layout["map"], "center": {"lon": lon, "lat": lat}}
        meta = layout.get("meta")
        if isinstance(meta, dict) and meta.get("bbox"):
            x0, y0, x1, y1 = meta["bbox"]
            (gx0, gx1), (gy0, gy1) = shift_points([x0, x1], [y0, y1])
            layout["meta"] = {**meta, "bbox": [gx0, gy0, gx1, gy1]}
    out["layout"] = layout
    return out
