"""What the dashboard benchmark and the load test share: a served cockpit and its callbacks.

- :func:`serve` runs ``yiwang serve`` on a free loopback port over a data folder with its own
  security folder (users, sessions, audit trail, key) and temp folder, so the data folder is
  only read;
- :func:`write_users` and :func:`sign_in`: users with one password, signed in through the
  real ``/login`` form (CSRF cookie and field, Argon2 check, session cookie);
- :func:`drill_path` picks the units from the warehouse: the busiest child of the busiest
  parent, level by level;
- :class:`Recorder` drives Chromium through the cockpits and keeps every
  ``/_dash-update-component`` request it makes, tagged with the level, view and action;
- :func:`fill` turns a recorded body into the one the browser would send on another page
  (another unit, period, month or cell), from the props of that page's render;
- :class:`Client` replays a body over HTTP with ``Accept-Encoding: gzip`` (a :class:`Reply`
  holds the status, sizes, latency and ``Server-Timing``), and :func:`is_error` is the one
  error rule of both reports.
"""

from __future__ import annotations

import copy
import gzip
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
#: Headless system Chromium without a GPU (MapLibre draws with SwiftShader's software WebGL).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UPDATE = "/_dash-update-component"
#: The Dash pages router's callback: renders a page from the URL.
ROUTER_ID = "_pages_location"
PASSWORD = "yiwang-demo"
#: Callback limits far above any benchmark's pace (the load test keeps the real ones).
NO_CALLBACK_LIMIT = "100000/second;10000000/minute"
COCKPIT_VIEWS = ("sla", "ranking", "worry", "backlog", "components")

#: A map is drawn when plotly handed it to MapLibre, ``assets/cockpit.js`` framed it
#: (``data-fitted``) and MapLibre finished loading its style and layers (the browser tests'
#: rule). Returns ``performance.now()`` then (ms since navigation start), else ``false``.
MAP_DRAWN = """sel => {
  const gd = document.querySelector(sel + ' .js-plotly-plot');
  const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  const ok = !!(sub && sub.map && gd.dataset.fitted && sub.map.loaded()
                && sub.map.isStyleLoaded());
  return ok ? performance.now() : false;
}"""
#: The grid chief's map is an SVG image drawn on the server.
IMAGE_DRAWN = """sel => {
  const img = document.querySelector(sel + ' img');
  return img && img.complete && img.naturalWidth > 0 ? performance.now() : false;
}"""
#: The screen position of the busiest cell of a map (centre of its ring) whose customdata
#: ends in a page path (a drill target), or of any cell with ``any``; null when none.
CELL_XY = """([sel, any]) => {
  const gd = document.querySelector(sel + ' .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  let best = null;
  for (const t of gd.data.filter(t => t.type === 'choroplethmap' && t.geojson)) {
    (t.customdata || []).forEach((row, i) => {
      const path = Array.isArray(row) ? row[row.length - 1] : row;
      const drills = typeof path === 'string' && path.startsWith('/');
      const n = Array.isArray(t.z) ? Number(t.z[i]) || 0 : 0;
      if ((any || drills) && (!best || n > best.n)) {
        best = {n, path: drills ? path : '', ring: t.geojson.features[i].geometry.coordinates[0]};
      }
    });
  }
  if (!best) return null;
  const pts = best.ring.slice(0, -1);
  const lng = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const lat = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const xy = map.project([lng, lat]);
  const box = map.getCanvas().getBoundingClientRect();
  return {x: box.left + xy.x, y: box.top + xy.y, path: best.path};
}"""


# ---------------------------------------------------------------------------------------------
# the server


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``yiwang serve``: base URL, process and log."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(urllib.parse.urlsplit(self.base).port or 80)

    def rss_mib(self) -> float:
        """The server process's resident memory now (``VmRSS``), in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        return int(kib.group(1)) / 1024 if kib else float("nan")


@contextmanager
def serve(
    data_dir: Path,
    work: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> Iterator[Server]:
    """Run ``yiwang serve`` over ``data_dir`` until the ``with`` block ends.

    Parameters
    ----------
    data_dir
        A data folder with a published warehouse; nothing is written there.
    work
        The run's own folder: ``security/`` (users, sessions, audit, key), ``tmp/`` and
        ``serve.log``. Write the users (:func:`write_users`) before starting.
    env
        Extra ``YIWANG_*`` settings for the server.
    timeout
        Seconds to wait for the sign-in page.
    """
    port = free_port()
    log = work / "serve.log"
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pipelines", "serve", "--data-dir", str(data_dir)]
    cmd += ["--port", str(port)]
    variables = {
        **os.environ,
        "YIWANG_SECURITY_DIR": str(work / "security"),
        "YIWANG_TEMP_DIR": str(work / "tmp"),
        **(env or {}),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=variables)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if http_get(base, "/login").status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"yiwang serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Server(base, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------------
# users and sign-in


def write_users(work: Path, plan: Iterable[tuple[str, str, str]]) -> Path:
    """Write ``work/security/users.toml``: one user per ``(name, role, scope)``.

    Every user's password is :data:`PASSWORD` (one Argon2 hash, computed once); a scope is
    one unit id or ``"*"``.
    """
    from dashboard import access, users

    hashed = users.hash_password(PASSWORD)
    table = {
        name: users.User(name, access.ROLES[role], frozenset({scope}), hashed)
        for name, role, scope in plan
    }
    path = work / "security" / "users.toml"
    users.write(path, table, header="benchmark users (benchmarks/dash_client.py)")
    return path


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            found[key.strip()] = rest.split(";", 1)[0]
    return found


def sign_in(base: str, user: str, password: str = PASSWORD) -> str:
    """Sign ``user`` in through the ``/login`` form; return the session cookie's value.

    Raises
    ------
    RuntimeError
        When the server does not answer with a session cookie.
    """
    from dashboard.auth import COOKIE, CSRF_COOKIE

    page = http_get(base, "/login")
    csrf = _cookies(page.headers)[CSRF_COOKIE]
    form = urllib.parse.urlencode({"csrf": csrf, "user": user, "password": password})
    host = urllib.parse.urlsplit(base).netloc
    conn = http.client.HTTPConnection(host, timeout=60)
    try:
        conn.request(
            "POST",
            "/login",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"{CSRF_COOKIE}={csrf}",
                "Origin": base,
            },
        )
        response = conn.getresponse()
        response.read()
        token = _cookies(response.getheaders()).get(COOKIE)
    finally:
        conn.close()
    if response.status != 303 or not token:
        raise RuntimeError(f"sign-in of {user!r} failed: HTTP {response.status}")
    return token


# ---------------------------------------------------------------------------------------------
# units


@dataclass(frozen=True)
class Units:
    """The units a run visits, picked from the warehouse."""

    #: level → unit id along the busiest drill path (the city: ``""``)
    path: dict[str, str]
    #: unit id → its children's ids (every unit above the leaf level), for random drills
    children: dict[str, list[str]]
    #: unit id → level
    level: dict[str, str]
    #: unit id → parent id
    parent: dict[str, str]
    #: the periods a user can pick (rolling windows and months)
    periods: list[str]

    def page(self, unit_id: str) -> str:
        """The cockpit path of a unit (``/`` for the city, grids by their overview)."""
        level = self.level.get(unit_id, "city")
        if level == "city":
            return "/"
        tail = "?view=overview" if not self.children.get(unit_id) else ""
        return f"/{level}/{unit_id}{tail}"


def drill_path(data_dir: Path, period: str = "last30") -> Units:
    """Read the units a run visits from the served warehouse (through the notebook API).

    ``path`` follows the first hierarchy down from the city, taking the child with the most
    requests in ``period`` at each level; ``children`` lists every unit's children.
    """
    from pipelines import api

    api.connect(data_dir)
    levels = api.levels().sort_values("depth")
    top = levels.loc[levels["depth"] == 1].iloc[0]
    chain = ["city"]
    while True:
        below = levels.loc[levels["parent_level"] == chain[-1]]
        if chain[-1] != "city":
            below = below.loc[below["hierarchy"] == top["hierarchy"]]
        if below.empty:
            break
        chain.append(str(below.iloc[0]["level"]))
    path = {"city": ""}
    children: dict[str, list[str]] = {}
    level_of: dict[str, str] = {"": "city"}
    parent_of: dict[str, str] = {}
    for depth, level in enumerate(chain[1:], start=1):
        frame = api.metrics(level, period, ["requests"])
        frame = frame.loc[frame["unit_id"] != "__unassigned__"]
        for unit_id, parent_id in zip(frame["unit_id"], frame["parent_id"], strict=True):
            parent = "" if depth == 1 or parent_id is None else str(parent_id)
            children.setdefault(parent, []).append(str(unit_id))
            level_of[str(unit_id)] = level
            parent_of[str(unit_id)] = parent
        mine = frame.loc[[parent_of[str(u)] == path[chain[depth - 1]] for u in frame["unit_id"]]]
        path[level] = str(mine.sort_values("requests", ascending=False).iloc[0]["unit_id"])
    periods = [str(p) for p in api.periods()["period_id"]]
    return Units(path, children, level_of, parent_of, periods)


# ---------------------------------------------------------------------------------------------
# HTTP


@dataclass
class Reply:
    """One HTTP answer as measured by the client."""

    status: int
    headers: list[tuple[str, str]]
    #: bytes of the body as sent (gzipped when the server compressed it)
    wire_bytes: int
    body: bytes
    latency_ms: float

    @property
    def server_ms(self) -> float | None:
        """The server's own time (``Server-Timing: app;dur=``)."""
        for name, value in self.headers:
            if name.lower() == "server-timing":
                return server_timing_ms(value)
        return None

    @property
    def encoding(self) -> str:
        """``Content-Encoding`` of the body (``""``: identity)."""
        for name, value in self.headers:
            if name.lower() == "content-encoding":
                return value
        return ""


def finish(report: dict[str, Any], out: Path, summary: Callable[[dict[str, Any]], str]) -> int:
    """Write ``report`` as JSON to ``out``, print its Markdown ``summary``; 1 on any error."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    sys.stdout.write(summary(report))
    sys.stdout.write(f"report: {out}\n")
    return 1 if report["errors"] else 0


def server_timing_ms(header: str | None) -> float | None:
    """The ``app`` duration of a ``Server-Timing`` header, in ms (``None`` if absent)."""
    found = re.search(r"(?:^|,)\s*app;dur=([\d.]+)", header or "")
    return float(found.group(1)) if found else None


def _request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: Mapping[str, str],
) -> Reply:
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=dict(headers))
    response = conn.getresponse()
    raw = response.read()
    latency = (time.perf_counter() - start) * 1000
    reply = Reply(response.status, response.getheaders(), len(raw), raw, latency)
    if reply.encoding == "gzip":
        reply.body = gzip.decompress(raw)
    return reply


def http_get(base: str, path: str, cookie: str | None = None) -> Reply:
    """GET ``path`` (gzip accepted) on a new connection."""
    from dashboard.auth import COOKIE

    headers = {"Accept-Encoding": "gzip", "Accept": "text/html"}
    if cookie:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc, timeout=60)
    try:
        return _request(conn, "GET", path, None, headers)
    finally:
        conn.close()


class Client:
    """A signed-in keep-alive HTTP connection that replays callback bodies."""

    def __init__(self, base: str, cookie: str) -> None:
        from dashboard.auth import COOKIE

        self.base = base
        self.cookie = f"{COOKIE}={cookie}"
        self._conn = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc, timeout=120)

    def post(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> Reply:
        """POST a callback body with the browser's headers, a session cookie and gzip."""
        sent = {**headers, "Cookie": self.cookie, "Accept-Encoding": "gzip"}
        data = json.dumps(body).encode()
        try:
            return _request(self._conn, "POST", UPDATE, data, sent)
        except (http.client.HTTPException, OSError):
            # the server closed the keep-alive connection: once more on a new one
            self._conn.close()
            self._conn = http.client.HTTPConnection(self._conn.host, self._conn.port, timeout=120)
            return _request(self._conn, "POST", UPDATE, data, sent)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def is_error(status: int, body: bytes, *, callback: bool = True) -> str | None:
    """Why an answer counts as an error (``None``: it does not).

    Any status outside 2xx/3xx (rate limits' 429 included: real users must never meet
    them); for a callback, a 200 whose body is not Dash's ``{"response": ...}`` JSON.
    """
    if not 200 <= status < 400:
        return f"HTTP {status}"
    if callback and status == 200:
        try:
            payload = json.loads(body)
        except ValueError:
            return "callback answer is not JSON"
        if not isinstance(payload, dict) or "response" not in payload:
            return "callback answer without a response"
    return None


# ---------------------------------------------------------------------------------------------
# recorded callbacks


def page_of(url: str) -> tuple[str, str]:
    """``(level, view)`` of a cockpit URL or path.

    Levels: ``city``, a unit level, ``grid_chief`` (``/grid/<id>`` without ``?view=``),
    ``wall``; views: ``overview`` and the ``?view=`` tabs (``-`` for the wall and the
    grid chief's view).
    """
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    view = urllib.parse.parse_qs(parts.query).get("view", [""])[0]
    if not segments:
        return "city", view or "overview"
    if segments[0] == "wall":
        return "wall", "-"
    if segments[0] == "grid" and not view:
        return "grid_chief", "-"
    if len(segments) == 2:
        return segments[0], view or "overview"
    return segments[0], "-"


def _items(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    raw = body.get(key) or []
    flat: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else [raw]:
        flat.extend(item if isinstance(item, list) else [item])
    return [i for i in flat if isinstance(i, dict)]


def router_path(body: Mapping[str, Any]) -> str | None:
    """The page path a router callback body renders (``None``: not the router)."""
    found = {
        i.get("property"): i.get("value")
        for i in _items(body, "inputs")
        if i.get("id") == ROUTER_ID
    }
    if "pathname" not in found:
        return None
    return f"{found['pathname']}{found.get('search') or ''}"


def callback_name(body: Mapping[str, Any]) -> str:
    """A callback's name: its outputs and what triggered it (``page`` for the router)."""
    if router_path(body) is not None:
        return "page"
    outputs = [
        f"{o.get('id')}.{str(o.get('property', '')).split('@')[0]}" for o in _items(body, "outputs")
    ]
    head = outputs[0] if outputs else str(body.get("output", "?"))
    if len(outputs) > 1:
        head += f" (+{len(outputs) - 1})"
    changed = [str(c) for c in body.get("changedPropIds") or []]
    return f"{head} ← {changed[0]}" if changed else head


@dataclass
class Call:
    """One ``/_dash-update-component`` request the browser made."""

    action: str
    page: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 0
    server_ms: float | None = None

    @property
    def level(self) -> str:
        """The level of the page the call renders or belongs to."""
        return page_of(self.page)[0]

    @property
    def view(self) -> str:
        """The view (tab) of that page."""
        return page_of(self.page)[1]

    @property
    def name(self) -> str:
        """The callback's name (:func:`callback_name`)."""
        return callback_name(self.body)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "action": self.action,
            "page": self.page,
            "level": self.level,
            "view": self.view,
            "callback": self.name,
            "status": self.status,
            "browser_server_ms": self.server_ms,
            "headers": self.headers,
            "body": self.body,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Call:
        """Inverse of :meth:`as_dict`."""
        return cls(
            d["action"], d["page"], d["body"], d["headers"], d["status"], d["browser_server_ms"]
        )


#: Request headers the replays do not copy: the client sets its own.
_DROP = {"cookie", "host", "content-length", "accept-encoding", "connection"}


class Recorder:
    """Chromium pages that keep every callback request, tagged with the current action.

    Use :meth:`open` for a fresh signed-in context, :meth:`act` around each user action;
    :attr:`calls` collects the requests (with status and the server's time as the browser
    saw it).
    """

    def __init__(self, browser: Any, base: str, cookie: str) -> None:
        self.browser = browser
        self.base = base
        self.cookie = cookie
        self.calls: list[Call] = []
        self.action = "load"
        self._open: dict[Any, Call] = {}
        self._last = time.monotonic()

    def open(self, *, width: int = 1920, height: int = 1080) -> Any:
        """A new page in a fresh context (no cache), signed in, recording."""
        from dashboard.auth import COOKIE

        context = self.browser.new_context(
            viewport={"width": width, "height": height}, locale="zh-CN"
        )
        context.add_cookies(
            [{"name": COOKIE, "value": self.cookie, "domain": "127.0.0.1", "path": "/"}]
        )
        page = context.new_page()
        page.on("request", lambda r: self._on_request(page, r))
        page.on("response", self._on_response)
        page.on("requestfinished", self._on_finished)
        page.on("requestfailed", self._on_finished)
        return page

    def _on_request(self, page: Any, request: Any) -> None:
        if urllib.parse.urlsplit(request.url).path != UPDATE:
            return
        self._last = time.monotonic()
        try:
            body = json.loads(request.post_data or "{}")
        except ValueError:
            body = {}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP}
        where = router_path(body) or page.url
        self._open[request] = Call(self.action, where, body, headers)

    def _on_response(self, response: Any) -> None:
        call = self._open.get(response.request)
        if call is not None:
            call.status = response.status
            call.server_ms = server_timing_ms(response.headers.get("server-timing"))

    def _on_finished(self, request: Any) -> None:
        call = self._open.pop(request, None)
        if call is None:
            return
        self._last = time.monotonic()
        self.calls.append(call)

    def settle(self, page: Any, *, quiet_ms: int = 600, timeout_s: float = 60) -> None:
        """Wait until no callback is in flight and none started for ``quiet_ms``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            page.wait_for_timeout(100)
            if not self._open and (time.monotonic() - self._last) * 1000 >= quiet_ms:
                return
        raise TimeoutError(f"callbacks still running after {timeout_s} s: {page.url}")

    @contextmanager
    def act(self, page: Any, action: str) -> Iterator[None]:
        """Tag the requests of the block with ``action``, then wait until they settle."""
        self.settle(page, quiet_ms=300)
        self.action = action
        yield
        self.settle(page)


def wait_drawn(page: Any, selector: str, *, image: bool = False, timeout_s: float = 90) -> float:
    """Wait until the map under ``selector`` is drawn; return ms since navigation start."""
    handle = page.wait_for_function(
        IMAGE_DRAWN if image else MAP_DRAWN, arg=selector, timeout=timeout_s * 1000, polling=50
    )
    return float(handle.json_value())


# ---------------------------------------------------------------------------------------------
# the user flows

#: The wall refreshes this often on a benchmark's server, so a recording sees refreshes.
WALL_REFRESH_S = 3
#: The map each cockpit view draws (the ranking view has a table instead).
VIEW_MAPS = {
    "overview": "#cockpit-map",
    "sla": "#cockpit-map",
    "components": "#cockpit-map",
    "worry": "#worry-map",
    "backlog": "#backlog-map",
}


def _pick_option(page: Any, control: str) -> None:
    """Open a dropdown and pick its first option that is not the one selected."""
    page.click(control)
    page.locator(".dash-dropdown-option[role=option]:not([aria-selected=true])").first.click()


def _drawn(page: Any, selector: str) -> None:
    """Wait for the new page's map (the old one may still be on screen for a moment)."""
    page.wait_for_timeout(300)
    if selector.startswith("#ranking"):
        page.wait_for_selector(selector)
    else:
        wait_drawn(page, selector)


def _navigate(
    rec: Recorder, page: Any, action: str, click: Any, url: Any, drawn: str | None
) -> None:
    """One user action that changes the URL: ``click()``, then the new URL and its map."""
    with rec.act(page, action):
        click()
        page.wait_for_url(url)
    if drawn:
        _drawn(page, drawn)


def _record_cockpit(rec: Recorder, base: str, url: str, views: list[str]) -> None:
    page = rec.open()
    try:
        with rec.act(page, "load"):
            page.goto(base + url)
            wait_drawn(page, "#cockpit-map")
        _navigate(
            rec,
            page,
            "period",
            lambda: _pick_option(page, "#cockpit-period"),
            re.compile(r"period="),
            "#cockpit-map",
        )
        _navigate(
            rec,
            page,
            "language",
            lambda: page.click("#cockpit-lang label:has-text('EN')"),
            re.compile(r"lang=en"),
            "#cockpit-map",
        )
        for view in views:
            _navigate(
                rec,
                page,
                f"view {view}",
                lambda v=view: page.click(f"#cockpit-views a[href*='view={v}']"),
                re.compile(rf"view={view}"),
                VIEW_MAPS.get(view, "#ranking-table"),
            )
            _use_view(rec, page, view)
        if views:
            _navigate(
                rec,
                page,
                "view overview",
                lambda: page.locator("#cockpit-views a.yw-tab").first.click(),
                lambda u: "view=" not in u or "view=overview" in u,
                "#cockpit-map",
            )
        target = page.evaluate(CELL_XY, ["#cockpit-map", False])
        if target and target["path"]:
            _navigate(
                rec,
                page,
                "drill",
                lambda: page.mouse.click(target["x"], target["y"]),
                re.compile(re.escape(target["path"])),
                "#cockpit-map",
            )
    finally:
        page.context.close()


def _use_view(rec: Recorder, page: Any, view: str) -> None:
    """What each view offers beyond its tab."""
    if view == "ranking" and page.locator("#ranking-metric").count():
        _navigate(
            rec,
            page,
            "ranking metric",
            lambda: _pick_option(page, "#ranking-metric"),
            re.compile(r"metric="),
            "#ranking-table",
        )
    elif view in ("worry", "backlog"):
        slider = f"#{view}-slider [role=slider]"
        if page.locator(slider).count():
            with rec.act(page, f"{view} step"):
                page.focus(slider)
                page.keyboard.press("ArrowLeft")
        if view == "worry":
            cell = page.evaluate(CELL_XY, ["#worry-map", True])
            if cell:
                with rec.act(page, "worry explain"):
                    page.mouse.click(cell["x"], cell["y"])
    elif view == "components" and page.locator("#comp-kinds a").count():
        _navigate(
            rec,
            page,
            "component kind",
            lambda: page.locator("#comp-kinds a").first.click(),
            re.compile(r"kind="),
            "#cockpit-map",
        )


def _record_wall(rec: Recorder, base: str, url: str) -> None:
    page = rec.open()
    try:
        with rec.act(page, "load"):
            page.goto(base + url)
            wait_drawn(page, "#wall-map")
        with rec.act(page, "refresh"):
            page.wait_for_timeout(int(2.5 * WALL_REFRESH_S * 1000))
    finally:
        page.context.close()


def _record_grid_chief(rec: Recorder, base: str, url: str) -> None:
    page = rec.open(width=390, height=844)
    try:
        with rec.act(page, "load"):
            page.goto(base + url)
            wait_drawn(page, "#grid-map", image=True)
        link = page.locator("#grid-lang a")
        if link.count():
            with rec.act(page, "language"):
                link.first.click()
                page.wait_for_url(re.compile(r"lang=en"))
                wait_drawn(page, "#grid-map", image=True)
    finally:
        page.context.close()


def record(
    browser: Any, base: str, cookie: str, urls: dict[str, str], views: list[str]
) -> list[Call]:
    """Every callback request Chromium makes while each cockpit is loaded and used."""
    rec = Recorder(browser, base, cookie)
    for level, url in urls.items():
        log(f"recording {level} {url}")
        if level == "wall":
            _record_wall(rec, base, url)
        elif level == "grid_chief":
            _record_grid_chief(rec, base, url)
        else:
            _record_cockpit(rec, base, url, views)
    return rec.calls


def props_by_id(tree: Any, into: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every component's props by id in a callback answer (a page's layout)."""
    found: dict[str, dict[str, Any]] = {} if into is None else into
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and isinstance(props.get("id"), str):
                found.setdefault(props["id"], {}).update(props)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def fill(
    template: Mapping[str, Any],
    *,
    props: Mapping[str, Mapping[str, Any]] | None = None,
    values: Mapping[tuple[str, str], Any] | None = None,
) -> dict[str, Any]:
    """A recorded body with its inputs and states set as the browser would send them.

    ``values[(id, property)]`` wins; otherwise an item whose component is in ``props`` (the
    props of the page on screen, :func:`props_by_id`) takes the value the page holds.
    """
    body = copy.deepcopy(dict(template))
    props = props or {}
    values = values or {}
    for key in ("inputs", "state"):
        for item in _items(body, key):
            cid, prop = item.get("id"), item.get("property")
            if not isinstance(cid, str) or not isinstance(prop, str):
                continue
            if (cid, prop) in values:
                item["value"] = values[(cid, prop)]
            elif prop in props.get(cid, {}):
                item["value"] = props[cid][prop]
    return body


def router_values(path: str) -> dict[tuple[str, str], Any]:
    """The router inputs that render ``path`` (``/street/x?period=last7``)."""
    pathname, _, search = path.partition("?")
    return {
        (ROUTER_ID, "pathname"): pathname,
        (ROUTER_ID, "search"): f"?{search}" if search else "",
        (ROUTER_ID, "href"): None,
    }


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100, linear between ranks); ``None`` for no values."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * min(100.0, max(0.0, q)) / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def summary(values: Iterable[float]) -> dict[str, float | None]:
    """p50 / p95 / p99 / max / n of ``values`` (ms), rounded."""
    data = list(values)

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 1)

    return {
        "n": len(data),
        "p50": r(percentile(data, 50)),
        "p95": r(percentile(data, 95)),
        "p99": r(percentile(data, 99)),
        "max": r(max(data) if data else None),
    }


def code_version() -> dict[str, Any]:
    """The commit measured and the files changed in the work tree (another agent's edits)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip("\n")

    dirty = [line[3:] for line in git("status", "--porcelain").splitlines() if line[:2] != "??"]
    return {"commit": git("rev-parse", "--short", "HEAD"), "changed_files": dirty}


@dataclass
class Timer:
    """Wall-clock seconds since creation (for progress lines)."""

    start: float = field(default_factory=time.monotonic)

    def __call__(self) -> float:
        """Seconds elapsed."""
        return time.monotonic() - self.start


def log(message: str, *, stream: Callable[[str], Any] = sys.stderr.write) -> None:
    """A progress line on stderr."""
    stream(f"[{time.strftime('%H:%M:%S')}] {message}\n")
