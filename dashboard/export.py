"""Exports of the current selection (CSV, GeoParquet) and "open as code", built in issue 6."""

from __future__ import annotations

import dash


def register(app: dash.Dash) -> None:
    """Attach the export routes to ``app``'s Flask server."""
