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

from pipelines.demo.deliveries import add_late_batch, add_next_day
from pipelines.settings import Settings


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
        detail["peak_rss_step"] = db.peak_step()
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
