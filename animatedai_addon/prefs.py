"""Add-on preferences: the defaults a scene's settings fall back on."""

from dataclasses import dataclass

import bpy
from bpy.props import EnumProperty, IntProperty

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
    cube_budget: int = 200_000
    instanced_threshold: int = 20_000


class ANIMATEDAI_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    default_template: EnumProperty(
        name="Default Template", items=TEMPLATE_ITEMS, default=Defaults.template,
        description="Stage used when a scene's template is set to 'Preferences'")
    cube_budget: IntProperty(
        name="Cube Budget", default=Defaults.cube_budget, min=1,
        description="Largest number of cubes a clip may have before Generate refuses it")
    instanced_threshold: IntProperty(
        name="Instanced Threshold", default=Defaults.instanced_threshold, min=1,
        description="In 'Auto' mode, clips with more cubes than this use the instanced mode")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "default_template")
        layout.prop(self, "cube_budget")
        layout.prop(self, "instanced_threshold")


def preferences(context=None) -> Defaults:
    """The current preference values; the defaults when the add-on is registered but not enabled
    (scripts that call ``ensure_registered()`` on the ``bpy`` wheel)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is None or addon.preferences is None:
        return Defaults()
    p = addon.preferences
    return Defaults(template=p.default_template, cube_budget=p.cube_budget,
                    instanced_threshold=p.instanced_threshold)


classes = (ANIMATEDAI_AP_preferences,)

register, unregister = bpy.utils.register_classes_factory(classes)
