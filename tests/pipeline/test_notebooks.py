"""The analyst notebooks run top to bottom on the small built city, and are kept clean.

Each notebook is executed by nbclient in a fresh Jupyter kernel (the ``python3`` kernel:
the Python running the tests, so the project's venv) reading the data folder named by
``YIWANG_DATA_DIR``, as an analyst's kernel would. A failing cell fails the test with the
cell's source and traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from pipelines import catalog
from pipelines.settings import Settings

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 300


@pytest.fixture
def kernel_env(built_city: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment a kernel started now inherits; returns its working directory.

    The data folder, a non-GUI matplotlib backend, and IPython and Jupyter folders of the
    test's own, so no profile, startup file or runtime file of the machine is used.
    """
    monkeypatch.setenv("YIWANG_DATA_DIR", str(built_city.data_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    work = tmp_path / "work"
    work.mkdir()
    return work


def execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run every cell in a new ``python3`` kernel; a cell error fails the test."""
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        return client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"a notebook cell failed:\n{exc}", pytrace=False)


def test_there_are_the_three_notebooks():
    assert [p.stem for p in NOTEBOOKS] == ["hotspot_exploration", "monthly_review", "sla_deep_dive"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_is_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.metadata.kernelspec.name == "python3"


def test_the_kernel_is_the_python_running_the_tests(built_city: Settings, kernel_env: Path):
    source = "import os, sys\nprint(sys.executable, sys.prefix, os.environ['YIWANG_DATA_DIR'])"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    out = execute(nb, kernel_env).cells[0].outputs
    printed = "".join(o.get("text", "") for o in out).split()
    assert printed == [sys.executable, sys.prefix, str(built_city.data_dir)]


def test_a_failing_cell_fails_the_test_with_its_source_and_traceback(kernel_env: Path):
    cells = ["x = 1", "def broken():\n    return 1 / 0\n\nbroken()", "x = 2"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with pytest.raises(pytest.fail.Exception) as info:
        execute(nb, kernel_env)
    message = str(info.value)
    assert "return 1 / 0" in message and "ZeroDivisionError" in message
    assert nb.cells[2].get("execution_count") is None  # nothing ran after it


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_top_to_bottom_on_the_built_city(
    path: Path, built_city: Settings, kernel_env: Path
):
    nb = execute(nbformat.read(path, as_version=4), kernel_env)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert [o for c in code for o in c.outputs if o.output_type == "error"] == []
    # the first cell ends with api.connect(): the build of YIWANG_DATA_DIR, not of data/
    build = catalog.path(built_city, "warehouse_current").read_text(encoding="utf-8").strip()
    assert code[0].outputs[-1]["data"]["text/plain"] == repr(build)
