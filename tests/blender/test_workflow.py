"""The animator's workflow (issue 10), from a user's side: a shot with its own camera, world, fps (30/1.001) and
frame range (100-700); clips dropped into it, placed, retimed, edited by hand, regenerated and cleared."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon import api  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402
from animatedai_addon.engine.spec import Conv2d  # noqa: E402
from animatedai_addon.engine.timeline import build_timeline, state_at  # noqa: E402
from animatedai_addon.scene import clip as clips, compat, keys, stage, writer  # noqa: E402

from .test_api import sample_frames  # noqa: E402
from .test_instanced import assert_same_cells, engine_cells, evaluated_cells, nonzero  # noqa: E402

SMALL = Conv2d(2, 4, 4, 2, 3)                 # 2x4x4 -> 2x2x2: 32 input cells, 2 filters, a window
OTHER_SHAPE = Conv2d(2, 5, 5, 2, 3)           # the same operation on another shape: another clip
CUBE = 0.9                                    # Look().cube_size


@pytest.fixture
def shot():
    """The user's scene: their camera, light, world, 29.97 fps and frames 100-700."""
    scene = bpy.context.scene
    scene.name = "Shot"
    camera = bpy.data.objects.new("My Camera", bpy.data.cameras.new("My Camera"))
    light = bpy.data.objects.new("My Light", bpy.data.lights.new("My Light", "POINT"))
    for obj in (camera, light):
        scene.collection.objects.link(obj)
    scene.camera = camera
    scene.world = bpy.data.worlds.new("My World")
    scene.render.fps, scene.render.fps_base = 30, 1.001
    scene.frame_start, scene.frame_end = 100, 700
    scene.view_settings.view_transform = "Standard"
    return scene


def settings_of(scene):
    return (scene.camera, scene.world, scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end,
            scene.view_settings.view_transform, scene.render.resolution_x)


def made_by_addon(obj) -> bool:
    return obj.get(writer.TAG) is not None or obj.get(stage.TEMPLATE_TAG) is not None


def scene_frames(result, count=16, seed=0):
    """Scene frames that show the events of a (possibly retimed) clip, and the map back to timeline frames."""
    first = result.timeline.frame_start
    frames = sorted({int(round(result.start_frame + (f - first) / result.speed))
                     for f in sample_frames(result.timeline, count, seed)})
    return frames, (lambda f: (f - result.start_frame) * result.speed + first)


def check_objects_clip(result, mismatches, count=16):
    frames, to_timeline = scene_frames(result, count)
    assert mismatches(result.timeline, result.cells, result.boxes, frames, CUBE, frame_map=to_timeline,
                      offset=tuple(result.root.location)) == []


def check_instanced_clip(result, count=6):
    """Evaluated instances against the engine's full timeline (the window boxes light the input)."""
    request = api.resolve_spec(SMALL)
    full = build_timeline(result.plan, request.timing, request.look)
    frames, to_timeline = scene_frames(result, count)
    scene = bpy.context.scene
    for frame in frames:
        scene.frame_set(frame)
        states = state_at(full, to_timeline(frame))
        for track in full.tensors:
            got = nonzero(evaluated_cells(result.tensors[track.name]))
            want = engine_cells(track, states[track.name], CUBE)
            try:
                assert_same_cells(got, want)
            except AssertionError as error:
                raise AssertionError(f"{track.name} at scene frame {frame}: {error}") from None


# --------------------------------------------------------------------------------------------- only its clip


def test_template_none_adds_cubes_and_boxes_only(shot):
    before_objects = set(bpy.data.objects)
    before = settings_of(shot)
    worlds, lights, cameras = len(bpy.data.worlds), len(bpy.data.lights), len(bpy.data.cameras)
    result = api.generate(SMALL)
    assert settings_of(shot) == before
    assert (len(bpy.data.worlds), len(bpy.data.lights), len(bpy.data.cameras)) == (worlds, lights, cameras)
    new = set(bpy.data.objects) - before_objects
    assert new and all(o.get(writer.TAG) == o.name for o in new)
    assert {o.type for o in new} == {"MESH", "EMPTY"}
    assert bpy.data.collections.get(stage.STAGE_COLLECTION) is None
    assert result.frame_start == 100, "a clip starts at the scene's start frame"


def test_template_none_with_camera_asked_builds_the_plain_stage(shot):
    api.generate(SMALL, use_template_camera=True, location=(0.0, 0.0, 0.0))
    assert shot.camera.name == stage.CAMERA and shot.world.name == "My World"
    assert bpy.data.objects.get(stage.FLOOR) is not None
    assert sum(o.type == "LIGHT" and made_by_addon(o) for o in shot.objects) == len(stage.DEFAULT_LIGHTS)


def test_location_takes_any_real_numbers(shot):
    result = api.generate(SMALL, location=np.array([1.5, 2.0, 0.25], np.float32))
    assert tuple(result.root.location) == pytest.approx((1.5, 2.0, 0.25))


def test_template_keeps_the_scenes_camera_and_world_unless_asked(shot):
    before = settings_of(shot)
    api.generate(SMALL, template="studio")
    assert settings_of(shot) == before, "camera, world, fps, range and the look stay the user's"
    assert bpy.data.objects.get(stage.CAMERA) is None, "no second camera"
    assert any(o.type == "LIGHT" and made_by_addon(o) for o in shot.objects), "the template's lights"
    api.generate(SMALL, template="studio", use_template_camera=True, use_template_world=True)
    assert shot.camera.name == stage.CAMERA and shot.world.name == "AnimatedAI studio World"
    assert (shot.render.fps, shot.frame_start, shot.frame_end) == (30, 100, 700)


def test_set_scene_asks_for_the_clips_frame_range_and_fps(shot):
    result = api.generate(SMALL, set_scene=True, start_frame=10)
    assert (shot.frame_start, shot.frame_end) == (10, result.frame_end)
    assert result.frame_end - result.frame_start == result.timeline.frame_end - result.timeline.frame_start
    assert (shot.render.fps, shot.render.fps_base) == (result.timeline.fps, 1.0)


# --------------------------------------------------------------------------------------------- place and time


def test_objects_clip_starts_at_the_scenes_start_and_retimes(shot, mismatches):
    result = api.generate(SMALL)
    assert (result.start_frame, result.speed) == (100.0, 1.0)
    check_objects_clip(result, mismatches)
    assert api.retime(result, start_frame=130, speed=2.0) == (130.0, 2.0)
    assert result.frame_start == 130
    check_objects_clip(result, mismatches)
    assert api.retime(result.collection, speed=0.5) == (130.0, 0.5)     # start kept, speed changed
    result.speed = 0.5
    check_objects_clip(result, mismatches)
    assert clips.edits(result.collection) == [], "retiming is the add-on's own change"


def test_a_retime_fails_without_its_key_rewrite(shot, mismatches):
    """Negative control: the same check on a clip whose keys were not moved finds mismatches."""
    result = api.generate(SMALL)
    result.start_frame, result.speed = 130.0, 2.0        # claimed, not done
    frames, to_timeline = scene_frames(result)
    assert mismatches(result.timeline, result.cells, result.boxes, frames, CUBE, frame_map=to_timeline,
                      offset=tuple(result.root.location))


def test_instanced_clip_starts_late_and_retimes(shot):
    result = api.generate(SMALL, mode="instanced", start_frame=150)
    check_instanced_clip(result)
    api.retime(result, start_frame=200, speed=2.0)
    check_instanced_clip(result)
    modifier = result.tensors["input"].modifiers[0]
    assert modifier.node_group.interface.items_tree["Speed"] is not None


def test_start_and_place_survive_a_regenerate(shot, mismatches):
    result = api.generate(SMALL, start_frame=120, location=(3.0, -2.0, 1.0))
    api.retime(result, speed=2.0)
    again = api.generate(SMALL, seed=4)
    assert again.replaced and again.message == ""
    assert (again.start_frame, again.speed) == (120.0, 2.0)
    assert tuple(again.root.location) == pytest.approx((3.0, -2.0, 1.0))
    check_objects_clip(again, mismatches, count=8)


def test_clips_are_placed_side_by_side(shot):
    first = api.generate(SMALL)
    second = api.generate(OTHER_SHAPE)
    third = api.generate(SMALL, mode="instanced", scene=bpy.data.scenes.new("elsewhere"))
    assert tuple(first.root.location) == (0.0, 0.0, 0.0)
    first_right = clips.record(first.collection)["x_range"][1]
    second_left = clips.record(second.collection)["x_range"][0] + second.root.location[0]
    assert second_left >= first_right + clips.CLIP_GAP - 1e-6
    assert tuple(third.root.location) == (0.0, 0.0, 0.0), "another scene has room at the origin"


# --------------------------------------------------------------------------------------------- identity


def test_two_shapes_are_two_clips_with_readable_names(shot):
    a = api.generate(SMALL)
    b = api.generate(OTHER_SHAPE)
    assert a.collection != b.collection and a.label != b.label
    assert "2x4x4" in a.label and "2x5x5" in b.label
    names = [o.name for o in bpy.data.objects]
    assert not [n for n in names if n[-4:-3] == "." and n[-3:].isdigit()], "no .001 names"
    assert a.cells["input"][0].name == "1:input[c0,y0,x0]" and b.cells["input"][0].name == "2:input[c0,y0,x0]"
    assert api.clear(OTHER_SHAPE) == 1
    assert clips.scene_clips(shot) == [a.collection]
    assert all(o.name in shot.objects for o in a.cells["input"])


def test_clips_live_per_scene(shot):
    other = bpy.data.scenes.new("Other shot")
    a = api.generate(SMALL)
    cells_a = [o.as_pointer() for o in a.cells["input"]]
    b = api.generate(SMALL, scene=other)
    assert a.collection != b.collection
    assert clips.scene_clips(shot) == [a.collection] and clips.scene_clips(other) == [b.collection]
    api.generate(SMALL, scene=other, seed=3)                   # regenerating in B
    assert [o.as_pointer() for o in a.cells["input"]] == cells_a
    assert api.clear(scene=other) == 1
    assert clips.scene_clips(shot) == [a.collection] and not clips.scene_clips(other)
    assert all(o.name in shot.objects for o in a.cells["input"])


# --------------------------------------------------------------------------------------------- hand edits


def _shift_a_key(obj, by=30.0):
    fc = compat.object_fcurves(obj)[0]
    co = np.empty(2 * len(fc.keyframe_points), np.float32)
    fc.keyframe_points.foreach_get("co", co)
    co[0::2] += by
    fc.keyframe_points.foreach_set("co", co)


def test_an_edited_clip_is_kept_and_the_new_one_written_beside_it(shot):
    first = api.generate(SMALL)
    cell = first.cells["output"][0]
    cell.location.x += 0.5
    moved = tuple(cell.location)
    second = api.generate(SMALL, seed=7)
    assert "edited by hand" in second.message and not second.replaced
    assert second.collection != first.collection and first.collection.name in shot.collection.children
    assert tuple(cell.location) == moved
    assert clips.record(second.collection)["version"] == 2
    assert second.root.location[0] > first.root.location[0]
    # the newest version is the clip now: regenerating it (unedited) replaces it alone
    second_name = second.collection.name
    third = api.generate(SMALL, seed=8)
    assert third.replaced and third.collection.name == second_name
    assert len(clips.scene_clips(shot)) == 2


@pytest.mark.parametrize("edit", ["key", "transform", "user object", "deleted cell"])
def test_if_edited_error_refuses_and_changes_nothing(shot, edit, datablock_counts):
    first = api.generate(SMALL)
    if edit == "key":
        _shift_a_key(first.cells["filter0"][3])          # filter cells are keyed: the pulse runs through them
    elif edit == "transform":
        first.cells["input"][3].rotation_euler.z = 0.3
    elif edit == "user object":
        child = first.cells["input"][0].users_collection[0]
        child.objects.link(bpy.data.objects.new("my note", None))
    else:
        bpy.data.objects.remove(first.cells["input"][3])
    assert clips.edits(first.collection)
    before = datablock_counts()
    with pytest.raises(SpecError) as info:
        api.generate(SMALL, seed=1, if_edited="error")
    assert info.value.parameter == "if_edited" and "edited by hand" in str(info.value)
    assert datablock_counts() == before


def test_if_edited_replace_and_user_objects_survive(shot):
    first = api.generate(SMALL)
    mine = bpy.data.objects.new("my note", None)
    tensor_collection = first.cells["input"][0].users_collection[0]
    tensor_collection.objects.link(mine)
    duplicate = first.cells["input"][0].copy()         # Shift+D: the tag comes along, the name does not
    tensor_collection.objects.link(duplicate)
    second = api.generate(SMALL, if_edited="replace")
    assert second.replaced and len(clips.scene_clips(shot)) == 1
    assert mine.name in second.cells["input"][0].users_collection[0].objects
    assert duplicate.name in bpy.data.objects and not writer.is_ours(duplicate)
    assert clips.edits(second.collection) == [], "objects that moved over are no new edit"
    assert api.generate(SMALL).replaced
    api.clear()
    assert bpy.data.objects.get("my note") == mine and mine.name in shot.collection.objects
    assert duplicate.name in shot.collection.objects


def test_unedited_clip_is_not_reported_edited(shot):
    result = api.generate(SMALL)
    assert clips.edits(result.collection) == []
    result.root.location = (5.0, 0.0, 0.0)          # placing the whole clip is not an edit
    assert clips.edits(result.collection) == []
    again = api.generate(SMALL)
    assert again.replaced and tuple(again.root.location) == (5.0, 0.0, 0.0)


def test_a_clip_fingerprinted_by_an_older_add_on_counts_as_edited(shot):
    """Its record cannot tell hand edits: a regenerate keeps it and writes the new clip beside it."""
    result = api.generate(SMALL)
    data = clips.record(result.collection)
    del data["fingerprint_format"]
    clips._write_record(result.collection, data)
    assert clips.edits(result.collection) == [
        "written by an older version of the add-on, whose record cannot tell hand edits"]
    again = api.generate(SMALL)
    assert not again.replaced and "older version" in again.message
    assert clips.edits(again.collection) == []


def _handle_types(collection):
    types = set()
    for action in clips.clip_actions(clips.clip_objects(collection)[0], clips.record(collection)["uid"]):
        for fc in compat.action_fcurves(action):
            values = np.empty(len(fc.keyframe_points), np.int32)
            fc.keyframe_points.foreach_get("handle_left_type", values)
            types.update(values.tolist())
    return types


@pytest.mark.parametrize("spec, options", [
    (SMALL, {}), (SMALL, {"mode": "instanced"}), (SMALL, {"share_animation": False}),
    ("pixel-shuffle-2x2", {}), ("conv-3x3-stride2-valid", {"start_frame": 40}),
    (SMALL, {"look": {"labels": True, "numbers": True}}),
])
def test_the_fingerprint_written_equals_the_one_read_back(shot, spec, options):
    """generate() stamps the clip from what the writer wrote (no read-back); reading every object and key
    back must give the same fingerprint, or an unedited clip would count as edited."""
    result = api.generate(spec, **options)
    data = clips.record(result.collection)
    root = result.collection.objects.get(data["root"])
    assert clips.fingerprint(result.collection, data["uid"], root) == (data["fingerprint"], data["objects"])
    assert clips.edits(result.collection) == []


def test_the_written_fingerprint_covers_free_handles(shot):
    result = api.generate("pixel-shuffle-2x2")        # its travels have FREE handles mid-way in a rise
    assert keys.FREE in _handle_types(result.collection)
    data = clips.record(result.collection)
    assert clips.fingerprint(result.collection, data["uid"], result.root)[0] == data["fingerprint"]


@pytest.mark.parametrize("edit", ["handle", "interpolation", "handle type"])
def test_key_edits_beyond_frames_and_values_count(shot, edit):
    result = api.generate(SMALL)
    fc = next(fc for obj in result.collection.all_objects for fc in compat.object_fcurves(obj)
              if len(fc.keyframe_points) > 1 and fc.keyframe_points[0].interpolation == "BEZIER")
    key = fc.keyframe_points[0]
    if edit == "handle":                  # a handle dragged in the Graph Editor: auto becomes aligned
        key.handle_right_type = "ALIGNED"
        key.handle_right = (key.handle_right[0], key.handle_right[1] + 0.5)
    elif edit == "interpolation":
        key.interpolation = "LINEAR"
    else:
        key.handle_left_type = "VECTOR"
    assert clips.edits(result.collection) == ["keys or transforms changed"]


# --------------------------------------------------------------------------------------------- twins


def _slot_key(obj):
    ad = obj.animation_data
    return (ad.action.name, ad.action_slot.handle if compat.SLOTTED_ACTIONS else 0)


def test_share_animation_names_the_twins_and_can_be_turned_off(shot, mismatches):
    shared = api.generate(SMALL)
    cells = [o for o in shared.cells["filter0"] if o.animation_data is not None]
    keys = [_slot_key(o) for o in cells]
    assert len(set(keys)) < len(keys), "identical cells share their animation"
    twin_names = [compat.object_fcurves(o) and (o.animation_data.action_slot.name_display if compat.SLOTTED_ACTIONS
                                                else o.animation_data.action.name) for o in cells]
    assert any("\u00d7" in name for name in twin_names)
    api.clear()
    single = api.generate(SMALL, share_animation=False)
    cells = [o for tensor in single.cells.values() for o in tensor if o.animation_data is not None]
    assert len({_slot_key(o) for o in cells}) == len(cells)
    check_objects_clip(single, mismatches, count=8)


def test_make_single_user_separates_one_twin(shot):
    result = api.generate(SMALL)
    groups = {}
    for o in result.cells["filter0"]:
        if o.animation_data is not None:
            groups.setdefault(_slot_key(o), []).append(o)
    twins = max(groups.values(), key=len)
    assert len(twins) > 2
    one, other = twins[0], twins[1]
    assert api.make_single_user([one]) == 1
    assert _slot_key(one) != _slot_key(other)
    assert not clips.edits(result.collection), "making single-user is the add-on's own change"
    frames_before = [tuple(k.co) for k in compat.object_fcurves(other)[0].keyframe_points]
    _shift_a_key(one)
    assert [tuple(k.co) for k in compat.object_fcurves(other)[0].keyframe_points] == frames_before
    assert api.make_single_user([one]) == 0, "already single-user"
    with pytest.raises(SpecError) as info:
        api.make_single_user([bpy.data.objects["My Camera"]])
    assert info.value.parameter == "objects"


def test_make_single_user_operator_needs_selected_cells(shot):
    result = api.generate(SMALL)
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)
    assert not bpy.ops.animatedai.make_single_user.poll()
    twin = next(o for o in result.cells["filter0"] if o.animation_data is not None
                and sum(_slot_key(x) == _slot_key(o) for x in result.cells["filter0"]
                        if x.animation_data is not None) > 1)
    twin.select_set(True)
    assert bpy.ops.animatedai.make_single_user.poll()
    assert bpy.ops.animatedai.make_single_user() == {'FINISHED'}
    assert sum(_slot_key(x) == _slot_key(twin) for x in bpy.data.objects if x.animation_data) == 1


# --------------------------------------------------------------------------------------------- clear


def test_clear_removes_exactly_what_the_addon_made(shot):
    mine = bpy.data.node_groups.new("AnimatedAI my rig", "GeometryNodeTree")     # a user's, by its name only
    assert api.clear() == 0
    assert bpy.data.node_groups.get("AnimatedAI my rig") == mine
    before = {kind: set(getattr(bpy.data, kind)) for kind in
              ("objects", "meshes", "materials", "actions", "node_groups", "collections", "worlds", "lights",
               "cameras")}
    api.generate(SMALL, template="studio", use_template_camera=True, use_template_world=True)
    api.generate(OTHER_SHAPE, mode="instanced")
    assert shot.camera.name == stage.CAMERA
    assert api.clear() == 2
    after = {kind: set(getattr(bpy.data, kind)) for kind in before}
    assert after == before, {k: {b.name for b in after[k] ^ before[k]} for k in before if after[k] != before[k]}
    assert shot.camera is None or shot.camera.name == "My Camera"


def test_clear_keeps_a_stage_another_scene_still_shows(shot):
    other = bpy.data.scenes.new("Other shot")
    api.generate(SMALL, template="flat", use_template_camera=True)
    api.generate(SMALL, template="flat", use_template_camera=True, scene=other)
    api.clear()
    assert bpy.data.objects.get(stage.CAMERA) is not None and other.camera.name == stage.CAMERA
    api.clear(scene=other)
    assert bpy.data.objects.get(stage.CAMERA) is None


# --------------------------------------------------------------------------------------------- refusals


BAD = {
    "start_frame": {"start_frame": "ten"},
    "location": {"location": (1.0, 2.0)},
    "if_edited": {"if_edited": "keep"},
    "set_scene": {"set_scene": "yes"},
    "share_animation": {"share_animation": None},
    "use_template_camera": {"use_template_camera": 1},
}


@pytest.mark.parametrize("parameter", sorted(BAD))
def test_bad_workflow_arguments_raise_before_the_scene_changes(shot, parameter, datablock_counts):
    api.generate(SMALL)
    before = datablock_counts()
    with pytest.raises(SpecError) as info:
        api.generate(OTHER_SHAPE, **BAD[parameter])
    assert info.value.parameter == parameter
    assert datablock_counts() == before


def test_bad_retime_arguments(shot):
    result = api.generate(SMALL)
    for kwargs, parameter in (({"speed": 0}, "speed"), ({"speed": -1.0}, "speed"),
                              ({"start_frame": float("nan")}, "start_frame")):
        with pytest.raises(SpecError) as info:
            api.retime(result, **kwargs)
        assert info.value.parameter == parameter
    with pytest.raises(SpecError) as info:
        api.retime("conv", speed=2)
    assert info.value.parameter == "clip"
    assert (result.start_frame, result.speed) == (100.0, 1.0)


def test_cells_made_editable_keep_the_clips_timing(shot):
    """Instanced, started late and sped up, then made editable: the keyed cells show the retimed timeline."""
    result = api.generate(SMALL, mode="instanced", start_frame=150, location=(0.0, 0.0, 0.0))
    api.retime(result, speed=2.0)
    made = api.make_editable(result.tensors["output"])
    assert made and all(o.name.startswith("1:output[") for o in made)
    assert clips.edits(result.collection) == [], "making cells editable is the add-on's own change"
    track = result.timeline.tensor("output")
    frames, to_timeline = scene_frames(result, count=10)
    for frame in frames:
        shot.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        want = state_at(result.timeline, to_timeline(frame))["output"]
        scale = np.array([o.evaluated_get(depsgraph).matrix_world.to_scale()[0] for o in made])
        assert np.allclose(scale, want.scale * CUBE, atol=1e-4), f"scene frame {frame}"


def test_clear_takes_clips_no_scene_links_any_more(shot):
    result = api.generate(SMALL)
    name = result.collection.name
    shot.collection.children.unlink(result.collection)
    assert api.clear() == 1
    assert bpy.data.collections.get(name) is None
    assert not [o for o in bpy.data.objects if o.get(writer.TAG) is not None]


def test_clear_frees_cells_a_user_object_still_refers_to_safely(shot):
    """Cells nothing else refers to are freed without unlinking (fast in background); a cell the user parented
    an object of their own to goes the careful way, and the user's object loses only its parent."""
    result = api.generate(SMALL)
    shot.frame_set(shot.frame_start + 5)           # a depsgraph that holds the cells
    cell = result.cells["input"][0]
    mine = bpy.data.objects.new("my marker", None)
    shot.collection.objects.link(mine)
    mine.parent = cell
    constrained = bpy.data.objects.new("my follower", None)
    shot.collection.objects.link(constrained)
    constrained.constraints.new("COPY_LOCATION").target = result.cells["output"][0]
    assert api.clear() == 1
    assert mine.name in bpy.data.objects and mine.parent is None
    assert constrained.constraints[0].target is None
    assert not [o for o in bpy.data.objects if o.get(writer.TAG) is not None]
    shot.frame_set(shot.frame_start + 6)           # the depsgraph rebuilds without the freed cells
    bpy.context.evaluated_depsgraph_get()
