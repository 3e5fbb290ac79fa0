"""Citizen requests and their lifecycle events for the demo city (vectorized)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker

from pipelines.demo.components import COMPONENT_TYPES, Components
from pipelines.demo.geography import Geography
from pipelines.demo.taxonomy import EventType, weights
from pipelines.demo.timeline import HOURLY, day_weights, pick_storm_days

CHANNELS = ("12345热线", "i深圳随手拍", "微信公众号", "网格巡查", "传感器告警")
LEVELS = ("区级", "街道级", "社区级")
DISPATCH_SPLIT = (0.525, 0.391, 0.084)  # 2020 P district split, MISSION.md
RATINGS = ("满意", "基本满意", "不满意")
PATROL_CLASSES = {"市容环卫", "城中村管理", "安全管理", "园林绿化", "市政设施"}
STORM_L3 = ("路面积水", "下水道堵塞", "树木倒伏", "停电")
SPIKE_L3 = ("停水", "施工噪音", "停电", "油烟扰民", "电梯故障", "病媒生物")
HOTSPOT_L3 = (
    "占道经营",
    "施工噪音",
    "垃圾桶满溢",
    "占用人行道停车",
    "油烟扰民",
    "路面积水",
    "共享单车乱停",
    "社会生活噪音",
    "违规群租",
    "路灯不亮",
)
PHRASES = (
    "，已经持续好几天了，希望尽快处理。",
    "，影响居民正常生活，请相关部门核实。",
    "，多次反映未解决。",
    "，存在安全隐患。",
    "，请尽快派人查看。",
)

MINUTE = np.timedelta64(60, "s")

# Lifecycle parameters (see ``_lifecycle``), calibrated to MISSION.md's P district figures.
SHARE_SHORT_LIMIT = (1.7, 1.6)  # beta of handling time / time limit, limits < 120 h
SHARE_LONG_LIMIT = (6.5, 1.2)  # the same for limits of 120 h and more
LATE_SHARE = 0.05  # closed after the time limit
NEVER_CLOSED_SHARE = 0.0002  # completion rate 99.98 %
SLOW_ACCEPT_SHARE = 0.05  # accepted after the response limit
SECOND_REOPEN_EXTRA = 0.06  # reopened again without a second 不满意 rating


@dataclass
class Requests:
    """Request rows (source-shaped), lifecycle events, and the ground truth of what was planted."""

    table: pd.DataFrame
    events: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)


def _times(rng: np.random.Generator, days: np.ndarray, day_idx: np.ndarray) -> np.ndarray:
    hour = rng.choice(24, size=day_idx.size, p=HOURLY)
    sec = hour * 3600 + rng.integers(0, 3600, day_idx.size)
    return days[day_idx].astype("datetime64[s]") + sec.astype("timedelta64[s]")


def _types_by_l3(types: list[EventType]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, t in enumerate(types):
        out.setdefault(t.l3_zh, []).append(i)
    return out


def generate_requests(
    rng: np.random.Generator,
    plan: np.random.Generator,
    geo: Geography,
    types: list[EventType],
    comps: Components,
    days: np.ndarray,
    n: int,
    *,
    n_total: int,
    chunk: int = 0,
    n_chunks: int = 1,
) -> Requests:
    """Generate one chunk of about ``n`` requests and their lifecycle events.

    ``plan`` decides *what* is planted (hotspot places, spike days, storm days, repeat
    addresses) and must be seeded identically for every chunk; ``rng`` draws the rows.
    ``n_total`` is the size of the whole run, so plans do not depend on chunking.
    """
    by_l3 = _types_by_l3(types)
    n_grid = len(geo.grids)
    dw = day_weights(days)
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("x", "y", "t", "type", "src", "grid", "comp", "addr")
    }
    truth: dict[str, Any] = {"hotspots": [], "spikes": [], "storms": [], "repeat_addresses": []}

    def add(x, y, t, typ, src, grid, comp=None, addr=None) -> None:
        m = len(x)
        parts["x"].append(np.asarray(x, float))
        parts["y"].append(np.asarray(y, float))
        parts["t"].append(t)
        parts["type"].append(np.asarray(typ, np.int32))
        parts["src"].append(np.full(m, src, dtype=object))
        parts["grid"].append(np.asarray(grid, np.int32))
        parts["comp"].append(np.full(m, -1, np.int64) if comp is None else comp)
        parts["addr"].append(np.full(m, -1, np.int64) if addr is None else addr)

    alarms = comps.alarms.iloc[chunk::n_chunks]
    # ~1.5 % of all requests come from sensors (30 % of alarms at most become work orders).
    share = min(0.3, 0.015 * n_total / max(1, len(comps.alarms)))
    alarms = alarms[rng.random(len(alarms)) < share]
    ctab = comps.table
    n_sensor = len(alarms)
    kinds = ctab["kind"].to_numpy()[alarms["component"].to_numpy()]
    sensor_type = np.array([by_l3[COMPONENT_TYPES[k][5]][0] for k in kinds])
    cx = ctab["x"].to_numpy()[alarms["component"].to_numpy()]
    cy = ctab["y"].to_numpy()[alarms["component"].to_numpy()]
    add(
        cx,
        cy,
        alarms["ts"].to_numpy().astype("datetime64[s]"),
        sensor_type,
        "sensor",
        np.full(n_sensor, -1),
        comp=alarms["component"].to_numpy(),
    )

    n_rest = max(n - n_sensor, 0)
    n_hot, n_spike, n_storm, n_rep = (int(n_rest * s) for s in (0.06, 0.03, 0.02, 0.02))
    n_bg = n_rest - n_hot - n_spike - n_storm - n_rep

    # Background: where people live, what people usually report.
    pick = rng.integers(0, len(geo.residents_x), n_bg)
    add(
        geo.residents_x[pick] + rng.normal(0, 0.0005, n_bg),
        geo.residents_y[pick] + rng.normal(0, 0.0005, n_bg),
        _times(rng, days, rng.choice(len(days), size=n_bg, p=dw)),
        rng.choice(len(types), size=n_bg, p=weights(types)),
        "background",
        geo.residents_grid[pick],
    )

    # Persistent hotspots: one matter concentrated around one place for months.
    n_spots = 30
    sizes = rng.multinomial(n_hot, plan.dirichlet(np.full(n_spots, 2.0)))
    for h, size in enumerate(sizes):
        anchor = int(plan.integers(len(geo.residents_x)))
        cx0, cy0 = geo.residents_x[anchor], geo.residents_y[anchor]
        sigma = float(plan.uniform(0.0008, 0.0025))
        l3 = HOTSPOT_L3[h % len(HOTSPOT_L3)]
        start = int(plan.integers(0, len(days) // 2))
        stop = int(plan.integers(start + 60, len(days)))
        w = dw[start:stop] / dw[start:stop].sum()
        tix = by_l3[l3]
        add(
            cx0 + rng.normal(0, sigma, size),
            cy0 + rng.normal(0, sigma, size),
            _times(rng, days, start + rng.choice(stop - start, size=size, p=w)),
            rng.choice(tix, size=size),
            "hotspot",
            np.full(size, geo.residents_grid[anchor]),
        )
        truth["hotspots"].append(
            {
                "id": f"H{h + 1:02d}",
                "kind": "persistent",
                "l3": l3,
                "gcj02": [float(cx0), float(cy0)],
                "sigma_deg": sigma,
                "grid": geo.grids[geo.residents_grid[anchor]].code,
                "start": str(days[start]),
                "end": str(days[stop - 1]),
                "requests": int(size),
            }
        )
    # Spikes: a burst in one community for a few days (outage, works, lift failure).
    n_spikes = 12
    sizes = rng.multinomial(n_spike, np.full(n_spikes, 1 / n_spikes))
    for s, size in enumerate(sizes):
        anchor = int(plan.integers(len(geo.residents_x)))
        gidx = geo.residents_grid[anchor]
        length = int(plan.integers(2, 8))
        start = int(plan.integers(0, len(days) - length))
        l3 = SPIKE_L3[s % len(SPIKE_L3)]
        sigma = 0.003
        add(
            geo.residents_x[anchor] + rng.normal(0, sigma, size),
            geo.residents_y[anchor] + rng.normal(0, sigma, size),
            _times(rng, days, start + rng.integers(0, length, size)),
            rng.choice(by_l3[l3], size=size),
            "spike",
            np.full(size, gidx),
        )
        truth["spikes"].append(
            {
                "id": f"S{s + 1:02d}",
                "l3": l3,
                "gcj02": [float(geo.residents_x[anchor]), float(geo.residents_y[anchor])],
                "sigma_deg": sigma,
                "grid": geo.grids[gidx].code,
                "start": str(days[start]),
                "end": str(days[start + length - 1]),
                "requests": int(size),
            }
        )
    # Storm days: flooding, fallen trees and power cuts across the city.
    storm_days = pick_storm_days(plan, days)
    pick = rng.integers(0, len(geo.residents_x), n_storm)
    storm_ix = np.searchsorted(days, storm_days)[rng.integers(0, len(storm_days), n_storm)]
    storm_types = np.concatenate([by_l3[k] for k in STORM_L3])
    add(
        geo.residents_x[pick] + rng.normal(0, 0.0005, n_storm),
        geo.residents_y[pick] + rng.normal(0, 0.0005, n_storm),
        _times(rng, days, storm_ix),
        rng.choice(storm_types, size=n_storm),
        "storm",
        geo.residents_grid[pick],
    )
    truth["storms"] = [{"day": str(d), "l3": list(STORM_L3)} for d in storm_days]
    # Repeat complaints: the same address reporting the same matter again and again.
    n_addr = max(1, int(n_total * 0.02) // 12)
    addr_anchor = plan.integers(0, len(geo.residents_x), n_addr)
    addr_type = plan.choice(len(types), size=n_addr, p=weights(types))
    which = rng.choice(n_addr, size=n_rep, p=plan.dirichlet(np.full(n_addr, 0.7)))
    add(
        geo.residents_x[addr_anchor][which],
        geo.residents_y[addr_anchor][which],
        _times(rng, days, rng.choice(len(days), size=n_rep, p=dw)),
        addr_type[which],
        "repeat",
        geo.residents_grid[addr_anchor][which],
        addr=which,
    )

    x = np.concatenate(parts["x"])
    y = np.concatenate(parts["y"])
    t = np.concatenate(parts["t"])
    typ = np.concatenate(parts["type"])
    src = np.concatenate(parts["src"])
    grid = np.concatenate(parts["grid"])
    comp = np.concatenate(parts["comp"])
    addr = np.concatenate(parts["addr"])
    order = np.argsort(t, kind="stable")
    x, y, t, typ, src, grid, comp, addr = (a[order] for a in (x, y, t, typ, src, grid, comp, addr))
    m = len(t)
    repeat_counts = np.bincount(addr[addr >= 0], minlength=n_addr)
    # Sensor requests carry their component's grid (nearest resident grid is good enough here).
    no_grid = grid < 0
    grid[no_grid] = rng.integers(0, n_grid, int(no_grid.sum()))

    table = _request_table(
        rng,
        geo,
        types,
        ctab,
        days,
        x,
        y,
        t,
        typ,
        src,
        grid,
        comp,
        addr,
        prefix=f"SZ{chr(ord('A') + chunk % 26)}",
    )
    # Bad rows a real export carries: missing coordinates and points thrown far off the map.
    missing = rng.random(m) < 0.004
    offmap = (~missing) & (rng.random(m) < 0.001)
    table.loc[missing, ["经度", "纬度"]] = np.nan
    table.loc[offmap, "纬度"] = table.loc[offmap, "纬度"] - 0.9  # into the South China Sea
    events = _lifecycle(rng, plan, table, types, geo, grid)
    addresses = table["诉求地址"].to_numpy(dtype=object)
    seen, first_row = np.unique(addr, return_index=True)
    first_of = dict(zip(seen.tolist(), first_row.tolist(), strict=True))
    top = np.argsort(-repeat_counts, kind="stable")[:50]
    truth["repeat_addresses"] = [
        {"address": str(addresses[first_of[int(a)]]), "requests": int(repeat_counts[a])}
        for a in top
        if repeat_counts[a] >= 10
    ]
    truth["bad_rows"] = {"missing_coordinates": int(missing.sum()), "off_map": int(offmap.sum())}
    truth["by_mechanism"] = {
        k: int(v) for k, v in zip(*np.unique(src, return_counts=True), strict=True)
    }
    return Requests(table, events, truth)


def _request_table(
    rng, geo, types, ctab, days, x, y, t, typ, src, grid, comp, addr, *, prefix: str
) -> pd.DataFrame:
    m = len(t)
    day = t.astype("datetime64[D]")
    first = np.searchsorted(day, day, side="left")
    seq = np.arange(m) - first + 1
    ymd = pd.Series(day.astype(str)).str.replace("-", "", regex=False).to_numpy(dtype=object)
    ids = prefix + ymd + pd.Series(seq).map("{:06d}".format).to_numpy(dtype=object)
    # Channel: patrols find street-scene problems, residents phone about the rest.
    l1 = np.array([tp.l1_zh for tp in types], dtype=object)[typ]
    patrol = np.isin(l1, list(PATROL_CLASSES))
    u = rng.random(m)
    ch = np.where(
        patrol,
        np.select([u < 0.38, u < 0.55, u < 0.65], [0, 1, 2], 3),
        np.select([u < 0.66, u < 0.84], [0, 1], 2),
    )
    ch = np.where(src == "sensor", 4, ch)
    # Address: a road of the grid's community; repeat callers keep one exact address.
    comm_roads = [geo.grids[g].roads for g in range(len(geo.grids))]
    n_roads = np.array([len(r) for r in comm_roads])
    road_i = (rng.random(m) * n_roads[grid]).astype(int)
    num = rng.integers(1, 400, m)
    rep = addr >= 0
    num[rep] = 1 + addr[rep] % 399
    road_i[rep] = addr[rep] % n_roads[grid[rep]]
    road = np.array([comm_roads[g][r][0] for g, r in zip(grid, road_i, strict=True)], dtype=object)
    units = {u.code: u for u in geo.units}
    place = np.array(
        [units[g.code[:6]].name + units[g.code[:9]].name for g in geo.grids], dtype=object
    )
    address = (
        "深圳市" + place[grid] + road + pd.Series(num).astype(str).to_numpy(dtype=object) + "号"
    )
    # Free text with the personal data real hotline records contain (scrubbed later).
    fake = Faker("zh_CN")
    fake.seed_instance(int(rng.integers(1 << 31)))
    pool_names = np.array([fake.name() for _ in range(3000)], dtype=object)
    pool_phones = np.array([fake.phone_number() for _ in range(3000)], dtype=object)
    l4 = np.array([tp.l4_zh for tp in types], dtype=object)[typ]
    phrase = np.array(PHRASES, dtype=object)[rng.integers(0, len(PHRASES), m)]
    pii = rng.random(m) < 0.35
    tail = np.where(
        pii,
        "联系人"
        + pool_names[rng.integers(0, 3000, m)]
        + "，电话"
        + pool_phones[rng.integers(0, 3000, m)]
        + "。",
        "",
    )
    text = "市民反映：" + address + l4 + phrase + tail
    comp_id = np.where(comp >= 0, ctab["id"].to_numpy()[np.maximum(comp, 0)], None)
    return pd.DataFrame(
        {
            "工单编号": ids,
            "受理时间": pd.Series(t).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object),
            "来源渠道": np.array(CHANNELS, dtype=object)[ch],
            "事项编码": np.array([tp.code for tp in types], dtype=object)[typ],
            "事项名称": l4,
            "诉求地址": address,
            "诉求内容": text,
            "经度": np.round(x, 6),
            "纬度": np.round(y, 6),
            "部件编号": comp_id,
        }
    )


def _lifecycle(
    rng, plan, table: pd.DataFrame, types: list[EventType], geo: Geography, grid: np.ndarray
) -> pd.DataFrame:
    """Reported -> dispatched -> accepted -> closed -> rated (-> reopened -> closed -> rated).

    About 15 % of reopened requests go round a second time; events are in time order.
    """
    m = len(table)
    created = pd.to_datetime(table["受理时间"]).to_numpy().astype("datetime64[s]")
    code_ix = {tp.code: i for i, tp in enumerate(types)}
    typ = table["事项编码"].map(code_ix).to_numpy()
    limit = np.array([tp.time_limit_hours for tp in types], dtype=float)[typ]
    respond = np.array([tp.response_limit_hours for tp in types], dtype=float)[typ] * 3600
    # Handling time as a share of the category's time limit: short-limit matters close
    # early in their window, long ones near its end, 5 % run late and 0.02 % never close.
    # Calibrated to MISSION.md on the last 12 months (the newest requests are still open):
    # 50 % first closed within a day, 71 % within three, 99.98 % ever.
    share = np.where(limit >= 120, rng.beta(*SHARE_LONG_LIMIT, m), rng.beta(*SHARE_SHORT_LIMIT, m))
    late = rng.random(m) < LATE_SHARE
    share[late] = 1 + rng.exponential(0.8, int(late.sum()))
    hours = np.maximum(limit * share, 0.25)
    hours[rng.random(m) < NEVER_CLOSED_SHARE] = np.nan
    closes = ~np.isnan(hours)
    dur = np.where(closes, hours, 24 * 120) * 3600
    # Acceptance (签收): 95 % within the response limit (natural hours; before the close when
    # that comes sooner), the rest late. Dispatch (派单) comes between creation and acceptance.
    slow = rng.random(m) < SLOW_ACCEPT_SHARE
    wait = np.where(
        slow,
        respond * (1 + rng.exponential(0.5, m)),
        np.minimum(respond * rng.beta(1.2, 2.5, m), 0.5 * dur),
    ).clip(120, None)
    accept = created + wait.astype("timedelta64[s]")
    dispatch = created + (wait * rng.uniform(0.1, 0.6, m)).clip(60, None).astype("timedelta64[s]")
    closed = created + dur.astype("timedelta64[s]")
    # A late acceptance delays the close: it needs some handling after it.
    closed = np.maximum(closed, accept + rng.integers(600, 4 * 3600, m).astype("timedelta64[s]"))
    level = rng.choice(3, size=m, p=DISPATCH_SPLIT)
    dept_city = np.array([tp.department_zh for tp in types], dtype=object)[typ]
    units = {u.code: u for u in geo.units}
    g_codes = np.array([g.code for g in geo.grids], dtype=object)[grid]
    comm = np.array([units[c[:12]].name for c in g_codes], dtype=object)
    street = np.array([units[c[:9]].name for c in g_codes], dtype=object)
    district = np.array([units[c[:6]].name for c in g_codes], dtype=object)
    dept = np.select(
        [level == 0, level == 1], [district + dept_city, street + "办事处"], comm + "工作站"
    )
    # Ratings: slower cases and a few planted poorly-run streets disappoint more residents.
    rated = closes & (rng.random(m) < 0.85)
    rate_ts = closed + rng.integers(1800, 48 * 3600, m).astype("timedelta64[s]")
    all_streets = sorted(u.code for u in geo.units if u.level == "street")
    bad_streets = set(plan.choice(all_streets, size=3, replace=False).tolist())
    p_dis = (
        0.04
        + 0.10 * (hours > 72)
        + 0.12 * np.isin(pd.Series(g_codes).str.slice(0, 9).to_numpy(), list(bad_streets))
    )
    p_dis = np.nan_to_num(p_dis, nan=0.2)
    r = rng.random(m)
    rating = np.select([r < p_dis, r < p_dis + 0.12], [2, 1], 0)
    reopen = rated & (rating == 2) & (rng.random(m) < 0.5)
    reopen_ts = rate_ts + np.timedelta64(3600, "s")
    closed2 = reopen_ts + rng.lognormal(np.log(48 * 3600), 0.6, m).astype("timedelta64[s]")
    rated2 = reopen & (rng.random(m) < 0.8)
    rate2_ts = closed2 + rng.integers(1800, 24 * 3600, m).astype("timedelta64[s]")
    rating2 = np.where(rng.random(m) < 0.75, 0, np.where(rng.random(m) < 0.5, 1, 2))
    # About 15 % of reopened requests come back once more: rated 不满意 again, or sent back
    # (回退) without such a rating; they are closed a third time and maybe rated again.
    reopen2 = reopen & ((rated2 & (rating2 == 2)) | (rng.random(m) < SECOND_REOPEN_EXTRA))
    reopen2_ts = np.where(rated2, rate2_ts, closed2) + rng.integers(3600, 24 * 3600, m).astype(
        "timedelta64[s]"
    )
    closed3 = reopen2_ts + rng.lognormal(np.log(36 * 3600), 0.6, m).astype("timedelta64[s]")
    rated3 = reopen2 & (rng.random(m) < 0.8)
    rate3_ts = closed3 + rng.integers(1800, 24 * 3600, m).astype("timedelta64[s]")
    rating3 = np.where(rng.random(m) < 0.7, 0, np.where(rng.random(m) < 0.5, 1, 2))

    ids = table["工单编号"].to_numpy()
    lvl = np.array(LEVELS, dtype=object)[level]
    rat = np.array(RATINGS, dtype=object)
    blocks = [
        (np.ones(m, bool), created, "受理", None, None, None),
        (np.ones(m, bool), dispatch, "派单", lvl, dept, None),
        (np.ones(m, bool), accept, "签收", lvl, dept, None),
        (closes, closed, "办结", lvl, dept, None),
        (rated, rate_ts, "评价", None, None, rat[rating]),
        (reopen, reopen_ts, "重办", lvl, dept, None),
        (reopen, closed2, "办结", lvl, dept, None),
        (rated2, rate2_ts, "评价", None, None, rat[rating2]),
        (reopen2, reopen2_ts, "重办", lvl, dept, None),
        (reopen2, closed3, "办结", lvl, dept, None),
        (rated3, rate3_ts, "评价", None, None, rat[rating3]),
    ]
    frames = []
    for mask, ts, name, lv, dp, rt in blocks:
        idx = np.flatnonzero(mask)
        frames.append(
            pd.DataFrame(
                {
                    "工单编号": ids[idx],
                    "环节": name,
                    "时间": ts[idx],
                    "派发层级": None if lv is None else lv[idx],
                    "承办单位": None if dp is None else dp[idx],
                    "评价结果": None if rt is None else rt[idx],
                }
            )
        )
    events = pd.concat(frames, ignore_index=True)
    events.attrs["bad_streets"] = sorted(bad_streets)
    return events
