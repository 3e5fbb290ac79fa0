"""Publishing is atomic: a failed or killed build leaves the previous warehouse serving."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from pipelines import catalog
from pipelines.settings import Settings
from pipelines.stages import STAGES, publish, run_all


@pytest.fixture
def city_copy(built_city: Settings, tmp_path) -> Settings:
    """A private copy of the built small city, so tests can break builds freely."""
    shutil.copytree(built_city.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("tmp"))
    return Settings.from_env(environ={}, data_dir=tmp_path / "data", memory_limit="1GB")


def served(settings: Settings) -> tuple[str, bool]:
    name = publish.current_build(settings)
    assert name is not None
    return name, (catalog.path(settings, "warehouse_builds") / f"{name}.duckdb").is_file()


def test_an_unchanged_source_is_not_rebuilt(city_copy):
    before = served(city_copy)
    report = run_all(city_copy, skip_if_fresh=True)
    assert report["skipped"] is True
    assert served(city_copy) == before


def test_a_crash_during_aggregation_keeps_the_old_build_serving(city_copy, monkeypatch):
    before = served(city_copy)

    def boom(con, settings):
        raise RuntimeError("killed mid-build")

    broken = tuple((n, boom if n == "aggregate" else f) for n, f in STAGES)
    monkeypatch.setattr("pipelines.stages.STAGES", broken)
    with pytest.raises(RuntimeError, match="killed"):
        run_all(city_copy)
    assert served(city_copy) == before


def test_a_build_that_does_not_reconcile_is_not_published(city_copy, monkeypatch):
    before = served(city_copy)
    monkeypatch.setattr(publish, "check_reconciliation", lambda con: ["district/last7: 1 vs 2"])
    with pytest.raises(publish.PublishError, match="do not reconcile"):
        run_all(city_copy)
    assert served(city_copy) == before
    leftovers = list(catalog.path(city_copy, "warehouse_builds").glob("*.partial"))
    assert len(leftovers) == 1  # kept for inspection, removed by the next publish


def state_hash(settings: Settings) -> dict[str, str]:
    """Order-independent content hash of every served table except the build's metadata."""
    name, _ = served(settings)
    path = catalog.path(settings, "warehouse_builds") / f"{name}.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {
            t: con.execute(
                f"SELECT md5(string_agg(x::VARCHAR, '|' ORDER BY x::VARCHAR)) FROM {t} AS x"
            ).fetchall()[0][0]
            for t in sorted(tables)
            if t != "meta"
        }


def test_a_rebuild_of_the_same_inputs_publishes_an_identical_warehouse(city_copy):
    first, _ = served(city_copy)
    before = state_hash(city_copy)
    run_all(city_copy)
    second, exists = served(city_copy)
    assert exists and second != first
    assert state_hash(city_copy) == before
    run_all(city_copy)
    builds = sorted(p.stem for p in catalog.path(city_copy, "warehouse_builds").glob("*.duckdb"))
    assert len(builds) == city_copy.keep_builds


def test_the_same_batch_delivered_twice_leaves_every_mart_identical(city_copy):
    before = state_hash(city_copy)
    raw = catalog.raw_dir(city_copy) / "requests"
    for name in ("requests_000.parquet", "events_000.parquet"):
        shutil.copy(raw / name, raw / name.replace("_000", "_000_again"))
    run_all(city_copy)
    after = state_hash(city_copy)
    # the copies are quarantined as DUPLICATE_ROW (counted on the quality page) ...
    assert after.pop("quality") != before.pop("quality")
    assert after.pop("quarantine") != before.pop("quarantine")
    # ... and nothing a cockpit shows moves
    assert after == before
    quarantine = catalog.path(city_copy, "quarantine")
    q = duckdb.sql(
        f"SELECT dataset, reason, count(*) FROM read_parquet('{quarantine}')"
        " WHERE reason = 'DUPLICATE_ROW' GROUP BY ALL ORDER BY 1"
    ).fetchall()
    n_requests = duckdb.sql(f"SELECT count(*) FROM read_parquet('{raw / 'requests_000.parquet'}')")
    assert q[1][2] == n_requests.fetchall()[0][0]
