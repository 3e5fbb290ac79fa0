"""Run one benchmark step in this process and print its wall time and peak RSS as JSON."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from pipelines.settings import Settings


def add_late_batch(raw: Path, month: str = "2026-03", n: int = 1000) -> int:
    """Copy ``n`` requests of ``month`` (and their events) under new ids: a late delivery."""
    import pandas as pd

    requests = pd.read_parquet(raw / "requests" / "requests_000.parquet")
    events = pd.read_parquet(raw / "requests" / "events_000.parquet")
    rows = requests.loc[requests["受理时间"].astype(str).str.startswith(month)].head(n)
    new_id = {old: f"LATE-{i}" for i, old in enumerate(rows["工单编号"])}
    late_events = events.loc[events["工单编号"].isin(new_id)]
    rows.assign(工单编号=rows["工单编号"].map(new_id)).to_parquet(
        raw / "requests" / "requests_late.parquet", index=False
    )
    late_events.assign(工单编号=late_events["工单编号"].map(new_id)).to_parquet(
        raw / "requests" / "events_late.parquet", index=False
    )
    return len(rows)


def main(argv: list[str]) -> None:
    """``python -m benchmarks.step demo|build <data_dir> [requests]``."""
    step, data_dir = argv[0], Path(argv[1])
    settings = Settings.from_env(data_dir=data_dir)
    t0 = time.perf_counter()
    detail: dict[str, object] = {}
    if step == "demo":
        from pipelines.demo import generate

        n = int(argv[2])
        out = generate(
            data_dir / "01_raw" / "demo",
            n_requests=n,
            seed=settings.demo_seed,
            end=settings.demo_end,
            progress=False,
        )
        detail = {"requests": out["requests"], "events": out["events"]}
    elif step in ("build", "late"):
        from pipelines.stages import run_all

        if step == "late":
            t_batch = time.perf_counter()
            detail["late_requests"] = add_late_batch(data_dir / "01_raw" / "demo")
            t0 += time.perf_counter() - t_batch  # time the build, not the batch writing
        report = run_all(settings)
        detail.update({k: v["seconds"] for k, v in report.items() if isinstance(v, dict)})
        detail["periods_computed"] = len(report["aggregate"].get("periods_computed", []))
        detail["periods_copied"] = len(report["aggregate"].get("periods_copied", []))
        from pipelines import db

        detail["steps"] = {name: round(sec, 2) for name, sec in db.TIMINGS}
    else:
        raise SystemExit(f"unknown step {step!r}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(
        json.dumps(
            {
                "step": step,
                "seconds": round(time.perf_counter() - t0, 1),
                "peak_rss_mib": round(peak_mib),
                **detail,
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
