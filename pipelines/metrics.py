"""The metric registry and the rules built on it: intervals, rankings, grid star ratings.

Every governance metric is defined once, in ``metrics.toml`` beside this module: its names
in Chinese and English, unit, definition, numerator and denominator (columns of
``kpi_counts.sql``) and whether higher is better. The SQL marts compute the values; the
dashboard's tiles, the ranking view, the notebook API and docs/metrics.md all read this
registry, so a metric cannot mean one thing on the screen and another in a notebook.

Run ``python -m pipelines.metrics`` to print the registry as the Markdown table that
docs/metrics.md holds between its ``registry`` markers.
"""

from __future__ import annotations

import math
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

REGISTRY_FILE = Path(__file__).with_name("metrics.toml")
Unit = Literal["count", "share", "hours", "per_10k", "index"]
#: Two values closer than this (in the metric's unit) show the same figure and share a rank.
DISPLAY_STEP: dict[str, float] = {
    "count": 1.0,
    "share": 0.001,  # 0.1 percentage point
    "hours": 0.1,
    "per_10k": 0.1,
    "index": 0.1,
}
#: 95 % two-sided normal quantile for Wilson intervals.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Metric:
    """One registry entry (see ``metrics.toml`` for the field meanings)."""

    id: str
    name_zh: str
    name_en: str
    unit: Unit
    higher_is_better: bool
    definition_zh: str
    definition_en: str
    numerator: str | None = None
    denominator: str | None = None
    rankable: bool = False

    def name(self, lang: str) -> str:
        """The metric's name in ``lang`` (Chinese unless ``"en"``)."""
        return self.name_en if lang == "en" else self.name_zh

    def definition(self, lang: str) -> str:
        """The metric's definition in ``lang``."""
        return self.definition_en if lang == "en" else self.definition_zh

    @property
    def has_interval(self) -> bool:
        """True for a share with a count numerator and denominator (Wilson interval)."""
        return self.unit == "share" and self.numerator is not None


@cache
def registry() -> dict[str, Metric]:
    """All metrics by id, in the registry's order."""
    doc = tomllib.loads(REGISTRY_FILE.read_text(encoding="utf-8"))
    out: dict[str, Metric] = {}
    for entry in doc["metric"]:
        m = Metric(**entry)
        if m.id in out:
            raise ValueError(f"metrics.toml: {m.id!r} is defined twice")
        if m.unit not in DISPLAY_STEP:
            raise ValueError(f"metrics.toml: {m.id!r} has unknown unit {m.unit!r}")
        out[m.id] = m
    return out


def metric(metric_id: str) -> Metric:
    """The registry entry ``metric_id``; a clear error for an unknown id."""
    try:
        return registry()[metric_id]
    except KeyError:
        raise KeyError(f"unknown metric {metric_id!r}; known: {list(registry())}") from None


def rankable() -> list[Metric]:
    """Metrics offered in the ranking view, in registry order."""
    return [m for m in registry().values() if m.rankable]


def wilson(successes: Any, trials: Any, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion, element-wise; NaN where ``trials`` is 0.

    Parameters
    ----------
    successes, trials
        Counts (scalars or arrays of the same length).
    z
        Normal quantile (1.96 for 95 %).

    Returns
    -------
    (lower, upper)
        Arrays of bounds in [0, 1].
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


def rank_units(frame: pd.DataFrame, metric_id: str, min_requests: int) -> pd.DataFrame:
    """Rank units on one metric without rewarding tiny samples.

    Rules (docs/metrics.md, "Rankings"): a unit is ranked only with at least
    ``min_requests`` requests and a value; ties are values equal at the displayed precision
    and share the best rank of their group (1, 2, 2, 4); shares carry a 95 % Wilson
    interval so a reader sees when two places cannot be told apart.

    Parameters
    ----------
    frame
        One row per unit with ``unit_id``, ``requests``, the metric's column and, for
        shares, its numerator and denominator columns.
    metric_id
        A registry id.
    min_requests
        The minimum sample (``[sla] rank_min_requests``).

    Returns
    -------
    pandas.DataFrame
        ``unit_id``, ``value``, ``n`` (the denominator, or requests), ``ci_low``,
        ``ci_high``, ``eligible``, ``rank`` (NaN when not eligible), sorted by rank then
        unit id; ineligible units last, largest samples first.
    """
    m = metric(metric_id)
    out = pd.DataFrame({"unit_id": frame["unit_id"].to_numpy()})
    out["value"] = pd.to_numeric(frame[m.id], errors="coerce").to_numpy(dtype=float)
    requests = pd.to_numeric(frame["requests"], errors="coerce").fillna(0).to_numpy()
    if m.has_interval and m.denominator is not None and m.numerator is not None:
        n = pd.to_numeric(frame[m.denominator], errors="coerce").fillna(0).to_numpy()
        k = pd.to_numeric(frame[m.numerator], errors="coerce").fillna(0).to_numpy()
        out["ci_low"], out["ci_high"] = wilson(k, n)
    else:
        n = requests
        out["ci_low"] = np.nan
        out["ci_high"] = np.nan
    out["n"] = n.astype("int64")
    out["eligible"] = (requests >= min_requests) & out["value"].notna()
    step = DISPLAY_STEP[m.unit]
    shown = (out["value"] / step).round()
    key = shown if not m.higher_is_better else -shown
    ranks = key.where(out["eligible"]).rank(method="min")
    out["rank"] = ranks
    out["_key"] = key.where(out["eligible"], np.inf)
    out["_size"] = np.where(out["eligible"], 0, -requests)
    out = out.sort_values(["_key", "_size", "unit_id"], kind="stable")
    out = out.drop(columns=["_key", "_size"])
    return out.reset_index(drop=True)


#: Grid star rating (网格星级): the rates averaged into a 0-100 score, and the score each
#: star count needs. Rates a source lacks (no ratings, no acceptance events) are skipped.
STAR_RATES = ("on_time_rate", "response_rate", "resolution_rate", "satisfaction_rate")
STAR_THRESHOLDS = ((5, 97.0), (4, 94.0), (3, 90.0), (2, 85.0))
STAR_MIN_REQUESTS = 10


def star_score(row: Mapping[str, Any]) -> float | None:
    """The 0-100 performance score behind the stars: the mean of the available rates.

    ``None`` with fewer than ``STAR_MIN_REQUESTS`` requests or fewer than two rates.
    """
    if (row.get("requests") or 0) < STAR_MIN_REQUESTS:
        return None
    values = [_number(row.get(name)) for name in STAR_RATES]
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return None
    return round(100 * sum(present) / len(present), 1)


def stars(score: float | None) -> int | None:
    """Stars for a score: 5 at 97+, 4 at 94+, 3 at 90+, 2 at 85+, else 1; None unrated."""
    if score is None:
        return None
    for count, threshold in STAR_THRESHOLDS:
        if score >= threshold:
            return count
    return 1


def star_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``star_score`` and ``stars`` to rows of unit metrics (see :func:`star_score`)."""
    records = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    scores = [star_score(r) for r in records]
    return frame.assign(
        star_score=pd.array(scores, dtype="Float64"),
        stars=pd.array([stars(s) for s in scores], dtype="Int64"),
    )


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def docs_table(metrics: Iterable[Metric] | None = None) -> str:
    """The registry as the Markdown table of docs/metrics.md."""
    lines = [
        "| id | 中文 | English | unit | numerator ÷ denominator | better | definition |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in metrics if metrics is not None else registry().values():
        ratio = f"`{m.numerator}` ÷ `{m.denominator}`" if m.numerator else ""
        better = "higher" if m.higher_is_better else "lower"
        lines.append(
            f"| `{m.id}` | {m.name_zh} | {m.name_en} | {m.unit} | {ratio} | {better}"
            f" | {m.definition_en} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - documentation helper
    sys.stdout.write(docs_table() + "\n")
