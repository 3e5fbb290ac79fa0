"""The demo's 4-level responsibility list (职责清单): 19 classes down to ~300 event types.

Shaped after the P district list in MISSION.md (4 levels, 19 classes). Level 4 is a level-3
matter in a setting (road, estate, public place), as real lists split them. Time limits are
in hours, in the spirit of GB/T 30428 (manhole 3 h, drain 4 h, garbage 6 h, streetlight 8 h).
Each type also has a response limit (签收 within it): a quarter of its time limit, at least
1 h and at most 24 h, in whole hours (:func:`response_limit`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# (zh, en, department_zh, department_en, weight) -> {l2 (zh, en, limit_h): [l3 (zh, en)]}
TAXONOMY: dict[
    tuple[str, str, str, str, float], dict[tuple[str, str, int], list[tuple[str, str]]]
] = {
    (
        "市容环卫",
        "City appearance & sanitation",
        "城市管理和综合执法局",
        "Urban Management Bureau",
        14,
    ): {
        ("环境卫生", "Street cleaning", 24): [
            ("道路保洁不到位", "Dirty road"),
            ("垃圾堆放", "Dumped waste"),
            ("公厕脏乱", "Dirty public toilet"),
        ],
        ("垃圾清运", "Waste collection", 6): [
            ("生活垃圾未及时清运", "Uncollected household waste"),
            ("垃圾桶满溢", "Overflowing bin"),
            ("建筑垃圾乱倒", "Construction debris dumping"),
        ],
        ("市容秩序", "Street order", 48): [
            ("占道经营", "Street vending"),
            ("乱张贴", "Illegal posters"),
            ("户外广告破损", "Damaged billboard"),
        ],
    },
    ("环保水务", "Environment & water", "生态环境局", "Ecology & Environment Bureau", 10): {
        ("噪音污染", "Noise", 72): [
            ("施工噪音", "Construction noise"),
            ("社会生活噪音", "Neighbourhood noise"),
            ("商业噪音", "Commercial noise"),
        ],
        ("水务排水", "Drainage", 4): [
            ("路面积水", "Road flooding"),
            ("下水道堵塞", "Blocked sewer"),
            ("污水外溢", "Sewage overflow"),
        ],
        ("供水", "Water supply", 12): [
            ("停水", "Water outage"),
            ("水压不足", "Low water pressure"),
            ("水质异常", "Water quality"),
        ],
        ("大气污染", "Air pollution", 72): [
            ("油烟扰民", "Cooking fumes"),
            ("露天焚烧", "Open burning"),
            ("扬尘", "Dust"),
        ],
    },
    ("安全管理", "Public safety", "应急管理局", "Emergency Management Bureau", 8): {
        ("消防安全", "Fire safety", 8): [
            ("消防通道堵塞", "Blocked fire lane"),
            ("消防设施损坏", "Broken fire equipment"),
            ("电动车违规充电", "Unsafe e-bike charging"),
        ],
        ("安全隐患", "Hazards", 8): [
            ("井盖缺失", "Missing manhole cover"),
            ("围墙倾斜", "Leaning wall"),
            ("高空坠物隐患", "Falling-object risk"),
        ],
        ("燃气安全", "Gas safety", 3): [
            ("燃气泄漏", "Gas leak"),
            ("燃气管道破损", "Damaged gas pipe"),
        ],
    },
    ("交通管理", "Traffic", "交通运输局", "Transport Bureau", 9): {
        ("违章停车", "Illegal parking", 24): [
            ("占用人行道停车", "Parking on pavement"),
            ("堵塞出入口", "Blocking an entrance"),
            ("共享单车乱停", "Shared-bike clutter"),
        ],
        ("交通设施", "Traffic facilities", 48): [
            ("信号灯故障", "Signal failure"),
            ("交通标志损坏", "Damaged sign"),
            ("护栏损坏", "Damaged railing"),
        ],
        ("公共交通", "Public transport", 120): [
            ("公交站台破损", "Damaged bus stop"),
            ("线路调整诉求", "Route change request"),
        ],
    },
    ("市政设施", "Municipal facilities", "住房和建设局", "Housing & Construction Bureau", 9): {
        ("道路设施", "Roads", 72): [
            ("路面破损", "Potholes"),
            ("人行道砖松动", "Loose paving"),
            ("井盖破损", "Broken manhole cover"),
        ],
        ("路灯照明", "Street lighting", 8): [
            ("路灯不亮", "Streetlight out"),
            ("路灯白天亮", "Streetlight on by day"),
            ("灯杆倾斜", "Leaning lamp post"),
        ],
        ("桥梁隧道", "Bridges & tunnels", 72): [
            ("天桥破损", "Damaged footbridge"),
            ("隧道渗水", "Tunnel leak"),
        ],
    },
    ("园林绿化", "Parks & greenery", "城市管理和综合执法局", "Urban Management Bureau", 5): {
        ("树木管理", "Trees", 24): [
            ("树木倒伏", "Fallen tree"),
            ("树枝遮挡", "Overgrown branches"),
            ("病虫害", "Tree pests"),
        ],
        ("公园管理", "Parks", 72): [
            ("公园设施损坏", "Broken park facility"),
            ("绿地被占", "Green space occupied"),
        ],
    },
    ("住房保障", "Housing", "住房和建设局", "Housing & Construction Bureau", 5): {
        ("物业管理", "Property management", 120): [
            ("物业服务差", "Poor property service"),
            ("电梯故障", "Lift failure"),
            ("小区停车收费", "Estate parking fees"),
        ],
        ("房屋安全", "Building safety", 48): [
            ("房屋漏水", "Leaking building"),
            ("外墙脱落", "Falling facade"),
        ],
        ("租赁纠纷", "Rental disputes", 240): [
            ("押金纠纷", "Deposit dispute"),
            ("违规群租", "Illegal subdivision"),
        ],
    },
    ("规划国土", "Planning & land", "规划和自然资源局", "Planning & Natural Resources Bureau", 3): {
        ("违法建设", "Illegal construction", 240): [
            ("违建加盖", "Illegal extension"),
            ("占用公共空间", "Occupying public space"),
        ],
        ("规划咨询", "Planning queries", 240): [
            ("规划公示异议", "Objection to a plan"),
            ("地名门牌", "House numbering"),
        ],
    },
    ("劳动保障", "Labour & social security", "人力资源和社会保障局", "Human Resources Bureau", 5): {
        ("欠薪", "Unpaid wages", 120): [
            ("拖欠工资", "Wage arrears"),
            ("拖欠农民工工资", "Migrant wage arrears"),
        ],
        ("社保", "Social insurance", 240): [
            ("社保缴纳", "Contributions"),
            ("医保报销", "Medical reimbursement"),
        ],
    },
    ("市场监管", "Market regulation", "市场监督管理局", "Market Regulation Bureau", 6): {
        ("食品安全", "Food safety", 48): [
            ("无证经营餐饮", "Unlicensed eatery"),
            ("过期食品", "Expired food"),
        ],
        ("消费维权", "Consumer rights", 168): [
            ("预付卡退费", "Prepaid card refund"),
            ("价格欺诈", "Price fraud"),
            ("虚假宣传", "False advertising"),
        ],
    },
    ("教育", "Education", "教育局", "Education Bureau", 3): {
        ("学位", "School places", 240): [
            ("学位申请", "School place application"),
            ("校外培训", "Off-campus tutoring"),
        ],
        ("校园周边", "Around schools", 48): [
            ("校门口拥堵", "School gate congestion"),
            ("校园周边安全", "School-area safety"),
        ],
    },
    ("卫生健康", "Health", "卫生健康委员会", "Health Commission", 3): {
        ("医疗服务", "Medical services", 120): [
            ("就医排队", "Hospital queues"),
            ("医疗纠纷", "Medical dispute"),
        ],
        ("公共卫生", "Public health", 24): [
            ("病媒生物", "Pests & vermin"),
            ("二次供水卫生", "Tank water hygiene"),
        ],
    },
    ("民政服务", "Civil affairs", "民政局", "Civil Affairs Bureau", 2): {
        ("养老服务", "Elderly care", 168): [
            ("养老补贴", "Elderly allowance"),
            ("长者食堂", "Elderly canteen"),
        ],
        ("社会救助", "Social assistance", 168): [
            ("低保申请", "Subsistence allowance"),
            ("临时救助", "Emergency aid"),
        ],
    },
    ("公安治安", "Policing", "公安局", "Public Security Bureau", 3): {
        ("治安管理", "Public order", 24): [
            ("打架斗殴", "Fighting"),
            ("可疑人员", "Suspicious person"),
        ],
        ("户籍证件", "Household registration", 240): [
            ("居住证办理", "Residence permit"),
            ("入户咨询", "Hukou transfer"),
        ],
    },
    ("城中村管理", "Urban villages", "街道办事处", "Subdistrict Office", 4): {
        ("出租屋管理", "Rental housing", 72): [
            ("出租屋安全", "Rental safety"),
            ("三小场所隐患", "Small-premises hazards"),
        ],
        ("环境整治", "Clean-up", 72): [
            ("握手楼杂物", "Clutter between buildings"),
            ("排水沟脏乱", "Dirty gutters"),
        ],
    },
    ("文体旅游", "Culture, sport & tourism", "文化广电旅游体育局", "Culture & Tourism Bureau", 1): {
        ("文体设施", "Sports facilities", 120): [
            ("健身器材损坏", "Broken fitness equipment"),
            ("球场开放", "Court opening hours"),
        ],
        ("旅游投诉", "Tourism complaints", 168): [
            ("景区服务", "Scenic-spot service"),
            ("导游违规", "Tour guide misconduct"),
        ],
    },
    ("通信邮政", "Telecom & post", "工业和信息化局", "Industry & IT Bureau", 1): {
        ("通信信号", "Mobile signal", 240): [
            ("手机信号差", "Poor signal"),
            ("基站建设", "Base-station siting"),
        ],
        ("快递物流", "Parcels", 120): [("快递丢失", "Lost parcel"), ("快递柜收费", "Locker fees")],
    },
    ("水电气服务", "Utilities", "发展和改革委员会", "Development & Reform Commission", 3): {
        ("供电", "Electricity", 8): [("停电", "Power cut"), ("电压不稳", "Unstable voltage")],
        ("燃气服务", "Gas service", 24): [("燃气开户", "Gas account"), ("燃气费用", "Gas bill")],
    },
    ("其他", "Other", "政务服务数据管理局", "Government Services Bureau", 2): {
        ("建议表扬", "Suggestions & praise", 240): [
            ("政策建议", "Policy suggestion"),
            ("表扬", "Praise"),
        ],
        ("其他事项", "Miscellaneous", 168): [("其他诉求", "Other request")],
    },
}

SETTINGS_L4 = (("道路", "road"), ("小区", "estate"), ("公共场所", "public place"))


class EventType(NamedTuple):
    """One level-4 event type with its ancestors, time limit and response limit."""

    code: str
    l1_zh: str
    l1_en: str
    l2_zh: str
    l2_en: str
    l3_zh: str
    l3_en: str
    l4_zh: str
    l4_en: str
    department_zh: str
    department_en: str
    time_limit_hours: int
    response_limit_hours: int
    weight: float


def response_limit(time_limit_hours: float) -> int:
    """Response limit in whole (working) hours: ``min(max(limit / 4, 1), 24)``, half up."""
    return int(min(max(time_limit_hours / 4, 1.0), 24.0) + 0.5)


def event_types() -> list[EventType]:
    """Flatten :data:`TAXONOMY` into event types with stable codes ``Lxx.yy.zz.w``."""
    out: list[EventType] = []
    for i, ((l1, l1e, dept, depte, w1), l2s) in enumerate(TAXONOMY.items(), start=1):
        n3 = sum(len(v) for v in l2s.values())
        for j, ((l2, l2e, limit), l3s) in enumerate(l2s.items(), start=1):
            for k, (l3, l3e) in enumerate(l3s, start=1):
                for m, (s, se) in enumerate(SETTINGS_L4, start=1):
                    # Zipf-like spread inside a class so some matters dominate, as in real lists.
                    weight = w1 / n3 / len(SETTINGS_L4) * (1.6 / (k + 0.6)) * (1.4 / (m + 0.4))
                    out.append(
                        EventType(
                            f"{i:02d}.{j:02d}.{k:02d}.{m}",
                            l1,
                            l1e,
                            l2,
                            l2e,
                            l3,
                            l3e,
                            f"{l3}({s})",
                            f"{l3e} ({se})",
                            dept,
                            depte,
                            limit,
                            response_limit(limit),
                            weight,
                        )
                    )
    return out


def weights(types: list[EventType]) -> np.ndarray:
    """Normalised sampling weights of event types."""
    w = np.array([t.weight for t in types], dtype=float)
    return w / w.sum()
