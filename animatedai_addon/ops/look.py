"""Filter colours: add a swatch (starting at the palette's hue for that filter) or remove the last one."""

import bpy

from ..engine import palette


def _colors(context):
    settings = getattr(context.scene, "animatedai", None) if context.scene is not None else None
    return None if settings is None else settings.look_filter_colors


class ANIMATEDAI_OT_filter_color_add(bpy.types.Operator):
    """Give the next filter (and its output channel) its own colour, starting from the palette's"""

    bl_idname = "animatedai.filter_color_add"
    bl_label = "Add Filter Colour"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return _colors(context) is not None

    def execute(self, context):
        colors = _colors(context)
        k = len(colors)
        colors.add().color = tuple(float(v) for v in palette.filter_colors(k + 1)[k])
        return {'FINISHED'}


class ANIMATEDAI_OT_filter_color_remove(bpy.types.Operator):
    """Remove the last filter colour (that filter takes the palette's hue again)"""

    bl_idname = "animatedai.filter_color_remove"
    bl_label = "Remove Filter Colour"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        colors = _colors(context)
        return colors is not None and len(colors) > 0

    def execute(self, context):
        colors = _colors(context)
        colors.remove(len(colors) - 1)
        return {'FINISHED'}


classes = (ANIMATEDAI_OT_filter_color_add, ANIMATEDAI_OT_filter_color_remove)

register, unregister = bpy.utils.register_classes_factory(classes)
