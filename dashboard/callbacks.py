"""Thin callbacks: every user action becomes a new URL; the page then re-renders from it.

The URL is the whole drill state (datasette's habit), so a period change, a language switch
and a map click all just compute an ``href``. Pages render from the URL, which keeps links
shareable and the back button working. The functions are plain and testable without Dash;
:func:`register` wires them to an app.

Why not ``@dash.callback`` in page modules: the four cockpits share one template and one set
of ids, so the callbacks belong to the template, and registering them on the app in
``create_app`` keeps them from being registered twice when Dash re-imports the pages.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, no_update

from dashboard import (
    backlog_view,
    components_view,
    contact,
    export,
    grid_view,
    ids,
    routes,
    serialise,
    wall,
    worry_view,
)


def period_href(
    period: str | None, shown: dict[str, Any] | None, pathname: str | None, search: str | None
) -> Any:
    """Return the current page's href with ``period`` set.

    ``shown`` is the state the page was rendered with (``ids.STATE``). Dash also fires this
    callback when the router inserts a new page; the selector then equals what is shown and
    nothing happens, so a bare ``/`` is not rewritten and no render loop starts.
    """
    if not period or (shown or {}).get("period") == period:
        return no_update
    return routes.update_search(pathname, search, period=period)


def lang_href(
    lang: str | None, shown: dict[str, Any] | None, pathname: str | None, search: str | None
) -> Any:
    """Return the current page's href with ``lang`` set (no update if already shown)."""
    if lang not in ("zh", "en") or (shown or {}).get("lang") == lang:
        return no_update
    return routes.update_search(pathname, search, lang=lang)


def metric_href(
    metric: str | None, shown: dict[str, Any] | None, pathname: str | None, search: str | None
) -> Any:
    """Return the ranking view's href with ``metric`` set (no update if already shown)."""
    if not metric or (shown or {}).get("metric") == metric:
        return no_update
    return routes.update_search(pathname, search, metric=metric)


def snapshot_href(
    snapshot: str | None, shown: dict[str, Any] | None, pathname: str | None, search: str | None
) -> Any:
    """Return the ranking view's href showing ``snapshot`` (``"live"``: the live ranking)."""
    wanted = None if snapshot in (None, "", "live") else snapshot
    if (shown or {}).get("snapshot") == wanted or (shown or {}).get("view") != "ranking":
        return no_update
    return routes.update_search(pathname, search, snapshot=wanted)


def map_click_href(click_data: dict[str, Any] | None, search: str | None) -> Any:
    """Return the child page a clicked hex or label points at, keeping the query state.

    Points carry the child's page path as the last ``customdata`` item; grids (and cells
    whose requests lie outside every child) carry ``""`` and do nothing.
    """
    points = (click_data or {}).get("points") or []
    if not points:
        return no_update
    custom = points[0].get("customdata")
    path = custom[-1] if isinstance(custom, list) and custom else custom
    if not isinstance(path, str) or not path.startswith("/"):
        return no_update
    # a drill from a cockpit stays in the cockpit (a grid's bare path is its chief's view)
    view = routes.parse_search(search).get("view") or "overview"
    return routes.update_search(path, search, view=view)


def register(app: dash.Dash) -> None:
    """Attach the cockpit callbacks to ``app`` (once per app)."""
    # Answers are encoded by orjson without plotly's Python walk of every number (a page
    # render spent most of its time there, see dashboard/serialise.py).
    serialise.install()
    # Three inputs navigate, so three callbacks share the URL output (allow_duplicate, which
    # requires prevent_initial_call). They still fire when the router inserts a page, so
    # each compares with the page's rendered state before navigating.
    app.callback(
        Output(ids.URL, "href", allow_duplicate=True),
        Input(ids.PERIOD, "value"),
        State(ids.STATE, "data"),
        State(ids.URL, "pathname"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )(period_href)
    app.callback(
        Output(ids.URL, "href", allow_duplicate=True),
        Input(ids.LANG, "value"),
        State(ids.STATE, "data"),
        State(ids.URL, "pathname"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )(lang_href)
    for control, handler in ((ids.RANK_METRIC, metric_href), (ids.RANK_SNAPSHOT, snapshot_href)):
        app.callback(
            Output(ids.URL, "href", allow_duplicate=True),
            Input(control, "value"),
            State(ids.STATE, "data"),
            State(ids.URL, "pathname"),
            State(ids.URL, "search"),
            prevent_initial_call=True,
        )(handler)
    # Frame the unit for the real map size (phone, laptop, wall): browser-side, see
    # assets/cockpit.js. It fires when a page is inserted, which is exactly when it is needed.
    for graph, fitted in ((ids.MAP, ids.MAP_FITTED), (ids.WORRY_MAP, ids.WORRY_FITTED)):
        app.clientside_callback(
            ClientsideFunction(namespace="yiwang", function_name="fitMap"),
            Output(fitted, "data"),
            Input(graph, "figure"),
            State(graph, "id"),
        )
    app.callback(
        Output(ids.URL, "href", allow_duplicate=True),
        Input(ids.MAP, "clickData"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )(map_click_href)
    # The worry view: the slider sends a month's colours, which the browser applies to the
    # drawn map (Plotly.restyle, assets/cockpit.js); play steps the slider; a click on a
    # cell explains it.
    app.callback(
        Output(ids.WORRY_FRAME, "data"),
        Output(ids.WORRY_MONTH, "children"),
        Input(ids.WORRY_SLIDER, "value"),
        State(ids.WORRY_CONTEXT, "data"),
        prevent_initial_call=True,
    )(worry_view.recolour)
    app.clientside_callback(
        ClientsideFunction(namespace="yiwang", function_name="recolourMap"),
        Output(ids.WORRY_APPLIED, "data"),
        Input(ids.WORRY_FRAME, "data"),
        State(ids.WORRY_MAP, "id"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(ids.WORRY_TICK, "disabled"),
        Output(ids.WORRY_PLAY, "children"),
        Input(ids.WORRY_PLAY, "n_clicks"),
        State(ids.WORRY_CONTEXT, "data"),
        prevent_initial_call=True,
    )(worry_view.toggle_play)
    app.callback(
        Output(ids.WORRY_SLIDER, "value"),
        Input(ids.WORRY_TICK, "n_intervals"),
        State(ids.WORRY_SLIDER, "value"),
        State(ids.WORRY_CONTEXT, "data"),
        prevent_initial_call=True,
    )(worry_view.step)
    app.callback(
        Output(ids.WORRY_EXPLAIN, "children"),
        Input(ids.WORRY_MAP, "clickData"),
        State(ids.WORRY_SLIDER, "value"),
        State(ids.WORRY_CONTEXT, "data"),
        prevent_initial_call=True,
    )(worry_view.explain_click)
    # Each audience's screens register their own callbacks (wall, grid chief, playback …).
    for feature in (wall, grid_view, backlog_view, components_view, export):
        feature.register(app)
    contact.register(app)
