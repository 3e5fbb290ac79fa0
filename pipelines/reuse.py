"""Late or corrected data recomputes only the periods it touches.

Every build stores a fingerprint per reporting period (``period_fingerprint``) and one for
everything that is not per period (units, residents, levels, pipeline code, settings:
``meta.static_fingerprint``). The next build compares: a period whose fingerprint and the
static one are unchanged has the same mart rows, which are copied from the served build
instead of being computed again. A late batch for last March recomputes March and the
rolling windows that contain it; the other months are copied. The result is the same as a
build from scratch (a test compares the two).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines import catalog, db
from pipelines.settings import Settings

#: Marts with one set of rows per period, copied for unchanged periods.
PERIOD_MARTS = (
    "mart_unit_kpi",
    "mart_unit_breakdown",
    "mart_hex",
    "mart_unit_category",
    "mart_unit_event_type",
)
STATIC_TABLES = ("units", "levels", "int_unit_lineage", "int_cell_population", "int_cell_place")


@dataclass
class Plan:
    """Which periods to compute and which to copy from ``previous`` (a build file)."""

    compute: list[str]
    copy: list[str] = field(default_factory=list)
    previous: Path | None = None


def static_fingerprint(
    con: duckdb.DuckDBPyConnection, settings: Settings, *, rules: str = ""
) -> str:
    """Hash of everything the marts depend on that is not per period.

    ``rules`` is the spec's rules (SLA, worry index) as a stable string: changing a weight
    recomputes every period.
    """
    h = hashlib.sha256(db.code_fingerprint().encode())
    h.update(rules.encode())
    h.update(
        json.dumps({"map_res": dict(settings.map_res), "point_res": settings.point_res}).encode()
    )
    for table in STATIC_TABLES:
        # XOR of row hashes: independent of row order
        value = con.execute(f"SELECT bit_xor(hash(t)), count(*) FROM {table} AS t").fetchall()[0]
        h.update(f"{table}:{value}".encode())
    return h.hexdigest()[:16]


def previous_build(settings: Settings) -> Path | None:
    """The build file being served, if any (the one a new build may copy from)."""
    current = catalog.path(settings, "warehouse_current")
    if not current.is_file():
        return None
    path = catalog.path(settings, "warehouse_builds") / f"{current.read_text().strip()}.duckdb"
    return path if path.is_file() else None


def plan(con: duckdb.DuckDBPyConnection, settings: Settings, static: str) -> Plan:
    """Compare this build's period fingerprints with the served build's.

    Expects ``period_fingerprint`` (from ``intermediate/int_period_fingerprint``) in ``con``.
    """
    periods = [r[0] for r in con.execute("SELECT period_id FROM period_fingerprint").fetchall()]
    previous = previous_build(settings)
    if previous is None:
        return Plan(compute=periods)
    con.execute(f"ATTACH '{previous}' AS prev (READ_ONLY)")
    try:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'prev'"
            ).fetchall()
        }
        if "period_fingerprint" not in tables or not set(PERIOD_MARTS) <= tables:
            return Plan(compute=periods)
        old_static = con.execute(
            "SELECT value FROM prev.meta WHERE key = 'static_fingerprint'"
        ).fetchall()
        if not old_static or old_static[0][0] != static:
            return Plan(compute=periods)
        same = {
            r[0]
            for r in con.execute(
                "SELECT n.period_id FROM period_fingerprint AS n"
                " JOIN prev.period_fingerprint AS o USING (period_id)"
                " WHERE n.fingerprint = o.fingerprint"
            ).fetchall()
        }
    finally:
        con.execute("DETACH prev")
    return Plan(
        compute=[p for p in periods if p not in same],
        copy=[p for p in periods if p in same],
        previous=previous,
    )


def copy_periods(con: duckdb.DuckDBPyConnection, todo: Plan) -> None:
    """Append the unchanged periods' rows of every per-period mart from the served build."""
    if not todo.copy or todo.previous is None:
        return
    con.execute(f"ATTACH '{todo.previous}' AS prev (READ_ONLY)")
    try:
        for mart in PERIOD_MARTS:
            con.execute(
                f"INSERT INTO wh.{mart} SELECT * FROM prev.{mart} "
                "WHERE period_id IN (SELECT unnest($copy))",
                {"copy": todo.copy},
            )
    finally:
        con.execute("DETACH prev")
