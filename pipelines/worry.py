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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

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
        Residents assumed at least, so a place without a census is not divided by ~0
        (used when the frame gives no ``min_residents``).
    area_density_share
        The pipeline gives each place ``min_residents`` = this share of the city's mean
        density × the place's area: where few or no people live (a park, a port), the
        intensity is per area rather than per (absent) capita, on the same scale.
    severity
        Category weight of a request (1 = an ordinary matter, up to 3), keyed by category
        code or by a category name (zh or en) at any level of the taxonomy; the most
        specific match wins and unlisted categories weigh 1.
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
    area_density_share: float = 1.0
    severity: Mapping[str, float] = field(default_factory=dict)

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
        bad = {k: v for k, v in self.severity.items() if not MIN_SEVERITY <= v <= MAX_SEVERITY}
        if bad:
            raise ValueError(
                f"severity weights must lie in [{MIN_SEVERITY}, {MAX_SEVERITY}]: {bad}"
            )
        for name in (
            "reference_rate",
            "reference_open_rate",
            "prior_requests",
            "population_floor",
            "area_density_share",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if set(self.caps) != {"dissatisfaction", "repeat"} or min(self.caps.values()) <= 0:
            raise ValueError("caps must give a positive share for dissatisfaction and repeat")

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> WorryConfig:
        """Read a spec's ``[worry]`` section (every key optional; unknown keys are errors).

        ``[worry.weights]`` replaces the default weights as a whole (they must sum to 1);
        ``[worry.caps]`` and ``[worry.severity]`` likewise.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"[worry]: unknown keys {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for key, raw in doc.items():
            try:
                if key in ("weights", "caps", "severity"):
                    values[key] = {str(k): float(v) for k, v in dict(raw).items()}
                else:
                    values[key] = float(raw)
            except (TypeError, ValueError):
                raise ValueError(
                    f"[worry] {key} = {raw!r} is not a number (or table of them)"
                ) from None
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for the build's meta table and fingerprints)."""
        return {
            f.name: (dict(v) if isinstance(v := getattr(self, f.name), Mapping) else v)
            for f in fields(self)
        }


#: Bounds of a category's severity weight (1 = ordinary; the severity score is (w − 1) / 2).
MIN_SEVERITY, MAX_SEVERITY = 0.5, 3.0


def severity_table(categories: pd.DataFrame, config: WorryConfig) -> pd.DataFrame:
    """Severity weight of every category code (``code, severity``), from ``config.severity``.

    A key matches a code, or a name at any level (``l1_zh`` … ``l4_en``); when several keys
    match one category the most specific wins (code, then level 4 up to level 1).
    """
    out = pd.DataFrame({"code": categories["code"].astype(str), "severity": 1.0})
    levels: Sequence[str] = [
        f"l{n}_{lang}"
        for n in (1, 2, 3, 4)
        for lang in ("zh", "en")
        if f"l{n}_{lang}" in categories
    ]
    for column in [*levels, "code"]:  # coarse to specific: later matches overwrite
        hit = categories[column].astype(str).map(config.severity)
        out.loc[hit.notna().to_numpy(), "severity"] = hit.dropna().to_numpy(dtype=float)
    return out


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


def backlog_count(frame: pd.DataFrame) -> np.ndarray:
    """Open requests, an overdue one counted twice (``open + overdue_open`` when given)."""
    count = frame["open"].to_numpy(dtype=float)
    if "overdue_open" in frame:
        count = count + frame["overdue_open"].fillna(0).to_numpy(dtype=float)
    return count


def discontent_counts(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Requests rated dissatisfied or reopened, out of those settled (closed, rated or reopened).

    Uses ``discontented`` / ``settled`` when the frame has them, else ``dissatisfied`` /
    ``rated``.
    """
    if "discontented" in frame and "settled" in frame:
        return (
            frame["discontented"].to_numpy(dtype=float),
            frame["settled"].to_numpy(dtype=float),
        )
    return frame["dissatisfied"].to_numpy(dtype=float), frame["rated"].to_numpy(dtype=float)


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
    exposure = _exposure(frame, cfg)
    rate = gamma_rate_quantile(requests, exposure, frame["prior_rate"].to_numpy(), k0, q)
    scores: dict[str, np.ndarray] = {"intensity": rate / (rate + cfg.reference_rate)}
    open_rate = gamma_rate_quantile(
        backlog_count(frame), exposure, frame["prior_open_rate"].to_numpy(), k0, q
    )
    scores["backlog"] = open_rate / (open_rate + cfg.reference_open_rate)

    weights = frame["severity_sum"].to_numpy(dtype=float)
    mean_weight = (weights + k0) / (requests + k0)
    scores["severity"] = np.clip((mean_weight - 1) / 2, 0, 1)

    unhappy, settled = discontent_counts(frame)
    for name, num, den, prior in (
        ("dissatisfaction", unhappy, settled, "prior_dissatisfaction"),
        (
            "repeat",
            frame["repeats"].to_numpy(dtype=float),
            frame["requests"].to_numpy(dtype=float),
            "prior_repeat",
        ),
    ):
        share = beta_share_quantile(num, den, frame[prior].to_numpy(), k0, q)
        scores[name] = np.minimum(1.0, share / cfg.caps[name])

    # Trend: the place's rate now (lower quantile) against its own rate in the window
    # before (posterior mean), both shrunk toward the prior: a place must rise against
    # itself, with some confidence, not against its neighbours. No data before (the first
    # month, the whole year): no trend rather than an apparent rise from nothing.
    prev_days = np.maximum(frame["previous_days"].to_numpy(dtype=float), 1.0)
    prev_exposure = residents(frame, cfg) / 10_000 * prev_days / 30
    prior_rate = frame["prior_rate"].to_numpy(dtype=float)
    safe_prior = np.where(prior_rate > 0, prior_rate, 1.0)
    before_mean = (frame["previous_requests"].to_numpy(dtype=float) + k0) / (
        prev_exposure + k0 / safe_prior
    )
    known_before = (prior_rate > 0) & (frame["previous_days"].to_numpy(dtype=float) > 0)
    scores["trend"] = np.where(known_before, np.clip(rate / before_mean - 1, 0, 1), 0.0)

    out = pd.DataFrame(index=frame.index)
    total = np.zeros(len(frame))
    for name in COMPONENTS:
        weight = float(cfg.weights.get(name, 0.0))
        out[f"score_{name}"] = scores[name]
        out[f"contribution_{name}"] = 100 * weight * scores[name]
        total += out[f"contribution_{name}"].to_numpy()
    out["worry_index"] = np.clip(total, 0, 100)
    return out


#: Columns of a scored place: each component's score and contribution, then the index.
SCORE_COLUMNS = (
    *(f"score_{c}" for c in COMPONENTS),
    *(f"contribution_{c}" for c in COMPONENTS),
    "worry_index",
)


PRIOR_COLUMNS = ("prior_rate", "prior_open_rate", "prior_dissatisfaction", "prior_repeat")


def residents(frame: pd.DataFrame, config: WorryConfig | None = None) -> np.ndarray:
    """Residents a place's rates are counted per.

    Its population, but at least ``min_residents`` (per area, where the frame gives it) or
    else the configured floor.
    """
    cfg = config or WorryConfig()
    population = frame["population"].fillna(0).to_numpy(dtype=float)
    if "min_residents" in frame:
        floor = np.maximum(frame["min_residents"].fillna(0).to_numpy(dtype=float), 1.0)
    else:
        floor = np.full(len(frame), cfg.population_floor)
    return np.maximum(population, floor)


def _exposure(frame: pd.DataFrame, cfg: WorryConfig) -> np.ndarray:
    """Residents (:func:`residents`) × days, in "10,000 residents × 30 days"."""
    days = np.maximum(frame["period_days"].to_numpy(dtype=float), 1.0)
    return residents(frame, cfg) / 10_000 * days / 30


def posterior_means(frame: pd.DataFrame, config: WorryConfig | None = None) -> pd.DataFrame:
    """Posterior mean rates and shares of places whose ``prior_*`` columns are set.

    What a place passes on to its children as their prior: its own figures shrunk toward
    its parent's, so a grid with two requests hands its cells something close to its
    community's rate, not the two requests' apparent rate.
    """
    cfg = config or WorryConfig()
    k0 = cfg.prior_requests
    exposure = _exposure(frame, cfg)
    out = pd.DataFrame(index=frame.index)
    for column, count in (
        ("prior_rate", frame["requests"].to_numpy(dtype=float)),
        ("prior_open_rate", backlog_count(frame)),
    ):
        prior = frame[column].to_numpy(dtype=float)
        ok = np.isfinite(prior) & (prior > 0)
        safe = np.where(ok, prior, 1.0)
        out[column] = np.where(ok, (k0 + count) / (k0 / safe + exposure), 0.0)
    unhappy, settled = discontent_counts(frame)
    for column, num, den in (
        ("prior_dissatisfaction", unhappy, settled),
        (
            "prior_repeat",
            frame["repeats"].to_numpy(dtype=float),
            frame["requests"].to_numpy(dtype=float),
        ),
    ):
        prior = np.nan_to_num(frame[column].to_numpy(dtype=float), nan=0.0)
        out[column] = (k0 * prior + num) / (k0 + den)
    return out


def _own_rates(frame: pd.DataFrame, cfg: WorryConfig) -> pd.DataFrame:
    """A place's raw rates and shares, as the prior of the top of a hierarchy (the city)."""
    exposure = _exposure(frame, cfg)
    unhappy, settled = discontent_counts(frame)
    requests = frame["requests"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "prior_rate": requests / exposure,
                "prior_open_rate": backlog_count(frame) / exposure,
                "prior_dissatisfaction": unhappy / settled,
                "prior_repeat": frame["repeats"].to_numpy(dtype=float) / requests,
            },
            index=frame.index,
        )


def unit_priors(units: pd.DataFrame, config: WorryConfig | None = None) -> pd.DataFrame:
    """Priors of units, top down: each unit's prior is its parent's posterior mean.

    Parameters
    ----------
    units
        One row per unit and period with :func:`score`'s counts plus ``unit_id``,
        ``parent_id``, ``period_id`` and ``depth`` (0 for the city, which is its own prior:
        it is measured on every request there is).
    config
        Prior strength and population floor (defaults: :class:`WorryConfig`).

    Returns
    -------
    pandas.DataFrame
        ``units`` with :data:`PRIOR_COLUMNS` and ``post_*``, the posterior means handed
        down (to child units, and to the cells of the unit's heatmap).
    """
    cfg = config or WorryConfig()
    out = units.copy()
    for column in PRIOR_COLUMNS:
        out[column] = np.nan
    known: pd.DataFrame | None = None  # posterior means by (unit_id, period_id)
    for depth in sorted(out["depth"].dropna().unique()):
        rows = out.index[out["depth"] == depth]
        level = out.loc[rows]
        if known is None:
            priors = _own_rates(level, cfg)
        else:
            keys = pd.MultiIndex.from_arrays([level["parent_id"], level["period_id"]])
            priors = known.reindex(keys).set_axis(rows)
        out.loc[rows, list(PRIOR_COLUMNS)] = priors[list(PRIOR_COLUMNS)].to_numpy()
        post = posterior_means(out.loc[rows], cfg)
        post.index = pd.MultiIndex.from_arrays([level["unit_id"], level["period_id"]])
        known = post if known is None else pd.concat([known, post])
    keys = pd.MultiIndex.from_arrays([out["unit_id"], out["period_id"]])
    found = known[~known.index.duplicated()] if known is not None else None
    for column in PRIOR_COLUMNS:
        target = "post_" + column.removeprefix("prior_")
        out[target] = np.nan if found is None else found.reindex(keys)[column].to_numpy()
    return out


def cell_priors(cells: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Priors of a heatmap's cells: the posterior means of the unit whose map it is.

    ``units`` is :func:`unit_priors`'s result; cells are matched on ``unit_id`` and
    ``period_id``.
    """
    post = units.set_index(["unit_id", "period_id"])[
        ["post_" + c.removeprefix("prior_") for c in PRIOR_COLUMNS]
    ]
    post = post[~post.index.duplicated()]
    keys = pd.MultiIndex.from_arrays([cells["unit_id"], cells["period_id"]])
    found = post.reindex(keys)
    out = cells.copy()
    for column in PRIOR_COLUMNS:
        out[column] = found["post_" + column.removeprefix("prior_")].to_numpy()
    return out
