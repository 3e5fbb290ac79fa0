"""Evaluation harness on the session's small built city (20 k requests: weak figures, so
these tests check the machinery, not the targets; `make eval` measures those), and the
recall's definition on a small synthetic city."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import evaluate, h3index
from pipelines.settings import Settings


@pytest.fixture(scope="module")
def city(built_city: Settings) -> evaluate.City:
    return evaluate.load_city(built_city.data_dir)


def test_truth_requests_and_expectation_are_loaded(city: evaluate.City) -> None:
    assert len(city.hotspots) == len(city.truth["hotspots"]) == 30
    assert len(city.spikes) == len(city.truth["spikes"]) == 12
    # WGS-84 centres inside the demo city (GCJ-02 differs by a few hundred metres)
    assert city.hotspots["lng"].between(113.7, 114.7).all()
    assert city.hotspots["lat"].between(22.4, 22.9).all()
    # every repeat address listed in the truth file is among the places read back
    assert len(city.repeats) >= len(city.truth["repeat_addresses"])
    assert len(city.requests) > 0.98 * city.truth["requests"]
    assert len(city.cells) == len(city.expected) and city.expected.sum() > 0
    assert set(city.requests["cell"]) <= set(city.cells)  # the study area holds every request
    assert city.daily is not None and city.daily["count"].sum() > 0


def test_windows_are_scored_with_rates_in_range(city: evaluate.City) -> None:
    scored = evaluate.score_city(city, spikes=False)
    assert scored["windows_evaluated"] == len(scored["windows"]) == 12
    assert scored["active"] > 0
    assert scored["present"] <= scored["active"]
    for key in ("recall", "precision", "recall_any_active", "recall_established"):
        value = scored[key]
        assert math.isnan(value) or 0.0 <= value <= 1.0, key
    assert scored["true_clusters"] + scored["false_clusters"] == scored["clusters"]
    for w in scored["windows"]:
        assert w["present_found"] <= w["present"] <= w["active"]
        assert w["present_found"] <= w["active_found"] <= w["active"]
        assert pd.Timestamp(w["end"]) - pd.Timestamp(w["start"]) == pd.Timedelta(days=29)


def test_the_largest_planted_hotspot_is_found_over_its_active_days(city: evaluate.City) -> None:
    big = city.hotspots.sort_values("requests").iloc[-1]
    w = evaluate.score_window(city, big["start"], big["end"] + pd.Timedelta(days=1))
    assert w["active"] >= 1 and w["present"] >= 1
    assert big["id"] not in {m["id"] for m in w["missed"]}
    assert w["true_clusters"] >= 1


def test_run_reuses_the_build_and_writes_json(built_city: Settings, tmp_path: Path) -> None:
    size = int(built_city.demo_requests)
    seed = int(built_city.demo_seed)
    workdir = tmp_path / "cities"
    workdir.mkdir()
    evaluate.city_dir(workdir, size, seed).symlink_to(built_city.data_dir)
    out = tmp_path / "eval.json"
    lines: list[str] = []
    report = evaluate.run([size], [seed], workdir, out=out, echo=lines.append)
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert [c["seed"] for c in saved["cities"]] == [seed]
    assert saved["pooled"]["windows_evaluated"] == 12
    spikes = saved["cities"][0]["spikes"]
    assert spikes["spikes"] == 12 and 0 <= spikes["detected_within_1_day"] <= 12
    assert spikes["detected_after_warm_up"] <= spikes["spikes_after_warm_up"] <= 12
    assert spikes["false_alarms_per_street_30_days"] >= 0
    assert saved["cities"][0]["year"]["active"] == 30
    assert saved["settings"]["min_planted_in_window"] == evaluate.MIN_PLANTED_IN_WINDOW
    assert set(saved["spikes_by_size"]) == {str(size)}
    assert report["pooled"]["clusters"] == saved["pooled"]["clusters"]
    assert any("pooled" in line for line in lines)
    assert any("any active" in line for line in lines)


# --- the headline recall's definition, on a synthetic city -----------------------------

T0 = pd.Timestamp("2026-03-01")
T1 = T0 + pd.Timedelta(days=30)


def _hotspots(rows: list[tuple[str, float, float, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "lng": [r[1] for r in rows],
            "lat": [r[2] for r in rows],
            "start": pd.to_datetime([r[3] for r in rows]),
            "end": pd.to_datetime([r[4] for r in rows]),
            "requests": [r[5] for r in rows],
            "sigma_deg": [0.001] * len(rows),
        }
    )


def test_planted_in_window_is_the_total_pro_rata_to_the_days_overlapping() -> None:
    hot = _hotspots(
        [
            ("inside", 0, 0, "2026-01-01", "2026-12-31", 365),  # one a day: 30 in the window
            ("half", 0, 0, "2026-03-16", "2026-04-14", 60),  # 15 of its 30 days in it
            ("weak", 0, 0, "2026-01-01", "2026-08-18", 50),  # 230 days: 6.5 in the window
            ("after", 0, 0, "2026-03-31", "2026-04-09", 100),  # its first day is T1
        ]
    )
    overlap, share = evaluate.planted_in_window(hot, T0, T1)
    assert overlap.tolist() == [30, 15, 30, 0]
    assert share == pytest.approx([30.0, 30.0, 50 * 30 / 230, 0.0])


def _synthetic_city(hot: pd.DataFrame, seed: int = 3) -> evaluate.City:
    """A flat city of ~1,000 res-9 cells with Poisson background and planted requests.

    Background: 2 requests per cell per 30 days where everyone lives alike. Each hotspot
    gets ``requests`` pro rata to its days, all in its centre's cell and the window.
    """
    rng = np.random.default_rng(seed)
    lng0, lat0 = 114.05, 22.55
    grid = np.linspace(-0.02, 0.02, 80)
    cells = np.unique(
        h3index.points_to_cells(
            lng=lng0 + np.repeat(grid, len(grid)),
            lat=lat0 + np.tile(grid, len(grid)),
            res=evaluate.RES,
        )
    )
    background = np.repeat(cells, rng.poisson(2.0, len(cells)))
    _, planted = evaluate.planted_in_window(hot, T0, T1)
    hot_cells = h3index.points_to_cells(lng=hot["lng"], lat=hot["lat"], res=evaluate.RES)
    spot = np.repeat(hot_cells, np.round(planted).astype(int))
    cell = np.concatenate([background, spot])
    created = T0 + pd.to_timedelta(rng.uniform(0, 30 * 86400, len(cell)), unit="s")
    requests = pd.DataFrame({"created_local": created, "event_type": "x", "cell": cell})
    requests["lng"], requests["lat"] = h3index.cell_centers(cell)
    empty = pd.DataFrame({c: [] for c in ("lng", "lat", "requests")})
    return evaluate.City(
        name="synthetic",
        truth={"end_day": str((T1 - pd.Timedelta(days=1)).date())},
        requests=requests,
        cells=cells,
        expected=np.full(len(cells), 1000.0),
        hotspots=hot,
        spikes=_hotspots([]),
        repeats=empty,
        sensors=empty,
    )


def test_a_weak_hotspot_counts_in_recall_any_active_but_not_in_the_headline() -> None:
    hot = _hotspots(
        [
            # 730 over the year, 60 in the window (in one cell of a background of 2): found
            ("strong", 114.040, 22.540, "2026-01-01", "2026-12-31", 730),
            # 50 over 230 days, 6.5 in the window: active, not present, too weak to find
            ("weak", 114.062, 22.562, "2026-01-01", "2026-08-18", 50),
        ]
    )
    city = _synthetic_city(hot)
    w = evaluate.score_window(city, T0, T1)
    assert (w["active"], w["present"]) == (2, 1)
    assert (w["active_found"], w["present_found"]) == (1, 1)
    assert [(m["id"], m["present"]) for m in w["missed"]] == [("weak", False)]
    assert w["missed"][0]["planted_in_window"] == pytest.approx(50 * 30 / 230, abs=0.05)
    totals = evaluate.score_city(city, spikes=False)
    assert totals["windows_evaluated"] == 1
    assert totals["recall"] == 1.0  # the weak one is not in the headline
    assert totals["recall_any_active"] == 0.5  # but is in the plain recall
    assert totals["precision"] == 1.0


def test_a_present_hotspot_missed_lowers_the_headline_recall() -> None:
    # 30 planted in the window (the threshold: present), but only background requests
    hot = _hotspots([("absent", 114.040, 22.540, "2026-01-01", "2026-12-31", 365)])
    city = _synthetic_city(hot)
    city.requests = _synthetic_city(_hotspots([])).requests
    w = evaluate.score_window(city, T0, T1)
    assert (w["active"], w["present"], w["present_found"]) == (1, 1, 0)
    assert w["missed"][0]["present"] is True
    totals = evaluate._totals([w])
    assert totals["recall"] == totals["recall_any_active"] == 0.0
