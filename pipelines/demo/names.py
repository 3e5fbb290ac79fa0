"""Plausible Chinese place names with their pinyin, for the synthetic units.

Only the district names are real (they come with the boundary package); streets,
communities, roads and grids are invented from this syllable table so that nobody mistakes
the demo for a real place.
"""

from __future__ import annotations

import numpy as np

# character -> pinyin; chosen to read like Shenzhen place names (岭, 坑, 围, 塘 ...)
FIRST = {
    "龙": "long",
    "凤": "feng",
    "华": "hua",
    "福": "fu",
    "新": "xin",
    "沙": "sha",
    "松": "song",
    "石": "shi",
    "西": "xi",
    "东": "dong",
    "南": "nan",
    "北": "bei",
    "光": "guang",
    "桃": "tao",
    "荔": "li",
    "梅": "mei",
    "莲": "lian",
    "海": "hai",
    "金": "jin",
    "银": "yin",
    "宝": "bao",
    "盛": "sheng",
    "兴": "xing",
    "泰": "tai",
    "和": "he",
    "康": "kang",
    "乐": "le",
    "永": "yong",
    "丰": "feng",
    "清": "qing",
    "翠": "cui",
    "碧": "bi",
    "锦": "jin",
    "玉": "yu",
    "云": "yun",
    "白": "bai",
    "竹": "zhu",
    "桂": "gui",
    "榕": "rong",
    "杨": "yang",
    "黄": "huang",
    "马": "ma",
    "鹤": "he",
    "麒": "qi",
    "燕": "yan",
    "长": "chang",
    "安": "an",
    "红": "hong",
}
SECOND = {
    "岭": "ling",
    "坑": "keng",
    "围": "wei",
    "塘": "tang",
    "田": "tian",
    "湖": "hu",
    "山": "shan",
    "园": "yuan",
    "湾": "wan",
    "岗": "gang",
    "坪": "ping",
    "林": "lin",
    "洲": "zhou",
    "头": "tou",
    "桥": "qiao",
    "浦": "pu",
    "庄": "zhuang",
    "苑": "yuan",
    "城": "cheng",
    "溪": "xi",
    "涌": "chong",
    "坳": "ao",
    "埔": "pu",
    "峰": "feng",
    "港": "gang",
    "源": "yuan",
    "口": "kou",
    "景": "jing",
    "阳": "yang",
    "明": "ming",
    "河": "he",
    "丽": "li",
    "美": "mei",
    "辉": "hui",
    "贝": "bei",
}
ROAD_SUFFIX = (("路", "Road"), ("大道", "Avenue"), ("街", "Street"), ("一路", "1st Road"))


def unique_names(rng: np.random.Generator, n: int, *, taken: set[str]) -> list[tuple[str, str]]:
    """Draw ``n`` distinct two-character names not in ``taken``; returns (zh, pinyin) pairs."""
    firsts, seconds = list(FIRST), list(SECOND)
    combos = [(a, b) for a in firsts for b in seconds if a + b not in taken]
    if n > len(combos):
        raise ValueError(f"asked for {n} names, only {len(combos)} left")
    picks = rng.choice(len(combos), size=n, replace=False)
    out = []
    for i in picks:
        a, b = combos[int(i)]
        taken.add(a + b)
        out.append((a + b, (FIRST[a] + SECOND[b]).capitalize()))
    return out


def road_names(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """Draw ``n`` road names (may repeat across communities, like real roads do)."""
    out = []
    for _ in range(n):
        a = list(FIRST)[int(rng.integers(len(FIRST)))]
        b = list(SECOND)[int(rng.integers(len(SECOND)))]
        zh_suffix, en_suffix = ROAD_SUFFIX[int(rng.integers(len(ROAD_SUFFIX)))]
        out.append((a + b + zh_suffix, f"{(FIRST[a] + SECOND[b]).capitalize()} {en_suffix}"))
    return out
