"""Coordinate systems -> WGS-84: Chinese map datums with numpy, any EPSG code with pyproj.

GCJ-02 (AMap, Tencent, DataV) and BD-09 (Baidu) are published obfuscations of WGS-84, not
EPSG systems, so pyproj cannot convert them. The forward GCJ-02 formula is public; its
inverse has no closed form and is solved by fixed-point iteration to ``tol_deg``.
Every function takes and returns ``(lng, lat)`` keyword-only arrays, in that order, so no
caller can swap axes by accident. Other systems (CGCS2000 ``EPSG:4490``, a Gauss-Krüger
zone, Web Mercator ...) are declared as ``EPSG:<code>`` and converted with pyproj,
``always_xy`` so that its axis order cannot flip ours either.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

#: "WGS84", "GCJ02", "BD09" or "EPSG:<code>" (checked by :func:`check_coord_sys`).
CoordSys: TypeAlias = str
COORD_SYSTEMS: tuple[str, ...] = ("WGS84", "GCJ02", "BD09", "EPSG:<code>")

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

FloatArray = npt.NDArray[np.float64]


def _delta(lng: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lng - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlng += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlng += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlng = (dlng * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlng, dlat


def _as_arrays(lng: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    return np.asarray(lng, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def wgs84_to_gcj02(*, lng: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Apply the published GCJ-02 offset to WGS-84 coordinates (NaN stays NaN)."""
    x, y = _as_arrays(lng, lat)
    dlng, dlat = _delta(x, y)
    return x + dlng, y + dlat


def gcj02_to_wgs84(
    *, lng: npt.ArrayLike, lat: npt.ArrayLike, tol_deg: float = 1e-9, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Invert GCJ-02 by fixed-point iteration.

    Parameters
    ----------
    lng, lat
        GCJ-02 coordinates in degrees.
    tol_deg
        Stop when every point's forward image is within this many degrees of the input
        (1e-9 degrees is about 0.1 mm).
    max_iter
        Iteration cap; the map is a contraction in China and converges in under 10 steps.

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 ``(lng, lat)``.
    """
    gx, gy = _as_arrays(lng, lat)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(max_iter):
        fx, fy = wgs84_to_gcj02(lng=wx, lat=wy)
        ex, ey = fx - gx, fy - gy
        wx, wy = wx - ex, wy - ey
        err = np.nanmax(np.abs(np.concatenate([ex, ey]))) if ex.size else 0.0
        if not np.isfinite(err) or err < tol_deg:
            break
    return wx, wy


def bd09_to_gcj02(*, lng: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Remove Baidu's BD-09 offset, giving GCJ-02."""
    x, y = _as_arrays(lng, lat)
    x, y = x - 0.0065, y - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(*, lng: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Apply Baidu's BD-09 offset to GCJ-02 coordinates."""
    x, y = _as_arrays(lng, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def check_coord_sys(value: str) -> str:
    """Return ``value`` if it names a system this module converts; raise ``ValueError``."""
    if value in ("WGS84", "GCJ02", "BD09"):
        return value
    if value.upper().startswith("EPSG:"):
        _transformer(value.upper(), "EPSG:4326")  # raises for an unknown code
        return value.upper()
    raise ValueError(f"unknown coordinate system {value!r}; expected one of {COORD_SYSTEMS}")


@lru_cache(maxsize=16)
def _transformer(source: str, target: str) -> object:
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        return Transformer.from_crs(
            CRS.from_user_input(source), CRS.from_user_input(target), always_xy=True
        )
    except CRSError as exc:
        raise ValueError(f"unknown coordinate system {source!r}: {exc}") from exc


def _pyproj(
    lng: npt.ArrayLike, lat: npt.ArrayLike, source: str, target: str
) -> tuple[FloatArray, FloatArray]:
    x, y = _as_arrays(lng, lat)
    out_x, out_y = _transformer(source, target).transform(x, y)  # type: ignore[attr-defined]
    return np.asarray(out_x, dtype=np.float64), np.asarray(out_y, dtype=np.float64)


def to_wgs84(
    *, lng: npt.ArrayLike, lat: npt.ArrayLike, source: CoordSys
) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates declared in ``source`` to WGS-84 (``lng``/``lat`` are x/y)."""
    if source == "WGS84":
        return _as_arrays(lng, lat)
    if source == "GCJ02":
        return gcj02_to_wgs84(lng=lng, lat=lat)
    if source == "BD09":
        glng, glat = bd09_to_gcj02(lng=lng, lat=lat)
        return gcj02_to_wgs84(lng=glng, lat=glat)
    return _pyproj(lng, lat, check_coord_sys(source), "EPSG:4326")


def from_wgs84(
    *, lng: npt.ArrayLike, lat: npt.ArrayLike, target: CoordSys
) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 coordinates to ``target`` (the demo writes sources this way)."""
    if target == "WGS84":
        return _as_arrays(lng, lat)
    if target == "GCJ02":
        return wgs84_to_gcj02(lng=lng, lat=lat)
    if target == "BD09":
        glng, glat = wgs84_to_gcj02(lng=lng, lat=lat)
        return gcj02_to_bd09(lng=glng, lat=glat)
    return _pyproj(lng, lat, "EPSG:4326", check_coord_sys(target))


def geometry_to_wgs84(geoms: npt.ArrayLike, *, source: CoordSys) -> npt.NDArray[np.object_]:
    """Convert an array of shapely geometries from ``source`` to WGS-84."""
    import shapely

    def _convert(xy: FloatArray) -> FloatArray:
        lng, lat = to_wgs84(lng=xy[:, 0], lat=xy[:, 1], source=source)
        return np.column_stack([lng, lat])

    return shapely.transform(np.asarray(geoms, dtype=object), _convert)
