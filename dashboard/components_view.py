"""City components (``?view=components``): a layer per type with status, built in issue 6."""

from __future__ import annotations

from typing import Any

import dash

from dashboard import components, data, ids
from dashboard.i18n import Lang, t


def components_view(
    unit: data.Unit, period: data.Period, lang: Lang, hierarchy: str | None, *, kind: object = None
) -> list[Any]:
    """Return the component layer of ``unit`` (not built yet: an empty state)."""
    del unit, period, hierarchy, kind
    return [
        components.empty_state(
            t("chart.empty", lang), "", back_href=None, back_text="", component_id=ids.EMPTY
        )
    ]


def register(app: dash.Dash) -> None:
    """Attach the component view's callbacks to ``app``."""
