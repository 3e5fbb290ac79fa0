"""Exports of the current selection (CSV, GeoParquet) and "open as code", built in issue 6."""

from __future__ import annotations

from urllib.parse import urlencode

import dash

#: What can be exported: request records, heatmap cells or units; and in which format.
WHAT = ("requests", "cells", "units")
FORMATS = ("csv", "parquet")


def export_href(
    what: str,
    fmt: str,
    *,
    unit_id: str,
    period: str,
    hierarchy: str | None = None,
    **filters: str | None,
) -> str:
    """Return the download URL of an export (``/export/<what>.<fmt>?unit=…&period=…``).

    Parameters
    ----------
    what
        One of :data:`WHAT`.
    fmt
        One of :data:`FORMATS` (``parquet`` is GeoParquet).
    unit_id, period, hierarchy
        The selection: the unit (the city's id for the city), the period id, and the city's
        hierarchy when it is not the primary one.
    **filters
        Further selection keys (e.g. ``status="overdue"`` for requests); ``None`` dropped.
    """
    if what not in WHAT or fmt not in FORMATS:
        raise ValueError(f"unknown export {what}.{fmt}")
    query = {"unit": unit_id, "period": period, "by": hierarchy, **filters}
    return f"/export/{what}.{fmt}?" + urlencode({k: v for k, v in query.items() if v})


def register(app: dash.Dash) -> None:
    """Attach the export routes to ``app``'s Flask server."""
