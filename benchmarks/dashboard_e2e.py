"""Dashboard measurements over HTTP and in Chromium (issue 8).

``python -m benchmarks.dashboard_e2e <data_dir> [--out artifacts/bench/dashboard.json]
[--repeat N]`` starts ``yiwang serve`` on a free loopback port over a data folder with a
published warehouse (its own security and temp folders: the data folder is only read),
signs in as a city-wide admin through ``/login``, and:

1. **records** with Playwright (system Chromium, a fresh context per cockpit) every
   ``/_dash-update-component`` request the browser makes while it loads each cockpit — the
   city, the busiest district, its busiest street, community and grid (their cockpits), the
   wall and the grid chief's view — and while it uses it: the period, the language, every
   view tab and what each view offers (the ranking metric, the worry month and a cell's
   explanation, the backlog moment, a component kind), and a drill through the map;
2. times the **first render** of each cockpit: the median over ``--render-repeat`` fresh
   contexts of navigation start → map drawn (the browser tests' rule: plotly handed the
   figure to MapLibre, the unit is framed and MapLibre has loaded), with what the browser
   transferred (``Accept-Encoding: gzip``);
3. **replays** every distinct recorded callback body ``--repeat`` times over one keep-alive
   connection with the session cookie, the browser's headers and ``Accept-Encoding: gzip``,
   and reports per level, view and callback the server time (``Server-Timing``), the
   client latency and the gzipped answer size; and the page GETs' sizes.

Callback rate limits are lifted on this server (the load test keeps them): a replay is one
session sending hundreds of callbacks a minute. The report is JSON (``--out``) and a
Markdown summary on stdout; the exit status is 1 when any answer was an error
(:func:`benchmarks.dash_client.is_error`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks import dash_client as dc

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ("city", "district", "street", "community", "grid", "wall", "grid_chief")
#: Issue 8's budgets.
CALLBACK_P95_MS = 150.0
FIRST_RENDER_MS = 4000.0
MAP_GZIP_BYTES = 1_000_000
#: Where each cockpit's map is, and whether it is an image (the grid chief's SVG).
MAPS: dict[str, tuple[str, bool]] = {
    "wall": ("#wall-map", False),
    "grid_chief": ("#grid-map", True),
}


def cockpit_urls(units: dc.Units, levels: list[str]) -> dict[str, str]:
    """The path of each cockpit to measure, from the busiest drill path."""
    path = units.path
    leaf = list(path)[-1]
    urls: dict[str, str] = {}
    for level in levels:
        if level == "city":
            urls[level] = "/"
        elif level == "wall":
            urls[level] = "/wall"
        elif level == "grid_chief":
            urls[level] = f"/grid/{path[leaf]}"
        elif level in path:
            urls[level] = units.page(path[level])
    return urls


# ---------------------------------------------------------------------------------------------
# first render

#: Adds up the main thread's long tasks (over 50 ms: script parsing, plotly, MapLibre).
_LONG_TASKS = """window.__ywLongTasks = 0;
new PerformanceObserver(list => {
  for (const e of list.getEntries()) window.__ywLongTasks += e.duration;
}).observe({type: 'longtask', buffered: true});"""
#: What the browser fetched up to now (every response's transferred bytes), when the
#: scripts and the page's render (the first callback) had arrived, in ms since navigation
#: start, and the main thread's long tasks so far.
_LOADED = """() => {
  const all = performance.getEntriesByType('resource');
  const nav = performance.getEntriesByType('navigation')[0];
  const cb = all.filter(e => e.name.includes('_dash-update-component'));
  const js = all.filter(e => new URL(e.name).pathname.endsWith('.js'));
  return {
    transferred: all.reduce((n, e) => n + e.transferSize, nav ? nav.transferSize : 0),
    scripts_ms: js.length ? Math.round(Math.max(...js.map(e => e.responseEnd))) : null,
    page_data_ms: cb.length ? Math.round(Math.min(...cb.map(e => e.responseEnd))) : null,
    long_tasks_ms: Math.round(window.__ywLongTasks || 0),
    requests: all.length + 1,
  };
}"""


def first_renders(
    browser: Any, base: str, cookie: str, urls: dict[str, str], repeat: int
) -> dict[str, Any]:
    """Navigation start → map drawn in fresh contexts, per cockpit (median of ``repeat``)."""
    from dashboard.auth import COOKIE

    out: dict[str, Any] = {}
    for level, url in urls.items():
        selector, image = MAPS.get(level, ("#cockpit-map", False))
        phone = level == "grid_chief"
        runs: list[dict[str, Any]] = []
        for _ in range(repeat):
            context = browser.new_context(
                viewport={"width": 390, "height": 844}
                if phone
                else {"width": 1920, "height": 1080},
                locale="zh-CN",
            )
            context.set_extra_http_headers({"Accept-Encoding": "gzip"})
            context.add_init_script(_LONG_TASKS)
            context.add_cookies(
                [{"name": COOKIE, "value": cookie, "domain": "127.0.0.1", "path": "/"}]
            )
            page = context.new_page()
            try:
                page.goto(base + url, wait_until="commit")
                drawn = dc.wait_drawn(page, selector, image=image)
                runs.append({"drawn_ms": round(drawn), **page.evaluate(_LOADED)})
            finally:
                context.close()
        drawn_all = [r["drawn_ms"] for r in runs]
        done = [r["page_data_ms"] for r in runs if r["page_data_ms"] is not None]
        out[level] = {
            "url": url,
            "runs": runs,
            "median_ms": round(statistics.median(drawn_all)),
            "min_ms": min(drawn_all),
            "max_ms": max(drawn_all),
            "page_data_median_ms": round(statistics.median(done)) if done else None,
            "long_tasks_median_ms": round(statistics.median(r["long_tasks_ms"] for r in runs)),
            "transferred_median_bytes": round(statistics.median(r["transferred"] for r in runs)),
        }
        dc.log(f"first render {level}: {out[level]['median_ms']} ms (median of {repeat})")
    return out


# ---------------------------------------------------------------------------------------------
# 3. replays


def distinct(calls: list[dc.Call]) -> list[dc.Call]:
    """The recorded calls with distinct bodies (first occurrence kept)."""
    seen: set[str] = set()
    kept = []
    for call in calls:
        key = json.dumps(call.body, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(call)
    return kept


def replay(base: str, cookie: str, calls: list[dc.Call], repeat: int) -> list[dict[str, Any]]:
    """Send each call's body ``repeat`` times (round-robin); per call: timings and sizes."""
    client = dc.Client(base, cookie)
    samples: list[list[dc.Reply]] = [[] for _ in calls]
    try:
        for _ in range(repeat):
            for i, call in enumerate(calls):
                samples[i].append(client.post(call.body, call.headers))
    finally:
        client.close()
    rows = []
    for call, replies in zip(calls, samples, strict=True):
        errors = [e for r in replies if (e := dc.is_error(r.status, r.body))]
        rows.append(
            {
                "level": call.level,
                "view": call.view,
                "action": call.action,
                "callback": call.name,
                "page": call.page,
                "browser_status": call.status,
                "browser_server_ms": call.server_ms,
                "server_ms": [r.server_ms for r in replies],
                "latency_ms": [round(r.latency_ms, 2) for r in replies],
                "gzip_bytes": max(r.wire_bytes for r in replies),
                "raw_bytes": max(len(r.body) for r in replies),
                "encoding": replies[-1].encoding,
                "errors": errors,
            }
        )
    return rows


def by_callback(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replays grouped per level, view and callback, with p50/p95 and budget flags."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["level"], row["view"], row["callback"])].append(row)
    out = []
    for (level, view, callback), members in groups.items():
        server = [ms for m in members for ms in m["server_ms"] if ms is not None]
        latency = [ms for m in members for ms in m["latency_ms"]]
        first = [m["browser_server_ms"] for m in members if m["browser_server_ms"] is not None]
        stats = dc.summary(server)
        gzip_max = max(m["gzip_bytes"] for m in members)
        out.append(
            {
                "level": level,
                "view": view,
                "callback": callback,
                "actions": sorted({m["action"] for m in members}),
                "bodies": len(members),
                "server_ms": stats,
                "latency_ms": dc.summary(latency),
                "browser_first_server_ms": max(first) if first else None,
                "gzip_bytes_max": gzip_max,
                "raw_bytes_max": max(m["raw_bytes"] for m in members),
                "errors": sum(len(m["errors"]) for m in members),
                "over_budget": bool(stats["p95"] is not None and stats["p95"] > CALLBACK_P95_MS),
                "over_map_budget": gzip_max > MAP_GZIP_BYTES,
            }
        )
    order = {lv: i for i, lv in enumerate(LEVELS)}
    out.sort(key=lambda r: (order.get(r["level"], 99), r["view"], r["callback"]))
    return out


def page_sizes(base: str, cookie: str, urls: dict[str, str]) -> dict[str, Any]:
    """The page GET of each cockpit (Dash's index: the same HTML for every path)."""
    out = {}
    for level, url in urls.items():
        reply = dc.http_get(base, url, cookie)
        out[level] = {
            "url": url,
            "status": reply.status,
            "gzip_bytes": reply.wire_bytes,
            "raw_bytes": len(reply.body),
            "server_ms": reply.server_ms,
            "error": dc.is_error(reply.status, reply.body, callback=False),
        }
    return out


# ---------------------------------------------------------------------------------------------
# report


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f}"


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def markdown(report: dict[str, Any]) -> str:
    """The report's tables in Markdown."""
    lines = [
        f"Dashboard benchmark — {report['data_dir']} (build {report['build']}), "
        f"{report['repeat']} replays per body, load average {report['load_average']}",
        "",
        "| level | view | callback | bodies | server p50 | server p95 | latency p50 | "
        "latency p95 | first (browser) | gzip KiB (max) | |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["callbacks"]:
        flag = " ".join(
            f
            for f, on in (
                ("**p95 over 150 ms**", r["over_budget"]),
                ("**over 1 MB**", r["over_map_budget"]),
                (f"**{r['errors']} errors**", r["errors"]),
            )
            if on
        )
        s, lat = r["server_ms"], r["latency_ms"]
        lines.append(
            f"| {r['level']} | {r['view']} | `{r['callback']}` | {r['bodies']} | {_ms(s['p50'])} "
            f"| {_ms(s['p95'])} | {_ms(lat['p50'])} | {_ms(lat['p95'])} "
            f"| {_ms(r['browser_first_server_ms'])} | {_kb(r['gzip_bytes_max'])} | {flag} |"
        )
    lines += [
        "",
        "| cockpit | url | first render median ms (min–max) | page data arrived ms "
        "| long tasks ms | transferred KiB | page GET gzip KiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for level, fr in report["first_render"].items():
        page = report["pages"].get(level, {})
        over = " **over 4 s**" if fr["median_ms"] > FIRST_RENDER_MS else ""
        lines.append(
            f"| {level} | `{fr['url']}` | {fr['median_ms']:,} ({fr['min_ms']:,}–{fr['max_ms']:,})"
            f"{over} | {_ms(fr['page_data_median_ms'])} | {_ms(fr['long_tasks_median_ms'])} "
            f"| {_kb(fr['transferred_median_bytes'])} | {_kb(page.get('gzip_bytes', 0))} |"
        )
    lines += ["", f"errors: {len(report['errors'])}"]
    lines += [f"- {e}" for e in report["errors"][:20]]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Record, time and replay; return the report."""
    from playwright.sync_api import sync_playwright

    data_dir = args.data_dir.resolve()
    timer = dc.Timer()
    units = dc.drill_path(data_dir)
    urls = cockpit_urls(units, args.levels)
    views = args.views
    work = Path(tempfile.mkdtemp(prefix="yiwang-dash-bench-"))
    dc.write_users(work, [("admin", "admin", "*")])
    env = {
        "YIWANG_CALLBACK_RATE": dc.NO_CALLBACK_LIMIT,
        "YIWANG_WALL_REFRESH_SECONDS": str(dc.WALL_REFRESH_S),
    }
    load_before = os.getloadavg()
    with dc.serve(data_dir, work, env=env) as server:
        cookie = dc.sign_in(server.base, "admin")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(dc.CHROMIUM), args=dc.CHROMIUM_ARGS)
            try:
                calls = dc.record(browser, server.base, cookie, urls, views)
                dc.log(f"recorded {len(calls)} callback requests in {timer():.0f} s")
                renders = first_renders(browser, server.base, cookie, urls, args.render_repeat)
            finally:
                browser.close()
        unique = distinct(calls)
        dc.log(f"replaying {len(unique)} distinct bodies × {args.repeat}")
        rows = replay(server.base, cookie, unique, args.repeat)
        pages = page_sizes(server.base, cookie, urls)
        rss = server.rss_mib()
    errors = [
        f"browser {c.level}/{c.view} {c.name} ({c.action}): HTTP {c.status}"
        for c in calls
        if not 200 <= c.status < 400
    ]
    errors += [
        f"replay {r['level']}/{r['view']} {r['callback']}: {e}" for r in rows for e in r["errors"]
    ]
    errors += [f"GET {p['url']}: {p['error']}" for p in pages.values() if p["error"]]
    build = (data_dir / "04_warehouse" / "CURRENT").read_text().strip()
    return {
        "data_dir": str(data_dir),
        "build": build,
        "code": dc.code_version(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - timer())),
        "seconds": round(timer(), 1),
        "cpus": os.cpu_count(),
        "load_average": f"{load_before[0]:.1f} → {os.getloadavg()[0]:.1f}",
        "repeat": args.repeat,
        "render_repeat": args.render_repeat,
        "units": units.path,
        "urls": urls,
        "budgets": {
            "callback_p95_ms": CALLBACK_P95_MS,
            "first_render_ms": FIRST_RENDER_MS,
            "map_gzip_bytes": MAP_GZIP_BYTES,
        },
        "callbacks": by_callback(rows),
        "first_render": renders,
        "pages": pages,
        "server_rss_mib_end": round(rss, 1),
        "recorded": len(calls),
        "errors": errors,
        "calls": rows,
        "recorded_calls": [c.as_dict() for c in calls],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dashboard_e2e", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data_dir", type=Path, help="data folder with a published warehouse")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts/bench/dashboard.json")
    parser.add_argument("--repeat", type=int, default=20, help="replays of each callback body")
    parser.add_argument(
        "--render-repeat", type=int, help="fresh contexts per first render (default: --repeat)"
    )
    parser.add_argument(
        "--levels",
        type=lambda s: [x for x in s.split(",") if x],
        default=list(LEVELS),
        help=f"comma-separated cockpits (default: {','.join(LEVELS)})",
    )
    parser.add_argument(
        "--views",
        type=lambda s: [x for x in s.split(",") if x],
        default=list(dc.COCKPIT_VIEWS),
        help="comma-separated view tabs to use on each cockpit ('' for none)",
    )
    args = parser.parse_args(argv)
    if args.render_repeat is None:
        args.render_repeat = args.repeat
    unknown = set(args.levels) - set(LEVELS)
    if unknown:
        parser.error(f"unknown levels {sorted(unknown)}; known: {','.join(LEVELS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write the JSON report, print the Markdown summary."""
    args = parse_args(argv)
    return dc.finish(run(args), args.out, markdown)


if __name__ == "__main__":
    sys.exit(main())
