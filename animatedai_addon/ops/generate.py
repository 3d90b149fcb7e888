"""Generate and Clear: the sidebar's buttons, each one call of the scripting API."""

import bpy
from bpy.props import EnumProperty

from .. import api
from ..engine.errors import SpecError
from ..panels.layout import draw_settings
from ..prefs import preferences
from ..props import SettingsMixin, settings_annotations


class ANIMATEDAI_OT_generate(SettingsMixin, bpy.types.Operator):
    """Build the animated clip the AnimatedAI settings describe (one undo step)"""

    bl_idname = "animatedai.generate"
    bl_label = "Generate AnimatedAI Clip"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        # Parameters the caller did not give come from the scene's settings; after the first
        # run all are set, so the redo panel's edits are what a re-execution uses.
        self.copy_from(context.scene.animatedai, only_unset=True)
        try:
            request = self.to_request(preferences(context))
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        wm = context.window_manager
        wm.progress_begin(0, 2)
        try:
            wm.progress_update(1)
            result = api.generate(request.spec, scene=context.scene, **request.options)
            wm.progress_update(2)
        except SpecError as exc:   # raised before the scene is changed
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        finally:
            wm.progress_end()
        if result.message:      # e.g. an edited clip was kept and the new one written beside it
            self.report({'WARNING'}, result.message)
        self.report({'INFO'}, f"{result.collection.name}: {request.cube_count:,} cubes, "
                              f"frames {result.frame_start}-{result.frame_end}")
        return {'FINISHED'}

    def draw(self, context):
        draw_settings(self.layout, self, context)


# Operator properties are not remembered between calls (SKIP_SAVE): the scene's settings are the defaults.
ANIMATEDAI_OT_generate.__annotations__ = settings_annotations({'SKIP_SAVE'})


class ANIMATEDAI_OT_clear(bpy.types.Operator):
    """Remove generated AnimatedAI clips from the scene"""

    bl_idname = "animatedai.clear"
    bl_label = "Clear AnimatedAI Clips"
    bl_options = {'REGISTER', 'UNDO'}

    which: EnumProperty(
        name="Clear", default="all",
        items=(("all", "All Clips", "Every AnimatedAI clip in the scene"),
               ("current", "Current Settings", "Only the clip of the operation the settings describe")))

    def execute(self, context):
        try:
            spec = context.scene.animatedai.build_spec() if self.which == "current" else None
            removed = api.clear(spec, scene=context.scene)
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"Removed {removed} AnimatedAI clip{'s' if removed != 1 else ''}")
        return {'FINISHED'}


classes = (ANIMATEDAI_OT_generate, ANIMATEDAI_OT_clear)

register, unregister = bpy.utils.register_classes_factory(classes)
