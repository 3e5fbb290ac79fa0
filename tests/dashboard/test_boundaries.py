"""Dashboard module boundaries, asserted (style guide §2.2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def modules() -> list[Path]:
    return sorted(DASHBOARD.rglob("*.py"))


def test_only_data_touches_duckdb():
    users = {p.relative_to(DASHBOARD).as_posix() for p in modules() if "duckdb" in imports_of(p)}
    assert users == {"data.py"}


@pytest.mark.parametrize(
    "path",
    [DASHBOARD / "figures.py", *sorted((DASHBOARD / "components").glob("*.py"))],
    ids=lambda p: p.name,
)
def test_figures_and_components_are_pure(path):
    used = imports_of(path)
    assert not {"dashboard.data", "dashboard.callbacks", "dashboard.app", "duckdb"} & used
    assert not any(name in used for name in ("dash.callback", "dash.Input", "dash.Output"))


@pytest.mark.parametrize("path", sorted((DASHBOARD / "pages").glob("*.py")), ids=lambda p: p.name)
def test_pages_never_import_the_app(path):
    assert "dashboard.app" not in imports_of(path)


def test_no_module_loads_data_at_import_time():
    # Module level may define constants and functions only: no calls into the data layer.
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            for call in ast.walk(node) if isinstance(node, (ast.Expr, ast.Assign)) else ():
                if isinstance(call, ast.Attribute) and isinstance(call.value, ast.Name):
                    assert call.value.id != "data", f"{path.name}: data.{call.attr} at import"
