"""``python -m benchmarks`` (``make bench``, ``yiwang bench``): the scale benchmark.

For each size it generates the demo city once, then measures, each step in a fresh
interpreter (so the peak RSS reported is that step's own):

- ``build``: full builds from scratch (staged, intermediate and warehouse data removed;
  the H3 crosswalk cache too, unless ``--warm-crosswalk``), ``--repeat`` times;
- ``day``: one more day delivered (the last day's requests and events one day later, new
  ids; about 27 k requests at 10 M a year) and built on top of the served warehouse,
  ``--repeat`` times (the served build is put back before each);
- ``baseline``: the geopandas + pandas pipeline an analyst would write
  (``benchmarks.baseline``) on the same raw data, once (``--baseline-repeat``);
- ``dashboard`` and ``loadtest`` on the built warehouse, when asked for (they take minutes:
  ``benchmarks.dashboard_e2e``, callbacks recorded in Chromium and replayed with their
  server time, first renders, gzipped sizes; ``benchmarks.loadtest``, 50 sessions).
  ``benchmarks.dashboard`` profiles every page and callback in process, cold and warm.

Medians go to the summary; every run is in ``artifacts/bench/bench-<size>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "artifacts" / "bench"
#: Folders a build writes (everything but the raw data and the security folder).
DERIVED = ("02_staged", "03_intermediate", "04_warehouse", "05_snapshots", "06_vault", "tmp")


def run_module(module: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``python -m module args`` in a fresh interpreter; return its last line as JSON."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result.setdefault("wall_seconds", round(time.perf_counter() - started, 1))
    return result


def run_report(
    module: str, data: Path, out: Path, *args: str, env: dict[str, str]
) -> dict[str, Any]:
    """Run a harness that writes its report to ``out`` (the dashboard, the load test)."""
    done = subprocess.run(
        [sys.executable, "-m", module, str(data), "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if not out.is_file():
        raise RuntimeError(f"{module} wrote no report:\n{done.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(out.read_text())
    report["exit_code"] = done.returncode  # non-zero when any response failed
    return report


def _clean(data: Path, *, keep_crosswalk: bool) -> None:
    """Remove what a build wrote, so the next build starts from the raw files."""
    crosswalk = data / "03_intermediate" / "crosswalk"
    saved = None
    if keep_crosswalk and crosswalk.is_dir():
        saved = Path(tempfile.mkdtemp(prefix="yiwang-crosswalk-"))
        shutil.copytree(crosswalk, saved, dirs_exist_ok=True)
    for name in DERIVED:
        shutil.rmtree(data / name, ignore_errors=True)
    if saved is not None:
        shutil.copytree(saved, crosswalk)
        shutil.rmtree(saved, ignore_errors=True)


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
    return round(statistics.median(values), 1) if values else None


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of a step's repeated runs (time, peak memory, stages)."""
    if not runs:
        return {}
    keys = ("seconds", "peak_rss_mib", "ingest", "geoindex", "aggregate", "publish")
    return {"runs": len(runs), **{k: _median(runs, k) for k in keys if k in runs[0]}}


def bench_size(n: int, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Every measurement for one city size."""
    data = args.data / f"{n}" if args.data else Path(tempfile.mkdtemp(prefix=f"yiwang-bench-{n}-"))
    data.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"requests": n, "data_dir": str(data)}
    truth = data / "01_raw" / "demo" / "ground_truth.json"
    if truth.is_file() and json.loads(truth.read_text())["requests"] == n:
        result["demo"] = {"reused": True}
    else:
        result["demo"] = run_module("benchmarks.step", "demo", str(data), str(n), env=env)
    raw = data / "01_raw" / "demo" / "requests"
    for stale in (*raw.glob("*_next.parquet"), *raw.glob("*_late.parquet")):
        stale.unlink()
    builds = []
    for _ in range(args.repeat):
        _clean(data, keep_crosswalk=args.warm_crosswalk)
        builds.append(run_module("benchmarks.step", "build", str(data), env=env))
    result["build"] = {"median": _summary(builds), "runs": builds}
    current = data / "04_warehouse" / "CURRENT"
    base_build = current.read_text()
    days = []
    for _ in range(args.repeat):
        current.write_text(base_build)  # the day lands on the same served warehouse each time
        days.append(run_module("benchmarks.step", "day", str(data), env=env))
        for added in raw.glob("*_next.parquet"):
            added.unlink()
    result["day"] = {"median": _summary(days), "runs": days}
    # the dashboard and load test measure the warehouse with the day in it
    if not args.skip_baseline:
        baselines = [
            run_module("benchmarks.baseline", str(data), env=env)
            for _ in range(args.baseline_repeat)
        ]
        result["baseline"] = {"median": _summary(baselines), "runs": baselines}
        ratio = (result["baseline"]["median"].get("seconds") or 0) / (
            result["build"]["median"].get("seconds") or float("inf")
        )
        result["baseline_over_build"] = round(ratio, 2)
    if args.dashboard:
        result["dashboard"] = run_report(
            "benchmarks.dashboard_e2e", data, OUT_DIR / f"dashboard-{n}.json", env=env
        )
    if args.loadtest:
        result["loadtest"] = run_report(
            "benchmarks.loadtest",
            data,
            OUT_DIR / f"loadtest-{n}.json",
            "--minutes",
            str(args.loadtest_minutes),
            env=env,
        )
    if not args.data and not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    return result


def markdown(results: list[dict[str, Any]]) -> str:
    """The summary table quoted in docs/benchmarks.md."""
    lines = [
        "| requests | build s (peak MiB) | ingest | geoindex | aggregate | one day s (peak MiB) "
        "| baseline s (peak MiB) | baseline ÷ build |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b, d = r["build"]["median"], r["day"]["median"]
        base = r.get("baseline", {}).get("median", {})
        lines.append(
            f"| {r['requests']:,} | {b.get('seconds')} ({b.get('peak_rss_mib')}) "
            f"| {b.get('ingest')} | {b.get('geoindex')} | {b.get('aggregate')} "
            f"| {d.get('seconds')} ({d.get('peak_rss_mib')}) "
            f"| {base.get('seconds', '–')} ({base.get('peak_rss_mib', '–')}) "
            f"| {r.get('baseline_over_build', '–')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Benchmark each size; print the summary and save every run."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--requests", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each build step")
    parser.add_argument("--baseline-repeat", type=int, default=1)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--dashboard", action="store_true", help="time the dashboard too")
    parser.add_argument("--loadtest", action="store_true", help="run the load test too")
    parser.add_argument("--loadtest-minutes", type=float, default=10.0)
    parser.add_argument(
        "--data", type=Path, help="keep the cities in DATA/<requests> (reused when there)"
    )
    parser.add_argument("--keep", action="store_true", help="keep temporary cities")
    parser.add_argument(
        "--warm-crosswalk",
        action="store_true",
        help="keep the cached H3 crosswalk between builds (unchanged boundaries)",
    )
    args = parser.parse_args(argv)
    env = {**os.environ, "YIWANG_THREADS": os.environ.get("YIWANG_THREADS", "2")}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    results = []
    for n in args.requests:
        result = bench_size(n, args, env)
        results.append(result)
        (OUT_DIR / f"bench-{n}.json").write_text(
            json.dumps({"machine": machine, **result}, indent=1, ensure_ascii=False)
        )
        sys.stdout.write(markdown([result]))
        sys.stdout.flush()
    sys.stdout.write("\n" + markdown(results))


if __name__ == "__main__":
    main()
