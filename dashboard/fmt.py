"""Number and time formatting for labels: pure functions, "—" for missing values.

Large counts get thousands separators (``1,234``), shares are percentages with one decimal
(``95.3%``), the worry index one decimal. ``None``/NaN mean "not enough data" and render as an
em dash, never as ``nan`` or ``0``.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

NA = "—"


def is_missing(value: object) -> bool:
    """Return True for ``None``, NaN, NaT and ``pd.NA`` (how SQL NULL arrives from pandas)."""
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):  # list-likes are values, not missing
        return False


def fmt_int(value: object) -> str:
    """Format a count: ``1234`` → ``"1,234"``."""
    if is_missing(value):
        return NA
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def fmt_pct(value: object, digits: int = 1) -> str:
    """Format a 0–1 share as a percentage: ``0.9531`` → ``"95.3%"``."""
    if is_missing(value):
        return NA
    return f"{float(value) * 100:.{digits}f}%"  # type: ignore[arg-type]


def fmt_index(value: object) -> str:
    """Format a 0–100 index with one decimal: ``80.63`` → ``"80.6"``."""
    if is_missing(value):
        return NA
    return f"{float(value):.1f}"  # type: ignore[arg-type]


def fmt_number(value: object, digits: int = 1) -> str:
    """Format a rate such as requests per 10k people: ``41.407`` → ``"41.4"``."""
    if is_missing(value):
        return NA
    return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def fmt_day(value: object) -> str:
    """Format a date as ``MM-DD`` (a ticker's alert day); missing → ``"—"``."""
    if is_missing(value):
        return NA
    try:
        return pd.Timestamp(value).strftime("%m-%d")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return NA


def fmt_local_time(iso_text: str) -> str:
    """Format a naive city-local ISO timestamp as ``YYYY-MM-DD HH:MM``."""
    try:
        return datetime.fromisoformat(iso_text).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso_text or NA


def fmt_utc_as_local(iso_text: str, timezone: str) -> str:
    """Convert an aware UTC ISO timestamp to the city's zone: ``YYYY-MM-DD HH:MM``."""
    try:
        moment = datetime.fromisoformat(iso_text)
    except ValueError:
        return iso_text or NA
    try:
        moment = moment.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")


def fmt_metric(value: object, unit: str) -> str:
    """Format a registry metric by its unit (``pipelines/metrics.toml``).

    One place, so a tile, a table and a test compare the same text.
    """
    if unit == "share":
        return fmt_pct(value)
    if unit == "count":
        return fmt_int(value)
    if unit == "hours":
        return NA if is_missing(value) else f"{fmt_number(value)} h"
    if unit == "index":
        return fmt_index(value)
    return fmt_number(value)


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def text_lang(text: str) -> str:
    """Return the HTML ``lang`` of citizen text shown as typed (an address, a free note).

    Such text is not translated: a Chinese address stays Chinese on the English page. Its
    element carries its own language (``zh-CN`` when it has Chinese characters, else
    ``en``) so that screen readers, fonts and the language tests treat it as what it is.
    """
    return "zh-CN" if _CJK.search(text) else "en"


def plotly_text(value: object) -> str:
    """Return citizen or source text safe to put in a plotly label, hover or tick.

    plotly.js reads label text as pseudo-HTML (``<b>``, ``<br>``, ``<a href=…>``, ``<span
    style=…>``): an address typed as ``<a href="https://…">`` would become a link on the
    map. With ``<`` and ``>`` as entities no tag survives, and plotly draws the text as
    typed (it splits tags first, then decodes entities in the text between them, so ``&``
    needs no escaping and "Environment & water" stays as it is). Use it on every value that
    did not come from our own code or translations: unit, category and department names,
    addresses, owners.
    """
    text = NA if is_missing(value) else str(value)
    return text.replace("<", "&lt;").replace(">", "&gt;")
