"""Operators: thin shells over ``animatedai_addon.api``."""

from . import editable, generate, presets

# Registered in this order, unregistered in reverse.
_modules = (generate, presets, editable)


def register():
    for module in _modules:
        module.register()


def unregister():
    for module in reversed(_modules):
        module.unregister()
