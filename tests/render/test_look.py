"""The look against the Animated AI reference frames, on real Cycles renders (small, fixed seed).

Colours are compared where they are measured on the reference (scripts/colour_check.py): the lit top
faces of each block, found here by projecting each top-layer cube's top-face centre into the image, so
the checks follow the layout and the camera wherever they go.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from .conftest import REPO, bpy

spec = importlib.util.spec_from_file_location("colour_check", REPO / "scripts" / "colour_check.py")
colour_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(colour_check)

CONV, SHUFFLE = "conv-3x3-stride2-valid", "pixel-shuffle-2x2"
SIZE = (480, 270)
TOLERANCE = 5.0      # CIEDE2000: a difference one notices side by side, not a different colour


@pytest.fixture(scope="module")
def conv_frame(tmp_path_factory):
    """The default clip's first frame (the reference's still hold) in the studio template."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return colour_check.measure_clip(CONV, "studio", tmp_path_factory.mktemp("conv") / "conv.png", *SIZE)


@pytest.fixture(scope="module")
def shuffle_frame(tmp_path_factory):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return colour_check.measure_clip(SHUFFLE, "flat", tmp_path_factory.mktemp("shuffle") / "shuffle.png", *SIZE)


def differences(measured, roles) -> dict[str, float]:
    return {role: round(float(colour_check.delta_e(colour_check.REFERENCE_SRGB[role], measured[role])), 2)
            for role in roles}


def test_input_and_filters_match_the_reference_colours(conv_frame):
    roles = ["input"] + [f"filter{i}" for i in range(8)]
    assert set(roles) <= set(conv_frame), f"faces found for {sorted(conv_frame)}"
    found = differences(conv_frame, roles)
    assert max(found.values()) <= TOLERANCE, found


def test_shuffle_families_match_the_reference_colours(shuffle_frame):
    roles = [colour_check.family_key(f, s) for f in range(3) for s in range(4)]
    assert set(roles) <= set(shuffle_frame), f"faces found for {sorted(shuffle_frame)}"
    found = differences(shuffle_frame, roles)
    assert max(found.values()) <= TOLERANCE, found


def test_flat_backdrop_is_an_even_light_grey(shuffle_frame):
    image = shuffle_frame["image"].astype(float)
    h, w = image.shape[:2]
    corners = [image[:h // 8, :w // 8], image[:h // 8, -w // 8:], image[-h // 8:, -w // 8:]]
    medians = np.array([np.median(c.reshape(-1, 3), axis=0) for c in corners])
    luma = colour_check.luminance(medians)
    assert (luma > 175).all() and (luma < 245).all(), medians
    assert (medians.max(axis=1) - medians.min(axis=1) < 8).all(), medians      # grey, not tinted
    assert luma.max() - luma.min() < 25, medians                                # even


def test_studio_floor_is_bluish_and_has_no_pillar_of_light(conv_frame):
    image = conv_frame["image"].astype(float)
    flat = image.reshape(-1, 3)
    high, low = flat.max(axis=1), flat.min(axis=1)
    floor = flat[(high - low) / np.maximum(high, 1.0) < 0.25]        # the grey pixels: floor and backdrop
    r, g, b = np.median(floor, axis=0)
    assert b - r >= 6 and 75 <= colour_check.luminance([r, g, b]) <= 130, (r, g, b)
    # no light stands behind the clip: the backdrop in the top of the frame has no bright vertical band.
    # Per column, the median luma of its grey pixels there: the framed clip reaches into the top quarter,
    # and its lit faces and white rims would read as a band (the reference's own backdrop varies by 17)
    h, w = image.shape[:2]
    top = image[: h // 4]
    high, low = top.max(axis=2), top.min(axis=2)
    grey = (high - low) / np.maximum(high, 1.0) < 0.25
    luma = colour_check.luminance(top)
    columns = np.array([np.median(luma[grey[:, x], x]) for x in range(w) if grey[:, x].sum() >= 3])
    assert len(columns) > 0.9 * w, len(columns)
    assert columns[len(columns) // 4: 3 * len(columns) // 4].max() - np.median(columns) < 8


def look_at_box(scene, box):
    """A camera of its own that frames ``box`` from the front, above and a little from the left."""
    from mathutils import Vector
    data = bpy.data.cameras.new("box camera")
    data.lens = 50.0
    camera = bpy.data.objects.new("box camera", data)
    scene.collection.objects.link(camera)
    direction = Vector((-0.35, -0.8, 0.5)).normalized()
    camera.rotation_euler = (-direction).to_track_quat("-Z", "Y").to_euler()
    corners = [box.matrix_world @ Vector((sx, sy, sz)) for sx in (-0.6, 0.6) for sy in (-0.6, 0.6) for sz in (-0.6, 0.6)]
    scene.view_layers[0].update()
    location, _ = camera.camera_fit_coords(scene.view_layers[0].depsgraph, [v for c in corners for v in c])
    camera.location = location
    scene.camera = camera
    scene.view_layers[0].update()


@pytest.mark.parametrize("name, dark", [("output outline", True), ("window", False)])
def test_boxes_are_bold_tubes_dark_outline_light_window(tmp_path, name, dark):
    """Each wire box filling a frame of its own: its lines are as wide as tubes a tenth of a cube pitch
    thick or more (the reference's bold lines; the old 5 cm beams drew faint hairlines), the output's
    outline dark, the window light grey. (On the previous look the outline measured 0.076 m across and
    the window glowed white, (204, 224, 228).)"""
    from animatedai_addon import api
    from animatedai_addon.engine.timeline import Look
    from animatedai_addon.scene import mesh
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = SIZE
    result = api.generate(CONV, template="studio", scene=scene)
    window = next(b for b in result.timeline.boxes if b.role == "window")
    shown = np.asarray(window.key_visible, bool)
    scene.frame_set(int(window.key_frames[int(np.argmax(shown))] if len(shown) else window.key_frames[0]) + 1)
    box = result.boxes[name]
    look_at_box(scene, box)
    image = colour_check.render_frame(scene, tmp_path / "box.png", *SIZE, samples=16)
    width_px, rgb, px_per_metre = colour_check.box_lines(scene, box, image)
    look = Look()
    pitch = look.cube_size + look.gap
    assert mesh.tube_thickness(look.cube_size) >= 0.12 * pitch
    assert width_px / px_per_metre >= 0.09 * pitch, (width_px, px_per_metre, rgb)    # metres across, as drawn
    if dark:
        assert colour_check.luminance(rgb) < 70, rgb
    else:
        # light grey like the reference's (about 155), not a glowing white
        assert 120 < colour_check.luminance(rgb) < 185 and max(rgb) - min(rgb) < 40, rgb


def test_no_studio_light_stands_low_behind_the_clip():
    """A light low behind the clip is what the glossy floor showed as a pillar of light (and the top faces
    mirrored, going pale): every light of the studio rig is in front of the clip or high above it."""
    from animatedai_addon.scene import stage
    for light in stage.DEFAULT_LIGHTS:
        x, y, z = light.unit_location
        elevation = np.degrees(np.arctan2(z, np.hypot(x, y)))
        assert y < 0 or elevation > 45, light


def test_cells_are_glossy_coated_plastic():
    from animatedai_addon.scene import materials
    for role in ("input", "filter", "output"):
        bsdf = materials.ensure_material(role).node_tree.nodes["Principled BSDF"]
        assert bsdf.inputs["Roughness"].default_value <= 0.25
        assert bsdf.inputs["Coat Weight"].default_value > 0 and bsdf.inputs["Coat Roughness"].default_value < 0.1
