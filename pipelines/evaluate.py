"""Evaluation harness: hotspot detection scored against what the demo generator planted.

A demo city's ``01_raw/demo/ground_truth.json`` lists the persistent hotspots and the
spikes the generator planted (GCJ-02 centres, start and end days). Repeat addresses are
listed there only for the top 50 with at least 10 requests, so the complete set is read
back from the requests themselves: the generator puts every request of a planted repeat
address on one exact point (other requests are jittered), so requests without a
component sharing an exact source point are that address. Chattering sensors (also in the
truth file) are located at their component's requests.

Per 30-day window over the year (:func:`windows`), :func:`score_window` runs
:func:`pipelines.hotspots.gi_star` at res 9 on the requests of the window, every cell of
the study area included (zero cells too), the expectation being the residents
(``int_cell_population`` rolled up to res 9), then :func:`pipelines.hotspots.clusters`:

- **recall** (the headline): a planted persistent hotspot is *present* in the window when
  it has at least ``MIN_PLANTED_IN_WINDOW`` (30) planted requests in it, its planted total
  pro rata to the days overlapping the window (:func:`planted_in_window`): on average at
  least one request a day. A present hotspot is *found* when a cluster lies within
  ``radius_km`` (0.5 km) of its centre; recall = present found / present. The generator
  splits its hotspot requests over 30 hotspots by Dirichlet(2), so the weakest get ~50
  requests over 200+ days, a couple a month spread over several cells: no hotspot in any
  operational sense and, in a 30-day window, indistinguishable from Poisson noise;
- diagnostics beside it: ``recall_any_active`` counts every hotspot whose days overlap
  the window, however weak (the plain recall), and ``recall_established`` those active
  for at least half the window;
- **precision**: a cluster is true when within ``radius_km`` of any planted structure
  active in the window: hotspot, spike, repeat address (>= 3 requests in the window) or
  chattering sensor; clusters matching nothing are false.

A cluster is within ``radius_km`` of a point when one of its cells' centres is. The whole
year is also scored as one window (``year``), the way the hotspots module reports it.

:func:`run` generates and builds each city of ``sizes`` × ``seeds`` in ``workdir``
(reusing a build of the same inputs), scores it, prints a table and writes
``artifacts/eval/eval.json``. Spikes are scored by :func:`score_spikes` (early warning on
daily counts per street × l3 category): share detected within 1 day, delay, and false
alarms per street per 30 days.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines import catalog, h3index, hotspots
from pipelines.coords import gcj02_to_wgs84
from pipelines.settings import PROJECT_ROOT, Settings

#: Resolution of the hotspot analysis (the hotspots author's choice: res 9, ~0.1 km² cells).
RES = 9
#: A cluster this close (km) to a planted centre is counted as finding it.
RADIUS_KM = 0.5
#: Days per window and step between windows.
WINDOW_DAYS = 30
#: Requests a repeat address needs in a window to count as a planted structure there.
MIN_REPEAT_REQUESTS = 3
#: Planted requests a hotspot must have in a window (its total pro rata to the days
#: overlapping; 30 a 30-day window is one a day on average) to be *present* there, i.e. to
#: count in the headline ``recall``. ``recall_any_active`` counts every overlapping one.
MIN_PLANTED_IN_WINDOW = 30.0
#: Days of data before early warning's baseline expects anything (its default).
MIN_HISTORY_DAYS = 7
#: Where :func:`run` writes its figures.
DEFAULT_OUT = PROJECT_ROOT / "artifacts" / "eval" / "eval.json"
#: Where :func:`run` generates cities by default (gitignored).
DEFAULT_WORKDIR = PROJECT_ROOT / "data" / "eval"


@dataclass
class City:
    """One built demo city, ready for scoring (all coordinates WGS-84)."""

    name: str
    truth: dict[str, Any]
    requests: pd.DataFrame  # created_local, event_type, lng, lat, cell (res RES)
    cells: np.ndarray  # every res-RES cell of the study area
    expected: np.ndarray  # residents per cell of ``cells``
    hotspots: pd.DataFrame  # id, lng, lat, start, end (end inclusive), requests
    spikes: pd.DataFrame  # same columns as hotspots
    repeats: pd.DataFrame  # place, lng, lat, requests (whole year)
    sensors: pd.DataFrame  # component_id, lng, lat, requests
    repeat_times: dict[int, np.ndarray] = field(default_factory=dict)  # place -> request times
    daily: pd.DataFrame | None = None  # unit_id (street), category (l3), day, count
    street_of: dict[str, str] = field(default_factory=dict)  # unit id -> its street's id
    sensor_times: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def end(self) -> pd.Timestamp:
        """The day after the last day of the city's year."""
        return pd.Timestamp(self.truth["end_day"]) + pd.Timedelta(days=1)


def load_city(data_dir: Path, *, name: str | None = None, res: int = RES) -> City:
    """Read a built demo city: ground truth, requests (WGS-84, res-``res`` cell), residents."""
    settings = Settings.from_env(data_dir=data_dir)
    truth = json.loads((data_dir / "01_raw" / "demo" / "ground_truth.json").read_text("utf-8"))
    staged = pd.read_parquet(
        catalog.path(settings, "stg_requests"),
        columns=[
            "request_id",
            "created_local",
            "event_type",
            "address",
            "component_id",
            "lng_src",
            "lat_src",
        ],
    )
    geo = pd.read_parquet(
        catalog.path(settings, "int_request_geo"), columns=["request_id", "lng", "lat", "cell"]
    )
    req = staged.merge(geo, on="request_id", how="inner")
    req = req[req["cell"].notna() & (req["cell"] != 0)].copy()
    req["cell"] = h3index.cells_to_parent(req["cell"].to_numpy(dtype=np.int64), res)
    req["created_local"] = pd.to_datetime(req["created_local"])
    pop = pd.read_parquet(catalog.path(settings, "int_cell_population"))
    pop_res = (
        pd.Series(pop["population"].to_numpy(dtype=np.float64))
        .groupby(h3index.cells_to_parent(pop["cell"].to_numpy(dtype=np.int64), res))
        .sum()
    )
    cells = np.union1d(pop_res.index.to_numpy(dtype=np.int64), req["cell"].unique())
    expected = pop_res.reindex(cells, fill_value=0.0).to_numpy(dtype=np.float64)

    daily, street_of = _street_daily(settings, req)
    repeats, repeat_times = _exact_points(req[req["component_id"].isna()])
    sensor_ids = set(truth.get("chattering_sensors", []))
    sens = req[req["component_id"].isin(sensor_ids)]
    sensors = (
        sens.groupby("component_id")
        .agg(lng=("lng", "median"), lat=("lat", "median"), requests=("request_id", "size"))
        .reset_index()
    )
    sensor_times = {
        i: np.sort(g["created_local"].to_numpy())
        for i, (_, g) in enumerate(sens.groupby("component_id"))
    }
    return City(
        name=name or data_dir.name,
        truth=truth,
        requests=req[["created_local", "event_type", "lng", "lat", "cell"]].reset_index(drop=True),
        cells=cells,
        expected=expected,
        hotspots=planted(truth, "hotspots"),
        spikes=planted(truth, "spikes"),
        repeats=repeats,
        sensors=sensors,
        repeat_times=repeat_times,
        sensor_times=sensor_times,
        daily=daily,
        street_of=street_of,
    )


def _street_daily(settings: Settings, req: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Daily requests per street × l3 category (the early-warning series), and streets."""
    units = pd.read_parquet(
        catalog.path(settings, "stg_units"), columns=["unit_id", "level", "hierarchy", "parent_id"]
    )
    units = units[units["hierarchy"] == "main"]
    parent = dict(zip(units["unit_id"], units["parent_id"], strict=True))
    level = dict(zip(units["unit_id"], units["level"], strict=True))
    street_of: dict[str, str] = {}
    for unit in units["unit_id"]:
        u: Any = unit
        while u is not None and not pd.isna(u) and level.get(u) != "street":
            u = parent.get(u)
        if u is not None and not pd.isna(u):
            street_of[str(unit)] = str(u)
    place = pd.read_parquet(
        catalog.path(settings, "int_request_place"), columns=["request_id", "hierarchy", "leaf_id"]
    )
    place = place[place["hierarchy"] == "main"]
    cats = pd.read_parquet(catalog.path(settings, "stg_categories"), columns=["code", "l3_zh"])
    frame = req[["request_id", "event_type", "created_local"]].merge(
        place[["request_id", "leaf_id"]], on="request_id"
    )
    frame["unit_id"] = frame["leaf_id"].map(street_of)
    frame["category"] = frame["event_type"].map(dict(zip(cats["code"], cats["l3_zh"], strict=True)))
    frame["day"] = frame["created_local"].dt.normalize()
    frame = frame.dropna(subset=["unit_id", "category"])
    daily = frame.groupby(["unit_id", "category", "day"]).size().rename("count").reset_index()
    return daily, street_of


def planted(truth: dict[str, Any], kind: str) -> pd.DataFrame:
    """The truth file's ``hotspots`` or ``spikes`` with WGS-84 centres and day bounds."""
    rows = truth.get(kind, [])
    cols = ["id", "lng", "lat", "start", "end", "requests", "sigma_deg"]
    if not rows:
        return pd.DataFrame({c: [] for c in cols})
    lng, lat = gcj02_to_wgs84(lng=[r["gcj02"][0] for r in rows], lat=[r["gcj02"][1] for r in rows])
    return pd.DataFrame(
        {
            "id": [r["id"] for r in rows],
            "lng": np.asarray(lng, dtype=np.float64),
            "lat": np.asarray(lat, dtype=np.float64),
            "start": pd.to_datetime([r["start"] for r in rows]),
            "end": pd.to_datetime([r["end"] for r in rows]),
            "requests": [int(r["requests"]) for r in rows],
            "sigma_deg": [float(r["sigma_deg"]) for r in rows],
        }
    )


def _exact_points(req: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Planted repeat addresses: source points shared by at least 2 requests."""
    key = req["lng_src"].round(7).astype(str) + "," + req["lat_src"].round(7).astype(str)
    size = key.map(key.value_counts())
    rep = req.loc[(size >= 2) & req["lng_src"].notna()].assign(_key=key)
    codes, _ = pd.factorize(rep["_key"])
    rep = rep.assign(place=codes)
    places = (
        rep.groupby("place")
        .agg(lng=("lng", "median"), lat=("lat", "median"), requests=("lng", "size"))
        .reset_index()
    )
    times = {
        i: np.sort(g["created_local"].to_numpy()) for i, (_, g) in enumerate(rep.groupby("place"))
    }
    return places, times


def windows(city: City, days: int = WINDOW_DAYS, step: int = WINDOW_DAYS) -> list[tuple]:
    """``(start, end)`` windows of ``days`` ending at the year's end, ``step`` apart."""
    end = city.end
    first = pd.Timestamp(city.requests["created_local"].min()).normalize()
    out = []
    t1 = end
    while t1 - pd.Timedelta(days=days) >= first:
        out.append((t1 - pd.Timedelta(days=days), t1))
        t1 -= pd.Timedelta(days=step)
    return out[::-1]


def _km(lng1: np.ndarray, lat1: np.ndarray, lng2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Equirectangular distance in km (exact enough within a city)."""
    mid = np.radians((lat1 + lat2) / 2.0)
    return np.hypot((lng1 - lng2) * 111.32 * np.cos(mid), (lat1 - lat2) * 110.57)


def _near(found: pd.DataFrame, lng: np.ndarray, lat: np.ndarray, radius: float) -> np.ndarray:
    """``[cluster, point]``: is any cell centre of the cluster within ``radius`` km."""
    out = np.zeros((len(found), len(lng)), dtype=bool)
    if len(lng) == 0:
        return out
    for a, cells in enumerate(found["cells"]):
        x, y = h3index.cell_centers(cells)
        d = _km(x[:, None], y[:, None], np.asarray(lng)[None, :], np.asarray(lat)[None, :])
        out[a] = (d <= radius).any(axis=0)
    return out


def _active(frame: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp) -> pd.DataFrame:
    """Planted structures whose days overlap ``[t0, t1)`` (their ``end`` day inclusive)."""
    if frame.empty:
        return frame
    mask = (frame["start"] < t1) & (frame["end"] + pd.Timedelta(days=1) > t0)
    return frame.loc[mask]


def _with_requests(
    frame: pd.DataFrame, times: dict[int, np.ndarray], t0: pd.Timestamp, t1: pd.Timestamp
) -> pd.DataFrame:
    """Rows of ``frame`` (indexed like ``times``) with >= MIN_REPEAT_REQUESTS in the window."""
    if frame.empty:
        return frame
    lo, hi = np.datetime64(t0), np.datetime64(t1)
    counts = [
        int(np.searchsorted(times[i], hi) - np.searchsorted(times[i], lo))
        for i in range(len(frame))
    ]
    return frame.loc[np.asarray(counts) >= MIN_REPEAT_REQUESTS]


def planted_in_window(
    frame: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    """Days each planted structure overlaps ``[t0, t1)`` and its planted requests there.

    The requests are the planted total pro rata to the days overlapping (the generator
    spreads a hotspot's requests evenly over its days, ``end`` inclusive).
    """
    day = np.timedelta64(1, "D")
    stop = np.minimum(frame["end"].to_numpy(dtype="datetime64[D]") + day, np.datetime64(t1, "D"))
    begin = np.maximum(frame["start"].to_numpy(dtype="datetime64[D]"), np.datetime64(t0, "D"))
    overlap = np.maximum((stop - begin) // day, 0).astype(np.int64)
    span = ((frame["end"] - frame["start"]).dt.days.to_numpy() + 1).astype(np.float64)
    share = frame["requests"].to_numpy(dtype=np.float64) * overlap / np.maximum(span, 1.0)
    return overlap, share


def score_window(
    city: City, t0: pd.Timestamp, t1: pd.Timestamp, *, radius_km: float = RADIUS_KM
) -> dict[str, Any]:
    """Gi* clusters of the window ``[t0, t1)`` scored against the planted truth.

    Returns a dict: window bounds, ``requests``, ``clusters``, ``true_clusters``;
    hotspots ``present`` (>= ``MIN_PLANTED_IN_WINDOW`` planted requests in the window, the
    headline recall's denominator) and ``present_found``, ``active`` (any overlap) and
    ``active_found``, ``established`` (active >= half the window) and
    ``established_found``; ``missed`` (every active hotspot not found: id, overlap days,
    planted requests in all and in the window, whether present), ``false`` (false
    clusters: size, requests, expected, peak z, centre), clusters matched per kind, Gi*
    ``dispersion`` and ``seconds``.
    """
    started = time.perf_counter()
    req = city.requests
    inside = (req["created_local"] >= t0) & (req["created_local"] < t1)
    counts = req.loc[inside, "cell"].value_counts()
    observed = counts.reindex(city.cells, fill_value=0).to_numpy(dtype=np.float64)
    gi = hotspots.gi_star(city.cells, observed, city.expected)
    found = hotspots.clusters(gi)
    hot = _active(city.hotspots, t0, t1)
    spk = _active(city.spikes, t0, t1)
    rep = _with_requests(city.repeats, city.repeat_times, t0, t1)
    sen = _with_requests(city.sensors, city.sensor_times, t0, t1)
    match = {
        kind: _near(found, f["lng"].to_numpy(), f["lat"].to_numpy(), radius_km)
        for kind, f in (("hotspot", hot), ("spike", spk), ("repeat", rep), ("sensor", sen))
    }
    true = np.zeros(len(found), dtype=bool)
    for m in match.values():
        true |= m.any(axis=1)
    got = np.asarray(match["hotspot"].any(axis=0), dtype=bool)
    overlap, share = planted_in_window(hot, t0, t1)
    established = overlap * 2 >= (t1 - t0).days
    present = share >= MIN_PLANTED_IN_WINDOW
    missed = [
        {
            "id": str(i),
            "overlap_days": int(d),
            "planted_requests": int(n),
            "planted_in_window": round(float(w), 1),
            "present": bool(p),
        }
        for i, d, n, w, p, hit in zip(
            hot["id"], overlap, hot["requests"], share, present, got, strict=True
        )
        if not hit
    ]
    false = found.loc[~true, ["size", "requests", "expected", "peak_z", "lng", "lat"]]
    return {
        "start": str(t0.date()),
        "end": str((t1 - pd.Timedelta(days=1)).date()),
        "requests": int(inside.sum()),
        "clusters": len(found),
        "true_clusters": int(true.sum()),
        "present": int(present.sum()),
        "present_found": int((got & present).sum()),
        "active": len(hot),
        "active_found": int(got.sum()),
        "established": int(established.sum()),
        "established_found": int((got & established).sum()),
        "matched": {k: int(m.any(axis=1).sum()) for k, m in match.items()},
        "missed": missed,
        "false": [
            {k: round(float(v), 4) for k, v in row.items()} for row in false.to_dict("records")
        ],
        "dispersion": round(float(gi.attrs["dispersion"]), 3),
        "seconds": round(time.perf_counter() - started, 2),
    }


def score_city(
    city: City, *, days: int = WINDOW_DAYS, step: int = WINDOW_DAYS, spikes: bool = True
) -> dict[str, Any]:
    """Every window of the city scored (:func:`score_window`), the totals and the spikes."""
    scored = [score_window(city, t0, t1) for t0, t1 in windows(city, days, step)]
    totals = _totals(scored)
    year = score_window(city, city.end - pd.Timedelta(days=365), city.end)
    return {
        "city": city.name,
        "requests": int(city.truth.get("requests", len(city.requests))),
        "seed": city.truth.get("seed"),
        "planted": {
            "hotspots": len(city.hotspots),
            "spikes": len(city.spikes),
            "repeat_addresses": len(city.repeats),
            "chattering_sensors": len(city.sensors),
        },
        **totals,
        "year": {k: v for k, v in year.items() if k not in ("false", "missed")},
        "year_missed": year["missed"],
        "spikes": score_spikes(city) if spikes else None,
        "windows": scored,
    }


def _totals(scored: Sequence[dict[str, Any]]) -> dict[str, Any]:
    clusters = sum(w["clusters"] for w in scored)
    true = sum(w["true_clusters"] for w in scored)
    total = {
        key: sum(w[key] for w in scored)
        for key in (
            "present",
            "present_found",
            "active",
            "active_found",
            "established",
            "established_found",
        )
    }

    def rate(found: str, of: str) -> float:
        return total[found] / total[of] if total[of] else float("nan")

    return {
        "windows_evaluated": len(scored),
        "clusters": clusters,
        "true_clusters": true,
        "false_clusters": clusters - true,
        "recall": rate("present_found", "present"),
        "precision": true / clusters if clusters else float("nan"),
        "recall_any_active": rate("active_found", "active"),
        "recall_established": rate("established_found", "established"),
        **total,
    }


def score_spikes(city: City, *, max_delay_days: int = 1) -> dict[str, Any]:
    """Early warning on street × l3 daily counts scored against the planted spikes.

    :func:`pipelines.early_warning.baseline` (pooled by category), ``detect`` and
    ``deduplicate`` with their defaults; ``evaluate`` with the spikes keyed by the street
    of their planted grid and their l3. Storm days (every street, the storm categories)
    and persistent hotspots (their street and l3, their days) are known events: their
    episodes are neither detections nor false alarms. False alarms are per street per 30
    days (all streets, the whole year after the warm-up).
    """
    from pipelines import early_warning as ew
    from pipelines.workcal import calendar_for

    if city.daily is None or city.daily.empty:
        raise ValueError(f"{city.name}: no daily counts per street and category")
    started = time.perf_counter()
    keys = ["unit_id", "category"]
    base = ew.baseline(
        city.daily, calendar=calendar_for("Asia/Shanghai", "CN"), keys=keys, pool_by="category"
    )
    episodes = ew.deduplicate(ew.detect(base, keys=keys), keys=keys)
    spikes = pd.DataFrame(
        {
            "id": [r["id"] for r in city.truth.get("spikes", [])],
            "unit_id": [city.street_of.get(r["grid"]) for r in city.truth.get("spikes", [])],
            "category": [r["l3"] for r in city.truth.get("spikes", [])],
            "start": [pd.Timestamp(r["start"]) for r in city.truth.get("spikes", [])],
            "end": [pd.Timestamp(r["end"]) for r in city.truth.get("spikes", [])],
        }
    )
    known = [
        {"unit_id": None, "category": l3, "start": day, "end": day}
        for storm in city.truth.get("storms", [])
        for day in [pd.Timestamp(storm["day"])]
        for l3 in storm["l3"]
    ] + [
        {
            "unit_id": city.street_of.get(h["grid"]),
            "category": h["l3"],
            "start": pd.Timestamp(h["start"]),
            "end": pd.Timestamp(h["end"]),
        }
        for h in city.truth.get("hotspots", [])
    ]
    streets = city.daily["unit_id"].nunique()
    n_days = int(base["day"].nunique())
    result = ew.evaluate(
        episodes,
        spikes,
        keys=keys,
        n_series=streets,
        n_days=n_days,
        max_delay_days=max_delay_days,
        known=pd.DataFrame(known),
    )
    delays = result.matches["delay"]
    # The baseline has no expectation before MIN_HISTORY_DAYS of data: a spike starting
    # then cannot be caught on time (it is scored, and also left out in ``recall_after_warm_up``).
    warm = pd.Timestamp(base["day"].min()) + pd.Timedelta(days=MIN_HISTORY_DAYS)
    after = (result.matches["start"] >= warm).to_numpy()
    on_time = (delays <= max_delay_days).to_numpy()
    return {
        "spikes": result.spikes,
        "detected_within_1_day": result.detected,
        "detected_at_all": int(delays.notna().sum()),
        "recall": result.recall,
        "spikes_after_warm_up": int(after.sum()),
        "detected_after_warm_up": int((on_time & after).sum()),
        "recall_after_warm_up": float((on_time & after).sum() / after.sum())
        if after.any()
        else float("nan"),
        "median_delay_days": result.median_delay_days,
        "delays": {
            str(i): (None if pd.isna(d) else int(d))
            for i, d in zip(result.matches["id"], delays, strict=True)
        },
        "episodes": len(episodes),
        "false_alarms": result.false_alarms,
        "streets": int(streets),
        "days": n_days,
        "false_alarms_per_street_30_days": result.false_alarms_per_30_days,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _spike_totals(scored: Sequence[dict[str, Any]]) -> dict[str, Any]:
    spikes = sum(s["spikes"] for s in scored)
    detected = sum(s["detected_within_1_day"] for s in scored)
    later = sum(s["spikes_after_warm_up"] for s in scored)
    later_found = sum(s["detected_after_warm_up"] for s in scored)
    exposure = sum(s["streets"] * s["days"] / 30.0 for s in scored)
    false = sum(s["false_alarms"] for s in scored)
    return {
        "spikes": spikes,
        "detected_within_1_day": detected,
        "recall": detected / spikes if spikes else float("nan"),
        "spikes_after_warm_up": later,
        "detected_after_warm_up": later_found,
        "recall_after_warm_up": later_found / later if later else float("nan"),
        "false_alarms": false,
        "false_alarms_per_street_30_days": false / exposure if exposure else float("nan"),
    }


def city_dir(workdir: Path, size: int, seed: int) -> Path:
    """Folder of the demo city of ``size`` requests and ``seed`` under ``workdir``."""
    return workdir / f"r{size}_s{seed}"


def ensure_city(workdir: Path, size: int, seed: int) -> Path:
    """Generate and build the city unless a build of the same size and seed is there."""
    from pipelines.demo import generate
    from pipelines.stages import run_all

    data_dir = city_dir(workdir, size, seed)
    settings = Settings.from_env(data_dir=data_dir, demo_requests=size, demo_seed=seed)
    truth_file = data_dir / "01_raw" / "demo" / "ground_truth.json"
    have: dict[str, Any] = {}
    if truth_file.is_file():
        have = json.loads(truth_file.read_text(encoding="utf-8"))
    fresh = have.get("requests") == size and have.get("seed") == seed
    if not fresh:
        generate(
            data_dir / "01_raw" / "demo",
            n_requests=size,
            seed=seed,
            end=settings.demo_end,
            progress=False,
        )
    # Any build of these raw files will do: the stages' own freshness check also hashes
    # the pipeline's code, which others keep changing, and the scored tables do not.
    if not fresh or not catalog.path(settings, "warehouse_current").is_file():
        run_all(settings)
    return data_dir


def run(
    sizes: Iterable[int] = (300_000,),
    seeds: Iterable[int] = (1, 2, 3, 4, 5),
    workdir: Path = DEFAULT_WORKDIR,
    *,
    out: Path = DEFAULT_OUT,
    window_days: int = WINDOW_DAYS,
    echo: Any = print,
) -> dict[str, Any]:
    """Generate, build and score every city; print the table; write ``out`` (JSON).

    Windows of ``window_days`` (at most 90 at res 9, per the hotspots module) are 30 days
    apart, so longer windows overlap.
    """
    started = time.perf_counter()
    results = []
    for size in sizes:
        for seed in seeds:
            t = time.perf_counter()
            data_dir = ensure_city(Path(workdir), int(size), int(seed))
            built = time.perf_counter() - t
            scored = score_city(load_city(data_dir), days=window_days, step=WINDOW_DAYS)
            scored["seconds_build"] = round(built, 1)
            scored["seconds_score"] = round(time.perf_counter() - t - built, 1)
            results.append(scored)
            echo(_row(scored))
    by_size = {
        str(size): _totals([w for r in results if r["requests"] == size for w in r["windows"]])
        for size in sorted({r["requests"] for r in results})
    }
    pooled = _totals([w for r in results for w in r["windows"]])
    spikes_by_size = {
        str(size): _spike_totals(
            [r["spikes"] for r in results if r["requests"] == size and r["spikes"]]
        )
        for size in sorted({r["requests"] for r in results})
    }
    report = {
        "settings": {
            "res": RES,
            "radius_km": RADIUS_KM,
            "window_days": window_days,
            "window_step_days": WINDOW_DAYS,
            "expected": "residents (int_cell_population rolled up to res 9)",
            "min_repeat_requests": MIN_REPEAT_REQUESTS,
            "min_planted_in_window": MIN_PLANTED_IN_WINDOW,
            "recall": (
                "present hotspots found / present hotspots; present in a window: at least "
                f"{MIN_PLANTED_IN_WINDOW:.0f} planted requests in it (pro rata to the days "
                "overlapping); recall_any_active: every hotspot overlapping the window"
            ),
        },
        "cities": results,
        "by_size": by_size,
        "pooled": pooled,
        "spikes_by_size": spikes_by_size,
        "spikes_pooled": _spike_totals([r["spikes"] for r in results if r["spikes"]]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    echo(format_table(report))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    echo(f"written to {out}")
    return report


def _row(r: dict[str, Any]) -> str:
    line = (
        f"{r['city']:<16} {r['windows_evaluated']:>3}w  recall {r['recall']:.3f} "
        f"({r['present_found']}/{r['present']} present)  precision {r['precision']:.3f} "
        f"({r['true_clusters']}/{r['clusters']})  any active {r['recall_any_active']:.3f} "
        f"({r['active_found']}/{r['active']})  year: {r['year']['active_found']}/"
        f"{r['year']['active']} found, {r['year']['true_clusters']}/"
        f"{r['year']['clusters']} true"
    )
    if r["spikes"]:
        s = r["spikes"]
        line += (
            f"  spikes <=1d {s['detected_within_1_day']}/{s['spikes']}, "
            f"false alarms {s['false_alarms']} ({s['false_alarms_per_street_30_days']:.4f}"
            "/street/30d)"
        )
    return line


def format_table(report: dict[str, Any]) -> str:
    """The figures per city, per size and pooled, as a plain-text table."""
    head = (
        f"{'city':<16} {'win':>4} {'recall':>7} {'found/pres':>11} {'precision':>9} "
        f"{'true':>11} {'any active':>10} {'found':>11} {'active>=half':>12} {'found':>11}"
    )
    lines = [head, "-" * len(head)]

    def line(name: str, t: dict[str, Any]) -> str:
        return (
            f"{name:<16} {t['windows_evaluated']:>4} {t['recall']:>7.3f} "
            f"{t['present_found']:>5}/{t['present']:<5} {t['precision']:>9.3f} "
            f"{t['true_clusters']:>5}/{t['clusters']:<5} {t['recall_any_active']:>10.3f} "
            f"{t['active_found']:>5}/{t['active']:<5} {t['recall_established']:>12.3f} "
            f"{t['established_found']:>5}/{t['established']:<5}"
        )

    for r in report["cities"]:
        lines.append(line(r["city"], r))
    for size, t in report["by_size"].items():
        lines.append(line(f"all {int(size):,}", t))
    lines.append(line("pooled", report["pooled"]))
    lines.append(
        f"recall: of hotspots present in the window (>= {MIN_PLANTED_IN_WINDOW:.0f} planted "
        "requests in it, pro rata); any active: of every hotspot overlapping the window, "
        "however weak; active>=half: of those active at least half the window"
    )
    lines.append("")
    head = (
        f"{'city':<16} {'spikes<=1d':>11} {'recall':>7} {'after warm-up':>13} {'recall':>7} "
        f"{'false':>6} {'FA/street/30d':>14}"
    )
    lines += [head, "-" * len(head)]

    def spike_line(name: str, t: dict[str, Any]) -> str:
        return (
            f"{name:<16} {t['detected_within_1_day']:>5}/{t['spikes']:<5} {t['recall']:>7.3f} "
            f"{t['detected_after_warm_up']:>6}/{t['spikes_after_warm_up']:<6} "
            f"{t['recall_after_warm_up']:>7.3f} "
            f"{t['false_alarms']:>6} {t['false_alarms_per_street_30_days']:>14.4f}"
        )

    for r in report["cities"]:
        if r["spikes"]:
            lines.append(spike_line(r["city"], r["spikes"]))
    for size, t in report.get("spikes_by_size", {}).items():
        lines.append(spike_line(f"all {int(size):,}", t))
    lines.append(spike_line("pooled", report["spikes_pooled"]))
    lines.append(
        f"after warm-up: spikes starting {MIN_HISTORY_DAYS}+ days into the data (before, "
        "the baseline expects nothing); false alarms: episodes matching no planted spike, "
        "storm or hotspot"
    )
    return "\n".join(lines)
