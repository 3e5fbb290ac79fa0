"""The dashboard's result cache: one memory budget, least recently used out, one computation.

Every cached read of :mod:`dashboard.data` and the heatmap figures of
:mod:`dashboard.cockpit` keep their results here (``@memo(...)``, in place of
``functools.lru_cache``), because three things matter under load that ``lru_cache`` does
not do:

* **A byte budget.** ``lru_cache(maxsize=256)`` bounds entries, not memory: 256 SLA lists
  of 5,000 request rows, or 256 backlog matrices, are gigabytes on a large city. Here every
  result's size is estimated when it is stored (:func:`size_of`) and the least recently
  used results go once the pool holds more than :data:`MAX_BYTES`, so a server's memory
  stays flat however many units its users open (docs/benchmarks.md). A result larger than
  :data:`MAX_ENTRY_BYTES` is returned but not kept.
* **One computation per key.** When fifty walls ask for the same cold frame right after a
  publish, the first caller computes it and the others wait for that result instead of
  running the same warehouse query fifty times over (a "single flight").
* **Stale results never come back, nor stay.** Clearing (a new build) starts a new
  generation: a computation that began before it returns its result to its callers but
  does not store it, so a result of the old build neither lingers nor holds the old build's
  connection open.

Results are shared by all users and threads: callers treat them as read-only. Entries are
keyed by the function and its arguments, which must be hashable (the build is the first
argument of the data layer's functions, so a new build misses everything at once).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields, is_dataclass
from functools import update_wrapper
from typing import Any, Generic, ParamSpec, TypeVar

import numpy as np
import orjson
import pandas as pd

from dashboard import serialise

P = ParamSpec("P")
R = TypeVar("R")

#: The pool's default budget (setting ``cache_mb``): what the cached results of one server
#: process may hold at most. On the 1 M demo a unit's six views in a few periods hold about
#: 0.5 MB, so this keeps the last ~250 units opened warm, and a 10-minute load test
#: reaches the ceiling early and stays there (RSS flat; docs/benchmarks.md).
MAX_BYTES = 128 * 1024 * 1024
#: The default largest result kept (setting ``cache_entry_mb``): a result above it is served
#: but not kept, as it would push out dozens of others (the largest seen, a city's backlog
#: matrix or a district's figure, are 2-5 MB).
MAX_ENTRY_BYTES = 16 * 1024 * 1024
#: Containers with more items than this are sized from a sample of them (a figure holds
#: thousands of polygons; walking every coordinate cost more than the query it cached).
_SAMPLE = 16


def size_of(value: Any, _depth: int = 0) -> int:
    """Estimate the memory held by ``value`` in bytes (within tens of percent).

    Frames count their columns deeply (strings included), arrays their buffers, and
    containers their items; long containers are sized from :data:`_SAMPLE` evenly spaced
    items, so sizing a large figure takes well under a millisecond.
    """
    if _depth > 12:
        return 64
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=True).sum())
    if isinstance(value, pd.Series):
        return int(value.memory_usage(index=True, deep=True))
    if isinstance(value, pd.Index):
        return int(value.memory_usage(deep=True))
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return sys.getsizeof(value)
    if isinstance(value, dict):
        items: list[Any] = list(value.items())
    elif isinstance(value, list | tuple):
        items = value  # type: ignore[assignment]
    elif isinstance(value, set | frozenset):
        items = list(value)
    elif is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, f.name, None) for f in fields(value)]
    else:
        return sys.getsizeof(value)
    n = len(items)
    picked = items if n <= _SAMPLE else [items[i * n // _SAMPLE] for i in range(_SAMPLE)]
    inner = sum(size_of(x, _depth + 1) for x in picked)
    return sys.getsizeof(value) + inner * n // max(len(picked), 1)


@dataclass
class _Flight:
    """A computation in progress: later callers of the same key wait on ``done``."""

    done: threading.Event
    value: Any = None
    failed: bool = False


@dataclass
class CacheInfo:
    """Counters of one cached function, or of the whole pool (``function=None``)."""

    function: str | None
    hits: int
    misses: int
    waits: int
    entries: int
    bytes: int


class Pool:
    """Cached results of every memoised function, bounded together by bytes.

    Parameters
    ----------
    max_bytes
        Total estimated size kept; least recently used results go beyond it.
    max_entry_bytes
        Results larger than this are not kept.
    """

    def __init__(self, max_bytes: int = MAX_BYTES, max_entry_bytes: int = MAX_ENTRY_BYTES):
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self._bytes = 0
        self._generation = 0
        self._stats: dict[str, list[int]] = {}

    def _count(self, name: str, i: int) -> None:
        self._stats.setdefault(name, [0, 0, 0])[i] += 1

    def get_or_compute(self, name: str, key: Hashable, compute: Callable[[], R]) -> R:
        """Return the cached result for ``key``, computing it once if absent."""
        full = (name, key)
        with self._lock:
            found = self._entries.get(full)
            if found is not None:
                self._entries.move_to_end(full)
                self._count(name, 0)
                hit: R = found[0]
                return hit
            flight = self._flights.get(full)
            owner = flight is None
            if flight is None:
                flight = self._flights[full] = _Flight(threading.Event())
                self._count(name, 1)
            else:
                self._count(name, 2)
            generation = self._generation
        if not owner:
            flight.done.wait()
            if not flight.failed:
                shared: R = flight.value
                return shared
            # the first caller failed (its error went to it): try again, uncached
            return compute()
        try:
            value = compute()
        except BaseException:
            with self._lock:
                self._flights.pop(full, None)
            flight.failed = True
            flight.done.set()
            raise
        size = size_of(value) + size_of(key) + 200
        with self._lock:
            if self._flights.get(full) is flight:
                del self._flights[full]
            if generation == self._generation and size <= self.max_entry_bytes:
                old = self._entries.pop(full, None)
                if old is not None:
                    self._bytes -= old[1]
                self._entries[full] = (value, size)
                self._bytes += size
                while self._bytes > self.max_bytes and self._entries:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        flight.value = value
        flight.done.set()
        return value

    def resize(self, max_bytes: int, max_entry_bytes: int) -> None:
        """Change the budgets; results beyond the new one go, least recently used first."""
        with self._lock:
            self.max_bytes = max_bytes
            self.max_entry_bytes = max_entry_bytes
            for full in [k for k, v in self._entries.items() if v[1] > max_entry_bytes]:
                self._bytes -= self._entries.pop(full)[1]
            while self._bytes > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self, name: str | None = None) -> None:
        """Forget the results of function ``name`` (all when ``None``)."""
        with self._lock:
            if name is None:
                self._entries.clear()
                self._bytes = 0
                # computations under way finish for their callers but are not stored
                self._generation += 1
                return
            for full in [k for k in self._entries if k[0] == name]:  # type: ignore[index]
                self._bytes -= self._entries.pop(full)[1]

    def snapshot(self) -> list[tuple[Hashable, tuple[Any, int]]]:
        """The cached results now, least recently used first (benchmarks: :meth:`restore`)."""
        with self._lock:
            return list(self._entries.items())

    def restore(self, entries: list[tuple[Hashable, tuple[Any, int]]]) -> None:
        """Hold exactly ``entries`` (a :meth:`snapshot`) again, as a new generation."""
        with self._lock:
            self._generation += 1
            self._entries = OrderedDict(entries)
            self._bytes = sum(size for _, (_, size) in entries)

    def info(self, name: str | None = None) -> CacheInfo:
        """Hits, misses, waits (callers served by another's computation), entries, bytes."""
        with self._lock:
            if name is None:
                hits, misses, waits = (sum(s[i] for s in self._stats.values()) for i in range(3))
                return CacheInfo(None, hits, misses, waits, len(self._entries), self._bytes)
            mine = [v[1] for k, v in self._entries.items() if k[0] == name]  # type: ignore[index]
            hits, misses, waits = self._stats.get(name, [0, 0, 0])
            return CacheInfo(name, hits, misses, waits, len(mine), sum(mine))


#: The process's pool, shared by every memoised function.
POOL = Pool()


class Memo(Generic[P, R]):
    """A function whose results live in :data:`POOL` (see :func:`memo`)."""

    def __init__(self, fn: Callable[P, R], pool: Pool) -> None:
        self._fn = fn
        self._pool = pool
        self._name = f"{fn.__module__}.{fn.__qualname__}"
        update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Return ``fn(*args, **kwargs)``, from the pool when it holds it."""
        key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
        return self._pool.get_or_compute(self._name, key, lambda: self._fn(*args, **kwargs))

    def cache_clear(self) -> None:
        """Forget this function's results (as ``functools.lru_cache`` does)."""
        self._pool.clear(self._name)

    def cache_info(self) -> CacheInfo:
        """Return the counters and pool share of this function."""
        return self._pool.info(self._name)


def memo(fn: Callable[P, R]) -> Memo[P, R]:
    """Cache ``fn``'s results in the shared, byte-bounded pool, one computation per key."""
    return Memo(fn, POOL)


class JsonMemo(Memo[P, R]):
    """A :class:`Memo` for plot figures: kept as JSON bytes, handed out as fresh dicts.

    A map figure is a tree of dicts and lists holding tens of thousands of numbers. Kept as
    Python objects, every cached figure adds to what each full garbage collection walks
    (a full collection of this app already takes ~100 ms) and costs 3-5x its JSON size in
    memory. As bytes it is one object of its JSON size; ``orjson.loads`` rebuilds it in a
    few milliseconds per use, and each caller gets its own copy to change. NaN comes back
    as ``None`` (JSON has no NaN; the browser gets ``null`` either way) and tuples as lists.
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Return a fresh copy of ``fn(*args, **kwargs)``, from the pool when it holds it."""
        key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
        text = self._pool.get_or_compute(
            self._name,
            key,
            lambda: orjson.dumps(
                self._fn(*args, **kwargs), default=serialise.default, option=_JSON_OPTIONS
            ),
        )
        value: R = orjson.loads(text)
        return value


_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def memo_json(fn: Callable[P, R]) -> JsonMemo[P, R]:
    """Like :func:`memo`, for results that are plain JSON data (figures): see JsonMemo."""
    return JsonMemo(fn, POOL)


def clear() -> None:
    """Forget every cached result (a new build is served)."""
    POOL.clear()


def configure(max_mb: int, max_entry_mb: int) -> None:
    """Set :data:`POOL`'s budgets in MiB (the settings ``cache_mb`` and ``cache_entry_mb``)."""
    POOL.resize(max_mb * 1024 * 1024, max_entry_mb * 1024 * 1024)
