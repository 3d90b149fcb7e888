"""Add-on preferences: the defaults a scene's settings fall back on.

Only their properties live here; ``api.preferences()`` reads them, the one place that does (the panel and
operators pass the user's choices, e.g. ``mode="auto"`` or ``template="preferences"``, to the API).
"""

import bpy
from bpy.props import EnumProperty, IntProperty

from .api import ADDON_ID, Preferences

Defaults = Preferences          # the values a fresh install starts with

TEMPLATE_ITEMS = (
    ("studio", "Studio", "Camera, soft lights, floor and a neutral world"),
    ("flat", "Flat", "Camera and flat lighting on a plain background, like the Animated AI clips"),
    ("none", "None", "Only the cubes: no camera, lights or world are added"),
)


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


classes = (ANIMATEDAI_AP_preferences,)

register, unregister = bpy.utils.register_classes_factory(classes)
