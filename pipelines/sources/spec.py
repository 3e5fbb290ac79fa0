"""Source specs: the declaration of a source's files, columns, datum, time zone and codes.

A spec is a TOML file next to the raw files. Loading validates it completely, so a missing
or misspelled key fails before any data is read, with a message naming the key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.coords import CoordSys, check_coord_sys


class SpecError(ValueError):
    """The source spec is missing a key or has a value that cannot be used."""


@dataclass(frozen=True)
class TableSpec:
    """One tabular input: file pattern(s), column mapping and value mappings."""

    files: str
    columns: dict[str, str]
    coord_sys: CoordSys = "WGS84"
    timestamp_format: str = "%Y-%m-%d %H:%M:%S"
    encoding: str = "utf-8"
    maps: dict[str, dict[str, str]] = field(default_factory=dict)

    def paths(self, root: Path) -> list[Path]:
        """Files of this table, sorted; raises :class:`SpecError` when none match."""
        found = sorted(root.glob(self.files))
        if not found:
            raise SpecError(f"no file matches {self.files!r} under {root}")
        return found


@dataclass(frozen=True)
class SourceSpec:
    """A whole source: the city, its boundaries and its tables."""

    root: Path
    name: str
    timezone: str
    earliest_timestamp: str
    city_id: str
    city_name: str
    city_name_en: str
    boundary_files: dict[str, str]
    boundary_fields: dict[str, str]
    boundary_coord_sys: CoordSys
    categories_file: str
    requests: TableSpec
    events: TableSpec
    components: TableSpec | None
    alarms: TableSpec | None


REQUEST_COLUMNS = ("request_id", "created_at", "channel", "event_type", "lng", "lat")
EVENT_COLUMNS = ("request_id", "event", "ts")
COMPONENT_COLUMNS = ("component_id", "kind", "lng", "lat")
ALARM_COLUMNS = ("component_id", "ts", "alarm_type")
BOUNDARY_LEVELS = ("district", "street", "community", "grid")


def _get(doc: dict[str, Any], dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise SpecError(f"source spec lacks [{dotted}]")
        node = node[part]
    return node


def _coord_sys(value: str, where: str) -> CoordSys:
    try:
        return check_coord_sys(value)
    except ValueError as exc:
        raise SpecError(f"{where}.coord_sys: {exc}") from exc


def _table(
    doc: dict[str, Any], key: str, required: tuple[str, ...], map_keys: tuple[str, ...] = ()
) -> TableSpec:
    section = _get(doc, key)
    columns = dict(_get(doc, f"{key}.columns"))
    missing = [c for c in required if c not in columns]
    if missing:
        raise SpecError(f"[{key}.columns] lacks {missing}")
    files = section.get("files") or section.get("file")
    if not files:
        raise SpecError(f"[{key}] needs files = '<glob>'")
    return TableSpec(
        files=str(files),
        columns={k: str(v) for k, v in columns.items()},
        coord_sys=_coord_sys(section.get("coord_sys", "WGS84"), key),
        timestamp_format=str(section.get("timestamp_format", "%Y-%m-%d %H:%M:%S")),
        encoding=str(section.get("encoding", "utf-8")),
        maps={m: {str(k): str(v) for k, v in section.get(m, {}).items()} for m in map_keys},
    )


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SpecError(
            f"[source] timezone = {name!r} is not an IANA zone such as 'Asia/Shanghai'"
        ) from exc
    return name


def _iso_day(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError as exc:
        raise SpecError(f"[source] earliest_timestamp = {text!r} is not a YYYY-MM-DD day") from exc
    return text


def load_spec(file: Path) -> SourceSpec:
    """Read and validate a source spec.

    Parameters
    ----------
    file
        The ``source.toml`` file; relative paths in it resolve against its folder.

    Returns
    -------
    SourceSpec

    Raises
    ------
    SpecError
        If the file is missing, is not TOML, or lacks a required key.
    """
    if not file.is_file():
        raise SpecError(f"source spec not found: {file} (run `yiwang demo` for the demo city)")
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{file} is not valid TOML: {exc}") from exc
    files = dict(_get(doc, "boundaries.files"))
    missing = [lvl for lvl in BOUNDARY_LEVELS if lvl not in files]
    if missing:
        raise SpecError(f"[boundaries.files] lacks levels {missing}")
    b = _get(doc, "boundaries")
    fields_ = {
        k: str(b.get(f"{k}_field", default))
        for k, default in (
            ("id", "code"),
            ("name", "name"),
            ("name_en", "name_en"),
            ("parent", "parent_code"),
            ("population", "population"),
        )
    }
    return SourceSpec(
        root=file.parent,
        name=str(_get(doc, "source.name")),
        timezone=_timezone(str(_get(doc, "source.timezone"))),
        earliest_timestamp=_iso_day(str(doc["source"].get("earliest_timestamp", "2000-01-01"))),
        city_id=str(_get(doc, "source.city_id")),
        city_name=str(_get(doc, "source.city_name")),
        city_name_en=str(doc["source"].get("city_name_en", _get(doc, "source.city_name"))),
        boundary_files={k: str(v) for k, v in files.items()},
        boundary_fields=fields_,
        boundary_coord_sys=_coord_sys(str(_get(doc, "boundaries.coord_sys")), "boundaries"),
        categories_file=str(_get(doc, "categories.file")),
        requests=_table(doc, "requests", REQUEST_COLUMNS, ("channels",)),
        events=_table(doc, "events", EVENT_COLUMNS, ("events", "levels", "ratings")),
        components=_table(doc, "components", COMPONENT_COLUMNS) if "components" in doc else None,
        alarms=_table(doc, "alarms", ALARM_COLUMNS) if "alarms" in doc else None,
    )
