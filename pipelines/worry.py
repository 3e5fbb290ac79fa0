"""The worry index (烦恼指数), second version: explainable, small-sample-safe, fixed scale.

For one place (an H3 cell or a unit) and one period, six components each give a score in
[0, 1]; the index is ``100 × Σ weight × score`` with weights that sum to 1, so it is
bounded 0–100 and every point of it is attributable to a component (the explanation
panel shows ``contribution = 100 × weight × score`` per component; they add up to the
index).

Small samples. A place's rates are not taken at face value: each is the **lower 20 %
posterior quantile** of a conjugate model whose prior is centred on the place's parent
(empirical Bayes with a fixed prior strength of ``prior_requests`` pseudo-requests):

* intensity (requests per 10,000 residents per 30 days) and backlog (requests still open,
  per 10,000 residents per 30 days: the burden residents live with, which a single open
  complaint in an empty cell does not make): Gamma–Poisson, prior mean the median rate of
  the parent's places, prior shape ``prior_requests``;
* shares (dissatisfaction, repeat complaints): Beta–binomial, prior mean the parent's
  share, prior size ``prior_requests``;
* severity: the mean category weight of the place's requests, pulled toward 1 (an
  ordinary matter) by ``prior_requests`` ordinary pseudo-requests.

So one complaint in an otherwise empty cell reads as "about as bothered as its
neighbourhood, or less" (a test pins: never above the parent's median), while a place with
hundreds of requests is scored on its own figures. Using a lower quantile rather than the
mean is the same choice as ranking on a Wilson lower bound: a place is called worse only
when the data say so with some confidence.

Fixed scale. Each estimate is mapped to [0, 1] by a fixed function with constants from
:class:`WorryConfig` (not by comparing with this period's peers), so a colour means the
same on every screen, at every level and after every refresh: intensity and backlog
``v / (v + R)`` (0.5 at their reference rate ``R``), shares ``min(1, v / cap)``, severity
``(w − 1) / 2``, trend ``min(1, max(0, ratio − 1))`` where the ratio compares the lower
quantile now with the posterior mean of the window before (a doubling scores about 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

COMPONENTS = ("intensity", "severity", "backlog", "dissatisfaction", "repeat", "trend")


@dataclass(frozen=True)
class WorryConfig:
    """Weights and fixed-scale constants of the index (configuration, documented).

    Attributes
    ----------
    weights
        Per component; must be non-negative and sum to 1.
    reference_rate
        Requests per 10,000 residents per 30 days at which intensity scores 0.5.
    reference_open_rate
        Open requests per 10,000 residents per 30 days at which backlog scores 0.5.
    caps
        Share at which dissatisfaction and repeat complaints score 1.
    prior_requests
        Strength of the parent prior, in pseudo-requests.
    quantile
        Posterior quantile used as the estimate (0.2: "at least this, with 80 %
        confidence").
    population_floor
        Residents assumed at least, so a place without a census is not divided by ~0.
    """

    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "intensity": 0.40,
            "severity": 0.10,
            "backlog": 0.15,
            "dissatisfaction": 0.15,
            "repeat": 0.10,
            "trend": 0.10,
        }
    )
    reference_rate: float = 40.0
    reference_open_rate: float = 4.0
    caps: Mapping[str, float] = field(
        default_factory=lambda: {"dissatisfaction": 0.3, "repeat": 0.3}
    )
    prior_requests: float = 10.0
    quantile: float = 0.2
    population_floor: float = 200.0

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown worry components {sorted(unknown)}; known: {COMPONENTS}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("worry weights must be non-negative")
        if not np.isclose(sum(self.weights.values()), 1.0):
            raise ValueError(f"worry weights must sum to 1, got {sum(self.weights.values())}")
        if not 0 < self.quantile < 1:
            raise ValueError("quantile must be in (0, 1)")


def gamma_rate_quantile(
    count: np.ndarray, exposure: np.ndarray, prior_rate: np.ndarray, strength: float, q: float
) -> np.ndarray:
    """Quantile ``q`` of the Gamma posterior of a Poisson rate (prior mean ``prior_rate``).

    Prior Gamma(shape = ``strength``, rate = ``strength / prior_rate``); posterior
    Gamma(shape + count, rate + exposure). A zero or missing prior rate gives 0.
    """
    prior = np.asarray(prior_rate, dtype=float)
    ok = np.isfinite(prior) & (prior > 0)
    safe_prior = np.where(ok, prior, 1.0)
    shape = strength + np.asarray(count, dtype=float)
    rate = strength / safe_prior + np.asarray(exposure, dtype=float)
    value = special.gammaincinv(shape, q) / rate
    return np.where(ok, value, 0.0)


def beta_share_quantile(
    successes: np.ndarray, trials: np.ndarray, prior_share: np.ndarray, strength: float, q: float
) -> np.ndarray:
    """Quantile ``q`` of the Beta posterior of a share (prior mean ``prior_share``)."""
    p = np.clip(np.nan_to_num(np.asarray(prior_share, dtype=float), nan=0.0), 1e-6, 1 - 1e-6)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    a = strength * p + k
    b = strength * (1 - p) + np.maximum(n - k, 0)
    return np.asarray(special.betaincinv(a, b, q), dtype=float)


def score(frame: pd.DataFrame, config: WorryConfig | None = None) -> pd.DataFrame:
    """Score places; returns one row per input row with components and the index.

    Parameters
    ----------
    frame
        One row per place and period with counts: ``requests``, ``open``, ``rated``,
        ``dissatisfied``, ``repeats``, ``severity_sum`` (sum of the requests' category
        weights; ``requests`` if every matter weighs 1), ``population``, ``period_days``,
        ``previous_requests`` and ``previous_days`` (the same place's requests in the
        window before, for the trend), and the parent priors ``prior_rate`` and
        ``prior_open_rate`` (median rates of the parent's places, per 10k per 30 days),
        ``prior_dissatisfaction`` and ``prior_repeat`` (the parent's shares).
    config
        Weights and constants (defaults: :class:`WorryConfig`).

    Returns
    -------
    pandas.DataFrame
        ``score_<component>`` in [0, 1], ``contribution_<component>`` (points of the
        index) and ``worry_index`` in [0, 100], indexed like ``frame``.
    """
    cfg = config or WorryConfig()
    k0, q = cfg.prior_requests, cfg.quantile
    requests = frame["requests"].to_numpy(dtype=float)
    residents = np.maximum(
        frame["population"].fillna(0).to_numpy(dtype=float), cfg.population_floor
    )
    days = np.maximum(frame["period_days"].to_numpy(dtype=float), 1.0)
    exposure = residents / 10_000 * days / 30  # in "10k residents × 30 days"
    rate = gamma_rate_quantile(requests, exposure, frame["prior_rate"].to_numpy(), k0, q)
    scores: dict[str, np.ndarray] = {"intensity": rate / (rate + cfg.reference_rate)}
    open_rate = gamma_rate_quantile(
        frame["open"].to_numpy(), exposure, frame["prior_open_rate"].to_numpy(), k0, q
    )
    scores["backlog"] = open_rate / (open_rate + cfg.reference_open_rate)

    weights = frame["severity_sum"].to_numpy(dtype=float)
    mean_weight = (weights + k0) / (requests + k0)
    scores["severity"] = np.clip((mean_weight - 1) / 2, 0, 1)

    for name, num, den, prior in (
        ("dissatisfaction", "dissatisfied", "rated", "prior_dissatisfaction"),
        ("repeat", "repeats", "requests", "prior_repeat"),
    ):
        share = beta_share_quantile(
            frame[num].to_numpy(), frame[den].to_numpy(), frame[prior].to_numpy(), k0, q
        )
        scores[name] = np.minimum(1.0, share / cfg.caps[name])

    # Trend: the place's rate now (lower quantile) against its own rate in the window
    # before (posterior mean), both shrunk toward the prior: a place must rise against
    # itself, with some confidence, not against its neighbours.
    prev_days = np.maximum(frame["previous_days"].to_numpy(dtype=float), 1.0)
    prev_exposure = residents / 10_000 * prev_days / 30
    prior_rate = frame["prior_rate"].to_numpy(dtype=float)
    safe_prior = np.where(prior_rate > 0, prior_rate, 1.0)
    before_mean = (frame["previous_requests"].to_numpy(dtype=float) + k0) / (
        prev_exposure + k0 / safe_prior
    )
    scores["trend"] = np.where(prior_rate > 0, np.clip(rate / before_mean - 1, 0, 1), 0.0)

    out = pd.DataFrame(index=frame.index)
    total = np.zeros(len(frame))
    for name in COMPONENTS:
        weight = float(cfg.weights.get(name, 0.0))
        out[f"score_{name}"] = scores[name]
        out[f"contribution_{name}"] = 100 * weight * scores[name]
        total += out[f"contribution_{name}"].to_numpy()
    out["worry_index"] = np.clip(total, 0, 100)
    return out
