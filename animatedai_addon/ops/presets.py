"""Presets: load a bundled or user preset into the scene's settings; save and delete user presets.

User presets follow Blender's preset convention: one file per preset in the user's scripts folder,
``<scripts>/presets/animatedai/<name>.toml`` (``bpy.utils.user_resource('SCRIPTS', path=...)``), in the same
TOML form as the bundled presets (spec, timing, look; the input file is not part of a preset).
"""

from pathlib import Path

import bpy
from bpy.props import StringProperty

from ..engine import presets
from ..engine.errors import SpecError

USER_PRESET_SUBDIR = "presets/animatedai"


def user_preset_dir(create: bool = False) -> Path:
    return Path(bpy.utils.user_resource('SCRIPTS', path=USER_PRESET_SUBDIR, create=create))


def user_presets() -> list[tuple[str, Path]]:
    """(shown name, file) of every user preset, sorted by name."""
    folder = user_preset_dir()
    if not folder.is_dir():
        return []
    return sorted((bpy.path.display_name(path.stem), path) for path in folder.glob("*.toml"))


def user_preset_path(name: str) -> Path:
    """The file a user preset called ``name`` is saved in; SpecError for a name that makes no file name."""
    stem = bpy.path.clean_name(name.strip()).lower() if isinstance(name, str) else ""
    if not stem.strip("_"):
        raise SpecError("name", name, "a preset name with letters or digits")
    return user_preset_dir(create=True) / f"{stem}.toml"


def _settings(context):
    return getattr(context.scene, "animatedai", None) if context.scene is not None else None


class ANIMATEDAI_OT_load_preset(bpy.types.Operator):
    """Set the AnimatedAI settings from a preset"""

    bl_idname = "animatedai.load_preset"
    bl_label = "Load AnimatedAI Preset"
    bl_options = {'REGISTER', 'UNDO'}

    name: StringProperty(name="Preset", description="Name of a bundled preset (e.g. conv-3x3-stride2-valid) "
                                                    "or the path of a preset .toml file")

    @classmethod
    def poll(cls, context):
        return _settings(context) is not None

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
            context.scene.animatedai.apply_preset(preset)
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"Loaded preset '{preset.title or preset.name}': {preset.spec.label}, "
                              f"{_shape(preset.spec.input_shape)} -> {_shape(preset.spec.output_shape)}")
        return {'FINISHED'}


def _shape(shape) -> str:
    return "x".join(str(n) for n in shape)


class ANIMATEDAI_OT_save_preset(bpy.types.Operator):
    """Save the current AnimatedAI settings (operation, timing, look) as a user preset"""

    bl_idname = "animatedai.save_preset"
    bl_label = "Save AnimatedAI Preset"
    bl_options = {'REGISTER'}

    name: StringProperty(name="Name", description="Name of the new preset (an existing one is replaced)")

    @classmethod
    def poll(cls, context):
        return _settings(context) is not None

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        settings = context.scene.animatedai
        try:
            path = user_preset_path(self.name)
            preset = presets.Preset(name=path.stem, title=self.name.strip(), description="",
                                    spec=settings.build_spec(), timing=settings.build_timing(),
                                    look=settings.build_look())
            presets.preset_from_dict(path.stem, _toml_table(preset))   # checks it reads back before writing
            presets.save_preset(preset, path)
        except SpecError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"Saved preset '{preset.title}' to {path}")
        return {'FINISHED'}


def _toml_table(preset) -> dict:
    import tomllib
    return tomllib.loads(presets.preset_to_toml(preset))


class ANIMATEDAI_OT_delete_preset(bpy.types.Operator):
    """Delete a user preset (bundled presets cannot be deleted)"""

    bl_idname = "animatedai.delete_preset"
    bl_label = "Delete AnimatedAI Preset"
    bl_options = {'REGISTER'}

    path: StringProperty(name="File", subtype="FILE_PATH", description="The user preset's .toml file")

    @classmethod
    def poll(cls, context):
        return bool(user_presets())

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(self, event)

    def execute(self, context):
        path = Path(self.path)
        if path.resolve() not in {p.resolve() for _, p in user_presets()}:
            self.report({'ERROR'}, str(SpecError("path", self.path, "a user preset file in "
                                                 + str(user_preset_dir()))))
            return {'CANCELLED'}
        path.unlink()
        self.report({'INFO'}, f"Deleted preset '{bpy.path.display_name(path.stem)}'")
        return {'FINISHED'}


classes = (ANIMATEDAI_OT_load_preset, ANIMATEDAI_OT_save_preset, ANIMATEDAI_OT_delete_preset)

register, unregister = bpy.utils.register_classes_factory(classes)
