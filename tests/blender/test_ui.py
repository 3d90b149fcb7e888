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
from animatedai_addon.scene import clip as clips, writer  # noqa: E402
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

    def separator(self, **kwargs):
        pass


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


@pytest.fixture
def user_preferences():
    """The add-on's preferences as Blender keeps them for an enabled add-on (Edit > Preferences > Add-ons)."""
    animatedai_addon.ensure_registered()
    addon = bpy.context.preferences.addons.new()
    addon.module = api.ADDON_ID
    yield addon.preferences
    bpy.context.preferences.addons.remove(addon)


def test_auto_mode_and_cube_budget_follow_the_preferences(settings, user_preferences):
    """The panel passes "auto" and "preferences" through; the API decides from the user's preferences."""
    small_conv(settings, mode="auto", template="preferences")
    request = settings.to_request()
    cubes = request.cube_count
    assert request.options["mode"] == "auto" and request.options["template"] == "preferences"
    assert "cube_budget" not in request.options
    user_preferences.instanced_threshold = cubes
    assert settings.to_request().mode == "objects"
    user_preferences.instanced_threshold = cubes - 1
    assert settings.to_request().mode == "instanced"
    user_preferences.instanced_threshold = cubes
    user_preferences.objects_budget = cubes - 1
    with pytest.raises(SpecError, match="cube_budget"):
        settings.to_request()
    settings.mode = "instanced"
    assert settings.to_request().mode == "instanced"     # the objects budget does not limit an instanced clip
    user_preferences.instanced_budget = cubes - 1
    with pytest.raises(SpecError, match="raise cube_budget") as caught:
        settings.to_request()
    assert "mode='instanced'" not in str(caught.value)   # already instanced: only raising the budget helps


def test_generate_reads_the_preferences_itself(settings, user_preferences):
    """api.generate(mode="auto", template="preferences") as a script calls it, without the panel."""
    small_conv(settings)
    spec = settings.build_spec()
    cubes = count_cubes(spec)
    user_preferences.instanced_threshold = cubes - 1
    user_preferences.default_template = "none"
    result = api.generate(spec, mode="auto", template="preferences")
    assert result.mode == "instanced"
    assert bpy.context.scene.camera is None, "the preferences' template 'none' adds no stage"
    api.clear()
    user_preferences.instanced_threshold = cubes
    user_preferences.objects_budget = cubes - 1
    with pytest.raises(SpecError, match="cube_budget"):
        api.generate(spec, mode="auto")
    assert api.generate(spec, mode="auto", cube_budget=cubes).mode == "objects"   # an explicit budget wins
    with pytest.raises(SpecError) as caught:
        api.generate(spec, template="nope", cube_budget=cubes)
    assert caught.value.parameter == "template" and "preferences" in str(caught.value)


def test_preferences_without_the_add_on_enabled_are_the_defaults():
    assert api.preferences() == api.Preferences()
    assert api.Preferences().cube_budget("instanced") == api.CUBE_BUDGETS["instanced"]


def _save_png(path, width, height, rgba_rows):
    """A PNG written by Blender (no Pillow): ``rgba_rows[y][x]`` with row 0 at the top."""
    image = bpy.data.images.new("written", width, height)
    pixels = np.asarray(rgba_rows, np.float32)[::-1]           # Blender's first row is the bottom one
    image.pixels.foreach_set(pixels.ravel())
    image.filepath_raw, image.file_format = str(path), 'PNG'
    image.save()
    bpy.data.images.remove(image)


def test_generate_from_npy_and_image_inputs(settings, tmp_path, monkeypatch):
    values = np.arange(2 * 4 * 4, dtype=np.float64).reshape(2, 4, 4)
    np.save(tmp_path / "input.npy", values)
    small_conv(settings, input_source="npy", npy_path=str(tmp_path / "input.npy"))
    np.testing.assert_array_equal(settings.to_request().options["input"], values)
    assert bpy.ops.animatedai.generate() == {'FINISHED'}

    # an 8x8 image, red on top, green below: read by Blender's loader, as Blender's Python has no Pillow
    monkeypatch.setitem(__import__("sys").modules, "PIL", None)
    rows = [[(1, 0, 0, 1)] * 8] * 4 + [[(0, 1, 0, 1)] * 8] * 4
    _save_png(tmp_path / "input.png", 8, 8, rows)
    images_before = len(bpy.data.images)
    small_conv(settings, input_source="image", image_path=str(tmp_path / "input.png"))
    read = settings.to_request().options["input"]
    assert read.shape == (2, 4, 4) and len(bpy.data.images) == images_before   # the loaded image is gone
    np.testing.assert_allclose(read[0], [[1] * 4] * 2 + [[0] * 4] * 2, atol=0.02)   # channel 0: red, top half
    np.testing.assert_allclose(read[1], [[0] * 4] * 2 + [[1] * 4] * 2, atol=0.02)   # channel 1: green
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    import animatedai_addon.api as aai                                   # and from a script
    result = aai.generate(settings.build_spec(), input=str(tmp_path / "input.png"), template=None)
    np.testing.assert_allclose(result.plan.input, read)


def test_huge_image_is_refused_from_its_header_before_loading(settings, tmp_path):
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    header = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
              + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
    (tmp_path / "huge.png").write_bytes(header)
    small_conv(settings, input_source="image", image_path=str(tmp_path / "huge.png"))
    before = count_datablocks()
    with pytest.raises(SpecError) as caught:
        settings.to_request()
    assert caught.value.parameter == "input" and "25,000,000 pixels" in str(caught.value)
    assert "100000 x 100000" in str(caught.value)
    assert count_datablocks() == before
    assert any(alert for _, alert in _draw_main_panel().labels)           # the panel says so in red


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
    "close-up cell not a cell": (lambda tmp: dict(use_closeup=True, closeup_cell="1;0"), "closeup="),
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
    assert layout.operators == ["animatedai.save_preset", "animatedai.generate", "animatedai.clear",
                                "animatedai.make_editable"]
    assert layout.menus == ["ANIMATEDAI_MT_presets", "ANIMATEDAI_MT_delete_presets"]


def test_panel_shows_no_red_line_for_valid_settings(settings):
    small_conv(settings)
    layout = _draw_main_panel()
    assert layout.labels and not any(alert for _, alert in layout.labels)
    assert any("2x4x4 -> 2x2x2" in text for text, _ in layout.labels)


def test_status_line_shows_duration_and_cubes_before_generate(settings):
    small_conv(settings, timing_fps=30)
    text = [t for t, _ in _draw_main_panel().labels]
    cubes = settings.to_request().cube_count
    assert f"{cubes:,} cubes, objects mode" in text
    import animatedai_addon.api as aai
    result = aai.generate(settings.build_spec(), timing=settings.build_timing(), template=None)
    frames = result.frame_end - result.frame_start + 1
    assert f"{frames:,} frames, {frames / 30:.1f} s at 30 FPS" in text
    assert not any("instanced" in t for t in text)                       # a small clip plays fine


def test_closeup_from_the_panel(settings):
    """Scene ▸ Close-up: Generate ends the clip with the camera's move to the cell's products, the status line
    counts its frames, and a cell the clip does not have shows red there and cancels Generate untouched."""
    small_conv(settings, template="studio", use_closeup=True, closeup_cell="1, 0,1")
    assert settings.to_request().options["closeup"] == (1, 0, 1)
    text = [t for t, _ in _draw_main_panel().labels]
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    clip = bpy.data.collections[clip_collections()[0]]
    record = clips.record(clip)
    assert any(o.name.endswith("closeup sum") for o in clip.all_objects)
    alone = api.generate(settings.build_spec(), timing=settings.build_timing(), look=settings.build_look(),
                         template="studio", closeup=(1, 0, 1), scene=bpy.data.scenes.new("another"))
    frames = alone.frame_end - alone.frame_start + 1
    assert alone.closeup is not None and record["version"] == 1
    assert any(t.startswith(f"{frames:,} frames") for t in text), text
    settings.closeup_cell = "5,0,0"                         # 2 output channels
    layout = _draw_main_panel()
    assert layout.labels[0][1] and "closeup=" in " ".join(t for t, _ in layout.labels)
    before = count_datablocks()
    with pytest.raises(RuntimeError, match="closeup="):
        bpy.ops.animatedai.generate('EXEC_DEFAULT', True)
    assert count_datablocks() == before


def test_status_line_advises_instanced_mode_where_objects_would_play_slowly(settings):
    small_conv(settings, in_channels=8, height=24, width=24, out_channels=8, padding_mode="same")
    assert settings.to_request().cube_count > 1 / (24 * panel_layout.OBJECTS_SECONDS_PER_CUBE)
    text = " ".join(t for t, _ in _draw_main_panel().labels)
    assert "Objects mode would play at about" in text and "instanced mode plays smoothly" in text
    settings.mode = "instanced"
    assert "would play" not in " ".join(t for t, _ in _draw_main_panel().labels)


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
    settings.look_filter_colors.add().color = (1.0, 0.0, 0.0, 1.0)
    bpy.ops.ed.undo_push(message="before generate")
    assert bpy.ops.animatedai.generate('EXEC_DEFAULT', True) == {'FINISHED'}
    op = bpy.context.window_manager.operators[-1]
    names = props.SETTING_NAMES
    # After the first run every parameter is set on the operator, so a re-execution reads the
    # operator's (redo panel's) values, not the scene's.
    assert all(op.properties.is_property_set(name) for name in names if name != "chain_preset")
    redo = {name: getattr(op.properties, name) for name in names if op.properties.is_property_set(name)}
    redo = {k: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v for k, v in redo.items()}
    redo["look_filter_colors"] = [{"name": "", "color": tuple(item.color)} for item in redo["look_filter_colors"]]
    redo["kernel_size"] = (2, 2)
    settings.kernel_size = (3, 3)
    # What the redo panel does (ED_undo_operator_repeat): undo the last step, run the operator again
    # with its edited properties. (``ed.undo_redo`` itself needs a real window's HUD region.)
    assert bpy.ops.ed.undo() == {'FINISHED'}
    assert bpy.ops.animatedai.generate('EXEC_DEFAULT', True, **redo) == {'FINISHED'}
    assert clip_collections() == ["AnimatedAI conv 2x2 valid 2x4x4\u21922x3x3"]   # and the 3x3 clip was undone


# --- Blender conventions ------------------------------------------------------------------------

def _own_properties(cls) -> list:
    """The properties a class of the add-on defines (not those every Operator / PropertyGroup has)."""
    if issubclass(cls, bpy.types.Operator):
        module, name = cls.bl_idname.split(".")
        rna = getattr(getattr(bpy.ops, module), name).get_rna_type()
        base = {"rna_type"}
    else:
        rna = cls.bl_rna
        base = {p.identifier for b in (bpy.types.PropertyGroup, bpy.types.AddonPreferences)
                for p in b.bl_rna.properties}
    return [p for p in rna.properties if p.identifier not in base]


def _addon_classes():
    from animatedai_addon import prefs
    ops = [getattr(bpy.types, name) for name in dir(bpy.types) if name.startswith("ANIMATEDAI_OT_")]
    return ops + [props.ANIMATEDAI_PG_settings, props.ANIMATEDAI_PG_color, prefs.ANIMATEDAI_AP_preferences]


def test_every_property_has_a_tooltip_and_every_integer_soft_limits():
    checked = 0
    for cls in _addon_classes():
        for prop in _own_properties(cls):
            checked += 1
            assert prop.description.strip(), f"{cls.__name__}.{prop.identifier} has no tooltip"
            if prop.type == "INT":
                assert prop.soft_max <= 100_000_000, f"{cls.__name__}.{prop.identifier} drags to {prop.soft_max}"
                assert prop.soft_min >= 0, f"{cls.__name__}.{prop.identifier} drags to {prop.soft_min}"
            if prop.type == "ENUM":
                assert all(item.description for item in prop.enum_items), f"{cls.__name__}.{prop.identifier}"
    assert checked > 60


def test_sizes_are_distances_shading_a_factor_and_fps_reads_fps():
    rna = props.ANIMATEDAI_PG_settings.bl_rna.properties
    for name in ("look_cube_size", "look_gap", "look_tensor_gap"):
        assert rna[name].subtype == "DISTANCE", name
    assert rna["look_value_shading"].subtype == "FACTOR"
    assert (rna["look_value_shading"].hard_min, rna["look_value_shading"].hard_max) == (0.0, 1.0)
    assert rna["timing_fps"].name == "FPS"
    assert rna["look_padding_color"].subtype == "COLOR"


def test_every_operator_has_a_poll_and_clear_needs_a_clip(settings):
    for cls in _addon_classes():
        if issubclass(cls, bpy.types.Operator):
            assert callable(getattr(cls, "poll", None)), cls.__name__
    assert not bpy.ops.animatedai.clear.poll()          # greyed out: nothing to clear
    assert not bpy.ops.animatedai.filter_color_remove.poll()
    small_conv(settings)
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    assert bpy.ops.animatedai.clear.poll()


def test_load_preset_reports_what_it_loaded(settings, capfd):
    capfd.readouterr()
    assert bpy.ops.animatedai.load_preset(name="pixel-shuffle-2x2") == {'FINISHED'}
    out = capfd.readouterr().out
    assert "Loaded preset 'Pixel shuffle, 2x2 blocks'" in out and "12x5x5 -> 3x10x10" in out


# --- colours ------------------------------------------------------------------------------------

def _cell_name(obj) -> str:
    return obj.name.rpartition(":")[2]        # without a clip-number prefix ("1:input[c0,y0,x0]")


def _cells_of(tensor: str) -> list:
    return [o for o in bpy.data.objects if _cell_name(o).startswith(f"{tensor}[")]


def test_filter_and_padding_colours_set_in_the_panel_colour_the_clip(settings):
    small_conv(settings, padding_mode="same")
    assert bpy.ops.animatedai.filter_color_add() == {'FINISHED'}
    first = settings.look_filter_colors[0]
    palette_red = tuple(first.color)
    assert palette_red[0] > 3 * max(palette_red[1], palette_red[2])   # a new swatch starts at the palette's red
    first.color = (0.0, 0.2, 1.0, 1.0)
    settings.look_padding_color = (1.0, 1.0, 0.0, 0.5)
    assert bpy.ops.animatedai.generate('INVOKE_DEFAULT') == {'FINISHED'}
    assert all(np.allclose(o.color, (0.0, 0.2, 1.0, 1.0), atol=1e-6) for o in _cells_of("filter0"))
    out0 = [o for o in _cells_of("output") if _cell_name(o).startswith("output[c0,")]
    bpy.context.scene.frame_set(bpy.context.scene.frame_end)
    assert out0 and all(np.allclose(o.color, (0.0, 0.2, 1.0, 1.0), atol=1e-6) for o in out0)
    assert not np.allclose(_cells_of("filter1")[0].color, (0.0, 0.2, 1.0, 1.0))   # the palette's hue
    assert all(np.allclose(o.color, (1.0, 1.0, 0.0, 0.5)) for o in _cells_of("input padding"))
    # the Solid viewport now shows object (cell) colours
    shading = [s.shading for a in bpy.context.screen.areas if a.type == 'VIEW_3D' for s in a.spaces
               if s.type == 'VIEW_3D']
    assert shading and all(sh.color_type == 'OBJECT' for sh in shading)
    assert bpy.ops.animatedai.filter_color_remove() == {'FINISHED'}
    assert len(settings.look_filter_colors) == 0 and settings.build_look().filter_colors == ()


def test_bad_colour_from_a_script_is_named(settings):
    small_conv(settings)
    with pytest.raises(SpecError) as caught:
        import animatedai_addon.api as aai
        aai.generate(settings.build_spec(), look={"filter_colors": [(1, 0, 0)]})
    assert caught.value.parameter == "look.filter_colors"


# --- user presets -------------------------------------------------------------------------------

@pytest.fixture
def user_scripts(tmp_path, monkeypatch):
    """The user's scripts folder (where Blender keeps user presets), empty, in a temporary place."""
    monkeypatch.setenv("BLENDER_USER_SCRIPTS", str(tmp_path / "scripts"))
    return tmp_path / "scripts"


def _menu_entries(menu_name):
    layout = RecordingLayout()
    recorded = []
    layout.operator = lambda idname, text="", **kw: recorded.append((idname, text)) or types.SimpleNamespace()
    getattr(bpy.types, menu_name).draw(types.SimpleNamespace(layout=layout), bpy.context)
    return recorded


def test_save_load_and_delete_a_user_preset(settings, user_scripts):
    assert not bpy.ops.animatedai.delete_preset.poll()
    small_conv(settings, kernel_size=(2, 2), timing_fps=30, look_gap=0.25)
    settings.look_filter_colors.add().color = (0.1, 0.9, 0.1, 1.0)
    saved_spec, saved_timing, saved_look = settings.build_spec(), settings.build_timing(), settings.build_look()
    assert bpy.ops.animatedai.save_preset(name="My Small Conv") == {'FINISHED'}
    path = user_scripts / "presets" / "animatedai" / "my_small_conv.toml"
    assert path.is_file()
    assert ("animatedai.load_preset", "My Small Conv") in _menu_entries("ANIMATEDAI_MT_presets")
    bundled = [e for e in _menu_entries("ANIMATEDAI_MT_presets") if e[1] != "My Small Conv"]
    assert len(bundled) == len(presets.list_presets())               # listed beside the bundled ones

    assert bpy.ops.animatedai.load_preset(name="conv-3x3-same") == {'FINISHED'}
    assert settings.build_spec() != saved_spec
    assert bpy.ops.animatedai.load_preset(name=str(path)) == {'FINISHED'}
    assert (settings.build_spec(), settings.build_timing(), settings.build_look()) == \
        (saved_spec, saved_timing, saved_look)

    assert _menu_entries("ANIMATEDAI_MT_delete_presets") == [("animatedai.delete_preset", "My Small Conv")]
    assert bpy.ops.animatedai.delete_preset(path=str(path)) == {'FINISHED'}
    assert not path.exists() and _menu_entries("ANIMATEDAI_MT_delete_presets") == []


def test_bundled_presets_cannot_be_deleted_and_bad_names_are_refused(settings, user_scripts):
    small_conv(settings)
    with pytest.raises(RuntimeError, match="name"):
        bpy.ops.animatedai.save_preset(name=" / ")
    assert bpy.ops.animatedai.save_preset(name="mine") == {'FINISHED'}
    bundled = presets.PRESET_DIR / "conv-3x3-valid.toml"
    with pytest.raises(RuntimeError, match="user preset"):
        bpy.ops.animatedai.delete_preset(path=str(bundled))
    assert bundled.is_file()


# --- progress and Esc -------------------------------------------------------------------------
# A click runs Generate / Clear as a modal operator driven by a timer; background Blender has no event
# loop, so these tests send the timer ticks and the Esc key to the same ProgressJob the operator drives.

def _user_scene_with_a_clip(settings):
    import animatedai_addon.api as aai
    mine = bpy.data.objects.new("my empty", None)
    bpy.context.scene.collection.objects.link(mine)
    small_conv(settings)
    aai.generate(settings.build_spec(), template=None)
    bpy.ops.ed.undo_push(message="the user's scene")


def _scene_state():
    return count_datablocks(), sorted(o.name for o in bpy.data.objects), clip_collections()


def test_generate_in_steps_shows_progress_and_esc_leaves_the_scene_as_before(settings):
    import animatedai_addon.api as aai
    from animatedai_addon.ops.progress import ProgressJob
    _user_scene_with_a_clip(settings)
    before = _scene_state()
    spec = presets.load_preset("conv-3x3-same")

    job = ProgressJob(lambda progress: aai.generate(spec, template="studio", progress=progress), "Generate")
    job.start(bpy.context)
    messages = []
    for _ in range(4):
        assert job.handle(bpy.context, 'TIMER') == {'RUNNING_MODAL'}
        messages.append(job.message)
    # "Generate: 3/12 filter1 (Esc to cancel)": one step a tick, named after the tensor (or the stage)
    assert [m.split(": ", 1)[1].split("/")[0] for m in messages] == ["0", "1", "2", "3"]
    assert all("/12 " in m and m.endswith("(Esc to cancel)") for m in messages)
    assert any(" filter0 " in m for m in messages)           # tensors are written in their names' order
    assert job.handle(bpy.context, 'MOUSEMOVE') == {'RUNNING_MODAL'}     # other input waits
    assert len(bpy.data.objects) > len(before[1])                        # half-built
    assert job.handle(bpy.context, 'ESC') == {'CANCELLED'}
    assert _scene_state() == before                                      # as before, the user's object kept

    job = ProgressJob(lambda progress: aai.generate(spec, template="studio", progress=progress), "Generate")
    job.start(bpy.context)
    ticks = 0
    while (state := job.handle(bpy.context, 'TIMER')) == {'RUNNING_MODAL'}:
        ticks += 1
    assert state == {'FINISHED'} and ticks == 13                         # 11 tensors, the stage, the end
    assert job.stepper.result.label == aai.clip_label(spec) and len(clip_collections()) == 2


def test_clear_in_steps_and_esc_keeps_every_clip(settings):
    import animatedai_addon.api as aai
    from animatedai_addon.ops.progress import ProgressJob
    _user_scene_with_a_clip(settings)
    aai.generate(presets.load_preset("pixel-shuffle-2x2"), template=None)
    bpy.ops.ed.undo_push(message="two clips")
    before = _scene_state()
    job = ProgressJob(lambda progress: aai.clear(progress=progress), "Clear")
    job.start(bpy.context)
    assert job.handle(bpy.context, 'TIMER') == {'RUNNING_MODAL'}
    assert job.handle(bpy.context, 'TIMER') == {'RUNNING_MODAL'}
    assert len(clip_collections()) == 1 and job.message.startswith("Clear: 1/2")
    assert job.handle(bpy.context, 'ESC') == {'CANCELLED'}
    assert _scene_state() == before
    job = ProgressJob(lambda progress: aai.clear(progress=progress), "Clear")
    job.start(bpy.context)
    while job.handle(bpy.context, 'TIMER') == {'RUNNING_MODAL'}:
        pass
    assert job.stepper.result == 2 and clip_collections() == [] and "my empty" in bpy.data.objects


def test_the_operators_modal_step_reports_and_stops_its_timer(settings):
    """The Generate operator's own modal() (called as Blender would, with a stand-in for the running
    operator): it steps on TIMER, reports the clip when done, and reports a cancel on Esc."""
    import animatedai_addon.api as aai
    from animatedai_addon.ops.progress import ProgressJob
    _user_scene_with_a_clip(settings)
    before = _scene_state()
    cls, wm = bpy.types.ANIMATEDAI_OT_generate, bpy.context.window_manager
    spec = presets.load_preset("pixel-shuffle-2x2")
    for key in ('TIMER', 'ESC'):
        reports = []
        op = types.SimpleNamespace(report=lambda kind, text: reports.append((kind, text)), _cubes=count_cubes(spec))
        op.finish = lambda context, result: cls.finish(op, context, result)
        op._job = ProgressJob(lambda progress: aai.generate(spec, template=None, progress=progress), "Generate")
        op._job.start(bpy.context)
        op._timer = wm.event_timer_add(60.0, window=bpy.context.window)
        assert cls.modal(op, bpy.context, types.SimpleNamespace(type='TIMER')) == {'RUNNING_MODAL'}
        while (state := cls.modal(op, bpy.context, types.SimpleNamespace(type=key))) == {'RUNNING_MODAL'}:
            pass
        if key == 'TIMER':
            assert state == {'FINISHED'} and reports[-1][0] == {'INFO'}
            assert f"{count_cubes(spec):,} cubes" in reports[-1][1]
            bpy.ops.ed.undo_push(message="generated")
            before = _scene_state()
        else:
            assert state == {'CANCELLED'} and reports == [({'WARNING'}, "Generate cancelled: nothing changed")]
            assert _scene_state() == before


def test_a_failure_half_way_is_raised_and_undone(settings):
    from animatedai_addon.ops.progress import ProgressJob
    _user_scene_with_a_clip(settings)
    before = _scene_state()

    def work(progress):
        bpy.data.objects.new("half-built", None)
        progress(0, 2, "first")
        raise SpecError("input", "x", "something else")

    job = ProgressJob(work, "Generate")
    job.start(bpy.context)
    assert job.handle(bpy.context, 'TIMER') == {'RUNNING_MODAL'}
    with pytest.raises(SpecError):
        job.handle(bpy.context, 'TIMER')
    assert _scene_state() == before


# --- where the clip goes: the scene's own settings (api.generate's workflow keywords) -----------

def _animator_scene():
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.001
    scene.frame_start, scene.frame_end = 100, 700
    camera = bpy.data.objects.new("my camera", bpy.data.cameras.new("my camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    return scene, camera


def test_panel_keeps_the_scene_settings_unless_set_scene_is_ticked(settings):
    scene, camera = _animator_scene()
    small_conv(settings, template="studio")
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    assert (scene.render.fps, scene.frame_start, scene.frame_end) == (30, 100, 700)
    assert scene.render.fps_base == pytest.approx(1.001)
    assert scene.camera == camera                                         # no Template Camera asked
    settings.set_scene, settings.use_template_camera = True, True
    settings.timing_fps = 12
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    assert scene.render.fps == 12 and scene.camera != camera


def test_panel_start_frame_and_share_animation_reach_the_clip(settings, capfd):
    _animator_scene()
    small_conv(settings, template="none", use_start_frame=True, start_frame=250, share_animation=False)
    request = settings.to_request()
    assert request.options["start_frame"] == 250 and request.options["share_animation"] is False
    capfd.readouterr()
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    assert "frames 250-" in capfd.readouterr().out
    settings.use_start_frame = False
    assert settings.to_request().options["start_frame"] is None           # the scene's start


def test_panel_if_edited_error_refuses_to_overwrite_hand_edits(settings):
    small_conv(settings, template="none", if_edited="error")
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    cell = next(o for o in bpy.data.objects if "input[c0,y0,x0]" in o.name)
    cell.location.x += 3.0                                                # a hand edit
    before = count_datablocks()
    with pytest.raises(RuntimeError, match="if_edited"):
        bpy.ops.animatedai.generate()
    assert count_datablocks() == before
    for name in ("set_scene", "use_template_camera", "use_template_world", "share_animation", "if_edited",
                 "use_start_frame", "start_frame"):
        assert name in props.SETTING_NAMES


@pytest.mark.render
def test_the_role_material_swatch_tints_its_cells_in_a_render(settings, tmp_path):
    small_conv(settings, template="flat", mode="objects")
    assert bpy.ops.animatedai.generate() == {'FINISHED'}
    scene = bpy.context.scene
    if scene.camera is None:   # a template camera only where the scene had none (or was asked for)
        settings.use_template_camera = True
        assert bpy.ops.animatedai.generate() == {'FINISHED'}
    scene.render.engine = "CYCLES"
    scene.cycles.samples, scene.cycles.use_denoising, scene.cycles.device = 4, False, "CPU"
    scene.cycles.seed = 7
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 48, 27, 100
    scene.frame_set(scene.frame_end)

    def render(name):
        scene.render.filepath = str(tmp_path / name)
        bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(str(tmp_path / name))
        pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
        image.pixels.foreach_get(pixels)
        bpy.data.images.remove(image)
        return pixels.reshape(-1, 4)

    plain = render("plain.png")
    tint = bpy.data.materials["AnimatedAI input"].node_tree.nodes["Tint"]
    next(s for s in tint.inputs if s.identifier == "B_Color").default_value = (1.0, 0.0, 0.0, 1.0)   # the swatch
    red = render("red.png")
    # the teal input cells lose their green and blue (red x teal = almost black); red stays
    drop = plain.mean(axis=0) - red.mean(axis=0)
    assert drop[1] > 0.004 and drop[2] > 0.004 and abs(drop[0]) < drop[1] / 2   # the deeper teal: ~0.009
