"""Shared fixtures: a small demo city built once per session through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
SMALL_CITY_REQUESTS = 20_000


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at a fresh data folder for the session's small city."""
    data = tmp_path_factory.mktemp("city")
    return Settings.from_env(
        environ={}, data_dir=data, demo_requests=SMALL_CITY_REQUESTS, memory_limit="2GB"
    )


@pytest.fixture(scope="session")
def small_city(small_settings: Settings) -> dict:
    """Generate the demo city (20k requests) and return its ground truth."""
    from pipelines.demo import generate

    out = small_settings.data_dir / "01_raw" / "demo"
    return generate(
        out,
        n_requests=small_settings.demo_requests,
        seed=small_settings.demo_seed,
        end=small_settings.demo_end,
        progress=False,
    )


@pytest.fixture(scope="session")
def built_city(small_settings: Settings, small_city: dict) -> Iterator[Settings]:
    """Run the whole pipeline on the small city; yields its settings (data_dir built)."""
    from pipelines.stages import run_all

    run_all(small_settings)
    yield small_settings


@pytest.fixture(scope="session")
def warehouse(built_city: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A read-only connection to a copy of the small city's published warehouse.

    A copy, because DuckDB refuses a second connection to the same file with another
    configuration in one process, and the dashboard keeps its own open to the original.
    """
    import shutil

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
