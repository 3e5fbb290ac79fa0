"""Publish: check the new build, then serve it by atomically switching ``CURRENT``.

Inputs:  the build named in ``04_warehouse/PENDING``
Outputs: ``04_warehouse/builds/<build>.duckdb`` and ``04_warehouse/CURRENT``

Until the rename of ``CURRENT`` nothing the app reads has changed, so a failed or killed
build leaves the previous warehouse serving. Old builds beyond ``keep_builds`` are removed.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb

from pipelines import catalog, db
from pipelines.settings import Settings
from pipelines.stages.aggregate import pending_path

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The new build failed a check; the previous build keeps serving."""


def current_build(settings: Settings) -> str | None:
    """Name of the build being served, or ``None``."""
    file = catalog.path(settings, "warehouse_current")
    return file.read_text().strip() if file.is_file() else None


def current_fingerprint(settings: Settings) -> str | None:
    """Input fingerprint of the served build (``None`` when nothing is served)."""
    build = current_build(settings)
    if not build:
        return None
    path = catalog.path(settings, "warehouse_builds") / f"{build}.duckdb"
    if not path.is_file():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchall()
    return rows[0][0] if rows else None


def check_reconciliation(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Problems where a level's units (unassigned included) do not sum to the city."""
    rows = con.execute("""
        WITH city AS (
            SELECT period_id, requests, closed, open, overdue FROM mart_unit_kpi
            WHERE level = 'city'
        ), levels AS (
            SELECT level, period_id, sum(requests) AS requests, sum(closed) AS closed,
                   sum(open) AS open, sum(overdue) AS overdue
            FROM mart_unit_kpi WHERE level <> 'city' GROUP BY ALL
        )
        SELECT l.level, l.period_id, c.requests, l.requests
        FROM levels l JOIN city c USING (period_id)
        WHERE l.requests <> c.requests OR l.closed <> c.closed OR l.open <> c.open
           OR l.overdue <> c.overdue
    """).fetchall()
    return [f"{lvl}/{p}: city {c} vs sum {s}" for lvl, p, c, s in rows]


def run(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Check and publish the pending build."""
    pending = pending_path(settings)
    if not pending.is_file():
        raise PublishError("nothing to publish: run the aggregate stage first")
    build = pending.read_text().strip()
    builds = catalog.path(settings, "warehouse_builds")
    partial = builds / f"{build}.duckdb.partial"
    final = builds / f"{build}.duckdb"
    with db.connect(settings, partial, read_only=True) as check:
        problems = check_reconciliation(check)
        n_periods = check.execute("SELECT count(*) FROM dim_period").fetchall()[0][0]
    if problems:
        raise PublishError("counts do not reconcile: " + "; ".join(problems[:5]))
    partial.replace(final)
    current = catalog.path(settings, "warehouse_current")
    tmp = current.with_suffix(".tmp")
    tmp.write_text(build)
    tmp.replace(current)  # atomic rename on POSIX: readers see the old or the new name
    pending.unlink()
    removed = _prune(settings, keep=build)
    log.info("published %s", build)
    return {"build": build, "periods": n_periods, "removed_builds": removed}


def _prune(settings: Settings, *, keep: str) -> list[str]:
    builds = catalog.path(settings, "warehouse_builds")
    files = sorted(builds.glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for old in files[settings.keep_builds :]:
        if old.stem != keep:
            old.unlink()
            removed.append(old.stem)
    for stale in builds.glob("*.duckdb.partial"):
        if stale.stem.removesuffix(".duckdb") != keep:
            stale.unlink()
    return removed
