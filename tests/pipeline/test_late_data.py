"""Late data recomputes only the periods it touches, and ends where a fresh build ends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import catalog
from pipelines.settings import Settings
from pipelines.stages import run_all
from tests.pipeline.test_publish import state_hash

LATE_MONTH = "2026-03"


def add_late_batch(raw: Path) -> int:
    """Copy 50 March requests (and their events) under new ids, as a late delivery."""
    requests = pd.read_parquet(raw / "requests" / "requests_000.parquet")
    events = pd.read_parquet(raw / "requests" / "events_000.parquet")
    march = requests.loc[requests["受理时间"].astype(str).str.startswith(LATE_MONTH)].head(50)
    new_id = {old: f"LATE-{i}" for i, old in enumerate(march["工单编号"])}
    late = march.assign(工单编号=march["工单编号"].map(new_id))
    late_events = events.loc[events["工单编号"].isin(new_id)]
    late_events = late_events.assign(工单编号=late_events["工单编号"].map(new_id))
    late.to_parquet(raw / "requests" / "requests_late.parquet", index=False)
    late_events.to_parquet(raw / "requests" / "events_late.parquet", index=False)
    return len(late)


@pytest.fixture
def late_city(built_city: Settings, tmp_path) -> tuple[Settings, dict]:
    """The small city's warehouse, then a late batch for March and an incremental build."""
    shutil.copytree(built_city.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("tmp"))
    settings = Settings.from_env(environ={}, data_dir=tmp_path / "data", memory_limit="1GB")
    assert add_late_batch(catalog.raw_dir(settings)) == 50
    report = run_all(settings)
    return settings, report["aggregate"]


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
    fresh = Settings.from_env(environ={}, data_dir=tmp_path / "fresh", memory_limit="1GB")
    shutil.copytree(catalog.raw_dir(settings), catalog.raw_dir(fresh))
    # the same deployment's key: phone hashes are keyed, so another key is another state
    fresh.security_directory.mkdir(parents=True)
    shutil.copy(settings.security_directory / "secret.key", fresh.security_directory)
    report = run_all(fresh)
    assert report["aggregate"]["periods_copied"] == []  # nothing to copy from
    assert state_hash(settings) == state_hash(fresh)
