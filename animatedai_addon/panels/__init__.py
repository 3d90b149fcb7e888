"""The 3D View sidebar tab "AnimatedAI"."""

from . import sidebar

# Registered in this order, unregistered in reverse.
_modules = (sidebar,)


def register():
    for module in _modules:
        module.register()


def unregister():
    for module in reversed(_modules):
        module.unregister()
