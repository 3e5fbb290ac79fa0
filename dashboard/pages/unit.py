"""Every unit's cockpit below the city: ``/<level>/<unit_id>?period=...&lang=...``.

One page for all levels of all hierarchies (区, 街道, 社区, 网格; LA's regions, councils and
council districts): the level is data, checked against the warehouse by the cockpit.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import cockpit

dash.register_page(
    __name__,
    path_template="/<level>/<unit_id>",
    name="Unit",
    title="一网统管",
    order=1,
)


def layout(level: str | None = None, unit_id: str | None = None, **kwargs: Any) -> html.Div:
    """Render the unit's cockpit; query kwargs (period, lang, anything else) are safe."""
    return cockpit.render(level or "", unit_id, **kwargs)
