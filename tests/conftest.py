"""Shared test set-up: markers follow from where a test lives and what it needs.

* tests under ``tests/blender`` and ``tests/render`` are marked ``blender`` (they need the real ``bpy``);
* tests marked ``needs_torch`` are skipped where PyTorch is not installed (the Blender 4.2 environment).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
NEEDS_BPY = (TESTS / "blender", TESTS / "render")


def pytest_collection_modifyitems(config, items):
    has_torch = importlib.util.find_spec("torch") is not None
    skip_torch = pytest.mark.skip(reason="PyTorch is not installed in this environment")
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if any(folder in path.parents for folder in NEEDS_BPY):
            item.add_marker(pytest.mark.blender)
        if not has_torch and item.get_closest_marker("needs_torch") is not None:
            item.add_marker(skip_torch)


def pytest_unconfigure(config):
    """Blender 4.2's bpy module crashes while Python finalises after the add-on's classes were registered
    (any property with a Python callback, even unregistered): end the test process with pytest's own exit
    status before that, so a green run is not reported as exit status 139."""
    import sys
    if "bpy" not in sys.modules:
        return
    from animatedai_addon.scene import compat
    status = getattr(config, "_animatedai_exitstatus", None)
    if status is not None and compat.bpy_crashes_at_exit():
        compat.exit_process(int(status))


def pytest_sessionfinish(session, exitstatus):
    session.config._animatedai_exitstatus = exitstatus
