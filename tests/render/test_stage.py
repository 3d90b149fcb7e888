"""The stage: camera framing, idempotent re-runs, user edits kept, templates appended cleanly."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_extras.object_utils import world_to_camera_view  # noqa: E402
from mathutils import Vector  # noqa: E402

from animatedai_addon.engine.errors import SpecError  # noqa: E402
from animatedai_addon.engine.timeline import Timeline  # noqa: E402
from animatedai_addon.scene import stage, templates  # noqa: E402

pytestmark = pytest.mark.blender


def bare_timeline(center, extent) -> Timeline:
    """A timeline with nothing in it but the box the stage must frame."""
    return Timeline(frame_start=1, frame_end=10, fps=24, pop_frames=3, easing="ease", tensors=[], boxes=[],
                    step_frames=np.zeros(0, np.float32), camera_target=np.asarray(center, float),
                    extent=np.asarray(extent, float))


def projected_corners(scene, center, extent) -> np.ndarray:
    bpy.context.view_layer.update()
    return np.array([tuple(world_to_camera_view(scene, scene.camera, Vector(c)))
                     for c in stage.box_corners(center, extent)])


def stage_names() -> list[str]:
    return sorted(o.name for o in bpy.data.objects)


@pytest.mark.parametrize("resolution", [(960, 540), (540, 960), (400, 400)])
@pytest.mark.parametrize("extent", [(30.0, 9.0, 9.0), (5.0, 12.0, 10.0), (1.0, 1.0, 1.0)])
def test_camera_frames_everything_tightly(resolution, extent):
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = resolution
    center = (3.0, -2.0, 4.0)
    stage.setup_stage(scene, bare_timeline(center, extent))
    uv = projected_corners(scene, center, extent)
    assert (uv[:, 2] > 0).all(), "everything in front of the camera"
    assert (uv[:, :2] >= 0.0).all() and (uv[:, :2] <= 1.0).all(), uv
    spread = uv[:, :2].max(axis=0) - uv[:, :2].min(axis=0)
    assert spread.max() > 0.8, f"the clip fills the frame along one side, got {spread}"


def test_camera_looks_from_the_front_and_above():
    scene = bpy.context.scene
    stage.setup_stage(scene, bare_timeline((0, 0, 0), (8, 8, 8)))
    location = np.array(scene.camera.location)
    assert location[1] < 0, "channel 0 is nearest the camera: the camera is on the -y side"
    elevation = np.degrees(np.arcsin(location[2] / np.linalg.norm(location)))
    assert 15 < elevation < 60


def test_floor_is_below_every_cube():
    scene = bpy.context.scene
    center, extent = (0.0, 0.0, 5.0), (10.0, 10.0, 6.0)
    stage.setup_stage(scene, bare_timeline(center, extent))
    floor = bpy.data.objects[stage.FLOOR]
    assert floor.location.z < center[2] - extent[2] / 2
    assert floor.scale.x > 10 * max(extent), "the floor reaches the horizon of the shot"


def test_rerun_makes_no_duplicates():
    scene = bpy.context.scene
    stage.setup_stage(scene, bare_timeline((0, 0, 0), (8, 8, 8)))
    names, lights, cameras = stage_names(), len(bpy.data.lights), len(bpy.data.cameras)
    stage.setup_stage(scene, bare_timeline((5, 5, 5), (20, 8, 8)))
    assert stage_names() == names
    assert (len(bpy.data.lights), len(bpy.data.cameras)) == (lights, cameras)
    assert not [n for n in names if ".00" in n]


def test_user_moves_are_kept_and_the_rest_reframes():
    scene = bpy.context.scene
    stage.setup_stage(scene, bare_timeline((0, 0, 0), (8, 8, 8)))
    key, fill = bpy.data.objects["AnimatedAI Key Light"], bpy.data.objects["AnimatedAI Fill Light"]
    camera = bpy.data.objects[stage.CAMERA]
    key.location = (1.0, 2.0, 30.0)
    camera.location = (-40.0, -40.0, 20.0)
    fill_before = tuple(fill.location)
    stage.setup_stage(scene, bare_timeline((10, 0, 0), (30, 8, 8)))
    assert tuple(key.location) == pytest.approx((1.0, 2.0, 30.0))
    assert tuple(camera.location) == pytest.approx((-40.0, -40.0, 20.0))
    assert tuple(fill.location) != pytest.approx(fill_before), "an untouched light follows the new clip"
    assert scene.camera == camera


@pytest.mark.parametrize("bad", ["bogus", 3, "studio.blend"])
def test_unknown_template_changes_nothing(bad):
    scene = bpy.context.scene
    before = (stage_names(), len(bpy.data.collections), len(bpy.data.worlds))
    with pytest.raises(SpecError) as caught:
        stage.setup_stage(scene, bare_timeline((0, 0, 0), (8, 8, 8)), template=bad)
    assert caught.value.parameter == "template"
    assert "studio, flat, none" in str(caught.value)
    assert (stage_names(), len(bpy.data.collections), len(bpy.data.worlds)) == before


@pytest.mark.parametrize("name, samples", [("studio", 64), ("flat", 24)])
def test_template_appends_rig_world_and_look(name, samples):
    scene = bpy.context.scene
    scene.view_settings.view_transform, scene.cycles.samples = "AgX", 7
    stage.setup_stage(scene, bare_timeline((0, 0, 0), (8, 8, 8)), template=name)
    assert scene.world.name == templates.world_name(name)
    assert scene.view_settings.view_transform == "Standard", "the template's colour management"
    assert scene.cycles.samples == samples, "the template's Cycles settings"
    assert scene.camera.name == stage.CAMERA
    assert len(bpy.data.libraries) == 0, "the template file is not left linked"
    assert len(bpy.data.scenes) == 1
    lights = [o for o in bpy.data.objects if o.type == "LIGHT"]
    assert any(o.data.type == "AREA" for o in lights) and all(o.data.type in ("AREA", "SUN") for o in lights)
    for sun in (o for o in lights if o.data.type == "SUN"):     # the flat look's even key: framing leaves it be
        assert stage.UNIT_LOCATION not in sun and sun.data.energy < 10
        assert (sun.matrix_world.to_3x3() @ Vector((0, 0, -1))).z < -0.5, "shines down onto the clip"
    assert all(c.target.name == stage.CAMERA_TARGET for o in bpy.data.objects for c in o.constraints)
    assert not scene.camera.data.dof.use_dof, "depth of field is ready but off"


def test_switching_templates_leaves_one_rig():
    scene = bpy.context.scene
    for name in ("studio", "flat", None, "studio", "studio"):
        stage.setup_stage(scene, bare_timeline((0, 0, 0), (8, 8, 8)), template=name)
        names = stage_names()
        assert len(names) == len(set(names)) and not [n for n in names if ".00" in n], names
        assert sum(o.type == "CAMERA" for o in bpy.data.objects) == 1
        assert {o.get(stage.TEMPLATE_TAG) for o in stage.stage_objects(scene)} == {name or "none"}


@pytest.mark.parametrize("name", templates.TEMPLATES)
def test_template_files_hold_a_stage_and_no_cubes(name):
    with bpy.data.libraries.load(str(templates.template_path(name)), link=False) as (src, _):
        objects, meshes = list(src.objects), list(src.meshes)
    assert objects and all(n.startswith("AnimatedAI ") for n in objects)
    assert meshes == [stage.FLOOR], "the floor is the only mesh: no cubes in a template"


def test_fit_distance_puts_the_widest_corner_on_the_margin():
    direction = stage.camera_direction()
    center, extent = np.zeros(3), np.array([10.0, 4.0, 4.0])
    distance = stage.fit_camera_distance(direction, center, extent, 50.0, 36.0, 16 / 9, margin=1.0)
    w = direction / np.linalg.norm(direction)
    right = np.cross(-w, [0, 0, 1]); right /= np.linalg.norm(right)
    up = np.cross(right, -w)
    offsets = stage.box_corners(center, extent)
    depth = distance - offsets @ w
    tan_x, tan_y = 18.0 / 50.0, 18.0 / 50.0 / (16 / 9)
    used = np.maximum(np.abs(offsets @ right) / depth / tan_x, np.abs(offsets @ up) / depth / tan_y)
    assert used.max() == pytest.approx(1.0, abs=1e-6)
