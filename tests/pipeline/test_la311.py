"""Los Angeles 311, the reference real source: built from its committed spec, checked
against LA's own council and district codes, with every row accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines import catalog
from pipelines.cli import LA_SPEC
from pipelines.settings import Settings
from pipelines.stages import run_all
from tests.conftest import shared_data

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def la(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The LA warehouse, built once for the module from sources/la-311/source.toml."""
    shared_data("la-311", "requests", "la311_requests_union.csv")
    settings = Settings.from_env(
        environ={}, data_dir=tmp_path_factory.mktemp("la311"), source=LA_SPEC, memory_limit="2GB"
    )
    run_all(settings)
    return settings


@pytest.fixture(scope="module")
def warehouse(la: Settings) -> duckdb.DuckDBPyConnection:
    name = catalog.path(la, "warehouse_current").read_text().strip()
    return duckdb.connect(
        str(catalog.path(la, "warehouse_builds") / f"{name}.duckdb"), read_only=True
    )


def manifest(settings: Settings) -> dict:
    return json.loads(catalog.path(settings, "ingest_manifest").read_text(encoding="utf-8"))


def _agreement(la: Settings, hierarchy: str, prefix: str, code_column: str) -> tuple[int, int, int]:
    """(agreeing, requests whose own code is a unit of the layer, all geocoded requests)."""
    csv = shared_data("la-311", "requests", "la311_requests_union.csv")
    place = catalog.path(la, "int_request_place")
    units = catalog.path(la, "stg_units")
    return duckdb.sql(
        f"""
        WITH r AS (
            SELECT sr_number, {code_column} AS code, latitude
            FROM read_csv('{csv}', all_varchar = true)
            WHERE latitude IS NOT NULL
        ),
        known AS (SELECT unit_id FROM read_parquet('{units}'))
        SELECT
            count(*) FILTER (WHERE p.leaf_id = '{prefix}' || r.code),
            count(*) FILTER (WHERE '{prefix}' || r.code IN (SELECT unit_id FROM known)),
            count(*)
        FROM r
        JOIN read_parquet('{place}') AS p
          ON p.request_id = r.sr_number AND p.hierarchy = '{hierarchy}'
        """
    ).fetchall()[0]


def test_point_in_polygon_agrees_with_las_own_neighborhood_council_codes(la):
    agree, known, geocoded = _agreement(la, "main", "NC", "nc_code")
    share = agree / known
    print(
        f"\nLA nc_code agreement: {agree:,} / {known:,} = {share:.2%} of geocoded requests whose "
        f"nc_code is a council of the 2019 layer ({agree / geocoded:.2%} of all {geocoded:,})"
    )
    assert geocoded == 37_128
    assert share >= 0.985


def test_point_in_polygon_agrees_with_las_own_council_district_codes(la):
    agree, known, geocoded = _agreement(la, "council", "CD", "council_district")
    share = agree / known
    print(
        f"\nLA council_district agreement: {agree:,} / {known:,} = {share:.2%} "
        f"({agree / geocoded:.2%} of all {geocoded:,} geocoded)"
    )
    assert known == geocoded
    assert share >= 0.995


def test_every_request_and_derived_event_is_accounted_for(la):
    m = manifest(la)["inputs"]
    requests = m["requests"]
    assert requests["rows_in"] == 39_999
    assert requests["rows_in"] == requests["accepted"] + sum(requests["quarantined"].values())
    events = m["request_events"]
    assert events["derived_from"] == "requests.status"
    assert events["rows_in"] == requests["accepted"]
    assert events["rows_in"] == events["accepted"] + sum(events["quarantined"].values())
    # 48 requests close before they were created (at midnight of the creation day)
    assert events["flagged"]["time_order"] == 48
    # a closed status without a close time cannot be trusted as a close
    assert set(events["quarantined"]) <= {"MISSING_TIMESTAMP", "BAD_TIMESTAMP"}


def test_the_hierarchies_have_the_official_unit_counts(la, warehouse):
    counts = dict(warehouse.execute("SELECT level, count(*) FROM dim_unit GROUP BY ALL").fetchall())
    # 99 councils in the layer, one quarantined: it repeats another council's nc_id
    assert counts == {"city": 1, "region": 12, "nc": 98, "council_district": 15}
    q = duckdb.sql(
        f"SELECT dataset, reason FROM read_parquet('{catalog.path(la, 'quarantine')}') "
        "WHERE dataset LIKE 'boundary_%'"
    ).fetchall()
    assert q == [("boundary_nc", "DUPLICATE_ID")]
    levels = warehouse.execute(
        "SELECT level, hierarchy, depth, child_level FROM dim_level ORDER BY sort_order"
    ).fetchall()
    assert levels == [
        ("city", None, 0, "region"),
        ("region", "main", 1, "nc"),
        ("nc", "main", 2, None),
        ("council_district", "council", 1, None),
    ]


def test_every_level_of_both_hierarchies_sums_to_the_city(warehouse):
    rows = warehouse.execute(
        """
        SELECT k.period_id, k.level, sum(k.requests), any_value(c.requests)
        FROM mart_unit_kpi AS k
        JOIN mart_unit_kpi AS c
          ON c.level = 'city' AND c.period_id = k.period_id
        WHERE k.level <> 'city'
        GROUP BY ALL
        """
    ).fetchall()
    assert rows and all(total == city for _, _, total, city in rows)


def test_the_city_heatmap_drills_into_each_hierarchys_top_level(warehouse):
    rows = warehouse.execute(
        """
        SELECT m.hierarchy, u.level, count(*)
        FROM mart_hex AS m JOIN dim_unit AS u ON u.unit_id = m.child_id
        WHERE m.level = 'city' AND m.period_id = 'last365'
        GROUP BY ALL ORDER BY 1
        """
    ).fetchall()
    assert [(h, lvl) for h, lvl, _ in rows] == [("council", "council_district"), ("main", "region")]


def test_council_districts_get_a_population_from_the_council_census(warehouse):
    pops = warehouse.execute(
        "SELECT level, sum(population), min(population) FROM dim_unit "
        "WHERE level IN ('nc', 'council_district') GROUP BY ALL ORDER BY 1"
    ).fetchall()
    (cd_level, cd_total, cd_min), (nc_level, nc_total, _) = pops
    assert (cd_level, nc_level) == ("council_district", "nc")
    assert cd_min > 100_000  # each district has about 260 k residents
    # the districts' residents come off the councils' surface; gaps hold no council census
    assert cd_total == pytest.approx(nc_total, rel=0.01)


def test_components_from_two_layers_are_kept_with_their_kind(warehouse):
    kinds = dict(
        warehouse.execute("SELECT kind, count(*) FROM dim_component GROUP BY ALL").fetchall()
    )
    assert kinds == {"停车咪表传感器": 8_937, "交通流量计数站": 6_820}


def test_the_la_spec_needs_no_code_only_files(la):
    spec_text = Path(LA_SPEC).read_text(encoding="utf-8")
    assert "[[boundaries.levels]]" in spec_text and "[requests.statuses]" in spec_text


def test_figures_la_does_not_record_are_missing_not_zero_or_perfect(warehouse):
    # LA's extracts have no acceptance events, ratings, reopens or dispatch levels: the
    # three rates and the dispatch split must be NULL ("—"), never 0 % or 100 %.
    row = warehouse.execute(
        """
        SELECT response_rate, resolution_rate, satisfaction_rate, dispatch_district_share,
               on_time_rate, completion_rate
        FROM mart_unit_kpi WHERE level = 'city' AND period_id = 'all'
        """
    ).fetchall()[0]
    assert row[:4] == (None, None, None, None)
    assert 0.5 < row[4] < 1 and 0.5 < row[5] < 1  # closures and due times are recorded
    late, open_ = warehouse.execute(
        "SELECT count(*) FILTER (WHERE response_overdue), count(*) FILTER (WHERE is_open)"
        " FROM fact_request"
    ).fetchall()[0]
    assert late == 0 and open_ > 0
