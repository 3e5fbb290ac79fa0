"""One string catalogue per language and the lookup ``t``.

A language's catalogue is ``<lang>.json`` plus one fragment per feature,
``<lang>.<feature>.json`` (``zh.wall.json``, ``en.wall.json`` …), merged at start-up; a key
defined twice is an error. Every visible label comes from here, so the two catalogues must
have identical keys (``tests/dashboard/test_i18n.py`` checks it). Simplified Chinese is the
default.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal, TypeAlias

Lang: TypeAlias = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"

_DIR = Path(__file__).resolve().parent
_default: list[Lang] = [DEFAULT_LANG]


def set_default_lang(lang: str) -> None:
    """Set the language used when a URL names none (``Settings.language``; app start-up)."""
    _default[0] = resolve_lang(lang, DEFAULT_LANG)


def default_lang() -> Lang:
    """Return the language used when a URL names none."""
    return _default[0]


@cache
def catalogue(lang: Lang) -> dict[str, str]:
    """Return the whole catalogue of ``lang`` (read once per process).

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    dict of str to str
    """
    merged: dict[str, str] = {}
    for path in [_DIR / f"{lang}.json", *sorted(_DIR.glob(f"{lang}.*.json"))]:
        entries = json.loads(path.read_text(encoding="utf-8"))
        twice = sorted(set(entries) & set(merged))
        if twice:
            raise ValueError(f"{path.name} redefines catalogue keys {twice}")
        merged.update(entries)
    return merged


def resolve_lang(value: object, default: Lang | None = None) -> Lang:
    """Map a query-string value to a supported language, else ``default`` (app default)."""
    if value == "en":
        return "en"
    if value == "zh":
        return "zh"
    return default if default is not None else _default[0]


def t(key: str, lang: Lang, **values: object) -> str:
    """Translate ``key`` into ``lang``, filling ``{name}`` placeholders from ``values``.

    Parameters
    ----------
    key
        Catalogue key such as ``"kpi.requests"``.
    lang
        Target language.
    **values
        Placeholder values; formatted with :meth:`str.format`.

    Returns
    -------
    str
        The translated text. A missing key raises ``KeyError`` so that typos fail tests
        instead of showing raw keys on a wall screen.
    """
    text = catalogue(lang)[key]
    return text.format(**values) if values else text
