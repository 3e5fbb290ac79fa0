"""The background warm-up: it fills the caches pages read, within bounds, and opens nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import duckdb
import pytest

from dashboard import access, cache, cockpit, data, warmup
from pipelines.settings import Settings

STREET_LEADER = access.Principal("street", access.ROLES["street_leader"], frozenset({"440304001"}))


@pytest.fixture
def cold(city_data: Settings) -> Iterator[Settings]:
    """The small city with every cache empty (and left with its budget restored)."""
    data.clear_caches()
    yield city_data
    cache.POOL.resize(cache.MAX_BYTES, cache.MAX_ENTRY_BYTES)
    data.clear_caches()


def warm(depth: int, **kwargs: object) -> warmup.Warmer:
    warmer = warmup.Warmer(depth, **kwargs)  # type: ignore[arg-type]
    warmer.start()
    warmer.join(120)
    return warmer


def test_warmed_pages_are_served_from_the_cache_alone(cold):
    warmer = warm(2, idle=lambda: True)
    city = data.city()
    districts = data.children(city)
    assert f"city {city.unit_id} backlog" in warmer.warmed
    assert f"district {districts[0].unit_id} chief" in warmer.warmed
    misses = cache.POOL.info().misses
    for view in ("overview", "worry", "backlog", "sla", "ranking", "components"):
        cockpit.render("city", None, period=data.DEFAULT_PERIOD, view=view, lang="zh")
        cockpit.render(
            "district", districts[0].unit_id, period=data.DEFAULT_PERIOD, view=view, lang="zh"
        )
    assert cache.POOL.info().misses == misses


def test_the_same_page_is_rendered_warm_or_cold(cold, layout_of):
    from dashboard import serialise

    cold_page = serialise.to_json(layout_of("city", period="last30", view="sla"))
    data.clear_caches()
    warm(1, idle=lambda: True)
    assert serialise.to_json(layout_of("city", period="last30", view="sla")) == cold_page


def test_a_warmed_result_still_passes_each_users_scope_check(cold):
    warm(1, idle=lambda: True)
    city = data.city()
    with access.acting_as(STREET_LEADER):
        with pytest.raises(access.OutOfScopeError):
            data.sla_summary(city)
        assert data.unit(city.unit_id) is None


def test_nothing_is_warmed_while_requests_are_in_flight(cold):
    warmer = warmup.Warmer(2, idle=lambda: False, patience=60)
    warmer.start()
    threading.Event().wait(0.3)
    warmer.stop()
    assert warmer.warmed == []
    assert cache.POOL.info().entries <= 8  # the dimensions of the build, read to plan


def test_under_steady_load_a_page_is_warmed_every_so_often(cold):
    warmer = warmup.Warmer(1, idle=lambda: False, patience=0.2)
    warmer.start()
    warmer.join(120)
    assert len(warmer.warmed) == 7  # the city's six views and its wall


def test_the_warm_up_stops_at_its_share_of_the_budget(cold):
    cache.POOL.resize(64 * 1024, 64 * 1024)
    warmer = warm(3, idle=lambda: True)
    assert len(warmer.warmed) <= 2
    assert cache.POOL.info().bytes <= 64 * 1024


def test_depth_zero_warms_nothing(cold):
    warmer = warm(0, idle=lambda: True)
    assert warmer.warmed == []


def test_requests_in_flight_are_counted_by_the_app(app, client):
    seen: list[int] = []
    server = app.server
    server.before_request_funcs[None].append(lambda: seen.append(warmup.IN_FLIGHT.count))
    try:
        client.get("/_dash-layout")
    finally:
        server.before_request_funcs[None].pop()
    assert seen == [1]
    assert warmup.IN_FLIGHT.count == 0


def test_a_newly_published_build_starts_a_warm_up(tmp_path, city_data):
    settings = Settings.from_env(environ={}, data_dir=tmp_path, memory_limit="256MB")
    data.configure(settings)
    started: list[str] = []
    data.on_new_build(lambda b: started.append(b.name))
    try:
        for name in ("20260101T000000-aaaa", "20260102T000000-bbbb"):
            builds = tmp_path / "04_warehouse" / "builds"
            builds.mkdir(parents=True, exist_ok=True)
            duckdb.connect(str(builds / f"{name}.duckdb")).close()
            (tmp_path / "04_warehouse" / "CURRENT.tmp").write_text(name)
            (tmp_path / "04_warehouse" / "CURRENT.tmp").replace(
                tmp_path / "04_warehouse" / "CURRENT"
            )
            data.current_build()
    finally:
        data.on_new_build(None)
    # the first build is warmed by the server's start; each later one by the listener
    assert started == ["20260102T000000-bbbb"]


def test_cache_settings_set_the_pools_budget(tmp_path, city_data):
    try:
        data.configure(Settings.from_env(environ={}, cache_mb=3, cache_entry_mb=1))
        assert cache.POOL.max_bytes == 3 * 1024 * 1024
        assert cache.POOL.max_entry_bytes == 1024 * 1024
    finally:
        data.configure(city_data)
    assert cache.POOL.max_bytes == cache.MAX_BYTES


def test_a_serving_process_exits_without_leak_warnings(built_city):
    """``start_serving`` freezes the heap; it is unfrozen at exit, so nothing "leaks"."""
    code = (
        "import gc\n"
        "from dashboard.app import create_app, start_serving\n"
        "from pipelines.settings import Settings\n"
        "s = Settings.from_env()\n"
        "create_app(s)\n"
        "w = start_serving(s)\n"
        "w.join(120)\n"
        "assert gc.get_freeze_count() > 0\n"
        "from dashboard import access, data\n"
        "with access.acting_as(access.SYSTEM):\n"
        "    data.unit_kpis(data.city(), 'last30')\n"
        "print('served')\n"
    )
    env = {**os.environ, "YIWANG_DATA_DIR": str(built_city.data_dir), "YIWANG_WARM_DEPTH": "1"}
    if built_city.security_dir is not None:
        env["YIWANG_SECURITY_DIR"] = str(built_city.security_dir)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "served" in out.stdout
    assert "leak" not in out.stderr.lower()
