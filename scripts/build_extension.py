#!/usr/bin/env python
"""Build the installable Blender extension zip into dist/.

Runs Blender's own extension builder (``blender_ext.py build``, what
``blender --command extension build`` and ``bpy.ops.extensions.package_build`` run),
so the manifest is validated and ``[build] paths_exclude_pattern`` is honoured the
way Blender does it. The package is first staged with the scene templates
(``blend_templates/*.blend``) copied inside it, where an installed extension
looks for them.

    .venv/bin/python scripts/build_extension.py [--output-dir dist]

Prints the path of the zip.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "animatedai_addon"
TEMPLATES = ROOT / "blend_templates"


def blender_ext_cli() -> Path:
    """Blender's extension command-line tool, from the installed ``bpy`` module."""
    import bpy
    cli = Path(bpy.utils.system_resource('SCRIPTS')) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    if not cli.is_file():
        raise FileNotFoundError(f"Blender's extension builder is not at {cli}")
    return cli


def stage_package(stage: Path) -> Path:
    """Copy the package (without caches) and the .blend templates into ``stage``; returns the package copy."""
    source = stage / PACKAGE.name
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    blends = sorted(TEMPLATES.glob("*.blend")) if TEMPLATES.is_dir() else []
    if blends:
        (source / "blend_templates").mkdir(exist_ok=True)
        for blend in blends:
            shutil.copy2(blend, source / "blend_templates" / blend.name)
    return source


def build(output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="animatedai_ext_") as tmp:
        source = stage_package(Path(tmp))
        built = Path(tmp) / "built"
        built.mkdir()
        subprocess.run([sys.executable, str(blender_ext_cli()), "build", "--source-dir", str(source),
                        "--output-dir", str(built)], check=True)
        zips = list(built.glob("*.zip"))
        if len(zips) != 1:
            raise RuntimeError(f"expected one zip from Blender's builder, got {zips}")
        target = output_dir / zips[0].name
        shutil.move(str(zips[0]), target)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    print(build(args.output_dir.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
