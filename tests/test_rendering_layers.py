"""Rendering's place in the one-way flow, read from the source (AST): scripts → api → rendering → scene/engine.

Rendering never imports the API (the API hands itself in) nor argparse (command lines are parsed in scripts/).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RENDERING = REPO / "animatedai_addon" / "rendering"


def imported_modules(path: Path, package: str = "animatedai_addon.rendering") -> set[str]:
    """Absolute names of what ``path`` (a module of ``package``) imports: ``from ..api import x`` in a module of
    ``animatedai_addon.rendering`` is ``animatedai_addon.api`` and ``animatedai_addon.api.x``."""
    package = package.split(".")
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_rendering_imports_neither_the_api_nor_argparse():
    modules = sorted(RENDERING.glob("*.py"))
    assert len(modules) >= 5, "the rendering package is split by concern"
    for path in modules:
        names = imported_modules(path)
        assert "animatedai_addon.api" not in names, f"{path.name} imports the API"
        assert "animatedai_addon.farm" not in names, f"{path.name} imports the farm"
        assert not any(n == "argparse" or n.startswith("argparse.") for n in names), f"{path.name} imports argparse"


def test_the_check_finds_an_import_of_the_api(tmp_path):
    """Negative control: the reader above sees a relative import of the API."""
    planted = tmp_path / "planted.py"
    planted.write_text("from .. import api\nfrom ..api import generate\nimport argparse\n")
    names = imported_modules(planted)
    assert {"animatedai_addon.api", "animatedai_addon.api.generate", "argparse"} <= names


def test_the_farm_parses_no_command_line():
    names = imported_modules(REPO / "animatedai_addon" / "farm.py", package="animatedai_addon")
    assert "argparse" not in names
