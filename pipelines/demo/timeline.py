"""When things happen in the demo: daily, weekly and seasonal rhythm, holidays, storms."""

from __future__ import annotations

import datetime as dt

import numpy as np

# Official public holidays (法定节假日 incl. bridging days) announced by the State Council.
HOLIDAYS: tuple[tuple[str, str, str], ...] = (
    ("2025-01-01", "2025-01-01", "元旦"),
    ("2025-01-28", "2025-02-04", "春节"),
    ("2025-04-04", "2025-04-06", "清明节"),
    ("2025-05-01", "2025-05-05", "劳动节"),
    ("2025-05-31", "2025-06-02", "端午节"),
    ("2025-10-01", "2025-10-08", "国庆节、中秋节"),
    ("2026-01-01", "2026-01-03", "元旦"),
    ("2026-02-15", "2026-02-23", "春节"),
    ("2026-04-04", "2026-04-06", "清明节"),
    ("2026-05-01", "2026-05-05", "劳动节"),
    ("2026-06-19", "2026-06-21", "端午节"),
    ("2026-09-25", "2026-09-27", "中秋节"),
    ("2026-10-01", "2026-10-07", "国庆节"),
)

# Share of a day's requests in each hour (hotline traffic peaks mid-morning and afternoon).
HOURLY = np.array(
    [
        0.4,
        0.25,
        0.15,
        0.12,
        0.12,
        0.2,
        0.6,
        1.6,
        3.2,
        4.8,
        5.2,
        4.6,
        3.3,
        3.6,
        4.6,
        4.8,
        4.4,
        3.6,
        2.6,
        2.4,
        2.2,
        1.8,
        1.2,
        0.7,
    ]
)
HOURLY = HOURLY / HOURLY.sum()


def demo_days(end: dt.date, n_days: int = 365) -> np.ndarray:
    """The ``n_days`` calendar days ending on ``end`` (inclusive) as datetime64[D]."""
    start = np.datetime64(end) - np.timedelta64(n_days - 1, "D")
    return start + np.arange(n_days).astype("timedelta64[D]")


def holiday_mask(days: np.ndarray) -> np.ndarray:
    """True on official holidays."""
    mask = np.zeros(len(days), dtype=bool)
    for start, stop, _ in HOLIDAYS:
        mask |= (days >= np.datetime64(start)) & (days <= np.datetime64(stop))
    return mask


def day_weights(days: np.ndarray) -> np.ndarray:
    """Relative request volume per day: weekday/weekend, season, holidays."""
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    w = np.where(weekday >= 5, 0.72, 1.0)
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    # Shenzhen's wet season (May-Sep) brings drainage, noise and mosquito complaints.
    season = 1.0 + 0.18 * np.sin((month - 4) / 12 * 2 * np.pi)
    w = w * season
    w = np.where(holiday_mask(days), w * 0.55, w)
    return w / w.sum()


def pick_storm_days(rng: np.random.Generator, days: np.ndarray, n: int = 4) -> np.ndarray:
    """Storm/typhoon days, drawn from the wet season when it lies in the window."""
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    wet = np.flatnonzero((month >= 5) & (month <= 9))
    pool = wet if len(wet) >= n else np.arange(len(days))
    return np.sort(days[rng.choice(pool, size=n, replace=False)])
