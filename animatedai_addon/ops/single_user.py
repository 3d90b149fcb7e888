"""Make Single-User: give selected cells an animation of their own instead of the one they share with twins."""

import bpy

from .. import api
from ..engine.errors import SpecError
from ..scene import writer


def _selected_cells(context) -> list:
    return [obj for obj in (context.selected_objects or []) if writer.is_ours(obj)
            and obj.animation_data is not None and obj.animation_data.action is not None]


class ANIMATEDAI_OT_make_single_user(bpy.types.Operator):
    """Give the selected cells animation of their own: cells with identical keys share one action slot
    (named '<cell> ×<count>'), so editing one edits all of them until it is made single-user"""

    bl_idname = "animatedai.make_single_user"
    bl_label = "Make Cells Single-User"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return bool(_selected_cells(context))

    def execute(self, context):
        try:
            separated = api.make_single_user(_selected_cells(context))
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"{separated:,} cell{'s' if separated != 1 else ''} made single-user")
        return {'FINISHED'}


classes = (ANIMATEDAI_OT_make_single_user,)

register, unregister = bpy.utils.register_classes_factory(classes)
