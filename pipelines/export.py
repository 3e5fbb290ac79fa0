"""Exports of a cockpit selection: the notebook call, its rows, CSV bytes and GeoParquet bytes.

A selection (:class:`Selection`: request records, heatmap cells or child units of one unit
in one period, with the screens' filters) is first turned into the notebook API call that
returns its rows (:func:`api_call`, shown to the user as "open as code" by
:func:`snippet`); the export then runs exactly that call (:func:`frame`), so a download and
the quoted code cannot disagree. The byte writers are pure:

* :func:`to_csv`: UTF-8 with a BOM (Excel opens Chinese correctly), every text cell that a
  spreadsheet would read as a formula neutralised (:func:`neutralise`, OWASP's advice:
  prefix a single quote), numbers left numbers, geometry as WKT;
* :func:`to_geoparquet`: GeoParquet (WKB geometry, WGS-84, ``geo`` metadata) through
  geopandas; values exactly as the API returns them (Parquet is not a spreadsheet).

>>> from pipelines import export
>>> sel = export.Selection("requests", "street", "S01", "last30", status="overdue")
>>> print(export.call_text(sel))
df = api.requests(level='street', unit_id='S01', period='last30', status='overdue')
>>> rows, capped = export.frame(sel)                                        # doctest: +SKIP
>>> export.to_csv(rows)[:3] == codecs.BOM_UTF8                              # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from typing import Any

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines import api, queries

#: What can be exported, and in which formats (``parquet`` is GeoParquet).
WHAT = ("requests", "cells", "units")
FORMATS = ("csv", "parquet")
#: The period of requests created at any time (no ``period`` in the notebook call).
ANY_PERIOD = "any"
#: The request lists a download can hold (``api.requests(status=...)``).
STATUSES = tuple(api.REQUEST_STATUSES)
#: Rows a download holds at most: the notebook API's own default, so the quoted call
#: (without ``limit``) returns exactly the downloaded rows; more needs ``limit=`` in code.
ROW_CAP = queries.DEFAULT_ROW_LIMIT
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}

#: First characters a spreadsheet reads as the start of a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A cell a spreadsheet could run: a formula character first, or after leading whitespace
#: (any Unicode space: NBSP, the ideographic space), including the full-width forms a CJK
#: input method types (some spreadsheet locales fold them to ASCII). Twice: Python's
#: regex for single values, RE2's (Arrow) for whole columns; the same set of strings
#: (``\s`` of Python's ``str`` patterns is RE2's ``[\t\n\x0b\x0c\r\x1c-\x1f\x85\p{Z}]``).
_RISKY = re.compile(r"^\s*[=+\-@\t\r＝＋－＠]")
_RISKY_RE2 = r"^[\t\n\x0b\x0c\r\x1c-\x1f\x85\p{Z}]*[=+\-@\t\r＝＋－＠]"
#: A plain number written as text ("-5", "+1.5e3") is no formula: left as it is.
_PLAIN_RE2 = r"^ *[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? *$"
_PLAIN_NUMBER = re.compile(_PLAIN_RE2)


class ExportError(ValueError):
    """A selection that cannot be exported (the message says why, for a 400 answer)."""


@dataclass(frozen=True)
class Selection:
    """One exportable selection: what, of which unit, in which period, filtered how.

    Parameters
    ----------
    what
        ``requests`` (records), ``cells`` (the unit's heatmap cells) or ``units`` (the
        unit's children with their KPIs).
    level, unit_id
        The unit on screen (the city's level is ``city``).
    period
        A period id (``api.periods()``); for ``requests`` also :data:`ANY_PERIOD`: whenever
        they were created (the SLA view's lists of what is open now).
    hierarchy
        The city's hierarchy when it is not the primary one (cells of the city).
    child_level
        The level of the unit's children (``units``; for the city: in ``hierarchy``).
    status, category, kind
        Request filters: a list of :data:`STATUSES`, a top-level category (Chinese or
        English name), a city-component kind.
    """

    what: str
    level: str
    unit_id: str
    period: str
    hierarchy: str | None = None
    child_level: str | None = None
    status: str = "all"
    category: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.what not in WHAT:
            raise ExportError(f"unknown export {self.what!r}; one of {', '.join(WHAT)}")
        if self.status not in STATUSES:
            raise ExportError(f"unknown status {self.status!r}; one of {', '.join(STATUSES)}")
        if self.period == ANY_PERIOD and self.what != "requests":
            raise ExportError(f"{self.what} need a period; {ANY_PERIOD!r} is for requests only")
        if self.what == "units" and not self.child_level:
            raise ExportError(f"{self.unit_id!r} ({self.level}) has no child units to export")


def api_call(sel: Selection) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """Return the notebook call returning ``sel``'s rows: ``(function, args, kwargs)``.

    Defaults are left out, so the call reads like one a person would write.
    """
    if sel.what == "requests":
        kwargs: dict[str, Any] = {"level": sel.level, "unit_id": sel.unit_id}
        if sel.period != ANY_PERIOD:
            kwargs["period"] = sel.period
        if sel.status != "all":
            kwargs["status"] = sel.status
        if sel.category:
            kwargs["category"] = sel.category
        if sel.kind:
            kwargs["component_kind"] = sel.kind
        return "requests", (), kwargs
    if sel.what == "cells":
        kwargs = {"unit_id": sel.unit_id}
        if sel.hierarchy:
            kwargs["hierarchy"] = sel.hierarchy
        return "cells", (sel.level, sel.period), kwargs
    return "metrics", (sel.child_level, sel.period), {"parent_id": sel.unit_id, "geometry": True}


def call_text(sel: Selection, var: str = "df") -> str:
    """Return the one line ``<var> = api.<function>(...)`` of :func:`api_call`."""
    name, args, kwargs = api_call(sel)
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{var} = api.{name}({', '.join(parts)})"


def snippet(*selections: Selection | tuple[str, Selection]) -> str:
    """Return runnable notebook code reproducing ``selections`` (one line per selection).

    Each item is a selection (assigned to ``df``) or a ``(variable, selection)`` pair.
    """
    lines = ["from pipelines import api", "", "api.connect()"]
    for item in selections:
        var, sel = item if isinstance(item, tuple) else ("df", item)
        lines.append(call_text(sel, var))
    return "\n".join(lines) + "\n"


def frame(
    sel: Selection, *, cap: int | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[pd.DataFrame, bool]:
    """Run ``sel``'s notebook call; return its rows (at most ``cap``) and whether capped.

    ``cap`` defaults to :data:`ROW_CAP` (request rows; cells and units are never capped).

    Reads from the API's connection (the connected build), or from ``con`` (the dashboard
    passes the build it serves, :func:`pipelines.api.reading`).

    Raises
    ------
    ExportError
        For a period, category or kind the build does not have.
    """
    if con is not None:
        with api.reading(con):
            return frame(sel, cap=cap)
    cap = ROW_CAP if cap is None else cap
    name, args, kwargs = api_call(sel)
    try:
        if sel.category:
            # the category filter matches top-level names only: check it like metrics does
            api.metrics("city", "last30", ["requests"], category=sel.category)
        if name == "requests":
            # one row past the cap tells a capped selection from one of exactly cap rows
            rows = api.requests(**kwargs, limit=cap + 1)
        else:
            rows = getattr(api, name)(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ExportError(str(exc)) from None
    capped = name == "requests" and len(rows) > cap
    if capped:
        rows = rows.iloc[:cap]
    return rows, capped


def neutralise(value: str) -> str:
    """Return ``value`` as a spreadsheet shows it as text, never runs it as a formula.

    A cell starting with ``= + - @``, a tab or a carriage return (also after leading
    whitespace, and the full-width ``＝＋－＠``) gets a leading single quote, OWASP's
    advice; a plain number written as text ("-5") is no formula and stays as it is.
    """
    if _RISKY.match(value) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _neutralise_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """:func:`neutralise` on every value of an Arrow string column, in Arrow's kernels."""
    risky = pc.and_(
        pc.match_substring_regex(column, _RISKY_RE2),
        pc.invert(pc.match_substring_regex(column, _PLAIN_RE2)),
    )
    quote = pa.scalar("'", column.type)
    quoted = pc.binary_join_element_wise(quote, column, pa.scalar("", column.type))
    return pc.if_else(pc.fill_null(risky, False), quoted, column)


def _with_wkt(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with its geometry (if any) as WKT text: what a spreadsheet or QGIS reads."""
    if not isinstance(rows, gpd.GeoDataFrame):
        return rows
    out = pd.DataFrame(rows).copy()
    out[rows.geometry.name] = pd.Series(
        [None if g is None or g.is_empty else g.wkt for g in rows.geometry],
        index=out.index,
        dtype="str",
    )
    return out


def _plain_times(table: pa.Table) -> pa.Table:
    """Times as ``YYYY-MM-DD HH:MM:SS`` text (what spreadsheets parse), whole seconds."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            column = table.column(i)
            try:
                # safe: a time with a fraction of a second keeps it (the cast then fails)
                column = pc.cast(column, pa.timestamp("s"))
            except pa.ArrowInvalid:
                pass
            table = table.set_column(i, field.name, pc.cast(column, pa.string()))
    return table


def to_csv(rows: pd.DataFrame) -> bytes:
    """Return ``rows`` as CSV bytes: UTF-8 with a BOM, a header row, text neutralised.

    Every text cell (and header) goes through :func:`neutralise`; numeric, boolean and time
    columns are untouched (a negative number stays a number); geometry is WKT. Written by
    Arrow (a tenth of pandas' time): strings quoted, booleans ``true``/``false``, empty
    fields for missing values.
    """
    table = _plain_times(pa.Table.from_pandas(_with_wkt(rows), preserve_index=False))
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            table = table.set_column(i, field.name, _neutralise_column(table.column(i)))
    table = table.rename_columns([neutralise(str(name)) for name in table.column_names])
    buffer = io.BytesIO()
    buffer.write(codecs.BOM_UTF8)
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(quoting_style="needed"))
    return buffer.getvalue()


def geo_frame(rows: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return ``rows`` as a GeoDataFrame in WGS-84: request points from ``lng``/``lat``."""
    if isinstance(rows, gpd.GeoDataFrame):
        return rows.to_crs(api.CRS) if rows.crs is not None else rows.set_crs(api.CRS)
    if not {"lng", "lat"} <= set(rows.columns):
        raise ExportError("these rows have neither geometry nor lng/lat")
    located = rows["lng"].notna() & rows["lat"].notna()
    points = gpd.points_from_xy(rows["lng"], rows["lat"])
    geometry = gpd.GeoSeries([p if ok else None for p, ok in zip(points, located, strict=True)])
    return gpd.GeoDataFrame(rows, geometry=geometry.values, crs=api.CRS)


def to_geoparquet(rows: pd.DataFrame) -> bytes:
    """Return ``rows`` as GeoParquet bytes (WKB geometry, WGS-84, ``geo`` metadata 1.0)."""
    buffer = io.BytesIO()
    geo_frame(rows).to_parquet(buffer, index=False, schema_version="1.0.0")
    return buffer.getvalue()


def encode(rows: pd.DataFrame, fmt: str) -> bytes:
    """Return ``rows`` in ``fmt`` (:data:`FORMATS`)."""
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "parquet":
        return to_geoparquet(rows)
    raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_UNSAFE_UNICODE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def filename(sel: Selection, fmt: str, *, unit_name: str | None = None) -> tuple[str, str]:
    """Return the download's file names: ``(ASCII fallback, Unicode name)``.

    Both are bare names (no folder, no control or path characters); the ASCII one is built
    from the unit id, the Unicode one from ``unit_name`` (e.g. a Chinese name, sent as RFC
    5987 ``filename*``).
    """
    ext = "csv" if fmt == "csv" else "parquet"
    tail = [sel.what]
    if sel.what == "requests" and sel.status != "all":
        tail.append(sel.status)
    if sel.kind:
        tail.append(sel.kind)
    tail.append(sel.period)

    def ascii_part(text: str) -> str:
        return _UNSAFE.sub("_", text).strip("._") or "x"

    plain = "-".join(["yiwang", ascii_part(sel.unit_id), *map(ascii_part, tail)])[:150]
    named = _UNSAFE_UNICODE.sub("_", unit_name or sel.unit_id).strip(" ._") or plain
    unicode_name = "-".join([named[:60], *map(ascii_part, tail)])
    return f"{plain}.{ext}", f"{unicode_name}.{ext}"
