"""Late data recomputes only the periods it touches, and ends where a fresh build ends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import catalog
from pipelines.demo.deliveries import add_late_batch, add_next_day
from pipelines.settings import Settings
from pipelines.stages import run_all
from tests.pipeline.test_publish import state_hash

LATE_MONTH = "2026-03"


def _copy_of(built_city: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A private copy of the small city's built data folder (the tests add raw files)."""
    data = tmp_path_factory.mktemp("late") / "data"
    shutil.copytree(built_city.data_dir, data, ignore=shutil.ignore_patterns("tmp"))
    return Settings.from_env(environ={}, data_dir=data, memory_limit="1GB")


def _built_from_nothing(settings: Settings, tmp_path: Path) -> tuple[Settings, dict]:
    """The same raw files built in a new data folder; its settings and run report."""
    fresh = Settings.from_env(environ={}, data_dir=tmp_path / "fresh", memory_limit="1GB")
    shutil.copytree(catalog.raw_dir(settings), catalog.raw_dir(fresh))
    # the same deployment's key: phone hashes are keyed, so another key is another state
    fresh.security_directory.mkdir(parents=True)
    shutil.copy(settings.security_directory / "secret.key", fresh.security_directory)
    return fresh, run_all(fresh)


@pytest.fixture(scope="module")
def late_city(
    built_city: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, dict]:
    """The small city's warehouse, then a late batch for March and an incremental build.

    Built once for the module: its two tests only read it.
    """
    settings = _copy_of(built_city, tmp_path_factory)
    assert add_late_batch(catalog.raw_dir(settings), LATE_MONTH, 50) == 50
    return settings, run_all(settings)["aggregate"]


def test_a_late_batch_recomputes_its_month_and_the_windows_holding_it(late_city):
    settings, report = late_city
    # March itself and the year holding it; April too when a late request falls in the
    # 30 days before it, which its worry trend reads
    late = pd.read_parquet(catalog.raw_dir(settings) / "requests" / "requests_late.parquet")
    created = pd.to_datetime(late["受理时间"])
    april = pd.Timestamp("2026-04-01")
    in_aprils_window = bool(((created >= april - pd.Timedelta(days=30)) & (created < april)).any())
    want = {f"m{LATE_MONTH}", "last365"} | ({"m2026-04"} if in_aprils_window else set())
    assert set(report["periods_computed"]) == want
    assert f"m{LATE_MONTH}" not in report["periods_copied"]
    assert {"last7", "last30", "m2026-10", "m2025-11"} <= set(report["periods_copied"])
    name = catalog.path(settings, "warehouse_current").read_text().strip()
    path = catalog.path(settings, "warehouse_builds") / f"{name}.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    assert json.loads(meta["periods_computed"]) == report["periods_computed"]


def test_the_incremental_build_equals_a_build_from_scratch(late_city, tmp_path):
    settings, _ = late_city
    fresh, report = _built_from_nothing(settings, tmp_path)
    assert report["aggregate"]["periods_copied"] == []  # nothing to copy from
    assert state_hash(settings) == state_hash(fresh)


@pytest.fixture(scope="module")
def next_day_city(
    built_city: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, dict]:
    """The small city's warehouse, then the next day's delivery and an incremental build.

    Built once for the module: its two tests only read it.
    """
    settings = _copy_of(built_city, tmp_path_factory)
    assert add_next_day(catalog.raw_dir(settings))["day_requests"] > 0
    return settings, run_all(settings)["aggregate"]


def test_the_next_day_recomputes_the_rolling_windows_and_its_month_only(next_day_city):
    settings, report = next_day_city
    name = catalog.path(settings, "warehouse_current").read_text().strip()
    path = catalog.path(settings, "warehouse_builds") / f"{name}.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        periods = dict(con.execute("SELECT period_id, kind FROM dim_period").fetchall())
        as_of = con.execute("SELECT max(as_of) FROM dim_period").fetchall()[0][0]
    # the new day moves the as-of time: every rolling window ends later, and the month
    # holding the new day gains requests; months that ended before both as-of times keep
    # their rows and are copied
    new_day = as_of - pd.Timedelta(days=1)
    want = {p for p, kind in periods.items() if kind == "rolling"} | {f"m{new_day:%Y-%m}"}
    assert set(report["periods_computed"]) == want
    assert set(report["periods_copied"]) == set(periods) - want
    assert len(report["periods_copied"]) >= 10


def test_the_next_day_build_equals_a_build_from_scratch(next_day_city, tmp_path):
    settings, _ = next_day_city
    fresh, _ = _built_from_nothing(settings, tmp_path)
    assert state_hash(settings) == state_hash(fresh)
