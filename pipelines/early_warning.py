"""Early warning (未诉先办): daily request counts → seasonal baseline → alerts → episodes.

Pure functions over pandas frames; no I/O. The stage that wires this in provides daily
counts per series (unit × category, or coarse H3 cell × category), zeros included, and the
unit lineage; the functions here do the rest:

1. :func:`baseline` — the expected count of every series on every day, learned only from
   the days before it (weekday, holiday, make-up-day and seasonal aware);
2. :func:`detect` — days whose count is significantly above that expectation (negative
   binomial upper tail), with a severity level;
3. :func:`deduplicate` — alert days of one series merged into episodes with a cool-down;
4. :func:`route` — each alert with the responsible grid, community, street and district;
5. :func:`evaluate` — recall, delay and false alarms against planted spikes.

Severity codes are :data:`WATCH` (关注), :data:`WARNING` (预警) and :data:`SEVERE` (严重);
the UI translates them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pipelines.workcal import WorkCalendar

#: Severity codes of an alert (the UI names them 关注, 预警, 严重).
WATCH, WARNING, SEVERE = 1, 2, 3

#: Kinds of day in the calendar model.
ORDINARY, HOLIDAY, MAKEUP = 0, 1, 2

#: Severity above WATCH: (level, largest p-value, smallest observed / expected ratio).
SEVERITY_RULES: tuple[tuple[int, float, float], ...] = ((WARNING, 1e-7, 2.0), (SEVERE, 1e-10, 4.0))

_SHORT_DAYS = 7  # ordinary days of the pooled trend estimate (see ``baseline``)
_MAX_HOLIDAY_DAYS = 10  # most recent holiday (make-up) days the pooled factor learns from
_COMMON_SD = 0.05  # typical size of a same-day shock common to all series (5 %)
_SETTLED_DAYS = 28  # history after which residuals tell the series' dispersion, not warm-up


def day_kinds(calendar: WorkCalendar, days: Sequence[dt.date] | pd.DatetimeIndex) -> np.ndarray:
    """Kind of each day: :data:`ORDINARY`, :data:`HOLIDAY` or :data:`MAKEUP`.

    A holiday is any day of a run of consecutive non-working days that contains an official
    holiday or a non-working weekday, so the weekend inside 春节 or 国庆 counts as holiday
    (the ``holidays`` package names only some of those days). A make-up day (调休) is a
    Saturday or Sunday the calendar calls working.

    Parameters
    ----------
    calendar
        The city's working-day calendar (:func:`pipelines.workcal.calendar_for`).
    days
        Calendar days, in any order.

    Returns
    -------
    numpy.ndarray
        ``int8`` codes, one per day.
    """
    index = pd.DatetimeIndex(pd.to_datetime(list(days))).normalize()
    if len(index) == 0:
        return np.zeros(0, dtype=np.int8)
    # Pad so that a holiday run crossing the edge of ``days`` is still seen whole.
    start = (index.min() - pd.Timedelta(days=14)).date()
    end = (index.max() + pd.Timedelta(days=14)).date()
    table = calendar.day_table(start, end)
    stamp = pd.DatetimeIndex(pd.to_datetime(table["day"]))
    working = table["is_working"].to_numpy(bool)
    weekend = stamp.day_of_week.to_numpy() >= 5
    special = (~working) & (table["holiday"].notna().to_numpy() | ~weekend)
    run = np.cumsum(working)  # non-working days of one run share a value
    holiday_runs = np.unique(run[special])
    kind = np.full(len(table), ORDINARY, dtype=np.int8)
    kind[(~working) & np.isin(run, holiday_runs)] = HOLIDAY
    kind[working & weekend] = MAKEUP
    where = stamp.get_indexer(index)
    return kind[where]


def baseline(
    daily: pd.DataFrame,
    *,
    calendar: WorkCalendar,
    keys: Sequence[str] = ("unit_id", "category"),
    history_days: int = 56,
    min_history_days: int = 7,
    pool_by: str | None = None,
) -> pd.DataFrame:
    """Expected count of every series on every day, from the days before it only.

    The model is multiplicative, ``expected = level × trend × calendar``:

    * **calendar** — weekday factors (each weekday's mean over the last twelve weeks of
      ordinary days, relative to the week's mean), times a holiday factor on holidays and
      a make-up-day factor on make-up days (:func:`day_kinds`; a make-up day starts from
      the busier of a working weekday and its own weekday). All are pooled over the series,
      so a sparse series gets them too. The holiday (make-up) factor is observed / expected
      pooled totals on the last ten holiday (make-up) days; until one is seen it is 1, the
      cautious side (a first holiday is expected busy, so it cannot raise alarms), and it
      learns from the first holiday day on.
    * **level** — the series' mean calendar-adjusted count over its last ``history_days``
      ordinary days (holidays and make-up days left out, so a holiday factor still being
      learned cannot drag the weeks after it), plus half a request, so a series with an
      empty history expects a little.
    * **trend** — a window's mean lags the season by half a window: the pooled adjusted
      totals (of the ``pool_by`` group, shrunk toward all series) of the last seven ordinary
      days against the level window give a slope, extrapolated to the day.

    Besides, ``common`` is a same-day factor for :func:`detect`: observed / expected of the
    *other* series (of the group) on that day, shrunk toward 1 by its sampling variance,
    bounded to [0.5, 2]. It absorbs what all series share that day (the demo's monthly
    season steps, a holiday whose factor is still being learned, a mild city-wide rise),
    so an alert means "unusual here", not "busy everywhere". It is kept apart so that
    ``expected`` stays a forecast.

    Robustness: the model is fitted twice; before the second fit each count is clipped at
    three standard deviations above the first fit (with a pooled dispersion found on
    clipped counts), so past spikes and storms inflate neither a series' level nor the
    pooled factors, and the clipped days are left out of the dispersion (a causal
    stand-in for "leave out past alert days").

    Dispersion (for :func:`detect`): a negative-binomial ``alpha`` (variance =
    ``expected + alpha·expected²``) per series, from its residuals over the last
    ``history_days`` days (those with four weeks of history: warm-up errors are no
    overdispersion) shrunk toward the pooled value by empirical Bayes, plus the relative
    variances of the level (1 / requests in the window) and of ``common``.

    Parameters
    ----------
    daily
        Long frame: ``keys`` columns, ``day`` and ``count`` (missing series-days are zero).
    calendar
        The city's working-day calendar.
    keys
        Columns naming a series.
    history_days
        Length of the level window.
    min_history_days
        Days of data before the first expectation (``NaN`` before; no alert then).
    pool_by
        A key column whose groups get their own trend and common factor (e.g. the
        category), or ``None``.

    Returns
    -------
    pandas.DataFrame
        One row per series and day (the full grid): ``keys``, ``day``, ``count``,
        ``expected``, ``common`` and ``dispersion``.
    """
    keys = list(keys)
    panel = _Panel.from_long(daily, keys)
    counts = panel.counts
    kinds = day_kinds(calendar, panel.days)
    dow = panel.days.day_of_week.to_numpy()
    groups = _group_codes(panel.series, pool_by)
    n_days = counts.shape[1]
    seen = np.minimum(np.arange(n_days), history_days)
    warm = seen < max(min_history_days, 1)
    settled = seen >= min(_SETTLED_DAYS, history_days)
    mu1 = _fit(counts, kinds, dow, groups, history_days)
    cap = _spike_cap(counts, mu1, settled, history_days)
    cap[:, warm] = np.inf
    clipped = np.minimum(counts, cap)
    mu = _fit(clipped, kinds, dow, groups, history_days)
    mu[:, warm] = np.nan
    common, common_var = _common_factor(clipped, mu, groups)
    level_var = 1.0 / (_trailing_sum(clipped, history_days) + 1.0) + common_var
    usable = np.where(counts <= cap, mu * common, np.nan)
    alpha = _dispersion(counts, np.where(settled, usable, np.nan), level_var, history_days)
    # Until two weeks of settled residuals exist, the warm-up's own residuals (inflated by
    # its larger errors: the cautious side) stand in.
    early = np.arange(n_days) < min(_SETTLED_DAYS, history_days) + 14
    alpha[:, early] = _dispersion(counts, usable, level_var, history_days)[:, early]
    return panel.to_long(expected=mu, common=common, dispersion=alpha + level_var)


def detect(
    daily: pd.DataFrame,
    *,
    keys: Sequence[str] = ("unit_id", "category"),
    p_threshold: float = 1e-4,
    min_count: int = 5,
    min_ratio: float = 1.5,
    windows: Sequence[int] = (1, 2),
    severity: Sequence[tuple[int, float, float]] = SEVERITY_RULES,
) -> pd.DataFrame:
    """Alert days: counts significantly above the baseline.

    The day's expectation is ``expected × common`` (the baseline's forecast times the
    same-day factor shared by the other series). For each window length *w* in ``windows``
    the count of the last *w* days is compared with the sum of their expectations under a
    negative binomial with the series'
    ``dispersion``; the day's p-value is the smallest over windows times their number
    (Bonferroni), so a spike too weak to stand out in one day is caught on its second.
    A day alerts when that p-value is below ``p_threshold``, the day itself has at least
    ``min_count`` requests and at least ``min_ratio`` times its expectation (so 2 against
    0.3 is no alert, and the day after a spike does not alert on the spike's account).

    Severity is :data:`WATCH` for every alert, raised to the highest level of ``severity``
    (level, p-value at most, ratio at least) that the day meets.

    Parameters
    ----------
    daily
        Output of :func:`baseline`.
    keys
        Columns naming a series.
    p_threshold
        Largest p-value that alerts. The false-alarm rate per series-day stays below it
        (measured on synthetic series: about a fifth of it; far less for sparse series,
        whose counts rarely reach ``min_count``).
    min_count
        Fewest requests on the day for an alert.
    min_ratio
        Smallest ratio of the day's count to its expectation for an alert.
    windows
        Window lengths in days.
    severity
        Rules ``(level, p at most, ratio at least)`` raising an alert above WATCH.

    Returns
    -------
    pandas.DataFrame
        One row per alert day: ``keys``, ``day``, ``count``, ``expected`` (with the
        common factor), ``ratio`` (count / expected), ``p_value``, ``severity``, sorted by
        series and day.
    """
    keys = list(keys)
    panel = _Panel.from_long(daily, keys, values=("expected", "common", "dispersion"))
    counts = panel.counts
    mu = panel.values["expected"] * np.nan_to_num(panel.values["common"], nan=1.0)
    alpha = np.nan_to_num(panel.values["dispersion"], nan=0.0)
    ratio = counts / np.maximum(mu, 1e-9)
    candidate = np.isfinite(mu) & (counts >= min_count) & (ratio >= min_ratio)
    rows, cols = np.nonzero(candidate)
    p = np.ones(len(rows))
    for w in windows:
        obs = np.zeros(len(rows))
        exp = np.zeros(len(rows))
        for lag in range(w):
            ok = cols - lag >= 0
            r, c = rows[ok], cols[ok]
            before = mu[r, c - lag]
            obs[ok] += counts[r, c - lag]
            exp[ok] += np.where(np.isfinite(before), before, mu[r, c])
        p = np.minimum(p, _nb_sf(obs, exp, alpha[rows, cols]))
    p = np.minimum(p * len(windows), 1.0)
    hit = p < p_threshold
    rows, cols, p = rows[hit], cols[hit], p[hit]
    level = np.full(len(rows), WATCH, dtype=np.int8)
    r = ratio[rows, cols]
    for code, p_max, ratio_min in sorted(severity):
        level[(p <= p_max) & (r >= ratio_min)] = code
    out = panel.series.iloc[rows].reset_index(drop=True)
    out["day"] = panel.days[cols]
    out["count"] = counts[rows, cols].astype(np.int64)
    out["expected"] = mu[rows, cols]
    out["ratio"] = r
    out["p_value"] = p
    out["severity"] = level
    return out.sort_values([*keys, "day"], ignore_index=True)


def deduplicate(
    alerts: pd.DataFrame,
    *,
    keys: Sequence[str] = ("unit_id", "category"),
    cooldown_days: int = 3,
) -> pd.DataFrame:
    """Alert days of one series merged into episodes.

    An alert day joins the series' open episode when it comes at most ``cooldown_days``
    days after the episode's last alert day (consecutive days always join); a later one
    opens a new episode. Joining never opens a second alert: it can only raise the open
    episode's severity (``escalated`` is the day its highest severity was first reached).

    Parameters
    ----------
    alerts
        Output of :func:`detect`.
    keys
        Columns naming a series.
    cooldown_days
        Quiet days after an alert within which a new alert only escalates the episode.

    Returns
    -------
    pandas.DataFrame
        One row per episode: ``keys``, ``episode`` (1, 2, … per series), ``start``,
        ``end`` (first and last alert day), ``alert_days``, ``peak_day``, ``peak_count``,
        ``peak_expected`` (the day of the largest excess over expectation), ``requests``
        (count on alert days), ``excess`` (requests above expectation on alert days),
        ``first_severity``, ``severity`` (the highest), ``escalated`` and ``min_p``.
    """
    keys = list(keys)
    columns = [
        *keys,
        "episode",
        "start",
        "end",
        "alert_days",
        "peak_day",
        "peak_count",
        "peak_expected",
        "requests",
        "excess",
        "first_severity",
        "severity",
        "escalated",
        "min_p",
    ]
    if alerts.empty:
        return pd.DataFrame(columns=columns)
    a = alerts.sort_values([*keys, "day"], ignore_index=True)
    day = pd.DatetimeIndex(pd.to_datetime(a["day"]))
    same = np.ones(len(a), dtype=bool)
    for k in keys:
        col = a[k].to_numpy()
        same[1:] &= col[1:] == col[:-1]
    same[0] = False
    gap = np.zeros(len(a), dtype=np.int64)
    gap[1:] = (day[1:] - day[:-1]).days
    new = ~same | (gap > cooldown_days + 1)
    a["_episode"] = np.cumsum(new)
    a["_excess"] = a["count"] - a["expected"]
    a["_day"] = day
    g = a.groupby("_episode", sort=True)
    peak = a.loc[g["_excess"].idxmax()].set_index("_episode")
    top = g["severity"].transform("max")
    escalated = a[a["severity"] == top].groupby("_episode")["_day"].min()
    out = g[keys].first()
    out["start"] = g["_day"].min()
    out["end"] = g["_day"].max()
    out["alert_days"] = g.size()
    out["peak_day"] = peak["_day"]
    out["peak_count"] = peak["count"]
    out["peak_expected"] = peak["expected"]
    out["requests"] = g["count"].sum()
    out["excess"] = g["_excess"].sum()
    out["first_severity"] = g["severity"].first()
    out["severity"] = g["severity"].max()
    out["escalated"] = escalated
    out["min_p"] = g["p_value"].min()
    out["episode"] = out.groupby(keys, sort=False).cumcount() + 1
    return out.reset_index(drop=True)[columns]


def route(
    alerts: pd.DataFrame,
    lineage: pd.DataFrame,
    *,
    unit_col: str = "unit_id",
    cell_col: str = "cell",
    cell_leaf: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Alerts (or episodes) with the responsible unit at every level.

    A unit alert goes to that unit and its ancestors (levels below it stay empty: a
    community alert has no single grid chief). A cell alert goes to the cell's leaf unit
    (e.g. the grid) and its ancestors; ``cell_leaf`` maps cells to leaves, and where a cell
    has several, the one with the largest ``weight`` (e.g. the share of the cell's
    requests or area) is responsible.

    Parameters
    ----------
    alerts
        Rows with ``unit_col`` (unit alerts) or ``cell_col`` (cell alerts, with
        ``cell_leaf``).
    lineage
        :func:`pipelines.levels.unit_lineage`: ``hierarchy``, ``leaf_id``, ``depth``,
        ``unit_id``, ``child_id``, ``level``.
    unit_col
        Column of ``alerts`` with the unit id.
    cell_col
        Column of ``alerts`` with the cell id (when ``cell_leaf`` is given).
    cell_leaf
        ``cell``, ``leaf_id`` and optionally ``weight``; ``None`` for unit alerts.

    Returns
    -------
    pandas.DataFrame
        ``alerts`` with ``hierarchy``, ``route_level`` (level of the alert's own unit) and
        one column per level of the lineage (``district``, ``street``, ``community``,
        ``grid`` in the demo) holding the responsible unit's id, in lineage depth order.
    """
    lin = lineage[["hierarchy", "leaf_id", "depth", "unit_id", "level"]]
    levels = lin.drop_duplicates("level").sort_values(["hierarchy", "depth"])["level"].tolist()
    # One leaf below each unit is enough to read the unit's ancestors off the lineage.
    own = lin.drop_duplicates(["hierarchy", "unit_id"]).rename(
        columns={"depth": "own_depth", "level": "route_level"}
    )
    up = own.merge(lin, on=["hierarchy", "leaf_id"], suffixes=("", "_anc"))
    up = up[up["depth"] <= up["own_depth"]]
    wide = up.pivot_table(
        index=["hierarchy", "unit_id", "route_level"],
        columns="level",
        values="unit_id_anc",
        aggfunc="first",
    ).reset_index()
    wide.columns.name = None
    for lvl in levels:
        if lvl not in wide.columns:
            wide[lvl] = pd.NA
    wide = wide[["unit_id", "hierarchy", "route_level", *levels]].astype("string")
    out = alerts.copy()
    if cell_leaf is not None:
        cl = cell_leaf.copy()
        if "weight" not in cl.columns:
            cl["weight"] = 1.0
        cl = cl.sort_values(["cell", "weight", "leaf_id"], ascending=[True, False, True])
        leaf_of = cl.drop_duplicates("cell").set_index("cell")["leaf_id"]
        key = out[cell_col].map(leaf_of).astype("string")
    else:
        key = out[unit_col].astype("string")
    joined = pd.DataFrame({"unit_id": key.to_numpy()}).merge(wide, on="unit_id", how="left")
    for col in ["hierarchy", "route_level", *levels]:
        out[col] = joined[col].to_numpy()
    return out


@dataclass(frozen=True)
class Evaluation:
    """Detection quality of episodes against planted spikes (see :func:`evaluate`)."""

    spikes: int
    detected: int
    recall: float
    median_delay_days: float
    false_alarms: int
    false_alarms_per_30_days: float
    matches: pd.DataFrame


def evaluate(
    episodes: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    keys: Sequence[str] = ("unit_id", "category"),
    n_series: int,
    n_days: int,
    max_delay_days: int = 1,
    grace_days: int = 2,
    known: pd.DataFrame | None = None,
) -> Evaluation:
    """Recall, detection delay and false alarms of episodes against planted spikes.

    A spike (``keys``, ``start``, ``end``) is detected when an episode of its series
    overlaps it; the delay is the days from the spike's start to the episode's start (0
    when the episode was already open) and counts within ``max_delay_days``. An episode
    overlapping no spike (each extended by ``grace_days`` after its end) and no ``known``
    event is a false alarm; ``known`` holds other planted or real events (storms,
    persistent hotspots) with the same columns, where a missing key matches every value.

    Parameters
    ----------
    episodes
        Output of :func:`deduplicate`.
    truth
        Planted spikes: ``keys``, ``start``, ``end`` (days, inclusive), optionally ``id``.
    keys
        Columns naming a series; the spikes must be mapped to them (e.g. the spike's grid
        to its street).
    n_series
        How many series (or units, for a rate per street) the false alarms are spread over.
    n_days
        Days the episodes were searched in.
    max_delay_days
        Largest delay that counts as detected.
    grace_days
        Days after a spike during which an episode still belongs to it.
    known
        Other events whose episodes are neither detections nor false alarms.

    Returns
    -------
    Evaluation
        Counts, rates and ``matches`` (one row per spike with its ``delay``, NaN when
        missed).
    """
    keys = list(keys)
    ep = episodes.reset_index(drop=True).copy()
    ep["start"] = pd.to_datetime(ep["start"])
    ep["end"] = pd.to_datetime(ep["end"])
    tr = truth.reset_index(drop=True).copy()
    tr["start"] = pd.to_datetime(tr["start"])
    tr["end"] = pd.to_datetime(tr["end"])
    tr["_spike"] = np.arange(len(tr))
    ep["_episode"] = np.arange(len(ep))
    pairs = tr.merge(ep[[*keys, "start", "end", "_episode"]], on=keys, suffixes=("", "_ep"))
    grace = pd.Timedelta(days=grace_days)
    overlap = (pairs["start_ep"] <= pairs["end"] + grace) & (pairs["end_ep"] >= pairs["start"])
    pairs = pairs[overlap]
    hit = pairs[pairs["start_ep"] <= pairs["end"]].copy()
    hit["delay"] = (hit["start_ep"].clip(lower=hit["start"]) - hit["start"]).dt.days
    delay = hit.groupby("_spike")["delay"].min()
    matches = tr.drop(columns="_spike").assign(delay=tr["_spike"].map(delay).astype(float))
    detected = int((matches["delay"] <= max_delay_days).sum())
    explained = np.zeros(len(ep), dtype=bool)
    explained[pairs["_episode"].to_numpy()] = True
    if known is not None:
        for _, event in known.iterrows():
            mask = (ep["start"] <= pd.Timestamp(event["end"]) + grace) & (
                ep["end"] >= pd.Timestamp(event["start"])
            )
            for k in keys:
                if k in event.index and pd.notna(event[k]):
                    mask &= ep[k] == event[k]
            explained |= mask.to_numpy()
    false_alarms = int((~explained).sum())
    exposure = n_series * n_days / 30.0
    found = matches["delay"].dropna()
    return Evaluation(
        spikes=len(tr),
        detected=detected,
        recall=detected / len(tr) if len(tr) else float("nan"),
        median_delay_days=float(found.median()) if len(found) else float("nan"),
        false_alarms=false_alarms,
        false_alarms_per_30_days=false_alarms / exposure if exposure else float("nan"),
        matches=matches,
    )


# --- internals ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Panel:
    """Series × day matrices of a long frame."""

    series: pd.DataFrame  # one row per series: the key columns
    days: pd.DatetimeIndex
    counts: np.ndarray  # float, series × days
    values: dict[str, np.ndarray]

    @classmethod
    def from_long(cls, frame: pd.DataFrame, keys: list[str], values: Sequence[str] = ()) -> _Panel:
        day = pd.DatetimeIndex(pd.to_datetime(frame["day"])).normalize()
        if len(day) == 0:
            raise ValueError("no daily counts")
        days = pd.date_range(day.min(), day.max(), freq="D")
        codes, series = _factorize(frame, keys)
        col = ((day - days[0]) // pd.Timedelta(days=1)).to_numpy()
        shape = (len(series), len(days))
        counts = np.zeros(shape)
        np.add.at(counts, (codes, col), frame["count"].to_numpy(dtype=float))
        mats = {}
        for name in values:
            m = np.full(shape, np.nan)
            m[codes, col] = frame[name].to_numpy(dtype=float)
            mats[name] = m
        return cls(series, days, counts, mats)

    def to_long(self, **matrices: np.ndarray) -> pd.DataFrame:
        n_series, n_days = self.counts.shape
        out = self.series.loc[self.series.index.repeat(n_days)].reset_index(drop=True)
        out["day"] = np.tile(self.days.to_numpy(), n_series)
        out["count"] = self.counts.reshape(-1).astype(np.int64)
        for name, m in matrices.items():
            out[name] = m.reshape(-1)
        return out


def _factorize(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Series code of each row and the distinct series (sorted by key)."""
    series = frame[keys].drop_duplicates().sort_values(keys, ignore_index=True)
    index = pd.MultiIndex.from_frame(series)
    codes = index.get_indexer(pd.MultiIndex.from_frame(frame[keys]))
    return codes, series


def _group_codes(series: pd.DataFrame, pool_by: str | None) -> np.ndarray:
    if pool_by is None:
        return np.zeros(len(series), dtype=np.int64)
    codes, _ = pd.factorize(series[pool_by])
    return np.asarray(codes, dtype=np.int64)


def _trailing_sum(m: np.ndarray, window: int) -> np.ndarray:
    """Sum of each row over the ``window`` days before each day (the day excluded)."""
    c = np.zeros((m.shape[0], m.shape[1] + 1))
    np.cumsum(np.nan_to_num(m), axis=1, out=c[:, 1:])
    t = np.arange(m.shape[1])
    return c[:, t] - c[:, np.maximum(t - window, 0)]


def _ordinary_window(
    m: np.ndarray, ordinary: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum of ``m`` over the last ``n`` ordinary days before each day, their number and age.

    Counting ordinary days rather than calendar days keeps a window meaningful after a long
    holiday. The age is the days from their mean date to the day.
    """
    n_days = m.shape[1]
    pos = np.flatnonzero(ordinary)
    k = np.concatenate([[0], np.cumsum(ordinary)[:-1]])  # ordinary days before each day
    lo = np.maximum(k - n, 0)
    c = np.zeros((m.shape[0], len(pos) + 1))
    np.cumsum(m[:, pos], axis=1, out=c[:, 1:])
    stamp = np.concatenate([[0.0], np.cumsum(pos, dtype=float)])
    count = (k - lo).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        age = np.arange(n_days) - (stamp[k] - stamp[lo]) / count
    return c[:, k] - c[:, lo], count, age


def _trend(adj: np.ndarray, ordinary: np.ndarray, history_days: int) -> np.ndarray:
    """Extrapolated ratio of the level on each day to the level of the window before it.

    ``adj`` is calendar-adjusted totals (rows: groups). The mean of the last few ordinary
    days and of the window's sit at their mean dates; the line through them, taken to the
    day.
    """
    n_long = history_days
    long, c_long, age_long = _ordinary_window(adj, ordinary, n_long)
    short, c_short, age_short = _ordinary_window(adj, ordinary, _SHORT_DAYS)
    with np.errstate(divide="ignore", invalid="ignore"):
        long, short = long / c_long, short / c_short
        slope = (short - long) / np.maximum(age_long - age_short, 1.0)
        ratio = (short + slope * age_short) / long
    ok = (c_long >= 3 * _SHORT_DAYS) & np.isfinite(ratio) & (long > 0)
    return np.where(ok, np.clip(ratio, 0.5, 2.0), 1.0)


def _calendar_factors(
    total: np.ndarray, kinds: np.ndarray, dow: np.ndarray, history_days: int
) -> np.ndarray:
    """Pooled calendar factor of each day from the pooled totals before it.

    Weekday factors from the last twelve weeks of ordinary days; holiday and make-up-day
    factors from the last ten such days, each observed total against the one the weekday
    factor and the level (mean adjusted total of recent ordinary days) predicted, with a
    quarter day's worth of "no effect" as the prior.
    """
    n_days = len(total)
    factor_days = 84
    ordinary = kinds == ORDINARY
    # Weekday means over the ordinary days of the last ``factor_days`` days.
    by_dow = np.zeros((7, n_days))
    n_dow = np.zeros((7, n_days))
    by_dow[dow[ordinary], np.flatnonzero(ordinary)] = total[ordinary]
    n_dow[dow[ordinary], np.flatnonzero(ordinary)] = 1.0
    s = _trailing_sum(by_dow, factor_days)
    n = _trailing_sum(n_dow, factor_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = s / n
        weekly = means / means.mean(axis=0, keepdims=True)
    ready = (n >= 1).all(axis=0) & (means.mean(axis=0) > 0)
    weekday = np.where(ready[None, :], weekly, 1.0)  # 7 × days
    workday = weekday[:5].mean(axis=0)
    factor = np.ones(n_days)
    adjusted = np.zeros(n_days)
    learned: dict[int, list[tuple[float, float]]] = {HOLIDAY: [], MAKEUP: []}
    for t in range(n_days):
        kind = int(kinds[t])
        # Before any holiday (make-up day) is seen: as busy as an ordinary weekday.
        ref = weekday[dow[t], t] if kind != MAKEUP else max(workday[t], weekday[dow[t], t])
        lo = max(0, t - history_days)
        window = adjusted[lo:t][ordinary[lo:t]]
        level = window.mean() if len(window) else np.nan
        prior = ref * level if np.isfinite(level) else np.nan
        if kind == ORDINARY:
            factor[t] = ref
        else:
            seen = learned[kind][-_MAX_HOLIDAY_DAYS:]
            obs = sum(o for o, _ in seen)
            exp = sum(e for _, e in seen)
            weight = 0.25 * prior if np.isfinite(prior) else 0.0  # a quarter day's worth
            factor[t] = ref * (obs + weight) / (exp + weight) if exp + weight > 0 else ref
            if np.isfinite(prior) and prior > 0:
                learned[kind].append((float(total[t]), float(prior)))
        adjusted[t] = total[t] / factor[t] if factor[t] > 0 else 0.0
    return factor


def _fit(
    counts: np.ndarray,
    kinds: np.ndarray,
    dow: np.ndarray,
    groups: np.ndarray,
    history_days: int,
) -> np.ndarray:
    """Expected counts (series × days) under the model of :func:`baseline`."""
    factor = _calendar_factors(counts.sum(axis=0), kinds, dow, history_days)
    adj = counts / np.where(factor > 0, factor, 1.0)[None, :]
    n_days = counts.shape[1]
    # The level is learned on ordinary days only: a holiday whose factor was still being
    # learned must not drag the level of the weeks after it.
    ordinary = kinds == ORDINARY
    total, n_win, _ = _ordinary_window(adj, ordinary, history_days)
    level = (total + 0.5) / np.maximum(n_win, 1)
    pooled = adj.sum(axis=0, keepdims=True)
    trend_all = _trend(pooled, ordinary, history_days)
    n_groups = int(groups.max()) + 1 if len(groups) else 1
    if n_groups > 1:
        by_group = np.zeros((n_groups, n_days))
        np.add.at(by_group, groups, adj)
        trend_group = _trend(by_group, ordinary, history_days)
        # Shrink a small group's trend toward all series' (100 requests = half weight).
        weight = _trailing_sum(by_group, _SHORT_DAYS)
        weight = weight / (weight + 100.0)
        trend = weight * trend_group + (1 - weight) * trend_all
        trend = trend[groups]
    else:
        trend = np.broadcast_to(trend_all, counts.shape)
    return level * trend * factor[None, :]


def _spike_cap(
    counts: np.ndarray, mu: np.ndarray, settled: np.ndarray, history_days: int
) -> np.ndarray:
    """Upper bound of a plausible count: 3 standard deviations above ``mu``, plus 2.

    The dispersion behind it is pooled (a series' own spike must not widen its own bound),
    learned on settled days, and found on counts clipped at a Poisson bound first, then at
    the bound it gives, so spikes in sparse series cannot inflate it while overdispersion
    still widens it.
    """
    level_var = 1.0 / (_trailing_sum(counts, history_days) + 1.0)
    learn = np.where(settled, mu, np.nan)
    sd = np.sqrt(mu)
    for _ in range(2):
        within = np.minimum(counts, np.ceil(mu + 3.0 * sd + 2.0))
        alpha = _dispersion(within, learn, level_var, history_days, own=False)
        sd = np.sqrt(mu + (alpha + level_var) * mu**2)
    return np.ceil(mu + 3.0 * sd + 2.0)


def _common_factor(
    clipped: np.ndarray, mu: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Same-day observed / expected of the *other* series (of the group), and its variance.

    A common shock (a seasonal step, a holiday whose factor is still being learned) moves
    all series alike. The ratio of the other series' clipped counts to their expectation
    measures it; leaving the series out keeps its own spike from explaining itself away.
    The ratio is shrunk toward 1 by its Poisson sampling variance against shocks of
    ``_COMMON_SD`` (a group's toward all series'), bounded to [0.5, 2]; the variance left
    (relative) is returned for the dispersion.
    """
    ok = np.isfinite(mu)
    x = np.where(ok, clipped, 0.0)
    m = np.where(ok, mu, 0.0)
    prior = _COMMON_SD**2

    def shrink(
        obs: np.ndarray, exp: np.ndarray, toward: np.ndarray | float, var0: float
    ) -> tuple[np.ndarray, np.ndarray]:
        # Posterior of a ratio with prior (toward, var0) and Poisson sampling variance 1/exp.
        exp = np.maximum(exp, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(exp > 0, obs / exp, 1.0)
        weight = var0 * exp / (var0 * exp + 1.0)
        return toward + weight * (raw - toward), var0 / (var0 * exp + 1.0)

    every, var = shrink(x.sum(axis=0) - x, m.sum(axis=0) - m, 1.0, prior)
    n_groups = int(groups.max()) + 1 if len(groups) else 1
    if n_groups > 1:
        gx = np.zeros((n_groups, x.shape[1]))
        gm = np.zeros((n_groups, x.shape[1]))
        np.add.at(gx, groups, x)
        np.add.at(gm, groups, m)
        every, var = shrink(gx[groups] - x, gm[groups] - m, every, prior)
    common = np.where(ok, np.clip(every, 0.5, 2.0), np.nan)
    return common, np.where(ok, var, 0.0)


def _dispersion(
    counts: np.ndarray, mu: np.ndarray, level_var: np.ndarray, window: int, *, own: bool = True
) -> np.ndarray:
    """Negative-binomial alpha per series and day from the residuals before the day.

    The alpha beyond the level's own uncertainty (``level_var``, relative variance, which
    the residuals also hold): each series' moment estimate
    ``Σ((x − μ)² − x − level_var·μ²) / Σμ²`` is shrunk toward the pooled one
    by empirical Bayes: by its sampling variance (``Σ(2μ² + μ) / (Σμ²)²`` under Poisson)
    against the spread of the true alphas across series, so a sparse series takes the pooled
    value and a dense, really bursty one keeps its own.
    """
    ok = np.isfinite(mu)
    m = np.where(ok, mu, 0.0)
    excess = (counts - m) ** 2 - counts - level_var * m * m
    num = _trailing_sum(np.where(ok, excess, 0.0), window)
    den = _trailing_sum(m * m, window)
    var = _trailing_sum(2 * m * m + m, window)
    has = den > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.nan_to_num(np.clip(num.sum(axis=0) / den.sum(axis=0), 0.0, None))
    if not own:
        return np.broadcast_to(pooled, counts.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        mine = np.where(has, num / den, 0.0)
        sampling = np.where(has, var / den**2, np.inf)
        # The median, not the mean: a few series with a spike in the window must not make
        # every series trust its own estimate.
        gaps = np.where(has, (mine - pooled) ** 2 - sampling, np.inf)
        spread = np.median(gaps, axis=0)  # inf where most series have no residuals yet
    spread = np.clip(np.where(np.isfinite(spread), spread, 0.0), 1e-6, None)[None, :]
    weight = np.where(has, spread / (spread + sampling), 0.0)
    return np.clip(pooled + weight * (mine - pooled), 0.0, None)


def _nb_sf(obs: np.ndarray, mean: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """P(X ≥ obs) for X negative binomial with ``mean`` and variance mean + alpha·mean²."""
    out = np.ones(len(obs))
    mean = np.maximum(mean, 1e-9)
    poisson = alpha < 1e-8
    out[poisson] = stats.poisson.sf(obs[poisson] - 1, mean[poisson])
    nb = ~poisson
    size = 1.0 / alpha[nb]
    out[nb] = stats.nbinom.sf(obs[nb] - 1, size, size / (size + mean[nb]))
    return out
