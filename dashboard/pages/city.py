"""The city cockpit (全市): ``/?period=...&lang=...``, the root of the drill tree."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import cockpit

dash.register_page(__name__, path="/", name="City", title="一网统管", order=0)


def layout(unit_id: str | None = None, **kwargs: Any) -> html.Div:
    """Render the city cockpit; the city id comes from the warehouse, not the URL."""
    return cockpit.render("city", None, **kwargs)
