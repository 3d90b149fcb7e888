"""Generate and Clear: the sidebar's buttons, each one call of the scripting API.

Clicked in the UI (``INVOKE``), both run in steps (a tensor, a clip) with progress in the status bar and
Esc to cancel (see :mod:`.progress`); the redo panel and scripts (``EXEC``) run them in one call.
"""

import bpy
from bpy.props import EnumProperty

from .. import api
from ..engine.errors import SpecError
from ..panels.layout import draw_settings
from ..props import SettingsMixin, settings_annotations
from ..scene import writer
from .progress import ProgressJob


class _Stepped:
    """Shared by Generate and Clear: run ``work(progress)`` in steps from a timer, Esc cancels."""

    def run_in_steps(self, context, work, title: str) -> set:
        if context.window is None or bpy.app.background:   # no event loop to step in: one call
            return self.execute(context)
        self._job = ProgressJob(work, title)
        self._job.start(context)
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.001, window=context.window)
        wm.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        try:
            state = self._job.handle(context, event.type)
        except SpecError as exc:
            state = {'CANCELLED'}
            self.report({'ERROR'}, str(exc))
        except BaseException:               # a bug: the job has undone its work; stop the timer too
            context.window_manager.event_timer_remove(self._timer)
            raise
        if 'RUNNING_MODAL' in state:
            return state
        context.window_manager.event_timer_remove(self._timer)
        if self._job.cancelled:
            self.report({'WARNING'}, f"{self._job.title} cancelled: nothing changed")
            return state
        if 'FINISHED' in state:
            return self.finish(context, self._job.stepper.result)
        return state

    def finish(self, context, result) -> set:
        """What the operator reports when its job is done (Generate and Clear say more)."""
        self.report({'INFO'}, f"{self._job.title} done")
        return {'FINISHED'}


class ANIMATEDAI_OT_generate(_Stepped, SettingsMixin, bpy.types.Operator):
    """Build the animated clip the AnimatedAI settings describe (one undo step; Esc cancels)"""

    bl_idname = "animatedai.generate"
    bl_label = "Generate AnimatedAI Clip"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and hasattr(context.scene, "animatedai")

    def _request(self, context):
        # Parameters the caller did not give come from the scene's settings; after the first
        # run all are set, so the redo panel's edits are what a re-execution uses.
        self.copy_from(context.scene.animatedai, only_unset=True)
        try:
            return self.to_request()
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return None

    def _work(self, context, request):
        scene = context.scene

        def work(progress):
            return api.generate(request.spec, scene=scene, progress=progress, **request.options)
        return work

    def invoke(self, context, event):
        request = self._request(context)
        if request is None:
            return {'CANCELLED'}
        self._cubes = request.cube_count
        return self.run_in_steps(context, self._work(context, request), "Generate")

    def execute(self, context):
        request = self._request(context)
        if request is None:
            return {'CANCELLED'}
        self._cubes = request.cube_count
        try:
            result = self._work(context, request)(None)
        except SpecError as exc:   # raised before the scene is changed
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        return self.finish(context, result)

    def finish(self, context, result) -> set:
        if result.mode == "objects":
            show_object_colors(context)
        if getattr(result, "message", ""):      # e.g. an edited clip was kept and the new one written beside it
            self.report({'WARNING'}, result.message)
        self.report({'INFO'}, f"{result.collection.name}: {self._cubes:,} cubes, "
                              f"frames {result.frame_start}-{result.frame_end}")
        return {'FINISHED'}

    def draw(self, context):
        draw_settings(self.layout, self, context)


# Operator properties are not remembered between calls (SKIP_SAVE): the scene's settings are the defaults.
ANIMATEDAI_OT_generate.__annotations__ = settings_annotations({'SKIP_SAVE'})


def show_object_colors(context) -> None:
    """Solid shading in the open 3D Views shows each object's colour (the cells' colours in objects mode)."""
    windows = context.window_manager.windows if context.window_manager else ()
    for window in windows:
        for area in window.screen.areas:
            if area.type == 'VIEW_3D':
                for space in area.spaces:
                    if space.type == 'VIEW_3D':
                        space.shading.color_type = 'OBJECT'


class ANIMATEDAI_OT_clear(_Stepped, bpy.types.Operator):
    """Remove generated AnimatedAI clips from the scene (Esc cancels)"""

    bl_idname = "animatedai.clear"
    bl_label = "Clear AnimatedAI Clips"
    bl_options = {'REGISTER', 'UNDO'}

    which: EnumProperty(
        name="Clear", default="all", description="Which clips to remove",
        items=(("all", "All Clips", "Every AnimatedAI clip in the scene"),
               ("current", "Current Settings", "Only the clip of the operation the settings describe")))

    @classmethod
    def poll(cls, context):
        return context.scene is not None and hasattr(context.scene, "animatedai") and bool(writer.clip_collections())

    def _work(self, context):
        spec = context.scene.animatedai.build_spec() if self.which == "current" else None
        scene = context.scene

        def work(progress):
            return api.clear(spec, scene=scene, progress=progress)
        return work

    def invoke(self, context, event):
        try:
            work = self._work(context)
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        return self.run_in_steps(context, work, "Clear")

    def execute(self, context):
        try:
            removed = self._work(context)(None)
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        return self.finish(context, removed)

    def finish(self, context, removed) -> set:
        self.report({'INFO'}, f"Removed {removed} AnimatedAI clip{'s' if removed != 1 else ''}")
        return {'FINISHED'}


classes = (ANIMATEDAI_OT_generate, ANIMATEDAI_OT_clear)

register, unregister = bpy.utils.register_classes_factory(classes)
