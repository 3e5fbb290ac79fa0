"""Text sources in GBK, GB18030, UTF-16 or UTF-8 with BOM arrive as exact UTF-8 or not at all."""

from __future__ import annotations

import pytest

from pipelines.sources.encoding import EncodingProblem, to_utf8

TEXT = '编号,诉求内容\n1,深圳市福田区莲花街道 — 䶮与𠮷都是生僻字\n2,"含逗号,和换行\n的内容"\n'


@pytest.mark.parametrize(
    ("declared", "encoding"),
    [("GBK", "gb18030"), ("gb18030", "gb18030"), ("UTF-16", "utf-16"), ("utf-16le", "utf-16-le")],
)
def test_declared_encodings_are_transcoded_exactly(tmp_path, declared, encoding):
    src = tmp_path / "export.csv"
    src.write_bytes(TEXT.encode(encoding))
    out = to_utf8(src, declared, tmp_path / "work")
    assert out.utf8 != src
    assert out.utf8.read_text(encoding="utf-8") == TEXT


def test_utf8_is_read_in_place_and_a_bom_is_dropped(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text(TEXT, encoding="utf-8")
    assert to_utf8(plain, "utf-8", tmp_path / "work").utf8 == plain
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + TEXT.encode())
    out = to_utf8(bom, "UTF-8", tmp_path / "work")
    assert out.had_bom
    assert out.utf8.read_bytes() == TEXT.encode()


def test_a_byte_that_does_not_decode_stops_the_file_with_its_offset(tmp_path):
    src = tmp_path / "broken.csv"
    good = "编号,内容\n1,深圳\n".encode("gbk")
    src.write_bytes(good + b"\xff\xfe\n")
    with pytest.raises(EncodingProblem, match=f"at byte {len(good)}"):
        to_utf8(src, "gbk", tmp_path / "work")
    assert not list((tmp_path / "work").glob("*")), "no half-written copy is left behind"


def test_utf8_declared_but_gbk_delivered_is_refused_not_guessed(tmp_path):
    src = tmp_path / "mislabelled.csv"
    src.write_bytes(TEXT.encode("gb18030"))
    with pytest.raises(EncodingProblem, match="not valid utf-8"):
        to_utf8(src, "utf-8", tmp_path / "work")


def test_an_unknown_encoding_names_the_supported_ones(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("a\n", encoding="utf-8")
    with pytest.raises(ValueError, match="gb18030"):
        to_utf8(src, "ebcdic", tmp_path / "work")
