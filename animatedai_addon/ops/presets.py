"""Load a preset into the scene's settings."""

import bpy
from bpy.props import StringProperty

from ..engine import presets
from ..engine.errors import SpecError


class ANIMATEDAI_OT_load_preset(bpy.types.Operator):
    """Set the AnimatedAI settings from a preset"""

    bl_idname = "animatedai.load_preset"
    bl_label = "Load AnimatedAI Preset"
    bl_options = {'REGISTER', 'UNDO'}

    name: StringProperty(name="Preset", description="Name of the preset, e.g. conv-3x3-stride2-valid")

    @classmethod
    def description(cls, context, properties):
        try:
            preset = presets.load_preset_file(properties.name)
        except SpecError as exc:
            return str(exc)
        return preset.description or preset.title

    def execute(self, context):
        try:
            preset = presets.load_preset_file(self.name)
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        context.scene.animatedai.apply_preset(preset)
        return {'FINISHED'}


classes = (ANIMATEDAI_OT_load_preset,)

register, unregister = bpy.utils.register_classes_factory(classes)
