"""AnimatedAI: convolution-family operations as animated cube tensors in Blender.

The package imports no ``bpy`` at import time, so the numpy engine
(``animatedai_addon.engine``) works in plain Python. Blender loads this package
as an add-on/extension and calls :func:`register`; users of the ``bpy`` wheel
call :func:`ensure_registered` once to get the operators, panels and
``Scene.animatedai`` settings.
"""

import importlib

# Registered in this order, unregistered in reverse: the settings before the
# operators that read them, the operators before the panels that draw their buttons.
_MODULE_NAMES = ("prefs", "props", "ops", "panels")


def _modules():
    return [importlib.import_module(f".{name}", __name__) for name in _MODULE_NAMES]


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()


def is_registered() -> bool:
    """True when this add-on's scene settings exist (registered by any copy of the add-on)."""
    import bpy
    return "animatedai" in bpy.types.Scene.bl_rna.properties


def ensure_registered() -> None:
    """Register the add-on's classes unless they already are (for scripts using the ``bpy`` wheel)."""
    if not is_registered():
        register()
