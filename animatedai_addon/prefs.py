"""Add-on preferences: the defaults a scene's settings fall back on."""

from dataclasses import dataclass

import bpy
from bpy.props import EnumProperty, IntProperty

from .engine.budget import CUBE_BUDGETS

# The add-on's module name: "animatedai_addon", or "bl_ext.<repo>.animatedai_addon" as an extension.
ADDON_ID = __package__

TEMPLATE_ITEMS = (
    ("studio", "Studio", "Camera, soft lights, floor and a neutral world"),
    ("flat", "Flat", "Camera and flat lighting on a plain background, like the Animated AI clips"),
    ("none", "None", "Only the cubes: no camera, lights or world are added"),
)


@dataclass(frozen=True)
class Defaults:
    """The preference values, also used where the add-on is registered without being enabled."""

    template: str = "studio"
    objects_budget: int = CUBE_BUDGETS["objects"]
    instanced_budget: int = CUBE_BUDGETS["instanced"]
    instanced_threshold: int = 20_000

    def cube_budget(self, mode: str) -> int:
        """The most cubes a clip of ``mode`` ("objects" or "instanced") may have."""
        return self.instanced_budget if mode == "instanced" else self.objects_budget


class ANIMATEDAI_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    default_template: EnumProperty(
        name="Default Template", items=TEMPLATE_ITEMS, default=Defaults.template,
        description="Stage used when a scene's template is set to 'Preferences'")
    objects_budget: IntProperty(
        name="Objects Budget", default=Defaults.objects_budget, min=1, soft_max=200_000,
        description="Most cubes a clip in objects mode may have (about 36 KB of memory each) before Generate "
                    "refuses it")
    instanced_budget: IntProperty(
        name="Instanced Budget", default=Defaults.instanced_budget, min=1, soft_max=20_000_000,
        description="Most cubes a clip in instanced mode may have (about 0.5 KB of memory each) before "
                    "Generate refuses it")
    instanced_threshold: IntProperty(
        name="Instanced Threshold", default=Defaults.instanced_threshold, min=1, soft_max=200_000,
        description="In 'Auto' mode, clips with more cubes than this use the instanced mode")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "default_template")
        layout.prop(self, "objects_budget")
        layout.prop(self, "instanced_budget")
        layout.prop(self, "instanced_threshold")


def preferences(context=None) -> Defaults:
    """The current preference values; the defaults when the add-on is registered but not enabled
    (scripts that call ``ensure_registered()`` on the ``bpy`` wheel)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is None or addon.preferences is None:
        return Defaults()
    p = addon.preferences
    return Defaults(template=p.default_template, objects_budget=p.objects_budget,
                    instanced_budget=p.instanced_budget, instanced_threshold=p.instanced_threshold)


classes = (ANIMATEDAI_AP_preferences,)

register, unregister = bpy.utils.register_classes_factory(classes)
