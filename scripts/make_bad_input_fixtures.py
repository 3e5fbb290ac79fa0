"""Write the bad-input fixtures under ``tests/fixtures/bad_inputs/`` (seeded, deterministic).

Run ``python scripts/make_bad_input_fixtures.py`` (or ``--out DIR``); rerunning writes
byte-identical files, and ``tests/pipeline/test_bad_inputs.py`` checks that the committed
files are exactly what this script writes.

Layout (every file a few KB)::

    common/            a hand-drawn city near Futian, Shenzhen (WGS-84 GeoJSON rectangles that
                       tile exactly: 2 districts x 2 streets x 2 communities x 1-2 grids) and
                       a three-row categories.csv
    rows/              UTF-8 CSV, WGS-84: one requests/events/components/alarms file per
                       bad-input class
    boundaries/        its own boundary files with a bow-tie grid, empty geometries,
                       unknown parents, a missing and a duplicate id; a few points
    gbk_gcj02/         GBK CSV with GCJ-02 coordinates and Chinese column names: 200 seeded
                       points with the community each lies in, GB18030-only characters,
                       and a file that is not GBK at all
    utf16/             Excel "Unicode text" (UTF-16LE with BOM, tab-separated, 2026/3/1 8:05
                       timestamps) and a truncated UTF-16 file
    status_la/         America/Los_Angeles, no event log: status / close / update-time
                       columns; updates vs duplicates, one derived event per request, DST
    overlaps/          the clean city but for two overlapping grids and a gap between two
    nested/            the clean city but for a grid drawn around its sibling

Every row carries a label saying what the pipeline must do with it: the id (``null-island-1``)
or, where the id itself is the bad input, the column named in README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import shutil
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pipelines.coords import from_wgs84

log = logging.getLogger("make_bad_input_fixtures")

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bad_inputs"
SEED = 20261122
N_GCJ_POINTS = 200
#: Sampled points keep at least this distance (degrees, about 3 m) from their community's edge.
EDGE_MARGIN_DEG = 3e-5

CITY_ID = "440399"
#: The city: lng 114.02-114.10, lat 22.52-22.56 (Futian/Luohu, where GCJ-02 moves points by
#: about 600 m, nearly a third of a community's width).
LNG0, LAT0 = 114.02, 22.52
DISTRICT_W, STREET_H, COMMUNITY_W, GRID_H = 0.04, 0.02, 0.02, 0.01
#: Communities drawn with a single grid; all others have two (lower G1, upper G2).
SINGLE_GRID = {"D2S2C2"}
DISTRICT_NAMES = (("东坪区", "Dongping"), ("西岭区", "Xiling"))

REQUEST_HEADER = (
    "工单编号",
    "受理时间",
    "来源渠道",
    "事项编码",
    "诉求地址",
    "诉求内容",
    "经度",
    "纬度",
)
EVENT_HEADER = ("工单编号", "环节", "时间", "派发层级", "承办单位", "评价结果")
COMPONENT_HEADER = ("部件编号", "部件类型", "经度", "纬度", "主管单位")
ALARM_HEADER = ("部件编号", "告警时间", "告警类型")
TS = "2026-03-01 08:00:00"

Rect = tuple[float, float, float, float]


def _r(x: float) -> float:
    return round(x, 6)


class Unit(NamedTuple):
    """One unit of the fixture city."""

    code: str
    level: str
    parent: str
    name: str
    name_en: str
    rect: Rect  # min lng, min lat, max lng, max lat (WGS-84)
    population: int | None = None


@cache
def units() -> tuple[Unit, ...]:
    """The fixture city's units, parents first (grids carry a seeded population)."""
    rng = np.random.default_rng(SEED)
    out: list[Unit] = []
    for d in range(2):
        dx = LNG0 + d * DISTRICT_W
        dcode = f"D{d + 1}"
        dname, dname_en = DISTRICT_NAMES[d]
        drect = (_r(dx), LAT0, _r(dx + DISTRICT_W), _r(LAT0 + 2 * STREET_H))
        out.append(Unit(dcode, "district", CITY_ID, dname, dname_en, drect))
        for s in range(2):
            sy = LAT0 + s * STREET_H
            scode = f"{dcode}S{s + 1}"
            srect = (_r(dx), _r(sy), _r(dx + DISTRICT_W), _r(sy + STREET_H))
            sname, sname_en = f"{dname[:2]}第{s + 1}街道", f"{dname_en} Street {s + 1}"
            out.append(Unit(scode, "street", dcode, sname, sname_en, srect))
            for c in range(2):
                cx = dx + c * COMMUNITY_W
                ccode = f"{scode}C{c + 1}"
                crect = (_r(cx), _r(sy), _r(cx + COMMUNITY_W), _r(sy + STREET_H))
                cname = f"{dname[:2]}{s + 1}街{c + 1}社区"
                cname_en = f"{dname_en} {s + 1}-{c + 1} Community"
                out.append(Unit(ccode, "community", scode, cname, cname_en, crect))
                n_grids = 1 if ccode in SINGLE_GRID else 2
                gh = STREET_H / n_grids
                for g in range(n_grids):
                    gy = sy + g * gh
                    grect = (_r(cx), _r(gy), _r(cx + COMMUNITY_W), _r(gy + gh))
                    out.append(
                        Unit(
                            f"{ccode}G{g + 1}",
                            "grid",
                            ccode,
                            f"{cname}第{g + 1}网格",
                            f"{dname_en} {s + 1}-{c + 1} Grid {g + 1}",
                            grect,
                            int(rng.integers(800, 3000)),
                        )
                    )
    return tuple(out)


def rect_of(code: str) -> Rect:
    """Rectangle (min lng, min lat, max lng, max lat) of unit ``code``."""
    for u in units():
        if u.code == code:
            return u.rect
    raise KeyError(code)


def inside(code: str, fx: float = 0.5123457, fy: float = 0.4876543) -> tuple[str, str]:
    """A point well inside unit ``code`` (fractions ``fx``, ``fy`` of its rectangle), as text."""
    x0, y0, x1, y1 = rect_of(code)
    return f"{x0 + fx * (x1 - x0):.7f}", f"{y0 + fy * (y1 - y0):.7f}"


def ring(rect: Rect, vertices: Iterable[tuple[float, float]] = ()) -> list[list[float]]:
    """Counter-clockwise exterior ring of a rectangle (RFC 7946).

    ``vertices`` lying on the rectangle's edges (neighbours' corners) are inserted, so that
    neighbours share identical edges (a valid coverage).
    """
    x0, y0, x1, y1 = rect
    on = set(vertices) - {(x0, y0), (x1, y0), (x1, y1), (x0, y1)}
    bottom = sorted((x, y) for x, y in on if y == y0 and x0 < x < x1)
    right = sorted((x, y) for x, y in on if x == x1 and y0 < y < y1)
    top = sorted(((x, y) for x, y in on if y == y1 and x0 < x < x1), reverse=True)
    left = sorted(((x, y) for x, y in on if x == x0 and y0 < y < y1), reverse=True)
    points = [(x0, y0), *bottom, (x1, y0), *right, (x1, y1), *top, (x0, y1), *left, (x0, y0)]
    return [[x, y] for x, y in points]


def feature(
    code: str,
    name: str,
    name_en: str,
    parent: str | None,
    geometry: dict[str, object] | None,
    population: int | None = None,
) -> dict[str, object]:
    """One GeoJSON feature with the fields the fixture specs map."""
    props: dict[str, object] = {
        "code": code,
        "name": name,
        "name_en": name_en,
        "parent_code": parent,
    }
    if population is not None:
        props["population"] = population
    return {"type": "Feature", "properties": props, "geometry": geometry}


def polygon(rect: Rect, vertices: Iterable[tuple[float, float]] = ()) -> dict[str, object]:
    """GeoJSON polygon of a rectangle (see :func:`ring` for ``vertices``)."""
    return {"type": "Polygon", "coordinates": [ring(rect, vertices)]}


def level_features(level: str) -> list[dict[str, object]]:
    """Clean features of one level: neighbours share every vertex of a common edge."""
    rects = [u.rect for u in units() if u.level == level]
    corners = {(x, y) for x0, y0, x1, y1 in rects for x in (x0, x1) for y in (y0, y1)}
    return [
        feature(u.code, u.name, u.name_en, u.parent, polygon(u.rect, corners), u.population)
        for u in units()
        if u.level == level
    ]


def geojson(name: str, features: Sequence[dict[str, object]]) -> bytes:
    """A FeatureCollection as UTF-8 bytes (one feature per line, stable)."""
    lines = [json.dumps(f, ensure_ascii=False) for f in features]
    body = ",\n".join(lines)
    text = (
        '{"type": "FeatureCollection", "name": '
        + json.dumps(name, ensure_ascii=False)
        + ', "features": [\n'
        + body
        + "\n]}\n"
    )
    return text.encode("utf-8")


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, delimiter: str = ",", eol: str = "\n"
) -> str:
    """CSV text (minimal quoting)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=eol)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def req(
    rid: str,
    *,
    ts: str = TS,
    channel: str = "12345热线",
    event_type: str = "01.01.01.1",
    address: str = "福华路1号",
    text: str = "路灯不亮",
    at: tuple[str, str] | None = None,
) -> tuple[str, ...]:
    """One request row; by default a clean request inside grid D1S1C1G1."""
    lng, lat = at if at is not None else inside("D1S1C1G1")
    return (rid, ts, channel, event_type, address, text, lng, lat)


def ev(
    rid: str,
    event: str,
    label: str,
    *,
    ts: str = "2026-03-01 09:00:00",
    level: str = "",
    rating: str = "",
) -> tuple[str, ...]:
    """One lifecycle event row; ``label`` goes in the 承办单位 column."""
    return (rid, event, ts, level, label, rating)


# --------------------------------------------------------------------------------- specs

SPEC_HEAD = """\
# Bad-input fixture source {folder!r}, written by scripts/make_bad_input_fixtures.py.
# Paths are relative to this file; see tests/fixtures/bad_inputs/README.md.

[source]
name = "bad-input fixtures: {folder}"
timezone = "{timezone}"
city_id = "{city}"
city_name = "样例市"
city_name_en = "Fixture City"

[boundaries]
coord_sys = "WGS84"
snap_m = {snap_m}
id_field = "code"
name_field = "name"
name_en_field = "name_en"
parent_field = "parent_code"
population_field = "population"

[boundaries.files]
{level_files}
[categories]
file = "../common/categories.csv"

[requests]
files = "requests/*.{suffix}"
coord_sys = "{coord_sys}"
encoding = "{encoding}"
timestamp_format = "{ts_format}"

[requests.columns]
request_id = "工单编号"
created_at = "受理时间"
channel = "来源渠道"
event_type = "事项编码"
address = "诉求地址"
description = "诉求内容"
lng = "经度"
lat = "纬度"
# Not in the files: mapped anyway, because staging fails when an optional column is unmapped.
component_id = "部件编号"
{status_columns}
[requests.channels]
"12345热线" = "hotline"
"i深圳随手拍" = "app"
"微信公众号" = "wechat"
"网格巡查" = "patrol"
"""

SPEC_STATUSES = """
# No [events] log: one lifecycle event per request is derived from 状态 and 办结时间.
[requests.statuses]
"Open" = "open"
"Pending" = "open"
"Closed" = "closed"
"Cancelled" = "closed"
"""

SPEC_EVENTS = """
[events]
files = "events/*.csv"
encoding = "{events_encoding}"
timestamp_format = "%Y-%m-%d %H:%M:%S"

[events.columns]
request_id = "工单编号"
event = "环节"
ts = "时间"
level = "派发层级"
department = "承办单位"
rating = "评价结果"

[events.events]
"受理" = "reported"
"派单" = "dispatched"
"签收" = "accepted"
"办结" = "closed"
"评价" = "rated"
"重办" = "reopened"

[events.levels]
"区级" = "district"
"街道级" = "street"
"社区级" = "community"

[events.ratings]
"满意" = "satisfied"
"基本满意" = "basically_satisfied"
"不满意" = "dissatisfied"
"""

SPEC_COMPONENTS = """
[components]
files = "components/*.csv"
coord_sys = "WGS84"

[components.columns]
component_id = "部件编号"
kind = "部件类型"
lng = "经度"
lat = "纬度"
owner = "主管单位"
# Not in the files: mapped anyway, because staging fails when an optional column is unmapped.
property_unit = "权属单位"
maintainer = "养护单位"
status = "状态"
installed_on = "启用日期"

[alarms]
files = "alarms/*.csv"
timestamp_format = "%Y-%m-%d %H:%M:%S"

[alarms.columns]
component_id = "部件编号"
ts = "告警时间"
alarm_type = "告警类型"
"""


LEVELS = ("district", "street", "community", "grid")
#: Canonical request columns of a source without an event log (status-column lifecycle).
STATUS_COLUMNS = {"status": "状态", "closed_at": "办结时间", "updated_at": "更新时间"}


def spec(
    folder: str,
    *,
    boundaries: str = "../common",
    level_files: dict[str, str] | None = None,
    suffix: str = "csv",
    coord_sys: str = "WGS84",
    encoding: str = "utf-8",
    ts_format: str = "%Y-%m-%d %H:%M:%S",
    events_encoding: str = "utf-8",
    components: bool = False,
    snap_m: int = 200,
    timezone: str = "Asia/Shanghai",
    status_columns: bool = False,
) -> bytes:
    """The ``source.toml`` of one fixture source.

    Boundary files are ``{boundaries}/{level}.geojson`` unless ``level_files`` names a
    level's own file. With ``status_columns`` the source has no ``[events]`` log: requests
    carry 状态 / 办结时间 / 更新时间 and a ``[requests.statuses]`` map instead.
    """
    files = {level: f"{boundaries}/{level}.geojson" for level in LEVELS} | (level_files or {})
    text = SPEC_HEAD.format(
        folder=folder,
        timezone=timezone,
        snap_m=snap_m,
        city=CITY_ID,
        level_files="".join(f'{level} = "{files[level]}"\n' for level in LEVELS),
        suffix=suffix,
        coord_sys=coord_sys,
        encoding=encoding,
        ts_format=ts_format,
        status_columns="".join(f'{k} = "{v}"\n' for k, v in STATUS_COLUMNS.items())
        if status_columns
        else "",
    )
    if status_columns:
        text += SPEC_STATUSES
    else:
        text += SPEC_EVENTS.format(events_encoding=events_encoding)
    if components:
        text += SPEC_COMPONENTS
    return text.encode("utf-8")


# ------------------------------------------------------------------------------ contents


def common_files() -> dict[str, bytes]:
    """Clean boundaries of every level and the categories."""
    files = {
        f"common/{level}.geojson": geojson(f"{level} (WGS-84)", level_features(level))
        for level in LEVELS
    }
    files["common/categories.csv"] = table(
        (
            "code",
            "l1_zh",
            "l1_en",
            "l2_zh",
            "l2_en",
            "l3_zh",
            "l3_en",
            "l4_zh",
            "l4_en",
            "department_zh",
            "department_en",
            "time_limit_hours",
        ),
        [
            (
                "01.01.01.1",
                "市容环卫",
                "City appearance",
                "市政设施",
                "Municipal facilities",
                "路灯故障",
                "Street light fault",
                "路灯故障(道路)",
                "Street light fault (road)",
                "城管局",
                "Urban management",
                "48",
            ),
            (
                "01.01.02.1",
                "市容环卫",
                "City appearance",
                "市政设施",
                "Municipal facilities",
                "井盖缺失",
                "Missing manhole cover",
                "井盖缺失(道路)",
                "Missing manhole cover (road)",
                "城管局",
                "Urban management",
                "24",
            ),
            (
                "02.01.01.1",
                "环保水务",
                "Environment & water",
                "噪声",
                "Noise",
                "施工噪声",
                "Construction noise",
                "施工噪声(小区)",
                "Construction noise (estate)",
                "生态环境局",
                "Ecology & environment",
                "72",
            ),
        ],
    ).encode("utf-8")
    return files


def rows_requests() -> dict[str, list[tuple[str, ...]]]:
    """Request files of the ``rows`` source, one per class (file name = class)."""
    far = inside("D2S2C2G1")
    return {
        "clean": [
            req("clean-1"),
            req("clean-2", at=far, channel="网格巡查", event_type="01.01.02.1"),
            req("clean-3", at=inside("D1S2C2G2"), channel="微信公众号"),
        ],
        "bad_timestamp": [
            req("bad-timestamp-month-13", ts="2026-13-45 25:61:00"),
            req("bad-timestamp-words", ts="昨天下午"),
            req("bad-timestamp-empty", ts=""),
            req("bad-timestamp-iso-t", ts="2026-03-01T08:00:00"),
            req("bad-timestamp-slashes", ts="2026/03/01 08:00:00"),
            req("bad-timestamp-date-only", ts="2026-03-01"),
            req("bad-timestamp-feb-30", ts="2026-02-30 08:00:00"),
            req("padded-timestamp-accepted", ts="  2026-03-01 08:00:00 "),
        ],
        "missing_id": [
            req("", text="missing-id-empty"),
            req("   ", text="missing-id-blank"),
            req("", ts="not a time", text="missing-id-and-bad-timestamp"),
        ],
        "null_island": [
            req("null-island-zeros", at=("0", "0")),
            req("null-island-decimals", at=("0.000000", "0.0")),
            req("null-island-negative-zero", at=("-0.0", "0")),
            req("near-null-island-is-outside", at=("0.00001", "0.00001")),
        ],
        "missing_coordinates": [
            req("no-coords-empty", at=("", "")),
            req("no-coords-wu", at=("无", "无")),
            req("no-coords-dash", at=("-", "-")),
            req("no-coords-null-text", at=("NULL", "NULL")),
            req("no-coords-lat-only", at=("", inside("D1S1C1G1")[1])),
            req("no-coords-nan", at=("NaN", "NaN")),
            req("no-coords-infinite", at=("inf", "-inf")),
            req("no-coords-fullwidth-digits", at=("１１４．０３", "２２．５２５")),
            req("no-coords-degree-sign", at=("114.0312345°", "22.5254321°")),
        ],
        "out_of_range": [
            req("out-of-range-lat-91", at=(inside("D1S1C1G1")[0], "91")),
            req("out-of-range-lng-200", at=("200", inside("D1S1C1G1")[1])),
            req("out-of-range-lat-minus-91", at=(inside("D1S1C1G1")[0], "-91")),
            req("out-of-range-1e308", at=("1e308", "1e308")),
        ],
        "outside_every_grid": [
            req("outside-near-city", at=("114.1512345", "22.6012345")),
            req("outside-beijing", at=("116.4074123", "39.9042123")),
            req("outside-sea-south", at=("114.0512345", "22.4012345")),
            req("outside-5m-east-of-city", at=("114.1000500", "22.5312345")),
        ],
        "swapped_axes": [
            req("swapped-axes-in-grid", at=inside("D1S1C2G2")[::-1]),
            req("swapped-axes-outside", at=("22.6012345", "114.1512345")),
        ],
        "low_precision": [
            req("low-precision-3-decimals", at=("114.035", "22.525")),
            req("low-precision-on-shared-edge", at=("114.03", "22.55")),
            req("precise-lat-not-low-precision", at=("114.035", "22.5254321")),
        ],
        "future_timestamp": [
            req("future-2099", ts="2099-01-01 00:00:00"),
            req("future-2050", ts="2050-06-01 12:00:00"),
        ],
        "sentinel_timestamp": [
            req("sentinel-epoch", ts="1970-01-01 08:00:00"),
            req("sentinel-1900", ts="1900-01-01 00:00:00"),
            req("sentinel-last-second-of-1999", ts="1999-12-31 23:59:59"),
            req("earliest-day-accepted", ts="2000-01-01 00:00:00"),
        ],
        "duplicate_ids": [
            req("duplicate-exact-1"),
            req("duplicate-exact-1"),
            req("duplicate-changed-1", text="路灯不亮"),
            req("duplicate-changed-1", text="路灯不亮（已更新：整条路都不亮）"),
            req("duplicate-first-bad-timestamp-1", ts="not a time"),
            req("duplicate-first-bad-timestamp-1"),
        ],
        "duplicate_ids_across_files_a": [req("duplicate-across-files-1")],
        "duplicate_ids_across_files_b": [req("duplicate-across-files-1")],
        "duplicate_first_copy_unusable": [
            req("duplicate-first-sentinel-1", ts="1970-01-01 08:00:00"),
            req("duplicate-first-sentinel-1"),
            req("duplicate-first-future-1", ts="2099-01-01 00:00:00"),
            req("duplicate-first-future-1"),
        ],
        "unknown_channel": [
            req("unknown-channel-douyin", channel="抖音"),
            req("unknown-channel-empty", channel=""),
            req("known-channel-padded", channel=" 12345热线 "),
        ],
        "unknown_event_type": [
            req("unknown-event-type-1", event_type="99.99.99.9"),
            req("unknown-event-type-empty", event_type=""),
            req("known-event-type-padded", event_type=" 01.01.01.1 "),
        ],
        "active_content": [
            req("active-content-hyperlink", text='=HYPERLINK("http://example.com","点我")'),
            req("active-content-plus-dde", text="+cmd|' /C calc'!A0"),
            req("active-content-minus", text="-2+3+cmd|' /C calc'!A0"),
            req("active-content-at", text="@SUM(1+1)*cmd|' /C calc'!A0"),
            req("active-content-leading-space", text="  =1+1"),
            req("active-content-script", text="路灯不亮<script>alert(1)</script>"),
            req("active-content-img", text="<img src=x onerror=alert(1)>"),
            req("active-content-iframe-uppercase", text="<IFRAME src=//example.com>"),
            req("active-content-javascript-url", text="详情见 javascript:alert(document.cookie)"),
            req("plain-text-dash-inside", text="路灯不亮 - 已报修"),
            req("plain-text-email", text="联系 a@example.com"),
            req("plain-text-less-than", text="温度 < 5 度"),
        ],
        "multiline_text": [
            req("multiline-text-1", text='第一行\n第二行，含逗号, 和"引号"'),
            req("multiline-text-2", text="下一行照常读"),
        ],
    }


def rows_events() -> dict[str, list[tuple[str, ...]]]:
    """Event files of the ``rows`` source; the label is in 承办单位."""
    return {
        "clean": [
            ev("clean-1", "受理", "event-reported", ts="2026-03-01 08:00:00"),
            ev("clean-1", "派单", "event-dispatched", ts="2026-03-01 08:30:00", level="区级"),
            ev("clean-1", "签收", "event-accepted", ts="2026-03-01 09:00:00"),
            ev("clean-1", "办结", "event-closed", ts="2026-03-02 10:00:00"),
            ev("clean-1", "评价", "event-rated", ts="2026-03-02 11:00:00", rating="满意"),
        ],
        "unknown_event": [
            ev("clean-2", "飞单", "unknown-event-1"),
            ev("clean-2", "", "unknown-event-empty"),
            ev("clean-2", " 办结 ", "known-event-padded"),
        ],
        "orphan_event": [
            ev("ghost-1", "办结", "orphan-event-no-such-request"),
            ev("future-2099", "办结", "orphan-event-of-quarantined-request"),
        ],
        "unknown_rating": [
            ev("clean-3", "评价", "unknown-rating-1", rating="还行"),
            ev("clean-3", "评价", "unknown-rating-empty", rating=""),
            ev("clean-3", "办结", "rating-on-close-ignored", rating="还行"),
        ],
        "bad_timestamp": [ev("clean-2", "受理", "event-bad-timestamp-1", ts="not a time")],
        "sentinel_timestamp": [
            ev("clean-2", "受理", "event-sentinel-epoch", ts="1970-01-01 08:00:00")
        ],
        "future_timestamp": [ev("clean-2", "受理", "event-future-2099", ts="2099-01-01 00:00:00")],
        "missing_id": [ev("", "受理", "event-missing-id-1")],
        "unknown_level": [
            ev("clean-3", "派单", "unknown-level-1", level="市级"),
            ev("clean-3", "派单", "no-level-not-flagged", level=""),
        ],
    }


def rows_components() -> dict[str, list[tuple[str, ...]]]:
    """Component files of the ``rows`` source; the label is the id, else 主管单位."""
    lng, lat = inside("D1S2C1G1")
    return {
        "clean": [
            ("comp-ok-1", "井盖", lng, lat, "城管局"),
            ("comp-no-location-1", "路灯", "", "", "城管局"),
        ],
        "missing_id": [("", "井盖", lng, lat, "comp-missing-id-1")],
        "missing_kind": [("comp-missing-kind-1", "", lng, lat, "城管局")],
        "duplicate_ids": [
            ("comp-duplicate-1", "井盖", lng, lat, "城管局"),
            ("comp-duplicate-1", "井盖", lng, lat, "城管局"),
        ],
        "duplicate_first_copy_unusable": [
            ("comp-duplicate-first-no-kind-1", "", lng, lat, "城管局"),
            ("comp-duplicate-first-no-kind-1", "井盖", lng, lat, "城管局"),
        ],
    }


def rows_alarms() -> dict[str, list[tuple[str, ...]]]:
    """Alarm files of the ``rows`` source; the label is in 告警类型."""
    return {
        "clean": [("comp-ok-1", "2026-03-01 08:00:00", "alarm-ok-1")],
        "orphan_alarm": [
            ("comp-ghost-1", "2026-03-01 08:00:00", "orphan-alarm-no-such-component"),
            ("comp-missing-kind-1", "2026-03-01 08:00:00", "orphan-alarm-of-quarantined-component"),
        ],
        "bad_timestamp": [("comp-ok-1", "03/01/2026", "alarm-bad-timestamp-1")],
        "missing_id": [("", "2026-03-01 08:00:00", "alarm-missing-id-1")],
    }


def rows_files() -> dict[str, bytes]:
    """The ``rows`` source: UTF-8 CSV, WGS-84, one file per class."""
    files = {"rows/source.toml": spec("rows", components=True)}
    for name, rows in rows_requests().items():
        files[f"rows/requests/{name}.csv"] = table(REQUEST_HEADER, rows).encode("utf-8")
    bom = [req("utf8-bom-1"), req("utf8-bom-2", at=inside("D2S1C2G1"))]
    files["rows/requests/utf8_bom.csv"] = b"\xef\xbb\xbf" + table(REQUEST_HEADER, bom).encode()
    # Malformed lines: too few fields, too many, a header repeated mid-file, and an
    # unterminated quote at the end that runs to the end of the file.
    good = table(REQUEST_HEADER, [req("malformed-ok-1")]).encode("utf-8")
    ok2, ok3 = (
        table(REQUEST_HEADER, [req(r)]).split("\n", 1)[1].encode("utf-8")
        for r in ("malformed-ok-2", "malformed-ok-3")
    )
    files["rows/requests/malformed_lines.csv"] = (
        good
        + b"malformed-too-few,2026-03-01 08:00:00,12345\n"
        + ok2
        + b"malformed-too-many,"
        + ",".join(req("x")[1:]).encode()
        + b",extra,fields\n"
        + ok3
        + ",".join(REQUEST_HEADER).encode("utf-8")
        + b"\n"
        + b'malformed-unterminated,2026-03-01 08:00:00,12345,01.01.01.1,"no end\n'
        + b"and the next line,too\n"
    )
    # One exact point for ten different addresses: a geocoder's fallback; nine: not yet.
    pile, few = inside("D2S1C1G1", 0.3123457, 0.7123457), inside("D2S1C2G1", 0.2876543, 0.3312345)
    fallback = [req(f"centroid-fallback-{i}", address=f"深南大道{i}号", at=pile) for i in range(10)]
    fallback += [
        req(f"same-point-few-addresses-{i}", address=f"红荔路{i}号", at=few) for i in range(9)
    ]
    files["rows/requests/centroid_fallback.csv"] = table(REQUEST_HEADER, fallback).encode("utf-8")
    payload = [
        req("address-formula", address='=HYPERLINK("http://x","福华路")'),
        req("address-script", address="福华路<script>alert(1)</script>"),
        req("address-plain", address="福华路-1号"),
    ]
    files["rows/requests/address_payload.csv"] = table(REQUEST_HEADER, payload).encode("utf-8")
    gbk = [req("gbk-declared-utf8-1", text="井盖缺失，请尽快处理"), req("gbk-declared-utf8-2")]
    files["rows/requests/gbk_declared_utf8.csv"] = table(REQUEST_HEADER, gbk).encode("gbk")
    for name, rows in rows_events().items():
        files[f"rows/events/{name}.csv"] = table(EVENT_HEADER, rows).encode("utf-8")
    for name, rows in rows_components().items():
        files[f"rows/components/{name}.csv"] = table(COMPONENT_HEADER, rows).encode("utf-8")
    for name, rows in rows_alarms().items():
        files[f"rows/alarms/{name}.csv"] = table(ALARM_HEADER, rows).encode("utf-8")
    return files


BOWTIE_GRID = "D2S1C1G2"


def boundary_files() -> dict[str, bytes]:
    """The ``boundaries`` source: every level's file with bad units added."""
    x0, y0, x1, y1 = rect_of(BOWTIE_GRID)
    east = (_r(LNG0 + 2 * DISTRICT_W + 0.01), 22.53, _r(LNG0 + 2 * DISTRICT_W + 0.02), 22.54)
    beijing = (116.39, 39.9, 116.41, 39.92)
    extra: dict[str, list[dict[str, object]]] = {
        "district": [
            feature("other-city-district-1", "外市区", "Other city", "110000", polygon(beijing)),
        ],
        "street": [
            feature("orphan-street-1", "无主街道", "Orphan street", "D9", polygon(east)),
        ],
        "community": [
            feature(
                "orphan-community-1",
                "无主社区",
                "Orphan community",
                "orphan-street-1",
                polygon(east),
            ),
        ],
        "grid": [
            feature("empty-geometry-null-1", "空几何", "Null geometry", "D1S1C1", None),
            feature(
                "empty-geometry-polygon-1",
                "空多边形",
                "Empty polygon",
                "D1S1C1",
                {"type": "Polygon", "coordinates": []},
            ),
            feature("unknown-parent-grid-1", "无主网格", "Orphan grid", "D9S9C9", polygon(east)),
            feature(
                "orphan-grid-of-orphan-community-1",
                "无主社区网格",
                "Grid of an orphan community",
                "orphan-community-1",
                polygon(east),
            ),
            feature("", "missing-id-grid-1", "Grid without id", "D1S1C1", polygon(east)),
            feature(
                "D1S1C1G1",
                "duplicate-id-grid-1",
                "Second copy of D1S1C1G1",
                "D1S1C1",
                polygon(rect_of("D1S1C1G1")),
            ),
        ],
    }
    # no snapping here: a point where a repair or a quarantine removed a grid must stay
    # visibly unassigned, not be handed to the neighbour
    files = {"boundaries/source.toml": spec("boundaries", boundaries="boundaries", snap_m=0)}
    # Rectangles without their neighbours' corners: D2S2C2G1's west edge lacks the vertex
    # its two neighbours share (a T-junction), so the source coverage has invalid edges.
    # A bow-tie: the ring runs corner to opposite corner, so it crosses itself at the centre.
    # Repaired, it keeps the left and right triangles of the rectangle.
    bowtie: dict[str, object] = {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]],
    }
    for level in ("district", "street", "community", "grid"):
        feats = [
            feature(
                u.code,
                u.name,
                u.name_en,
                u.parent,
                bowtie if u.code == BOWTIE_GRID else polygon(u.rect),
                u.population,
            )
            for u in units()
            if u.level == level
        ]
        files[f"boundaries/boundaries/{level}.geojson"] = geojson(
            f"{level} (WGS-84, with bad units)", feats + extra[level]
        )
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    points = [
        req("bowtie-left-triangle", at=(f"{x0 + 0.0021234:.7f}", f"{cy + 0.0001234:.7f}")),
        req("bowtie-right-triangle", at=(f"{x1 - 0.0021234:.7f}", f"{cy - 0.0001234:.7f}")),
        req(
            "bowtie-top-triangle-is-outside", at=(f"{cx + 0.0001234:.7f}", f"{y1 - 0.0011234:.7f}")
        ),
        req("unknown-parent-grid-area-is-outside", at=inside_rect(east)),
        req("duplicate-grid-area-goes-to-first-copy", at=inside("D1S1C1G1")),
    ]
    files["boundaries/requests/points.csv"] = table(REQUEST_HEADER, points).encode("utf-8")
    events = [ev("duplicate-grid-area-goes-to-first-copy", "受理", "event-ok-1")]
    files["boundaries/events/clean.csv"] = table(EVENT_HEADER, events).encode("utf-8")
    return files


def inside_rect(rect: Rect) -> tuple[str, str]:
    """A point well inside ``rect``, as text."""
    x0, y0, x1, y1 = rect
    return f"{x0 + 0.5123457 * (x1 - x0):.7f}", f"{y0 + 0.4876543 * (y1 - y0):.7f}"


#: Chinese text of the GBK file (all of it encodable in GBK).
TEXTS = ("路灯不亮", "井盖缺失", "占道经营", "噪音扰民", "垃圾未清运", "道路积水", "违章停车")
ROADS = ("福华路", "深南大道", "红荔路", "笋岗路", "华强北路", "滨河大道")
CHANNELS = ("12345热线", "i深圳随手拍", "微信公众号", "网格巡查")
GCJ_HEADER = (*REQUEST_HEADER, "预期社区编码")


def gcj_points(rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Seeded points, each inside a community; written in GCJ-02 with that community's code.

    A quarter lie within 3-15 m of their community's edge (where a datum error would show);
    the rest are uniform in the community shrunk by ``EDGE_MARGIN_DEG``.
    """
    comms = [u for u in units() if u.level == "community"]
    rows: list[tuple[str, ...]] = []
    for i in range(N_GCJ_POINTS):
        u = comms[int(rng.integers(len(comms)))]
        x0, y0, x1, y1 = u.rect
        m = EDGE_MARGIN_DEG
        lng = float(rng.uniform(x0 + m, x1 - m))
        lat = float(rng.uniform(y0 + m, y1 - m))
        if i % 4 == 0:
            near = float(rng.uniform(m, 1.5e-4))
            side = int(rng.integers(4))
            lng = (x0 + near, x1 - near, lng, lng)[side]
            lat = (lat, lat, y0 + near, y1 - near)[side]
        glng, glat = from_wgs84(lng=[lng], lat=[lat], target="GCJ02")
        day = 1 + int(rng.integers(28))
        ts = f"2026-02-{day:02d} {int(rng.integers(24)):02d}:{int(rng.integers(60)):02d}:00"
        rows.append(
            (
                f"gbk-gcj02-{i + 1:03d}",
                ts,
                CHANNELS[int(rng.integers(len(CHANNELS)))],
                "01.01.01.1",
                f"{ROADS[int(rng.integers(len(ROADS)))]}{int(rng.integers(1, 300))}号",
                f"{TEXTS[int(rng.integers(len(TEXTS)))]}，{u.name}居民反映",
                f"{glng[0]:.7f}",
                f"{glat[0]:.7f}",
                u.code,
            )
        )
    return rows


def gbk_files() -> dict[str, bytes]:
    """The ``gbk_gcj02`` source: GBK CSV (CRLF, as Excel writes it) with GCJ-02 points."""
    rng = np.random.default_rng(SEED)
    files = {
        "gbk_gcj02/source.toml": spec(
            "gbk_gcj02", coord_sys="GCJ02", encoding="gbk", events_encoding="gbk"
        )
    }
    text = table(GCJ_HEADER, gcj_points(rng), eol="\r\n")
    files["gbk_gcj02/requests/gbk_gcj02_points.csv"] = text.encode("gbk")
    # Every file of a table needs the same columns (DuckDB reads them as one CSV), so all
    # carry the expected community.
    rare = [
        (
            *req("gb18030-rare-1", text="𠮷野家门口积水，䶮字路牌倒了", at=_gcj("D1S1C1G1")),
            "D1S1C1",
        ),
        (*req("gb18030-rare-2", text="㐀㐁 扩展A区汉字", at=_gcj("D2S1C1G1")), "D2S1C1"),
    ]
    # Declared gbk, decoded as GB18030: characters outside GBK (four-byte) still read.
    files["gbk_gcj02/requests/gb18030_rare_characters.csv"] = table(
        GCJ_HEADER, rare, eol="\r\n"
    ).encode("gb18030")
    broken_rows = [(*req(f"not-gbk-{i}", at=_gcj("D1S1C1G1")), "D1S1C1") for i in (1, 2)]
    broken = table(GCJ_HEADER, broken_rows, eol="\r\n").encode("gbk")
    # 0xFF is no GBK/GB18030 lead byte: the whole file must be quarantined, not guessed.
    cut = broken.index(b"not-gbk-2")
    files["gbk_gcj02/requests/not_gbk.csv"] = broken[:cut] + b"\xff\xfe" + broken[cut:]
    # after every seeded request time, so that it is not stamped before its request
    events = [ev("gbk-gcj02-001", "受理", "事件-受理", ts="2026-03-01 08:00:00")]
    files["gbk_gcj02/events/clean.csv"] = table(EVENT_HEADER, events, eol="\r\n").encode("gbk")
    return files


def _gcj(code: str) -> tuple[str, str]:
    """GCJ-02 text of the point :func:`inside` unit ``code``."""
    point = inside(code)
    lng, lat = from_wgs84(lng=[float(point[0])], lat=[float(point[1])], target="GCJ02")
    return f"{lng[0]:.7f}", f"{lat[0]:.7f}"


def utf16_files() -> dict[str, bytes]:
    """The ``utf16`` source: Excel "Unicode text" (UTF-16LE + BOM, tabs, CRLF)."""
    files = {
        "utf16/source.toml": spec(
            "utf16", suffix="txt", encoding="utf-16", ts_format="%Y/%m/%d %H:%M"
        )
    }
    rows = [
        req("utf16-1", ts="2026/3/1 8:05", text="井盖缺失"),
        req("utf16-2", ts="2026/03/02 17:30", at=inside("D2S2C1G2"), text="噪音扰民"),
        req("utf16-undeclared-timestamp-format", ts="2026-03-01 08:05:00"),
    ]
    text = table(REQUEST_HEADER, rows, delimiter="\t", eol="\r\n")
    files["utf16/requests/excel_unicode_text.txt"] = b"\xff\xfe" + text.encode("utf-16-le")
    cut = table(REQUEST_HEADER, [req("utf16-truncated-1")], delimiter="\t", eol="\r\n")
    # An odd number of bytes: the last UTF-16 code unit is cut in half.
    files["utf16/requests/truncated.txt"] = (b"\xff\xfe" + cut.encode("utf-16-le"))[:-1]
    events = [ev("utf16-1", "受理", "event-ok-1", ts="2026-03-01 08:05:00")]
    files["utf16/events/clean.csv"] = table(EVENT_HEADER, events).encode("utf-8")
    return files


STATUS_HEADER = (*REQUEST_HEADER, *STATUS_COLUMNS.values())


def sreq(
    rid: str,
    status: str,
    *,
    closed: str = "",
    updated: str = "",
    ts: str = TS,
    text: str = "路灯不亮",
) -> tuple[str, ...]:
    """One request row of the ``status_la`` source: a request, its status and times."""
    return (*req(rid, ts=ts, text=text), status, closed, updated)


def status_requests() -> dict[str, list[tuple[str, ...]]]:
    """Request files of the ``status_la`` source (America/Los_Angeles, no event log)."""
    v1, v2 = "2026-03-01 09:00:00", "2026-03-02 10:00:00"  # update times of two versions
    fixed = "路灯不亮（已修复）"
    return {
        # genuine updates vs duplicates (the spec maps 更新时间 = updated_at)
        "updates": [
            sreq("update-repeated-1", "Open", updated=v1),
            sreq("update-repeated-1", "Open", updated=v1),
            sreq("update-newer-last-1", "Open", updated=v1),
            sreq("update-newer-last-1", "Closed", closed=v2, updated=v2, text=fixed),
            sreq("update-newer-first-1", "Closed", closed=v2, updated=v2, text=fixed),
            sreq("update-newer-first-1", "Open", updated=v1),
            sreq("update-no-update-time-1", "Open"),
            sreq("update-no-update-time-1", "Closed", closed=v2, text=fixed),
            sreq("update-same-update-time-1", "Open", updated=v1),
            sreq("update-same-update-time-1", "Pending", updated=v1, text=fixed),
        ],
        "updates_across_files_a": [
            sreq("update-stale-copy-in-later-file-1", "Closed", closed=v2, updated=v2, text=fixed),
            sreq("update-newer-in-later-file-1", "Open", updated=v1),
        ],
        "updates_across_files_b": [
            sreq("update-stale-copy-in-later-file-1", "Open", updated=v1),
            sreq("update-newer-in-later-file-1", "Closed", closed=v2, updated=v2, text=fixed),
        ],
        # one derived lifecycle event per request, from 状态 / 办结时间
        "status_lifecycle": [
            sreq("status-closed-1", "Closed", closed="2026-03-02 10:00:00"),
            sreq("status-cancelled-1", "Cancelled", closed="2026-03-01 12:00:00"),
            sreq("status-open-1", "Open"),
            sreq("status-pending-1", "Pending"),
            sreq("status-open-with-close-time-1", "Open", closed="2026-03-02 10:00:00"),
            sreq("status-padded-1", " Closed ", closed="2026-03-02 10:00:00"),
            sreq("status-unknown-1", "Transferred"),
            sreq("status-empty-1", ""),
            sreq("status-closed-without-time-1", "Closed"),
            sreq("status-closed-bad-time-1", "Closed", closed="next week"),
            sreq("status-closed-before-created-1", "Closed", closed="2026-03-01 00:00:00"),
        ],
        # America/Los_Angeles: 2026-03-08 02:00-02:59 does not exist, 2026-11-01 01:00-01:59
        # happens twice
        "dst": [
            sreq("dst-winter-noon", "Open", ts="2026-01-15 12:00:00"),
            sreq("dst-spring-last-second-before-gap", "Open", ts="2026-03-08 01:59:59"),
            sreq("dst-spring-gap-start", "Open", ts="2026-03-08 02:00:00"),
            sreq("dst-spring-nonexistent", "Open", ts="2026-03-08 02:30:00"),
            sreq("dst-spring-after-gap", "Open", ts="2026-03-08 03:00:00"),
            sreq("dst-summer-noon", "Open", ts="2026-07-15 12:00:00"),
            sreq("dst-fall-last-second-before-repeat", "Open", ts="2026-11-01 00:59:59"),
            sreq("dst-fall-ambiguous-start", "Open", ts="2026-11-01 01:00:00"),
            sreq("dst-fall-ambiguous", "Open", ts="2026-11-01 01:30:00"),
            sreq("dst-fall-ambiguous-last-second", "Open", ts="2026-11-01 01:59:59"),
            sreq("dst-fall-after-repeat", "Open", ts="2026-11-01 02:00:00"),
            sreq(
                "dst-closed-in-repeated-hour",
                "Closed",
                ts="2026-11-01 00:30:00",
                closed="2026-11-01 01:15:00",
            ),
        ],
    }


def status_files() -> dict[str, bytes]:
    """The ``status_la`` source: status columns instead of an event log, Los Angeles time."""
    files = {
        "status_la/source.toml": spec(
            "status_la", timezone="America/Los_Angeles", status_columns=True
        )
    }
    for name, rows in status_requests().items():
        files[f"status_la/requests/{name}.csv"] = table(STATUS_HEADER, rows).encode("utf-8")
    return files


#: ``overlaps`` source: D1S1C1G1 is drawn 0.002 deg taller, over the bottom of D1S1C1G2 (the
#: smaller of the two, so overlap points go to it although its id is the larger), and
#: D1S2C2G1 0.005 deg shorter, leaving a gap between it and D1S2C2G2 that is closed on the
#: west and east by the neighbouring communities' grids.
OVERLAP_GRIDS = ("D1S1C1G1", "D1S1C1G2")
OVERLAP_RECT: Rect = (114.02, 22.53, 114.04, 22.532)
GAP_GRIDS = ("D1S2C2G1", "D1S2C2G2")
GAP_RECT: Rect = (114.04, 22.545, 114.06, 22.55)


def overlap_rects() -> dict[str, Rect]:
    """Grid rectangles of the ``overlaps`` source (the clean ones, two of them redrawn)."""
    rects = {u.code: u.rect for u in units() if u.level == "grid"}
    x0, y0, x1, _ = rects[OVERLAP_GRIDS[0]]
    rects[OVERLAP_GRIDS[0]] = (x0, y0, x1, OVERLAP_RECT[3])
    x0, y0, x1, _ = rects[GAP_GRIDS[0]]
    rects[GAP_GRIDS[0]] = (x0, y0, x1, GAP_RECT[1])
    return rects


def overlap_files() -> dict[str, bytes]:
    """The ``overlaps`` source: the clean city but for an overlap and a gap among its grids."""
    rects = overlap_rects()
    corners = {(x, y) for x0, y0, x1, y1 in rects.values() for x in (x0, x1) for y in (y0, y1)}
    grids = [
        feature(u.code, u.name, u.name_en, u.parent, polygon(rects[u.code], corners), u.population)
        for u in units()
        if u.level == "grid"
    ]
    files = {
        "overlaps/source.toml": spec(
            "overlaps", level_files={"grid": "boundaries/grid.geojson"}, snap_m=200
        ),
        "overlaps/boundaries/grid.geojson": geojson("grid (WGS-84, overlap and gap)", grids),
    }
    ox0, oy0, ox1, oy1 = OVERLAP_RECT
    gx0, gy0, gx1, gy1 = GAP_RECT
    points = [
        req("overlap-goes-to-smaller-grid-1", at=inside_rect(OVERLAP_RECT)),
        req(
            "overlap-goes-to-smaller-grid-2",
            at=(f"{ox0 + 0.0031234:.7f}", f"{oy1 - 0.0004321:.7f}"),
        ),
        req(
            "below-overlap-is-larger-grid", at=(f"{ox1 - 0.0031234:.7f}", f"{oy0 - 0.0012345:.7f}")
        ),
        req(
            "above-overlap-is-smaller-grid", at=(f"{ox1 - 0.0031234:.7f}", f"{oy1 + 0.0012345:.7f}")
        ),
        # more than snap_m (200 m, 0.0018 deg) from every grid, inside the city's outline
        req("gap-middle-is-outside", at=inside_rect(GAP_RECT)),
        req("gap-west-part-is-outside", at=(f"{gx0 + 0.0037654:.7f}", f"{gy0 + 0.0026543:.7f}")),
        # within snap_m of one grid: given to the nearest
        req(
            "gap-near-lower-grid-is-snapped",
            at=(f"{gx1 - 0.0087654:.7f}", f"{gy0 + 0.0008765:.7f}"),
        ),
        req(
            "gap-near-upper-grid-is-snapped",
            at=(f"{gx0 + 0.0087654:.7f}", f"{gy1 - 0.0007654:.7f}"),
        ),
        req(
            "gap-near-west-neighbour-is-snapped",
            at=(f"{gx0 + 0.0007654:.7f}", f"{gy0 + 0.0024321:.7f}"),
        ),
        req("south-of-the-city-is-out-of-area", at=("114.0512345", "22.5012345")),
    ]
    files["overlaps/requests/points.csv"] = table(REQUEST_HEADER, points).encode("utf-8")
    events = [ev("below-overlap-is-larger-grid", "受理", "event-ok-1")]
    files["overlaps/events/clean.csv"] = table(EVENT_HEADER, events).encode("utf-8")
    return files


#: ``nested`` source: D2S1C1G1 is drawn over its whole community, so that its sibling
#: D2S1C1G2 lies wholly inside it (an overlap that is a containment).
NESTED_OUTER, NESTED_INNER = "D2S1C1G1", "D2S1C1G2"


def nested_files() -> dict[str, bytes]:
    """The ``nested`` source: the clean city but for one grid drawn around its sibling."""
    rects = {u.code: u.rect for u in units() if u.level == "grid"}
    rects[NESTED_OUTER] = rect_of(NESTED_OUTER[:-2])
    corners = {(x, y) for x0, y0, x1, y1 in rects.values() for x in (x0, x1) for y in (y0, y1)}
    grids = [
        feature(u.code, u.name, u.name_en, u.parent, polygon(rects[u.code], corners), u.population)
        for u in units()
        if u.level == "grid"
    ]
    files = {
        "nested/source.toml": spec("nested", level_files={"grid": "boundaries/grid.geojson"}),
        "nested/boundaries/grid.geojson": geojson("grid (WGS-84, one around another)", grids),
    }
    points = [
        req("inside-the-inner-grid-is-overlap", at=inside(NESTED_INNER)),
        req("outer-grid-only", at=inside(NESTED_OUTER)),
    ]
    files["nested/requests/points.csv"] = table(REQUEST_HEADER, points).encode("utf-8")
    events = [ev("outer-grid-only", "受理", "event-ok-1")]
    files["nested/events/clean.csv"] = table(EVENT_HEADER, events).encode("utf-8")
    return files


#: ``repairs`` source: a grid whose hole pokes out of its shell (no safe repair) and a grid
#: that runs out of its community (not nested).
AMBIGUOUS_GRID, NOT_NESTED_GRID = "D1S1C1G1", "D2S2C1G2"
NOT_NESTED_EXTRA = 0.004  # degrees the grid reaches north past its community and the city


def repair_files() -> dict[str, bytes]:
    """The ``repairs`` source: the clean city but for an ambiguous and a straying grid."""
    features = []
    rects = {u.code: u.rect for u in units() if u.level == "grid"}
    corners = {(x, y) for x0, y0, x1, y1 in rects.values() for x in (x0, x1) for y in (y0, y1)}
    for u in units():
        if u.level != "grid":
            continue
        geometry = polygon(u.rect, corners)
        x0, y0, x1, y1 = u.rect
        w, h = x1 - x0, y1 - y0
        if u.code == AMBIGUOUS_GRID:
            # shells-and-holes reading: the grid minus the hole; linework reading: the grid
            # minus the hole plus the part of the hole outside it (12 % more area)
            hole = (_r(x0 + 0.6 * w), _r(y0 + 0.3 * h), _r(x1 + 0.3 * w), _r(y0 + 0.6 * h))
            geometry = {
                "type": "Polygon",
                "coordinates": [ring(u.rect, corners), ring(hole)[::-1]],
            }
        if u.code == NOT_NESTED_GRID:
            geometry = polygon((x0, y0, x1, _r(y1 + NOT_NESTED_EXTRA)), corners)
        features.append(feature(u.code, u.name, u.name_en, u.parent, geometry, u.population))
    x0, _, x1, y1 = rect_of(NOT_NESTED_GRID)
    points = [
        req("in-the-ambiguous-grid-is-outside", at=inside(AMBIGUOUS_GRID, 0.2512345, 0.4987654)),
        req(
            "north-of-the-city-in-the-straying-grid",
            at=(f"{x0 + 0.4123457 * (x1 - x0):.7f}", f"{y1 + 0.4876543 * NOT_NESTED_EXTRA:.7f}"),
        ),
        req("clean-grid", at=inside("D1S2C1G1")),
    ]
    events = [ev("clean-grid", "受理", "event-ok-1")]
    return {
        "repairs/source.toml": spec(
            "repairs", level_files={"grid": "boundaries/grid.geojson"}, snap_m=0
        ),
        "repairs/boundaries/grid.geojson": geojson("grid (WGS-84, two bad grids)", features),
        "repairs/requests/points.csv": table(REQUEST_HEADER, points).encode("utf-8"),
        "repairs/events/clean.csv": table(EVENT_HEADER, events).encode("utf-8"),
    }


README = """\
# Bad-input fixtures

Written by `scripts/make_bad_input_fixtures.py` (seeded; rerunning it gives byte-identical
files, which `tests/pipeline/test_bad_inputs.py` checks). Do not edit by hand: change the
script and rerun it. The tests say what the pipeline must do with every row.

- `common/`: the fixture city (WGS-84 rectangles near Futian, Shenzhen: districts D1-D2,
  streets S1-S2, communities C1-C2, grids G1-G2; D2S2C2 has one grid) and three categories.
- `rows/`: UTF-8 CSV, WGS-84; one file per bad-input class (file name = class) under
  `requests/`, `events/`, `components/` and `alarms/`.
- `boundaries/`: boundary files with a bow-tie grid, empty geometries, unknown parents, a
  missing and a duplicate id, plus points probing them.
- `gbk_gcj02/`: GBK CSV with GCJ-02 coordinates: 200 seeded points with the community each
  lies in (`预期社区编码`), GB18030-only characters, and a file that is not GBK.
- `utf16/`: Excel "Unicode text" (UTF-16LE with BOM, tab-separated, `2026/3/1 8:05`) and a
  truncated UTF-16 file.
- `status_la/`: America/Los_Angeles, no event log: requests carry `状态`, `办结时间` and
  `更新时间` (status, close and update time). Genuine updates vs repeated copies (`updates*`),
  one derived lifecycle event per request (`status_lifecycle`), times that do not exist or
  happen twice at the DST changes (`dst`).
- `repairs/`: the clean city, but D1S1C1G1 has a hole poking out of its shell (no safe
  repair: `REPAIR_CHANGED_AREA`) and D2S2C1G2 reaches north out of its community and the
  city (kept, reported `outside_parent`).
- `overlaps/`: the clean city, but D1S1C1G1 is drawn over the bottom of D1S1C1G2 and D1S2C2G1
  short of D1S2C2G2 (a gap); points in the overlap, in the gap and near its edges.
- `nested/`: the clean city, but D2S1C1G1 is drawn around its sibling D2S1C1G2.

Each row's label names its expected outcome: the id (`工单编号`, `部件编号`), or where the
id is the bad input or rows have no id of their own, `诉求内容` (requests), `承办单位`
(events), `主管单位` (components), `告警类型` (alarms), `name` (boundary units). Events
derived from status columns are labelled by their request's id.
"""


def fixture_files() -> dict[str, bytes]:
    """Every fixture file: relative path -> bytes."""
    files: dict[str, bytes] = {"README.md": README.encode("utf-8")}
    for part in (
        common_files(),
        rows_files(),
        boundary_files(),
        gbk_files(),
        utf16_files(),
        status_files(),
        overlap_files(),
        nested_files(),
        repair_files(),
    ):
        files.update(part)
    return dict(sorted(files.items()))


def write_fixtures(out: Path) -> list[Path]:
    """Replace ``out`` with the fixture files; returns the paths written.

    Parameters
    ----------
    out
        Target folder; it is deleted first so no stale fixture survives.

    Returns
    -------
    list of pathlib.Path
    """
    if out.exists():
        shutil.rmtree(out)
    written = []
    for rel, data in fixture_files().items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python scripts/make_bad_input_fixtures.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help=f"target folder (default {OUT})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    written = write_fixtures(args.out)
    size = sum(p.stat().st_size for p in written)
    log.info("wrote %d files (%.1f KB) under %s", len(written), size / 1024, args.out)


if __name__ == "__main__":
    main()
