"""URLs are the drill state: ``/`` for the city, ``/<level>/<unit_id>`` for any unit.

Pure helpers that build and parse them, shared by links, breadcrumbs and callbacks, so the
query string (``?period=...&lang=...&by=...``) survives every navigation. Level names come
from the warehouse (``district``, ``street`` … for the demo; ``region``, ``nc``,
``council_district`` for Los Angeles); a URL naming an unknown level renders a friendly
empty state, never an error.
"""

from __future__ import annotations

import re
from typing import TypeAlias
from urllib.parse import parse_qsl, quote, urlencode

Level: TypeAlias = str

#: Query keys the app owns; anything else in a pasted URL is dropped when we rebuild it.
#: ``by`` is the hierarchy the city page drills by (e.g. LA's council districts); ``view``
#: picks the overview, the worry view, the SLA view or the ranking view of a unit; ``metric`` and
#: ``snapshot`` are the ranking view's metric and published snapshot; ``layout``, ``tile`` and
#: ``tour`` are the wall's screen arrangement, its quadrant of a 2×2 video wall and tour seconds.
STATE_KEYS = (
    "period",
    "lang",
    "by",
    "view",
    "metric",
    "snapshot",
    "kind",
    "layout",
    "tile",
    "tour",
)
#: The views of a unit page (the overview has no ``view`` key); ``kind`` is the component
#: type the components view shows.
VIEWS = ("overview", "worry", "backlog", "sla", "ranking", "components")
#: Paths under this prefix show the grid chief's view when no ``view`` is named
#: (``dashboard/pages/grid.py``); the cockpit overview there needs ``?view=overview``.
CHIEF_PREFIX = "/grid/"
#: Level names as the spec allows them: they are path segments, so nothing else gets in.
_LEVEL_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def page_path(level: Level, unit_id: str | None = None) -> str | None:
    """Return the page path of a unit (``None`` without an id or with an odd level name)."""
    if level == "city":
        return "/"
    if unit_id and _LEVEL_NAME.match(level):
        return f"/{level}/{quote(unit_id, safe='')}"
    return None


def parse_search(search: str | None) -> dict[str, str]:
    """Return the app's state keys from a ``?a=b`` query string (unknown keys dropped)."""
    pairs = parse_qsl((search or "").lstrip("?"), keep_blank_values=False)
    return {k: v for k, v in pairs if k in STATE_KEYS}


def with_query(path: str, **state: str | None) -> str:
    """Append the state query string to ``path`` (keys with ``None`` values left out).

    Only :data:`STATE_KEYS` are accepted, in their fixed order, so equal states give equal
    URLs; the overview (``view="overview"``) is the default and left out, except under
    :data:`CHIEF_PREFIX`, where the default is the grid chief's view.
    """
    unknown = set(state) - set(STATE_KEYS)
    if unknown:
        raise TypeError(f"unknown URL state keys {sorted(unknown)}")
    # On /grid/<id> the bare path is the grid chief's view, so the overview is spelled out.
    if state.get("view") == "overview" and not path.startswith(CHIEF_PREFIX):
        state["view"] = None
    query = {k: state[k] for k in STATE_KEYS if state.get(k)}
    return f"{path}?{urlencode(query)}" if query else path


def href(
    level: Level,
    unit_id: str | None,
    *,
    period: str | None,
    lang: str | None,
    by: str | None = None,
    view: str | None = None,
) -> str | None:
    """Link to a unit's cockpit keeping period and language; ``None`` if it has no page.

    ``by`` (the city's hierarchy) is kept on city links only: below the city a unit's own
    hierarchy is implied by its level. Cockpit links keep to the cockpit: a link to a grid
    names ``view=overview``, as ``/grid/<id>`` alone is the grid chief's view.
    """
    path = page_path(level, unit_id)
    if path is None:
        return None
    # a cockpit's link to a grid opens the grid's cockpit, not its chief's phone view
    view = view or "overview"
    return with_query(path, period=period, lang=lang, by=by if level == "city" else None, view=view)


def update_search(
    pathname: str | None,
    search: str | None,
    **changes: str | None,
) -> str:
    """Return ``pathname`` with its state query updated by ``changes`` (an href)."""
    state: dict[str, str | None] = dict(parse_search(search))
    state.update(changes)
    return with_query(pathname or "/", **state)
