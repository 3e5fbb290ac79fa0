"""As-of snapshots: a period's figures and rankings frozen as published.

A monthly ranking is read out at a review meeting (Beijing's monthly 点评会); weeks later
late or corrected data changes the live figures, but the published ranking must still be
reproducible exactly. ``publish`` freezes, for one period, every unit's metrics at every
level and the ranking of every rankable metric (``pipelines/metrics.py`` rules) into
``05_snapshots/<period>/<snapshot_id>/``: ``kpi.parquet``, ``ranking.parquet`` and
``meta.json`` with the build it came from and a content hash. Snapshots are immutable:
written to a temporary folder and renamed into place, never rewritten; ``load`` checks
the hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines import catalog, db, metrics, queries
from pipelines.settings import Settings

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")


class SnapshotError(RuntimeError):
    """A snapshot cannot be made or read (nothing published, unknown id, altered files)."""


@dataclass(frozen=True)
class SnapshotInfo:
    """One published snapshot."""

    snapshot_id: str
    period_id: str
    published_at_utc: str
    build_id: str
    as_of_local: str
    min_requests: int
    note: str
    sha256: str
    path: Path

    def label(self) -> str:
        """Short label for a selector: period and publication time (UTC)."""
        return f"{self.period_id} · {self.published_at_utc[:16].replace('T', ' ')} UTC"


def root(settings: Settings) -> Path:
    """Folder holding every snapshot."""
    return catalog.path(settings, "snapshots")


def publish(settings: Settings, period_id: str, *, note: str = "") -> SnapshotInfo:
    """Freeze ``period_id``'s metrics and rankings from the build being served.

    Raises
    ------
    SnapshotError
        When nothing is published or the period is not in the build.
    """
    build_file = _current_build(settings)
    with db.open_build(build_file, settings) as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        levels = [
            r[0] for r in con.execute("SELECT level FROM dim_level ORDER BY sort_order").fetchall()
        ]
        if not con.execute(
            "SELECT count(*) FROM dim_period WHERE period_id = ?", [period_id]
        ).fetchall()[0][0]:
            raise SnapshotError(f"period {period_id!r} is not in build {meta.get('build_id')}")
        kpi = pd.concat(
            [queries.unit_metrics(con, lvl, period_id) for lvl in levels], ignore_index=True
        )
    min_requests = int(json.loads(meta.get("sla_rules", "{}")).get("rank_min_requests", 30))
    ranking = ranking_table(kpi, min_requests)
    published = dt.datetime.now(dt.UTC).replace(microsecond=0)
    snapshot_id = f"{period_id}@{published:%Y%m%dT%H%M%S}"
    target = root(settings) / period_id / snapshot_id
    if target.exists():
        raise SnapshotError(f"snapshot {snapshot_id} already exists (one per second)")
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    kpi.to_parquet(tmp / "kpi.parquet", index=False)
    ranking.to_parquet(tmp / "ranking.parquet", index=False)
    info = {
        "snapshot_id": snapshot_id,
        "period_id": period_id,
        "published_at_utc": published.isoformat(),
        "build_id": meta.get("build_id", build_file.stem),
        "as_of_local": meta.get("as_of_local", ""),
        "min_requests": min_requests,
        "note": note,
        "sha256": _digest(tmp),
    }
    (tmp / "meta.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), "utf-8")
    tmp.rename(target)
    return _info(target)


def ranking_table(kpi: pd.DataFrame, min_requests: int) -> pd.DataFrame:
    """Rankings of every rankable metric among the units of each level (long form)."""
    frames = []
    for level, rows in kpi.groupby("level", sort=False):
        names = rows.set_index("unit_id")[["name_zh", "name_en"]]
        for m in metrics.rankable():
            ranked = metrics.rank_units(rows, m.id, min_requests)
            ranked = ranked.join(names, on="unit_id")
            ranked.insert(0, "metric", m.id)
            ranked.insert(0, "level", level)
            frames.append(ranked)
    if not frames:
        return pd.DataFrame(columns=["level", "metric", "unit_id", "value", "rank"])
    return pd.concat(frames, ignore_index=True)


def list_snapshots(settings: Settings, period_id: str | None = None) -> list[SnapshotInfo]:
    """Published snapshots, newest first (optionally of one period)."""
    base = root(settings)
    if not base.is_dir():
        return []
    found = []
    for meta in base.glob("*/*/meta.json"):
        if period_id is not None and meta.parent.parent.name != period_id:
            continue
        try:
            found.append(_info(meta.parent))
        except SnapshotError:
            continue  # a damaged snapshot is not offered; load() explains why
    return sorted(found, key=lambda s: (s.published_at_utc, s.snapshot_id), reverse=True)


def load(settings: Settings, snapshot_id: str) -> tuple[SnapshotInfo, pd.DataFrame, pd.DataFrame]:
    """A snapshot's info, metrics and rankings, after checking its content hash.

    Raises
    ------
    SnapshotError
        Unknown or malformed id, or files changed since publication.
    """
    if not _ID.match(snapshot_id) or "@" not in snapshot_id:
        raise SnapshotError(f"not a snapshot id: {snapshot_id!r}")
    folder = root(settings) / snapshot_id.split("@", 1)[0] / snapshot_id
    if not (folder / "meta.json").is_file():
        raise SnapshotError(f"no snapshot {snapshot_id!r}")
    info = _info(folder)
    if _digest(folder) != info.sha256:
        raise SnapshotError(f"snapshot {snapshot_id} was altered after publication")
    return (
        info,
        pd.read_parquet(folder / "kpi.parquet"),
        pd.read_parquet(folder / "ranking.parquet"),
    )


def _info(folder: Path) -> SnapshotInfo:
    try:
        doc: dict[str, Any] = json.loads((folder / "meta.json").read_text("utf-8"))
        return SnapshotInfo(path=folder, **doc)
    except (OSError, ValueError, TypeError) as exc:
        raise SnapshotError(f"unreadable snapshot {folder}: {exc}") from exc


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("kpi.parquet", "ranking.parquet"):
        h.update(name.encode())
        h.update((folder / name).read_bytes())
    return h.hexdigest()


def _current_build(settings: Settings) -> Path:
    current = catalog.path(settings, "warehouse_current")
    try:
        name = current.read_text(encoding="utf-8").strip()
    except OSError:
        raise SnapshotError(f"nothing published under {settings.data_dir}") from None
    build = catalog.path(settings, "warehouse_builds") / f"{name}.duckdb"
    if not _ID.match(name) or not build.is_file():
        raise SnapshotError(f"CURRENT names a missing build {name!r}")
    return build
