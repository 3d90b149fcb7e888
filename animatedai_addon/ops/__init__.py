"""Operators: thin shells over ``animatedai_addon.api``."""

import bpy

# Registered in this order, unregistered in reverse.
register, unregister = bpy.utils.register_submodule_factory(__name__, ("generate", "presets", "look", "editable", "single_user", "trace"))
