"""Exports (``pipelines.export``): formula-safe CSV, valid GeoParquet, the API's own rows.

The sanitiser is tested on any text hypothesis makes up (a spreadsheet never sees a
formula start, numbers stay numbers, Chinese survives the round trip); the writers on the
small built city's real selections, read back with pandas, pyarrow and geopandas and
compared with the notebook call each export quotes.
"""

from __future__ import annotations

import codecs
import io
import json
import re

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import api, export
from pipelines.settings import Settings

#: What a spreadsheet treats as a formula start (OWASP), first or after leading whitespace.
FIRST = set("=+-@\t\r")
AFTER_SPACE = set("=+-@＝＋－＠\t\r")
#: Text without surrogates (not encodable) and without control characters other than the
#: tab, CR and LF a cell may hold; CJK, full-width forms and odd spaces included.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from(list("=+-@＝＋－＠\t\r\n '\"\u3000\u00a0市容环卫井盖")),
    ),
    max_size=24,
)


def plain_number(text: str) -> bool:
    """A number a spreadsheet reads as a number (no formula), spaces around allowed."""
    try:
        float(text.strip(" "))
    except ValueError:
        return False
    return not re.search(r"[A-Za-z_]", text) and text.strip(" ") == text.strip()


def formula_start(text: str) -> bool:
    return bool(text) and (text[0] in FIRST or text.lstrip()[:1] in AFTER_SPACE)


@pytest.fixture
def city(built_city: Settings) -> Settings:
    """The notebook API on the small city (other tests point it elsewhere)."""
    api.connect(built_city.data_dir)
    return built_city


@pytest.fixture
def street(city: Settings) -> str:
    """The street with the most requests in the last 365 days."""
    rows = api.metrics("street", "last365", ["requests"])
    return str(rows.sort_values(["requests", "unit_id"]).iloc[-1]["unit_id"])


# --- the sanitiser ------------------------------------------------------------------------


@given(TEXT)
def test_a_neutralised_cell_is_the_text_or_the_text_after_one_quote(text):
    out = export.neutralise(text)
    assert out in (text, "'" + text)


@given(TEXT)
def test_no_cell_reaches_a_spreadsheet_starting_a_formula_unless_quoted(text):
    out = export.neutralise(text)
    if formula_start(text) and not plain_number(text):
        assert out == "'" + text
    assert out.startswith("'") or not formula_start(out) or plain_number(out)


@given(TEXT.filter(lambda s: not formula_start(s)))
def test_text_without_a_formula_start_is_left_alone(text):
    assert export.neutralise(text) == text


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_written_as_text_stay_numbers(number):
    assert export.neutralise(str(number)) == str(number)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(TEXT, st.integers(-(10**12), 10**12), st.floats(-1e9, 1e9)),
        min_size=1,
        max_size=20,
    )
)
def test_csv_round_trip_keeps_text_numbers_and_chinese(rows):
    frame = pd.DataFrame(rows, columns=["text", "n", "x"]).astype({"text": "str"})
    body = export.to_csv(frame)
    assert body.startswith(codecs.BOM_UTF8)
    back = pd.read_csv(
        io.BytesIO(body),
        encoding="utf-8-sig",
        dtype={"text": "str"},
        keep_default_na=False,
    )
    assert list(back.columns) == ["text", "n", "x"]
    assert back["n"].tolist() == frame["n"].tolist()  # a negative number is no text
    assert back["x"].tolist() == pytest.approx(frame["x"].tolist())
    for sent, got in zip(frame["text"], back["text"], strict=True):
        assert got == export.neutralise(sent)
        assert not formula_start(got) or got.startswith("'") or plain_number(got)


def test_a_formula_planted_in_real_rows_is_quoted_and_the_rest_is_untouched(city, street):
    rows = api.requests(level="street", unit_id=street, period="last365", limit=50)
    assert len(rows) == 50
    planted = rows.assign(
        address=[
            '=HYPERLINK("http://x","点我")',
            " @SUM(A1)",
            "-2+3",
            "－1+1",
            *rows["address"][4:],
        ]
    )
    back = pd.read_csv(io.BytesIO(export.to_csv(planted)), encoding="utf-8-sig", dtype=str)
    assert back["address"][:4].tolist() == [
        '\'=HYPERLINK("http://x","点我")',
        "' @SUM(A1)",
        "'-2+3",
        "'－1+1",
    ]
    assert back["address"][4:].fillna("").tolist() == [
        export.neutralise(a) for a in rows["address"][4:].fillna("")
    ]
    # Chinese names arrive intact; numbers (negative ones too) are numbers
    assert back["l1_zh"].tolist() == rows["l1_zh"].tolist()
    assert pd.to_numeric(back["lng"]).tolist() == pytest.approx(rows["lng"].tolist())
    assert back["request_id"].tolist() == rows["request_id"].tolist()


# --- selections, calls and files ----------------------------------------------------------


def test_bad_selections_are_refused_with_the_allowed_values():
    with pytest.raises(export.ExportError, match="requests, cells, units"):
        export.Selection("people", "city", "x", "last30")
    with pytest.raises(export.ExportError, match="overdue"):
        export.Selection("requests", "city", "x", "last30", status="late")
    with pytest.raises(export.ExportError, match="no child units"):
        export.Selection("units", "grid", "g1", "last30")
    with pytest.raises(export.ExportError, match="for requests only"):
        export.Selection("cells", "grid", "g1", export.ANY_PERIOD)


def test_unknown_periods_kinds_and_categories_are_export_errors(city, street):
    for sel in (
        export.Selection("requests", "street", street, "last3000"),
        export.Selection("requests", "street", street, "last30", kind="no_such_kind"),
        export.Selection("requests", "street", street, "last30", category="no_such_class"),
    ):
        with pytest.raises(export.ExportError):
            export.frame(sel)


@settings(max_examples=80)
@given(unit_id=TEXT, name=st.one_of(st.none(), TEXT), status=st.sampled_from(export.STATUSES))
def test_file_names_are_bare_names_whatever_the_unit_is_called(unit_id, name, status):
    sel = export.Selection("requests", "street", unit_id or "x", "last30", status=status)
    plain, named = export.filename(sel, "csv", unit_name=name)
    assert plain.isascii() and plain.endswith(".csv")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", plain)
    for file in (plain, named):
        assert "/" not in file and "\\" not in file and not file.startswith(".")
        assert not any(ord(c) < 32 for c in file)


def test_the_cap_keeps_the_most_urgent_rows_and_says_so(city):
    sel = export.Selection("requests", "city", api.units("district")["parent_id"][0], "last365")
    rows, capped = export.frame(sel, cap=25)
    assert capped and len(rows) == 25
    expected = api.requests(level="city", unit_id=sel.unit_id, period="last365", limit=25)
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected)
    everything, capped = export.frame(sel)
    assert not capped and len(everything) > 25


def _selections(street: str) -> list[export.Selection]:
    community = api.units("community", parent_id=street)["unit_id"].iloc[0]
    return [
        export.Selection("requests", "street", street, "last365"),
        export.Selection("requests", "street", street, "last365", status="open"),
        export.Selection("requests", "street", street, "last365", status="repeat"),
        export.Selection("cells", "street", street, "last30"),
        export.Selection("cells", "community", community, "last365"),
        export.Selection("units", "street", street, "last30", child_level="community"),
    ]


def test_each_selection_runs_the_notebook_call_it_quotes(city, street):
    for sel in _selections(street):
        namespace: dict[str, object] = {}
        # the quoted line, minus api.connect() (the fixture connected to the small city)
        exec(f"from pipelines import api\n{export.call_text(sel)}", namespace)
        expected = namespace["df"]
        rows, capped = export.frame(sel)
        assert not capped
        assert len(rows) > 0, sel
        pd.testing.assert_frame_equal(pd.DataFrame(rows), pd.DataFrame(expected))


GEOMETRY_TYPES = {"requests": {"Point"}, "cells": {"Polygon"}, "units": {"Polygon", "MultiPolygon"}}


def test_geoparquet_has_valid_geo_metadata_and_reads_back_as_the_api_rows(city, street):
    for sel in _selections(street):
        rows, _ = export.frame(sel)
        body = export.to_geoparquet(rows)
        meta = json.loads(pq.read_schema(io.BytesIO(body)).metadata[b"geo"])
        assert meta["version"] == "1.0.0"
        assert meta["primary_column"] == "geometry"
        column = meta["columns"]["geometry"]
        assert column["encoding"] == "WKB"
        assert set(column["geometry_types"]) <= GEOMETRY_TYPES[sel.what]
        back = gpd.read_parquet(io.BytesIO(body))
        assert back.crs is not None and back.crs.to_epsg() == 4326
        assert len(back) == len(rows)
        west, south, east, north = column["bbox"]
        assert 73 < west <= east < 135 and 3 < south <= north < 54  # China, in WGS-84
        if sel.what == "requests":
            located = rows["lng"].notna()
            assert back.geometry[located].x.tolist() == pytest.approx(rows["lng"][located].tolist())
            assert back.geometry[~located].isna().all()
            plain = pd.DataFrame(back.drop(columns="geometry"))
            pd.testing.assert_frame_equal(plain, pd.DataFrame(rows))
        else:
            assert back.geometry.geom_equals_exact(rows.geometry, 1e-12).all()
            pd.testing.assert_frame_equal(
                pd.DataFrame(back.drop(columns="geometry")),
                pd.DataFrame(rows.drop(columns="geometry")),
            )


def test_csv_of_cells_and_units_carries_every_measure_and_wkt_polygons(city, street):
    for sel in _selections(street)[3:]:
        rows, _ = export.frame(sel)
        back = pd.read_csv(io.BytesIO(export.to_csv(rows)), encoding="utf-8-sig")
        assert list(back.columns) == list(rows.columns)
        assert len(back) == len(rows)
        assert back["geometry"].str.match(r"^(MULTI)?POLYGON \(").all()
        polygons = gpd.GeoSeries.from_wkt(back["geometry"], crs=api.CRS)
        assert polygons.geom_equals_exact(rows.geometry.reset_index(drop=True), 1e-9).all()
        if sel.what == "cells":
            for measure in ("requests", "open", "overdue", "worry_index"):
                assert back[measure].tolist() == pytest.approx(rows[measure].tolist(), nan_ok=True)
        else:
            assert back["unit_id"].astype(str).tolist() == rows["unit_id"].tolist()
            assert back["name_zh"].tolist() == rows["name_zh"].tolist()  # Chinese intact
            assert back["requests"].tolist() == rows["requests"].tolist()


def test_time_columns_are_plain_local_times(city, street):
    rows, _ = export.frame(export.Selection("requests", "street", street, "last365"))
    back = pd.read_csv(io.BytesIO(export.to_csv(rows)), encoding="utf-8-sig", dtype=str)
    assert back["created_local"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert pd.to_datetime(back["created_local"]).tolist() == rows["created_local"].tolist()
