"""The export routes and menu (``dashboard.export``) through Flask's test client.

Every export and format answers with an attachment named after the unit; bad parameters
are 400s that say what is allowed; and the code the "open as code" panel shows, executed
like a notebook would, returns exactly the rows of every download the menu links to.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import geopandas as gpd
import pandas as pd
import pytest

from dashboard import data, export, ids, routes
from pipelines import api
from pipelines import export as core
from pipelines.settings import Settings
from tests.signin import sign_in


@pytest.fixture
def client(app, city_data: Settings) -> Any:
    return sign_in(app.server.test_client(), city_data, "admin")


@pytest.fixture
def notebook(city_data: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A notebook's environment: ``api.connect()`` finds the served city's data folder."""
    monkeypatch.setenv("YIWANG_DATA_DIR", str(city_data.data_dir))
    api.connect(city_data.data_dir)
    return city_data


def _links(menu: Any) -> dict[str, Any]:
    """``{"requests-all.csv": <a>, ...}``: the menu's download links by ``data-export``."""
    return {
        str(getattr(node, "data-export")): node
        for node in menu._traverse()
        if getattr(node, "data-export", None) is not None
    }


def _snippet(menu: Any) -> str:
    for node in menu._traverse():
        if getattr(node, "id", None) == ids.EXPORT_SNIPPET:
            return str(node.children.children)
    raise AssertionError("no snippet in the menu")


def _read(body: bytes, fmt: str) -> pd.DataFrame:
    if fmt == "parquet":
        return gpd.read_parquet(io.BytesIO(body))
    return pd.read_csv(io.BytesIO(body), encoding="utf-8-sig", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("what", export.WHAT)
@pytest.mark.parametrize("fmt", export.FORMATS)
def test_every_export_is_an_attachment_named_after_the_unit(client, units, what, fmt):
    street = units["street"]
    url = export.export_href(what, fmt, unit_id=street.unit_id, period="last365", lang="zh")
    response = client.get(url)
    assert response.status_code == 200, response.data
    assert response.mimetype == core.MEDIA_TYPES[fmt].split(";")[0]
    disposition = response.headers["Content-Disposition"]
    plain = re.search(r'filename="([^"]+)"', disposition)
    named = re.search(r"filename\*=UTF-8''(\S+)$", disposition)
    assert plain and named
    assert plain.group(1).isascii() and "/" not in plain.group(1)
    assert plain.group(1).endswith(f".{fmt}") and street.unit_id in plain.group(1)
    # RFC 5987: the Chinese name percent-encoded as UTF-8
    assert named.group(1).isascii()
    assert unquote(named.group(1)).startswith(street.name_zh)
    rows = _read(response.data, fmt)
    assert len(rows) == int(response.headers["X-Export-Rows"]) > 0
    assert "X-Export-Capped" not in response.headers


def test_english_file_names_follow_the_language(client, units):
    street = units["street"]
    url = export.export_href("cells", "csv", unit_id=street.unit_id, period="last30", lang="en")
    disposition = client.get(url).headers["Content-Disposition"]
    assert unquote(disposition.split("''", 1)[1]).startswith(street.name_en)


@pytest.mark.parametrize(
    ("path", "query", "says"),
    [
        ("requests.csv", "unit=no_such_unit&period=last30", "unknown unit"),
        ("requests.csv", "period=last30", "missing parameter 'unit'"),
        ("requests.csv", "unit={street}&period=last3000", "unknown period"),
        ("requests.csv", "unit={street}", "unknown period"),
        ("people.csv", "unit={street}&period=last30", "unknown export"),
        ("requests", "unit={street}&period=last30", "unknown export"),
        ("requests.xlsx", "unit={street}&period=last30", "unknown format"),
        ("requests.csv", "unit={street}&period=last30&status=late", "unknown status"),
        ("requests.csv", "unit={street}&period=last30&kind=no_such_kind", "unknown component"),
        ("requests.csv", "unit={street}&period=last30&category=no_such_class", "unknown category"),
        ("requests.csv", "unit={street}&period=last30&by=main", "unknown hierarchy"),
        ("requests.csv", "unit={city}&period=last30&by=no_such_split", "unknown hierarchy"),
        ("requests.csv", "unit={street}&period=last30&lang=fr", "unknown lang"),
        ("requests.csv", "unit={street}&period=last30&limit=5", "unknown parameters"),
        ("units.csv", "unit={grid}&period=last30", "no child units"),
    ],
)
def test_bad_parameters_are_400s_that_say_what_is_wrong(client, units, path, query, says):
    grid = data.children(units["community"])[0]
    filled = query.format(
        street=units["street"].unit_id, city=units["city"].unit_id, grid=grid.unit_id
    )
    response = client.get(f"/export/{path}?{filled}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert says in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_selection_over_the_cap_is_capped_and_says_so(client, units, monkeypatch):
    monkeypatch.setattr(core, "ROW_CAP", 40)
    city = units["city"]
    response = client.get(
        export.export_href("requests", "csv", unit_id=city.unit_id, period="last365")
    )
    assert response.status_code == 200
    assert response.headers["X-Export-Capped"] == "40"
    assert len(_read(response.data, "csv")) == 40


@pytest.mark.parametrize(
    ("level", "view", "filters"),
    [
        ("street", "overview", {}),
        ("street", "sla", {}),
        ("community", "worry", {}),
        ("city", "overview", {}),
        ("district", "components", {"kind": "井盖"}),
    ],
)
def test_the_code_shown_returns_exactly_every_download_of_the_menu(
    client, units, notebook, level, view, filters
):
    unit = units[level]
    hierarchy = data.resolve_hierarchy(None) if level == "city" else None
    menu = export.export_menu(unit, "last365", "zh", view, hierarchy, **filters)
    code = _snippet(menu)
    assert code.splitlines()[:3] == ["from pipelines import api", "", "api.connect()"]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # as pasted into a notebook (api.connect() reads the environment)
    links = _links(menu)
    assert {key.rsplit(".", 1)[1] for key in links} == set(export.FORMATS)
    wanted = {"requests-all", "requests-open", "requests-overdue", "requests-repeat", "cells"}
    assert wanted <= {key.rsplit(".", 1)[0] for key in links}
    for key, link in links.items():
        fmt = key.rsplit(".", 1)[1]
        expected = namespace[getattr(link, "data-var")]
        response = client.get(link.href)
        assert response.status_code == 200, (key, response.data)
        if fmt == "csv":
            # the very bytes the notebook frame gives through the same writer
            assert response.data == core.to_csv(expected), key
        else:
            back = gpd.read_parquet(io.BytesIO(response.data))
            assert len(back) == len(expected), key
            columns = [c for c in expected.columns if c != "geometry"]
            pd.testing.assert_frame_equal(
                pd.DataFrame(back[columns]), pd.DataFrame(expected[columns]), obj=key
            )
        if filters.get("kind") and key.startswith("requests"):
            assert parse_qs(urlparse(link.href).query)["kind"] == [filters["kind"]]


def test_every_cockpit_view_has_the_export_menu(layout_of, ids_in, units):
    for view in routes.VIEWS:
        page = layout_of("street", unit_id=units["street"].unit_id, period="last30", view=view)
        assert {ids.EXPORT_MENU, ids.EXPORT_CODE, ids.EXPORT_SNIPPET} <= ids_in(page), view


def test_the_menu_speaks_the_page_language(units, texts_in):
    street = units["street"]
    zh = texts_in(export.export_menu(street, "last30", "zh", "overview", None))
    en = texts_in(export.export_menu(street, "last30", "en", "overview", None))
    assert "导出" in zh and "以代码打开" in zh
    assert "Export" in en and "Open as code" in en
    assert not re.search(r"[\u4e00-\u9fff]", en.replace(street.name_zh, ""))


def test_a_leaf_unit_offers_no_child_units(units):
    grid = data.children(units["community"])[0]
    keys = _links(export.export_menu(grid, "last30", "zh", "overview", None))
    assert keys and not any(k.startswith("units.") for k in keys)


def test_the_sla_views_open_lists_export_what_is_open_now_whatever_its_intake(units, notebook):
    street = units["street"]
    links = _links(export.export_menu(street, "last30", "zh", "sla", None))
    for key in ("requests-open.csv", "requests-overdue.parquet"):
        assert parse_qs(urlparse(links[key].href).query)["period"] == [core.ANY_PERIOD]
        assert "period=" not in links[key].title  # the quoted call has no period
    for key in ("requests-all.csv", "requests-long_unresolved.csv"):
        assert parse_qs(urlparse(links[key].href).query)["period"] == ["last30"]
    open_now = api.requests(level="street", unit_id=street.unit_id, status="open")
    assert len(open_now) == data.sla_summary(street)["open_now"]


def test_an_unknown_kind_exports_every_kind_as_the_view_shows_them(client, units):
    district = units["district"]
    menu = export.export_menu(district, "last30", "zh", "components", None, kind="no-such-kind")
    for key, link in _links(menu).items():
        assert "kind" not in parse_qs(urlparse(link.href).query), key
        assert client.get(link.href).status_code == 200, key
