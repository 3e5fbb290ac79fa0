"""Run one benchmark step in this process and print its wall time and peak RSS as JSON.

``python -m benchmarks.step demo|build|late|day <data_dir> [requests]``: each step runs in a
fresh interpreter (``benchmarks.__main__`` starts them) so the peak RSS is the step's own.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd

from pipelines.settings import Settings

#: Raw columns of the demo's requests and status events that hold local timestamps.
REQUEST_TIME = "受理时间"
EVENT_TIME = "时间"
REQUEST_ID = "工单编号"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _raw_files(raw: Path, kind: str) -> list[Path]:
    return sorted((raw / "requests").glob(f"{kind}_*.parquet"))


def add_late_batch(raw: Path, month: str = "2026-03", n: int = 1000) -> int:
    """Copy ``n`` requests of ``month`` (and their events) under new ids: a late delivery."""
    requests = pd.read_parquet(_raw_files(raw, "requests")[0])
    events = pd.read_parquet(_raw_files(raw, "events")[0])
    rows = requests.loc[requests[REQUEST_TIME].astype(str).str.startswith(month)].head(n)
    new_id = {old: f"LATE-{i}" for i, old in enumerate(rows[REQUEST_ID])}
    late_events = events.loc[events[REQUEST_ID].isin(new_id)]
    rows.assign(**{REQUEST_ID: rows[REQUEST_ID].map(new_id)}).to_parquet(
        raw / "requests" / "requests_late.parquet", index=False
    )
    late_events.assign(**{REQUEST_ID: late_events[REQUEST_ID].map(new_id)}).to_parquet(
        raw / "requests" / "events_late.parquet", index=False
    )
    return len(rows)


def add_next_day(raw: Path) -> dict[str, int]:
    """Deliver one more day: the last day's requests and events, one day later, new ids.

    The daily delivery a city's feed brings (about 27 k requests a day at 10 M a year), as
    new files beside the old ones; every timestamp moves by one day, so the new requests
    are created on the day after the data's last day and their status events follow.
    """
    last_file = _raw_files(raw, "requests")[-1]
    requests = pd.read_parquet(last_file)
    created = pd.to_datetime(requests[REQUEST_TIME], format=TIME_FORMAT)
    rows = requests.loc[created.dt.normalize() == created.max().normalize()]
    new_id = {old: f"NEXT-{old}" for old in rows[REQUEST_ID]}
    events = pd.concat(
        [
            e.loc[e[REQUEST_ID].isin(new_id)]
            for e in (pd.read_parquet(f) for f in _raw_files(raw, "events"))
        ],
        ignore_index=True,
    )

    def shifted(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        when = pd.to_datetime(frame[column], format=TIME_FORMAT) + pd.Timedelta(days=1)
        return frame.assign(
            **{column: when.dt.strftime(TIME_FORMAT), REQUEST_ID: frame[REQUEST_ID].map(new_id)}
        )

    shifted(rows, REQUEST_TIME).to_parquet(raw / "requests" / "requests_next.parquet", index=False)
    shifted(events, EVENT_TIME).to_parquet(raw / "requests" / "events_next.parquet", index=False)
    return {"day_requests": len(rows), "day_events": len(events)}


def main(argv: list[str]) -> None:
    """``python -m benchmarks.step demo|build|late|day <data_dir> [requests]``."""
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
    elif step in ("build", "late", "day"):
        from pipelines import db
        from pipelines.stages import run_all

        t_batch = time.perf_counter()
        if step == "late":
            detail["late_requests"] = add_late_batch(data_dir / "01_raw" / "demo")
        elif step == "day":
            detail.update(add_next_day(data_dir / "01_raw" / "demo"))
        t0 += time.perf_counter() - t_batch  # time the build, not the batch writing
        report = run_all(settings)
        detail.update({k: v["seconds"] for k, v in report.items() if isinstance(v, dict)})
        detail["periods_computed"] = len(report["aggregate"].get("periods_computed", []))
        detail["periods_copied"] = len(report["aggregate"].get("periods_copied", []))
        steps: dict[str, float] = {}
        for name, sec in db.TIMINGS:  # a model run once per level counts once, in sum
            steps[name] = round(steps.get(name, 0.0) + sec, 2)
        detail["steps"] = steps
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
