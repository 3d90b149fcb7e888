"""The architecture's rules, checked on the code itself (pure Python, no Blender needed).

* the engine imports and runs where ``bpy`` and ``mathutils`` cannot load;
* no import cycle inside ``animatedai_addon`` (read from the AST, lazy function-level imports included);
* ``scene/compat.py`` is the only module that reads Blender's version (read from the AST).

Each rule has a negative control: the same check run on a small bad example fails, so a green rule means
something.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "animatedai_addon"
SCRIPTS = ROOT / "scripts"


# --- 1. the engine needs no Blender -------------------------------------------------------------------------

#: Modules that exist only inside Blender (or its bpy wheel); the engine must load none of them.
BLENDER_MODULES = ("bpy", "_bpy", "mathutils", "bmesh", "bpy_extras", "bl_math", "gpu", "aud", "idprop")

#: Run in a fresh interpreter: a finder placed first on sys.meta_path refuses the Blender modules, so an
#: import of one fails even though this environment has the bpy wheel installed.
ENGINE_SCRIPT = """
import importlib, json, pkgutil, sys

BLOCKED = set({blocked!r})

class RefuseBlender:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is refused in this test: the engine must not need Blender")
        return None

sys.meta_path.insert(0, RefuseBlender())
for name in {extra_imports!r}:
    importlib.import_module(name)
import animatedai_addon.engine as engine
modules = sorted(info.name for info in pkgutil.walk_packages(engine.__path__, engine.__name__ + "."))
for name in modules:
    importlib.import_module(name)
cubes = {{}}
for preset_name in {presets!r}:
    preset = engine.load_preset_file(preset_name)
    timeline = engine.build_timeline(engine.plan(preset.spec, seed=0), preset.timing, preset.look)
    cubes[preset_name] = timeline.cube_count
loaded = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
print(json.dumps({{"modules": modules, "cubes": cubes, "blender_modules_loaded": loaded}}))
"""


def run_without_blender(presets=("conv-3x3-same", "mobilenet-block"), extra_imports=(), blocked=BLENDER_MODULES):
    script = ENGINE_SCRIPT.format(blocked=blocked, presets=list(presets), extra_imports=list(extra_imports))
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_engine_imports_and_runs_where_blender_cannot_load():
    result = run_without_blender()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    engine_modules = {module_name(path, ROOT) for path in (PACKAGE / "engine").rglob("*.py")}
    assert set(report["modules"]) == engine_modules - {"animatedai_addon.engine"}    # every one was imported
    assert report["blender_modules_loaded"] == []
    assert all(count > 0 for count in report["cubes"].values()), report["cubes"]


def test_the_blender_refusal_is_real():
    """Negative control: the same harness fails as soon as something imports bpy."""
    result = run_without_blender(presets=(), extra_imports=["animatedai_addon.scene.compat"])
    assert result.returncode != 0
    assert "bpy is refused in this test" in result.stderr


def test_engine_imports_and_runs_without_torch():
    """torch is optional: only engine.from_torch imports it, inside the function."""
    result = run_without_blender(presets=("dense-vs-conv-dense", "linear-16-4"), blocked=BLENDER_MODULES + ("torch",))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert "animatedai_addon.engine.torch_model" in report["modules"]
    assert report["blender_modules_loaded"] == [] and all(report["cubes"].values())


def test_the_torch_refusal_is_real():
    result = run_without_blender(presets=(), extra_imports=["torch"], blocked=BLENDER_MODULES + ("torch",))
    assert result.returncode != 0 and "torch is refused in this test" in result.stderr


# --- 2. no import cycles -------------------------------------------------------------------------------------

#: Allowed cycles, each the set of modules of one strongly connected component: none. (The last two,
#: api.render <-> rendering and scene writer <-> instanced through clip, went with the rendering and scene splits.)
KNOWN_CYCLES: dict[str, set[str]] = {}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``tree`` imports anywhere (module level and inside functions): a lazy
    import still ties the two modules' responsibilities together. ``from pkg import name`` is an edge to
    the submodule ``pkg.name`` where there is one, else to ``pkg`` itself."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in found if name in known and name != module}


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    paths = {module_name(path, root): path for path in (root / package).rglob("*.py")}
    known = set(paths)
    return {name: imported_modules(ast.parse(path.read_text(), str(path)), name, path.name == "__init__.py", known)
            for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_import_cycles_but_the_known_ones():
    found = cycles(import_graph(ROOT, "animatedai_addon"))
    unexpected = [sorted(component) for component in found if component not in KNOWN_CYCLES.values()]
    assert unexpected == [], "import cycles (module-level or inside functions): " + repr(unexpected)


def test_cycle_finder_sees_lazy_and_relative_cycles(tmp_path):
    """Negative control on a small package: a function-level relative import closing a loop is a cycle."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text("def later():\n    from ..c import thing\n")
    (package / "c.py").write_text("from pkg import a\nimport pkg.sub\n")
    (package / "d.py").write_text("from . import c\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.sub.b"] == {"pkg.c"} and graph["pkg.c"] == {"pkg.a", "pkg.sub"}
    assert cycles(graph) == [{"pkg.a", "pkg.sub.b", "pkg.c"}]


# --- 3. only compat reads Blender's version -----------------------------------------------------------------

#: bpy.app attributes that tell which Blender is running.
VERSION_ATTRIBUTES = {"version", "version_string", "version_file", "version_cycle", "version_char"}


def reads_blender_version(tree: ast.AST) -> list[int]:
    """Lines that read ``bpy.app.version*``: as an attribute of anything named ``app`` or ``….app``, through
    ``getattr(….app, "version…")``, or imported with ``from bpy.app import version…``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in VERSION_ATTRIBUTES and _is_app(node.value):
            lines.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and _is_app(node.args[0]) and isinstance(node.args[1], ast.Constant)
              and node.args[1].value in VERSION_ATTRIBUTES):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "bpy.app" and any(
                alias.name in VERSION_ATTRIBUTES for alias in node.names):
            lines.append(node.lineno)
    return lines


def _is_app(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "app") or (isinstance(node, ast.Name) and node.id == "app")


def test_only_compat_reads_the_blender_version():
    compat = PACKAGE / "scene" / "compat.py"
    sources = sorted(PACKAGE.rglob("*.py")) + sorted(SCRIPTS.rglob("*.py"))
    offenders = {str(path.relative_to(ROOT)): lines for path in sources if path != compat
                 for lines in [reads_blender_version(ast.parse(path.read_text(), str(path)))] if lines}
    assert offenders == {}
    assert reads_blender_version(ast.parse(compat.read_text())), "compat.py itself should be where it is read"


@pytest.mark.parametrize("source", [
    "import bpy\nif bpy.app.version >= (4, 4): pass\n",
    "import bpy as b\nlabel = b.app.version_string\n",
    "from bpy import app\nprint(app.version_file)\n",
    "from bpy.app import version\n",
    "import bpy\nv = getattr(bpy.app, 'version')\n",
])
def test_version_reads_are_found(source):
    assert reads_blender_version(ast.parse(textwrap.dedent(source)))


def test_other_app_attributes_are_not_version_reads():
    assert reads_blender_version(ast.parse("import bpy\nbpy.app.handlers.frame_change_post.clear()\n")) == []
