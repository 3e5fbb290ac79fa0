"""City components (城市部件) and their sensor alarms for the demo city."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.demo.geography import Geography

# type code, zh, en, share, owner choices, sensor event (level-3 name) or ""
COMPONENT_TYPES = (
    (
        "manhole_cover",
        "井盖",
        "Manhole cover",
        0.30,
        ("水务局", "燃气集团", "供电局", "通信公司"),
        "",
    ),
    ("street_light", "路灯", "Street light", 0.25, ("城市管理和综合执法局",), ""),
    ("hydrant", "消火栓", "Hydrant", 0.08, ("消防救援支队",), ""),
    ("camera", "视频监控", "Camera", 0.12, ("公安局",), ""),
    (
        "fire_lane_sensor",
        "消防通道地磁",
        "Fire-lane sensor",
        0.04,
        ("消防救援支队",),
        "消防通道堵塞",
    ),
    ("manhole_monitor", "井盖监测器", "Manhole monitor", 0.06, ("水务局",), "井盖缺失"),
    ("pipe_monitor", "雨污管网监测", "Drain monitor", 0.04, ("水务局",), "污水外溢"),
    ("smoke_sensor", "烟感", "Smoke sensor", 0.07, ("应急管理局",), "电动车违规充电"),
    (
        "pool_level_sensor",
        "消防水池液位",
        "Fire-pool level sensor",
        0.04,
        ("消防救援支队",),
        "消防设施损坏",
    ),
)
STATUS = (("正常", 0.90), ("损坏", 0.04), ("维修中", 0.03), ("停用", 0.03))
ALARM_TYPES = (("越限告警", 0.7), ("设备离线", 0.2), ("设备故障", 0.1))
MAINTAINERS = ("鹏城", "深南", "前海", "梧桐", "大鹏", "南粤", "华侨城", "特区")


@dataclass
class Components:
    """Component register (WGS-84 written later) and the alarms raised by sensors."""

    table: pd.DataFrame  # columns used by the writer; x/y in GCJ-02
    alarms: pd.DataFrame  # component index, local timestamp, alarm type
    faulty: list[str]  # ids of planted chattering sensors (ground truth)


def generate_components(
    rng: np.random.Generator,
    geo: Geography,
    n: int,
    days: np.ndarray,
    street_of_grid: list[str],
    street_names: dict[str, str],
) -> Components:
    """Place ``n`` components where people live and simulate a year of sensor alarms."""
    shares = np.array([t[3] for t in COMPONENT_TYPES])
    kind = rng.choice(len(COMPONENT_TYPES), size=n, p=shares / shares.sum())
    pick = rng.integers(0, len(geo.residents_x), size=n)
    x = geo.residents_x[pick] + rng.normal(0, 0.0004, n)
    y = geo.residents_y[pick] + rng.normal(0, 0.0004, n)
    grid_idx = geo.residents_grid[pick]
    owners = np.array(
        [t[4][int(rng.integers(len(t[4])))] for t in (COMPONENT_TYPES[k] for k in kind)],
        dtype=object,
    )
    street = np.array([street_of_grid[g] for g in grid_idx], dtype=object)
    property_unit = np.where(
        rng.random(n) < 0.6,
        np.array([street_names[s] + "办事处" for s in street], dtype=object),
        "深圳市" + owners,
    )
    maint = np.array(MAINTAINERS, dtype=object)[rng.integers(0, len(MAINTAINERS), n)]
    status_p = np.array([s[1] for s in STATUS])
    status = np.array([s[0] for s in STATUS], dtype=object)[
        rng.choice(len(STATUS), size=n, p=status_p)
    ]
    installed = days[0] - rng.integers(30, 365 * 12, n).astype("timedelta64[D]")
    ids = np.array(
        [f"BJ{COMPONENT_TYPES[k][0][:2].upper()}{i:07d}" for i, k in enumerate(kind, start=1)],
        dtype=object,
    )
    table = pd.DataFrame(
        {
            "id": ids,
            "kind": kind,
            "x": x,
            "y": y,
            "owner": "深圳市" + owners,
            "property_unit": property_unit,
            "maintainer": "深圳市" + maint + "市政工程有限公司",
            "status": status,
            "installed": installed.astype(str),
        }
    )
    # Alarms: sensors raise ~1.5 a year; a few chattering ones raise hundreds (planted faults).
    is_sensor = np.array([COMPONENT_TYPES[k][5] != "" for k in kind])
    sensors = np.flatnonzero(is_sensor & (status == "正常"))
    rate = np.full(len(sensors), 1.5)
    faulty_idx = rng.choice(len(sensors), size=min(25, len(sensors)), replace=False)
    rate[faulty_idx] = rng.uniform(80, 300, len(faulty_idx))
    counts = rng.poisson(rate)
    comp = np.repeat(sensors, counts)
    ts = days[0].astype("datetime64[s]") + rng.integers(0, len(days) * 86400, comp.size).astype(
        "timedelta64[s]"
    )
    atype_p = np.array([a[1] for a in ALARM_TYPES])
    atype = np.array([a[0] for a in ALARM_TYPES], dtype=object)[
        rng.choice(len(ALARM_TYPES), size=comp.size, p=atype_p)
    ]
    alarms = pd.DataFrame({"component": comp, "ts": ts, "alarm_type": atype}).sort_values("ts")
    return Components(
        table, alarms.reset_index(drop=True), [str(ids[sensors[i]]) for i in faulty_idx]
    )
