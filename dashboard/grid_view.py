"""The grid chief's phone view (``/grid/<id>``), built in issue 6."""

from __future__ import annotations

import dash


def register(app: dash.Dash) -> None:
    """Attach the grid view's callbacks to ``app``."""
