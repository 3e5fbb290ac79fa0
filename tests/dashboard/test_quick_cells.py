"""Table cells built without Dash's checks are the components Dash's constructor makes."""

from __future__ import annotations

from typing import Any

import pytest
from dash import html

from dashboard import serialise
from dashboard.components import tables


@pytest.mark.parametrize(
    ("cls", "props"),
    [
        (html.Td, {"children": "12", "className": "yw-num"}),
        (html.Td, {"children": "2026-0001", "className": "yw-col-id", "lang": "zxx"}),
        (html.Td, {"children": html.Span("城管", lang="zh"), "className": "yw-col-name"}),
        (html.Td, {"children": None, "className": ""}),
        (html.Tr, {"children": [html.Td("a")], "data-key": "R1"}),
    ],
)
def test_a_quick_cell_equals_a_constructed_one(cls: Any, props: dict[str, Any]):
    quick = tables.quick(cls, **props)
    made = cls(**props)
    assert type(quick) is type(made)
    assert vars(quick) == vars(made)
    assert serialise.to_json(quick) == serialise.to_json(made)


def test_a_table_of_quick_cells_encodes_like_one_of_constructed_cells(monkeypatch):
    columns = [("id", "yw-col-id"), ("name", "yw-col-name"), ("n", "yw-num")]
    rows: list[list[tables.Cell]] = [["R1", html.Span("王", lang="zh"), "3"], ["R2", "road", "4"]]
    quick = tables.simple_table(
        columns, rows, component_id="t", empty_text="-", row_keys=["a", "b"]
    )
    monkeypatch.setattr(tables, "quick", lambda cls, **props: cls(**props))
    made = tables.simple_table(columns, rows, component_id="t", empty_text="-", row_keys=["a", "b"])
    assert serialise.to_json(quick) == serialise.to_json(made)

    # tests walk rendered trees: the quick cells are found like constructed ones
    def cells(table: Any) -> list[Any]:
        return [c.children for c in table._traverse() if isinstance(c, html.Td)]

    assert cells(quick) == cells(made)
