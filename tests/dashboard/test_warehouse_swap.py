"""Following CURRENT: a new build is served without a restart; bad states stay friendly."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dashboard import cockpit, data, ids
from pipelines.settings import Settings


def publish(data_dir: Path, name: str) -> None:
    """Write a minimal build file and point CURRENT at it atomically (like the publisher)."""
    builds = data_dir / "04_warehouse" / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(builds / f"{name}.duckdb"))
    con.execute("CREATE TABLE meta(key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('build_id', $n), ('city_id', '440300')", {"n": name})
    con.close()
    tmp = data_dir / "04_warehouse" / "CURRENT.tmp"
    tmp.write_text(name + "\n")
    tmp.replace(data_dir / "04_warehouse" / "CURRENT")  # atomic, like the publisher


@pytest.fixture
def fake_settings(tmp_path, city_data) -> Settings:
    settings = Settings.from_env(environ={}, data_dir=tmp_path, memory_limit="256MB")
    data.configure(settings)
    return settings


def test_a_newly_published_build_is_served_without_restart(fake_settings):
    publish(fake_settings.data_dir, "20260101T000000-aaaa")
    assert data.meta().build_id == "20260101T000000-aaaa"
    publish(fake_settings.data_dir, "20260102T000000-bbbb")
    assert data.meta().build_id == "20260102T000000-bbbb"


def test_no_published_warehouse_is_an_explicit_error(fake_settings):
    with pytest.raises(data.WarehouseUnavailableError):
        data.meta()


def test_current_naming_a_missing_build_is_an_explicit_error(fake_settings):
    (fake_settings.data_dir / "04_warehouse").mkdir(parents=True)
    (fake_settings.data_dir / "04_warehouse" / "CURRENT").write_text("gone\n")
    with pytest.raises(data.WarehouseUnavailableError, match="missing"):
        data.meta()


def test_a_build_name_cannot_walk_out_of_the_builds_folder(fake_settings):
    (fake_settings.data_dir / "04_warehouse").mkdir(parents=True)
    (fake_settings.data_dir / "04_warehouse" / "CURRENT").write_text("../../etc/x\n")
    with pytest.raises(data.WarehouseUnavailableError, match="invalid"):
        data.meta()


@pytest.mark.parametrize("level", ["city", "district"])
def test_pages_without_a_warehouse_show_how_to_publish_one(fake_settings, level, ids_in, texts_in):
    page = cockpit.render(level, "440303", lang="zh")
    assert ids.EMPTY in ids_in(page)
    assert "yiwang build" in texts_in(page)


def test_a_build_with_an_old_schema_gives_the_friendly_state_not_a_traceback(fake_settings, ids_in):
    publish(fake_settings.data_dir, "20260101T000000-old")  # has meta only: no marts
    page = cockpit.render("city", None)
    assert ids.EMPTY in ids_in(page)
