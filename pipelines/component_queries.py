"""Read-side queries of the city-component marts: the layer, health, alarms, links.

The dashboard (through ``dashboard.data.read``) and the notebook API (``pipelines.api``)
call these on their own read-only connection to a warehouse build, one SQL text per read
(the ``queries/component_*`` models, every value bound). A unit filter works at any level
of any hierarchy (a component lies in a unit when its leaf does; a request likewise); the
city (its own id, or ``None``) filters nothing. Definitions: docs/metrics.md, City
components.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import pandas as pd

from pipelines.queries import run_query

#: The most rows one call returns unless asked for more.
DEFAULT_LIMIT = 100_000
#: The marts these queries read (builds made before them have none).
TABLES = (
    "mart_component",
    "mart_component_health",
    "mart_component_alarm_type",
    "fact_component_alarm",
    "fact_component_place",
)


def available(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the build holds the component marts."""
    cur = con.cursor()
    try:
        names = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        cur.close()
    return set(TABLES) <= names


def rules(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The build's ``[component_rules]`` (links, windows, names) as built; ``{}`` if absent."""
    frame = run_query(con, "component_rules", {})
    return dict(json.loads(frame["value"].iloc[0])) if len(frame) else {}


def kinds(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The register's kinds: ``kind, kind_zh, kind_en, components``, most numerous first."""
    return run_query(con, "component_kinds", {})


def points(
    con: duckdb.DuckDBPyConnection,
    *,
    unit_id: str | None = None,
    kind: str | None = None,
    status_class: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Components as they stand (``mart_component`` rows), those needing attention first.

    Alarming sensors, then abnormal components, then the most failures: a ``limit`` keeps
    what matters. Columns: register fields, ``kind_zh, kind_en, status_class, lng, lat,
    cell, leaf_id, last_alarm_at, last_alarm_type, alarming, failures_30d, complaints_30d,
    alarms_30d, repeats_30d, complaints_total, alarms_total``.
    """
    return run_query(
        con,
        "component_points",
        {"unit_id": unit_id, "kind": kind, "status_class": status_class, "limit": int(limit)},
    )


def cells(
    con: duckdb.DuckDBPyConnection, res: int, *, unit_id: str | None = None, kind: str | None = None
) -> pd.DataFrame:
    """Components of a unit gathered per kind into H3 cells of resolution ``res``.

    One row per kind and cell: ``components, normal, damaged, under_repair, disabled,
    status_unknown, alarming, failures_30d`` and the mean ``lng, lat`` of its components.
    """
    return run_query(con, "component_cells", {"unit_id": unit_id, "kind": kind, "res": int(res)})


def health(
    con: duckdb.DuckDBPyConnection,
    level: str,
    period_id: str,
    *,
    parent_id: str | None = None,
    unit_id: str | None = None,
    kind: str | None = None,
    by_kind: bool = False,
) -> pd.DataFrame:
    """Component health of the units of ``level`` in ``period_id`` (``mart_component_health``).

    One row per unit (per unit and kind with ``by_kind``), with names and
    ``abnormal_share``, most failures first. ``parent_id`` keeps one unit's children.
    """
    return run_query(
        con,
        "component_health",
        {
            "level": level,
            "period_id": period_id,
            "parent_id": parent_id,
            "unit_id": unit_id,
            "kind": kind,
            "by_kind": bool(by_kind),
        },
    )


def alarm_types(
    con: duckdb.DuckDBPyConnection,
    unit_id: str,
    period_id: str,
    *,
    kind: str | None = None,
    by_kind: bool = False,
) -> pd.DataFrame:
    """Sensor alarms of one unit in a period by type: ``alarm_type, kind, alarms``."""
    return run_query(
        con,
        "component_alarm_types",
        {"unit_id": unit_id, "period_id": period_id, "kind": kind, "by_kind": bool(by_kind)},
    )


def alarms(
    con: duckdb.DuckDBPyConnection,
    *,
    unit_id: str | None = None,
    kind: str | None = None,
    since: dt.datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Sensor alarms, newest first, with the component's kind, status class and position."""
    return run_query(
        con,
        "component_alarms",
        {"unit_id": unit_id, "kind": kind, "since": since, "limit": int(limit)},
    )


def links(
    con: duckdb.DuckDBPyConnection,
    *,
    unit_id: str | None = None,
    period_id: str | None = None,
    kind: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Requests linked to a component (``sensor`` or ``nearest``), newest first.

    Columns: ``request_id, created_local, event_type, l4_zh, l4_en, channel, link_method,
    linked_component_id, link_distance_m, kind, kind_zh, kind_en, status_class``.
    """
    return run_query(
        con,
        "component_links",
        {"unit_id": unit_id, "period_id": period_id, "kind": kind, "limit": int(limit)},
    )


def link_summary(
    con: duckdb.DuckDBPyConnection,
    *,
    unit_id: str | None = None,
    period_id: str | None = None,
    kind: str | None = None,
) -> dict[str, int]:
    """Requests of a unit and period by link method (every method present, zeros included).

    With ``kind``, only the requests linked to a component of that kind.
    """
    frame = run_query(
        con, "component_link_summary", {"unit_id": unit_id, "period_id": period_id, "kind": kind}
    )
    counts = dict(zip(frame["link_method"], frame["requests"], strict=True))
    return {m: int(counts.get(m, 0)) for m in ("sensor", "nearest", "unmatched", "none")}
