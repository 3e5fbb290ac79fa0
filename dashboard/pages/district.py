"""The district cockpit (区): ``/district/<unit_id>?period=...&lang=...``."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import cockpit

dash.register_page(
    __name__,
    path_template="/district/<unit_id>",
    name="District",
    title="一网统管",
    order=1,
)


def layout(unit_id: str | None = None, **kwargs: Any) -> html.Div:
    """Render the district cockpit; query kwargs (period, lang, anything else) are safe."""
    return cockpit.render("district", unit_id, **kwargs)
