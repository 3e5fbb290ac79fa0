"""The analyst's path in Chromium: open a cockpit, download CSV and GeoParquet, open as code.

The downloads are saved by the browser (Playwright ``expect_download``) and read back: the
CSV's rows and columns equal the notebook API's for the same selection, Chinese is intact
and no cell starts a formula; the GeoParquet reads with geopandas with valid ``geo``
metadata; the code the page shows, run as a notebook would, returns the downloaded rows.
The open menu is saved as ``artifacts/screenshots/export.png``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines import api
from pipelines.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("cjk_font")]

FORMULA_FIRST = set("=+-@\t\r")
FORMULA_AFTER_SPACE = set("=+-@＝＋－＠")


def _download(page: Any, key: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.click(f'[data-export="{key}"]')
    download = info.value
    assert download.failure() is None
    path = folder / download.suggested_filename
    download.save_as(path)
    return path


def _formula_start(text: str) -> bool:
    if not text or text.startswith("'"):
        return False
    try:
        float(text)
        return False  # a number (also a negative one) is no formula
    except ValueError:
        return text[0] in FORMULA_FIRST or text.lstrip()[:1] in FORMULA_AFTER_SPACE


def test_an_analyst_downloads_the_view_and_opens_it_as_code(
    server: str,
    wall: Any,
    built_city: Settings,
    screenshots: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    api.connect(built_city.data_dir)
    ranked = api.metrics("street", "last365", ["requests"]).sort_values(["requests", "unit_id"])
    street = ranked.iloc[-1]
    unit_id, name_zh = str(street["unit_id"]), str(street["name_zh"])

    wall.goto(f"{server}/street/{unit_id}?period=last365", wait_until="networkidle")
    wall.click("#export-menu > summary")
    wall.wait_for_selector('[data-export="requests-all.csv"]', state="visible")

    # CSV: the API's rows and columns, Chinese intact, no formula reaches the spreadsheet
    csv_path = _download(wall, "requests-all.csv", tmp_path)
    assert csv_path.name.startswith(name_zh)  # the RFC 5987 name the browser chose
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    got = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    expected = api.requests(level="street", unit_id=unit_id, period="last365")
    assert len(got) == len(expected) > 0
    assert list(got.columns) == list(expected.columns)
    assert got["request_id"].tolist() == expected["request_id"].tolist()
    assert got["l1_zh"].tolist() == expected["l1_zh"].fillna("").tolist()
    assert any("\u4e00" <= c <= "\u9fff" for c in "".join(got["address"]))
    cells = [v for column in got.columns for v in got[column]]
    assert not [v for v in cells if _formula_start(v)]

    # GeoParquet: request points and heatmap cells, WGS-84, valid geo metadata
    for key, what in (("requests-all.parquet", "Point"), ("cells.parquet", "Polygon")):
        path = _download(wall, key, tmp_path)
        meta = json.loads(pq.read_schema(path).metadata[b"geo"])
        assert meta["columns"]["geometry"]["encoding"] == "WKB"
        assert meta["columns"]["geometry"]["geometry_types"] == [what]
        frame = gpd.read_parquet(path)
        assert frame.crs.to_epsg() == 4326
        if what == "Point":
            assert frame["request_id"].tolist() == expected["request_id"].tolist()
        else:
            cells_api = api.cells("street", "last365", unit_id=unit_id)
            assert frame["cell_id"].tolist() == cells_api["cell_id"].tolist()
            assert frame.geometry.geom_equals_exact(cells_api.geometry, 1e-12).all()

    # open as code: the code on the page, run as a notebook would, gives the same rows
    wall.click("#export-code > summary")
    code_box = wall.locator("#export-snippet")
    code_box.wait_for(state="visible")
    code = code_box.inner_text()
    assert f"api.requests(level='street', unit_id='{unit_id}', period='last365')" in code
    wall.screenshot(path=str(screenshots / "export.png"))
    monkeypatch.setenv("YIWANG_DATA_DIR", str(built_city.data_dir))
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    assert namespace["requests"]["request_id"].tolist() == got["request_id"].tolist()
    assert namespace["cells"]["cell_id"].tolist() == frame["cell_id"].tolist()
