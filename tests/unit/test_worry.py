"""The worry index v2: bounded, explainable, small-sample-safe, on a fixed scale."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from pipelines.worry import COMPONENTS, WorryConfig, beta_share_quantile, gamma_rate_quantile, score


def places(n: int, seed: int = 1, **overrides: object) -> pd.DataFrame:
    """``n`` cells of one parent with Poisson requests around 30 per 10k per 30 days."""
    rng = np.random.default_rng(seed)
    population = rng.integers(300, 3000, n)
    requests = rng.poisson(30 * population / 10_000)
    frame = pd.DataFrame(
        {
            "requests": requests,
            "open": rng.binomial(requests, 0.08),
            "rated": rng.binomial(requests, 0.8),
            "repeats": rng.binomial(requests, 0.02),
            "population": population,
            "period_days": 30.0,
            "previous_requests": rng.poisson(30 * population / 10_000),
            "previous_days": 30.0,
            "prior_rate": 30.0,
            "prior_open_rate": 2.4,
            "prior_dissatisfaction": 0.05,
            "prior_repeat": 0.02,
        }
    )
    frame["dissatisfied"] = rng.binomial(frame["rated"], 0.05)
    frame["severity_sum"] = frame["requests"].astype(float)
    for key, value in overrides.items():
        frame[key] = value
    return frame


def test_the_index_is_bounded_and_its_contributions_add_up_to_it():
    frame = places(500)
    frame.loc[:10, "requests"] = 5000  # extreme places still stay within 0-100
    frame.loc[:10, "open"] = 5000
    out = score(frame)
    assert out["worry_index"].between(0, 100).all()
    parts = out[[f"contribution_{c}" for c in COMPONENTS]].sum(axis=1)
    assert np.allclose(parts, out["worry_index"])
    assert out["worry_index"].max() > 60


def test_a_single_complaint_in_an_empty_cell_does_not_score_above_its_parents_median():
    # "The parent's median": a place measured well enough to be known to sit exactly at
    # the parent's median rates (the prior), with nothing else wrong.
    typical = places(1).assign(
        requests=3000,
        open=240,  # 2.4 open per 10k per 30 days, the prior
        rated=2400,
        dissatisfied=120,
        repeats=60,
        severity_sum=3000.0,
        population=1_000_000,
        previous_requests=3000,
    )
    lonely = places(1).assign(
        requests=1,
        open=1,  # still open, never rated: the worst a single complaint can look
        rated=0,
        dissatisfied=0,
        repeats=0,
        severity_sum=1.0,
        population=0,  # nobody lives there
        previous_requests=0,
    )
    assert score(lonely)["worry_index"].iloc[0] <= score(typical)["worry_index"].iloc[0]


def test_many_requests_in_a_small_place_do_score_high():
    frame = places(1).assign(requests=120, open=40, severity_sum=120.0, population=500)
    assert score(frame)["worry_index"].iloc[0] > 50


def test_a_value_means_the_same_whatever_the_peers_of_the_refresh():
    # Fixed scale: a place's score depends on its own counts and its parent prior only,
    # not on which other places are scored beside it.
    frame = places(50, seed=3)
    alone = score(frame.iloc[[7]])["worry_index"].iloc[0]
    together = score(frame)["worry_index"].iloc[7]
    with_others = score(pd.concat([frame, places(200, seed=9)]))["worry_index"].iloc[7]
    assert alone == pytest.approx(together) == pytest.approx(with_others)


def test_more_requests_never_lower_the_intensity_score():
    base = places(1, population=1000)
    values = [
        score(base.assign(requests=n, severity_sum=float(n)))["score_intensity"].iloc[0]
        for n in range(0, 200, 5)
    ]
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert values[-1] > values[0] + 0.4
    # no requests where many people live reads as calm, not as "like the neighbours"
    crowded = base.assign(requests=0, severity_sum=0.0, population=20_000)
    assert score(crowded)["score_intensity"].iloc[0] < 0.2


def test_the_posterior_quantiles_shrink_small_samples_toward_the_prior():
    # 1 of 1 dissatisfied reads far below 100 %; 300 of 1000 reads near 30 %
    small = beta_share_quantile(np.array([1]), np.array([1]), np.array([0.05]), 10, 0.2)[0]
    large = beta_share_quantile(np.array([300]), np.array([1000]), np.array([0.05]), 10, 0.2)[0]
    assert small < 0.1 and 0.27 < large < 0.3
    rate = gamma_rate_quantile(np.array([1000]), np.array([10.0]), np.array([30.0]), 10, 0.2)[0]
    assert 90 < rate < 100  # 1000 requests over 10 exposure units: its own rate, ~99


def test_a_rising_place_scores_on_trend_and_a_steady_one_does_not():
    steady = places(1, requests=60, previous_requests=60, population=2000)
    rising = places(1, requests=150, previous_requests=60, population=2000)
    assert score(steady)["score_trend"].iloc[0] < 0.05
    assert score(rising)["score_trend"].iloc[0] > 0.5


@pytest.mark.parametrize(
    "weights",
    [{"intensity": 0.5, "trend": 0.4}, {"intensity": 1.2, "trend": -0.2}, {"noise": 1.0}],
)
def test_weights_must_be_known_non_negative_and_sum_to_one(weights):
    with pytest.raises(ValueError):
        WorryConfig(weights=weights)


def test_the_worry_section_of_a_spec_reads_every_key_and_refuses_unknown_ones():
    cfg = WorryConfig.from_doc(
        {
            "reference_rate": 120,
            "weights": {
                "intensity": 0.5,
                "severity": 0.1,
                "backlog": 0.1,
                "dissatisfaction": 0.1,
                "repeat": 0.1,
                "trend": 0.1,
            },
            "severity": {"燃气安全": 3, "Feedback": 0.5},
        }
    )
    assert cfg.reference_rate == 120.0 and cfg.weights["intensity"] == 0.5
    assert cfg.as_dict()["severity"] == {"燃气安全": 3.0, "Feedback": 0.5}
    with pytest.raises(ValueError, match="unknown keys"):
        WorryConfig.from_doc({"referenc_rate": 10})
    with pytest.raises(ValueError, match="not a number"):
        WorryConfig.from_doc({"quantile": "low"})
    with pytest.raises(ValueError, match="severity"):
        WorryConfig.from_doc({"severity": {"燃气安全": 9}})
    with pytest.raises(ValueError, match="sum to 1"):
        WorryConfig.from_doc({"weights": {"intensity": 1.0, "trend": 0.5}})


def test_severity_matches_codes_and_names_at_any_level_most_specific_first():
    from pipelines.worry import severity_table

    categories = pd.DataFrame(
        {
            "code": ["01.1", "01.2", "02.1"],
            "l1_zh": ["安全管理", "安全管理", "市容环卫"],
            "l2_zh": ["燃气安全", "消防安全", "环境卫生"],
            "l2_en": ["Gas safety", "Fire safety", "Street cleaning"],
        }
    )
    cfg = WorryConfig(severity={"安全管理": 2.0, "Gas safety": 3.0, "01.2": 2.5})
    got = severity_table(categories, cfg).set_index("code")["severity"].to_dict()
    assert got == {"01.1": 3.0, "01.2": 2.5, "02.1": 1.0}


def test_units_are_shrunk_top_down_and_cells_toward_their_units_estimate():
    from pipelines.worry import cell_priors, posterior_means, unit_priors

    units = pd.DataFrame(
        {
            "unit_id": ["c", "d1", "d2"],
            "parent_id": [None, "c", "c"],
            "period_id": "p",
            "depth": [0, 1, 1],
            "requests": [1000, 998, 2],
            "open": [50, 49, 1],
            "rated": 0,
            "dissatisfied": 0,
            "repeats": [10, 10, 0],
            "population": [1_000_000, 500_000, 500_000],
            "period_days": 30.0,
        }
    )
    primed = unit_priors(units)
    city_rate = 1000 / 100  # per 10k per 30 days
    assert primed.loc[0, "prior_rate"] == pytest.approx(city_rate)  # the city: its own
    assert primed.loc[1:, "prior_rate"].tolist() == pytest.approx(
        [posterior_means(primed.loc[[0]])["prior_rate"].iloc[0]] * 2
    )
    # the quiet district's estimate is pulled toward the city, not taken at face value
    quiet = primed.loc[2, "post_rate"]
    assert 2 / 50 < quiet < city_rate
    cells = pd.DataFrame({"unit_id": ["d2", "d2"], "period_id": "p"})
    assert cell_priors(cells, primed)["prior_rate"].tolist() == pytest.approx([quiet, quiet])
