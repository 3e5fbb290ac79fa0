"""Pure functions returning Dash components: no data access, no callbacks, no globals.

Every visible string is passed in already translated or looked up with
:func:`dashboard.i18n.t`; numbers are formatted with :mod:`dashboard.fmt`.
"""

from __future__ import annotations

from dashboard.components.empty import empty_state
from dashboard.components.header import BreadcrumbItem, account_menu, header
from dashboard.components.kpis import kpi_strip
from dashboard.components.panels import graph, legend_key, panel, playback_stores
from dashboard.components.ranking import ranking_table
from dashboard.components.tables import as_recorded, simple_table
from dashboard.components.ticker import TickerItem, alert_ticker

__all__ = [
    "BreadcrumbItem",
    "TickerItem",
    "account_menu",
    "alert_ticker",
    "as_recorded",
    "empty_state",
    "graph",
    "header",
    "kpi_strip",
    "legend_key",
    "panel",
    "playback_stores",
    "ranking_table",
    "simple_table",
]
