"""``python -m benchmarks [--requests N ...]``: time demo generation and builds."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_step(*args: str, env: dict[str, str]) -> dict:
    """Run ``benchmarks.step`` in a fresh interpreter so peak RSS is that step's own."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.step", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Generate and build the demo city at each size; print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()
    env = {**os.environ, "YIWANG_THREADS": os.environ.get("YIWANG_THREADS", "2")}
    results = []
    for n in args.requests:
        data = Path(tempfile.mkdtemp(prefix=f"yiwang-bench-{n}-"))
        try:
            demo = run_step("demo", str(data), str(n), env=env)
            first = run_step("build", str(data), env=env)
            # Second build with the same boundaries: the H3 crosswalk is reused.
            (data / "04_warehouse" / "CURRENT").unlink()
            again = run_step("build", str(data), env=env)
            # A late batch for one month: only that month and the windows holding it are
            # aggregated again, the other periods are copied from the served build.
            late = run_step("late", str(data), env=env)
            results.append(
                {"requests": n, "demo": demo, "build": first, "rebuild": again, "late": late}
            )
        finally:
            if not args.keep:
                shutil.rmtree(data, ignore_errors=True)
    out_dir = ROOT / "artifacts" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    (out_dir / "pipeline.json").write_text(
        json.dumps({"machine": machine, "results": results}, indent=1)
    )
    lines = [
        "| requests | demo s (peak MiB) | build s (peak MiB) | ingest | geoindex | "
        "aggregate | publish | rebuild s | late batch: build s (aggregate s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b = r["build"]
        lines.append(
            f"| {r['requests']:,} | {r['demo']['seconds']} ({r['demo']['peak_rss_mib']}) "
            f"| {b['seconds']} ({b['peak_rss_mib']}) | {b['ingest']} | {b['geoindex']} "
            f"| {b['aggregate']} | {b['publish']} | {r['rebuild']['seconds']} "
            f"| {r['late']['seconds']} ({r['late']['aggregate']}) |"
        )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
