"""City-component rules of a source (``[component_rules]``): links, statuses, kind names.

A source spec says, in one optional section, how its requests relate to its city components
(城市部件) and how its component register is read:

* ``[component_rules.link]``: which request categories are about which component kinds,
  and how far (metres) a complaint may lie from the component it is about. A key matches a
  category code or a category name (zh or en) at any level, as ``[worry.severity]`` does;
  when several keys match one category the most specific wins (code, then level 4 up to 1).
  A value is a kind, a list of kinds, or ``{kinds = [...], max_distance_m = 30}``.
* ``[component_rules.statuses]``: the register's status values as one of
  :data:`STATUS_CLASSES` (``"正常" = "normal"``); values not listed are ``unknown``.
* ``[component_rules.kind_names_zh]`` / ``kind_names_en``: display names of the kinds
  (default: the kind as the register writes it); ``alarm_type_names_zh`` /
  ``alarm_type_names_en`` likewise for the alarms' types.

The geometry (which component is nearest) is SQL (``intermediate/int_request_component``);
this module only turns the spec into small lookup tables the SQL joins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

#: What a component's register status means (``alarming`` is not a register status: a
#: sensor is alarming when it raised an alarm lately, see docs/metrics.md).
STATUS_CLASSES = ("normal", "damaged", "repair", "disabled", "unknown")
#: Status classes counted as abnormal (out of order or out of service).
ABNORMAL = ("damaged", "repair", "disabled")
#: How a request came to its component: the source named it (a sensor's work order), the
#: nearest relevant one within the limit, none within the limit (a component matter), or
#: not a component matter at all.
LINK_METHODS = ("sensor", "nearest", "unmatched", "none")
#: The keys of ``[component_rules]`` that are plain value -> text tables.
_NAME_MAPS = (
    "statuses",
    "kind_names_zh",
    "kind_names_en",
    "alarm_type_names_zh",
    "alarm_type_names_en",
)
#: Link distances are capped here: beyond a kilometre a complaint is not about one component.
MAX_LINK_M = 1000.0


@dataclass(frozen=True)
class LinkRule:
    """The component kinds a category is about and the farthest a complaint may lie."""

    kinds: tuple[str, ...]
    max_distance_m: float


@dataclass(frozen=True)
class ComponentRules:
    """A source's ``[component_rules]`` (every key optional).

    Parameters
    ----------
    max_distance_m
        Link distance of ``[component_rules.link]`` entries that do not state one.
    link
        Category key -> :class:`LinkRule`.
    statuses
        Register status value -> one of :data:`STATUS_CLASSES`.
    kind_names_zh, kind_names_en
        Register kind -> display name.
    alarm_type_names_zh, alarm_type_names_en
        Alarm type -> display name.
    alarming_days
        A sensor is *alarming* when it raised an alarm in this many days before the end of
        the period (or before the data's as-of time, on the map).
    repeat_window_days
        A failure repeats when it comes within this many days of the component's previous
        failure.
    """

    max_distance_m: float = 50.0
    link: Mapping[str, LinkRule] = field(default_factory=dict)
    statuses: Mapping[str, str] = field(default_factory=dict)
    kind_names_zh: Mapping[str, str] = field(default_factory=dict)
    kind_names_en: Mapping[str, str] = field(default_factory=dict)
    alarm_type_names_zh: Mapping[str, str] = field(default_factory=dict)
    alarm_type_names_en: Mapping[str, str] = field(default_factory=dict)
    alarming_days: int = 7
    repeat_window_days: int = 30

    def __post_init__(self) -> None:
        if not 0 < self.max_distance_m <= MAX_LINK_M:
            raise ValueError(f"max_distance_m must lie in (0, {MAX_LINK_M:g}] metres")
        for key, rule in self.link.items():
            if not rule.kinds:
                raise ValueError(f"link {key!r} names no component kind")
            if not 0 < rule.max_distance_m <= MAX_LINK_M:
                raise ValueError(f"link {key!r}: max_distance_m must lie in (0, {MAX_LINK_M:g}]")
        bad = {k: v for k, v in self.statuses.items() if v not in STATUS_CLASSES}
        if bad:
            raise ValueError(f"statuses must map to one of {STATUS_CLASSES}: {bad}")
        for name in ("alarming_days", "repeat_window_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ComponentRules:
        """Read a spec's ``[component_rules]`` section; unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"unknown keys {unknown}; known: {sorted(known)}")
        try:
            default_m = float(doc.get("max_distance_m", cls.max_distance_m))
            values: dict[str, Any] = {
                "max_distance_m": default_m,
                "link": {
                    str(k): _link_rule(str(k), v, default_m)
                    for k, v in dict(doc.get("link", {})).items()
                },
            }
            for key in _NAME_MAPS:
                values[key] = {str(k): str(v) for k, v in dict(doc.get(key, {})).items()}
            for key in ("alarming_days", "repeat_window_days"):
                if key in doc:
                    values[key] = int(doc[key])
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for the build's meta table)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["link"] = {
            k: {"kinds": list(r.kinds), "max_distance_m": r.max_distance_m}
            for k, r in self.link.items()
        }
        for key in _NAME_MAPS:
            out[key] = dict(out[key])
        return out


def _link_rule(key: str, raw: Any, default_m: float) -> LinkRule:
    if isinstance(raw, str):
        return LinkRule((raw,), default_m)
    if isinstance(raw, list):
        return LinkRule(tuple(str(k) for k in raw), default_m)
    if isinstance(raw, Mapping):
        extra = sorted(set(raw) - {"kinds", "max_distance_m"})
        if extra or "kinds" not in raw:
            raise ValueError(f"link {key!r} takes kinds = [...] and max_distance_m, got {raw}")
        kinds = raw["kinds"]
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        return LinkRule(tuple(str(k) for k in kinds), float(raw.get("max_distance_m", default_m)))
    raise ValueError(f"link {key!r} = {raw!r}: give a kind, a list of kinds or a table")


def link_table(categories: pd.DataFrame, rules: ComponentRules) -> pd.DataFrame:
    """The component kinds each category code is about: ``code, kind, max_distance_m``.

    A key matches a code or a name at any level (``l1_zh`` … ``l4_en``); when several keys
    match one category the most specific wins (code, then level 4 up to level 1), so a
    level-3 entry can narrow what its level-2 entry says. Codes no key matches are absent.
    """
    chosen: dict[str, LinkRule] = {}
    levels = [
        f"l{n}_{lang}"
        for n in (1, 2, 3, 4)
        for lang in ("zh", "en")
        if f"l{n}_{lang}" in categories
    ]
    codes = categories["code"].astype(str).to_numpy()
    for column in [*levels, "code"]:  # coarse to specific: later matches overwrite
        for code, value in zip(codes, categories[column].astype(str), strict=True):
            if value in rules.link:
                chosen[code] = rules.link[value]
    rows = [
        (code, kind, rule.max_distance_m)
        for code, rule in sorted(chosen.items())
        for kind in dict.fromkeys(rule.kinds)
    ]
    return pd.DataFrame(rows, columns=["code", "kind", "max_distance_m"]).astype(
        {"code": "string", "kind": "string", "max_distance_m": "float64"}
    )


def status_table(rules: ComponentRules) -> pd.DataFrame:
    """Register status value -> status class: ``status, status_class``."""
    return pd.DataFrame(
        list(rules.statuses.items()), columns=["status", "status_class"], dtype="string"
    )


def kind_table(kinds: Iterable[str], rules: ComponentRules) -> pd.DataFrame:
    """Display names of the register's kinds: ``kind, kind_zh, kind_en``."""
    rows = [
        (k, rules.kind_names_zh.get(k, k), rules.kind_names_en.get(k, k))
        for k in sorted(set(kinds))
    ]
    return pd.DataFrame(rows, columns=["kind", "kind_zh", "kind_en"], dtype="string")


def alarm_type_table(types: Iterable[str], rules: ComponentRules) -> pd.DataFrame:
    """Display names of the alarms' types: ``alarm_type, alarm_type_zh, alarm_type_en``."""
    rows = [
        (a, rules.alarm_type_names_zh.get(a, a), rules.alarm_type_names_en.get(a, a))
        for a in sorted(set(types))
    ]
    return pd.DataFrame(
        rows, columns=["alarm_type", "alarm_type_zh", "alarm_type_en"], dtype="string"
    )
