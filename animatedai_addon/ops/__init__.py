"""Operators: thin shells over ``animatedai_addon.api``."""

from . import generate, presets

# Registered in this order, unregistered in reverse.
_modules = (generate, presets)


def register():
    for module in _modules:
        module.register()


def unregister():
    for module in reversed(_modules):
        module.unregister()
