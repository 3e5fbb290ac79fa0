"""Ranking table of child units, worst worry first; names link one level down."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from dashboard import ids
from dashboard.components.panels import attributes
from dashboard.figures import worry_color
from dashboard.fmt import fmt_index, fmt_int, fmt_pct, is_missing
from dashboard.i18n import Lang, t

_COLUMNS = (
    ("col.rank", "yw-col-rank"),
    ("col.name", "yw-col-name"),
    ("col.requests", "yw-num"),
    ("col.open", "yw-num"),
    ("col.overdue", "yw-num"),
    ("col.completion", "yw-num"),
    ("col.satisfaction", "yw-num"),
    ("col.worry", "yw-num yw-col-worry"),
)


def _worry_badge(value: object) -> html.Span:
    if is_missing(value):
        return html.Span(fmt_index(value), className="yw-badge yw-badge-na")
    return html.Span(
        fmt_index(value), className="yw-badge", style={"backgroundColor": worry_color(value)}
    )


def ranking_table(
    rows: pd.DataFrame,
    *,
    names: Sequence[str],
    hrefs: Sequence[str | None],
    lang: Lang,
    footnote: str | None = None,
) -> html.Div:
    """Return the ranking of child units as an HTML table.

    Parameters
    ----------
    rows
        Output of :func:`dashboard.data.child_kpis` (already ranked).
    names
        Display name per row (in ``lang``).
    hrefs
        Link per row to the child's cockpit; ``None`` renders plain text (grids).
    lang
        Header language.
    footnote
        Small print under the table (e.g. the unassigned-requests note on the city page).

    Returns
    -------
    dash.html.Div
        ``id = ids.RANKING``.
    """
    head = html.Thead(html.Tr([html.Th(t(key, lang), className=cls) for key, cls in _COLUMNS]))
    body_rows: list[Component] = []
    for i, (row, name, href) in enumerate(
        zip(rows.itertuples(index=False), names, hrefs, strict=True), start=1
    ):
        label: Component | str = dcc.Link(name, href=href) if href else name
        body_rows.append(
            html.Tr(
                [
                    html.Td(str(i), className="yw-col-rank"),
                    html.Td(label, className="yw-col-name", title=name),
                    html.Td(fmt_int(row.requests), className="yw-num"),
                    html.Td(fmt_int(row.open), className="yw-num"),
                    html.Td(fmt_int(row.overdue), className="yw-num yw-overdue"),
                    html.Td(fmt_pct(row.completion_rate), className="yw-num"),
                    html.Td(fmt_pct(row.satisfaction_rate), className="yw-num"),
                    html.Td(_worry_badge(row.worry_index), className="yw-num yw-col-worry"),
                ],
                **attributes({"data-unit": str(row.unit_id)}),
            )
        )
    if not body_rows:
        body_rows.append(
            html.Tr(html.Td(t("ranking.empty", lang), colSpan=len(_COLUMNS), className="yw-muted"))
        )
    children: list[Component] = [
        html.Div(
            html.Table([head, html.Tbody(body_rows)], className="yw-table"),
            className="yw-table-wrap",
        )
    ]
    if footnote:
        children.append(html.Div(footnote, id=ids.UNASSIGNED, className="yw-footnote"))
    return html.Div(children, id=ids.RANKING, className="yw-ranking")
