"""3D View ▸ Sidebar ▸ AnimatedAI: preset menu, parameters in sub-panels, Generate and Clear."""

import functools

import bpy

from ..engine import presets
from ..ops.presets import user_presets
from .layout import draw_input, draw_look, draw_operation, draw_scene, draw_status, draw_timing


@functools.lru_cache(maxsize=1)
def preset_entries() -> tuple[tuple[str, str], ...]:
    """(name, title) of every preset, read once: the menu is drawn on every hover."""
    return tuple((name, presets.load_preset_file(name).title or name) for name in presets.list_presets())


class ANIMATEDAI_MT_presets(bpy.types.Menu):
    """The bundled presets, then the user's (saved with the + button beside the menu)"""

    bl_idname = "ANIMATEDAI_MT_presets"
    bl_label = "Presets"

    def draw(self, context):
        layout = self.layout
        for name, title in preset_entries():
            layout.operator("animatedai.load_preset", text=title).name = name
        mine = user_presets()
        if mine:
            layout.separator()
            layout.label(text="User Presets")
            for title, path in mine:
                layout.operator("animatedai.load_preset", text=title, icon='USER').name = str(path)


class ANIMATEDAI_MT_delete_presets(bpy.types.Menu):
    """The user presets, each deleted by a click (after a confirmation)"""

    bl_idname = "ANIMATEDAI_MT_delete_presets"
    bl_label = "Delete User Preset"

    def draw(self, context):
        for title, path in user_presets():
            self.layout.operator("animatedai.delete_preset", text=title, icon='TRASH').path = str(path)


class _SidebarPanel:
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "AnimatedAI"


class ANIMATEDAI_PT_main(_SidebarPanel, bpy.types.Panel):
    bl_idname = "ANIMATEDAI_PT_main"
    bl_label = "AnimatedAI"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.animatedai
        row = layout.row(align=True)
        row.menu(ANIMATEDAI_MT_presets.bl_idname, text="Load Preset", icon='PRESET')
        row.operator("animatedai.save_preset", text="", icon='ADD')
        row.menu(ANIMATEDAI_MT_delete_presets.bl_idname, text="", icon='REMOVE')
        draw_status(layout, settings, context)
        row = layout.row(align=True)
        row.scale_y = 1.4
        row.operator("animatedai.generate", text="Generate", icon='PLAY')
        row.operator("animatedai.clear", text="Clear", icon='TRASH')
        # enabled when instanced tensors (point objects) are selected
        layout.operator("animatedai.make_editable", icon='OBJECT_DATA')


def _property_split(layout):
    layout.use_property_split = True
    layout.use_property_decorate = False
    return layout


class _SubPanel(_SidebarPanel):
    bl_parent_id = "ANIMATEDAI_PT_main"


class ANIMATEDAI_PT_operation(_SubPanel, bpy.types.Panel):
    bl_label = "Operation"

    def draw(self, context):
        draw_operation(_property_split(self.layout), context.scene.animatedai)


class ANIMATEDAI_PT_input(_SubPanel, bpy.types.Panel):
    bl_label = "Input"

    def draw(self, context):
        draw_input(_property_split(self.layout), context.scene.animatedai)


class ANIMATEDAI_PT_scene(_SubPanel, bpy.types.Panel):
    bl_label = "Scene"

    def draw(self, context):
        draw_scene(_property_split(self.layout), context.scene.animatedai)


class ANIMATEDAI_PT_timing(_SubPanel, bpy.types.Panel):
    bl_label = "Timing"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        draw_timing(_property_split(self.layout), context.scene.animatedai)


class ANIMATEDAI_PT_look(_SubPanel, bpy.types.Panel):
    bl_label = "Look"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        draw_look(_property_split(self.layout), context.scene.animatedai)


classes = (ANIMATEDAI_MT_presets, ANIMATEDAI_MT_delete_presets,
           ANIMATEDAI_PT_main, ANIMATEDAI_PT_operation, ANIMATEDAI_PT_input,
           ANIMATEDAI_PT_scene, ANIMATEDAI_PT_timing, ANIMATEDAI_PT_look)

register, unregister = bpy.utils.register_classes_factory(classes)
