"""Shared fixtures: a small demo city built once per test run through the real pipeline.

Under pytest-xdist (``scripts/run_pytest.sh`` runs two workers) the city is generated and
built once for the whole run, by whichever worker needs it first, under a file lock in the
run's common temporary folder; every worker then works on its own copy of the built city,
so the app's users file, sessions, audit log and DuckDB temp files stay private to it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelines.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
SMALL_CITY_REQUESTS = 20_000


#: Modules measured slowest (a few minutes each on two busy cores): run before the rest so
#: that, with two workers, neither is left alone with one of them at the end. Only an order.
RUN_FIRST = (
    "tests/pipeline/test_publish.py",
    "tests/pipeline/test_late_data.py",
    "tests/browser/test_languages_browser.py",
    "tests/browser/test_wall_browser.py",
    "tests/dashboard/test_worry_view.py",
)
CITY_FIXTURES = {"small_city", "built_city"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the modules: those that need no demo city, then RUN_FIRST, then the rest.

    Modules stay whole and keep their tests' order. With ``--dist loadfile`` each worker
    takes modules in this order, so one worker runs the city-free modules while the other
    builds the city, and the slowest modules do not start last.
    """
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)

    def rank(module: str) -> tuple[int, int]:
        if not any(CITY_FIXTURES & set(getattr(i, "fixturenames", ())) for i in modules[module]):
            return (0, 0)
        return (1, RUN_FIRST.index(module)) if module in RUN_FIRST else (2, 0)

    ordered = sorted(modules, key=rank)  # stable: collection order within a rank
    items[:] = [item for module in ordered for item in modules[module]]


def _worker() -> str | None:
    """The pytest-xdist worker id (``gw0``, ``gw1``, ...), or None in a plain run."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def _run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder common to every worker of this run (the run's own one if plain)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if _worker() else base


def _once(marker: Path, make: Callable[[], object]) -> None:
    """Run ``make`` unless ``marker`` exists, holding a lock beside it so one worker runs it.

    A worker that finds the lock held waits for the other to finish; when ``make`` raised
    there, no marker was written and the waiting worker tries again (and fails the same way).
    """
    with marker.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            make()
            marker.touch()


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the run's small city (one data folder for every worker; read it only)."""
    data = _run_root(tmp_path_factory) / "small-city"
    return Settings.from_env(
        environ={}, data_dir=data, demo_requests=SMALL_CITY_REQUESTS, memory_limit="2GB"
    )


@pytest.fixture(scope="session")
def small_city(small_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Generate the demo city (20k requests) once per run and return its ground truth."""
    from pipelines.demo import generate

    out = small_settings.data_dir / "01_raw" / "demo"
    _once(
        _run_root(tmp_path_factory) / "small-city.generated",
        lambda: generate(
            out,
            n_requests=small_settings.demo_requests,
            seed=small_settings.demo_seed,
            end=small_settings.demo_end,
            progress=False,
        ),
    )
    truth: dict = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    return truth


@pytest.fixture(scope="session")
def built_city(
    small_settings: Settings, small_city: dict, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Run the whole pipeline on the small city once per run; yields its settings.

    A plain run yields the city itself; an xdist worker gets its own copy of it (copying
    the built folder takes a second; building takes a minute).
    """
    from pipelines.stages import run_all

    _once(_run_root(tmp_path_factory) / "small-city.built", lambda: run_all(small_settings))
    if not _worker():
        yield small_settings
        return
    data = tmp_path_factory.mktemp("city") / "data"
    shutil.copytree(small_settings.data_dir, data, ignore=shutil.ignore_patterns("tmp"))
    yield Settings.from_env(
        environ={}, data_dir=data, demo_requests=SMALL_CITY_REQUESTS, memory_limit="2GB"
    )


@pytest.fixture(scope="session")
def warehouse(built_city: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A read-only connection to a copy of the small city's published warehouse.

    A copy, because DuckDB refuses a second connection to the same file with another
    configuration in one process, and the dashboard keeps its own open to the original.
    """
    from pipelines import catalog, db

    build = catalog.path(built_city, "warehouse_current").read_text().strip()
    path = catalog.path(built_city, "warehouse_builds") / f"{build}.duckdb"
    copy = tmp_path_factory.mktemp("warehouse") / path.name
    shutil.copyfile(path, copy)
    con = db.connect(built_city, copy, read_only=True)
    yield con
    con.close()


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test with a clear message when absent."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (../shared is not beside the project)")
    return path
