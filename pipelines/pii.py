"""Personal data in citizens' free text: find it, scrub it, mask it, hash phone numbers.

Groundwork for issue 7 (not yet wired into ingest): pure functions over strings, so the
ingest stage, the display layer and the tests share one definition of what personal data
looks like in a 12345 record.

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

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

#: ISO 7064 MOD 11-2 weights of the first 17 characters of a resident ID number.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Letters may touch a number ("TEL13812345678"), digits may not (a longer number).
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[\s-](\d{7,8})(?!\d)")
_ID_CANDIDATE = re.compile(r"(?<!\d)(\d{17}(?:\d(?!\d)|[Xx]))")
_NAME_AFTER = re.compile(
    r"(?:姓名|联系人|我叫|本人|投诉人|报告人|反映人)\s*[:：是为]?\s*([\u4e00-\u9fff]{2,3})"
)
_NAME_TITLE = re.compile(r"([\u4e00-\u9fff])(?=先生|女士|小姐|师傅)")

#: Placeholders left in scrubbed text, by kind.
TOKENS = {"mobile": "[手机号]", "landline": "[座机]", "id_card": "[身份证号]", "name": "[姓名]"}


@dataclass(frozen=True)
class Found:
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


def find(text: str) -> list[Found]:
    """Return the personal data in ``text``, in order, without overlaps.

    Parameters
    ----------
    text
        Free text as a citizen or an operator wrote it.

    Returns
    -------
    list of Found
        ID numbers first claim their span (an 18-digit ID contains 11-digit runs that
        would otherwise read as a phone number), then phones, then names.
    """
    found: list[Found] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def add(kind: str, m: re.Match[str], group: int = 0) -> None:
        start, end = m.span(group)
        if free(start, end):
            taken.append((start, end))
            found.append(Found(kind, start, end, m.group(group)))

    for m in _ID_CANDIDATE.finditer(text):
        if is_valid_id(m.group(1)):
            add("id_card", m, 1)
    for m in _MOBILE.finditer(text):
        add("mobile", m)
    for m in _LANDLINE.finditer(text):
        add("landline", m)
    for m in _NAME_AFTER.finditer(text):
        add("name", m, 1)
    for m in _NAME_TITLE.finditer(text):
        add("name", m, 1)
    return sorted(found, key=lambda f: f.start)


def scrub(text: str) -> str:
    """Return ``text`` with every piece of personal data replaced by its :data:`TOKENS`.

    Repeated until nothing more is found: removing one number can free a neighbour that
    was glued to it (``…002X13812345678``).
    """
    for _ in range(5):
        cleaner = _scrub_once(text)
        if cleaner == text:
            break
        text = cleaner
    return text


def _scrub_once(text: str) -> str:
    out: list[str] = []
    at = 0
    for f in find(text):
        out.append(text[at : f.start])
        out.append(TOKENS[f.kind])
        at = f.end
    out.append(text[at:])
    return "".join(out)


def digits(phone: str) -> str:
    """Return a phone number's digits without the +86 country code."""
    d = re.sub(r"\D", "", phone)
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
    return hmac.new(secret, digits(phone).encode(), hashlib.sha256).hexdigest()
