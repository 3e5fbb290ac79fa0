"""Open311 GeoReport v2: a ``requests.json`` export is read with ``format = "open311"``."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines import catalog
from pipelines.settings import Settings
from pipelines.stages import run_all

COMMON = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs" / "common"
AT = {"lat": 22.5254321, "long": 114.0312345}  # inside grid D1S1C1G1 of the fixture city

SPEC = f"""
[source]
name = "Open311 GeoReport v2 export"
timezone = "Asia/Shanghai"
city_id = "440399"
city_name = "样例市"

[boundaries]
coord_sys = "WGS84"

[boundaries.files]
district = "{COMMON.as_posix()}/district.geojson"
street = "{COMMON.as_posix()}/street.geojson"
community = "{COMMON.as_posix()}/community.geojson"
grid = "{COMMON.as_posix()}/grid.geojson"

[categories]
file = "{COMMON.as_posix()}/categories.csv"

[requests]
format = "open311"
files = "requests.json"

# the endpoint's own service codes onto the category table's
[requests.event_types]
"SL" = "01.01.01.1"
"""

# GeoReport v2 service requests, as GET /requests.json returns them (W3C times with offsets)
REQUESTS = [
    {
        "service_request_id": "open-1",
        "status": "open",
        "service_code": "01.01.01.1",
        "service_name": "Street light fault",
        "description": "Light out",
        "requested_datetime": "2026-10-01T08:00:00-04:00",
        "updated_datetime": "2026-10-01T08:00:00-04:00",
        "address": "1 Fuhua Rd",
        **AT,
    },
    {
        "service_request_id": "closed-1",
        "status": "closed",
        "service_code": "SL",
        "requested_datetime": "2026-10-02T01:00:00Z",
        "updated_datetime": "2026-10-03T01:30:00.250Z",
        **AT,
    },
    {
        "service_request_id": "naive-time-1",
        "status": "open",
        "service_code": "01.01.01.1",
        "requested_datetime": "2026-10-02 09:00:00",
        **AT,
    },
    {
        "service_request_id": "acknowledged-1",
        "status": "acknowledged",
        "service_code": "01.01.01.1",
        "requested_datetime": "2026-10-04T09:00:00+08:00",
        **AT,
    },
    {
        "service_request_id": "no-location-1",
        "status": "open",
        "service_code": "99",
        "requested_datetime": "2026-10-05T09:00:00+08:00",
        "lat": None,
        "long": None,
    },
]


@pytest.fixture(scope="module")
def open311(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("open311")
    (root / "source.toml").write_text(SPEC, encoding="utf-8")
    (root / "requests.json").write_text(json.dumps(REQUESTS), encoding="utf-8")
    settings = Settings.from_env(
        environ={}, data_dir=root / "data", source=root / "source.toml", memory_limit="1GB"
    )
    run_all(settings, until="geoindex")
    return settings


def staged(settings: Settings, name: str) -> duckdb.DuckDBPyRelation:
    return duckdb.read_parquet(str(catalog.path(settings, name)))


def test_w3c_times_with_offsets_become_city_local_and_utc(open311):
    rows = {
        r[0]: (str(r[1]), str(r[2]))
        for r in staged(open311, "stg_requests")
        .select("request_id, created_local, created_utc")
        .fetchall()
    }
    # 08:00 at -04:00 is 12:00 UTC, 20:00 in Shanghai; "Z" is UTC
    assert rows["open-1"] == ("2026-10-01 20:00:00", "2026-10-01 12:00:00")
    assert rows["closed-1"] == ("2026-10-02 09:00:00", "2026-10-02 01:00:00")


def test_a_time_without_an_offset_is_refused_from_an_open311_source(open311):
    q = staged(open311, "quarantine").filter("dataset = 'requests'")
    assert q.select("reason").fetchall() == [("BAD_TIMESTAMP",)]
    assert "naive-time-1" in q.select("raw").fetchall()[0][0]


def test_status_and_updated_time_give_the_lifecycle(open311):
    events = dict(
        staged(open311, "stg_request_events")
        .select("request_id, event || ' ' || strftime(ts_local, '%Y-%m-%d %H:%M')")
        .fetchall()
    )
    # a closed request closes at its update time (fractional seconds dropped), local time
    assert events["closed-1"] == "closed 2026-10-03 09:30"
    assert events["open-1"] == "reported 2026-10-01 20:00"
    q = staged(open311, "quarantine").filter("dataset = 'request_events'")
    assert q.select("reason").fetchall() == [("UNKNOWN_STATUS",)]


def test_every_row_of_the_export_is_accounted_for(open311):
    manifest = json.loads(catalog.path(open311, "ingest_manifest").read_text(encoding="utf-8"))
    requests = manifest["inputs"]["requests"]
    assert requests["rows_in"] == len(REQUESTS)
    assert requests["accepted"] + sum(requests["quarantined"].values()) == len(REQUESTS)
    assert requests["flagged"]["unknown_channel"] == 0
    assert requests["flagged"]["unknown_event_type"] == 1
    place = dict(staged(open311, "int_request_place").select("request_id, leaf_id").fetchall())
    assert place["open-1"] == "D1S1C1G1"
    assert place["no-location-1"] is None


def test_service_codes_map_onto_categories_and_unread_columns_are_listed(open311):
    types = dict(
        staged(open311, "stg_requests")
        .select("request_id, event_type || '/' || event_type_raw")
        .fetchall()
    )
    assert types["closed-1"] == "01.01.01.1/SL"
    manifest = json.loads(catalog.path(open311, "ingest_manifest").read_text(encoding="utf-8"))
    # GeoReport fields the preset does not read, so a renamed column would be noticed
    assert manifest["inputs"]["requests"]["unmapped_columns"] == ["service_name"]
