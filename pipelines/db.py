"""DuckDB connections and SQL models: the only module that reads ``.sql`` files.

SQL models live in ``pipelines/sql/<layer>/<model>.sql``. They refer to inputs by catalog
name (bound here as views over Parquet) and take values as bound ``$name`` parameters.
"""

from __future__ import annotations

import hashlib
import logging
import resource
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from pipelines import catalog
from pipelines.settings import Settings

SQL_DIR = Path(__file__).resolve().parent / "sql"
log = logging.getLogger(__name__)

#: Seconds spent in each SQL model and timed Python step of this process, in run order:
#: the benchmark reports where a build's time goes from it (``yiwang bench``).
TIMINGS: list[tuple[str, float]] = []
#: The process's peak RSS in MiB so far at the end of each timed step, in step order: the
#: first step whose figure equals the final peak is the one that set it (benchmarks).
PEAKS: list[tuple[str, int]] = []


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Record the wall time of ``step`` in :data:`TIMINGS` (and log it at DEBUG)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        TIMINGS.append((step, seconds))
        PEAKS.append((step, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))
        log.debug("%s: %.2f s", step, seconds)


def peak_step() -> tuple[str, int] | None:
    """The timed step during which the process's peak RSS (MiB) was reached, if any."""
    if not PEAKS:
        return None
    top = max(mib for _, mib in PEAKS)
    return next((name, mib) for name, mib in PEAKS if mib == top)


#: H3 hierarchy in plain SQL. Parents by bit arithmetic are exact (checked against h3-py in
#: tests/test_h3index.py); ids are signed BIGINT because bit 63 of an H3 index is always 0.
MACROS = (
    "CREATE OR REPLACE MACRO h3_parent(h, r) AS "
    "(h & ~(15::BIGINT << 52)) | (r::BIGINT << 52) | ((1::BIGINT << (3 * (15 - r))) - 1)",
    "CREATE OR REPLACE MACRO h3_res(h) AS ((h >> 52) & 15)::INTEGER",
    # Local wall-clock time -> UTC under DST. A time in the spring-forward gap does not
    # exist: DuckDB reads it with the offset before the change, which moves it forward by
    # the gap (02:30 -> 03:30 PDT). A time in the fall-back hour happens twice: we take the
    # earlier instant (daylight time). dst_issue says which case a time was.
    # ``fixed`` is the zone's offset in minutes when it had no DST change over the data's
    # span (Asia/Shanghai since 1991): then the conversion is a subtraction, which is ten
    # times faster than the time-zone library; NULL means "look it up".
    "CREATE OR REPLACE MACRO local_to_utc(ts, tz, fixed) AS CASE "
    "WHEN fixed IS NOT NULL THEN ts - to_minutes(fixed::BIGINT) "
    "ELSE timezone('UTC', CASE "
    "WHEN timezone(tz, timezone(tz, ts) - INTERVAL 1 HOUR) = ts "
    "THEN timezone(tz, ts) - INTERVAL 1 HOUR ELSE timezone(tz, ts) END) END",
    # Text -> local wall-clock time. A format with %z (Open311's W3C times) carries its own
    # offset: the instant is converted to the city's zone. 'Z' means +00:00 and fractional
    # seconds are dropped (DuckDB's %z parser takes neither).
    "CREATE OR REPLACE MACRO offset_text(x) AS "
    "regexp_replace(regexp_replace(x, '\\.\\d+([+-]|Z)', '\\1'), 'Z$', '+00:00')",
    "CREATE OR REPLACE MACRO parse_local(x, fmt, tz) AS CASE "
    "WHEN contains(fmt, '%z') THEN timezone(tz, try_strptime(offset_text(x), fmt)::TIMESTAMPTZ) "
    "ELSE try_strptime(x, fmt)::TIMESTAMP END",
    "CREATE OR REPLACE MACRO parse_utc(x, fmt, tz, fixed) AS CASE "
    "WHEN contains(fmt, '%z') "
    "THEN timezone('UTC', try_strptime(offset_text(x), fmt)::TIMESTAMPTZ) "
    "ELSE local_to_utc(try_strptime(x, fmt)::TIMESTAMP, tz, fixed) END",
    "CREATE OR REPLACE MACRO utc_to_local(ts, tz, fixed) AS CASE "
    "WHEN fixed IS NOT NULL THEN ts + to_minutes(fixed::BIGINT) "
    "ELSE timezone(tz, timezone('UTC', ts)) END",
    "CREATE OR REPLACE MACRO dst_issue(ts, tz, fixed) AS CASE WHEN fixed IS NOT NULL THEN NULL "
    "WHEN timezone(tz, timezone(tz, ts)) <> ts THEN 'nonexistent' "
    "WHEN timezone(tz, timezone(tz, ts) - INTERVAL 1 HOUR) = ts THEN 'ambiguous' END",
)


def connect(
    settings: Settings,
    database: Path | str = ":memory:",
    *,
    read_only: bool = False,
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection configured from settings.

    Parameters
    ----------
    settings
        Supplies ``memory_limit``, ``threads`` and the spill directory.
    database
        Database file, or ``":memory:"``.
    read_only
        Open read-only (the dashboard and notebooks always do).

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    settings.temp_directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": settings.memory_limit,
        "threads": str(settings.threads),
        "temp_directory": str(settings.temp_directory),
    }
    con = duckdb.connect(str(database), read_only=read_only, config=config)
    # Timestamps are stored as naive UTC and naive city-local columns; pin the session zone
    # so nothing depends on the host's TZ (DuckDB defaults to it).
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        for macro in MACROS:
            con.execute(macro)
    return con


def open_build(path: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open a published warehouse build read-only, for reading only.

    The dashboard, the notebook API and snapshot publishing all open builds here, so one
    process (a notebook that also renders the app, a test) can hold all three. External
    access is switched off and the configuration locked, so a query can never read or
    write anything but the warehouse.
    """
    # No connect-time config: DuckDB refuses a second connection to a file in the same
    # process whose config differs, so the settings are applied once, to the shared
    # database instance, by whichever connection opens it first, which then locks them.
    con = duckdb.connect(str(path), read_only=True)
    locked, external = con.execute(
        "SELECT current_setting('lock_configuration'), current_setting('enable_external_access')"
    ).fetchall()[0]
    if not locked:
        con.execute("SET memory_limit = $m", {"m": settings.memory_limit})
        con.execute("SET threads = $t", {"t": int(settings.threads)})
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    elif external:
        con.close()
        raise duckdb.InvalidInputException(f"{path} is open with external access enabled")
    return con


@cache
def load_sql(model: str) -> str:
    """Return the text of ``sql/<model>.sql`` (``model`` like ``"marts/mart_unit_kpi"``)."""
    file = SQL_DIR / f"{model}.sql"
    if not file.is_file():
        raise FileNotFoundError(f"no SQL model {model!r} at {file}")
    return file.read_text(encoding="utf-8")


def code_fingerprint() -> str:
    """Hash of the pipeline's Python and SQL sources (a rebuild is due when they change)."""
    h = hashlib.sha256()
    package = SQL_DIR.parent
    for file in sorted(package.rglob("*.py")) + sorted(SQL_DIR.rglob("*.sql")):
        h.update(file.read_bytes())
    return h.hexdigest()[:16]


def bind_inputs(con: duckdb.DuckDBPyConnection, settings: Settings, names: Iterable[str]) -> None:
    """Register catalog Parquet datasets as views named after the datasets."""
    for name in names:
        file = catalog.path(settings, name)
        if not file.exists():
            raise FileNotFoundError(f"input {name!r} missing at {file}; run the earlier stage")
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{file}')")


def run_model(
    con: duckdb.DuckDBPyConnection,
    model: str,
    params: Mapping[str, Any] | None = None,
    *,
    materialize: str | None = None,
    insert_into: str | None = None,
) -> None:
    """Run one SQL model, optionally materialised or appended to a table.

    ``materialize`` runs it as ``CREATE OR REPLACE TABLE <materialize> AS``; ``insert_into``
    as ``INSERT INTO <insert_into> BY NAME`` (a model run once per level, say).
    """
    sql = load_sql(model)
    if materialize:
        sql = f"CREATE OR REPLACE TABLE {materialize} AS\n{sql}"
    elif insert_into:
        sql = f"INSERT INTO {insert_into} BY NAME\n{sql}"
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    with timed(model):
        con.execute(sql, used)


def write_parquet(con: duckdb.DuckDBPyConnection, table: str, file: Path) -> int:
    """Write ``table`` to ``file`` atomically (temp file + rename); return its row count."""
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(file.suffix + ".tmp")
    # Row order in a staged file means nothing (readers join and group), and keeping it
    # makes DuckDB write on one thread: both cores write, at zstd's fastest level (the
    # files are read a few times, then rebuilt).
    keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false")
    try:
        with timed(f"write {file.name}"):
            con.execute(
                f"COPY {table} TO '{tmp}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"
            )
    finally:
        con.execute(f"SET preserve_insertion_order = {bool(keep_order)}")
    tmp.replace(file)
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
