"""Expose a source table as a DuckDB view with canonical column names.

The spec maps canonical names (``request_id``) to the source's names (``工单编号``). This
module is the only place that turns those names into SQL identifiers, always quoted, so
staging models are written once against canonical names for every source.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sources.spec import SpecError, TableSpec


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (doubling embedded quotes)."""
    return '"' + name.replace('"', '""') + '"'


def register_raw(
    con: duckdb.DuckDBPyConnection,
    view: str,
    spec: TableSpec,
    root: Path,
    *,
    required: tuple[str, ...],
) -> list[Path]:
    """Create view ``view`` over the table's files, renamed to canonical columns.

    Every value is read as text (``VARCHAR``) so that staging, not the reader, decides what
    is malformed; ``source_file`` and ``source_row`` say where each row came from.

    Returns
    -------
    list of pathlib.Path
        The files read.

    Raises
    ------
    SpecError
        When a required column is absent from the files, or the encoding is unsupported.
    """
    files = spec.paths(root)
    names = [str(f) for f in files]
    if spec.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise SpecError(f"{view}: encoding {spec.encoding!r} is not supported yet; use UTF-8")
    suffixes = {f.suffix.lower() for f in files}
    if suffixes <= {".parquet"}:
        rel = con.read_parquet(names, filename=True, file_row_number=True, union_by_name=True)
        row = "file_row_number"
    elif suffixes <= {".csv", ".txt"}:
        # read_csv takes a list of files too; the stub says one path only
        rel = con.read_csv(names, header=True, all_varchar=True, filename=True)  # type: ignore[arg-type]
        row = None
    else:
        raise SpecError(f"{view}: cannot read files with suffixes {sorted(suffixes)}")
    present = set(rel.columns)
    missing = [canon for canon in required if spec.columns.get(canon) not in present]
    if missing:
        wanted = {c: spec.columns.get(c) for c in missing}
        raise SpecError(f"{view}: required columns missing from {files[0].name}: {wanted}")
    exprs = [
        f"CAST({quote_ident(src)} AS VARCHAR) AS {quote_ident(canon)}"
        if src in present
        else f"CAST(NULL AS VARCHAR) AS {quote_ident(canon)}"
        for canon, src in spec.columns.items()
    ]
    exprs.append("filename AS source_file")
    exprs.append(f"{row} AS source_row" if row else "row_number() OVER () - 1 AS source_row")
    rel.project(", ".join(exprs)).create_view(view, replace=True)
    return files


def register_map(con: duckdb.DuckDBPyConnection, name: str, mapping: dict[str, str]) -> None:
    """Create table ``name(source_value, value)`` from a spec value map."""
    con.execute(
        f"CREATE OR REPLACE TABLE {quote_ident(name)} (source_value VARCHAR, value VARCHAR)"
    )
    if mapping:
        con.executemany(f"INSERT INTO {quote_ident(name)} VALUES (?, ?)", list(mapping.items()))
