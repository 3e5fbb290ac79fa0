"""Backlog playback: the requests open at each moment of the last 12 months, per map cell.

A request is open from its creation until its last close (``fact_request.closed_at``;
through the as-of time when it is open now), except for the closed spells between a
close and a reopen (``backlog_reopen_gap``, where the build has it). It is overdue while
open and past its due time. The ``queries/backlog_cells`` model turns every interval into
+1/-1 events at the moments after its ends, sums them per heatmap cell and moment, and
runs them up over the moments (one pass over ``fact_request``, no scan per moment);
``queries/backlog_gaps`` gives the spells' corrections as events. This module spreads
both into a dense cells × moments matrix.

Moments are the ends of days (midnight) over the 12 months before the data's as-of time,
or every 6 hours when the data span less than :data:`HOURLY_BELOW_DAYS` days: the last
moment is always the as-of time, so the last frame equals the open KPIs of the SLA view.
The dashboard (through ``dashboard.data.read``) and the notebook API (``api.backlog``)
call :func:`backlog` on their own read-only connection, so both show one set of numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.queries import run_query

#: The playback covers at most this much history before the as-of time.
SPAN = dt.timedelta(days=365)
#: Shorter data spans are played every 6 hours instead of once a day.
HOURLY_BELOW_DAYS = 60
DAILY = dt.timedelta(days=1)
SIX_HOURS = dt.timedelta(hours=6)

Counts = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Schedule:
    """The playback's moments: ``count`` instants ``step`` apart, the last at ``last``."""

    last: dt.datetime
    step: dt.timedelta
    count: int

    @property
    def first(self) -> dt.datetime:
        """The first moment."""
        return self.last - (self.count - 1) * self.step

    @property
    def daily(self) -> bool:
        """Whether the moments are the ends of days (else every 6 hours)."""
        return self.step == DAILY

    def moments(self) -> list[dt.datetime]:
        """Every moment, oldest first."""
        return [self.first + k * self.step for k in range(self.count)]


def schedule(as_of: dt.datetime, first_created: dt.datetime | None) -> Schedule:
    """The moments played for data up to ``as_of`` whose first request is ``first_created``.

    Twelve months of ends of days (365 moments, the last at ``as_of``), fewer when the data
    start later; a span under :data:`HOURLY_BELOW_DAYS` days is played every 6 hours.
    """
    start = as_of - SPAN
    if first_created is not None and first_created > start:
        start = dt.datetime.combine(first_created.date(), dt.time())
    span = max(as_of - start, DAILY)
    step = DAILY if span >= dt.timedelta(days=HOURLY_BELOW_DAYS) else SIX_HOURS
    return Schedule(last=as_of, step=step, count=max(math.ceil(span / step), 1))


@dataclass(frozen=True, eq=False)
class Backlog:
    """One unit's backlog at every moment of the playback.

    ``cells`` (``cell_id, ring``, sorted by id) are the rows of ``open`` and ``overdue``
    (cells × moments); requests without a place on the map are counted apart, in
    ``unlocated_open`` and ``unlocated_overdue`` (one value per moment). Arrays are
    read-only: one object is shared by every screen that shows the unit.
    """

    level: str
    unit_id: str
    res: int
    schedule: Schedule
    cells: pd.DataFrame
    open: Counts
    overdue: Counts
    unlocated_open: Counts
    unlocated_overdue: Counts

    @cached_property
    def total_open(self) -> Counts:
        """All the unit's open requests at each moment, located or not."""
        total: Counts = self.open.sum(axis=0, dtype=np.int32) + self.unlocated_open
        total.flags.writeable = False
        return total

    @cached_property
    def total_overdue(self) -> Counts:
        """All the unit's overdue open requests at each moment, located or not."""
        total: Counts = self.overdue.sum(axis=0, dtype=np.int32) + self.unlocated_overdue
        total.flags.writeable = False
        return total

    @property
    def peak(self) -> int:
        """The most requests open in one cell at any moment (the colour scale's top)."""
        return int(self.open.max()) if self.open.size else 0

    def totals(self) -> pd.DataFrame:
        """One row per moment: ``moment, open, overdue, unlocated_open, unlocated_overdue``."""
        return pd.DataFrame(
            {
                "moment": pd.to_datetime(self.schedule.moments()),
                "open": self.total_open,
                "overdue": self.total_overdue,
                "unlocated_open": self.unlocated_open,
                "unlocated_overdue": self.unlocated_overdue,
            }
        )

    def long(self) -> pd.DataFrame:
        """Rows ``moment, cell_id, open, overdue`` for each cell with open requests.

        The unlocated requests are rows with ``cell_id`` None.
        """
        moments = np.array(self.schedule.moments(), dtype="datetime64[us]")
        ids = np.array([*self.cells["cell_id"], None], dtype=object)
        open_ = np.vstack([self.open, self.unlocated_open])
        overdue = np.vstack([self.overdue, self.unlocated_overdue])
        row, k = np.nonzero(open_)
        order = np.lexsort((row, k))
        row, k = row[order], k[order]
        return pd.DataFrame(
            {
                "moment": moments[k],
                "cell_id": ids[row],
                "open": open_[row, k],
                "overdue": overdue[row, k],
            }
        )


def span(con: duckdb.DuckDBPyConnection, unit_id: str | None) -> dict[str, Any] | None:
    """The unit's level and map resolution, the as-of time and the first request's time.

    ``None`` when the build has no unit ``unit_id`` (``None``: the city).
    """
    rows = run_query(con, "backlog_span", {"unit_id": unit_id})
    return None if rows.empty else {str(k): v for k, v in rows.iloc[0].items()}


def backlog(con: duckdb.DuckDBPyConnection, level: str, unit_id: str | None) -> Backlog | None:
    """The backlog playback of the unit ``unit_id`` of ``level`` (``None``: the city).

    Returns
    -------
    Backlog or None
        ``None`` when the build has no such unit at that level.
    """
    info = span(con, None if level == "city" else unit_id)
    if info is None or info["level"] != level:
        return None
    first_created = info["first_created"]
    plan = schedule(
        pd.Timestamp(info["as_of"]).to_pydatetime(),
        None if pd.isna(first_created) else pd.Timestamp(first_created).to_pydatetime(),
    )
    res = int(info["res"])
    params = {
        "unit_id": str(info["unit_id"]),
        "res": res,
        "first": plan.first,
        "step": plan.step.total_seconds(),
        "moments": plan.count,
    }
    changes = run_query(con, "backlog_cells", params)
    gaps = (
        run_query(con, "backlog_gaps", params)
        if bool(run_query(con, "backlog_tables", {})["has_gaps"].iloc[0])
        else changes.iloc[:0].rename(columns={"open": "d_open", "overdue": "d_overdue"})
    )
    cell = changes["cell"].to_numpy(np.int64)
    located = sorted(set(np.unique(cell).tolist()) - {0})
    shapes = run_query(con, "backlog_shapes", {"res": res, "cells": located})
    # rows 0..n-1: the drawn cells by id; row n: the unlocated (a cell without an outline,
    # which no heatmap draws, joins them rather than vanish)
    row = pd.Series(np.arange(len(shapes)), index=shapes["cell"].to_numpy(np.int64))
    open_, overdue = _dense(
        cell,
        row.reindex(cell).fillna(len(shapes)).to_numpy(np.int64),
        changes["k"].to_numpy(np.int64),
        changes[["open", "overdue"]].to_numpy(np.int64),
        rows=len(shapes) + 1,
        moments=plan.count,
        deltas=(
            row.reindex(gaps["cell"].to_numpy(np.int64)).fillna(len(shapes)).to_numpy(np.int64),
            gaps["k"].to_numpy(np.int64),
            gaps[["d_open", "d_overdue"]].to_numpy(np.int64),
        ),
    )
    return Backlog(
        level=level,
        unit_id=str(info["unit_id"]),
        res=res,
        schedule=plan,
        cells=shapes[["cell_id", "ring"]].reset_index(drop=True),
        open=open_[:-1],
        overdue=overdue[:-1],
        unlocated_open=open_[-1],
        unlocated_overdue=overdue[-1],
    )


def _dense(
    key: npt.NDArray[np.int64],
    row: npt.NDArray[np.int64],
    k: npt.NDArray[np.int64],
    values: npt.NDArray[np.int64],
    *,
    rows: int,
    moments: int,
    deltas: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
) -> tuple[Counts, Counts]:
    """Spread change points over every moment, adding up the keys that share a row.

    Each point says: ``key`` holds ``values`` (open, overdue) from moment ``k`` until its
    next point; points come sorted by key, then moment. The steps between a key's points
    are laid down as differences in its ``row``, the ``deltas`` (row, moment, changes) are
    added as they are, and all is summed up along the moments.
    """
    steps = np.zeros((2, rows, moments), np.int64)
    extra_row, extra_k, extra = deltas
    for j in (0, 1):
        np.add.at(steps[j], (extra_row, extra_k), extra[:, j])
    if len(key):
        previous = np.vstack([np.zeros((1, 2), np.int64), values[:-1]])
        previous[np.r_[True, key[1:] != key[:-1]]] = 0
        change = (values - previous).T
        for j in (0, 1):
            np.add.at(steps[j], (row, k), change[j])
    dense = np.cumsum(steps, axis=2).astype(np.int32)
    dense.flags.writeable = False
    return dense[0], dense[1]
