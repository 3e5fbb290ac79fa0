"""Backlog playback: the requests open at each moment of the last 12 months, per map cell.

A request is open from its creation until its last close (``fact_request.closed_at``;
through the as-of time when it is open now), except for the closed spells between a
close and a reopen (``backlog_reopen_gap``, where the build has it). It is overdue while
open and past its due time. The ``queries/backlog_spans`` model gives every request open
at some moment as its cell and the moment indexes where it opens, closes and turns
overdue (one pass over ``fact_request``); ``queries/backlog_spells`` gives the reopened
requests' closed spells the same way. This module counts both into a dense cells x
moments matrix: one ``bincount`` of the boundaries and a running sum along the moments.

Moments are the ends of days (midnight) over the 12 months before the data's as-of time,
or every 6 hours when the data span less than :data:`HOURLY_BELOW_DAYS` days: the last
moment is always the as-of time, so the last frame equals the open KPIs of the SLA view.
The dashboard (through ``dashboard.data.read``) and the notebook API (``api.backlog``)
call :func:`backlog` on their own read-only connection, so both show one set of numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
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
    spans = run_query(con, "backlog_spans", params)
    has_spells = bool(run_query(con, "backlog_tables", {})["has_gaps"].iloc[0])
    spells = run_query(con, "backlog_spells", params) if has_spells else None
    cell = spans["cell"].to_numpy(np.int64)
    if spells is not None:
        cell = np.concatenate([cell, spells["cell"].to_numpy(np.int64)])
    located = sorted(set(np.unique(cell).tolist()) - {0})
    shapes = run_query(con, "backlog_shapes", {"res": res, "cells": located})
    # rows 0..n-1: the drawn cells by id; row n: the unlocated (a cell without an outline,
    # which no heatmap draws, joins them rather than vanish)
    rows_of = _row_finder(shapes["cell"].to_numpy(np.int64))

    def column(frame: pd.DataFrame, name: str) -> npt.NDArray[np.int64]:
        return frame[name].to_numpy(np.int64)

    # (row, moment index, change of open, change of overdue): the boundaries of every open
    # span, then of every closed spell taken out of one
    at = rows_of(spans["cell"].to_numpy(np.int64))
    bounds = [
        (at, column(spans, "opens"), 1, 0),
        (at, column(spans, "closes"), -1, -1),
        (at, column(spans, "due_k"), 0, 1),
    ]
    if spells is not None:
        at = rows_of(spells["cell"].to_numpy(np.int64))
        bounds += [
            (at, column(spells, "shut"), -1, 0),
            (at, column(spells, "back"), 1, 1),
            (at, column(spells, "due_k"), 0, -1),
        ]
    open_, overdue = _dense(bounds, rows=len(shapes) + 1, moments=plan.count)
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


def _row_finder(
    keys: npt.NDArray[np.int64],
) -> Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]]:
    """Map cells to their row in ``keys`` (``len(keys)`` for a cell not among them)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]

    def rows(cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        if not len(ordered):
            return np.full(len(cells), len(keys), np.int64)
        pos = np.minimum(np.searchsorted(ordered, cells), len(ordered) - 1)
        found: npt.NDArray[np.int64] = np.where(
            ordered[pos] == cells, order[pos], len(keys)
        ).astype(np.int64)
        return found

    return rows


def _dense(
    bounds: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, int]],
    *,
    rows: int,
    moments: int,
) -> tuple[Counts, Counts]:
    """Count open and overdue requests per row and moment from their boundaries.

    Each bound ``(row, k, d_open, d_overdue)`` changes the row's open and overdue counts by
    ``d_open`` and ``d_overdue`` from moment ``k`` on (``k == moments``: after the last
    moment, no change shown). The changes are counted with one ``bincount`` per bound and
    run up along the moments.
    """
    width = moments + 1
    steps = np.zeros((2, rows * width), np.int64)
    for row, k, d_open, d_overdue in bounds:
        if not len(row):
            continue
        counts = np.bincount(row * width + k, minlength=rows * width)
        if d_open:
            steps[0] += d_open * counts
        if d_overdue:
            steps[1] += d_overdue * counts
    dense = np.cumsum(steps.reshape(2, rows, width)[:, :, :moments], axis=2).astype(np.int32)
    dense.flags.writeable = False
    return dense[0], dense[1]
