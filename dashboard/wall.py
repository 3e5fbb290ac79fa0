"""Wall mode: the unattended big-screen cockpit (``/wall``), built in issue 6."""

from __future__ import annotations

import dash


def register(app: dash.Dash) -> None:
    """Attach the wall's callbacks to ``app``."""
