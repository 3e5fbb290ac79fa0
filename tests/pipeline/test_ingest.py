"""Ingest: bad rows are quarantined with a reason, never dropped; bad specs fail clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import catalog
from pipelines.settings import Settings
from pipelines.sources.spec import SpecError, load_spec
from pipelines.stages import run_all


@pytest.fixture(scope="module")
def corrupted(built_city: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the small city's raw files plus one file of bad requests and events."""
    root = tmp_path_factory.mktemp("corrupted")
    raw = root / "01_raw" / "demo"
    shutil.copytree(catalog.raw_dir(built_city), raw)
    first = pd.read_parquet(raw / "requests" / "requests_000.parquet").iloc[0]
    good = first.to_dict()
    bad = [
        {**good},  # exact duplicate of an existing request
        {**good, "工单编号": None},
        {**good, "工单编号": "BAD-TS", "受理时间": "2026-13-45 25:61:00"},
        {**good, "工单编号": "NEW-CHANNEL", "来源渠道": "抖音"},
        {**good, "工单编号": "NO-COORDS", "经度": None, "纬度": None},
        {**good, "工单编号": "NULL-ISLAND", "经度": 0.0, "纬度": 0.0},
        {**good, "工单编号": "LAT-91", "纬度": 91.0},
        {**good, "工单编号": "UNKNOWN-TYPE", "事项编码": "99.99.99.9"},
        {**good, "工单编号": "DUP-FIRST-BAD", "受理时间": "not a time"},
        {**good, "工单编号": "DUP-FIRST-BAD"},  # the usable second copy must win
        {**good, "工单编号": "FUTURE", "受理时间": "2099-01-01 00:00:00"},
        {**good, "工单编号": "EPOCH", "受理时间": "1970-01-01 08:00:00"},
        {**good, "工单编号": "SWAPPED", "经度": good["纬度"], "纬度": good["经度"]},
        {**good, "工单编号": "FORMULA", "诉求内容": '=HYPERLINK("http://x","点我")'},
        {**good, "工单编号": "SCRIPT", "诉求内容": "路灯不亮<script>alert(1)</script>"},
    ]
    pd.DataFrame(bad).to_parquet(raw / "requests" / "requests_999.parquet", index=False)
    events = pd.DataFrame(
        [
            {
                "工单编号": "NEW-CHANNEL",
                "环节": "受理",
                "时间": "2026-10-01 08:00:00",
                "派发层级": None,
                "承办单位": None,
                "评价结果": None,
            },
            {
                "工单编号": "NEW-CHANNEL",
                "环节": "飞单",
                "时间": "2026-10-01 09:00:00",
                "派发层级": None,
                "承办单位": None,
                "评价结果": None,
            },
            {
                "工单编号": "GHOST",
                "环节": "办结",
                "时间": "2026-10-01 09:00:00",
                "派发层级": "区级",
                "承办单位": "x",
                "评价结果": None,
            },
            {
                "工单编号": "NEW-CHANNEL",
                "环节": "办结",
                "时间": "yesterday",
                "派发层级": "区级",
                "承办单位": "x",
                "评价结果": None,
            },
            {
                "工单编号": "NEW-CHANNEL",
                "环节": "评价",
                "时间": "2026-10-02 09:00:00",
                "派发层级": None,
                "承办单位": None,
                "评价结果": "还行",
            },
        ]
    )
    events.to_parquet(raw / "requests" / "events_999.parquet", index=False)
    settings = Settings.from_env(environ={}, data_dir=root, memory_limit="1GB")
    run_all(settings, until="geoindex")
    return settings


def manifest(settings: Settings) -> dict:
    return json.loads(catalog.path(settings, "ingest_manifest").read_text(encoding="utf-8"))


def test_bad_requests_are_quarantined_with_their_reason(corrupted, built_city):
    got = manifest(corrupted)["inputs"]["requests"]
    base = manifest(built_city)["inputs"]["requests"]
    assert got["rows_in"] == base["rows_in"] + 15
    assert got["quarantined"] == {
        "BAD_TIMESTAMP": 2,
        "DUPLICATE_ROW": 1,
        "FUTURE_TIMESTAMP": 1,
        "MISSING_ID": 1,
        "SENTINEL_TIMESTAMP": 1,
    }
    assert got["accepted"] == base["accepted"] + 9
    kept = duckdb.sql(
        f"SELECT source_row FROM read_parquet('{catalog.path(corrupted, 'stg_requests')}') "
        "WHERE request_id = 'DUP-FIRST-BAD'"
    ).fetchall()
    assert kept == [(9,)]  # the second, usable copy
    assert got["flagged"]["unknown_channel"] == 1
    assert got["flagged"]["unknown_event_type"] == 1
    assert got["flagged"]["active_content"] == base["flagged"]["active_content"] + 2


def test_quarantine_keeps_the_raw_row_and_where_it_came_from(corrupted):
    rows = duckdb.sql(
        f"SELECT dataset, reason, source_file, source_row, raw "
        f"FROM read_parquet('{catalog.path(corrupted, 'quarantine')}') "
        "WHERE dataset = 'requests' ORDER BY reason"
    ).fetchall()
    assert [r[1] for r in rows] == [
        "BAD_TIMESTAMP",
        "BAD_TIMESTAMP",
        "DUPLICATE_ROW",
        "FUTURE_TIMESTAMP",
        "MISSING_ID",
        "SENTINEL_TIMESTAMP",
    ]
    bad_ts = min(rows[:2], key=lambda r: r[3])
    assert bad_ts[2].endswith("requests_999.parquet") and bad_ts[3] == 2
    assert "2026-13-45 25:61:00" in bad_ts[4]


def test_bad_events_are_quarantined_with_their_reason(corrupted):
    got = manifest(corrupted)["inputs"]["request_events"]
    assert got["quarantined"] == {
        "BAD_TIMESTAMP": 1,
        "ORPHAN_EVENT": 1,
        "UNKNOWN_EVENT": 1,
        "UNKNOWN_RATING": 1,
    }


def test_bad_coordinates_are_kept_as_unlocated_requests(corrupted):
    geo = duckdb.sql(
        f"SELECT request_id, g.geo_status, cell, leaf_id FROM "
        f"read_parquet('{catalog.path(corrupted, 'int_request_geo')}') AS g "
        f"JOIN read_parquet('{catalog.path(corrupted, 'int_request_place')}') USING (request_id) "
        "WHERE request_id IN ('NO-COORDS', 'NULL-ISLAND', 'LAT-91') ORDER BY 1"
    ).fetchall()
    assert geo == [
        ("LAT-91", "out_of_range", 0, None),
        ("NO-COORDS", "no_location", 0, None),
        ("NULL-ISLAND", "null_island", 0, None),
    ]


def test_a_missing_required_column_fails_the_batch_with_its_name(built_city, tmp_path):
    raw = tmp_path / "01_raw" / "demo"
    shutil.copytree(catalog.raw_dir(built_city), raw)
    for f in (raw / "requests").glob("requests_*.parquet"):
        pd.read_parquet(f).drop(columns=["受理时间"]).to_parquet(f, index=False)
    settings = Settings.from_env(environ={}, data_dir=tmp_path)
    with pytest.raises(SpecError, match="受理时间"):
        run_all(settings, until="ingest")


def test_a_spec_without_a_datum_is_refused(tmp_path: Path):
    spec = tmp_path / "source.toml"
    spec.write_text(
        '[source]\nname="x"\ntimezone="Asia/Shanghai"\ncity_id="1"\ncity_name="x"\n'
        '[boundaries.files]\ndistrict="d"\nstreet="s"\ncommunity="c"\ngrid="g"\n',
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match=r"boundaries.coord_sys"):
        load_spec(spec)


def test_a_missing_spec_says_how_to_make_the_demo(tmp_path: Path):
    with pytest.raises(SpecError, match="yiwang demo"):
        load_spec(tmp_path / "nope.toml")


def test_a_gbk_component_register_is_read_and_an_undecodable_file_is_quarantined_whole(
    built_city, tmp_path
):
    raw = tmp_path / "01_raw" / "demo"
    shutil.copytree(catalog.raw_dir(built_city), raw)
    csv = raw / "components" / "components.csv"
    text = csv.read_text(encoding="utf-8")
    csv.unlink()
    (raw / "components" / "components_gbk.csv").write_bytes(text.encode("gbk"))
    header = text.splitlines()[0]
    bad = (header + "\n").encode("gbk") + "BJX1,井盖,114.0,22.5\n".encode("gbk") + b"\xff\n"
    (raw / "components" / "components_broken.csv").write_bytes(bad)
    spec = raw / "source.toml"
    spec.write_text(
        spec.read_text(encoding="utf-8")
        .replace('file = "components/components.csv"', 'files = "components/components_*.csv"')
        .replace('encoding = "utf-8"', 'encoding = "gbk"'),
        encoding="utf-8",
    )
    settings = Settings.from_env(environ={}, data_dir=tmp_path, memory_limit="1GB")
    run_all(settings, until="ingest")
    got = manifest(settings)["inputs"]["components"]
    base = manifest(built_city)["inputs"]["components"]
    assert got["accepted"] == base["accepted"]
    assert list(got["files_quarantined"]) == [str(raw / "components" / "components_broken.csv")]
    rows = duckdb.sql(
        f"SELECT reason, source_row, source_file FROM "
        f"read_parquet('{catalog.path(settings, 'quarantine')}') WHERE dataset = 'components'"
    ).fetchall()
    assert rows == [("ENCODING_ERROR", -1, str(raw / "components" / "components_broken.csv"))]
    staged = catalog.path(settings, "stg_components")
    files = duckdb.sql(f"SELECT DISTINCT source_file FROM read_parquet('{staged}')").fetchall()
    assert files == [(str(raw / "components" / "components_gbk.csv"),)]


def test_a_spec_with_an_unknown_time_zone_names_the_fix(built_city, tmp_path: Path):
    spec = tmp_path / "source.toml"
    text = (catalog.raw_dir(built_city) / "source.toml").read_text(encoding="utf-8")
    spec.write_text(text.replace('"Asia/Shanghai"', '"Beijing Time"'), encoding="utf-8")
    with pytest.raises(SpecError, match="IANA zone"):
        load_spec(spec)


def test_swapped_coordinates_are_repaired_and_land_where_the_original_does(corrupted):
    rows = {
        rid: (grid, swapped)
        for rid, grid, swapped in duckdb.sql(
            f"SELECT request_id, leaf_id, axis_swapped FROM "
            f"read_parquet('{catalog.path(corrupted, 'int_request_geo')}') AS g "
            f"JOIN read_parquet('{catalog.path(corrupted, 'int_request_place')}') AS p "
            "USING (request_id) WHERE request_id IN ('SWAPPED', 'NEW-CHANNEL')"
        ).fetchall()
    }
    assert rows["NEW-CHANNEL"][0] is not None and rows["NEW-CHANNEL"][1] is False
    assert rows["SWAPPED"] == (rows["NEW-CHANNEL"][0], True)


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_json_lines_and_json_arrays_are_read_like_csv(built_city, tmp_path, suffix):
    raw = tmp_path / "01_raw" / "demo"
    shutil.copytree(catalog.raw_dir(built_city), raw)
    csv = raw / "components" / "components.csv"
    frame = pd.read_csv(csv, dtype=str)
    csv.unlink()
    target = raw / "components" / f"components{suffix}"
    frame.to_json(target, orient="records", lines=suffix == ".jsonl", force_ascii=False)
    spec = raw / "source.toml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            "components/components.csv", f"components/{target.name}"
        ),
        encoding="utf-8",
    )
    settings = Settings.from_env(environ={}, data_dir=tmp_path, memory_limit="1GB")
    run_all(settings, until="ingest")
    got = manifest(settings)["inputs"]["components"]
    assert got["accepted"] == manifest(built_city)["inputs"]["components"]["accepted"]
    assert got["quarantined"] == {}


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Column names longer than 10:UserWarning")
@pytest.mark.parametrize("fmt", ["shp", "parquet"])
def test_boundaries_from_shapefiles_or_geoparquet_give_the_same_units(built_city, tmp_path, fmt):
    import geopandas as gpd

    raw = tmp_path / "01_raw" / "demo"
    shutil.copytree(catalog.raw_dir(built_city), raw)
    spec = raw / "source.toml"
    text = spec.read_text(encoding="utf-8")
    for level in ("district", "street", "community", "grid"):
        layer = gpd.read_file(raw / "boundaries" / f"{level}.geojson")
        target = raw / "boundaries" / f"{level}.{fmt}"
        if fmt == "shp":
            layer.to_file(target, encoding="utf-8")  # field names cut to 10 characters
        else:
            layer.to_parquet(target)
        text = text.replace(f"boundaries/{level}.geojson", f"boundaries/{level}.{fmt}")
    if fmt == "shp":
        text = text.replace('parent_field = "parent_code"', 'parent_field = "parent_cod"')
    spec.write_text(text, encoding="utf-8")
    settings = Settings.from_env(environ={}, data_dir=tmp_path, memory_limit="1GB")
    run_all(settings, until="ingest")
    got = manifest(settings)["inputs"]["boundaries"]
    want = manifest(built_city)["inputs"]["boundaries"]
    for level in ("district", "street", "community", "grid"):
        assert got[level]["accepted"] == want[level]["accepted"], level
        assert got[level]["invalid_edges"] == 0, level
