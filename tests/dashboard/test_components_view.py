"""The component layer (``?view=components``) over the small built city.

Checks what a user sees against the warehouse and the notebook API: a map layer per kind
with state colours and a tooltip naming owner, property unit and maintainer; the ``kind``
filter and a friendly note for an unknown kind; the health table, the alarm and link lists;
both languages; and a payload kept small where a unit holds tens of thousands of components.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dashboard import component_figures, components_view, ids
from dashboard.i18n import t
from pipelines import api, component_queries
from pipelines.settings import Settings

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def notebook(city_data: Settings) -> Settings:
    api.connect(city_data.data_dir)
    return city_data


def find(tree: Any, component_id: str) -> Any:
    for node in [tree, *tree._traverse()]:
        if getattr(node, "id", None) == component_id:
            return node
    raise AssertionError(f"{component_id} not on the page")


def page_of(layout_of, unit, **query) -> Any:
    kwargs = {} if unit.level == "city" else {"unit_id": unit.unit_id}
    return layout_of(unit.level, view="components", period="last30", **kwargs, **query)


def layers(figure: dict, role: str | None = None) -> list[dict]:
    return [
        tr
        for tr in figure["data"]
        if isinstance(tr.get("meta"), dict) and (role is None or tr["meta"]["role"] == role)
    ]


def kpi(tree: Any, key: str) -> str:
    for node in find(tree, ids.COMP_KPIS)._traverse():
        if getattr(node, "data-kpi", None) == key:
            return str(getattr(node, "data-value"))
    raise AssertionError(key)


def test_every_level_draws_one_legend_layer_per_kind_dots_below_cells_above(
    layout_of, units, notebook
):
    kinds = set(api.components()["kind"])
    for level, unit in units.items():
        page = page_of(layout_of, unit)
        figure = find(page, ids.MAP).figure
        count = int(kpi(page, "components").replace(",", ""))
        role = "components" if count <= components_view.POINT_LIMIT else "cells"
        drawn = layers(figure, role)
        assert {tr["meta"]["kind"] for tr in drawn} == kinds, level
        assert all(tr.get("showlegend", True) for tr in drawn)
        rings = layers(figure, "ring")
        assert {tr["legendgroup"] for tr in rings} == kinds  # toggled with their kind
        assert not any(tr["showlegend"] for tr in rings)
    assert layers(find(page_of(layout_of, units["city"]), ids.MAP).figure, "cells")
    assert layers(find(page_of(layout_of, units["community"]), ids.MAP).figure, "components")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dots_are_coloured_by_state_and_the_tooltip_names_owner_property_and_maintainer(
    layout_of, units, notebook, lang
):
    unit = units["community"]  # a few hundred components: one dot each
    page = page_of(layout_of, unit, lang=lang)
    figure = find(page, ids.MAP).figure
    register = api.components("community", unit.unit_id).set_index("component_id")
    seen = 0
    for trace in layers(figure, "components"):
        for label in ("owner", "property_unit", "maintainer", "status", "last_alarm"):
            assert t(f"comp.hover.{label}", lang) in trace["hovertemplate"]
        for row, color in zip(trace["customdata"], trace["marker"]["color"], strict=True):
            comp = register.loc[row[0]]
            assert row[3:6] == [comp["owner"], comp["property_unit"], comp["maintainer"]]
            state = "alarming" if comp["alarming"] else comp["status_class"]
            assert color == component_figures.STATUS_COLORS[state]
            assert row[2] == t(f"comp.status.{state}", lang)
            assert row[1] == comp["kind_en" if lang == "en" else "kind_zh"]
            seen += 1
    located = register[register["lng"].notna()]
    assert seen == len(located)
    alarming = located[located["alarming"]]
    assert sum(len(tr["lon"]) for tr in layers(figure, "ring")) == len(alarming)


def test_kind_filter_draws_one_kind_and_counts_only_it(layout_of, units, notebook):
    unit = units["district"]
    kind = str(api.components()["kind"].iloc[0])
    page = page_of(layout_of, unit, kind=kind)
    figure = find(page, ids.MAP).figure
    assert {tr["meta"]["kind"] for tr in layers(figure)} == {kind}
    register = api.components("district", unit.unit_id, kind=kind)
    assert kpi(page, "components") == f"{len(register):,}"
    current = [
        n.children
        for n in find(page, ids.COMP_KINDS)._traverse()
        if "yw-comp-kind-on" in str(getattr(n, "className", ""))
    ]
    assert current == [register["kind_zh"].iloc[0]]
    health = api.component_health("street", "last30", parent_id=unit.unit_id, kind=kind)
    table = find(page, ids.COMP_HEALTH)
    keys = [getattr(tr, "data-key") for tr in table._traverse() if hasattr(tr, "data-key")]
    assert keys == list(health["unit_id"])


@pytest.mark.parametrize("odd", ["no-such-kind", "<b>路灯</b>", " "])
def test_an_unknown_kind_shows_a_friendly_note_and_every_kind(
    layout_of, units, notebook, texts_in, odd
):
    page = page_of(layout_of, units["district"], kind=odd, lang="en")
    figure = find(page, ids.MAP).figure
    assert {tr["meta"]["kind"] for tr in layers(figure)} == set(api.components()["kind"])
    if odd.strip():
        note = find(page, ids.COMP_NOTE)
        assert odd in note.children and "no component type" in note.children
    assert ids.COMP_EMPTY not in {getattr(n, "id", None) for n in page._traverse()}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_views_own_text_is_in_the_pages_language(layout_of, units, notebook, texts_in, lang):
    page = page_of(layout_of, units["district"], lang=lang)
    parts = [find(page, i) for i in (ids.COMP_KPIS, ids.COMP_KINDS, ids.COMP_HEALTH)]
    parts += [find(page, i) for i in (ids.COMP_ALARMS, ids.COMP_LINKS)]
    text = " ".join(texts_in(p) for p in parts)
    names = [tr["name"] for tr in layers(find(page, ids.MAP).figure, "components")]
    names += [tr["name"] for tr in layers(find(page, ids.MAP).figure, "cells")]
    for key in ("comp.kpi.components", "comp.kind.all", "comp.col.failures"):
        assert t(key, lang) in text
    if lang == "en":
        assert not CJK.search(text), CJK.findall(text)[:10]
        assert not any(CJK.search(n) for n in names)
    else:
        assert all(CJK.search(n) for n in names)


def test_cells_keep_the_city_payload_small_and_account_for_every_located_component(
    layout_of, units, notebook
):
    page = page_of(layout_of, units["city"])
    figure = find(page, ids.MAP).figure
    cells = layers(figure, "cells")
    markers = sum(len(tr["lon"]) for tr in cells)
    assert markers <= components_view.CELL_MARKERS
    counted = sum(int(tr["name"].rsplit("(", 1)[1].rstrip(")").replace(",", "")) for tr in cells)
    located = api.components()
    assert counted == located["lng"].notna().sum()
    size = len(json.dumps(figure, ensure_ascii=False).encode())
    print(f"city component map: {markers} markers, {size / 1024:.0f} KB")
    assert size < 600_000


def test_health_table_and_kpis_equal_the_notebook_api(layout_of, units, notebook):
    unit = units["district"]
    page = page_of(layout_of, unit)
    own = api.component_health("district", "last30", unit_id=unit.unit_id).iloc[0]
    assert kpi(page, "failures") == f"{own['failures']:,}"
    assert kpi(page, "repeat_components") == f"{own['repeat_components']:,}"
    assert kpi(page, "alarming") == f"{own['alarming']:,}"
    kids = api.component_health("street", "last30", parent_id=unit.unit_id)
    table = find(page, ids.COMP_HEALTH)
    keys = [getattr(tr, "data-key") for tr in table._traverse() if hasattr(tr, "data-key")]
    assert keys == list(kids["unit_id"])
    assert kids["failures"].is_monotonic_decreasing


def test_the_link_list_shows_request_component_and_distance(layout_of, units, notebook, texts_in):
    page = layout_of("city", view="components", period="last365", lang="en")
    table = find(page, ids.COMP_LINKS)
    keys = [getattr(tr, "data-key") for tr in table._traverse() if hasattr(tr, "data-key")]
    assert len(keys) == components_view.LIST_ROWS
    facts = api.requests(period="last365").set_index("request_id").loc[keys]
    assert set(facts["link_method"]) <= {"sensor", "nearest"}
    text = texts_in(table)
    for rid, row in facts.iterrows():
        assert f"→ {row['linked_component_id']}" in text, rid
        if row["link_method"] == "nearest":
            assert f"{row['link_distance_m']:.0f} m" in text
    alarms = find(page, ids.COMP_ALARMS)
    assert len([n for n in alarms._traverse() if hasattr(n, "data-key")]) > 0


def test_a_build_without_component_marts_gets_a_friendly_empty_state(
    layout_of, units, notebook, monkeypatch
):
    monkeypatch.setattr(component_queries, "available", lambda con: False)
    page = page_of(layout_of, units["city"])
    assert ids.COMP_EMPTY in {getattr(n, "id", None) for n in page._traverse()}
