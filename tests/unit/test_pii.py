"""Personal data in free text: nothing that looks like a phone or a valid ID survives a scrub."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import pii

MOBILE_RUN = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
GROUPED_MOBILE = re.compile(r"(?<!\d)1[3-9]\d[\s-]\d{4}[\s-]\d{4}(?!\d)")
ID_RUN = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")

filler = st.text(
    alphabet=st.sampled_from("诉求路灯不亮井盖缺失，。 abcXYZ:-/#0123456789"), max_size=30
)


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    body = f"1{draw(st.sampled_from('3456789'))}{draw(st.integers(0, 10**9 - 1)):09d}"
    style = draw(st.sampled_from(["plain", "spaced", "hyphen", "plus86"]))
    if style == "spaced":
        return f"{body[:3]} {body[3:7]} {body[7:]}"
    if style == "hyphen":
        return f"{body[:3]}-{body[3:7]}-{body[7:]}"
    return f"+86{body}" if style == "plus86" else body


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = f"{draw(st.integers(110000, 659999))}"
    born = draw(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2026, 12, 31)))
    seq = f"{draw(st.integers(0, 999)):03d}"
    first17 = f"{region}{born:%Y%m%d}{seq}"
    return first17 + pii.id_check_char(first17)


def surviving(text: str) -> list[str]:
    """Phones and valid ID numbers still readable in ``text``."""
    left = MOBILE_RUN.findall(text) + GROUPED_MOBILE.findall(text)
    return left + [m for m in ID_RUN.findall(text) if pii.is_valid_id(m)]


@given(st.lists(st.one_of(filler, mobiles(), id_numbers()), max_size=8))
def test_no_mobile_number_or_valid_id_survives_the_scrub(parts):
    text = "".join(parts)
    assert surviving(pii.scrub(text)) == []


@given(id_numbers())
def test_generated_id_numbers_are_valid_and_a_changed_check_is_not(number):
    assert pii.is_valid_id(number)
    wrong = "0" if number[-1] != "0" else "1"
    assert not pii.is_valid_id(number[:-1] + wrong)


def test_a_known_id_number_is_found_and_an_order_number_is_left_alone():
    # GB 11643-1999's worked example: 11010519491231002X
    assert pii.is_valid_id("11010519491231002X")
    text = "身份证11010519491231002X，工单号SZA20251129000019，订单202511290000190001"
    assert pii.scrub(text) == "身份证[身份证号]，工单号SZA20251129000019，订单202511290000190001"


def test_phones_names_and_landlines_are_replaced_by_tokens():
    text = "我叫王小明，电话 138-1234-5678，座机0755-12345678，请张先生回电"
    assert pii.scrub(text) == "我叫[姓名]，电话 [手机号]，座机[座机]，请[姓名]先生回电"


def test_masks_keep_only_what_a_partial_viewer_may_see():
    assert pii.mask_phone("+86 138 1234 5678") == "138****5678"
    assert pii.mask_name("张三") == "张*"
    assert pii.mask_name("欧阳娜娜") == "欧***"
    assert pii.mask_id("11010519491231002X") == "110*************2X"


def test_the_phone_key_is_stable_per_caller_and_depends_on_the_secret():
    a = pii.phone_key("138-1234-5678", b"k1")
    assert a == pii.phone_key("+8613812345678", b"k1")
    assert a != pii.phone_key("13812345679", b"k1")
    assert a != pii.phone_key("13812345678", b"k2")
    assert "13812345678" not in a


full_width = str.maketrans("0123456789-", "０１２３４５６７８９－")
texts = st.lists(
    st.one_of(
        filler,
        mobiles(),
        id_numbers(),
        mobiles().map(lambda m: m.translate(full_width)),
        st.sampled_from(["联系人王小明", "我叫 李四", "张先生", "0755-12345678", "姓名：赵六"]),
    ),
    max_size=8,
).map("".join)


@settings(deadline=None)  # timings on a loaded CI machine vary
@given(st.lists(texts, max_size=6))
def test_scrubbing_many_texts_at_once_gives_what_one_at_a_time_gives(batch):
    assert pii.extract_many(batch) == [pii.extract(t) for t in batch]
    assert pii.extract_many(batch, pii.NUMBER_KINDS) == [
        pii.extract(t, pii.NUMBER_KINDS) for t in batch
    ]


@settings(deadline=None)  # the first DuckDB call warms up
@given(texts)
def test_the_sql_prefilter_matches_every_text_that_holds_personal_data(text):
    # fetchall, not fetchone: a result left unfinished on DuckDB's default connection makes
    # the next duckdb.sql() in this process fail, in whichever test module runs next
    matched = duckdb.execute("SELECT regexp_matches(?, ?)", [text, pii.PREFILTER]).fetchall()[0]
    numbers = duckdb.execute(
        "SELECT regexp_matches(?, ?)", [text, pii.NUMBER_PREFILTER]
    ).fetchall()[0]
    assert matched is not None and numbers is not None
    if pii.find(text):
        assert matched[0]
    if pii.find(text, pii.NUMBER_KINDS):
        assert numbers[0]
    # scrubbed text no longer matches, so ingest's second pass is over no rows
    assert (
        not duckdb.execute(
            "SELECT regexp_matches(?, ?)", [pii.scrub(text), pii.PREFILTER]
        ).fetchall()[0][0]
        or pii.find(pii.scrub(text)) == []
    )


def test_full_width_mobiles_are_scrubbed_and_keyed_like_ascii_ones():
    text = "电话１３８－１２３４－５６７８"
    assert pii.scrub(text) == "电话[手机号]"
    ex = pii.extract(text)
    assert ex.mobile is not None
    assert pii.phone_key(ex.mobile, b"k") == pii.phone_key("13812345678", b"k")
    assert pii.mask_phone(ex.mobile) == "138****5678"


def test_extract_keeps_the_first_name_and_mobile_as_written():
    ex = pii.extract("联系人王小明，电话 138-1234-5678，另一个13912345678")
    assert (ex.name, ex.mobile, ex.changed) == ("王小明", "138-1234-5678", True)
    assert ex.text == "联系人[姓名]，电话 [手机号]，另一个[手机号]"
    assert not pii.extract("路灯不亮").changed


def test_scrubbing_across_two_processes_gives_what_one_process_gives(monkeypatch):
    monkeypatch.setattr(pii, "PARALLEL_MIN_TEXTS", 100)
    id_number = "11010519491231002" + pii.id_check_char("11010519491231002")
    texts = [
        f"市民反映：{i}号楼 联系人：张{'三四'[i % 2]}，电话1{3 + i % 7}8{i:08d}，"
        f"身份证号{id_number}；王{'先生' if i % 3 else '女士'}反映路灯不亮"
        for i in range(2_001)
    ]
    alone = pii.extract_many(texts, passes=1)
    shared = pii.extract_many(texts, passes=1, workers=2)
    assert shared == alone
    assert all(e.changed and e.mobile and e.name for e in shared)
    assert not any(id_number in e.text for e in shared)


def test_finding_names_stays_linear_when_a_text_holds_thousands_of_them():
    # a whole city's descriptions are scanned as one joined text
    text = "\x00".join(f"联系人：张三，王先生{i}" for i in range(20_000))
    found = pii.find(text)
    assert sum(f.kind == "name" for f in found) == 40_000


def test_a_script_without_a_main_guard_can_scan_on_two_cores(tmp_path):
    # multiprocessing's spawn would re-run such a script in every worker
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from pipelines import pii\n"
        "pii.PARALLEL_MIN_TEXTS = 10\n"
        "found = pii.extract_many(['电话13812345678'] * 50, workers=2)\n"
        "print(sum(e.mobile == '13812345678' for e in found))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "50"
