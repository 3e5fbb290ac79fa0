"""Roles × pages × callbacks: a scoped user learns nothing about units outside their scope.

For each scoped role (district, street, community, grid) we pick units outside the scope: a
sibling at the same level, the parent (the user's own ancestor), a unit of another district
and the city. For each we request every page (the Flask GET and the Dash routing callback),
every export and every server-side Dash callback, with the other unit named wherever a
browser could name it (path, query, ``?unit=``, context stores, map click ``customdata``).
The callback inputs are what an admin's page of that unit really holds, so the crafted
requests are the ones a curious user would replay.

Every answer must be a refusal (401/403/204/4xx) or an empty state, and in every case its
body must hold none of the other unit's *forbidden tokens*: its id, Chinese and English
names, centre coordinates and distinctive counts (FixMyStreet's ``content_lacks``).

What "distinctive" means, so that the check can neither pass vacuously nor flag noise:

* ids match on digit boundaries (the district ``440304`` is a prefix of every street id
  under it, which the street user legitimately sees);
* a name that is part of an in-scope unit's name is not forbidden (the grid "宝贝社区第1网格"
  contains its community's name "宝贝社区");
* coordinates (truncated and rounded to 4 decimals) and counts (the unit's ``requests`` and
  ``open`` for the period, when ≥ 100, as ``1234`` and ``1,234``, not glued to ASCII letters
  or digits as in a hash) are forbidden unless the role's own pages already show that
  string: a map of the user's own area carries thousands of numbers, and a coincidence there
  is not a leak.

Positive controls: the same user's own unit answers 200 with its name, and an admin's (and a
city leader's) answers for the other units do contain their tokens, so a refusal of
everything cannot pass the matrix.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import dash
import pytest

from dashboard import access, data, wall
from pipelines import audit
from pipelines.settings import Settings
from tests.signin import COMMUNITY, DISTRICT, GRID, STREET, sign_in

PERIOD = "last365"
#: The views of a unit page (``overview`` is the bare path).
VIEWS = ("overview", "worry", "backlog", "sla", "ranking", "components")
SCOPE = {"district": DISTRICT, "street": STREET, "community": COMMUNITY, "grid": GRID}
#: The routing callback of Dash pages (its output key in ``/_dash-dependencies``).
ROUTER = ".._pages_content.children..._pages_store.data.."
#: Counts below this are too common to be anyone's fingerprint.
DISTINCTIVE_COUNT = 100


# ---------------------------------------------------------------------------------------------
# crafting requests


def _post_callback(client: Any, dep: dict[str, Any], values: dict[tuple[str, str], Any]) -> Any:
    """POST the body Dash's renderer sends for callback ``dep`` with input/state ``values``."""
    output = dep["output"]
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = []
    for part in parts:
        cid, _, prop = part.rpartition(".")
        outputs.append({"id": cid, "property": prop.partition("@")[0]})

    def spec(item: dict[str, Any]) -> dict[str, Any]:
        key = (item["id"], item["property"])
        return {"id": item["id"], "property": item["property"], "value": values.get(key)}

    inputs = [spec(i) for i in dep["inputs"]]
    body = {
        "output": output,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": [spec(s) for s in dep.get("state", [])],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
    }
    _reset_limits(client)
    return client.post("/_dash-update-component", json=body)


def _reset_limits(client: Any) -> None:
    # The matrix fires hundreds of requests a second; the limits are tested in test_hardening.
    (limiter,) = client.application.extensions["limiter"]
    limiter.reset()


def _route(client: Any, path: str) -> Any:
    """Render ``path`` through the Dash pages router, as the browser does after a load."""
    pathname, _, search = path.partition("?")
    values = {
        ("_pages_location", "pathname"): pathname,
        ("_pages_location", "search"): f"?{search}" if search else "",
    }
    return _post_callback(client, _ROUTER_DEP, values)


_ROUTER_DEP: dict[str, Any] = {}


def _get(client: Any, path: str, html: bool = True) -> Any:
    _reset_limits(client)
    headers = {"Accept": "text/html,application/xhtml+xml"} if html else {}
    return client.get(path, headers=headers)


def _props(tree: Any, into: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Collect ``{component id: props}`` from a rendered Dash JSON tree."""
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and isinstance(props.get("id"), str):
            into.setdefault(props["id"], {}).update(props)
        for value in tree.values():
            _props(value, into)
    elif isinstance(tree, list):
        for value in tree:
            _props(value, into)
    return into


def _renamed(
    values: dict[tuple[str, str], Any], unit_id: str, fake: str
) -> dict[tuple[str, str], Any]:
    """``values`` with every mention of ``unit_id`` replaced by ``fake``."""
    return {
        key: json.loads(json.dumps(value).replace(unit_id, fake)) for key, value in values.items()
    }


def _first_customdata(figure: Any) -> Any:
    for trace in (figure or {}).get("data", []):
        custom = trace.get("customdata")
        if isinstance(custom, list) and custom:
            return custom[0]
    return None


# ---------------------------------------------------------------------------------------------
# forbidden tokens


_SOCIAL_URL = re.compile(r'<meta property="(?:og|twitter):url" content="[^"]*">')


def _haystack(response: Any) -> str:
    """The body as text, with JSON ``\\u`` escapes and URL escapes undone."""
    raw = response.get_data()
    # Dash's index page repeats the requested URL in its social-card meta tags: an echo
    # of what the browser asked, the same for any path, so not an answer about a unit.
    text = _SOCIAL_URL.sub("", raw.decode("utf-8", errors="replace"))
    parts = [text, unquote(text)]
    try:
        parts.append(json.dumps(json.loads(text), ensure_ascii=False))
    except ValueError:
        pass
    return "\n".join(parts)


def _number_pattern(n: int) -> str:
    """A count as a person would read it: not glued to digits, ASCII letters or ``_``.

    Pages carry opaque tokens (asset hashes, Dash's per-process ids such as
    ``…fb2ee9b075fcb9…``) whose digit runs would otherwise match any three-digit count by
    chance, a different one on every run. Chinese text may touch the number ("共134件").
    """
    plain, grouped = str(n), f"{n:,}"
    edge = "0-9A-Za-z_"
    return rf"(?<![{edge}.,])(?:{plain}|{re.escape(grouped)})(?![{edge}]|[.,]\d)"


def _coord_tokens(value: float) -> set[str]:
    truncated = f"{value:.10f}"
    truncated = truncated[: truncated.index(".") + 5]
    return {truncated, f"{value:.4f}"}


@dataclass(frozen=True)
class Target:
    """A unit outside a role's scope and what must never be seen of it."""

    unit: data.Unit
    relation: str
    #: ``(what, regex)``: what the token is (for the message), and how to find it.
    tokens: tuple[tuple[str, str], ...]

    def leaks(self, text: str, baseline: str) -> list[str]:
        """Return the tokens of this unit found in ``text`` (coincidences excluded)."""
        found = []
        for what, pattern in self.tokens:
            if re.search(pattern, text) is None:
                continue
            if what.startswith(("coord", "count")) and re.search(pattern, baseline):
                continue
            found.append(f"{what} {pattern!r}")
        return found


def _target(u: data.Unit, relation: str, in_scope_names: list[str]) -> Target:
    tokens: list[tuple[str, str]] = [("id", rf"(?<!\d){re.escape(u.unit_id)}(?!\d)")]
    for name in (u.name_zh, u.name_en):
        if name and not any(name in mine for mine in in_scope_names):
            tokens.append(("name", rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z0-9])"))
    for coord in (u.center_lng, u.center_lat):
        tokens += [("coord", re.escape(tok)) for tok in sorted(_coord_tokens(coord))]
    kpis = data.unit_kpis(u, PERIOD) or {}
    for key in ("requests", "open"):
        n = kpis.get(key)
        if isinstance(n, int) and n >= DISTINCTIVE_COUNT:
            tokens.append((f"count {key}", _number_pattern(n)))
    return Target(u, relation, tuple(tokens))


def _others(role: str) -> list[tuple[data.Unit, str]]:
    """Units outside ``role``'s scope: a sibling, the parent, another branch, the city."""
    own = data.unit(SCOPE[role])
    assert own is not None and own.parent_id is not None
    parent = data.unit(own.parent_id)
    assert parent is not None
    sibling = next(k for k in data.children(parent) if k.unit_id != own.unit_id)
    city = data.city()
    picked = [(sibling, "sibling"), (city, "city")]
    if parent.unit_id != city.unit_id:
        picked.append((parent, "parent"))
    # The same level in another district (the busiest other district's first descendant).
    district = next(k for k in data.children(city) if k.unit_id != DISTRICT)
    far = district
    while far.level != own.level:
        far = data.children(far)[0]
    if far.unit_id != sibling.unit_id:
        picked.append((far, "other district"))
    return picked


def _in_scope_names(role: str) -> list[str]:
    own = data.unit(SCOPE[role])
    assert own is not None
    names, stack = [], [own]
    while stack:
        u = stack.pop()
        names += [u.name_zh, u.name_en]
        stack.extend(data.children(u))
    return names


# ---------------------------------------------------------------------------------------------
# the paths and callbacks of a unit


def _page_paths(u: data.Unit) -> list[str]:
    q = f"period={PERIOD}"
    if u.level == "city":
        paths = ["/", f"/?{q}&view=ranking", "/wall", f"/city/{u.unit_id}?{q}"]
    else:
        paths = [
            f"/{u.level}/{u.unit_id}?{q}" + ("" if v == "overview" else f"&view={v}") for v in VIEWS
        ]
        paths += [
            f"/wall/{u.level}/{u.unit_id}?{q}",
            f"/wall/{u.level}/{u.unit_id}?layout=2x2&tile=2",
        ]
    paths.append(f"/grid/{u.unit_id}?{q}")
    return paths


def _export_paths(u: data.Unit) -> list[str]:
    q = f"unit={u.unit_id}&period={PERIOD}"
    return [
        f"/export/requests.csv?{q}",
        f"/export/requests.parquet?{q}",
        f"/export/cells.csv?{q}",
        f"/export/units.csv?{q}",
        f"/export/requests.csv?unit={u.unit_id}&period=any&status=open",
    ]


class World:
    """Per-session state shared by the matrix: clients, dependencies, contexts, baselines."""

    def __init__(self, app: dash.Dash, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._clients: dict[str, Any] = {}
        self.deps: list[dict[str, Any]] = self.client("admin").get("/_dash-dependencies").get_json()
        router = next(d for d in self.deps if d["output"] == ROUTER)
        _ROUTER_DEP.clear()
        _ROUTER_DEP.update(router)
        self._contexts: dict[str, dict[tuple[str, str], Any]] = {}
        self._baselines: dict[str, str] = {}

    def client(self, user: str) -> Any:
        if user not in self._clients:
            self._clients[user] = sign_in(self.app.server.test_client(), self.settings, user)
        return self._clients[user]

    @property
    def server_callbacks(self) -> list[dict[str, Any]]:
        """Callbacks the server runs (clientside ones never reach it), the router aside."""
        return [d for d in self.deps if not d.get("clientside_function") and d["output"] != ROUTER]

    def context(self, u: data.Unit) -> dict[tuple[str, str], Any]:
        """Every input/state value the callbacks of ``u``'s pages can be sent, as an admin's
        browser holds them (plus clicks and ticks crafted from the rendered figures)."""
        if u.unit_id in self._contexts:
            return self._contexts[u.unit_id]
        admin = self.client("admin")
        props: dict[str, dict[str, Any]] = {}
        for path in _page_paths(u):
            response = _route(admin, path)
            assert response.status_code == 200, (path, response.status_code)
            _props(response.get_json(), props)
        values: dict[tuple[str, str], Any] = {}
        for cid, p in props.items():
            for prop, value in p.items():
                values[(cid, prop)] = value
        path = _page_paths(u)[0]
        pathname, _, search = path.partition("?")
        values[("url", "pathname")] = pathname
        values[("url", "search")] = f"?{search}"
        for graph in ("cockpit-map", "worry-map", "backlog-map", "wall-map"):
            custom = _first_customdata(props.get(graph, {}).get("figure"))
            if custom is None and graph == "cockpit-map":
                custom = [u.unit_id, u.name_zh, _page_paths(u)[0].partition("?")[0]]
            values[(graph, "clickData")] = {"points": [{"customdata": custom}]}
        values[("wall-clock", "data")] = {"now": int(time.time() * 1000), "w": 1920, "h": 1080}
        # A wall context names the unit even when no admin page of it was rendered.
        values.setdefault(
            ("wall-context", "data"),
            wall.parse_query(u.level, u.unit_id, {"period": PERIOD}).context(),
        )
        values[("wall-shown", "data")] = None
        for interval in ("worry-tick", "backlog-tick", "wall-tick"):
            values[(interval, "n_intervals")] = 1
        for button in ("worry-play", "backlog-play"):
            values[(button, "n_clicks")] = 1
        for control, value in (
            ("cockpit-period", "last7"),
            ("cockpit-lang", "en"),
            ("ranking-metric", "requests"),
            ("ranking-snapshot", "live"),
        ):
            values.setdefault((control, "value"), value)
        for slider in ("worry-slider", "backlog-slider"):
            values[(slider, "value")] = 1
        self._contexts[u.unit_id] = values
        return values

    def context_as(self, user: str, u: data.Unit) -> dict[tuple[str, str], Any]:
        """Like :meth:`context`, rendered by ``user`` (their own unit's page)."""
        props: dict[str, dict[str, Any]] = {}
        wall_page = f"/wall/{u.level}/{u.unit_id}?period={PERIOD}"
        _props(_route(self.client(user), wall_page).get_json(), props)
        values = dict(self.context_for_clicks(u))
        for cid, p in props.items():
            for prop, value in p.items():
                values[(cid, prop)] = value
        return values

    def context_for_clicks(self, u: data.Unit) -> dict[tuple[str, str], Any]:
        """The crafted inputs (ticks, clicks, clock) of :meth:`context`, without page props."""
        return {
            ("wall-clock", "data"): {"now": int(time.time() * 1000), "w": 1920, "h": 1080},
            ("wall-shown", "data"): None,
        }

    def baseline(self, role: str) -> str:
        """What the role's own pages legitimately show (for the coincidence rule)."""
        if role not in self._baselines:
            own = data.unit(SCOPE[role])
            assert own is not None
            client = self.client(role)
            texts = [_haystack(_route(client, p)) for p in _page_paths(own)]
            texts += [_haystack(_route(client, p)) for p in ("/", "/wall")]
            self._baselines[role] = "\n".join(texts)
        return self._baselines[role]


@pytest.fixture(scope="module")
def world(app: dash.Dash, built_city: Settings) -> Iterator[World]:
    data.configure(built_city)
    yield World(app, built_city)
    data.configure(built_city)


def _cases() -> list[Any]:
    relations = ("sibling", "parent", "other district", "city")
    return [
        pytest.param(role, relation, id=f"{role}-{relation.replace(' ', '_')}")
        for role in SCOPE
        for relation in relations
        # A district's parent is the city, and its sibling is already another district.
        if not (role == "district" and relation in ("parent", "other district"))
    ]


def _pick(role: str, relation: str) -> Target:
    with access.acting_as(access.SYSTEM):
        for u, rel in _others(role):
            if rel == relation:
                return _target(u, rel, _in_scope_names(role))
    pytest.skip(f"no {relation} unit for {role} in this city")


def _check(target: Target, response: Any, baseline: str, what: str, again: Any = None) -> list[str]:
    """Problems with one answer about ``target``.

    ``again(fake_id)`` repeats the request naming a unit id that exists nowhere. When the
    only token found is the id the request itself carried, and the answer for the fake id
    is the same answer (the fake id in its place), the id is an echo of the request: the
    answer says nothing about the unit, not even that it exists. Echoes are reported by
    :func:`test_out_of_scope_pages_do_not_echo_the_unit_id` instead.
    """
    problems = []
    if response.status_code >= 500:
        problems.append(f"{what}: {response.status_code}")
    text = _haystack(response)
    leaked = target.leaks(text, baseline)
    if leaked and again is not None and all(x.startswith("id ") for x in leaked):
        fake = "9" * len(target.unit.unit_id)
        echo = _haystack(again(fake)).replace(fake, target.unit.unit_id)
        if _stable(echo) == _stable(text):
            return problems
    if leaked:
        problems.append(f"{what} ({response.status_code}) shows {', '.join(leaked)}")
    return problems


def _stable(text: str) -> str:
    """The text without what differs between two renders (clock times)."""
    return re.sub(r"\b\d{1,2}:\d{2}(:\d{2})?\b", "", text)


# ---------------------------------------------------------------------------------------------
# the matrix


@pytest.mark.parametrize(("role", "relation"), _cases())
def test_pages_of_a_unit_outside_the_scope_show_nothing_of_it(world, role, relation):
    target = _pick(role, relation)
    client, baseline = world.client(role), world.baseline(role)
    problems: list[str] = []
    uid = target.unit.unit_id
    for path in _page_paths(target.unit):
        problems += _check(
            target,
            _get(client, path),
            baseline,
            f"GET {path}",
            lambda fake, p=path: _get(client, p.replace(uid, fake)),
        )
        problems += _check(
            target,
            _route(client, path),
            baseline,
            f"route {path}",
            lambda fake, p=path: _route(client, p.replace(uid, fake)),
        )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("role", "relation"), _cases())
def test_callbacks_naming_a_unit_outside_the_scope_answer_nothing_of_it(world, role, relation):
    target = _pick(role, relation)
    client, baseline = world.client(role), world.baseline(role)
    values = world.context(target.unit)
    problems: list[str] = []
    called = 0
    for dep in world.server_callbacks:
        response = _post_callback(client, dep, values)
        called += 1
        problems += _check(
            target,
            response,
            baseline,
            f"callback {dep['output']}",
            lambda fake, d=dep: _post_callback(
                client, d, _renamed(values, target.unit.unit_id, fake)
            ),
        )
    assert called >= 8, "the app's server callbacks were not all found"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("role", "relation"), _cases())
def test_exports_of_a_unit_outside_the_scope_are_refused(world, role, relation):
    target = _pick(role, relation)
    client, baseline = world.client(role), world.baseline(role)
    problems: list[str] = []
    for path in _export_paths(target.unit):
        response = _get(client, path, html=False)
        if not 400 <= response.status_code < 500:
            problems.append(f"GET {path}: {response.status_code}, expected a refusal")
        problems += _check(target, response, baseline, f"GET {path}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# positive controls: the matrix cannot pass by refusing everything


@pytest.mark.parametrize("role", list(SCOPE))
def test_a_scoped_user_sees_their_own_unit_by_name(world, role):
    own = data.unit(SCOPE[role])
    assert own is not None
    client = world.client(role)
    for path in _page_paths(own):
        response = _route(client, path)
        assert response.status_code == 200, path
        # A wall tile's first render is a shell; its refresh (below) brings the data.
        if "tile=" not in path:
            assert own.name_zh in _haystack(response), path
    values = world.context_as(role, own)
    refresh = next(d for d in world.server_callbacks if d["output"].startswith("..wall-body."))
    answer = _post_callback(client, refresh, values)
    assert answer.status_code == 200
    shown = answer.get_json()["response"]["wall-shown"]["data"]
    # The refresh serves the user's own unit, not the "unknown unit" frame.
    assert f"|{own.unit_id}|" in shown and "|unknown|" not in shown
    home = _route(client, "/")
    assert own.name_zh in _haystack(home)
    export = _get(client, f"/export/requests.csv?unit={own.unit_id}&period={PERIOD}", html=False)
    assert export.status_code == 200
    assert int(export.headers["X-Export-Rows"]) >= 0


@pytest.mark.parametrize("user", ["admin", "leader"])
@pytest.mark.parametrize(("role", "relation"), _cases())
def test_a_city_wide_user_sees_the_units_the_matrix_hides(world, user, role, relation):
    target = _pick(role, relation)
    client = world.client(user)
    path = _page_paths(target.unit)[0]
    text = _haystack(_route(client, path))
    # The tokens the matrix looks for are really in a legitimate answer: id and names.
    assert target.unit.name_zh in text
    assert re.search(target.tokens[0][1], text), f"{target.unit.unit_id} not on {path}"


@pytest.mark.parametrize(("role", "relation"), _cases())
def test_the_crafted_callbacks_answer_a_city_wide_user_with_data(world, role, relation):
    """The same crafted bodies are real requests: as the admin, they return the unit's data."""
    target = _pick(role, relation)
    values = world.context(target.unit)
    admin = world.client("admin")
    answered = [
        dep["output"]
        for dep in world.server_callbacks
        if _post_callback(admin, dep, values).status_code == 200
    ]
    assert len(answered) >= 4, answered


# ---------------------------------------------------------------------------------------------
# role permissions


@pytest.mark.parametrize("user", ["leader", "district", "street", "community", "grid"])
def test_the_quality_page_is_refused_to_roles_without_it(world, user):
    client = world.client(user)
    response = _route(client, "/quality")
    text = _haystack(response)
    assert response.status_code in (200, 403)
    # The refusal is the page's empty state: none of the report's tables or file names.
    assert "yw-empty" in text or response.status_code == 403
    assert "quarantine.parquet" not in text
    assert "yw-quality-table" not in text


@pytest.mark.parametrize("user", ["admin", "analyst"])
def test_the_quality_page_opens_for_admin_and_analyst(world, user):
    response = _route(world.client(user), "/quality")
    assert response.status_code == 200
    assert "quarantine.parquet" in _haystack(response)


def test_an_admin_export_leaves_one_verifiable_audit_record(world):
    log = world.settings.security_directory / "audit.jsonl"
    before = log.read_text().count("\n") if log.exists() else 0
    city = data.city()
    response = _get(
        world.client("admin"), f"/export/units.csv?unit={city.unit_id}&period={PERIOD}", html=False
    )
    assert response.status_code == 200
    records = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    exports = [r for r in records if r.get("event") == "export"]
    assert len(exports) == 1
    assert exports[0]["unit"] == city.unit_id and exports[0]["actor"] == "admin"
    assert audit.verify(log).ok


def test_a_refused_export_writes_no_export_record(world):
    log = world.settings.security_directory / "audit.jsonl"
    before = log.read_text().count("\n") if log.exists() else 0
    response = _get(
        world.client("street"), f"/export/requests.csv?unit={DISTRICT}&period={PERIOD}", html=False
    )
    assert response.status_code == 400
    after = log.read_text().splitlines()[before:] if log.exists() else []
    assert not [line for line in after if '"export"' in line]


# ---------------------------------------------------------------------------------------------
# echoes: not a leak of data, but the contract is that no out-of-scope id is echoed


@pytest.mark.parametrize("role", list(SCOPE))
def test_out_of_scope_pages_do_not_echo_the_unit_id(world, role):
    target = _pick(role, "sibling")
    client = world.client(role)
    pattern = target.tokens[0][1]
    echoed = [
        path
        for path in _page_paths(target.unit)
        if re.search(pattern, _haystack(_route(client, path)))
    ]
    assert echoed == []


# ---------------------------------------------------------------------------------------------
# contact details: masked for most, hidden from analysts, revealed only in scope

MASKED_PHONE = re.compile(r"(?<!\d)1\d{2}\*{4}\d{4}(?!\d)")


def _requests_csv(world: World, user: str, unit_id: str) -> str:
    response = _get(
        world.client(user), f"/export/requests.csv?unit={unit_id}&period={PERIOD}", html=False
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_analyst_export_has_no_contact_columns_or_masked_phones(world):
    city = data.city()
    admin = _requests_csv(world, "admin", city.unit_id)
    if not MASKED_PHONE.search(admin):
        pytest.skip("the demo city's requests carry no masked phones to hide")
    assert "contact_phone_masked" in admin.partition("\n")[0]
    analyst = _requests_csv(world, "analyst", city.unit_id)
    header = analyst.partition("\n")[0]
    assert "contact_phone_masked" not in header and "contact_name_masked" not in header
    assert "contact_phone_key" not in header
    assert MASKED_PHONE.search(analyst) is None
    # The same rows, only the columns differ.
    assert analyst.count("\n") == admin.count("\n")


def test_an_analyst_sees_no_masked_contact_on_a_grid_worklist(world):
    # the grids with the most open requests: their worklists show masked contacts to admins
    grids = data.peer_metrics("grid", None, PERIOD).sort_values("open", ascending=False)
    path = ""
    for grid_id in grids["unit_id"].head(5):
        candidate = f"/grid/{grid_id}?period={PERIOD}"
        if MASKED_PHONE.search(_haystack(_route(world.client("admin"), candidate))):
            path = candidate
            break
    if not path:
        pytest.skip("no busy grid's worklist shows a masked phone to hide")
    analyst = _route(world.client("analyst"), path)
    assert analyst.status_code == 200
    assert MASKED_PHONE.search(_haystack(analyst)) is None


def _a_request_of(world: World, unit_id: str) -> str:
    response = _get(world.client("admin"), f"/export/requests.csv?unit={unit_id}&period=any")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    if not rows:
        pytest.skip(f"no request in {unit_id}")
    return rows[0]["request_id"]


@pytest.mark.parametrize("role", ["community", "grid"])
def test_a_contact_outside_the_scope_is_never_revealed(world, role):
    """The two roles that may unmask, asking for a request of a sibling unit."""
    if "contact_reveal" not in world.app.server.view_functions:
        pytest.skip("the contact reveal route is not in this app")
    target = _pick(role, "sibling")
    request_id = _a_request_of(world, target.unit.unit_id)
    client = world.client(role)
    for unit_id in (target.unit.unit_id, SCOPE[role]):
        _reset_limits(client)
        response = client.post(f"/contact/{request_id}", json={"unit": unit_id})
        assert response.status_code in (403, 404), unit_id
        text = _haystack(response)
        assert re.search(r"(?<!\d)1\d{10}(?!\d)", text) is None
        assert not target.leaks(text, world.baseline(role))
