"""The grid chief's page: ``/grid/<unit_id>?lang=...`` (``?view=...``: the grid's cockpit).

Registered before the unit page (``/<level>/<unit_id>``, order 1), which would otherwise
match ``/grid/...`` too: Dash tries pages in registry order and takes the first match.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import grid_view

dash.register_page(
    __name__,
    path_template="/grid/<unit_id>",
    name="Grid chief",
    title="一网统管 · 网格长",
    # any number below the unit page's 1 puts this page first (the city's 0 matches "/" only)
    order=0.5,
)


def layout(unit_id: str | None = None, **kwargs: Any) -> html.Div:
    """Render the chief's view of ``unit_id``, or its cockpit when ``?view=`` asks for one."""
    return grid_view.page(unit_id, **kwargs)
