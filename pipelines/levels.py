"""Boundary levels as the pipeline uses them: resolutions, the level table, unit lineage.

A source declares its hierarchies in the spec (``pipelines.sources.spec``); this module
turns them into the tables the marts and the cockpit read, so no stage or model names a
level: the demo's district/street/community/grid and LA's region/council are alike.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines.settings import Settings
from pipelines.sources.spec import SourceSpec


def level_res(settings: Settings, spec: SourceSpec) -> dict[str, int]:
    """Heatmap H3 resolution of the city and each level.

    The spec's ``res`` wins, then ``settings.map_res`` by level name, then one step finer
    per level below the city (city 7, then 8, 9, 10), never finer than ``point_res``.
    """
    city = int(settings.map_res.get("city", 7))
    out = {"city": min(city, settings.point_res)}
    for lvl in spec.levels:
        res = lvl.res if lvl.res is not None else settings.map_res.get(lvl.name)
        if res is None:
            res = min(city + lvl.depth, 10)
        out[lvl.name] = min(int(res), settings.point_res)
    return out


def level_table(spec: SourceSpec, resolutions: dict[str, int]) -> pd.DataFrame:
    """One row per level: hierarchy, depth, parent and child level, labels, resolution."""
    primary_top = spec.hierarchies[spec.primary_hierarchy][0].name
    rows: list[tuple[Any, ...]] = [
        ("city", None, 0, None, primary_top, "全市", "City", resolutions["city"], 0)
    ]
    order = 1
    for hierarchy, levels in spec.hierarchies.items():
        for i, lvl in enumerate(levels):
            child = levels[i + 1].name if i + 1 < len(levels) else None
            rows.append(
                (
                    lvl.name,
                    hierarchy,
                    lvl.depth,
                    lvl.parent,
                    child,
                    lvl.label_zh,
                    lvl.label_en,
                    resolutions[lvl.name],
                    order,
                )
            )
            order += 1
    return pd.DataFrame(
        rows,
        columns=[
            "level",
            "hierarchy",
            "depth",
            "parent_level",
            "child_level",
            "label_zh",
            "label_en",
            "res",
            "sort_order",
        ],
    ).astype({"hierarchy": "string", "parent_level": "string", "child_level": "string"})


def unit_lineage(units: pd.DataFrame, spec: SourceSpec) -> pd.DataFrame:
    """Each leaf with itself and its ancestors below the city, one row per level.

    ``child_id`` is the ancestor's child on the way down to the leaf (``None`` at the leaf).
    """
    parent = dict(zip(units["unit_id"], units["parent_id"], strict=True))
    rows = []
    for hierarchy in spec.hierarchies:
        leaf = spec.leaf(hierarchy)
        for leaf_id in units.loc[units["level"] == leaf.name, "unit_id"]:
            chain = [leaf_id]
            while len(chain) < leaf.depth:
                chain.append(parent[chain[-1]])
            for depth_from_leaf, unit_id in enumerate(chain):
                child = chain[depth_from_leaf - 1] if depth_from_leaf else None
                rows.append((hierarchy, leaf_id, leaf.depth - depth_from_leaf, unit_id, child))
    out = pd.DataFrame(rows, columns=["hierarchy", "leaf_id", "depth", "unit_id", "child_id"])
    level_of = dict(zip(units["unit_id"], units["level"], strict=True))
    out["level"] = out["unit_id"].map(level_of)
    return out.astype({"child_id": "string"})
