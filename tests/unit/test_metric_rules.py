"""The metric registry's rules: Wilson intervals, rankings, grid stars, registry sanity."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from pipelines import metrics
from pipelines.metrics import (
    REGISTRY_FILE,
    STAR_MIN_REQUESTS,
    Z95,
    rank_units,
    star_score,
    star_table,
    stars,
    wilson,
)

# --- Wilson intervals -------------------------------------------------------------------


def wilson_by_quadratic(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson bounds as the roots of (k/n - p)^2 = z^2 p (1 - p) / n, solved directly."""
    phat = k / n
    a = 1 + z * z / n
    b = -(2 * phat + z * z / n)
    c = phat * phat
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


def test_wilson_matches_the_textbook_interval_for_81_of_263():
    lo, hi = wilson(81, 263)
    assert float(lo) == pytest.approx(0.2553, abs=5e-5)
    assert float(hi) == pytest.approx(0.3662, abs=5e-5)


@pytest.mark.parametrize(
    ("k", "n"), [(1, 2), (3, 7), (81, 263), (50, 100), (999, 1000), (5, 10_000)]
)
def test_wilson_equals_the_roots_of_its_defining_quadratic(k, n):
    lo, hi = wilson(k, n)
    want_lo, want_hi = wilson_by_quadratic(k, n)
    assert float(lo) == pytest.approx(want_lo, abs=1e-12)
    assert float(hi) == pytest.approx(want_hi, abs=1e-12)


@pytest.mark.parametrize("n", [1, 10, 263])
def test_wilson_at_zero_and_all_successes(n):
    z2 = Z95 * Z95
    lo, hi = wilson(0, n)
    assert float(lo) == pytest.approx(0.0, abs=1e-12)
    assert float(hi) == pytest.approx(z2 / (n + z2), abs=1e-12)
    lo, hi = wilson(n, n)
    assert float(lo) == pytest.approx(n / (n + z2), abs=1e-12)
    assert float(hi) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 <= float(lo) <= float(hi) <= 1.0


def test_wilson_of_an_empty_sample_is_nan_elementwise():
    lo, hi = wilson([0, 0, 3], [0, 0, 6])
    assert np.isnan(lo[:2]).all() and np.isnan(hi[:2]).all()
    assert lo[2] == pytest.approx(wilson_by_quadratic(3, 6)[0], abs=1e-12)
    assert hi[2] == pytest.approx(wilson_by_quadratic(3, 6)[1], abs=1e-12)


def test_wilson_is_monotonic_in_k_and_holds_the_point_estimate():
    n = 40
    k = np.arange(n + 1)
    lo, hi = wilson(k, np.full(n + 1, n))
    assert (np.diff(lo) > 0).all()
    assert (np.diff(hi) > 0).all()
    assert (lo <= k / n + 1e-12).all() and (k / n <= hi + 1e-12).all()
    # symmetric: k successes mirror n - k failures
    np.testing.assert_allclose(lo, 1 - hi[::-1], atol=1e-12)


def test_wilson_narrows_as_the_sample_grows():
    widths = [float(np.subtract(*wilson(n // 2, n)[::-1])) for n in (10, 100, 1000, 10_000)]
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < 0.02


# --- rankings ---------------------------------------------------------------------------


def share_frame(rows: list[tuple[str, int, int, int]], metric_id: str) -> pd.DataFrame:
    """Units with requests, numerator and denominator of ``metric_id`` and its value."""
    m = metrics.metric(metric_id)
    assert m.numerator is not None and m.denominator is not None
    frame = pd.DataFrame(rows, columns=["unit_id", "requests", m.numerator, "_den"])
    if m.denominator == "requests":
        assert (frame["_den"] == frame["requests"]).all()
        frame = frame.drop(columns="_den")
    else:
        frame = frame.rename(columns={"_den": m.denominator})
    frame[m.id] = frame[m.numerator] / frame[m.denominator].where(frame[m.denominator] > 0)
    return frame


def value_frame(rows: list[tuple[str, int, float | None]], metric_id: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unit_id", "requests", metric_id])


def test_rank_excludes_units_below_the_minimum_sample_and_lists_them_last():
    frame = share_frame(
        [
            ("a", 100, 90, 100),  # 0.90
            ("b", 29, 29, 29),  # 1.00 but too small a sample
            ("c", 30, 24, 30),  # 0.80, exactly the minimum
            ("d", 200, 190, 200),  # 0.95
        ],
        "completion_rate",
    )
    out = rank_units(frame, "completion_rate", min_requests=30)
    assert out["unit_id"].tolist() == ["d", "a", "c", "b"]
    assert out["rank"].tolist()[:3] == [1.0, 2.0, 3.0]
    assert math.isnan(out["rank"].iloc[3])
    assert out["eligible"].tolist() == [True, True, True, False]
    # n is the denominator; the interval is Wilson's on numerator/denominator
    assert out["n"].tolist() == [200, 100, 30, 29]
    lo, hi = wilson(190, 200)
    assert out["ci_low"].iloc[0] == pytest.approx(float(lo))
    assert out["ci_high"].iloc[0] == pytest.approx(float(hi))


def test_ties_at_display_precision_share_the_best_rank():
    # 0.9004 and 0.9001 both show as 90.0 % and tie; 0.902 shows as 90.2 % and does not.
    frame = pd.DataFrame(
        {
            "unit_id": ["w", "x", "y", "z"],
            "requests": [100, 100, 100, 100],
            "closed": [90, 90, 90, 85],  # the interval's counts; the value decides the rank
            "completion_rate": [0.902, 0.9004, 0.9001, 0.85],
        }
    )
    out = rank_units(frame, "completion_rate", min_requests=30)
    ranks = dict(zip(out["unit_id"], out["rank"], strict=True))
    assert ranks == {"w": 1.0, "x": 2.0, "y": 2.0, "z": 4.0}
    # tied units are listed by id
    assert out["unit_id"].tolist() == ["w", "x", "y", "z"]


def test_ties_follow_each_units_display_step():
    # hours show one decimal: 12.04 and 11.96 both show as 12.0; 12.16 shows as 12.2
    frame = value_frame(
        [("a", 50, 12.04), ("b", 50, 11.96), ("c", 50, 12.16), ("d", 50, 3.0)],
        "handling_hours_p50",
    )
    out = rank_units(frame, "handling_hours_p50", min_requests=30)
    ranks = dict(zip(out["unit_id"], out["rank"], strict=True))
    assert ranks == {"d": 1.0, "a": 2.0, "b": 2.0, "c": 4.0}


def test_lower_is_better_metrics_rank_ascending():
    frame = share_frame(
        [("a", 100, 10, 100), ("b", 100, 2, 100), ("c", 100, 30, 100), ("d", 100, 5, 100)],
        "overdue_share",
    )
    assert not metrics.metric("overdue_share").higher_is_better
    out = rank_units(frame, "overdue_share", min_requests=30)
    assert out["unit_id"].tolist() == ["b", "d", "a", "c"]
    assert out["rank"].tolist() == [1.0, 2.0, 3.0, 4.0]
    # the same counts on a higher-is-better metric rank the other way
    flipped = share_frame(
        [("a", 100, 10, 100), ("b", 100, 2, 100), ("c", 100, 30, 100), ("d", 100, 5, 100)],
        "completion_rate",
    )
    out = rank_units(flipped, "completion_rate", min_requests=30)
    assert out["unit_id"].tolist() == ["c", "a", "d", "b"]


def test_units_without_a_value_are_ineligible_and_listed_last_largest_sample_first():
    frame = share_frame(
        [
            ("z", 100, 50, 100),
            ("m", 100, 0, 0),  # no ratings: no value, whatever the requests
            ("b", 5, 5, 5),  # too few requests
            ("c", 20, 20, 20),  # too few requests, but more than b
            ("k", 5, 1, 5),  # as few as b: then by id
            ("a", 100, 70, 100),
        ],
        "satisfaction_rate",
    )
    out = rank_units(frame, "satisfaction_rate", min_requests=30)
    assert out["unit_id"].tolist() == ["a", "z", "m", "c", "b", "k"]
    assert out["eligible"].tolist() == [True, True, False, False, False, False]
    assert out["rank"].iloc[:2].tolist() == [1.0, 2.0]
    assert out["rank"].iloc[2:].isna().all()
    # an empty denominator has no interval
    m = out.loc[out["unit_id"] == "m"]
    assert m["ci_low"].isna().all() and m["ci_high"].isna().all()
    assert m["n"].tolist() == [0]


def test_values_without_an_interval_use_requests_as_n():
    frame = value_frame([("a", 40, 10.0), ("b", 60, 20.0)], "worry_index")
    out = rank_units(frame, "worry_index", min_requests=30)
    assert out["unit_id"].tolist() == ["a", "b"]  # lower worry is better
    assert out["n"].tolist() == [40, 60]
    assert out["ci_low"].isna().all() and out["ci_high"].isna().all()


def test_rank_with_an_unknown_metric_names_the_known_ones():
    frame = value_frame([("a", 40, 1.0)], "requests")
    with pytest.raises(KeyError, match=r"unknown metric 'no_such_metric'.*completion_rate"):
        rank_units(frame, "no_such_metric", min_requests=1)
    with pytest.raises(KeyError, match="unknown metric"):
        metrics.metric("no_such_metric")


# --- grid stars -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "want"),
    [
        (100.0, 5),
        (97.0, 5),
        (96.9, 4),
        (94.0, 4),
        (93.9, 3),
        (90.0, 3),
        (89.9, 2),
        (85.0, 2),
        (84.9, 1),
        (0.0, 1),
        (None, None),
    ],
)
def test_stars_at_the_thresholds(score, want):
    assert stars(score) == want


@pytest.mark.parametrize(("rate", "want"), [(0.97, 5), (0.94, 4), (0.90, 3), (0.85, 2)])
def test_rates_exactly_at_a_threshold_earn_its_stars(rate, want):
    row = dict.fromkeys(metrics.STAR_RATES, rate) | {"requests": 100}
    assert star_score(row) == pytest.approx(100 * rate)
    assert stars(star_score(row)) == want


def test_star_score_is_the_mean_of_the_available_rates():
    row = {
        "requests": STAR_MIN_REQUESTS,
        "on_time_rate": 0.9,
        "response_rate": None,  # a source without acceptance events
        "resolution_rate": float("nan"),  # NaN is missing too
        "satisfaction_rate": 1.0,
    }
    assert star_score(row) == 95.0
    assert stars(star_score(row)) == 4


def test_no_stars_below_the_minimum_requests_or_with_fewer_than_two_rates():
    full = dict.fromkeys(metrics.STAR_RATES, 0.99)
    assert star_score(full | {"requests": STAR_MIN_REQUESTS - 1}) is None
    assert star_score(full) is None  # no requests at all
    assert star_score(full | {"requests": STAR_MIN_REQUESTS}) == 99.0
    one_rate = {"requests": 500, "on_time_rate": 0.99}
    assert star_score(one_rate) is None
    assert star_score(one_rate | {"satisfaction_rate": None}) is None
    assert star_score(one_rate | {"satisfaction_rate": 0.97}) == 98.0


def test_star_table_adds_scores_and_stars_per_row():
    frame = pd.DataFrame(
        {
            "unit_id": ["a", "b", "c"],
            "requests": [100, 5, 100],
            "on_time_rate": [0.98, 0.99, 0.80],
            "response_rate": [0.96, 0.99, np.nan],
            "resolution_rate": [0.97, 0.99, np.nan],
            "satisfaction_rate": [0.97, 0.99, 0.90],
        }
    )
    out = star_table(frame)
    assert out["star_score"].tolist() == [97.0, pd.NA, 85.0]
    assert out["stars"].tolist() == [5, pd.NA, 2]
    assert str(out["stars"].dtype) == "Int64"
    assert out["unit_id"].tolist() == ["a", "b", "c"]


# --- the registry -----------------------------------------------------------------------


def test_registry_ids_are_unique_in_the_file():
    doc = tomllib.loads(REGISTRY_FILE.read_text(encoding="utf-8"))
    ids = [entry["id"] for entry in doc["metric"]]
    assert len(ids) == len(set(ids))
    assert list(metrics.registry()) == ids


def test_every_metric_has_names_and_definitions_in_both_languages():
    for m in metrics.registry().values():
        for text in (m.name_zh, m.name_en, m.definition_zh, m.definition_en):
            assert text.strip(), m.id
        assert m.name("zh") == m.name_zh and m.name("en") == m.name_en
        assert m.definition("en") == m.definition_en
        assert m.unit in metrics.DISPLAY_STEP


def test_every_rankable_share_has_a_numerator_and_a_denominator():
    rankable_shares = [m for m in metrics.rankable() if m.unit == "share"]
    assert len(rankable_shares) >= 8
    for m in rankable_shares:
        assert m.numerator and m.denominator, m.id
        assert m.has_interval
    # and a numerator never comes without its denominator
    for m in metrics.registry().values():
        assert (m.numerator is None) == (m.denominator is None), m.id


def test_the_star_rates_are_registry_shares():
    for name in metrics.STAR_RATES:
        assert metrics.metric(name).unit == "share"
