"""Read-side queries over a warehouse build, shared by the dashboard and the notebook API.

Both ``dashboard.data`` (cached, per request) and ``pipelines.api`` (notebooks) call these
functions on their own read-only connection, so a figure on a cockpit and the same figure
in a notebook come from one SQL text (the ``queries`` models) and cannot drift apart.
Every value is a bound parameter; nothing is formatted into SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from pipelines import db, worry

CITY = "city"
UNASSIGNED = "__unassigned__"
BREAKDOWN_DIMS = ("category", "department")
LAMPS = ("green", "yellow", "red")
#: The most request rows one call returns unless asked for more (a screen lists far fewer).
DEFAULT_ROW_LIMIT = 100_000
#: Count columns of ``kpi_counts`` (and the period's days): 0, not NULL, for a unit without
#: requests; the rates stay NULL ("—").
COUNT_COLUMNS = (
    "requests",
    "closed",
    "open",
    "overdue",
    "overdue_open",
    "closed_1d",
    "closed_3d",
    "closed_on_time",
    "due_decided",
    "responded",
    "responded_in_time",
    "response_decided",
    "resolved",
    "closed_judged",
    "handled",
    "rated",
    "satisfied",
    "dissatisfied",
    "dispatched",
    "dispatched_district",
    "dispatched_street",
    "dispatched_community",
    "reopened",
    "reopened_twice",
    "repeats",
)


class StaleBuildError(RuntimeError):
    """The served build predates a table or column the read models need: rebuild it."""


def run_query(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run the read model ``queries/<query>`` (db.load_sql) with bound ``params``.

    A model over a unit's requests that names ``$row_lo`` and ``$row_hi`` gets the rows of
    ``fact_request`` the unit's requests lie between (``unit_rows``): bound as constants,
    they let DuckDB skip every row group outside the unit (a community of a 10 M city reads
    one of 82). A cursor per call is DuckDB's thread-safe way to share one connection.
    """
    sql = db.load_sql(f"queries/{query}")
    cur = con.cursor()
    try:
        if "$row_lo" in sql:
            try:
                span = cur.execute(
                    db.load_sql("queries/unit_rows"), {"unit_id": params.get("unit_id")}
                )
            except duckdb.CatalogException as exc:
                raise StaleBuildError(
                    f"{query}: this warehouse build has no dim_unit_rows (it was made by an"
                    " older yiwang); run `yiwang build` to rebuild it"
                ) from exc
            row_lo, row_hi = span.fetchall()[0]
            params = {**params, "row_lo": row_lo, "row_hi": row_hi}
        return cur.execute(sql, params).df()
    finally:
        cur.close()


def unit_metrics(
    con: duckdb.DuckDBPyConnection,
    level: str,
    period_id: str,
    *,
    parent_id: str | None = None,
    unit_id: str | None = None,
    include_unassigned: bool = False,
) -> pd.DataFrame:
    """Every ``mart_unit_kpi`` column of the units of ``level`` in ``period_id``, with names.

    Parameters
    ----------
    con
        A connection to a warehouse build.
    level, period_id
        Which units and which period (``dim_level``, ``dim_period``).
    parent_id, unit_id
        Optional filters: the children of one unit, or one unit.
    include_unassigned
        Keep the level's ``__unassigned__`` bucket (requests placed in no unit).

    Returns
    -------
    pandas.DataFrame
        One row per unit of the level (units without requests included: counts 0, rates
        NULL), ordered by unit id.
    """
    frame = run_query(
        con,
        "unit_metrics",
        {
            "level": level,
            "period_id": period_id,
            "parent_id": parent_id,
            "unit_id": unit_id,
            "include_unassigned": include_unassigned,
        },
    )
    counts = [c for c in COUNT_COLUMNS if c in frame.columns]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    return frame


def unit_breakdown(
    con: duckdb.DuckDBPyConnection, level: str, unit_id: str, period_id: str, dim: str
) -> pd.DataFrame:
    """One unit's metrics split by ``dim`` (``category`` or ``department``)."""
    if dim not in BREAKDOWN_DIMS:
        raise ValueError(f"dim must be one of {BREAKDOWN_DIMS}, got {dim!r}")
    return run_query(
        con,
        "unit_breakdown",
        {"level": level, "unit_id": unit_id, "period_id": period_id, "dim": dim},
    )


def requests(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str | None = None,
    unit_id: str | None = None,
    period_id: str | None = None,
    category: str | None = None,
    department: str | None = None,
    open_only: bool = False,
    lamp: str | None = None,
    long_unresolved_only: bool = False,
    min_escalation: int = 0,
    limit: int = DEFAULT_ROW_LIMIT,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Request rows (``fact_request``) matching every given filter, most urgent first.

    ``unit_id`` of the city (or ``level == "city"``) means no place filter. ``lamp`` is
    one of ``green``, ``yellow``, ``red``; ``category`` matches a top-level class (Chinese
    or English) or an event-type code. ``columns`` returns only those columns, in the
    table's order (a screen needing a few columns of thousands of rows reads far less).
    """
    if lamp is not None and lamp not in LAMPS:
        raise ValueError(f"lamp must be one of {LAMPS}, got {lamp!r}")
    if limit < 0:
        raise ValueError("limit must be >= 0")
    if columns is not None and (isinstance(columns, str) or not columns):
        raise ValueError("columns must be a non-empty list of column names")
    return run_query(
        con,
        "requests",
        {
            "unit_id": None if level == CITY else unit_id,
            "period_id": period_id,
            "category": category,
            "department": department,
            "open_only": open_only,
            "lamp": lamp,
            "long_unresolved_only": long_unresolved_only,
            "min_escalation": min_escalation,
            "limit": limit,
            "columns": None if columns is None else [str(c) for c in columns],
        },
    )


def sla_summary(con: duckdb.DuckDBPyConnection, level: str, unit_id: str | None) -> dict[str, int]:
    """Open requests of a unit now: counts per lamp and escalation level, long-unresolved."""
    frame = run_query(con, "sla_summary", {"unit_id": None if level == CITY else unit_id})
    return {str(k): int(v or 0) for k, v in frame.iloc[0].items()}


def worry_place(
    con: duckdb.DuckDBPyConnection,
    level: str,
    unit_id: str,
    period_id: str,
    *,
    cell: int | None = None,
) -> dict[str, Any] | None:
    """The worry row of a unit, or of one cell on the unit's heatmap; ``None`` if absent.

    A unit or cell without requests in the period has no row (nothing to explain).
    """
    if cell is None:
        frame = run_query(
            con, "worry_unit", {"level": level, "unit_id": unit_id, "period_id": period_id}
        )
    else:
        frame = run_query(
            con,
            "worry_cell",
            {"level": level, "unit_id": unit_id, "period_id": period_id, "cell": int(cell)},
        )
    if frame.empty:
        return None
    return {str(k): (None if _missing(v) else v) for k, v in frame.iloc[0].items()}


def worry_components(row: dict[str, Any], weights: dict[str, float]) -> pd.DataFrame:
    """A worry row's components, largest contribution first.

    Columns: ``component``, ``weight``, ``score`` (0–1 on the fixed scale) and
    ``contribution`` (points of the index; they add up to it).
    """
    frame = pd.DataFrame(
        {
            "component": list(worry.COMPONENTS),
            "weight": [float(weights.get(c, 0.0)) for c in worry.COMPONENTS],
            "score": [row.get(f"score_{c}") for c in worry.COMPONENTS],
            "contribution": [row.get(f"contribution_{c}") for c in worry.COMPONENTS],
        }
    )
    return frame.sort_values(
        ["contribution", "weight"], ascending=False, kind="stable", na_position="last"
    ).reset_index(drop=True)


def worry_behind(
    con: duckdb.DuckDBPyConnection,
    unit_id: str,
    period_id: str,
    *,
    cell: int | None = None,
    res: int | None = None,
    limit: int = 5,
) -> pd.DataFrame:
    """The top categories, addresses and city components behind a unit's or cell's index.

    One row per group: ``kind`` (``category``, ``address``, ``component``), ``key_zh``,
    ``key_en``, ``requests``, ``open``, ``repeats``, ``dissatisfied`` and ``rank`` (1 =
    most requests), at most ``limit`` per kind. ``cell`` needs its resolution ``res``.
    """
    if (cell is None) != (res is None):
        raise ValueError("a cell needs its resolution (res), and res needs a cell")
    if limit < 1:
        raise ValueError("limit must be >= 1")
    return run_query(
        con,
        "explain_requests",
        {
            "unit_id": unit_id,
            "period_id": period_id,
            "cell": None if cell is None else int(cell),
            "res": None if res is None else int(res),
            "limit": int(limit),
        },
    )


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
