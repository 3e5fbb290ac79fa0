"""Load test on loopback: walls refreshing and analysts drilling, for minutes (issue 8).

``python -m benchmarks.loadtest <data_dir> [--sessions 50] [--minutes 10] [--walls 10]
[--out artifacts/bench/loadtest.json]`` starts ``yiwang serve`` over a data folder (its own
security and temp folders; the data folder is only read) with the production rate limits,
writes one user per session — walls as city-wide leaders and district leaders, analysts
as city-wide analysts and leaders and district, street and grid users scoped to units
drawn from the warehouse — and runs every session in one asyncio loop (aiohttp, up to six
connections per session like a browser):

- each session signs in through ``/login`` (CSRF cookie and field), loads the app (the
  page, ``_dash-layout``, ``_dash-dependencies``) and renders its first page;
- a **wall** re-runs the wall's refresh callback every ``--wall-refresh`` seconds (30)
  with the browser's clock and the frame key it was last given, as ``assets/wall.js``
  does;
- an **analyst** waits 2–8 s between actions and then drills into a child (a map click, or
  a ranking link on a view without the map), goes back up, changes the period or the
  language, opens a view tab, or uses the view (the worry month and a cell's explanation,
  the backlog moment, the ranking metric). Each action sends what Chromium sent for it:
  the callback bodies come from a Playwright recording (:func:`dash_client.record`, or
  ``--recording`` with a dashboard benchmark report), filled in for the session's page —
  its unit, period, language, view and the stores its last render returned — and every
  page render is followed by the URL callbacks the Dash renderer fires when a page is
  inserted.

It stops at ``--minutes`` or after ``--max-requests``. Every 5 s it samples the server
process's RSS (``VmRSS``) and CPU time. The report gives p50/p95/p99 latency overall and per
kind of request, errors (any status outside 2xx/3xx — 429 included — a callback answer
that is not Dash's JSON, a timeout), RSS over time and its slope over the last two
thirds. The exit status is 1 when there was any error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import dash_client as dc

ROOT = Path(__file__).resolve().parents[1]
#: Issue 8's budget for the load test.
P95_BUDGET_MS = 500.0
RSS_EVERY_S = 5.0
REQUEST_TIMEOUT_S = 60.0
#: Connections a browser opens to one host.
CONNECTIONS_PER_SESSION = 6
#: The URL callbacks the Dash renderer fires when it inserts a cockpit page.
FOLLOW_UPS = (
    "cockpit-period.value",
    "cockpit-lang.value",
    "cockpit-map.clickData",
    "ranking-metric.value",
    "ranking-snapshot.value",
)
#: Callbacks that are kinds of their own in the report (by trigger).
KIND_OF_TRIGGER = {
    "wall-clock.data": "wall refresh",
    "worry-slider.value": "worry",
    "worry-map.clickData": "worry",
    "backlog-slider.value": "backlog",
}
MAP_VIEWS = ("overview", "sla", "components")
#: Relative weights of an analyst's actions.
ACTIONS = {"drill": 3, "up": 1, "period": 2, "language": 1, "view": 3, "use view": 2}


# ---------------------------------------------------------------------------------------------
# recorded bodies


def trigger_of(body: Mapping[str, Any]) -> str:
    """The ``id.property`` that fired a callback (the router: ``page``)."""
    if dc.router_path(body) is not None:
        return "page"
    changed = body.get("changedPropIds") or []
    return str(changed[0]) if changed else ""


class Templates:
    """Recorded callback bodies to fill in: the router, each trigger, the page follow-ups."""

    def __init__(self, calls: list[dc.Call]) -> None:
        self.calls = calls
        self.page: dict[str, Any] | None = None
        self.trigger: dict[str, dc.Call] = {}
        self.follow_ups: dict[str, list[dict[str, Any]]] = {}
        seen_after: dict[str, set[str]] = defaultdict(set)
        last_view: str | None = None
        action: str | None = None
        for call in calls:
            trigger = trigger_of(call.body)
            if call.action != action:
                action, last_view = call.action, None
            if trigger == "page":
                self.page = self.page or call.body
                last_view = call.view
                continue
            if self._is_real(call, trigger) and trigger not in self.trigger:
                self.trigger[trigger] = call
            if last_view is not None and trigger in FOLLOW_UPS:
                if trigger not in seen_after[last_view]:
                    seen_after[last_view].add(trigger)
                    self.follow_ups.setdefault(last_view, []).append(call.body)
        if self.page is None:
            raise ValueError("the recording holds no page render (router callback)")

    @staticmethod
    def _is_real(call: dc.Call, trigger: str) -> bool:
        """A call the user's action made, not a no-op fired when a page is inserted."""
        if trigger == "wall-clock.data":
            return True
        first: Any = next(iter(call.body.get("inputs") or []), {})
        return call.action != "load" and isinstance(first, dict) and "value" in first

    @classmethod
    def from_report(cls, path: Path) -> Templates:
        """The recording kept in a dashboard benchmark report (``recorded_calls``)."""
        report = json.loads(path.read_text(encoding="utf-8"))
        return cls([dc.Call.from_dict(d) for d in report["recorded_calls"]])


# ---------------------------------------------------------------------------------------------
# measurements


@dataclass
class Sample:
    """One request as the client saw it."""

    t: float
    session: str
    kind: str
    callback: str
    status: int
    latency_ms: float
    server_ms: float | None
    wire_bytes: int
    error: str | None
    #: level/view of the page rendered or shown (``dash_client.page_of``)
    where: str = ""


@dataclass
class Run:
    """What every session shares: the server, units, templates, clock and samples."""

    base: str
    units: dc.Units
    templates: Templates
    deadline: float
    max_requests: int
    think: tuple[float, float]
    wall_refresh_s: float
    start: float = field(default_factory=time.monotonic)
    client_cpu_start: float = field(default_factory=time.process_time)
    samples: list[Sample] = field(default_factory=list)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.start

    def done(self) -> bool:
        """Whether the time or request bound is reached."""
        if time.monotonic() >= self.deadline or len(self.samples) >= self.max_requests:
            self.stopped.set()
        return self.stopped.is_set()

    async def pause(self, seconds: float) -> None:
        """Sleep, waking early when the run stops."""
        try:
            await asyncio.wait_for(self.stopped.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            pass


def _callback_error(status: int, payload: Any) -> str | None:
    if not 200 <= status < 400:
        return f"HTTP {status}"
    if status == 200 and not (isinstance(payload, dict) and "response" in payload):
        return "callback answer without a response"
    return None


class Session:
    """One signed-in browser: its cookies, connections and the page it shows."""

    def __init__(self, run: Run, name: str) -> None:
        self.run = run
        self.name = name
        self.http: Any = None
        self.props: dict[str, Any] = {}
        self.page = "/"

    async def __aenter__(self) -> Session:
        import aiohttp

        self.http = aiohttp.ClientSession(
            base_url=self.run.base,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1
            connector=aiohttp.TCPConnector(limit=CONNECTIONS_PER_SESSION),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            headers={"Accept-Encoding": "gzip"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    async def _send(
        self, kind: str, callback: str, method: str, path: str, **kw: Any
    ) -> tuple[Sample, bytes]:
        """One request, measured and kept in the run's samples (errors included)."""
        import aiohttp

        started = time.perf_counter()
        status, raw, server, wire, error = 0, b"", None, 0, None
        try:
            async with self.http.request(method, path, allow_redirects=False, **kw) as r:
                raw = await r.read()
                status = r.status
                server = dc.server_timing_ms(r.headers.get("Server-Timing"))
                wire = int(r.headers.get("Content-Length") or len(raw))
        except TimeoutError:
            error = f"timeout after {REQUEST_TIMEOUT_S:.0f} s"
        except (OSError, aiohttp.ClientError) as exc:
            error = f"connection: {exc.__class__.__name__}"
        latency = (time.perf_counter() - started) * 1000
        if error is None and not 200 <= status < 400:
            error = f"HTTP {status}"
        sample = Sample(
            self.run.now(), self.name, kind, callback, status, latency, server, wire, error
        )
        self.run.samples.append(sample)
        return sample, raw

    async def sign_in(self, user: str) -> bool:
        """``GET /login`` then ``POST /login``; whether a session cookie came back."""
        from dashboard.auth import COOKIE, CSRF_COOKIE

        await self._send("login", "GET /login", "GET", "/login")
        csrf = next((c.value for c in self.http.cookie_jar if c.key == CSRF_COOKIE), "")
        form = {"csrf": csrf, "user": user, "password": dc.PASSWORD}
        sample, _ = await self._send(
            "login", "POST /login", "POST", "/login", data=form, headers={"Origin": self.run.base}
        )
        signed = any(c.key == COOKIE for c in self.http.cookie_jar)
        if sample.status != 303 or not signed:
            sample.error = sample.error or "sign-in refused"
            return False
        return True

    async def open_app(self, path: str) -> None:
        """What a browser fetches to start the app (static bundles aside), then the page."""
        await self._send("app", "GET page", "GET", path, headers={"Accept": "text/html"})
        for route in ("/_dash-layout", "/_dash-dependencies"):
            await self._send("app", f"GET {route}", "GET", route)
        await self.render(path)

    async def callback(self, body: dict[str, Any], kind: str | None = None) -> Any:
        """POST a callback body as the Dash renderer does; return the parsed answer."""
        trigger = trigger_of(body)
        kind = kind or KIND_OF_TRIGGER.get(trigger, "navigate")
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Origin": self.run.base,
            "Referer": self.run.base + self.page,
        }
        sample, raw = await self._send(
            kind, dc.callback_name(body), "POST", dc.UPDATE, data=json.dumps(body), headers=headers
        )
        sample.where = "/".join(dc.page_of(dc.router_path(body) or self.page))
        payload = None
        if sample.status == 200:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
        if sample.error is None and sample.status:
            sample.error = _callback_error(sample.status, payload)
        return payload

    async def render(self, path: str) -> bool:
        """Render ``path`` (the router callback), then the insert-time follow-ups."""
        t = self.run.templates
        assert t.page is not None
        body = dc.fill(t.page, values=dc.router_values(path))
        answer = await self.callback(body, "page")
        if not isinstance(answer, dict):
            return False
        self.page = path
        self.props = dc.props_by_id(answer.get("response", {}).get("_pages_content"))
        view = dc.page_of(path)[1]
        follow = [
            self.callback(dc.fill(b, props=self.props, values=self.url_values()), "follow-up")
            for b in t.follow_ups.get(view, [])
        ]
        await asyncio.gather(*follow)
        return True

    def url_values(self) -> dict[tuple[str, str], Any]:
        """The shell's ``dcc.Location`` props for the page on screen."""
        pathname, _, search = self.page.partition("?")
        return {("url", "pathname"): pathname, ("url", "search"): f"?{search}" if search else ""}


# ---------------------------------------------------------------------------------------------
# the two kinds of user


async def wall(run: Run, name: str, user: str, offset: float) -> None:
    """A wall screen: sign in, show ``/wall``, refresh every ``run.wall_refresh_s``."""
    template = run.templates.trigger.get("wall-clock.data")
    async with Session(run, name) as s:
        await run.pause(offset)
        if run.done() or not await s.sign_in(user):
            return
        await s.open_app("/wall")
        shown = s.props.get("wall-shown", {}).get("data")
        n = 0
        next_tick = time.monotonic() + run.wall_refresh_s
        while template is not None and not run.done():
            await run.pause(next_tick - time.monotonic())
            if run.done():
                break
            next_tick += run.wall_refresh_s
            clock = {"now": int(time.time() * 1000), "w": 1920, "h": 1080, "n": n}
            body = dc.fill(
                template.body,
                props=s.props,
                values={("wall-clock", "data"): clock, ("wall-shown", "data"): shown},
            )
            answer = await s.callback(body)
            n += 1
            if isinstance(answer, dict):
                shown = answer.get("response", {}).get("wall-shown", {}).get("data", shown)


@dataclass
class Place:
    """Where an analyst is: a unit (``""``: the city) and the URL state."""

    unit: str
    period: str = ""
    lang: str = ""
    view: str = "overview"

    def path(self, units: dc.Units) -> str:
        """The cockpit URL of this place."""
        base, _, tail = units.page(self.unit).partition("?")
        query = dict(urllib.parse.parse_qsl(tail))
        for key in ("period", "lang"):
            if getattr(self, key):
                query[key] = getattr(self, key)
        if self.view != "overview":
            query["view"] = self.view
        return base + (f"?{urllib.parse.urlencode(query)}" if query else "")


def place_of(href: str, home: str) -> Place:
    """The place an ``href`` answered by a URL callback points at."""
    parts = urllib.parse.urlsplit(href)
    segments = [s for s in parts.path.split("/") if s]
    query = dict(urllib.parse.parse_qsl(parts.query))
    unit = segments[1] if len(segments) == 2 else home
    view = query.get("view", "overview")
    return Place(unit, query.get("period", ""), query.get("lang", ""), view)


class Analyst:
    """An analyst or leader drilling and filtering within their scope, with think times."""

    def __init__(self, run: Run, name: str, user: str, home: str, chief: bool) -> None:
        self.run = run
        self.name = name
        self.user = user
        self.home = home
        self.chief = chief
        self.rng = random.Random(name)
        self.here = Place(home)

    async def go(self, s: Session, place: Place) -> None:
        """Render ``place`` (a link: the router only) and stand there."""
        if await s.render(place.path(self.run.units)):
            self.here = place

    async def via(self, s: Session, trigger: str, value: Any) -> bool:
        """A control whose callback answers the next URL; render it. False: not recorded."""
        template = self.run.templates.trigger.get(trigger)
        if template is None:
            return False
        cid, _, prop = trigger.partition(".")
        values = {**s.url_values(), (cid, prop): value}
        answer = await s.callback(dc.fill(template.body, props=s.props, values=values))
        href = (answer or {}).get("response", {}).get("url", {}).get("href")
        if isinstance(href, str):
            await self.go(s, place_of(href, self.home))
        return True

    async def act(self, s: Session, action: str) -> None:
        """One user action (a key of :data:`ACTIONS`)."""
        units, here, rng = self.run.units, self.here, self.rng
        children = units.children.get(here.unit, [])
        if action == "drill" and children:
            child = rng.choice(children)
            path = units.page(child).partition("?")[0]
            if here.view in MAP_VIEWS:
                click = {"points": [{"customdata": [0, 0, 0, "", "", path]}]}
                if await self.via(s, "cockpit-map.clickData", click):
                    return
            await self.go(s, Place(child, here.period, here.lang, here.view))
        elif action in ("drill", "up") and here.unit != self.home:
            parent = units.parent.get(here.unit, self.home)
            await self.go(s, Place(parent, here.period, here.lang, here.view))
        elif action == "period":
            period = rng.choice([p for p in units.periods if p != (here.period or "last30")])
            if not await self.via(s, "cockpit-period.value", period):
                await self.go(s, Place(here.unit, period, here.lang, here.view))
        elif action == "language":
            lang = "en" if here.lang != "en" else "zh"
            if not await self.via(s, "cockpit-lang.value", lang):
                await self.go(s, Place(here.unit, here.period, lang, here.view))
        elif action == "view":
            view = rng.choice([v for v in ("overview", *dc.COCKPIT_VIEWS) if v != here.view])
            await self.go(s, Place(here.unit, here.period, here.lang, view))
        else:
            await self.use_view(s)

    async def use_view(self, s: Session) -> None:
        """What the view on screen offers: months, moments, a cell, a metric."""
        rng, props, view = self.rng, s.props, self.here.view
        templates = self.run.templates.trigger
        if view == "worry" and "worry-slider.value" in templates:
            months = (props.get("worry-context", {}).get("data") or {}).get("months") or []
            if months:
                month = rng.randrange(len(months))
                values: dict[tuple[str, str], Any] = {("worry-slider", "value"): month}
                tpl = templates["worry-slider.value"].body
                await s.callback(dc.fill(tpl, props=props, values=values))
                cells = _customdata(props.get("worry-map", {}).get("figure"))
                if cells and "worry-map.clickData" in templates:
                    click = {"points": [{"customdata": rng.choice(cells)}]}
                    values[("worry-map", "clickData")] = click
                    tpl = templates["worry-map.clickData"].body
                    await s.callback(dc.fill(tpl, props=props, values=values))
        elif view == "backlog" and "backlog-slider.value" in templates:
            top = props.get("backlog-slider", {}).get("max")
            if isinstance(top, int) and top > 0:
                values = {("backlog-slider", "value"): rng.randrange(top + 1)}
                tpl = templates["backlog-slider.value"].body
                await s.callback(dc.fill(tpl, props=props, values=values))
        elif view == "ranking":
            options = props.get("ranking-metric", {}).get("options") or []
            metrics = [o.get("value") for o in options if isinstance(o, dict)]
            if metrics:
                await self.via(s, "ranking-metric.value", rng.choice(metrics))

    async def __call__(self, offset: float) -> None:
        """Sign in after ``offset`` s, open the home page, then act until the run stops."""
        async with Session(self.run, self.name) as s:
            await self.run.pause(offset)
            if self.run.done() or not await s.sign_in(self.user):
                return
            start = f"/grid/{self.home}" if self.chief else "/"
            await s.open_app(start)
            while not self.run.done():
                await self.run.pause(self.rng.uniform(*self.run.think))
                if self.run.done():
                    break
                names = list(ACTIONS)
                action = self.rng.choices(names, weights=[ACTIONS[n] for n in names])[0]
                await self.act(s, action)


def _customdata(figure: Any) -> list[Any]:
    for trace in (figure or {}).get("data", []):
        rows = trace.get("customdata")
        if trace.get("type") == "choroplethmap" and isinstance(rows, list) and rows:
            return rows
    return []


# ---------------------------------------------------------------------------------------------
# users, the run and the report


@dataclass(frozen=True)
class Plan:
    """One session: who signs in, as what, and where their area starts."""

    name: str
    kind: str  # "wall" or "analyst"
    role: str
    scope: str  # a unit id or "*"
    home: str  # the unit their "/" shows ("": the city)
    chief: bool = False


def plan_sessions(units: dc.Units, sessions: int, walls: int, seed: int) -> list[Plan]:
    """Walls (city-wide, then district leaders) and analysts of every kind of scope."""
    rng = random.Random(seed)
    by_level: dict[str, list[str]] = defaultdict(list)
    for unit, unit_level in units.level.items():
        by_level[unit_level].append(unit)
    levels = list(units.path)
    district = levels[1] if len(levels) > 1 else None
    street = levels[2] if len(levels) > 2 else None
    leaf = levels[-1]
    plans = []
    for i in range(walls):
        if i % 2 == 0 or district is None:
            plans.append(Plan(f"wall{i:02d}", "wall", "city_leader", "*", ""))
        else:
            unit = rng.choice(sorted(by_level[district]))
            plans.append(Plan(f"wall{i:02d}", "wall", "district_leader", unit, unit))
    mix: list[tuple[str, str | None]] = [("analyst", None), ("city_leader", None)]
    mix += [("district_leader", district)]
    mix += [("street_leader", street), ("grid_chief", leaf)]
    for i in range(sessions - walls):
        role, level = mix[i % len(mix)]
        if level is None:
            plans.append(Plan(f"user{i:02d}", "analyst", role, "*", ""))
            continue
        unit = rng.choice(sorted(by_level[level]))
        chief = role == "grid_chief"
        plans.append(Plan(f"user{i:02d}", "analyst", role, unit, unit, chief))
    return plans


async def sample_server(run: Run, server: dc.Server, into: list[dict[str, float]]) -> None:
    """RSS and CPU time of the server, and the load average, every :data:`RSS_EVERY_S`."""
    ticks = os.sysconf("SC_CLK_TCK")
    while True:
        stat = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / ticks
        into.append(
            {
                "t": round(run.now(), 1),
                "rss_mib": round(server.rss_mib(), 1),
                "cpu_s": round(cpu, 1),
                "requests": len(run.samples),
                # the machine's 1-minute load average: other processes share the cores
                "load1": round(os.getloadavg()[0], 1),
            }
        )
        if run.stopped.is_set():
            return
        await run.pause(RSS_EVERY_S)


async def drive(run: Run, server: dc.Server, plans: list[Plan], ramp_s: float) -> list[dict]:
    """Run every session to the end; return the server samples."""
    server_samples: list[dict[str, float]] = []
    sampler = asyncio.create_task(sample_server(run, server, server_samples))
    tasks = []
    for i, plan in enumerate(plans):
        offset = ramp_s * i / max(1, len(plans))
        if plan.kind == "wall":
            tasks.append(wall(run, plan.name, plan.name, offset))
        else:
            tasks.append(Analyst(run, plan.name, plan.name, plan.home, plan.chief)(offset))
    await asyncio.gather(*tasks)
    run.stopped.set()
    await sampler
    return server_samples


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, MiB)`` points, in MiB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx == 0:
        return None
    sxy = sum((t - mx) * (v - my) for t, v in points)
    return round(sxy / sxx * 60, 2)


def report(
    run: Run, plans: list[Plan], server_samples: list[dict], args: argparse.Namespace
) -> dict[str, Any]:
    """Latency per kind, errors, memory over time."""
    samples = run.samples
    callbacks = [s for s in samples if s.kind not in ("login", "app")]
    kinds: dict[str, list[Sample]] = defaultdict(list)
    names: dict[str, list[Sample]] = defaultdict(list)
    pages: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        kinds[s.kind].append(s)
        names[s.callback].append(s)
        if s.kind == "page":
            pages[s.where].append(s)

    def stats(group: list[Sample]) -> dict[str, Any]:
        return {
            "n": len(group),
            "errors": sum(1 for s in group if s.error),
            "latency_ms": dc.summary(s.latency_ms for s in group),
            "server_ms": dc.summary(s.server_ms for s in group if s.server_ms is not None),
            "gzip_bytes_max": max((s.wire_bytes for s in group), default=0),
        }

    duration = max((s.t for s in samples), default=0.0)
    windows = []
    step = 30.0
    for k in range(int(duration // step) + 1):
        group = [s for s in callbacks if k * step <= s.t < (k + 1) * step]
        if group:
            lat = dc.summary(s.latency_ms for s in group)
            windows.append(
                {
                    "from_s": k * step,
                    "n": len(group),
                    "p50": lat["p50"],
                    "p95": lat["p95"],
                    "errors": sum(1 for s in group if s.error),
                }
            )
    tail = [(p["t"], p["rss_mib"]) for p in server_samples if p["t"] >= duration / 3]
    rss = [p["rss_mib"] for p in server_samples]
    cpu = server_samples[-1]["cpu_s"] - server_samples[0]["cpu_s"] if server_samples else 0
    errors = [s for s in samples if s.error]
    overall = dc.summary(s.latency_ms for s in callbacks)
    return {
        "data_dir": str(args.data_dir.resolve()),
        "build": (args.data_dir / "04_warehouse" / "CURRENT").read_text().strip(),
        "code": dc.code_version(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpus": os.cpu_count(),
        "load_average_end": round(os.getloadavg()[0], 1),
        "config": {
            "sessions": args.sessions,
            "walls": args.walls,
            "minutes": args.minutes,
            "max_requests": args.max_requests,
            "think_s": list(run.think),
            "wall_refresh_s": run.wall_refresh_s,
            "ramp_s": args.ramp,
            "server_threads": os.environ.get("YIWANG_SERVER_THREADS", "16 (default)"),
        },
        "sessions": [asdict(p) for p in plans],
        "duration_s": round(duration, 1),
        "requests": len(samples),
        "requests_per_s": round(len(samples) / duration, 2) if duration else None,
        "callback_latency_ms": overall,
        "p95_budget_ms": P95_BUDGET_MS,
        "over_budget": bool(overall["p95"] is not None and overall["p95"] > P95_BUDGET_MS),
        "errors": len(errors),
        "errors_by_reason": dict(Counter(f"{s.kind} {s.callback}: {s.error}" for s in errors)),
        "status_counts": dict(Counter(str(s.status) for s in samples)),
        "by_kind": {k: stats(v) for k, v in sorted(kinds.items())},
        "by_callback": {k: stats(v) for k, v in sorted(names.items())},
        "page_renders_by_page": {k: stats(v) for k, v in sorted(pages.items())},
        "over_time": windows,
        "server": {
            "samples": server_samples,
            "rss_mib_first": rss[0] if rss else None,
            "rss_mib_max": max(rss) if rss else None,
            "rss_mib_last": rss[-1] if rss else None,
            "rss_slope_mib_per_min_last_two_thirds": slope_per_minute(tail),
            "cpu_s": round(cpu, 1),
            "cpu_share_of_one_core": round(cpu / duration, 2) if duration else None,
        },
        # the load generator shares the machine's cores with the server
        "client_cpu_s": round(time.process_time() - run.client_cpu_start, 1),
    }


def markdown(r: dict[str, Any]) -> str:
    """The report's summary in Markdown."""
    srv = r["server"]
    lat = r["callback_latency_ms"]
    lines = [
        f"Load test — {r['data_dir']} (build {r['build']}): {r['config']['sessions']} sessions "
        f"({r['config']['walls']} walls), {r['duration_s']:.0f} s, {r['requests']:,} requests "
        f"({r['requests_per_s']}/s), load average at the end {r['load_average_end']}",
        "",
        f"callbacks: p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms "
        f"(budget p95 ≤ {r['p95_budget_ms']:.0f} ms{': **over**' if r['over_budget'] else ''}); "
        f"errors: {r['errors']}",
        f"server RSS: {srv['rss_mib_first']} → {srv['rss_mib_last']} MiB (max "
        f"{srv['rss_mib_max']}), slope over the last two thirds "
        f"{srv['rss_slope_mib_per_min_last_two_thirds']} MiB/min; CPU {srv['cpu_s']} s "
        f"({srv['cpu_share_of_one_core']} cores); load generator CPU {r['client_cpu_s']} s",
        "",
        "| kind | n | errors | latency p50 | p95 | p99 | server p50 | server p95 | gzip KiB max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, s in r["by_kind"].items():
        la, sv = s["latency_ms"], s["server_ms"]
        lines.append(
            f"| {kind} | {s['n']:,} | {s['errors']} | {la['p50']} | {la['p95']} | {la['p99']} "
            f"| {sv['p50']} | {sv['p95']} | {s['gzip_bytes_max'] / 1024:,.1f} |"
        )
    lines += [
        "",
        "| page render (level/view) | n | latency p50 | p95 | server p50 | server p95 |",
        "|---|---|---|---|---|---|",
    ]
    for where, s in r["page_renders_by_page"].items():
        la, sv = s["latency_ms"], s["server_ms"]
        lines.append(
            f"| {where} | {s['n']:,} | {la['p50']} | {la['p95']} | {sv['p50']} | {sv['p95']} |"
        )
    if r["errors_by_reason"]:
        lines += ["", "errors:"] + [f"- {k}: {v}" for k, v in r["errors_by_reason"].items()]
    return "\n".join(lines) + "\n"


def record_templates(server: dc.Server, work: Path) -> Templates:
    """Record the callbacks of the city cockpit (every view) and the wall in Chromium."""
    from playwright.sync_api import sync_playwright

    cookie = dc.sign_in(server.base, "admin")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(dc.CHROMIUM), args=dc.CHROMIUM_ARGS)
        try:
            calls = dc.record(
                browser, server.base, cookie, {"city": "/", "wall": "/wall"}, list(dc.COCKPIT_VIEWS)
            )
        finally:
            browser.close()
    (work / "recording.json").write_text(
        json.dumps({"recorded_calls": [c.as_dict() for c in calls]}, ensure_ascii=False)
    )
    return Templates(calls)


def run_load(args: argparse.Namespace) -> dict[str, Any]:
    """Start the server, record (or read) the bodies, run the sessions; return the report."""
    data_dir = args.data_dir.resolve()
    units = dc.drill_path(data_dir)
    plans = plan_sessions(units, args.sessions, args.walls, args.seed)
    work = Path(tempfile.mkdtemp(prefix="yiwang-loadtest-"))
    dc.write_users(work, [("admin", "admin", "*")] + [(p.name, p.role, p.scope) for p in plans])
    env = {"YIWANG_WALL_REFRESH_SECONDS": str(dc.WALL_REFRESH_S)}
    with dc.serve(data_dir, work, env=env) as server:
        if args.recording:
            templates = Templates.from_report(args.recording)
        else:
            dc.log("recording the city cockpit and the wall in Chromium")
            templates = record_templates(server, work)
        dc.log(
            f"{len(templates.calls)} recorded calls; triggers: {sorted(templates.trigger)}; "
            f"load: {args.sessions} sessions ({args.walls} walls) for {args.minutes} min"
        )
        run = Run(
            base=server.base,
            units=units,
            templates=templates,
            deadline=time.monotonic() + args.minutes * 60,
            max_requests=args.max_requests,
            think=(args.think[0], args.think[1]),
            wall_refresh_s=args.wall_refresh,
        )
        run.deadline = run.start + args.minutes * 60
        run.client_cpu_start = time.process_time()
        server_samples = asyncio.run(drive(run, server, plans, args.ramp))
    return report(run, plans, server_samples, args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.loadtest", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data_dir", type=Path, help="data folder with a published warehouse")
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions")
    parser.add_argument("--walls", type=int, default=10, help="of which wall screens")
    parser.add_argument("--minutes", type=float, default=10, help="how long the load runs")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts/bench/loadtest.json")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(2.0, 8.0), help="analyst think time range (s)"
    )
    parser.add_argument("--wall-refresh", type=float, default=30.0, help="wall refresh (s)")
    parser.add_argument(
        "--ramp", type=float, help="seconds over which sessions start (default: min(30, 10%%))"
    )
    parser.add_argument("--seed", type=int, default=8, help="random seed of users and actions")
    parser.add_argument(
        "--recording", type=Path, help="a dashboard benchmark report whose recorded calls to use"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.walls <= args.sessions:
        parser.error("--walls must be between 0 and --sessions")
    if args.ramp is None:
        args.ramp = min(30.0, args.minutes * 6)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the load test; write the JSON report, print the Markdown summary."""
    args = parse_args(argv)
    return dc.finish(run_load(args), args.out, markdown)


if __name__ == "__main__":
    sys.exit(main())
