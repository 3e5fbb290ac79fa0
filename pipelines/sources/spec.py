"""Source specs: the declaration of a source's files, columns, datum, time zone and codes.

A spec is a TOML file next to the raw files (or pointing at them with ``[source] root``).
Loading validates it completely, so a missing or misspelled key fails before any data is
read, with a message naming the key and what would fix it.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.component_rules import ComponentRules
from pipelines.coords import CoordSys, check_coord_sys
from pipelines.worry import WorryConfig


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
    #: Canonical columns with one value for the whole table (``kind = "parking meter"``).
    constants: dict[str, str] = field(default_factory=dict)
    #: Prepended to the table's ids, so two layers' ids cannot collide.
    id_prefix: str = ""
    #: CSV field delimiter; ``None`` means the most frequent of , tab ; | in the header.
    delimiter: str | None = None

    def paths(self, root: Path) -> list[Path]:
        """Files of this table, sorted; raises :class:`SpecError` when none match."""
        found = sorted(root.glob(self.files))
        if not found:
            raise SpecError(f"no file matches {self.files!r} under {root}")
        return found


@dataclass(frozen=True)
class LevelSpec:
    """One boundary level: its file, fields, place in a hierarchy and labels.

    ``parent`` is ``"city"`` for the first level of a hierarchy. ``parent_key`` says which
    field of the parent level the child's ``parent_field`` holds: ``"id"`` or ``"name"``.
    ``id_prefix`` makes codes unique across levels (LA's region 8, council district 8 and
    neighbourhood council 8 become ``R8``, ``CD8`` and ``NC8``).
    """

    name: str
    hierarchy: str
    depth: int
    parent: str
    file: str
    label_zh: str
    label_en: str
    id_field: str = "code"
    name_field: str = "name"
    name_en_field: str = "name_en"
    parent_field: str = "parent_code"
    parent_key: str = "id"
    id_prefix: str = ""
    population_field: str = "population"
    population_file: str | None = None
    population_id_field: str = "id"
    res: int | None = None
    #: Display names built from the name field, e.g. ``"第{}选区"`` / ``"Council District {}"``.
    name_zh_template: str = "{}"
    name_en_template: str = "{}"


@dataclass(frozen=True)
class SlaRules:
    """How a city judges time limits, lamps, long-unresolved cases and rankings (``[sla]``).

    Every field has a default, so a source without ``[sla]`` gets the rules documented in
    docs/metrics.md.
    """

    #: Response limit (working hours) for categories that do not state one.
    default_response_hours: float = 24.0
    #: An open request turns yellow when this share of its limit has passed, red when overdue.
    yellow_at: float = 0.8
    #: Long-unresolved (久拖不决): still open after this many working days ...
    long_open_working_days: float = 15.0
    #: ... or reopened at least this many times.
    long_reopens: int = 2
    #: A request repeats one made at the same place about the same type within this window.
    repeat_window_days: int = 30
    #: Units with fewer requests than this are listed but not ranked.
    rank_min_requests: int = 30

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SlaRules:
        """Read ``[sla]``; unknown keys and non-positive values are errors, not ignored."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(doc) - known)
        if unknown:
            raise SpecError(f"[sla]: unknown keys {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for key, raw in doc.items():
            kind = type(getattr(cls, key))
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise SpecError(f"[sla] {key} = {raw!r} is not a number") from None
            if value <= 0 or (key == "yellow_at" and value >= 1):
                raise SpecError(f"[sla] {key} = {raw!r} is out of range")
            values[key] = value
        return cls(**values)


@dataclass(frozen=True)
class SourceSpec:
    """A whole source: the city, its boundaries and its tables."""

    file: Path
    root: Path
    name: str
    timezone: str
    #: ISO 3166 code of the working-day calendar (default: implied by the time zone).
    country: str | None
    earliest_timestamp: str
    city_id: str
    city_name: str
    city_name_en: str
    levels: tuple[LevelSpec, ...]
    boundary_coord_sys: CoordSys
    snap_m: float
    categories_file: str | None
    category_columns: dict[str, str]
    category_names_zh: dict[str, str]
    default_time_limit_hours: float | None
    requests: TableSpec
    events: TableSpec | None
    components: tuple[TableSpec, ...]
    alarms: TableSpec | None
    sla: SlaRules = SlaRules()
    worry: WorryConfig = field(default_factory=WorryConfig)
    component_rules: ComponentRules = field(default_factory=ComponentRules)

    @property
    def hierarchies(self) -> dict[str, tuple[LevelSpec, ...]]:
        """Levels of each hierarchy, top down; the first hierarchy is the primary one."""
        out: dict[str, list[LevelSpec]] = {}
        for lvl in self.levels:
            out.setdefault(lvl.hierarchy, []).append(lvl)
        return {h: tuple(levels) for h, levels in out.items()}

    @property
    def primary_hierarchy(self) -> str:
        """The hierarchy the cockpit drills by default (the first declared)."""
        return self.levels[0].hierarchy

    def leaf(self, hierarchy: str) -> LevelSpec:
        """The finest level of ``hierarchy``: the one points are assigned to."""
        return self.hierarchies[hierarchy][-1]

    def level(self, name: str) -> LevelSpec:
        """The level called ``name``."""
        for lvl in self.levels:
            if lvl.name == name:
                return lvl
        raise KeyError(name)


REQUEST_COLUMNS = ("request_id", "created_at", "lng", "lat")
EVENT_COLUMNS = ("request_id", "event", "ts")
COMPONENT_COLUMNS = ("component_id", "kind", "lng", "lat")
ALARM_COLUMNS = ("component_id", "ts", "alarm_type")
#: Optional canonical columns: NULL when a source does not map them.
REQUEST_OPTIONAL = (
    "channel",
    "event_type",
    "address",
    "description",
    "component_id",
    "status",
    "closed_at",
    "updated_at",
)
EVENT_OPTIONAL = ("level", "department", "rating")
COMPONENT_OPTIONAL = ("owner", "property_unit", "maintainer", "status", "installed_on")
#: Canonical request statuses a ``[requests.statuses]`` map may name.
STATUSES = ("open", "closed")
#: The shorthand ``[boundaries.files]`` form: China's four grid-management levels.
CHINA_LEVELS = (
    ("district", "区", "District"),
    ("street", "街道", "Subdistrict"),
    ("community", "社区", "Community"),
    ("grid", "网格", "Grid"),
)
_LEVEL_KEYS = {
    "name",
    "file",
    "hierarchy",
    "parent",
    "label_zh",
    "label_en",
    "id_field",
    "name_field",
    "name_en_field",
    "parent_field",
    "parent_key",
    "id_prefix",
    "population_field",
    "population_file",
    "population_id_field",
    "res",
    "name_zh_template",
    "name_en_template",
}
#: ``[requests] format = "open311"``: an Open311 GeoReport v2 ``requests.json`` export (an
#: array of service requests) needs no column mapping. GeoReport v2 has no close time: a
#: closed request's ``updated_datetime`` is the best one and is used; it has no channel
#: either: requests through an Open311 endpoint count as app/web. Keys given in the spec win.
OPEN311_PRESET: dict[str, Any] = {
    "coord_sys": "WGS84",
    "timestamp_format": "%Y-%m-%dT%H:%M:%S%z",
    "columns": {
        "request_id": "service_request_id",
        "created_at": "requested_datetime",
        "updated_at": "updated_datetime",
        "closed_at": "updated_datetime",
        "status": "status",
        "event_type": "service_code",
        "description": "description",
        "address": "address",
        "lng": "long",
        "lat": "lat",
    },
    "constants": {"channel": "Open311"},
    "channels": {"Open311": "app"},
    "statuses": {"open": "open", "closed": "closed"},
}
FORMATS = ("open311",)
_FIELD_DEFAULTS = ("id_field", "name_field", "name_en_field", "parent_field", "population_field")


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
    doc: dict[str, Any],
    key: str,
    required: tuple[str, ...],
    map_keys: tuple[str, ...] = (),
    section: dict[str, Any] | None = None,
) -> TableSpec:
    section = _get(doc, key) if section is None else section
    if "columns" not in section:
        raise SpecError(f"source spec lacks [{key}.columns]")
    columns = dict(section["columns"])
    constants = {str(k): str(v) for k, v in section.get("constants", {}).items()}
    missing = [c for c in required if c not in columns and c not in constants]
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
        constants=constants,
        id_prefix=str(section.get("id_prefix", "")),
        delimiter=str(section["delimiter"]) if "delimiter" in section else None,
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


def _levels(doc: dict[str, Any]) -> tuple[LevelSpec, ...]:
    """Boundary levels from ``[[boundaries.levels]]`` or the ``[boundaries.files]`` shorthand."""
    b = _get(doc, "boundaries")
    defaults = {k: str(b[k]) for k in _FIELD_DEFAULTS if k in b}
    if "levels" in b:
        raw = list(b["levels"])
    elif "files" in b:
        files = dict(b["files"])
        missing = [name for name, _, _ in CHINA_LEVELS if name not in files]
        if missing:
            raise SpecError(f"[boundaries.files] lacks levels {missing}")
        raw = [
            {"name": name, "file": files[name], "label_zh": zh, "label_en": en}
            for name, zh, en in CHINA_LEVELS
        ]
    else:
        raise SpecError("[boundaries] needs [[boundaries.levels]] (or the [boundaries.files] form)")
    if not raw:
        raise SpecError("[[boundaries.levels]] is empty")
    out: list[LevelSpec] = []
    last_in: dict[str, LevelSpec] = {}
    for i, entry in enumerate(raw):
        where = f"[[boundaries.levels]] #{i + 1}"
        unknown = sorted(set(entry) - _LEVEL_KEYS)
        if unknown:
            raise SpecError(f"{where}: unknown keys {unknown}; known: {sorted(_LEVEL_KEYS)}")
        for key in ("name", "file"):
            if not entry.get(key):
                raise SpecError(f"{where} needs {key} = ...")
        name = str(entry["name"])
        if name == "city" or not name.replace("_", "").isalnum() or not name.isascii():
            raise SpecError(f"{where}: name {name!r} must be ASCII letters, digits, _ (not city)")
        if any(lvl.name == name for lvl in out):
            raise SpecError(f"{where}: level {name!r} declared twice")
        hierarchy = str(entry.get("hierarchy", "main"))
        above = last_in.get(hierarchy)
        parent = str(entry.get("parent", above.name if above else "city"))
        if parent != (above.name if above else "city"):
            raise SpecError(
                f"{where}: parent {parent!r} must be the level declared just before it in "
                f"hierarchy {hierarchy!r} ({above.name if above else 'city'!r})"
            )
        parent_key = str(entry.get("parent_key", "id"))
        if parent_key not in ("id", "name"):
            raise SpecError(f"{where}: parent_key must be 'id' or 'name', got {parent_key!r}")
        res = entry.get("res")
        if res is not None and not (isinstance(res, int) and 0 <= res <= 15):
            raise SpecError(f"{where}: res must be an H3 resolution 0..15, got {res!r}")
        fields_ = {k: str(entry.get(k, defaults.get(k, ""))) for k in _FIELD_DEFAULTS}
        level = LevelSpec(
            name=name,
            hierarchy=hierarchy,
            depth=(above.depth + 1) if above else 1,
            parent=parent,
            file=str(entry["file"]),
            label_zh=str(entry.get("label_zh", name)),
            label_en=str(entry.get("label_en", name.replace("_", " ").title())),
            id_field=fields_["id_field"] or "code",
            name_field=fields_["name_field"] or "name",
            name_en_field=fields_["name_en_field"] or "name_en",
            parent_field=fields_["parent_field"] or "parent_code",
            parent_key=parent_key,
            id_prefix=str(entry.get("id_prefix", "")),
            population_field=fields_["population_field"] or "population",
            population_file=(
                str(entry["population_file"]) if entry.get("population_file") else None
            ),
            population_id_field=str(entry.get("population_id_field", "id")),
            res=res,
            name_zh_template=str(entry.get("name_zh_template", "{}")),
            name_en_template=str(entry.get("name_en_template", "{}")),
        )
        out.append(level)
        last_in[hierarchy] = level
    return tuple(out)


def _preset(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``[requests]`` section with its format's defaults under the spec's own keys."""
    section = dict(_get(doc, "requests"))
    fmt = section.pop("format", None)
    if fmt is None:
        return section
    if fmt not in FORMATS:
        raise SpecError(f"[requests] format = {fmt!r}: known formats are {list(FORMATS)}")
    merged = {**OPEN311_PRESET, **section}
    for key in ("columns", "constants", "channels", "statuses"):
        merged[key] = {**OPEN311_PRESET[key], **section.get(key, {})}
    return merged


def _components(doc: dict[str, Any]) -> tuple[TableSpec, ...]:
    """``[components]`` (one register) or ``[[components]]`` (one per layer)."""
    raw = doc.get("components")
    if raw is None:
        return ()
    sections = raw if isinstance(raw, list) else [raw]
    tables = tuple(
        _table(doc, f"components #{i + 1}", COMPONENT_COLUMNS, section=section)
        for i, section in enumerate(sections)
    )
    datums = {t.coord_sys for t in tables}
    if len(datums) > 1:
        raise SpecError(f"[[components]] layers must share one coord_sys, got {sorted(datums)}")
    return tables


def load_spec(file: Path) -> SourceSpec:
    """Read and validate a source spec.

    Parameters
    ----------
    file
        The ``source.toml`` file; relative paths in it resolve against ``[source] root``,
        itself relative to the spec's folder (default: the spec's folder).

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
    source = _get(doc, "source")
    root = (file.parent / str(source.get("root", "."))).resolve()
    if not root.is_dir():
        raise SpecError(f"[source] root = {source.get('root')!r}: folder {root} does not exist")
    b = _get(doc, "boundaries")
    boundary_coord_sys = _coord_sys(str(_get(doc, "boundaries.coord_sys")), "boundaries")
    cats = dict(doc.get("categories", {}))
    requests = _table(
        doc,
        "requests",
        REQUEST_COLUMNS,
        ("channels", "statuses", "event_types"),
        section=_preset(doc),
    )
    bad_status = sorted(set(requests.maps["statuses"].values()) - set(STATUSES))
    if bad_status:
        raise SpecError(f"[requests.statuses] values must be {STATUSES}, got {bad_status}")
    if "events" not in doc and "status" not in requests.columns:
        raise SpecError(
            "a source needs either an [events] log or [requests.columns] status (with "
            "closed_at and a [requests.statuses] map) to know when requests close"
        )
    if "status" in requests.columns and not requests.maps["statuses"]:
        raise SpecError("[requests.columns] status needs a [requests.statuses] map")
    return SourceSpec(
        file=file.resolve(),
        root=root,
        name=str(_get(doc, "source.name")),
        timezone=_timezone(str(_get(doc, "source.timezone"))),
        country=str(source["country"]) if "country" in source else None,
        earliest_timestamp=_iso_day(str(source.get("earliest_timestamp", "2000-01-01"))),
        city_id=str(_get(doc, "source.city_id")),
        city_name=str(_get(doc, "source.city_name")),
        city_name_en=str(source.get("city_name_en", _get(doc, "source.city_name"))),
        levels=_levels(doc),
        boundary_coord_sys=boundary_coord_sys,
        snap_m=float(b.get("snap_m", 200.0)),
        categories_file=str(cats["file"]) if "file" in cats else None,
        category_columns={str(k): str(v) for k, v in cats.get("columns", {}).items()},
        category_names_zh={str(k): str(v) for k, v in cats.get("names_zh", {}).items()},
        default_time_limit_hours=(
            float(cats["default_time_limit_hours"]) if "default_time_limit_hours" in cats else None
        ),
        requests=requests,
        events=(
            _table(doc, "events", EVENT_COLUMNS, ("events", "levels", "ratings"))
            if "events" in doc
            else None
        ),
        components=_components(doc),
        alarms=_table(doc, "alarms", ALARM_COLUMNS) if "alarms" in doc else None,
        sla=SlaRules.from_doc(dict(doc.get("sla", {}))),
        worry=_worry(doc),
        component_rules=_component_rules(doc),
    )


def _worry(doc: dict[str, Any]) -> WorryConfig:
    try:
        return WorryConfig.from_doc(dict(doc.get("worry", {})))
    except ValueError as exc:
        raise SpecError(str(exc) if str(exc).startswith("[worry]") else f"[worry]: {exc}") from None


def _component_rules(doc: dict[str, Any]) -> ComponentRules:
    """``[component_rules]``: request -> component links, status classes, kind names."""
    try:
        return ComponentRules.from_doc(dict(doc.get("component_rules", {})))
    except ValueError as exc:
        raise SpecError(f"[component_rules]: {exc}") from None
