"""The 3D View sidebar tab "AnimatedAI"."""

import bpy

register, unregister = bpy.utils.register_submodule_factory(__name__, ("sidebar",))
