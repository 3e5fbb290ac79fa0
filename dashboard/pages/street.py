"""The street cockpit (街道): ``/street/<unit_id>?period=...&lang=...``."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import cockpit

dash.register_page(
    __name__,
    path_template="/street/<unit_id>",
    name="Street",
    title="一网统管",
    order=2,
)


def layout(unit_id: str | None = None, **kwargs: Any) -> html.Div:
    """Render the street cockpit; query kwargs (period, lang, anything else) are safe."""
    return cockpit.render("street", unit_id, **kwargs)
