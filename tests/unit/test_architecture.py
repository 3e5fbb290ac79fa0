"""Module boundaries asserted in a test (h3-py's "bindings match" habit)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pipelines", "dashboard")


def modules() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_only_h3index_imports_an_h3_library():
    offenders = [
        rel(p)
        for p in modules()
        if {"h3", "polars_h3", "h3ronpy"} & {i.split(".")[0] for i in imports_of(p)}
        and rel(p) != "pipelines/h3index.py"
    ]
    assert offenders == []


def test_only_settings_reads_the_environment():
    offenders = [
        rel(p)
        for p in modules()
        if "environ" in p.read_text(encoding="utf-8")
        and "getenv" not in rel(p)
        and rel(p) != "pipelines/settings.py"
    ]
    assert offenders == []


def test_only_db_reads_sql_files():
    offenders = [
        rel(p)
        for p in modules()
        if re.search(r"\.sql[\"']|\bsql/", p.read_text(encoding="utf-8"))
        and rel(p) not in ("pipelines/db.py",)
    ]
    assert offenders == []


@pytest.mark.parametrize("path", [p for p in modules() if rel(p).startswith("dashboard/")], ids=rel)
def test_dashboard_uses_only_the_catalog_and_settings_of_the_pipelines(path):
    # the audit trail is shared with the CLI (``yiwang audit verify``)
    allowed = {"pipelines", "pipelines.catalog", "pipelines.settings", "pipelines.audit"}
    used = {i for i in imports_of(path) if i.split(".")[0] == "pipelines"}
    assert used <= allowed


@pytest.mark.parametrize("path", sorted((ROOT / "pipelines" / "stages").glob("*.py")), ids=rel)
def test_stages_never_import_each_other(path):
    if path.name == "__init__.py":
        return
    others = {f"pipelines.stages.{p.stem}" for p in path.parent.glob("*.py")} - {
        f"pipelines.stages.{path.stem}",
        "pipelines.stages.__init__",
    }
    # publish may read the PENDING-file contract that aggregate owns
    allowed = {"pipelines.stages.aggregate"} if path.stem == "publish" else set()
    assert (imports_of(path) & others) <= allowed


def test_every_module_has_a_docstring():
    missing = [
        rel(p)
        for p in modules()
        if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text("utf-8"))) is None
    ]
    assert missing == []
