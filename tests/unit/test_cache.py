"""The dashboard's result pool (dashboard/cache.py): bounded by bytes, one flight per key."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from dashboard.cache import Memo, Pool, size_of


def memo_in(pool: Pool):
    return lambda fn: Memo(fn, pool)


def test_results_are_kept_and_reused():
    pool = Pool()
    calls = []

    @memo_in(pool)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls == [3, 4]
    info = square.cache_info()
    assert (info.hits, info.misses, info.entries) == (1, 2, 2)


def test_the_pool_keeps_its_byte_budget_dropping_the_least_recently_used():
    pool = Pool(max_bytes=3_500_000)

    @memo_in(pool)
    def block(i: int) -> np.ndarray:
        return np.zeros(1_000_000 // 8)  # ≈ 1 MB

    for i in range(3):
        block(i)
    block(0)  # 0 is now the most recently used
    block(3)  # over budget: 1, the least recently used, goes
    assert pool.info().bytes <= 3_500_000
    before = block.cache_info().misses
    block(0)
    block(2)
    assert block.cache_info().misses == before
    block(1)
    assert block.cache_info().misses == before + 1


def test_a_result_larger_than_an_entry_may_be_is_served_but_not_kept():
    pool = Pool(max_bytes=10_000_000, max_entry_bytes=100_000)

    @memo_in(pool)
    def big() -> np.ndarray:
        return np.zeros(1_000_000)

    assert big().shape == (1_000_000,)
    assert pool.info().entries == 0


def test_concurrent_callers_of_a_cold_key_share_one_computation():
    pool = Pool()
    calls = []

    @memo_in(pool)
    def slow(x: int) -> int:
        calls.append(x)
        # finish only once the other seven wait on this computation: a fixed sleep let a
        # thread started late on a busy machine arrive after it and count as a hit
        deadline = time.monotonic() + 30
        while slow.cache_info().waits < 7 and time.monotonic() < deadline:
            time.sleep(0.01)
        return x + 1

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(slow(1))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [2] * 8
    assert calls == [1]
    assert slow.cache_info().waits == 7


def test_errors_are_not_cached_and_waiting_callers_try_again():
    pool = Pool()
    attempts = []

    @memo_in(pool)
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            time.sleep(0.1)
            raise RuntimeError("warehouse gone")
        return "ok"

    outcome: list[str] = []

    def waiter() -> None:
        time.sleep(0.02)
        outcome.append(flaky())

    th = threading.Thread(target=waiter)
    th.start()
    with pytest.raises(RuntimeError):
        flaky()
    th.join()
    assert outcome == ["ok"]
    assert flaky() == "ok"


def test_a_result_computed_across_a_clear_is_returned_but_not_stored():
    pool = Pool()
    started = threading.Event()

    @memo_in(pool)
    def old_build() -> str:
        started.set()
        time.sleep(0.1)
        return "old"

    got: list[str] = []
    th = threading.Thread(target=lambda: got.append(old_build()))
    th.start()
    started.wait()
    pool.clear()
    th.join()
    assert got == ["old"]
    assert pool.info().entries == 0


def test_clearing_one_function_keeps_the_others():
    pool = Pool()

    @memo_in(pool)
    def one(x: int) -> int:
        return x

    @memo_in(pool)
    def two(x: int) -> int:
        return -x

    one(1), two(1)
    one.cache_clear()
    assert (one.cache_info().entries, two.cache_info().entries) == (0, 1)


def test_sizes_are_estimated_deeply():
    frame = pd.DataFrame({"text": ["x" * 1000] * 100, "n": range(100)})
    assert size_of(frame) > 100_000
    figure = {"data": [{"lon": [1.5] * 10_000, "lat": [2.5] * 10_000, "name": "cells"}]}
    assert 300_000 < size_of(figure) < 1_000_000
    assert size_of(np.zeros(1000)) >= 8000


def test_json_results_are_kept_as_bytes_and_handed_out_as_fresh_copies():
    from dashboard.cache import JsonMemo

    pool = Pool()
    calls = []

    def figure(n: int) -> dict:
        calls.append(n)
        return {"data": [{"z": [1.5, float("nan")], "lon": np.arange(n)}], "meta": (1, 2)}

    cached = JsonMemo(figure, pool)
    first = cached(3)
    first["data"][0]["z"].append(99)
    again = cached(3)
    assert again == {"data": [{"z": [1.5, None], "lon": [0, 1, 2]}], "meta": [1, 2]}
    assert calls == [3]
    assert pool.info().bytes < 1000
