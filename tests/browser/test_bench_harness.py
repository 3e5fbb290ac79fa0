"""The issue-8 harnesses run end to end on the small city: a short, bounded smoke run of each.

``benchmarks.dashboard_e2e`` records two cockpits in Chromium, times their first render and
replays the callbacks; ``benchmarks.loadtest`` then drives three sessions (one wall) for
20 s with the bodies that run recorded. Both run as their own processes, as from the
command line, and must report zero errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.settings import Settings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def run_module(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def dashboard_report(
    chromium_path: Path, built_city: Settings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "dashboard.json"
    done = run_module(
        "benchmarks.dashboard_e2e",
        str(built_city.data_dir),
        "--out",
        str(out),
        "--repeat",
        "2",
        "--render-repeat",
        "1",
        "--levels",
        "community,wall",
        "--views",
        "",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    assert "| level | view | callback |" in done.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    report["path"] = str(out)
    return report


def test_the_dashboard_benchmark_times_every_recorded_callback_and_first_render(
    dashboard_report,
):
    r = dashboard_report
    assert r["errors"] == []
    levels = {c["level"] for c in r["callbacks"]}
    # the community's map drill renders one of its grids
    assert {"community", "wall", "grid"} <= levels
    for c in r["callbacks"]:
        assert c["server_ms"]["n"] == 2 * c["bodies"], c  # a Server-Timing on every replay
        assert c["server_ms"]["p95"] is not None and c["latency_ms"]["p95"] is not None
        assert c["gzip_bytes_max"] > 0
        assert c["errors"] == 0
    names = {(c["level"], c["callback"]) for c in r["callbacks"]}
    assert ("community", "page") in names
    assert any(lv == "community" and "cockpit-period.value" in n for lv, n in names)
    assert any(lv == "wall" and "wall-clock.data" in n for lv, n in names)
    assert set(r["first_render"]) == {"community", "wall"}
    for render in r["first_render"].values():
        assert 0 < render["median_ms"] < 90_000
        assert render["transferred_median_bytes"] > 100_000  # plotly.js at least
    assert all(p["status"] == 200 and p["gzip_bytes"] > 0 for p in r["pages"].values())
    assert r["recorded_calls"] and r["server_rss_mib_end"] > 0


def test_the_load_test_runs_bounded_sessions_without_errors(dashboard_report, built_city, tmp_path):
    out = tmp_path / "loadtest.json"
    done = run_module(
        "benchmarks.loadtest",
        str(built_city.data_dir),
        "--sessions",
        "3",
        "--walls",
        "1",
        "--minutes",
        "0.33",
        "--wall-refresh",
        "5",
        "--think",
        "1",
        "3",
        "--ramp",
        "2",
        "--recording",
        dashboard_report["path"],
        "--out",
        str(out),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    r = json.loads(out.read_text(encoding="utf-8"))
    assert r["errors"] == 0, r["errors_by_reason"]
    assert r["duration_s"] <= 20 + 60  # the time bound holds (plus one request's timeout)
    assert {"login", "app", "page", "follow-up", "wall refresh"} <= set(r["by_kind"])
    assert r["by_kind"]["login"]["n"] == 2 * 3  # GET and POST for every session
    assert r["by_kind"]["wall refresh"]["n"] >= 2
    assert r["by_kind"]["page"]["n"] > 3  # the analysts moved on from their first page
    assert r["callback_latency_ms"]["p95"] is not None
    server = r["server"]
    assert len(server["samples"]) >= 3 and server["rss_mib_max"] > 0
    assert "rss_slope_mib_per_min_last_two_thirds" in server
    assert {s["kind"] for s in r["sessions"]} == {"wall", "analyst"}
