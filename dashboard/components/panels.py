"""Panel chrome (titled dark cards) and the standard graph wrapper."""

from __future__ import annotations

from typing import Any

from dash import dcc, html
from dash.development.base_component import Component


def attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Pass ``data-*``/``aria-*`` attributes as keyword arguments.

    Dash components accept them as ``**kwargs``; typing the dict as ``Any`` keeps mypy from
    matching the values against the components' other keyword parameters.
    """
    return values


def panel(
    title: str,
    body: Component | list[Component],
    *,
    subtitle: str | None = None,
    class_name: str = "",
    extra: Component | None = None,
) -> html.Section:
    """Return a titled card; ``body`` fills the remaining height.

    Parameters
    ----------
    title
        Panel heading.
    body
        Content; graphs inside stretch to the card's height.
    subtitle
        Small muted text after the title (hints, sort order).
    class_name
        Extra CSS classes (grid placement).
    extra
        Component placed at the right of the title row.

    Returns
    -------
    dash.html.Section
    """
    heading: list[Component | str] = [html.H2(title, className="yw-panel-title")]
    if subtitle:
        heading.append(html.Span(subtitle, className="yw-panel-sub"))
    if extra is not None:
        heading.append(extra)
    return html.Section(
        [html.Div(heading, className="yw-panel-head"), html.Div(body, className="yw-panel-body")],
        className=f"yw-panel {class_name}".strip(),
    )


def legend_key(items: list[tuple[str, str]]) -> html.Span:
    """Return a compact colour key (``[(label, css colour), ...]``) for a panel heading."""
    parts: list[Component] = []
    for label, color in items:
        parts.append(html.I(className="yw-key", style={"backgroundColor": color}))
        parts.append(html.Span(label, className="yw-key-label"))
    return html.Span(parts, className="yw-keys")


def graph(component_id: str, figure: dict[str, Any], *, class_name: str = "") -> dcc.Graph:
    """Return a responsive ``dcc.Graph`` without the mode bar, filling its container."""
    return dcc.Graph(
        id=component_id,
        figure=figure,
        className=f"yw-graph {class_name}".strip(),
        responsive=True,
        config={
            "displayModeBar": False,
            "displaylogo": False,
            "scrollZoom": True,
            "responsive": True,
        },
        style={"height": "100%", "width": "100%"},
    )


def playback_stores(
    *, tick: str, fitted: str, frame: str, applied: str, interval_ms: int
) -> list[Component]:
    """The hidden plumbing of a played map (worry months, backlog moments).

    A disabled ``dcc.Interval`` that play switches on, and the stores the browser uses to
    frame the map, receive a step's colours and report that it applied them.
    """
    return [
        dcc.Interval(id=tick, interval=interval_ms, disabled=True),
        dcc.Store(id=fitted, storage_type="memory"),
        dcc.Store(id=frame, storage_type="memory"),
        dcc.Store(id=applied, storage_type="memory"),
    ]
