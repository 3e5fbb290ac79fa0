"""Personal data in citizens' free text: find it, scrub it, mask it, hash phone numbers.

Pure functions over strings (issue 7), so the ingest stage, the display layer and the tests
share one definition of what personal data looks like in a 12345 record.

What counts (mainland China conventions):

- mobile numbers: 11 digits starting ``1[3-9]``, optionally ``+86``/``86`` in front and
  spaces or hyphens in the usual 3-4-4 grouping;
- landlines: an area code ``0`` + 2–3 digits, a separator, 7–8 digits (``0755-12345678``);
- resident ID numbers: 18 characters whose birth date is a real date and whose last
  character is the ISO 7064 MOD 11-2 check of the first 17 (GB 11643-1999); 18-digit runs
  that fail the check (order numbers, timestamps) are left alone;
- names in the patterns complaints use: after 姓名/联系人/我叫/本人/投诉人/报告人, or a
  surname followed by 先生/女士/小姐/师傅.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import hmac
import logging
import math
import pickle
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

#: ISO 7064 MOD 11-2 weights of the first 17 characters of a resident ID number.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Letters may touch a number ("TEL13812345678"), digits may not (a longer number). Python's
# \d is any decimal digit, full-width ones included, so the literals are spelt both ways.
_SEP = r"[\s\-－]"
_NUMBER = re.compile(
    r"(?=[\d+＋])(?<!\d)(?:"
    r"(?P<id_card>\d{17}(?:\d(?!\d)|[Xx]))"
    rf"|(?P<mobile>(?:[+＋]?[8８][6６]{_SEP}?)?[1１][3-9３-９]\d{_SEP}?\d{{4}}{_SEP}?\d{{4}}(?!\d))"
    rf"|(?P<landline>[0０]\d{{2,3}}{_SEP}\d{{7,8}}(?!\d))"
    r")"
)
_NAME_AFTER = re.compile(
    r"(?:姓名|联系人|我叫|本人|投诉人|报告人|反映人)\s*[:：是为]?\s*([\u4e00-\u9fff]{2,3})"
)
_NAME_WORDS = ("姓名", "联系人", "我叫", "本人", "投诉人", "报告人", "反映人")
_TITLES = ("先生", "女士", "小姐", "师傅")
#: Placeholders left in scrubbed text, by kind.
TOKENS = {"mobile": "[手机号]", "landline": "[座机]", "id_card": "[身份证号]", "name": "[姓名]"}
#: Every kind, and the kinds that are numbers (scrubbed from addresses, where a "name" is a
#: place: 王家村, 李师傅修车行).
KINDS = frozenset(TOKENS)
NUMBER_KINDS = frozenset({"mobile", "landline", "id_card"})

# Full-width digits, plus and hyphen as their ASCII forms (for phone keys and masks).
_ASCII_DIGITS = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")
_NOT_DIGIT = re.compile(r"\D")

# RE2 (DuckDB) spellings of what the patterns match: RE2's \d and \s are ASCII only,
# Python's are Unicode.
_RE2_D = r"\p{Nd}"
_RE2_SEP = r"[\s\p{Z}\x{0b}\x{1c}-\x{1f}\x{85}\-－]"
_RE2_HAN = r"[\x{4e00}-\x{9fff}]"
#: A cheap superset of the numbers :func:`find` finds, in RE2 syntax (DuckDB's
#: ``regexp_matches``): text it does not match holds none, and skips the Python scrub.
NUMBER_PREFILTER = (
    f"{_RE2_D}{{17}}"
    f"|[1１][3-9３-９]{_RE2_D}{_RE2_SEP}?{_RE2_D}{{4}}{_RE2_SEP}?{_RE2_D}{{4}}"
    f"|[0０]{_RE2_D}{{2,3}}{_RE2_SEP}{_RE2_D}{{7}}"
)
#: The same for every kind: numbers, a name after its keyword, a surname before a title.
#: Scrubbed text no longer matches it, so ingest repeats its one-pass scrub on the rows it
#: still matches (normally none) instead of re-scanning every row.
PREFILTER = (
    NUMBER_PREFILTER
    + f"|(?:{'|'.join(_NAME_WORDS)}){_RE2_SEP}*[:：是为]?{_RE2_SEP}*{_RE2_HAN}{{2}}"
    + f"|{_RE2_HAN}(?:{'|'.join(_TITLES)})"
)


class Found(NamedTuple):
    """One piece of personal data in a text: its kind, span and value as written."""

    kind: str
    start: int
    end: int
    value: str


def id_check_char(first17: str) -> str:
    """Return the check character of an ID number's first 17 digits (MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_id(text: str) -> bool:
    """Whether ``text`` is a well-formed 18-character resident ID number (date and check)."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    try:
        born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= born <= dt.date(2100, 1, 1):
        return False
    return id_check_char(text[:17]) == text[17].upper()


def find(text: str, kinds: frozenset[str] = KINDS) -> list[Found]:
    """Return the personal data in ``text``, in order, without overlaps.

    Parameters
    ----------
    text
        Free text as a citizen or an operator wrote it.
    kinds
        The kinds to look for (keys of :data:`TOKENS`); addresses use :data:`NUMBER_KINDS`.

    Returns
    -------
    list of Found
        ID numbers first claim their span (an 18-digit ID contains 11-digit runs that
        would otherwise read as a phone number), then phones, then names.

    Notes
    -----
    One scan finds every kind of number (an alternation in claiming order: two numbers
    cannot overlap, as each is a run of digits bounded by non-digits), and names are
    located by their keywords with ``str.find``: ingest runs this over hundreds of thousands
    of descriptions joined into one string (:func:`extract_many`).
    """
    found: list[Found] = []
    if kinds & NUMBER_KINDS:
        for m in _NUMBER.finditer(text):
            kind = m.lastgroup
            assert kind is not None
            if kind in kinds and (kind != "id_card" or is_valid_id(m.group(kind))):
                found.append(Found(kind, m.start(), m.end(), m.group(kind)))
    if "name" in kinds:
        names: list[Found] = []
        # Keywords located with str.find (fast on long texts), then matched in place; like
        # finditer, a match starting inside the previous one is skipped.
        last = 0
        for at in _occurrences(text, _NAME_WORDS):
            hit = _NAME_AFTER.match(text, at) if at >= last else None
            if hit is not None:
                names.append(Found("name", *hit.span(1), hit.group(1)))
                last = hit.end()
        # Keyword names are in order and do not overlap: a bisect over their starts says
        # whether a title's surname lies inside one (a scan of all of them was quadratic on
        # the joined text of a whole city).
        starts = [f.start for f in names]
        keyword_names = len(names)
        for at in _occurrences(text, _TITLES):
            at -= 1
            if at < 0 or not _is_han(text[at]):
                continue
            inside = bisect.bisect_right(starts, at, 0, keyword_names) - 1
            if inside < 0 or at >= names[inside].end:
                names.append(Found("name", at, at + 1, text[at]))
        found += names
    if len(found) > 1:
        found.sort(key=lambda f: f.start)
    return found


def _occurrences(text: str, words: tuple[str, ...]) -> list[int]:
    """Start of every occurrence of any of ``words`` in ``text``, in order."""
    starts: list[int] = []
    for word in words:
        at = text.find(word)
        while at >= 0:
            starts.append(at)
            at = text.find(word, at + 1)
    starts.sort()
    return starts


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def scrub(text: str, kinds: frozenset[str] = KINDS) -> str:
    """Return ``text`` with every piece of personal data replaced by its :data:`TOKENS`.

    Repeated until nothing more is found: removing one number can free a neighbour that
    was glued to it (``…002X13812345678``).
    """
    return extract(text, kinds).text


@dataclass(frozen=True)
class Extracted:
    """A scrubbed text and the first name and mobile number it held (as written)."""

    text: str
    name: str | None = None
    mobile: str | None = None
    #: Whether anything was scrubbed (the text held personal data of any kind).
    changed: bool = False


def extract(text: str, kinds: frozenset[str] = KINDS) -> Extracted:
    """Scrub ``text`` like :func:`scrub` and keep the first name and mobile number found.

    The contact a request's text gives is its first name and first mobile number: what a
    grid chief calls back (in full only through the vault), masked on screens, and the
    mobile's keyed hash for repeat callers.
    """
    name: str | None = None
    mobile: str | None = None
    original = text
    for _ in range(5):
        found = find(text, kinds)
        if not found:
            break
        for f in found:
            if f.kind == "name" and name is None:
                name = f.value
            elif f.kind == "mobile" and mobile is None:
                mobile = f.value
        text = _replace(text, found)
    return Extracted(text, name, mobile, text != original)


#: Joins texts for :func:`extract_many`: matches none of the patterns, so no match crosses it.
_SEPARATOR = "\x00"


log = logging.getLogger(__name__)

#: Fewer texts than this are scanned in one process: starting a worker costs about 0.3 s.
PARALLEL_MIN_TEXTS = 50_000


def extract_many(
    texts: list[str], kinds: frozenset[str] = KINDS, *, passes: int = 5, workers: int = 1
) -> list[Extracted]:
    """:func:`extract` for many texts at once, with the same results.

    The texts are joined by a character no pattern matches and scanned as one string, so
    the regular expressions run once in C over all of them instead of a few times per text
    (ingest scrubs hundreds of thousands of descriptions this way).

    ``passes=1`` stops after one pass: ingest then checks the results with
    :data:`PREFILTER` in SQL and passes only the rows it still matches again.

    ``workers`` > 1 splits the texts across that many processes (this one included): the
    scan is pure Python regex work, which holds the GIL, so threads would not help. Below
    :data:`PARALLEL_MIN_TEXTS` texts it runs here alone.
    """
    if workers > 1 and len(texts) >= PARALLEL_MIN_TEXTS:
        return _extract_in_processes(texts, kinds, passes, workers)
    return _extract_joined(texts, kinds, passes)


def _extract_in_processes(
    texts: list[str], kinds: frozenset[str], passes: int, workers: int
) -> list[Extracted]:
    """Scan the first share here and the others in ``python -m pipelines.pii`` workers.

    Workers are plain interpreters started on this module, handed their share and
    returning their results through files in a private temporary folder: unlike
    multiprocessing's spawn, they never re-run the caller's script (a script without a
    ``__main__`` guard would start the build again in every worker), and unlike fork they
    inherit none of DuckDB's threads or locks. A worker that fails is redone here.
    """
    size = math.ceil(len(texts) / workers)
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    with tempfile.TemporaryDirectory(prefix="yiwang-pii-") as folder:
        started = []
        for i, chunk in enumerate(chunks[1:]):
            task, result = Path(folder, f"task-{i}.pickle"), Path(folder, f"result-{i}.pickle")
            task.write_bytes(pickle.dumps((chunk, kinds, passes), pickle.HIGHEST_PROTOCOL))
            worker = subprocess.Popen([sys.executable, "-m", __name__, str(task), str(result)])
            started.append((worker, chunk, result))
        out = _extract_joined(chunks[0], kinds, passes)
        for worker, chunk, result in started:
            if worker.wait() == 0 and result.is_file():
                out.extend(Extracted(*row) for row in pickle.loads(result.read_bytes()))
            else:
                log.warning(
                    "personal-data worker failed (exit %s); scanning its share here",
                    worker.returncode,
                )
                out.extend(_extract_joined(chunk, kinds, passes))
    return out


def _extract_rows(
    texts: list[str], kinds: frozenset[str], passes: int
) -> list[tuple[str, str | None, str | None, bool]]:
    """A worker's share of :func:`extract_many`, as plain tuples (cheap to send back)."""
    return [(e.text, e.name, e.mobile, e.changed) for e in _extract_joined(texts, kinds, passes)]


def _extract_joined(texts: list[str], kinds: frozenset[str], passes: int) -> list[Extracted]:
    if not texts:
        return []
    if any(_SEPARATOR in t for t in texts):
        return [extract(t, kinds) for t in texts]
    joined = _SEPARATOR.join(texts)
    starts = [0]
    for t in texts[:-1]:
        starts.append(starts[-1] + len(t) + 1)
    names: dict[int, str] = {}
    mobiles: dict[int, str] = {}
    for _ in range(passes):
        found = find(joined, kinds)
        if not found:
            break
        for f in found:
            row = bisect.bisect_right(starts, f.start) - 1
            if f.kind == "name":
                names.setdefault(row, f.value)
            elif f.kind == "mobile":
                mobiles.setdefault(row, f.value)
        joined = _replace(joined, found)
        # Offsets moved: recompute the row starts from the separators.
        starts = [0]
        at = joined.find(_SEPARATOR)
        while at >= 0:
            starts.append(at + 1)
            at = joined.find(_SEPARATOR, at + 1)
    return [
        Extracted(text, names.get(i), mobiles.get(i), text != texts[i])
        for i, text in enumerate(joined.split(_SEPARATOR))
    ]


def _replace(text: str, found: list[Found]) -> str:
    out: list[str] = []
    at = 0
    for f in found:
        out.append(text[at : f.start])
        out.append(TOKENS[f.kind])
        at = f.end
    out.append(text[at:])
    return "".join(out)


def digits(phone: str) -> str:
    """Return a phone number's digits without the +86 country code."""
    if not phone.isascii():
        phone = phone.translate(_ASCII_DIGITS)
    d = phone if phone.isdigit() else _NOT_DIGIT.sub("", phone)
    return d[2:] if len(d) == 13 and d.startswith("86") else d


def mask_phone(phone: str) -> str:
    """Return a phone number as partial viewers see it: ``138****5678``."""
    d = digits(phone)
    if len(d) < 7:
        return "*" * len(d)
    return d[:3] + "*" * (len(d) - 7) + d[-4:]


def mask_name(name: str) -> str:
    """Return a name as partial viewers see it: the surname and one star per character."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def mask_id(number: str) -> str:
    """Return an ID number as partial viewers see it: region and check kept, the rest starred."""
    return (
        number[:3] + "*" * (len(number) - 5) + number[-2:] if len(number) > 5 else "*" * len(number)
    )


def phone_key(phone: str, secret: bytes) -> str:
    """Return the keyed hash kept instead of a phone number (repeat-caller analysis).

    HMAC-SHA256 of the number's digits: the same caller gets the same key, and without the
    secret the key cannot be turned back into a number by trying all 10^11 of them.
    """
    if not secret:
        raise ValueError("phone_key needs a non-empty secret")
    return hmac.digest(secret, digits(phone).encode(), hashlib.sha256).hex()


def _worker(task: Path, result: Path) -> None:
    """A worker's share of :func:`extract_many`: read it from ``task``, answer in ``result``."""
    texts, kinds, passes = pickle.loads(task.read_bytes())  # written by this module only
    result.write_bytes(pickle.dumps(_extract_rows(texts, kinds, passes), pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    _worker(Path(sys.argv[1]), Path(sys.argv[2]))
