"""``python -m benchmarks.dashboard <data_dir>``: server time of every page and callback.

Builds the cockpit app over a published warehouse in this process, signs a Flask test
client in as a city-wide admin (users and sessions in a temporary security folder, so the
data folder is only read), and times, at each level (the city, its busiest district, that
district's busiest street, community and grid):

* every page render (the Dash pages router callback, as the browser sends it after a load)
  for each view, the wall and the grid chief's view;
* every server-side callback, with the inputs an admin's pages of the unit hold (as
  ``tests/dashboard/test_scope_matrix.py`` crafts them).

"Cold" is the first answer after every cache of the process was cleared (what the first
visitor after a publish waits for); with ``--warm DEPTH`` it is the first answer once the
server's background warm-up (``dashboard.warmup``, ``warm_depth``) has run, the caches
restored to what it left before each row. "Warm" is the median of the next ``--repeat``
answers. Sizes are the body as sent and gzipped (flask-compress's level 6). Results are
printed as a table and written as JSON (``--out``). ``--profile PATH`` prints a cProfile
of one cold render of that path instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROUTER = ".._pages_content.children..._pages_store.data.."
VIEWS = ("overview", "worry", "backlog", "sla", "ranking", "components")
PERIOD = "last30"


def _clear_caches() -> None:
    """Forget every cached result, then load the build's dimensions again.

    The dimensions (units, levels, periods) are read once per build by whichever request
    comes first; "cold" here is a unit nobody opened yet on a running server.
    """
    from dashboard import access, cockpit, data

    data.clear_caches()
    for module in (cockpit, data):
        for name in dir(module):
            fn = getattr(module, name)
            if callable(fn) and hasattr(fn, "cache_clear"):
                fn.cache_clear()
    with access.acting_as(access.SYSTEM):
        data.meta()
        data.levels()
        data.periods()
        data.children(data.city())


def _warm_up(depth: int) -> list[Any]:
    """Clear every cache, run the server's warm-up to its end; return the pool's state."""
    from dashboard import cache, warmup

    _clear_caches()
    warmer = warmup.Warmer(depth, idle=lambda: True)
    t0 = time.perf_counter()
    warmer.start()
    warmer.join()
    info = cache.POOL.info()
    sys.stderr.write(
        f"warm-up (depth {depth}): {len(warmer.warmed)} pages in "
        f"{time.perf_counter() - t0:.1f} s, {info.entries} results, {info.bytes / 2**20:.1f} MiB\n"
    )
    return cache.POOL.snapshot()


def _post_body(dep: dict[str, Any], values: dict[tuple[str, str], Any]) -> dict[str, Any]:
    output = dep["output"]
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = []
    for part in parts:
        cid, _, prop = part.rpartition(".")
        outputs.append({"id": cid, "property": prop.partition("@")[0]})

    def spec(item: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": item["id"],
            "property": item["property"],
            "value": values.get((item["id"], item["property"])),
        }

    inputs = [spec(i) for i in dep["inputs"]]
    return {
        "output": output,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": [spec(s) for s in dep.get("state", [])],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
    }


def _props(tree: Any, into: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
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


class Bench:
    """The app, a signed-in client and the timing loop."""

    def __init__(self, data_dir: Path, repeat: int) -> None:
        from dashboard import users
        from dashboard.app import create_app
        from dashboard.auth import COOKIE
        from dashboard.sessions import SessionStore
        from pipelines.settings import Settings

        self.tmp = Path(tempfile.mkdtemp(prefix="yiwang-dash-bench-"))
        self.settings = Settings.from_env(
            data_dir=data_dir, security_dir=self.tmp / "security", temp_dir=self.tmp / "tmp"
        )
        sec = self.settings.security_directory
        sec.mkdir(parents=True)
        users.write(
            sec / "users.toml",
            users.demo_users("440304", "440304001", "440304001001", "440304001001001"),
            header="benchmark users",
        )
        self.app = create_app(self.settings)
        store = SessionStore(sec / "sessions.sqlite", idle_seconds=86400, max_seconds=86400)
        token, _ = store.create("admin")
        self.client = self.app.server.test_client()
        self.client.set_cookie(COOKIE, token)
        self.repeat = repeat
        #: The pool as the warm-up left it (``--warm``): "cold" then starts from there.
        self.warmed: list[Any] | None = None
        self.deps: list[dict[str, Any]] = self.client.get("/_dash-dependencies").get_json()
        self.router = next(d for d in self.deps if d["output"] == ROUTER)
        self.results: list[dict[str, Any]] = []

    def _reset_limits(self) -> None:
        for limiter in self.app.server.extensions.get("limiter", ()):
            limiter.reset()

    def post(self, body: dict[str, Any]) -> tuple[float, Any]:
        """POST one Dash request; return its server time (ms) and the response."""
        self._reset_limits()
        c0, t0 = time.process_time(), time.perf_counter()
        response = self.client.post("/_dash-update-component", json=body)
        self.last_cpu_ms = (time.process_time() - c0) * 1000
        return (time.perf_counter() - t0) * 1000, response

    def route_body(self, path: str) -> dict[str, Any]:
        """The router callback's body for ``path``, as the browser sends it."""
        pathname, _, search = path.partition("?")
        values = {
            ("_pages_location", "pathname"): pathname,
            ("_pages_location", "search"): f"?{search}" if search else "",
        }
        return _post_body(self.router, values)

    def measure(self, what: str, level: str, body: dict[str, Any]) -> Any:
        """Time ``body`` cold (caches cleared, or as the warm-up left them) and warm."""
        if self.warmed is None:
            _clear_caches()
        else:
            from dashboard import cache

            cache.POOL.restore(self.warmed)
        cold, response = self.post(body)
        cold_cpu = self.last_cpu_ms
        warm, warm_cpu = [], []
        for _ in range(self.repeat):
            ms, response = self.post(body)
            warm.append(ms)
            warm_cpu.append(self.last_cpu_ms)
        raw = response.get_data()
        row = {
            "what": what,
            "level": level,
            "status": response.status_code,
            "cold_ms": round(cold, 1),
            "warm_ms": round(statistics.median(warm), 1) if warm else None,
            # CPU of the whole process (DuckDB's threads too): steadier on a shared machine
            "cold_cpu_ms": round(cold_cpu, 1),
            "warm_cpu_ms": round(statistics.median(warm_cpu), 1) if warm_cpu else None,
            "bytes": len(raw),
            "gzip_bytes": len(gzip.compress(raw, 6)),
        }
        self.results.append(row)
        sys.stderr.write(
            f"{level:10} {what[:64]:64} {row['status']} cold {row['cold_ms']:7.1f} "
            f"({row['cold_cpu_ms']:7.1f} cpu) warm {row['warm_ms'] or 0:7.1f} "
            f"({row['warm_cpu_ms'] or 0:7.1f} cpu) gz {row['gzip_bytes'] / 1024:7.1f} KiB\n"
        )
        return response

    def units(self) -> dict[str, Any]:
        """The city and, level by level, the busiest child of the one above."""
        from dashboard import access, data

        with access.acting_as(access.SYSTEM):
            city = data.city()
            picked = {"city": city}
            parent = city
            while True:
                ranked = data.child_kpis(parent, PERIOD)
                if ranked.empty:
                    break
                ranked = ranked.sort_values("requests", ascending=False)
                child = data.unit(str(ranked["unit_id"].iloc[0]))
                assert child is not None
                picked[child.level] = child
                parent = child
        return picked

    def pages(self, u: Any) -> list[str]:
        """Every page path of ``u``: its views, its wall (whole and a tile), its phone view."""
        q = f"period={PERIOD}"
        base = "/" if u.level == "city" else f"/{u.level}/{u.unit_id}"
        sep = "?" if "?" not in base else "&"
        paths = [f"{base}{sep}{q}" + ("" if v == "overview" else f"&view={v}") for v in VIEWS]
        if u.level == "grid":
            paths = [p + "&view=overview" if "view=" not in p else p for p in paths]
        wall = "/wall" if u.level == "city" else f"/wall/{u.level}/{u.unit_id}"
        paths += [f"{wall}?{q}", f"{wall}?{q}&layout=2x2&tile=1"]
        if u.level != "city":
            paths.append(f"/grid/{u.unit_id}")
        return paths

    def run_unit(self, u: Any) -> None:
        """Time ``u``'s pages, then every server callback with inputs its pages hold."""
        props: dict[str, dict[str, Any]] = {}
        for path in self.pages(u):
            response = self.measure(f"page {path}", u.level, self.route_body(path))
            if response.status_code == 200:
                _props(response.get_json(), props)
        values: dict[tuple[str, str], Any] = {
            (cid, prop): value for cid, p in props.items() for prop, value in p.items()
        }
        first = self.pages(u)[0]
        pathname, _, search = first.partition("?")
        values[("url", "pathname")] = pathname
        values[("url", "search")] = f"?{search}"
        for graph in ("cockpit-map", "worry-map", "backlog-map", "wall-map"):
            custom = None
            for trace in (props.get(graph, {}).get("figure") or {}).get("data", []):
                c = trace.get("customdata")
                if isinstance(c, list) and c:
                    custom = c[len(c) // 2]
                    break
            values[(graph, "clickData")] = {"points": [{"customdata": custom}]}
        values[("wall-clock", "data")] = {"now": int(time.time() * 1000), "w": 1920, "h": 1080}
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
            values[(slider, "value")] = 3
        for dep in self.deps:
            if dep.get("clientside_function") or dep["output"] == ROUTER:
                continue
            self.measure(f"cb {dep['output']}", u.level, _post_body(dep, values))
            if dep["output"].startswith("..wall-body."):
                # a refresh of a wall that already shows the frame (the common case), and
                # one whose frame changed (a new build, the next tour stop)
                shown = self._key(dep, values)
                for what, key in (("unchanged", shown), ("new frame", None)):
                    self.measure(
                        f"cb wall refresh ({what})",
                        u.level,
                        _post_body(dep, {**values, ("wall-shown", "data"): key}),
                    )

    def _key(self, dep: dict[str, Any], values: dict[tuple[str, str], Any]) -> Any:
        _, response = self.post(_post_body(dep, values))
        try:
            return response.get_json()["response"]["wall-shown"]["data"]
        except (KeyError, TypeError, ValueError):
            return None


def main(argv: list[str] | None = None) -> None:
    """Time every page and callback of the cockpit over ``data_dir``'s warehouse."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--levels", nargs="*")
    parser.add_argument("--profile", help="cProfile one cold render of this path")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument(
        "--warm",
        type=int,
        metavar="DEPTH",
        help="run the server's warm-up (warm_depth DEPTH) first: 'cold' is then the first "
        "answer after it, what a visitor meets once a publish was warmed",
    )
    args = parser.parse_args(argv)
    bench = Bench(args.data_dir, args.repeat)
    if args.warm is not None:
        bench.warmed = _warm_up(args.warm)
    if args.profile:
        body = bench.route_body(args.profile)
        bench.post(body)  # open the build, load dimensions
        _clear_caches()
        profiler = cProfile.Profile()
        profiler.enable()
        ms, response = bench.post(body)
        profiler.disable()
        sys.stderr.write(f"{args.profile}: {response.status_code} {ms:.1f} ms\n")
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(args.sort).print_stats(45)
        return
    t0 = time.perf_counter()
    for level, u in bench.units().items():
        if args.levels and level not in args.levels:
            continue
        bench.run_unit(u)
    out = {
        "data_dir": str(args.data_dir),
        "seconds": round(time.perf_counter() - t0, 1),
        "warm_depth": args.warm,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    out["results"] = bench.results
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
