"""A plain HTML table for lists (SLA lists, league tables, rankings)."""

from __future__ import annotations

from collections.abc import Sequence

from dash import html
from dash.development.base_component import Component

from dashboard import fmt
from dashboard.components.panels import attributes

Cell = Component | str


def simple_table(
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Cell]],
    *,
    component_id: str,
    empty_text: str,
    row_keys: Sequence[str] | None = None,
) -> html.Div:
    """Return a scrollable table.

    Parameters
    ----------
    columns
        ``(header text, css class)`` per column; ``yw-num`` right-aligns numbers.
    rows
        Cell contents per row (already formatted text or components). Cells of a column
        whose class includes ``yw-col-id`` are identifiers, marked ``lang="zxx"``.
    component_id
        The table's id (tests and styling).
    empty_text
        Shown in one row when there are no rows.
    row_keys
        Optional ``data-key`` per row (a request or unit id) for tests.
    """
    head = html.Thead(html.Tr([html.Th(text, className=cls) for text, cls in columns]))
    body: list[Component] = []
    for i, row in enumerate(rows):
        # identifiers (request numbers) read the same in every language: lang="zxx"
        cells = [
            html.Td(cell, className=cls, lang="zxx")
            if "yw-col-id" in cls
            else html.Td(cell, className=cls)
            for cell, (_, cls) in zip(row, columns, strict=True)
        ]
        extra = attributes({"data-key": row_keys[i]}) if row_keys is not None else {}
        body.append(html.Tr(cells, **extra))
    if not body:
        body.append(html.Tr(html.Td(empty_text, colSpan=len(columns), className="yw-muted")))
    return html.Div(
        html.Table([head, html.Tbody(body)], className="yw-table"),
        id=component_id,
        className="yw-table-wrap",
    )


def as_recorded(text: object) -> html.Span:
    """Data shown as the source recorded it (an address, an owner, a department).

    Not translated: a Chinese department stays Chinese on the English page. The span
    carries the text's own language (:func:`dashboard.fmt.text_lang`), as HTML asks, so
    fonts, screen readers and the language tests treat it as what it is.
    """
    if fmt.is_missing(text):
        return html.Span(fmt.NA)
    return html.Span(str(text), lang=fmt.text_lang(str(text)))
