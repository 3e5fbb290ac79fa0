"""Warm the served build's caches in the background, so the first visitor is not the one who waits.

On a 10 M-request warehouse the first answer of a page that scans the request table (the
backlog playback, the SLA lists, the worry explanation, the grid chief's lists) takes
0.5-5 s; every later answer comes from :mod:`dashboard.cache` in tens of milliseconds
(docs/benchmarks.md, issue 8). When a build starts being served (the server starts, or the
publisher swaps ``CURRENT``), one background thread renders the top of the drill tree
ahead of its visitors: every view, the wall and the grid chief's view of the city and,
down to ``warm_depth`` levels, of its units, in the default period and language.

Rules it keeps:

* **It never makes a request wait.** It is one thread, rendering one page at a time, each
  started when the server is idle (no request in flight, counted by :func:`install`) or,
  under steady load, after :data:`PATIENCE` seconds of waiting for that; a visitor asking
  for a result the warm-up is computing waits for that computation instead of starting
  a second one (the pool's single flight), which is never slower.
* **It is bounded.** It stops at :data:`SHARE` of the pool's budget (warmed results never
  push out what visitors opened), after :data:`MAX_SECONDS`, when the served build
  changes (a new warm-up follows the new build) and at exit.
* **It changes nothing anyone sees.** It renders as the system principal through the same
  page functions, so it fills exactly the cache keys those pages read. Scope checks run
  before the caches (:mod:`dashboard.data`), so a cached result still reaches a user only
  through the checks of their own request. Nothing is audited: no one viewed anything.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Flask

from dashboard import access, cache, cockpit, data, grid_view, routes, wall

log = logging.getLogger(__name__)

#: The warm-up stops once the pool holds this share of its budget.
SHARE = 0.75
#: Nor does it run longer than this (a huge city with a deep ``warm_depth``).
MAX_SECONDS = 900.0
#: How often it looks whether the server became idle (seconds).
POLL = 0.05
#: Under steady load the server is never idle: a page starts after this long anyway (s).
PATIENCE = 2.0


@dataclass(frozen=True)
class Page:
    """One page to render ahead: what :func:`render` gets, and a name for the log."""

    name: str
    render: Callable[[], object]


class _InFlight:
    """Requests being served right now (incremented and decremented by Flask hooks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def enter(self) -> None:
        with self._lock:
            self.count += 1

    def leave(self, _exc: BaseException | None = None) -> None:
        with self._lock:
            self.count = max(0, self.count - 1)


IN_FLIGHT = _InFlight()


def install(server: Flask) -> None:
    """Count ``server``'s requests in flight, so the warm-up runs only in idle moments."""
    server.before_request_funcs.setdefault(None, []).insert(0, IN_FLIGHT.enter)
    # teardown runs after every request, failed ones included
    server.teardown_request_funcs.setdefault(None, []).append(IN_FLIGHT.leave)


def pages(depth: int) -> Iterator[Page]:
    """The pages warmed for ``depth`` levels, the city first, then level by level.

    Units of a level come busiest first (most requests in the default period), so a
    warm-up cut short by its budget has done the ones most people open.
    """
    lang = data.settings().language
    period = data.DEFAULT_PERIOD
    level_units: list[data.Unit] = [data.city()]
    for level in range(depth):
        for u in level_units:
            yield from _unit_pages(u, period, lang)
        if level + 1 >= depth:
            return
        below: list[data.Unit] = []
        for u in level_units:
            ranked = data.child_kpis(u, period).sort_values(
                ["requests", "unit_id"], ascending=[False, True], kind="stable"
            )
            units = (data.unit(str(uid)) for uid in ranked["unit_id"])
            below += [c for c in units if c is not None]
        level_units = below


def _unit_pages(u: data.Unit, period: str, lang: str) -> Iterator[Page]:
    unit_id = None if u.level == "city" else u.unit_id
    for view in routes.VIEWS:

        def view_page(view: str = view) -> object:
            return cockpit.render(u.level, unit_id, period=period, view=view, lang=lang)

        yield Page(f"{u.level} {u.unit_id} {view}", view_page)
    yield Page(
        f"{u.level} {u.unit_id} wall",
        lambda: wall.render(u.level, unit_id, period=period, lang=lang),
    )
    if u.level != "city":
        yield Page(
            f"{u.level} {u.unit_id} chief", lambda: grid_view.chief_view(u.unit_id, lang=lang)
        )


class Warmer:
    """Renders :func:`pages` for one build in a daemon thread (one warm-up at a time).

    Parameters
    ----------
    depth
        Levels warmed (``warm_depth``): 0 none, 1 the city, 2 with its children, ...
    idle
        Returns whether a page may start now (default: no request in flight).
    patience
        Seconds after which a page starts even if the server never became idle.
    """

    def __init__(
        self, depth: int, idle: Callable[[], bool] | None = None, patience: float = PATIENCE
    ) -> None:
        self.depth = depth
        self.idle = idle or (lambda: IN_FLIGHT.count == 0)
        self.patience = patience
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pending = False
        self.warmed: list[str] = []

    def start(self, _build: object = None) -> None:
        """Warm the build being served, unless a warm-up is already running.

        A running warm-up notices a new build itself (it stops), so a swap during one
        starts the next from :meth:`data.Warehouse.build`'s listener once it has ended.
        """
        if self.depth <= 0:
            return
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            if running and self._thread is not threading.current_thread():
                self._pending = True
                return
            self._pending = False
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="yiwang-warmup", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the page being rendered (and wait for it, at most ``timeout`` s)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the warm-up under way to finish (tests, benchmarks)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        try:
            self._warm()
        except Exception:  # a warm-up never takes the server down
            log.exception("warm-up stopped")
        with self._lock:
            again = self._pending and not self._stop.is_set()
        if again:
            self.start()

    def _warm(self) -> None:
        t0 = time.monotonic()
        with access.acting_as(access.SYSTEM):
            try:
                build = data.current_build().name
            except data.WarehouseUnavailableError:
                return  # nothing served yet; the next build's listener starts us
            self.warmed = []
            done = 0
            for page in pages(self.depth):
                if not self._wait_idle(t0):
                    break
                if data.current_build().name != build:
                    break
                if cache.POOL.info().bytes > SHARE * cache.POOL.max_bytes:
                    break
                started = time.monotonic()
                try:
                    page.render()
                except data.WarehouseUnavailableError:
                    break
                except Exception:
                    log.exception("warm-up of %s failed", page.name)
                    continue
                done += 1
                self.warmed.append(page.name)
                log.debug("warmed %s in %.0f ms", page.name, (time.monotonic() - started) * 1000)
        log.info(
            "warm-up of build %s: %d pages in %.1f s, pool %.1f MiB",
            build,
            done,
            time.monotonic() - t0,
            cache.POOL.info().bytes / 2**20,
        )

    def _wait_idle(self, t0: float) -> bool:
        since = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now - t0 > MAX_SECONDS:
                return False
            if self.idle() or now - since >= self.patience:
                return True
            time.sleep(POLL)
        return False


def start(depth: int) -> Warmer:
    """Warm the served build now and every build served after it (see :class:`Warmer`).

    Returns
    -------
    Warmer
        The warmer, also the data layer's new-build listener; it stops at exit.
    """
    warmer = Warmer(depth)
    data.on_new_build(warmer.start)
    atexit.register(warmer.stop)
    warmer.start()
    return warmer
