"""Expose a source table as a DuckDB view with canonical column names.

The spec maps canonical names (``request_id``) to the source's names (``工单编号``). This
module is the only place that turns those names into SQL identifiers, always quoted, so
staging models are written once against canonical names for every source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
import geopandas as gpd
import pandas as pd

from pipelines.sources import csvfiles
from pipelines.sources.encoding import EncodingProblem, codec_for, to_utf8
from pipelines.sources.spec import SpecError, TableSpec


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (doubling embedded quotes)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote an SQL string literal (doubling embedded quotes): spec constants only."""
    return "'" + value.replace("'", "''") + "'"


#: Suffixes read through pyogrio, with a representative point per feature.
GEOMETRY_SUFFIXES = {".geojson", ".shp", ".gpkg", ".fgb"}
#: Columns that ``TableSpec.id_prefix`` applies to.
ID_COLUMNS = ("request_id", "component_id")


@dataclass
class RawTable:
    """What :func:`register_raw` read, and the files it had to quarantine whole."""

    files: list[Path]
    unreadable: dict[Path, str] = field(default_factory=dict)
    #: View of the CSV lines that did not parse (source_file, source_row, error, text).
    malformed: str | None = None
    #: Columns in the files that the spec does not map (schema drift shows up here).
    unmapped: list[str] = field(default_factory=list)


def register_raw(
    con: duckdb.DuckDBPyConnection,
    view: str,
    spec: TableSpec,
    root: Path,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    work_dir: Path,
) -> RawTable:
    """Create view ``view`` over the table's files, renamed to canonical columns.

    Every value is read as text (``VARCHAR``) so that staging, not the reader, decides what
    is malformed; canonical columns in ``optional`` that the spec does not map are NULL, so
    staging models can name them for every source; ``source_file`` (the original file, also
    for transcoded ones) and ``source_row`` say where each row came from. Text files in
    another encoding than UTF-8 are transcoded into ``work_dir`` first
    (:mod:`pipelines.sources.encoding`); a file that does not decode is left out and
    reported in ``RawTable.unreadable``.

    Raises
    ------
    SpecError
        When a required column is absent, the encoding is unknown, the files have an
        unsupported suffix, or no file could be read at all.
    """
    files = spec.paths(root)
    suffixes = {f.suffix.lower() for f in files}
    unreadable: dict[Path, str] = {}
    originals: dict[str, str] = {}
    malformed: str | None = None
    if suffixes <= {".parquet"}:
        names = [str(f) for f in files]
        rel = con.read_parquet(names, filename=True, file_row_number=True, union_by_name=True)
        row = "file_row_number"
    elif suffixes <= {".csv", ".txt"}:
        try:
            codec_for(spec.encoding)
        except ValueError as exc:
            raise SpecError(f"{view}: {exc}") from exc
        names = []
        for f in files:
            try:
                utf8 = to_utf8(f, spec.encoding, work_dir).utf8
            except EncodingProblem as exc:
                unreadable[f] = str(exc)
                continue
            names.append(str(utf8))
            originals[str(utf8)] = str(f)
        if not names:
            raise SpecError(f"{view}: no file decodes as {spec.encoding}: {unreadable}")
        reads = [
            csvfiles.read(con, Path(n), f"{view}__csv{i}", spec.delimiter)
            for i, n in enumerate(names)
        ]
        rel = _stack(con, view, [r.relation for r in reads], numbered=True)
        row = "file_row_number"
        malformed = f"{view}__malformed"
        con.execute(
            f"CREATE OR REPLACE VIEW {quote_ident(malformed)} AS "
            + " UNION ALL ".join(
                # DuckDB logs one error per missing column: one quarantine row per line
                f"SELECT {quote_literal(originals[n])} AS source_file, line - 2 AS source_row, "
                f"arg_min(error_type || ': ' || error_message, column_idx) AS error, "
                f"any_value(csv_line) AS text FROM {quote_ident(r.rejects)} GROUP BY line"
                for n, r in zip(names, reads, strict=True)
            )
        )
    elif suffixes <= GEOMETRY_SUFFIXES:
        # Layers with geometry (GeoJSON, Shapefile, GeoPackage): read whole with pyogrio,
        # each feature's representative point as geometry_lng / geometry_lat (a count
        # station's street segment becomes a point on it). Not streamed: such registers are
        # small, and GeoJSON cannot be read in pieces anyway.
        frames = []
        for f in files:
            layer = gpd.read_file(f)
            point = layer.geometry.representative_point()
            frame = pd.DataFrame(layer.drop(columns="geometry"))
            frame["geometry_lng"], frame["geometry_lat"] = point.x, point.y
            frame["filename"] = str(f)
            frame["file_row_number"] = range(len(frame))
            frames.append(frame)
        con.register(f"{view}__frame", pd.concat(frames, ignore_index=True))
        rel = con.table(f"{view}__frame")
        row = "file_row_number"
    elif suffixes <= {".json", ".jsonl", ".ndjson"}:
        # JSON is UTF-8 by definition (RFC 8259); arrays of records and JSON lines both work.
        names = [str(f) for f in files]
        fmt: Literal["array", "newline_delimited"] = (
            "array" if suffixes == {".json"} else "newline_delimited"
        )
        parts = []
        for n in names:
            # Every value as text, like CSV: the reader would otherwise turn W3C times into
            # timestamps (and their text into something else) before staging sees them.
            detected = con.read_json(n, format=fmt).columns
            parts.append(
                con.read_json(
                    n, format=fmt, filename=True, columns=dict.fromkeys(detected, "VARCHAR")
                )
            )
        rel = _stack(con, view, parts)
        row = "file_row_number"
    else:
        raise SpecError(f"{view}: cannot read files with suffixes {sorted(suffixes)}")
    present = set(rel.columns)
    missing = [
        canon
        for canon in required
        if canon not in spec.constants and spec.columns.get(canon) not in present
    ]
    if missing:
        wanted = {c: spec.columns.get(c) for c in missing}
        raise SpecError(f"{view}: required columns missing from {files[0].name}: {wanted}")
    exprs = [
        f"{quote_literal(spec.id_prefix)} || CAST({quote_ident(src)} AS VARCHAR) "
        f"AS {quote_ident(canon)}"
        if src in present and canon in ID_COLUMNS and spec.id_prefix
        else f"CAST({quote_ident(src)} AS VARCHAR) AS {quote_ident(canon)}"
        if src in present
        else f"CAST(NULL AS VARCHAR) AS {quote_ident(canon)}"
        for canon, src in spec.columns.items()
        if canon not in spec.constants
    ]
    exprs += [f"{quote_literal(v)} AS {quote_ident(k)}" for k, v in spec.constants.items()]
    exprs += [
        f"CAST(NULL AS VARCHAR) AS {quote_ident(canon)}"
        for canon in optional
        if canon not in spec.columns and canon not in spec.constants
    ]
    exprs.append("filename AS source_file")
    exprs.append(f"{row} AS source_row")
    rel.project(", ".join(exprs)).create_view(f"{view}__read", replace=True)
    register_map(con, f"{view}__files", originals)
    con.execute(
        f"CREATE OR REPLACE VIEW {quote_ident(view)} AS "
        f"SELECT r.* REPLACE (coalesce(m.value, r.source_file) AS source_file) "
        f"FROM {quote_ident(view + '__read')} AS r "
        f"LEFT JOIN {quote_ident(view + '__files')} AS m ON m.source_value = r.source_file"
    )
    mapped = set(spec.columns.values()) | {"filename", "file_row_number"}
    return RawTable(
        files=[f for f in files if f not in unreadable],
        unreadable=unreadable,
        malformed=malformed,
        unmapped=sorted(c for c in present if c not in mapped),
    )


def _stack(
    con: duckdb.DuckDBPyConnection,
    view: str,
    parts: list[duckdb.DuckDBPyRelation],
    *,
    numbered: bool = False,
) -> duckdb.DuckDBPyRelation:
    """One relation of several files, each row numbered in its file's order.

    ``row_number() OVER ()`` on a single scan keeps the file's order (DuckDB preserves
    insertion order), which a window partitioned by file name does not. Files are stacked
    by column name, so a file with an extra or a missing optional column still reads.
    """
    names = []
    for i, part in enumerate(parts):
        name = f"{view}__part{i}"
        if not numbered:
            part = part.project("*, row_number() OVER () - 1 AS file_row_number")
        part.create_view(name, replace=True)
        names.append(name)
    return con.sql(" UNION ALL BY NAME ".join(f"SELECT * FROM {quote_ident(n)}" for n in names))


def register_map(con: duckdb.DuckDBPyConnection, name: str, mapping: dict[str, str]) -> None:
    """Create table ``name(source_value, value)`` from a spec value map."""
    con.execute(
        f"CREATE OR REPLACE TABLE {quote_ident(name)} (source_value VARCHAR, value VARCHAR)"
    )
    if mapping:
        con.executemany(f"INSERT INTO {quote_ident(name)} VALUES (?, ?)", list(mapping.items()))
