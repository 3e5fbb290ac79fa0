"""Evaluation harness on the session's small built city (20 k requests: weak figures, so
these tests check the machinery, not the targets; `make eval` measures those)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from pipelines import evaluate
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
    assert scored["hotspots_active"] > 0
    for key in ("recall", "precision", "recall_established", "recall_strong"):
        value = scored[key]
        assert math.isnan(value) or 0.0 <= value <= 1.0, key
    assert scored["true_clusters"] + scored["false_clusters"] == scored["clusters"]
    for w in scored["windows"]:
        assert w["hotspots_found"] <= w["hotspots_active"]
        assert pd.Timestamp(w["end"]) - pd.Timestamp(w["start"]) == pd.Timedelta(days=29)


def test_the_largest_planted_hotspot_is_found_over_its_active_days(city: evaluate.City) -> None:
    big = city.hotspots.sort_values("requests").iloc[-1]
    w = evaluate.score_window(city, big["start"], big["end"] + pd.Timedelta(days=1))
    assert w["hotspots_active"] >= 1
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
    assert saved["cities"][0]["year"]["hotspots_active"] == 30
    assert report["pooled"]["clusters"] == saved["pooled"]["clusters"]
    assert any("pooled" in line for line in lines)
