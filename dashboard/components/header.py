"""Cockpit header: title, breadcrumb, period selector, language toggle, data stamp."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from dash import dcc, html
from dash.development.base_component import Component

from dashboard import ids, routes
from dashboard.components.panels import attributes
from dashboard.i18n import Lang, t


class BreadcrumbItem(NamedTuple):
    """One breadcrumb step: a label and its link (``None`` for the current unit)."""

    label: str
    href: str | None
    level_label: str


def _breadcrumb(items: Sequence[BreadcrumbItem]) -> html.Nav:
    parts: list[Component] = []
    for i, item in enumerate(items):
        if i:
            parts.append(
                html.Span("›", className="yw-crumb-sep", **attributes({"aria-hidden": "true"}))
            )
        if item.href is None:
            parts.append(
                html.Span(
                    item.label,
                    className="yw-crumb yw-crumb-current",
                    title=item.level_label,
                    **attributes({"aria-current": "page"}),
                )
            )
        else:
            parts.append(
                dcc.Link(item.label, href=item.href, className="yw-crumb", title=item.level_label)
            )
    return html.Nav(
        parts,
        id=ids.BREADCRUMB,
        className="yw-breadcrumb",
        **attributes({"aria-label": "breadcrumb"}),
    )


def header(
    *,
    unit_name: str,
    breadcrumb: Sequence[BreadcrumbItem],
    period_options: Sequence[tuple[str, str]],
    period: str,
    lang: Lang,
    as_of: str,
    built: str,
    account: Component | None = None,
    show_quality: bool = True,
) -> html.Header:
    """Return the header bar.

    Parameters
    ----------
    unit_name
        Name of the unit on screen (goes into the title "一网统管 · <name>").
    breadcrumb
        City → … → current unit.
    period_options
        ``(period_id, label)`` pairs in display order.
    period
        Selected period id.
    lang
        Current language (selects the toggle and the labels).
    as_of
        Data as-of time, already formatted.
    built
        Build time, already formatted.
    account
        Who is signed in, with the sign-out button (``None``: nobody to show).
    show_quality
        Whether to link the data-quality page (only roles that may open it).

    Returns
    -------
    dash.html.Header
    """
    title = html.Div(
        [
            html.H1(
                [
                    html.Span(t("app.title", lang), className="yw-title-brand"),
                    html.Span("·", className="yw-title-dot"),
                    html.Span(unit_name, className="yw-title-unit"),
                ],
                id=ids.TITLE,
                className="yw-title",
            ),
            _breadcrumb(breadcrumb),
        ],
        className="yw-brand",
    )
    controls = html.Div(
        [
            html.Label(
                [
                    html.Span(t("header.period", lang), className="yw-control-label"),
                    dcc.Dropdown(
                        id=ids.PERIOD,
                        options=[{"label": label, "value": pid} for pid, label in period_options],
                        value=period,
                        clearable=False,
                        searchable=False,
                        className="yw-period",
                    ),
                ],
                className="yw-control",
            ),
            dcc.RadioItems(
                id=ids.LANG,
                # each language named in itself, tagged so (a Chinese name on the English page)
                options=[
                    {"label": html.Span("中文", lang="zh-CN"), "value": "zh"},
                    {"label": html.Span("EN", lang="en"), "value": "en"},
                ],
                value=lang,
                inline=True,
                className="yw-lang",
                inputClassName="yw-lang-input",
                labelClassName="yw-lang-option",
            ),
            html.Div(
                [
                    html.Div([html.Span(t("header.as_of", lang)), html.B(as_of)]),
                    html.Div([html.Span(t("header.built", lang)), html.Span(built)]),
                    *(
                        [
                            dcc.Link(
                                t("header.quality", lang),
                                href=routes.with_query("/quality", lang=lang),
                                id=ids.QUALITY_LINK,
                                className="yw-quality-link",
                            )
                        ]
                        if show_quality
                        else []
                    ),
                ],
                id=ids.AS_OF,
                className="yw-stamp",
            ),
        ],
        className="yw-controls",
    )
    if account is not None:
        controls.children.append(account)
    return html.Header([title, controls], className="yw-header")


def account_menu(user: str, role_label: str, lang: Lang) -> html.Form:
    """Who is signed in and a sign-out button (a plain POST form: works without scripts)."""
    return html.Form(
        [
            html.Span(user, className="yw-account-user", lang="zxx"),
            html.Span(role_label, className="yw-account-role"),
            html.Button(t("auth.logout", lang), type="submit", className="yw-account-logout"),
        ],
        action="/logout",
        method="POST",
        id=ids.ACCOUNT,
        className="yw-account",
        title=t("auth.signed_in_as", lang),
    )
