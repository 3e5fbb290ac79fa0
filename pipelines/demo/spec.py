"""The demo source's spec: how its files are laid out and what their values mean."""

from __future__ import annotations

from pathlib import Path

from pipelines.demo.components import COMPONENT_TYPES, STATUS

DEMO_SPEC = """\
# Source spec of the generated demo city (written by `yiwang demo`).
# Paths are relative to this file. See docs/data-sources.md for every key.

[source]
name = "深圳演示城市 (synthetic)"
timezone = "Asia/Shanghai"
city_id = "440300"
city_name = "深圳市"
city_name_en = "Shenzhen"

[boundaries]
coord_sys = "GCJ02"
id_field = "code"
name_field = "name"
name_en_field = "name_en"
parent_field = "parent_code"
population_field = "population"

[boundaries.files]
district = "boundaries/district.geojson"
street = "boundaries/street.geojson"
community = "boundaries/community.geojson"
grid = "boundaries/grid.geojson"

[categories]
file = "categories.csv"

[requests]
files = "requests/requests_*.parquet"
coord_sys = "GCJ02"
timestamp_format = "%Y-%m-%d %H:%M:%S"

[requests.columns]
request_id = "工单编号"
created_at = "受理时间"
channel = "来源渠道"
event_type = "事项编码"
address = "诉求地址"
description = "诉求内容"
lng = "经度"
lat = "纬度"
component_id = "部件编号"

[requests.channels]
"12345热线" = "hotline"
"i深圳随手拍" = "app"
"微信公众号" = "wechat"
"网格巡查" = "patrol"
"传感器告警" = "sensor"

[events]
files = "requests/events_*.parquet"
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

[components]
file = "components/components.csv"
encoding = "utf-8"
coord_sys = "WGS84"

[components.columns]
component_id = "部件编号"
kind = "部件类型"
lng = "经度"
lat = "纬度"
owner = "主管单位"
property_unit = "权属单位"
maintainer = "养护单位"
status = "状态"
installed_on = "启用日期"

[alarms]
files = "components/alarms.parquet"
timestamp_format = "%Y-%m-%d %H:%M:%S"

[alarms.columns]
component_id = "部件编号"
ts = "告警时间"
alarm_type = "告警类型"

# The worry index (docs/metrics.md): its fixed scale is set at this city's yearly average
# request rate (intensity scores 0.5 there; open requests at a tenth of it), and category
# severity (1 = an ordinary matter, 0.5-3) weighs danger to life and property most.
[worry]
reference_rate = {reference_rate:.2f}
reference_open_rate = {reference_open_rate:.3f}

[worry.severity]
"燃气安全" = 3
"消防安全" = 3
"安全隐患" = 2.5
"房屋安全" = 2.5
"桥梁隧道" = 2
"供水" = 2
"供电" = 2
"水务排水" = 2
"食品安全" = 2
"公共卫生" = 2
"欠薪" = 2
"治安管理" = 2
"养老服务" = 1.5
"社会救助" = 1.5
"规划咨询" = 0.5
"建议表扬" = 0.5
"""


#: The register's status values as the cockpit's status classes (same order as ``STATUS``).
STATUS_CLASSES = ("normal", "damaged", "repair", "disabled")

# Which complaints are about which components (docs/metrics.md, City components): keys are
# category names of the demo's list at any level (pipelines/demo/taxonomy.py), values the
# register's kinds (pipelines/demo/components.py). Cameras and the other categories have no
# component a citizen would complain about, so they are left out.
COMPONENT_LINKS = """\
[component_rules]
# a complaint farther than this from every relevant component stays unlinked
max_distance_m = 50
alarming_days = 7
repeat_window_days = 30

[component_rules.link]
"路灯照明" = "路灯"
"井盖缺失" = {kinds = ["井盖", "井盖监测器"], max_distance_m = 30}
"井盖破损" = {kinds = ["井盖", "井盖监测器"], max_distance_m = 30}
"消防设施损坏" = ["消火栓", "消防水池液位"]
"消防通道堵塞" = "消防通道地磁"
"电动车违规充电" = "烟感"
"污水外溢" = {kinds = ["雨污管网监测"], max_distance_m = 100}
"下水道堵塞" = {kinds = ["雨污管网监测"], max_distance_m = 100}

[component_rules.alarm_type_names_en]
"越限告警" = "Threshold exceeded"
"设备离线" = "Device offline"
"设备故障" = "Device fault"
"""


def component_rules_toml() -> str:
    """The demo's ``[component_rules]``: links, status classes and kind names in English."""
    statuses = "\n".join(
        f'"{zh}" = "{cls}"' for (zh, _), cls in zip(STATUS, STATUS_CLASSES, strict=True)
    )
    names = "\n".join(f'"{zh}" = "{en}"' for _, zh, en, *_ in COMPONENT_TYPES)
    return (
        f"{COMPONENT_LINKS}\n[component_rules.statuses]\n{statuses}\n\n"
        f"[component_rules.kind_names_en]\n{names}\n"
    )


def write_spec(file: Path, *, reference_rate: float = 40.0) -> None:
    """Write the demo's ``source.toml``.

    ``reference_rate`` (requests per 10,000 residents per 30 days) sets the worry index's
    scale; open requests are referenced at a tenth of it.
    """
    text = DEMO_SPEC.format(reference_rate=reference_rate, reference_open_rate=reference_rate / 10)
    text += "\n" + component_rules_toml()
    file.write_text(text, encoding="utf-8")
