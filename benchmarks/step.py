"""Run one benchmark step in this process and print its wall time and peak RSS as JSON."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from pipelines.settings import Settings


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
    elif step == "build":
        from pipelines.stages import run_all

        report = run_all(settings)
        detail = {k: v["seconds"] for k, v in report.items() if isinstance(v, dict)}
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
