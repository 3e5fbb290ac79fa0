"""Read one CSV file strictly, keeping every malformed line instead of failing the batch.

The header is read first (with Python's csv module) and fixes the columns; the file is then
read by DuckDB with that schema, RFC 4180 quoting and no sniffing, storing what does not
parse (too few or too many fields, an unterminated quote) in a rejects table instead of
stopping. Each rejected line is quarantined as ``MALFORMED_ROW`` with its text and DuckDB's
message. Accepted rows keep their position in the file (``file_row_number``, 0 = the first
data row) even when rejected rows sit between them, so every row is accounted for once.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

#: Delimiters tried on the header line, most usual first, when the spec names none.
DELIMITERS = (",", "\t", ";", "|")
#: A line longer than this (bytes) is malformed: an unterminated quote cannot eat a GB file.
MAX_LINE_BYTES = 4 << 20


@dataclass
class CsvRead:
    """A CSV file as a relation plus the table of its rejected lines."""

    relation: duckdb.DuckDBPyRelation
    rejects: str
    columns: list[str]


def header(path: Path, delimiter: str | None = None) -> tuple[list[str], str]:
    """Column names and delimiter from the first line (a UTF-8 byte-order mark is dropped)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        first = f.readline()
    if delimiter is None:
        counts = {d: first.count(d) for d in DELIMITERS}
        delimiter = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    names = next(csv.reader([first], delimiter=delimiter), [])
    return [n.strip() for n in names], delimiter


def read(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, delimiter: str | None = None
) -> CsvRead:
    """Read ``path`` (UTF-8) as text columns; rejected lines go to table ``<name>__rejects``.

    The relation has the file's columns, ``filename`` and ``file_row_number``.
    """
    columns, delim = header(path, delimiter)
    rejects, scans = f"{name}__rejects", f"{name}__scans"
    rel = con.read_csv(
        str(path),
        header=True,
        auto_detect=False,
        columns=dict.fromkeys(columns, "VARCHAR"),
        delimiter=delim,
        quotechar='"',
        escapechar='"',
        filename=True,
        store_rejects=True,
        rejects_table=rejects,
        rejects_scan=scans,
        max_line_size=MAX_LINE_BYTES,
    )
    rel.project("*, row_number() OVER () - 1 AS accepted_number").create_view(
        f"{name}__accepted", replace=True
    )
    # Materialise the scan once so the rejects table is filled before it is read.
    con.execute(f'CREATE OR REPLACE TABLE "{name}__rows" AS SELECT * FROM "{name}__accepted"')
    # Rejected data rows by position (DuckDB numbers logical lines from 1, the header).
    # An accepted row's position is its ordinal among accepted rows plus the number of
    # rejected rows before it: an ASOF join on gap = position - rank finds that number.
    con.execute(
        f'CREATE OR REPLACE TABLE "{name}__gaps" AS '
        "SELECT gap, max(rank) + 1 AS before FROM ("
        " SELECT line - 2 - (row_number() OVER (ORDER BY line) - 1) AS gap,"
        " row_number() OVER (ORDER BY line) - 1 AS rank"
        f' FROM "{rejects}" GROUP BY line) GROUP BY gap'
    )
    relation = con.sql(
        f"SELECT r.* EXCLUDE (accepted_number), r.accepted_number + coalesce(g.before, 0) "
        f'AS file_row_number FROM "{name}__rows" AS r '
        f'ASOF LEFT JOIN "{name}__gaps" AS g ON r.accepted_number >= g.gap'
    )
    return CsvRead(relation=relation, rejects=rejects, columns=columns)
