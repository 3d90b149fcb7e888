"""Trace the receptive field of the selected output cell: the cells it depends on light up stage by stage."""

import bpy
from bpy.props import FloatProperty

from .. import api
from ..engine.errors import SpecError


class ANIMATEDAI_OT_trace(bpy.types.Operator):
    """Light the cells the selected output cell depends on, stage by stage back to the input, from the
    current frame"""

    bl_idname = "animatedai.trace"
    bl_label = "Trace Receptive Field"
    bl_options = {'REGISTER', 'UNDO'}

    frames_per_stage: FloatProperty(name="Frames per Stage", default=12.0, min=0.01, soft_max=120.0,
                                    description="Frames between one stage lighting up and the one before it")

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == 'MESH' and obj.get("animatedai") == obj.name

    def execute(self, context):
        try:
            collection, node, cell = api.picked_cell(context.active_object)
            made = api.trace(collection, cell, node=node, frames_per_stage=self.frames_per_stage)
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"{node} {cell}: {len(made)} tensors lit")
        return {'FINISHED'}


classes = (ANIMATEDAI_OT_trace,)

register, unregister = bpy.utils.register_classes_factory(classes)
