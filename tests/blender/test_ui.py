"""The add-on's Blender UI: registration, scene settings, operators, panels, undo and redo (real bpy)."""

import types

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import animatedai_addon  # noqa: E402
from animatedai_addon import api, props  # noqa: E402
from animatedai_addon.panels import layout as panel_layout  # noqa: E402
from animatedai_addon.engine import presets  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402
from animatedai_addon.engine.timeline import count_cubes  # noqa: E402
from animatedai_addon.prefs import Defaults  # noqa: E402
from animatedai_addon.scene import writer  # noqa: E402
from .conftest import count_datablocks  # noqa: E402

pytestmark = pytest.mark.blender


# --- helpers ------------------------------------------------------------------------------

def addon_type_names() -> set[str]:
    """Names of the add-on's classes Blender has registered (PropertyGroups and AddonPreferences are not
    listed in bpy.types, so every bpy_struct subclass the package defines is asked)."""
    bases = (bpy.types.Operator, bpy.types.Panel, bpy.types.Menu, bpy.types.PropertyGroup,
             bpy.types.AddonPreferences)
    ours = {cls for base in bases for cls in base.__subclasses__() if cls.__module__.startswith("animatedai_addon.")}
    registered = {cls.__name__ for cls in ours if cls.is_registered}
    return registered | {name for name in dir(bpy.types) if name.startswith("ANIMATEDAI_")}


def clip_collections() -> list[str]:
    return sorted(c.name for c in writer.clip_collections())


class RecordingLayout:
    """Stands in for bpy.types.UILayout: records labels (with the alert state) and checks every
    ``prop(data, name)`` names a real property of ``data``."""

    def __init__(self, root=None, alert=False):
        self._root = root or self
        self.alert = alert
        if root is None:
            self.labels, self.props, self.operators, self.menus = [], [], [], []

    def _child(self):
        return RecordingLayout(self._root, self.alert)

    def row(self, **kwargs):
        return self._child()

    column = box = split = row

    def label(self, text="", **kwargs):
        self._root.labels.append((text, self.alert))

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, f"{name!r} is not a property of {data}"
        self._root.props.append(name)

    def operator(self, idname, **kwargs):
        self._root.operators.append(idname)
        return types.SimpleNamespace()

    def menu(self, idname, **kwargs):
        self._root.menus.append(idname)


@pytest.fixture(scope="module", autouse=True)
def registered():
    was_registered = animatedai_addon.is_registered()
    animatedai_addon.ensure_registered()
    yield
    if not was_registered:
        animatedai_addon.unregister()


@pytest.fixture
def settings():
    return bpy.context.scene.animatedai


def small_conv(settings, **changes):
    """A 2-channel 4x4 input, 3x3 valid conv with 2 filters: a clip of a few dozen cubes."""
    values = dict(operation="conv2d", in_channels=2, height=4, width=4, out_channels=2, kernel_size=(3, 3),
                  stride=(1, 1), padding_mode="valid", dilation=(1, 1), groups=1, template="none", mode="objects",
                  input_source="random")
    values.update(changes)
    for name, value in values.items():
        setattr(settings, name, value)


# --- registration ---------------------------------------------------------------------------

def test_register_unregister_reregister_leaves_nothing_behind():
    animatedai_addon.unregister()
    assert addon_type_names() == set()
    assert "animatedai" not in bpy.types.Scene.bl_rna.properties
    assert not hasattr(bpy.types.Scene, "animatedai")

    animatedai_addon.register()
    names = addon_type_names()
    assert {"ANIMATEDAI_OT_generate", "ANIMATEDAI_OT_clear", "ANIMATEDAI_OT_load_preset",
            "ANIMATEDAI_OT_make_editable", "ANIMATEDAI_PT_main",
            "ANIMATEDAI_MT_presets", "ANIMATEDAI_PG_settings", "ANIMATEDAI_AP_preferences"} <= names
    assert bpy.context.scene.animatedai.operation == "conv2d"

    animatedai_addon.unregister()
    assert addon_type_names() == set()
    assert "animatedai" not in bpy.types.Scene.bl_rna.properties

    animatedai_addon.register()
    assert addon_type_names() == names
    animatedai_addon.ensure_registered()   # already registered: a no-op, not an error
    assert addon_type_names() == names


def test_default_settings_are_the_default_clip(settings):
    assert settings.build_spec() == presets.load_preset("conv-3x3-stride2-valid")


# --- presets ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", presets.list_presets())
def test_load_preset_operator_round_trips_every_preset(settings, name):
    assert bpy.ops.animatedai.load_preset(name=name) == {'FINISHED'}
    preset = presets.load_preset_file(name)
    assert settings.build_spec() == preset.spec
    assert settings.build_timing() == preset.timing
    assert settings.build_look() == preset.look


def test_preset_menu_lists_every_preset():
    layout = RecordingLayout()
    menu = types.SimpleNamespace(layout=layout)
    bpy.types.ANIMATEDAI_MT_presets.draw(menu, bpy.context)
    assert layout.operators == ["animatedai.load_preset"] * len(presets.list_presets())


# --- generate -----------------------------------------------------------------------------

def test_generate_builds_the_clip_and_clear_removes_it(settings):
    small_conv(settings)
    before = count_datablocks()
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    label = api.clip_label(settings.build_spec())
    assert clip_collections() == [f"AnimatedAI {label}"]
    assert count_datablocks()["objects"] > before["objects"]

    assert bpy.ops.animatedai.clear() == {'FINISHED'}
    assert clip_collections() == []


def test_operator_arguments_override_scene_settings(settings):
    small_conv(settings)
    assert bpy.ops.animatedai.generate(kernel_size=(2, 2)) == {'FINISHED'}
    assert tuple(settings.kernel_size) == (3, 3)   # the scene's settings are not changed by the call
    assert clip_collections() == ["AnimatedAI conv 2x2 valid 2x4x4\u21922x3x3"]


def test_auto_mode_and_cube_budget_follow_the_preferences(settings):
    small_conv(settings, mode="auto")
    cubes = settings.to_request().cube_count
    assert settings.to_request(Defaults(instanced_threshold=cubes)).options["mode"] == "objects"
    assert settings.to_request(Defaults(instanced_threshold=cubes - 1)).options["mode"] == "instanced"
    with pytest.raises(SpecError, match="cube_budget"):
        settings.to_request(Defaults(cube_budget=cubes - 1))
    settings.template = "preferences"
    assert settings.to_request(Defaults(template="flat")).options["template"] == "flat"
    settings.template = "studio"
    assert settings.to_request(Defaults(template="flat")).options["template"] == "studio"


def test_generate_from_npy_and_image_inputs(settings, tmp_path):
    values = np.arange(2 * 4 * 4, dtype=np.float64).reshape(2, 4, 4)
    np.save(tmp_path / "input.npy", values)
    small_conv(settings, input_source="npy", npy_path=str(tmp_path / "input.npy"))
    np.testing.assert_array_equal(settings.to_request().options["input"], values)
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    Image = pytest.importorskip("PIL.Image")
    Image.new("RGB", (4, 4), (255, 0, 0)).save(tmp_path / "input.png")
    small_conv(settings, input_source="image", image_path=str(tmp_path / "input.png"))
    assert settings.to_request().options["input"].shape == (2, 4, 4)
    assert bpy.ops.animatedai.generate() == {'FINISHED'}


SMALLEST_PRESETS = sorted(presets.list_presets(), key=lambda n: count_cubes(presets.load_preset(n)))


@pytest.mark.parametrize("name", presets.list_presets())
def test_generate_every_preset_instanced(settings, name):
    assert bpy.ops.animatedai.load_preset(name=name) == {'FINISHED'}
    settings.mode, settings.template = "instanced", "none"
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    assert clip_collections() == [f"AnimatedAI {api.clip_label(name)}"]


@pytest.mark.parametrize("name", SMALLEST_PRESETS[:5])
def test_generate_smallest_presets_as_objects(settings, name):
    assert bpy.ops.animatedai.load_preset(name=name) == {'FINISHED'}
    settings.mode, settings.template = "objects", "none"
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    assert clip_collections() == [f"AnimatedAI {api.clip_label(name)}"]


# --- bad input: CANCELLED with the engine's message, nothing created --------------------------

def _wrong_shape_npy(tmp_path):
    path = tmp_path / "wrong.npy"
    np.save(path, np.zeros((3, 4, 4)))
    return dict(input_source="npy", npy_path=str(path))


BAD_SETTINGS = {
    "groups 3 with 8 input channels": (lambda tmp: dict(in_channels=8, out_channels=6, groups=3), "groups=3"),
    "stride 0": (lambda tmp: dict(stride=(0, 1)), "stride="),
    "kernel larger than the padded input": (lambda tmp: dict(kernel_size=(5, 5), padding_mode="explicit",
                                                             padding=(0, 0, 0, 0)), "kernel_size="),
    "upscale factor not dividing the channels": (lambda tmp: dict(operation="pixel_shuffle", in_channels=8,
                                                                  upscale_factor=3), "upscale_factor=3"),
    "npy of the wrong shape": (_wrong_shape_npy, "input="),
}


def _engine_message(settings) -> str:
    with pytest.raises(SpecError) as caught:
        settings.to_request()
    return str(caught.value)


def _assert_cancelled_untouched(call, message, before):
    ops_before = len(bpy.context.window_manager.operators)
    with pytest.raises(RuntimeError) as caught:
        call()
    # bpy.ops turns the operator's ERROR report into RuntimeError("Error: <message>"); an exception
    # escaping execute() would read "Error: Python: Traceback ..." instead
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert count_datablocks() == before
    assert clip_collections() == []
    # a FINISHED operator called like the UI (undo=True) is registered; a CANCELLED one is not
    assert len(bpy.context.window_manager.operators) == ops_before


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_scene_settings_cancel_with_the_engine_message(settings, tmp_path, case):
    make, fragment = BAD_SETTINGS[case]
    small_conv(settings, **make(tmp_path))
    message = _engine_message(settings)
    assert fragment in message
    before = count_datablocks()
    _assert_cancelled_untouched(lambda: bpy.ops.animatedai.generate('EXEC_DEFAULT', True), message, before)


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_operator_arguments_cancel_with_the_engine_message(settings, tmp_path, case):
    make, fragment = BAD_SETTINGS[case]
    small_conv(settings)
    bad = make(tmp_path)
    for name, value in bad.items():
        setattr(settings, name, value)
    message = _engine_message(settings)
    small_conv(settings)   # the scene's settings are valid again: the bad values come as arguments
    before = count_datablocks()
    _assert_cancelled_untouched(lambda: bpy.ops.animatedai.generate('EXEC_DEFAULT', True, **bad), message, before)


def test_unknown_preset_cancels_with_the_engine_message(settings):
    with pytest.raises(SpecError) as caught:
        presets.load_preset_file("conv-9x9-nope")
    before_spec = settings.build_spec()
    before = count_datablocks()
    _assert_cancelled_untouched(lambda: bpy.ops.animatedai.load_preset('EXEC_DEFAULT', True, name="conv-9x9-nope"),
                                str(caught.value), before)
    assert settings.build_spec() == before_spec


# --- panel ----------------------------------------------------------------------------------

def _draw_main_panel():
    layout = RecordingLayout()
    bpy.types.ANIMATEDAI_PT_main.draw(types.SimpleNamespace(layout=layout), bpy.context)
    return layout


def test_panel_shows_the_engine_message_in_red_for_invalid_settings(settings):
    small_conv(settings, in_channels=8, out_channels=8, groups=3)
    message = _engine_message(settings)
    layout = _draw_main_panel()
    shown = " ".join(text for text, alert in layout.labels if alert)
    assert " ".join(shown.split()) == " ".join(message.split())
    assert layout.operators == ["animatedai.generate", "animatedai.clear", "animatedai.make_editable"]
    assert layout.menus == ["ANIMATEDAI_MT_presets"]


def test_panel_shows_no_red_line_for_valid_settings(settings):
    small_conv(settings)
    layout = _draw_main_panel()
    assert layout.labels and not any(alert for _, alert in layout.labels)
    assert any("2x4x4 -> 2x2x2" in text for text, _ in layout.labels)


@pytest.mark.parametrize("operation", [item[0] for item in props.OPERATION_ITEMS])
def test_every_sub_panel_draws_real_properties(settings, operation):
    settings.operation = operation
    for padding_mode, source in (("explicit", "npy"), ("same", "image")):
        settings.padding_mode, settings.input_source = padding_mode, source
        for panel in ("operation", "input", "scene", "timing", "look"):
            layout = RecordingLayout()
            getattr(bpy.types, f"ANIMATEDAI_PT_{panel}").draw(types.SimpleNamespace(layout=layout), bpy.context)
            assert layout.props, panel
    layout = RecordingLayout()
    panel_layout.draw_settings(layout, settings)   # the redo panel's drawing
    assert {"operation", "mode", "timing_fps", "look_gap"} <= set(layout.props)


# --- undo and redo ----------------------------------------------------------------------------
# Background Blender has no undo stack until ``ed.undo_push`` creates one, and ``bpy.ops`` calls push
# undo and register the operator (as a click does) only with undo=True: ``op('EXEC_DEFAULT', True)``.

def test_generate_is_one_undo_step(settings):
    small_conv(settings)
    bpy.ops.ed.undo_push(message="before generate")
    before = count_datablocks()
    assert bpy.ops.animatedai.generate('EXEC_DEFAULT', True) == {'FINISHED'}
    assert bpy.context.window_manager.operators[-1].bl_idname == "ANIMATEDAI_OT_generate"
    made = count_datablocks()
    assert made["objects"] > before["objects"] and clip_collections()

    assert bpy.ops.ed.undo() == {'FINISHED'}   # one step back: everything Generate made is gone
    assert count_datablocks() == before
    assert clip_collections() == []
    assert bpy.ops.ed.redo() == {'FINISHED'}
    assert count_datablocks() == made


def test_redo_re_executes_with_the_changed_operator_properties(settings):
    small_conv(settings)
    bpy.ops.ed.undo_push(message="before generate")
    assert bpy.ops.animatedai.generate('EXEC_DEFAULT', True) == {'FINISHED'}
    op = bpy.context.window_manager.operators[-1]
    names = props.SETTING_NAMES
    # After the first run every parameter is set on the operator, so a re-execution reads the
    # operator's (redo panel's) values, not the scene's.
    assert all(op.properties.is_property_set(name) for name in names if name != "chain_preset")
    redo = {name: getattr(op.properties, name) for name in names if op.properties.is_property_set(name)}
    redo = {k: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v for k, v in redo.items()}
    redo["kernel_size"] = (2, 2)
    settings.kernel_size = (3, 3)
    # What the redo panel does (ED_undo_operator_repeat): undo the last step, run the operator again
    # with its edited properties. (``ed.undo_redo`` itself needs a real window's HUD region.)
    assert bpy.ops.ed.undo() == {'FINISHED'}
    assert bpy.ops.animatedai.generate('EXEC_DEFAULT', True, **redo) == {'FINISHED'}
    assert clip_collections() == ["AnimatedAI conv 2x2 valid 2x4x4\u21922x3x3"]   # and the 3x3 clip was undone
