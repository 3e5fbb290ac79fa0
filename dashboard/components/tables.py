"""A plain HTML table for lists (SLA lists, league tables, rankings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from dash import html
from dash.development.base_component import Component

from dashboard import fmt
from dashboard.components.panels import attributes

Cell = Component | str
C = TypeVar("C", bound=Component)

#: Per component class, the attributes every instance gets from its constructor.
_BASE: dict[type, dict[str, Any]] = {}


def quick(cls: type[C], **props: Any) -> C:
    """``cls(**props)`` without Dash's per-prop checks, for the cells of long tables.

    Dash's constructor validates each keyword (its name, a component in a non-children
    prop, the id) and costs ~40 µs a component: 1,700 cells were 60 ms of the SLA view on
    a busy machine. Cells pass fixed, valid props, so the instance is assembled from the
    attributes any instance of ``cls`` has plus ``props`` (the same attributes a
    constructed one has, so the same JSON; ``tests/dashboard/test_quick_cells.py``).
    """
    base = _BASE.get(cls)
    if base is None:
        base = _BASE[cls] = dict(vars(cls()))
    obj = cls.__new__(cls)
    obj.__dict__.update(base)
    obj.__dict__.update(props)
    return obj


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
            quick(html.Td, children=cell, className=cls, lang="zxx")
            if "yw-col-id" in cls
            else quick(html.Td, children=cell, className=cls)
            for cell, (_, cls) in zip(row, columns, strict=True)
        ]
        extra = attributes({"data-key": row_keys[i]}) if row_keys is not None else {}
        body.append(quick(html.Tr, children=cells, **extra))
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
