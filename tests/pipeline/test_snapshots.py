"""As-of snapshots: a published month's figures and rankings survive late data unchanged."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import api, catalog, db, metrics, queries, snapshots
from pipelines.cli import app
from pipelines.demo.deliveries import add_late_batch
from pipelines.settings import Settings
from pipelines.stages import run_all
from tests.pipeline.test_late_data import LATE_MONTH

PERIOD = f"m{LATE_MONTH}"  # the month the late batch lands in
CASES = [
    ("district", "completion_rate"),
    ("district", "overdue_share"),
    ("street", "on_time_rate"),
    ("street", "requests_per_10k_30d"),
    ("community", "satisfaction_rate"),
    ("grid", "worry_index"),
]


@dataclass
class Published:
    """A copy of the small city with a snapshot of March, then March's late batch built."""

    settings: Settings
    info: snapshots.SnapshotInfo
    kpi: pd.DataFrame  # as load() returned it right after publishing
    ranking: pd.DataFrame
    live_kpi_before: pd.DataFrame  # the build's figures at publication time
    live_before: dict[tuple[str, str], pd.DataFrame]  # api.ranking, live, before
    api_snapshot_before: dict[tuple[str, str], pd.DataFrame]  # api.ranking(snapshot=...)
    late_rows: int


def live_kpi(settings: Settings) -> pd.DataFrame:
    """Every level's unit metrics of PERIOD in the build being served."""
    name = catalog.path(settings, "warehouse_current").read_text().strip()
    path = catalog.path(settings, "warehouse_builds") / f"{name}.duckdb"
    with db.open_build(path, settings) as con:
        levels = [
            r[0] for r in con.execute("SELECT level FROM dim_level ORDER BY sort_order").fetchall()
        ]
        return pd.concat(
            [queries.unit_metrics(con, lvl, PERIOD) for lvl in levels], ignore_index=True
        )


def as_read_back(live: pd.DataFrame, frozen: pd.DataFrame) -> pd.DataFrame:
    """``live`` with the dtypes parquet gives back: object text columns become strings.

    (parent_id is None for the city, so pandas keeps that column as object; parquet stores
    it as text and reads it back as the string dtype.) Any other difference still fails.
    """
    differ = [c for c in live.columns if live[c].dtype != frozen[c].dtype]
    for c in differ:
        assert live[c].dtype == object and pd.api.types.is_string_dtype(frozen[c]), c
    return live.astype({c: frozen[c].dtype for c in differ})


@pytest.fixture(scope="module")
def published(built_city: Settings, tmp_path_factory: pytest.TempPathFactory) -> Published:
    data = tmp_path_factory.mktemp("snapshots") / "data"
    shutil.copytree(built_city.data_dir, data, ignore=shutil.ignore_patterns("tmp"))
    settings = Settings.from_env(environ={}, data_dir=data, memory_limit="1GB")
    assert snapshots.list_snapshots(settings) == []

    info = snapshots.publish(settings, PERIOD, note="monthly review")
    _, kpi, ranking = snapshots.load(settings, info.snapshot_id)
    live_kpi_before = live_kpi(settings)
    api.connect(data)
    live_before = {case: api.ranking(case[0], PERIOD, case[1]) for case in CASES}
    api_snapshot_before = {
        case: api.ranking(case[0], PERIOD, case[1], snapshot=info.snapshot_id) for case in CASES
    }

    late_rows = add_late_batch(catalog.raw_dir(settings), LATE_MONTH, 50)
    run_all(settings)
    return Published(
        settings,
        info,
        kpi,
        ranking,
        live_kpi_before,
        live_before,
        api_snapshot_before,
        late_rows,
    )


def test_the_snapshot_holds_the_build_as_it_was_published(published):
    info = published.info
    assert info.period_id == PERIOD
    assert info.snapshot_id.startswith(f"{PERIOD}@")
    assert info.note == "monthly review"
    assert info.min_requests == 30
    assert info.as_of_local == "2026-11-01T00:00:00"
    assert info.path == snapshots.root(published.settings) / PERIOD / info.snapshot_id
    assert sorted(p.name for p in info.path.iterdir()) == [
        "kpi.parquet",
        "meta.json",
        "ranking.parquet",
    ]
    # the frozen metrics are the build's at publication time, every level of it
    kpi = published.kpi
    assert set(kpi["level"]) == {"city", "district", "street", "community", "grid"}
    assert (kpi["period_id"] == PERIOD).all()
    assert "__unassigned__" not in set(kpi["unit_id"])
    pd.testing.assert_frame_equal(kpi, as_read_back(published.live_kpi_before, kpi))
    # one ranking per level and rankable metric, following the registry's rules
    ranking = published.ranking
    assert set(ranking["metric"]) == {m.id for m in metrics.rankable()}
    for (level, metric_id), rows in ranking.groupby(["level", "metric"]):
        units = kpi.loc[kpi["level"] == level]
        assert len(rows) == len(units), (level, metric_id)
        want = metrics.rank_units(units, str(metric_id), info.min_requests)
        got = rows.drop(columns=["level", "metric", "name_zh", "name_en"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, obj=f"{level} {metric_id}")


def test_the_api_served_the_published_ranking_before_the_late_data(published):
    for case, live in published.live_before.items():
        frozen = published.api_snapshot_before[case]
        assert len(frozen) > 0, case
        assert (frozen["level"] == case[0]).all() and (frozen["metric"] == case[1]).all()
        pd.testing.assert_frame_equal(
            frozen.drop(columns=["level", "metric"]),
            live.reset_index(drop=True)[frozen.columns.drop(["level", "metric"])],
            obj=str(case),
        )


def test_late_data_changes_the_live_month(published):
    assert published.late_rows == 50
    after = live_kpi(published.settings)
    before = published.live_kpi_before
    city_before = before.loc[before["level"] == "city", "requests"].item()
    city_after = after.loc[after["level"] == "city", "requests"].item()
    assert city_after - city_before == 50
    keys = ["level", "unit_id"]
    joined = before.merge(after, on=keys, suffixes=("_before", "_after"))
    changed = joined.loc[joined["requests_before"] != joined["requests_after"], keys]
    assert set(changed["level"]) == {"city", "district", "street", "community", "grid"}
    # and at least one published ranking is no longer what the live build says
    api.connect(published.settings.data_dir)
    differs = []
    for level, metric_id in CASES:
        live = api.ranking(level, PERIOD, metric_id)
        old = published.live_before[(level, metric_id)]
        if not live[["unit_id", "value"]].equals(old[["unit_id", "value"]]):
            differs.append((level, metric_id))
    assert differs


def test_the_snapshot_is_unchanged_after_the_late_data(published):
    settings = published.settings
    info, kpi, ranking = snapshots.load(settings, published.info.snapshot_id)
    assert info == published.info
    pd.testing.assert_frame_equal(kpi, published.kpi)
    pd.testing.assert_frame_equal(ranking, published.ranking)
    pd.testing.assert_frame_equal(kpi, as_read_back(published.live_kpi_before, kpi))
    api.connect(settings.data_dir)
    for case, before in published.api_snapshot_before.items():
        after = api.ranking(case[0], PERIOD, case[1], snapshot=info.snapshot_id)
        pd.testing.assert_frame_equal(after, before, obj=str(case))


def test_list_snapshots_lists_the_published_one(published):
    settings = published.settings
    found = snapshots.list_snapshots(settings)
    assert published.info in found
    # newest first
    stamps = [s.published_at_utc for s in found]
    assert stamps == sorted(stamps, reverse=True)
    assert [s.snapshot_id for s in snapshots.list_snapshots(settings, PERIOD)] == [
        published.info.snapshot_id
    ]
    assert snapshots.list_snapshots(settings, "m2026-01") == []
    api.connect(settings.data_dir)
    listed = api.snapshots_of(PERIOD)
    assert listed["snapshot_id"].tolist() == [published.info.snapshot_id]


def copy_of_snapshots(published, tmp_path) -> Settings:
    """Settings of a fresh folder holding a copy of the published snapshots only."""
    settings = Settings.from_env(environ={}, data_dir=tmp_path / "data")
    shutil.copytree(snapshots.root(published.settings), snapshots.root(settings))
    return settings


@pytest.mark.parametrize("name", ["kpi.parquet", "ranking.parquet"])
def test_a_tampered_parquet_is_detected(published, tmp_path, name):
    settings = copy_of_snapshots(published, tmp_path)
    snapshot_id = published.info.snapshot_id
    snapshots.load(settings, snapshot_id)  # intact copy loads
    target = snapshots.root(settings) / PERIOD / snapshot_id / name
    data = bytearray(target.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(snapshots.SnapshotError, match="altered"):
        snapshots.load(settings, snapshot_id)


def test_an_edited_hash_is_as_good_as_a_tampered_file(published, tmp_path):
    settings = copy_of_snapshots(published, tmp_path)
    snapshot_id = published.info.snapshot_id
    meta_file = snapshots.root(settings) / PERIOD / snapshot_id / "meta.json"
    doc = json.loads(meta_file.read_text("utf-8"))
    doc["sha256"] = "0" * 64
    meta_file.write_text(json.dumps(doc), "utf-8")
    with pytest.raises(snapshots.SnapshotError, match="altered"):
        snapshots.load(settings, snapshot_id)
    # an unreadable meta.json is not offered at all
    meta_file.write_text("{not json", "utf-8")
    assert snapshots.list_snapshots(settings) == []
    with pytest.raises(snapshots.SnapshotError, match="unreadable"):
        snapshots.load(settings, snapshot_id)


@pytest.mark.parametrize(
    ("snapshot_id", "message"),
    [
        ("../x@y", "not a snapshot id"),
        ("m2026-03/../../x@y", "not a snapshot id"),
        ("/etc/passwd@x", "not a snapshot id"),
        ("m2026-03", "not a snapshot id"),  # no publication time
        ("", "not a snapshot id"),
        ("m2026-03@19990101T000000", "no snapshot"),
        ("m2026-02@20990101T000000", "no snapshot"),
    ],
)
def test_unknown_and_path_like_ids_are_refused(published, snapshot_id, message):
    with pytest.raises(snapshots.SnapshotError, match=message):
        snapshots.load(published.settings, snapshot_id)


def test_the_api_refuses_an_unknown_snapshot(published):
    api.connect(published.settings.data_dir)
    with pytest.raises(snapshots.SnapshotError, match="not a snapshot id"):
        api.ranking("district", PERIOD, "completion_rate", snapshot="../x@y")
    with pytest.raises(KeyError, match="unknown metric"):
        api.ranking("district", PERIOD, "no_such_metric", snapshot=published.info.snapshot_id)


def test_publishing_an_unknown_period_or_from_nothing_fails(published, tmp_path):
    with pytest.raises(snapshots.SnapshotError, match="m1999-01"):
        snapshots.publish(published.settings, "m1999-01")
    empty = Settings.from_env(environ={}, data_dir=tmp_path / "empty")
    with pytest.raises(snapshots.SnapshotError, match="nothing published"):
        snapshots.publish(empty, PERIOD)
    # nothing half-written was left behind by the failures
    assert not (snapshots.root(published.settings) / "m1999-01").exists()
    assert list(snapshots.root(published.settings).glob("*/*.partial")) == []
    assert not snapshots.root(empty).exists()


def test_the_cli_publishes_and_lists_snapshots(published):
    runner = CliRunner()
    data_dir = str(published.settings.data_dir)
    result = runner.invoke(app, ["snapshot", "m2026-02", "--data-dir", data_dir, "--note", "Feb"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("published m2026-02@")
    snapshot_id = result.output.split()[1]
    info, kpi, ranking = snapshots.load(published.settings, snapshot_id)
    assert info.note == "Feb" and info.period_id == "m2026-02"
    assert (kpi["period_id"] == "m2026-02").all() and len(ranking) > 0

    listed = runner.invoke(app, ["snapshots", "--data-dir", data_dir])
    assert listed.exit_code == 0, listed.output
    ids = [line.split("\t")[0] for line in listed.output.splitlines()]
    assert {snapshot_id, published.info.snapshot_id} <= set(ids)
    assert ids == [s.snapshot_id for s in snapshots.list_snapshots(published.settings)]
    only = runner.invoke(app, ["snapshots", "--data-dir", data_dir, "--period", "m2026-02"])
    assert [line.split("\t")[0] for line in only.output.splitlines()] == [snapshot_id]

    bad = runner.invoke(app, ["snapshot", "m1999-01", "--data-dir", data_dir])
    assert bad.exit_code == 2
    assert "cannot publish" in bad.output and "m1999-01" in bad.output


def test_publishing_while_the_api_reads_the_build_with_other_settings(published):
    # DuckDB refuses a second connection to a file with another configuration in one
    # process; db.open_build must not pass the caller's settings as connection config.
    api.connect(published.settings.data_dir)
    assert len(api.levels()) > 0  # the API holds the build open
    other = dataclasses.replace(published.settings, memory_limit="1GB", threads=1)
    info = snapshots.publish(other, "m2025-12")
    assert info.period_id == "m2025-12"
