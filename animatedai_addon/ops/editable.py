"""Make cells editable: turn the cells of an instanced tensor into ordinary keyframed objects."""

import bpy
from bpy.props import BoolProperty, IntProperty

from .. import api
from ..engine.errors import SpecError


def _point_objects(context) -> list:
    selected = [obj for obj in (context.selected_objects or []) if api.is_instanced_tensor(obj)]
    active = context.active_object
    if not selected and api.is_instanced_tensor(active):
        selected = [active]
    return selected


class ANIMATEDAI_OT_make_editable(bpy.types.Operator):
    """Turn the cells of the selected instanced tensors (or a range of their channels) into keyframed
    objects that look the same, so they can be edited by hand"""

    bl_idname = "animatedai.make_editable"
    bl_label = "Make Cells Editable"
    bl_options = {'REGISTER', 'UNDO'}

    use_channel_range: BoolProperty(name="Channel Range", default=False,
                                    description="Only the cells of channels First..Last")
    channel_first: IntProperty(name="First", default=0, min=0, soft_max=255,
                               description="First channel (inclusive)")
    channel_last: IntProperty(name="Last", default=0, min=0, soft_max=255, description="Last channel (inclusive)")

    @classmethod
    def poll(cls, context):
        return bool(_point_objects(context))

    def execute(self, context):
        channels = (self.channel_first, self.channel_last) if self.use_channel_range else None
        if channels is not None and channels[0] > channels[1]:
            self.report({'ERROR'}, f"channels {channels[0]}..{channels[1]}: First must not exceed Last")
            return {'CANCELLED'}
        made = 0
        try:
            for obj in _point_objects(context):
                made += len(api.make_editable(obj, channels=channels))
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"{made:,} cells made editable")
        return {'FINISHED'}

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "use_channel_range")
        row = layout.row(align=True)
        row.enabled = self.use_channel_range
        row.prop(self, "channel_first")
        row.prop(self, "channel_last")


classes = (ANIMATEDAI_OT_make_editable,)

register, unregister = bpy.utils.register_classes_factory(classes)
