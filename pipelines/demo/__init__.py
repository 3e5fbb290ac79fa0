"""The demo city generator: writes raw files exactly as real sources deliver them.

``generate`` writes, under ``out_dir``:

- ``boundaries/{district,street,community,grid}.geojson`` in GCJ-02 (the source's datum),
- ``requests/requests_<chunk>.parquet`` and ``requests/events_<chunk>.parquet`` with the
  Chinese column names of a 12345 export and local (Asia/Shanghai) timestamps,
- ``categories.csv`` (4-level taxonomy with time limits),
- ``components/components.csv`` (WGS-84) and ``components/alarms.parquet``,
- ``ground_truth.json`` (everything planted) and ``source.toml`` (the source spec).

The pipeline then ingests these through its normal path; nothing is shared in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from pipelines.coords import gcj02_to_wgs84
from pipelines.demo.components import COMPONENT_TYPES, generate_components
from pipelines.demo.geography import CITY, generate_geography, units_to_geojson
from pipelines.demo.requests import generate_requests
from pipelines.demo.spec import write_spec
from pipelines.demo.taxonomy import event_types
from pipelines.demo.timeline import demo_days

MAX_REQUESTS = 50_000_000
CHUNK = 1_000_000  # requests per chunk: bounds peak memory (~3 GB) at any size
N_COMPONENTS = 80_000


def generate(
    out_dir: Path, *, n_requests: int, seed: int, end: str, progress: bool = True
) -> dict[str, Any]:
    """Generate the demo city's raw files into ``out_dir`` (replacing what is there).

    Parameters
    ----------
    out_dir
        Folder that becomes the source folder (it will hold ``source.toml``).
    n_requests
        Number of requests, 1 .. 50,000,000 (sensor-driven ones included).
    seed
        Seed; the same seed, size and end day give byte-identical files.
    end
        Last day (``YYYY-MM-DD``) of the 12 months; its end is the data's as-of time.
    progress
        Show a progress bar on stderr.

    Returns
    -------
    dict
        Summary (counts and timings) also written to ``ground_truth.json``.
    """
    if not 1 <= n_requests <= MAX_REQUESTS:
        raise ValueError(f"--requests must be between 1 and {MAX_REQUESTS:,}, got {n_requests:,}")
    end_day = dt.date.fromisoformat(end)
    started = time.perf_counter()
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ("boundaries", "requests", "components"):
        (tmp / sub).mkdir(parents=True)
    n_chunks = max(1, -(-n_requests // CHUNK))
    bar = tqdm(total=3 + n_chunks, desc="demo city", unit="step", disable=not progress)

    root = np.random.SeedSequence(seed)
    geo_seed, comp_seed, plan_seed, *row_seeds = root.spawn(3 + n_chunks)
    geo = generate_geography(np.random.default_rng(geo_seed))
    for level in ("district", "street", "community", "grid"):
        doc = units_to_geojson(geo.units, level)
        (tmp / "boundaries" / f"{level}.geojson").write_text(
            json.dumps(doc, ensure_ascii=False), encoding="utf-8"
        )
    bar.update()

    types = event_types()
    pd.DataFrame([t._asdict() for t in types]).drop(columns="weight").to_csv(
        tmp / "categories.csv", index=False
    )
    days = demo_days(end_day)
    units = {u.code: u for u in geo.units}
    street_of_grid = [g.code[:9] for g in geo.grids]
    comps = generate_components(
        np.random.default_rng(comp_seed),
        geo,
        N_COMPONENTS,
        days,
        street_of_grid,
        {c: u.name for c, u in units.items()},
    )
    _write_components(tmp, comps)
    bar.update()

    as_of = np.datetime64(end_day + dt.timedelta(days=1)).astype("datetime64[s]")
    truth: dict[str, Any] = {}
    n_written = n_events = 0
    for chunk in range(n_chunks):
        size = min(CHUNK, n_requests - chunk * CHUNK)
        req = generate_requests(
            np.random.default_rng(row_seeds[chunk]),
            np.random.default_rng(plan_seed),
            geo,
            types,
            comps,
            days,
            size,
            n_total=n_requests,
            chunk=chunk,
            n_chunks=n_chunks,
        )
        events = req.events[req.events["时间"] < as_of].copy()
        events["时间"] = (
            pd.Series(events["时间"].to_numpy()).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy()
        )
        _write_parquet(req.table, tmp / "requests" / f"requests_{chunk:03d}.parquet")
        _write_parquet(events, tmp / "requests" / f"events_{chunk:03d}.parquet")
        n_written += len(req.table)
        n_events += len(events)
        truth = _merge_truth(truth, req.truth)
        truth.setdefault("poorly_rated_streets", req.events.attrs["bad_streets"])
        bar.update()

    truth.update(
        {
            "seed": seed,
            "requests": n_written,
            "events": n_events,
            "components": len(comps.table),
            "alarms": len(comps.alarms),
            "chattering_sensors": comps.faulty,
            "as_of": str(as_of),
            "end_day": end,
            "units": {
                lvl: sum(u.level == lvl for u in geo.units)
                for lvl in ("district", "street", "community", "grid")
            },
            "population": int(units[CITY[0]].population),
            "note": "coordinates in ground truth are GCJ-02, like the raw request files",
        }
    )
    (tmp / "ground_truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    # The worry index's fixed scale: intensity 0.5 at the city's own yearly average rate,
    # whatever size of city was generated (a real city sets its typical rate likewise).
    per_10k_30d = n_written / max(truth["population"], 1) * 10_000 / 365 * 30
    write_spec(tmp / "source.toml", reference_rate=per_10k_30d)
    bar.update()
    bar.close()
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    truth["seconds"] = round(time.perf_counter() - started, 1)
    return truth


def _merge_truth(acc: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Add a chunk's planted counts to the run's (places are the same in every chunk)."""
    if not acc:
        return new
    for key in ("hotspots", "spikes"):
        for a, b in zip(acc[key], new[key], strict=True):
            a["requests"] += b["requests"]
    for key in ("bad_rows", "by_mechanism"):
        for k, v in new[key].items():
            acc[key][k] = acc[key].get(k, 0) + v
    return acc


def _write_parquet(frame: pd.DataFrame, file: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, file, compression="zstd", row_group_size=500_000)


def _write_components(folder: Path, comps: Any) -> None:
    tab = comps.table
    lng, lat = gcj02_to_wgs84(lng=tab["x"].to_numpy(), lat=tab["y"].to_numpy())
    kinds = tab["kind"].to_numpy()
    out = pd.DataFrame(
        {
            "部件编号": tab["id"],
            "部件类型": [COMPONENT_TYPES[k][1] for k in kinds],
            "经度": np.round(lng, 7),
            "纬度": np.round(lat, 7),
            "主管单位": tab["owner"],
            "权属单位": tab["property_unit"],
            "养护单位": tab["maintainer"],
            "状态": tab["status"],
            "启用日期": tab["installed"],
        }
    )
    out.to_csv(folder / "components" / "components.csv", index=False, encoding="utf-8")
    alarms = pd.DataFrame(
        {
            "部件编号": tab["id"].to_numpy()[comps.alarms["component"].to_numpy()],
            "告警时间": pd.Series(comps.alarms["ts"].to_numpy()).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "告警类型": comps.alarms["alarm_type"].to_numpy(),
        }
    )
    _write_parquet(alarms, folder / "components" / "alarms.parquet")
