"""Friendly empty states: unknown unit, unknown page, no warehouse."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids


def empty_state(
    title: str,
    body: str,
    *,
    back_href: str | None,
    back_text: str,
    component_id: str = ids.EMPTY,
) -> html.Div:
    """Return a centred card explaining what is missing, with a link back to the city.

    Parameters
    ----------
    title
        Short headline ("未找到该区").
    body
        One or two sentences on what happened and what to do.
    back_href
        Link target (the city cockpit, keeping language and period); ``None`` hides it.
    back_text
        Link text.
    component_id
        Id of the outer element, so tests and callers can tell the states apart.

    Returns
    -------
    dash.html.Div
    """
    children: list[html.Div | html.H1 | html.P | dcc.Link] = [
        html.Div("一网统管", className="yw-empty-brand"),
        html.H1(title, className="yw-empty-title"),
        html.P(body, className="yw-empty-body"),
    ]
    if back_href:
        children.append(
            dcc.Link(back_text, href=back_href, id=ids.BACK_LINK, className="yw-button")
        )
    return html.Div(
        html.Div(children, className="yw-empty-card"), id=component_id, className="yw-empty"
    )
