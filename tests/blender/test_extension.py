"""The built extension zip: contents, manifest, and install/enable/disable/re-enable in a real Blender.

Blender runs in a subprocess whose user directories (config, scripts, extensions) are a temporary
folder, so the user's own Blender configuration is never read or written.
"""

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("bpy")

pytestmark = pytest.mark.blender

ROOT = Path(__file__).resolve().parents[2]
MODULE = "bl_ext.user_default.animatedai_addon"

INSTALL_SCRIPT = r'''
import importlib, json, sys
import bpy

module = sys.argv[-1]

def registered_types():
    # PropertyGroups and AddonPreferences are not listed in bpy.types: ask every class the package defines.
    bases = (bpy.types.Operator, bpy.types.Panel, bpy.types.Menu, bpy.types.PropertyGroup,
             bpy.types.AddonPreferences)
    ours = {c for b in bases for c in b.__subclasses__() if c.__module__.startswith(module + ".")}
    return sorted({c.__name__ for c in ours if c.is_registered}
                  | {n for n in dir(bpy.types) if n.startswith("ANIMATEDAI_")})

def state():
    generate = getattr(bpy.types, "ANIMATEDAI_OT_generate", None)
    return {
        "enabled": module in bpy.context.preferences.addons,
        "scene_settings": "animatedai" in bpy.types.Scene.bl_rna.properties,
        "types": registered_types(),
        "operator_module": getattr(generate, "__module__", None),
    }

out = {"extensions_dir": bpy.utils.user_resource("EXTENSIONS")}
out["install"] = sorted(bpy.ops.extensions.package_install_files(
    filepath=sys.argv[-2], repo="user_default", enable_on_install=True))
out["installed"] = state()
out["disable"] = sorted(bpy.ops.preferences.addon_disable(module=module))
out["disabled"] = state()
out["enable"] = sorted(bpy.ops.preferences.addon_enable(module=module))
out["enabled"] = state()
# The installed copy works on its own: load a preset and generate it.
out["load_preset"] = sorted(bpy.ops.animatedai.load_preset(name="pixel-shuffle-2x2"))
settings = bpy.context.scene.animatedai
settings.mode, settings.template = "instanced", "studio"   # the template comes from inside the zip
out["generate"] = sorted(bpy.ops.animatedai.generate())
writer = importlib.import_module(module + ".scene.writer")
out["clips"] = sorted(c.name for c in writer.clip_collections())
out["template_lights"] = sorted(o.name for o in bpy.context.scene.objects
                               if o.type == "LIGHT" and o.get("animatedai_template") == "studio")
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_extension.py"), "--output-dir", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    path = Path(run.stdout.strip().splitlines()[-1])
    assert path.parent == out and path.is_file()
    return path


def test_zip_holds_the_package_and_its_manifest(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    for required in ("blender_manifest.toml", "__init__.py", "props.py", "prefs.py", "ops/__init__.py",
                     "ops/generate.py", "panels/__init__.py", "panels/sidebar.py", "api.py", "engine/spec.py",
                     "presets/conv-3x3-stride2-valid.toml"):
        assert required in names
    templates = sorted(p.name for p in (ROOT / "blend_templates").glob("*.blend"))
    assert templates and all(f"blend_templates/{name}" in names for name in templates)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or Path(n).name.startswith(".")]
    manifest = tomllib.loads(zipfile.ZipFile(built_zip).read("blender_manifest.toml").decode())
    assert manifest["id"] == "animatedai_addon"
    assert manifest["name"] == "AnimatedAI"
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["license"] == ["SPDX:MIT"]
    assert "paths_exclude_pattern" in manifest["build"]
    assert built_zip.name == f"animatedai_addon-{manifest['version']}.zip"


def test_zip_installs_enables_disables_and_re_enables(built_zip, tmp_path):
    user = tmp_path / "blender_user"
    env = dict(os.environ, HOME=str(tmp_path), BLENDER_USER_RESOURCES=str(user),
               BLENDER_USER_CONFIG=str(user / "config"), BLENDER_USER_SCRIPTS=str(user / "scripts"),
               BLENDER_USER_EXTENSIONS=str(user / "extensions"), BLENDER_USER_DATAFILES=str(user / "datafiles"))
    script = tmp_path / "install.py"
    script.write_text(INSTALL_SCRIPT)
    run = subprocess.run([sys.executable, str(script), str(built_zip), MODULE], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    results = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and results, run.stdout[-4000:] + run.stderr[-4000:]
    out = json.loads(results[-1].removeprefix("RESULT "))

    assert Path(out["extensions_dir"]).resolve() == (user / "extensions").resolve()
    assert (user / "extensions" / "user_default" / "animatedai_addon" / "blender_manifest.toml").is_file()
    assert out["install"] == ["FINISHED"]
    installed = out["installed"]
    assert installed["enabled"] and installed["scene_settings"]
    assert installed["operator_module"].startswith(MODULE + ".")
    assert {"ANIMATEDAI_OT_generate", "ANIMATEDAI_PT_main", "ANIMATEDAI_PG_settings",
            "ANIMATEDAI_AP_preferences"} <= set(installed["types"])

    assert out["disable"] == ["FINISHED"]
    assert out["disabled"] == {"enabled": False, "scene_settings": False, "types": [], "operator_module": None}

    assert out["enable"] == ["FINISHED"]
    assert out["enabled"] == installed

    assert out["load_preset"] == ["FINISHED"] and out["generate"] == ["FINISHED"]
    assert out["clips"] == ["AnimatedAI pixel shuffle 2x2 12x5x5\u21923x10x10"]
    assert out["template_lights"]          # appended from blend_templates/ inside the extension
