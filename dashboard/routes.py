"""URLs are the drill state: ``/``, ``/district/<id>``, ``/street/<id>``, ``/community/<id>``.

Pure helpers that build and parse them, shared by links, breadcrumbs and callbacks, so the
query string (``?period=...&lang=...``) survives every navigation.
"""

from __future__ import annotations

from typing import Literal, TypeAlias
from urllib.parse import parse_qsl, urlencode

Level: TypeAlias = Literal["city", "district", "street", "community", "grid"]

#: Cockpit levels in drill order; grids are shown on the community page but have no page.
PAGE_LEVELS: tuple[Level, ...] = ("city", "district", "street", "community")
CHILD_LEVEL: dict[Level, Level] = {
    "city": "district",
    "district": "street",
    "street": "community",
    "community": "grid",
}
#: Query keys the app owns; anything else in a pasted URL is dropped when we rebuild it.
STATE_KEYS = ("period", "lang")


def page_path(level: Level, unit_id: str | None = None) -> str | None:
    """Return the page path of a unit, or ``None`` for levels without a page (grids)."""
    if level == "city":
        return "/"
    if level in PAGE_LEVELS and unit_id:
        return f"/{level}/{unit_id}"
    return None


def parse_search(search: str | None) -> dict[str, str]:
    """Return the app's state keys from a ``?a=b`` query string (unknown keys dropped)."""
    pairs = parse_qsl((search or "").lstrip("?"), keep_blank_values=False)
    return {k: v for k, v in pairs if k in STATE_KEYS}


def with_query(path: str, *, period: str | None = None, lang: str | None = None) -> str:
    """Append the state query string to ``path`` (keys with ``None`` values left out)."""
    query = {k: v for k, v in (("period", period), ("lang", lang)) if v}
    return f"{path}?{urlencode(query)}" if query else path


def href(level: Level, unit_id: str | None, *, period: str | None, lang: str | None) -> str | None:
    """Link to a unit's cockpit keeping period and language; ``None`` if it has no page."""
    path = page_path(level, unit_id)
    return None if path is None else with_query(path, period=period, lang=lang)


def update_search(
    pathname: str | None,
    search: str | None,
    **changes: str,
) -> str:
    """Return ``pathname`` with its state query updated by ``changes`` (an href)."""
    state = parse_search(search)
    state.update(changes)
    return with_query(pathname or "/", period=state.get("period"), lang=state.get("lang"))
