"""Every component id of the app, as constants (Dash pages demos, README tip 3b).

The four cockpit pages share one template, so their ids are shared too and namespaced
``cockpit-``; only one cockpit is on screen at a time.
"""

from __future__ import annotations

# shell (app.py)
URL = "url"

# cockpit state: the period and language the page was rendered with
STATE = "cockpit-state"

# cockpit header
TITLE = "cockpit-title"
BREADCRUMB = "cockpit-breadcrumb"
PERIOD = "cockpit-period"
LANG = "cockpit-lang"
AS_OF = "cockpit-as-of"

# cockpit panels
KPIS = "cockpit-kpis"
MAP = "cockpit-map"
MAP_FITTED = "cockpit-map-fitted"
RANKING = "cockpit-ranking"
UNASSIGNED = "cockpit-unassigned"
CATEGORIES = "cockpit-categories"
TREND = "cockpit-trend"

# empty states
EMPTY = "cockpit-empty"
BACK_LINK = "cockpit-back"
NOT_FOUND = "not-found"

# data-quality page
QUALITY_TABLE = "quality-table"
QUALITY_LINK = "quality-link"
ACCOUNT = "account"

# view tabs (overview, SLA, ranking) of a unit page
VIEW_TABS = "cockpit-views"

# SLA view
SLA_SUMMARY = "sla-summary"
SLA_OVERDUE = "sla-overdue"
SLA_LONG = "sla-long-unresolved"
SLA_DEPARTMENTS = "sla-departments"

# ranking view
RANK_METRIC = "ranking-metric"
RANK_SNAPSHOT = "ranking-snapshot"
RANK_TABLE = "ranking-table"
RANK_NOTE = "ranking-note"

# worry view
WORRY_MAP = "worry-map"
WORRY_SLIDER = "worry-slider"
WORRY_PLAY = "worry-play"
WORRY_TICK = "worry-tick"
WORRY_MONTH = "worry-month"
WORRY_CONTEXT = "worry-context"
WORRY_EXPLAIN = "worry-explain"
WORRY_FITTED = "worry-map-fitted"
WORRY_FRAME = "worry-frame"
WORRY_APPLIED = "worry-frame-applied"

# alert ticker (every cockpit)
TICKER = "cockpit-ticker"

# wall (the unattended big screen, dashboard/wall.py)
WALL = "wall"
WALL_CONTEXT = "wall-context"
WALL_SHOWN = "wall-shown"
WALL_CLOCK = "wall-clock"
WALL_TICK = "wall-tick"
WALL_BODY = "wall-body"
WALL_TITLE = "wall-title"
WALL_KPIS = "wall-kpis"
WALL_MAP = "wall-map"
WALL_MAP_FITTED = "wall-map-fitted"
WALL_TREND = "wall-trend"
WALL_CATEGORIES = "wall-categories"
WALL_RANKING = "wall-ranking"
WALL_WATERMARK = "wall-watermark"
WALL_BANNER = "wall-banner"
WALL_EMPTY = "wall-empty"

# backlog view
BACKLOG_MAP = "backlog-map"
BACKLOG_CHART = "backlog-chart"
BACKLOG_SLIDER = "backlog-slider"
BACKLOG_PLAY = "backlog-play"
BACKLOG_TICK = "backlog-tick"
BACKLOG_MOMENT = "backlog-moment"
BACKLOG_SUMMARY = "backlog-summary"
BACKLOG_CONTEXT = "backlog-context"
BACKLOG_FITTED = "backlog-map-fitted"
BACKLOG_FRAME = "backlog-frame"
BACKLOG_APPLIED = "backlog-frame-applied"

# export
EXPORT_MENU = "export-menu"
EXPORT_CODE = "export-code"
EXPORT_SNIPPET = "export-snippet"
EXPORT_COPY = "export-copy"

# grid view (the grid chief's phone page, /grid/<unit_id>)
GRID_VIEW = "grid-view"
GRID_LANG = "grid-lang"
GRID_COCKPIT = "grid-cockpit-link"
GRID_KPIS = "grid-kpis"
GRID_MAP = "grid-map"
GRID_REQUESTS = "grid-requests"
GRID_PLACES = "grid-places"
GRID_ALERTS = "grid-alerts"
GRID_COMPONENTS = "grid-components"
GRID_EXPORT = "grid-export"
GRID_EMPTY = "grid-empty"

# components view (dashboard/components_view.py; its map is MAP, fitted and clicked as every map)
COMP_KINDS = "comp-kinds"
COMP_NOTE = "comp-note"
COMP_KPIS = "comp-kpis"
COMP_HEALTH = "comp-health"
COMP_ALARMS = "comp-alarms"
COMP_LINKS = "comp-links"
COMP_EMPTY = "comp-empty"
