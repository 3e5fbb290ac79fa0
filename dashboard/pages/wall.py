"""The wall: ``/wall`` (the city) and ``/wall/<level>/<unit_id>`` (any unit), big screens.

Dash matches pages in registry order and its path templates match across slashes, so the
unit page's ``/<level>/<unit_id>`` (order 1) would take ``/wall/district/440303`` as level
``wall/district``. The wall's template is registered with order 0, ahead of it; ``/wall``
itself has one segment and never matches a two-segment template.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import wall

dash.register_page(__name__, path="/wall", name="Wall", title="一网统管 · 大屏", order=0)


def layout(**kwargs: Any) -> html.Div:
    """Render the city's wall; query kwargs (period, lang, layout, tile, tour) are safe."""
    return wall.render("city", None, **kwargs)


def unit_layout(level: str | None = None, unit_id: str | None = None, **kwargs: Any) -> html.Div:
    """Render a unit's wall (any level of any hierarchy; unknown ones get a calm note)."""
    return wall.render(level or "", unit_id, **kwargs)


# A second page from this module: Dash keys pages by module name, hence the suffix.
dash.register_page(
    f"{__name__}_unit",
    path_template="/wall/<level>/<unit_id>",
    name="Wall unit",
    title="一网统管 · 大屏",
    order=0,
    layout=unit_layout,
)
