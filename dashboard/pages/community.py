"""The community cockpit (社区（含网格）): ``/community/<unit_id>?period=...&lang=...``."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import cockpit

dash.register_page(
    __name__,
    path_template="/community/<unit_id>",
    name="Community",
    title="一网统管",
    order=3,
)


def layout(unit_id: str | None = None, **kwargs: Any) -> html.Div:
    """Render the community cockpit; query kwargs (period, lang, anything else) are safe."""
    return cockpit.render("community", unit_id, **kwargs)
