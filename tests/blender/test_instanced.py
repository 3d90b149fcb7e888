"""Instanced mode: the evaluated Geometry Nodes cells match the timeline, frame by frame.

The expectations come from :func:`expected_cells`, a direct numpy reading of the
timeline conventions (engine/timeline.py). The evaluated cells are read by
realising the instances with a test-only modifier, so the checks work the same
on Blender 4.2 and 5.0.
"""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon.engine.errors import SpecError  # noqa: E402
from animatedai_addon.engine.timeline import TensorTrack, Timeline  # noqa: E402
from animatedai_addon.scene import instanced, keys, nodes, writer  # noqa: E402
from animatedai_addon.scene import mesh as meshes  # noqa: E402

pytestmark = pytest.mark.blender

BASE = np.float32([0.05, 0.55, 0.6, 1.0])
LIT = np.float32([1.0, 0.9, 0.2, 1.0])


# --------------------------------------------------------------------------- fixtures and builders


@pytest.fixture(autouse=True)
def empty_blender():
    bpy.ops.wm.read_homefile(use_empty=True)
    for tree in list(bpy.data.node_groups):
        bpy.data.node_groups.remove(tree)
    yield


@pytest.fixture
def scene():
    return bpy.context.scene


@pytest.fixture
def clip(scene):
    collection = bpy.data.collections.new("AnimatedAI test")
    scene.collection.children.link(collection)
    return collection


@pytest.fixture
def cube_mesh():
    """The add-on's shared cube (edge 1, bevelled, one material slot): an instance's size is its scale."""
    return meshes.ensure_cube_mesh()


def grid_track(name="input", shape=(2, 3, 4), role="input", pitch=1.0, **fields) -> TensorTrack:
    """Cells of ``shape`` laid out like the engine does: x = column, y = channel, z = -row."""
    c, y, x = np.meshgrid(*(np.arange(s) for s in shape), indexing="ij")
    cells = np.stack([c, y, x], -1).reshape(-1, 3).astype(np.int32)
    n = len(cells)
    position = (np.stack([cells[:, 2], cells[:, 0], -cells[:, 1]], 1) * pitch).astype(np.float32)
    track = TensorTrack(name=name, role=role, shape=shape, cells=cells, origin=np.zeros(3),
                        position=position, color=np.tile(BASE, (n, 1)), highlight_color=np.tile(LIT, (n, 1)),
                        value=np.linspace(-1, 1, n).astype(np.float32),
                        appear=np.full(n, -np.inf, np.float32), disappear=np.full(n, np.inf, np.float32))
    for key, value in fields.items():
        setattr(track, key, value)
    return track


def timeline_of(*tracks, easing="ease", pop_frames=3, frame_end=40) -> Timeline:
    return Timeline(frame_start=0, frame_end=frame_end, fps=24, pop_frames=pop_frames, easing=easing,
                    tensors=list(tracks), boxes=[], step_frames=np.zeros(0, np.float32))


def lively_track() -> TensorTrack:
    """Pops, a disappearance, consecutive travels and highlight intervals, all on a 2x3x4 tensor."""
    track = grid_track()
    track.appear[::3] = 5.0
    track.appear[7] = 12.5           # a pop that starts between frames
    track.disappear[1] = 10.0
    track.move_cell = np.int32([0, 0, 5, 5])           # cell 5: two moves sharing a key at frame 8
    track.move_start = np.float32([10, 20, 2, 8])
    track.move_end = np.float32([14, 24, 8, 11])
    track.move_to = np.float32([[0, 4, 5], [0, 4, 9], [3, 6, -2], [1, 6, -3]])
    track.highlight_cell = np.int32([2, 2, 9])
    track.highlight_start = np.float32([3, 12, 0])
    track.highlight_end = np.float32([7, 13, np.inf])
    return track


def write(track, timeline, clip, cube_mesh, *, parent=None, boxes=(), name=None):
    return instanced.write_tensor_points(track, timeline, name=name or f"{track.name} cells", collection=clip,
                                        parent=parent, cube_mesh=cube_mesh, material=None, window_boxes=boxes)


def box_object(clip, name="window"):
    box = bpy.data.objects.new(name, None)
    clip.objects.link(box)
    return box


# --------------------------------------------------------------------------- expectations and evaluation


def ease(t, easing):
    t = np.clip(t, 0.0, 1.0)
    return {"linear": t, "ease": t * t * (3 - 2 * t), "constant": (t >= 1.0).astype(float)}[easing]


def expected_cells(track, frame, *, pop_frames=3, easing="ease", boxes=()):
    """Shown cells at ``frame``: local centre (n, 3), size (n,), colour (n, 4).

    ``boxes``: (centre, size) pairs in the tensor's local space.
    """
    appear, disappear = track.appear.astype(float), track.disappear.astype(float)
    shown = (appear <= frame) & (frame < disappear)
    with np.errstate(invalid="ignore"):
        size = ease((frame - appear) / pop_frames, easing) if pop_frames > 0 else np.ones(len(track))
    position = track.position.astype(float).copy()
    before = position.copy()
    for cell, start, end, to in zip(track.move_cell, track.move_start, track.move_end, track.move_to):
        step = to - before[cell]
        position[cell] += ease((frame - start) / max(end - start, 1e-6), easing) * step
        before[cell] = to
    lit = np.zeros(len(track), bool)
    for cell, start, end in zip(track.highlight_cell, track.highlight_start, track.highlight_end):
        lit[cell] |= start <= frame < end
    for centre, box_size in boxes:
        lit |= np.all(np.abs(position - centre) < np.asarray(box_size) / 2, axis=1)
    color = np.where(lit[:, None], track.highlight_color, track.color)
    return position[shown], size[shown], color[shown]


_REALIZE = "AnimatedAI test realize"


def evaluated_cells(obj):
    """The instances the modifier makes at the current frame: local centre, size, colour (as expected_cells)."""
    tree = bpy.data.node_groups.get(_REALIZE)
    if tree is None:
        tree = bpy.data.node_groups.new(_REALIZE, "GeometryNodeTree")
        tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
        tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        group_in, group_out = tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")
        realize = tree.nodes.new("GeometryNodeRealizeInstances")
        tree.links.new(group_in.outputs[0], realize.inputs[0])
        tree.links.new(realize.outputs[0], group_out.inputs[0])
    modifier = obj.modifiers.new("test realize", "NODES")
    modifier.node_group = tree
    try:
        depsgraph = bpy.context.evaluated_depsgraph_get()
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        count = len(mesh.vertices)
        co = np.empty(count * 3, np.float32)
        mesh.vertices.foreach_get("co", co)
        color = np.zeros((count, 4), np.float32)
        if count:
            mesh.attributes["color"].data.foreach_get("color", color.reshape(-1))
        evaluated.to_mesh_clear()
    finally:
        obj.modifiers.remove(modifier)
    per_cube = len(bpy.data.meshes[meshes.CUBE_MESH].vertices)
    corners = co.reshape(-1, per_cube, 3)
    return corners.mean(axis=1), np.ptp(corners[:, :, 0], axis=1), color.reshape(-1, per_cube, 4)[:, 0]


def assert_same_cells(got, want, atol=1e-4):
    """Compare two (centre, size, colour) sets of cells regardless of order."""
    def sorted_rows(cells):
        rows = np.column_stack([cells[0], cells[1], cells[2]]).astype(float)
        return rows[np.lexsort(np.round(rows, 3).T[::-1])]
    got_rows, want_rows = sorted_rows(got), sorted_rows(want)
    assert got_rows.shape == want_rows.shape, f"{len(got_rows)} cells shown, expected {len(want_rows)}"
    np.testing.assert_allclose(got_rows, want_rows, atol=atol)


# --------------------------------------------------------------------------- tests


def test_points_carry_the_timeline_as_attributes(clip, cube_mesh):
    track = lively_track()
    obj = write(track, timeline_of(track), clip, cube_mesh)
    mesh = obj.data
    assert obj.type == "MESH" and len(mesh.vertices) == len(track) and len(mesh.polygons) == 0
    co = np.empty(len(track) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    np.testing.assert_array_equal(co.reshape(-1, 3), track.position)
    read = lambda name: instanced.read_attribute(mesh, name)  # noqa: E731
    far = np.float32(1e30)
    np.testing.assert_array_equal(read("appear"), np.where(np.isinf(track.appear), -far, track.appear))
    np.testing.assert_array_equal(read("disappear"), np.where(np.isinf(track.disappear), far, track.disappear))
    np.testing.assert_array_equal(read("color"), track.color)
    np.testing.assert_array_equal(read("highlight_color"), track.highlight_color)
    np.testing.assert_array_equal(read("value"), track.value)
    assert not read("padding").any()
    np.testing.assert_array_equal(read("cell"), np.arange(len(track)))   # grid order = flat index order
    # cell 0 travels twice: slots 0 and 1 hold its two displacements
    np.testing.assert_array_equal(read("move0_offset")[0], [0, 4, 5])
    np.testing.assert_array_equal(read("move1_offset")[0], [0, 0, 4])
    np.testing.assert_array_equal(read("move0_offset")[5], track.move_to[2] - track.position[5])
    assert read("move1_start")[0] == 20 and read("move1_end")[1] == 0    # unused slot: empty
    assert mesh.attributes.get("move2_start") is None                    # only the slots used
    assert read("hl1_start")[2] == 12 and read("hl0_end")[9] == np.float32(1e30)
    np.testing.assert_allclose(obj.color, track.color[0], rtol=1e-6)   # what Workbench shows
    assert obj.modifiers[0].node_group.name == nodes.cells_group_name(2, 2, 0)


@pytest.mark.parametrize("easing", ["ease", "linear", "constant"])
def test_shown_cells_follow_the_timeline(scene, clip, cube_mesh, easing):
    track = lively_track()
    obj = write(track, timeline_of(track, easing=easing), clip, cube_mesh)
    for frame in (0, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 21, 23, 24, 30):
        scene.frame_set(frame)
        assert_same_cells(evaluated_cells(obj), expected_cells(track, frame, easing=easing))


def test_subframes_pop_and_travel_smoothly(scene, clip, cube_mesh):
    track = lively_track()
    obj = write(track, timeline_of(track), clip, cube_mesh)
    for frame, subframe in ((12, 0.75), (13, 0.5), (21, 0.25)):
        scene.frame_set(frame, subframe=subframe)
        assert_same_cells(evaluated_cells(obj), expected_cells(track, frame + subframe))


def test_no_pop_when_pop_frames_is_zero(scene, clip, cube_mesh):
    track = lively_track()
    obj = write(track, timeline_of(track, pop_frames=0), clip, cube_mesh)
    scene.frame_set(5)
    centre, size, color = evaluated_cells(obj)
    assert len(size) == len(track) - 1 and np.all(size == 1.0)


def test_window_box_lights_the_cells_inside_it(scene, clip, cube_mesh):
    track = grid_track()
    track.appear[:] = 4.0
    box = box_object(clip)
    obj = write(track, timeline_of(track), clip, cube_mesh, boxes=[box])
    positions = [((1.0, 0.5, -1.0), (3.2, 2.2, 3.2)), ((3.0, 1.0, -2.0), (1.2, 1.2, 2.2)),
                 ((1.0, 0.5, -1.0), (0.0, 0.0, 0.0))]          # the last one hidden: scale 0
    for frame in (3, 4, 9):
        for centre, size in positions:
            box.location, box.scale = centre, size
            scene.frame_set(frame)
            got = evaluated_cells(obj)
            assert_same_cells(got, expected_cells(track, frame, boxes=[(np.array(centre), size)]))
    box.location, box.scale = positions[0]
    scene.frame_set(20)
    assert (evaluated_cells(obj)[2] == LIT).all(axis=1).sum() == 3 * 3 * 2   # 3 columns, 3 rows, 2 channels


def test_boxes_are_read_relative_to_the_moving_tensor(scene, clip, cube_mesh):
    """The tensor's empty moves the points; the box test uses world positions of both."""
    track = grid_track()
    empty = bpy.data.objects.new("input", None)
    clip.objects.link(empty)
    empty.location = (10.0, -3.0, 2.0)
    windows = [box_object(clip, "window a"), box_object(clip, "window b")]
    windows[0].location, windows[0].scale = (10.0, -3.0, 2.0), (1.1, 1.1, 1.1)      # world: cell (0, 0, 0)
    windows[1].location, windows[1].scale = (13.0, -2.0, 0.0), (1.1, 1.1, 1.1)      # world: cell (1, 2, 3)
    obj = write(track, timeline_of(track), clip, cube_mesh, parent=empty, boxes=windows)
    scene.frame_set(1)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    assert np.allclose(obj.evaluated_get(depsgraph).matrix_world.translation, (10, -3, 2))
    centre, size, color = evaluated_cells(obj)
    lit = {tuple(np.round(c).astype(int)) for c in centre[(color == LIT).all(axis=1)]}
    assert lit == {(0, 0, 0), (3, 1, -2)}


def test_padding_role_sets_the_padding_flag(clip, cube_mesh):
    track = grid_track("input padding", role="padding")
    obj = write(track, timeline_of(track), clip, cube_mesh)
    assert instanced.read_attribute(obj.data, "padding").all()


def test_too_many_travels_raise_before_anything_is_made(clip, cube_mesh):
    track = grid_track()
    track.move_cell = np.zeros(nodes.MAX_MOVES + 1, np.int32)
    track.move_start = np.arange(nodes.MAX_MOVES + 1, dtype=np.float32) * 10
    track.move_end = track.move_start + 5
    track.move_to = np.zeros((nodes.MAX_MOVES + 1, 3), np.float32)
    objects, meshes = len(bpy.data.objects), len(bpy.data.meshes)
    with pytest.raises(SpecError, match="travels"):
        write(track, timeline_of(track), clip, cube_mesh)
    assert (len(bpy.data.objects), len(bpy.data.meshes)) == (objects, meshes)


def test_many_highlights_need_a_window_box(clip, cube_mesh):
    track = grid_track()
    count = nodes.MAX_HIGHLIGHTS + 1
    track.highlight_cell = np.zeros(count, np.int32)
    track.highlight_start = np.arange(count, dtype=np.float32) * 10
    track.highlight_end = track.highlight_start + 2
    with pytest.raises(SpecError, match="highlight"):
        write(track, timeline_of(track), clip, cube_mesh)
    obj = write(track, timeline_of(track), clip, cube_mesh, boxes=[box_object(clip)])
    assert obj.data.attributes.get("hl0_start") is None   # the box does the lighting


def test_bad_array_shapes_and_easing_raise_spec_error(clip, cube_mesh):
    track = grid_track()
    track.color = track.color[:, :3]
    with pytest.raises(SpecError, match="color"):
        write(track, timeline_of(track), clip, cube_mesh)
    track = grid_track()
    with pytest.raises(SpecError, match="easing"):
        write(track, timeline_of(track, easing="bounce"), clip, cube_mesh)
    with pytest.raises(SpecError, match="window_boxes"):
        write(track, timeline_of(track), clip, cube_mesh,
              boxes=[box_object(clip, f"w{i}") for i in range(nodes.MAX_WINDOWS + 1)])


def test_node_groups_are_shared_and_rebuilt_when_stale(scene, clip, cube_mesh):
    first, second = grid_track("a"), grid_track("b")
    obj_a = write(first, timeline_of(first), clip, cube_mesh)
    obj_b = write(second, timeline_of(second), clip, cube_mesh)
    tree = obj_a.modifiers[0].node_group
    assert obj_b.modifiers[0].node_group == tree
    groups = len(bpy.data.node_groups)
    # a stale group, e.g. saved by an older add-on: other nodes, one input fewer
    tree[nodes.VERSION_KEY] = -1
    tree.nodes.clear()
    tree.interface.remove(next(item for item in tree.interface.items_tree if item.name == "Pop frames"))
    assert nodes.cells_group(0, 0, 0) == tree and tree[nodes.VERSION_KEY] == nodes.NODES_VERSION
    assert len(bpy.data.node_groups) == groups
    scene.frame_set(3)
    for obj, track in ((obj_a, first), (obj_b, second)):   # the modifiers kept their inputs (the cube)
        assert len(evaluated_cells(obj)[0]) == len(track)


def test_modifier_has_no_warnings(scene, clip, cube_mesh):
    track = lively_track()
    obj = write(track, timeline_of(track), clip, cube_mesh, boxes=[box_object(clip)])
    scene.frame_set(6)
    bpy.context.evaluated_depsgraph_get()
    warnings = getattr(obj.modifiers[0], "node_warnings", None)   # 4.3+ only
    if warnings is not None:
        assert [w.message for w in warnings] == []


# --------------------------------------------------------------------------- make cells editable


def object_cells(objects):
    """Evaluated keyframed cell objects: local centre, size, colour (as expected_cells)."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = [obj.evaluated_get(depsgraph) for obj in objects]
    centre = np.array([e.matrix_local.translation[:] for e in evaluated]).reshape(-1, 3)
    size = np.array([e.matrix_local.to_scale()[0] for e in evaluated])
    color = np.array([e.color[:] for e in evaluated]).reshape(-1, 4)
    return centre, size, color


def nonzero(*parts):
    """Concatenate cell sets, leaving out cubes of size 0 (invisible in both modes)."""
    centre, size, color = (np.concatenate(p) for p in zip(*parts))
    shown = size > 1e-6
    return centre[shown], size[shown], color[shown]


def clip_frames(result, count=12):
    """Scene frames across the clip, with the frame after each of a few steps (travels, lights, pops)."""
    timeline = result.timeline
    steps = np.asarray(timeline.step_frames, float)
    frames = np.r_[np.linspace(timeline.frame_start, timeline.frame_end, count),
                   steps[[0, 1, len(steps) // 2, -1]] + 1, steps[[0, 1]] + 0.5 * timeline.pop_frames]
    return np.unique(np.round(frames - timeline.frame_start + result.start_frame)).astype(int)


def generate_instanced(**kwargs):
    from animatedai_addon import api
    from animatedai_addon.engine import Conv2d
    return api.generate(Conv2d(3, 4, 5, 2, 3, padding="same"), mode="instanced", location=(0.0, 0.0, 0.0),
                        **kwargs)


def instanced_cells_at(scene, result, frames) -> dict:
    """{(frame, tensor): the instanced cells it shows} before anything is made editable."""
    seen = {}
    for frame in frames:
        scene.frame_set(int(frame))
        for name, obj in result.tensors.items():
            if instanced.is_point_object(obj):
                seen[frame, name] = nonzero(evaluated_cells(obj))
    return seen


@pytest.mark.parametrize("easing", ["ease", "linear", "constant"])
def test_make_editable_keeps_every_frame_the_same(scene, easing):
    """Channel 1 of every tensor made editable: at every frame the points left and the new objects show
    exactly what the instanced clip showed (pops, filter slides, pulse lights, outputs)."""
    from animatedai_addon import api
    result = generate_instanced(timing={"easing": easing})
    frames = clip_frames(result)
    before = instanced_cells_at(scene, result, frames)
    points = {name: obj for name, obj in result.tensors.items() if instanced.is_point_object(obj)}
    counts = {name: len(obj.data.vertices) for name, obj in points.items()}
    made = api.make_editable(result, channels=(1, 1))
    by_tensor = {name: [o for o in made if o.name.startswith(f"1:{name}[")] for name in points}
    assert sum(map(len, by_tensor.values())) == len(made)
    for name, obj in points.items():
        track = result.timeline.tensor(name)
        in_channel = int((track.cells[:, 0] == 1).sum())
        assert len(by_tensor[name]) == in_channel and len(obj.data.vertices) == counts[name] - in_channel
        assert all(o.parent == obj.parent and o.data.name == meshes.CUBE_MESH for o in by_tensor[name])
        assert all("[c1," in o.name for o in by_tensor[name])
        held = instanced.read_attribute(obj.data, "cell")
        assert not np.isin(held, keys.flat_cell_index(track)[track.cells[:, 0] == 1]).any()
    for frame in frames:
        scene.frame_set(int(frame))
        for name, obj in points.items():
            got = nonzero(evaluated_cells(obj), object_cells(by_tensor[name]))
            try:
                assert_same_cells(got, before[frame, name])
            except AssertionError as error:
                raise AssertionError(f"{name} at frame {frame}: {error}") from None


@pytest.mark.parametrize("dilation", [1, 2])
def test_made_editable_cells_light_as_the_window_read_them(scene, dilation):
    """Look(highlight="cells"): the window box lights the input in Geometry Nodes; made editable, the input
    cells carry the engine's highlight intervals and match ``state_at`` at every frame."""
    from animatedai_addon import api
    from animatedai_addon.engine import Conv2d
    from animatedai_addon.engine.timeline import Look, build_timeline, state_at
    look = Look(highlight="cells")
    result = api.generate(Conv2d(2, 7, 7, 2, 3, dilation=dilation), mode="instanced", location=(0.0, 0.0, 0.0),
                          look=look)
    made = api.make_editable(result, tensors=["input"])
    assert len(result.tensors["input"].data.vertices) == 0
    full = build_timeline(result.plan, look=look)      # with the highlight intervals the instanced clip left out
    track = full.tensor("input")
    lit_somewhere = False
    for frame in clip_frames(result, count=16):
        scene.frame_set(int(frame))
        state = state_at(full, float(frame - result.start_frame + full.frame_start))["input"]
        lit_somewhere |= bool(state.highlighted.any())
        want = engine_cells(track, state, look.cube_size)
        assert_same_cells(nonzero(object_cells(made)), want)
    assert lit_somewhere


def test_make_editable_operator(scene):
    import animatedai_addon
    animatedai_addon.ensure_registered()   # the operator is part of the add-on (generate() registers it too)
    result = generate_instanced()
    obj = result.tensors["input"]
    count = len(obj.data.vertices)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    with bpy.context.temp_override(active_object=obj, selected_objects=[obj]):
        assert bpy.ops.animatedai.make_editable(use_channel_range=True, channel_first=0, channel_last=0) \
            == {"FINISHED"}
    assert len(obj.data.vertices) == count - 20
    assert len([o for o in result.collection.all_objects if o.name.startswith("1:input[c0,")]) == 20
    assert len(result.tensors["output"].data.vertices) == len(result.timeline.tensor("output")), \
        "only the selected tensor"


def test_make_editable_refuses_bad_arguments(scene, cube_mesh):
    from animatedai_addon import api
    from animatedai_addon.scene import clip as clips
    result = generate_instanced()
    obj = result.tensors["input"]
    count = len(obj.data.vertices)
    other = bpy.data.objects.new("not a tensor", cube_mesh)
    for kwargs, parameter in (({"clip": other}, "clip"), ({"clip": "conv"}, "clip"),
                              ({"clip": result, "channels": (2, 1)}, "channels"),
                              ({"clip": result, "channels": 1}, "channels"),
                              ({"clip": result, "tensors": ["nope"]}, "tensors"),
                              ({"clip": result, "tensors": "input"}, "tensors")):
        with pytest.raises(SpecError) as info:
            api.make_editable(**kwargs)
        assert info.value.parameter == parameter
    del result.collection[clips.SOURCE_PROP]       # a clip that does not say what it was made from
    with pytest.raises(SpecError) as info:
        api.make_editable(result)
    assert info.value.parameter == "clip"
    assert len(obj.data.vertices) == count
    objects_clip = api.generate("conv-3x3-valid", mode="objects")
    with pytest.raises(SpecError) as info:
        api.make_editable(objects_clip)
    assert info.value.parameter == "clip"


def test_make_editable_twice_takes_only_what_is_left(scene):
    from animatedai_addon import api
    result = generate_instanced()
    first = api.make_editable(result, channels=(0, 1), tensors=["input"])
    second = api.make_editable(result, tensors=["input"])
    assert len(first) == 40 and len(second) == 20
    assert {o.name for o in first}.isdisjoint(o.name for o in second)
    assert len(result.tensors["input"].data.vertices) == 0


# --------------------------------------------------------------------------- both modes render the same


def render_pixels(scene, path, engine) -> np.ndarray:
    scene.render.engine = engine
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(str(path))
    pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
    image.pixels.foreach_get(pixels)
    width, height = image.size
    bpy.data.images.remove(image)
    return pixels.reshape(height, width, 4)[:, :, :3]


def small_stage(scene):
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    camera.location, camera.rotation_euler = (1.5, -16.0, 1.8), (1.5, 0.0, 0.0)
    scene.camera = camera
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scene.collection.objects.link(sun)
    sun.rotation_euler = (0.6, 0.3, 0.2)
    scene.world = bpy.data.worlds.new("world")
    scene.render.resolution_x, scene.render.resolution_y = 96, 64
    scene.render.image_settings.file_format = "PNG"
    scene.cycles.samples = 8
    scene.cycles.seed = 7
    scene.cycles.use_denoising = False
    scene.cycles.device = "CPU"


@pytest.mark.render
@pytest.mark.slow
def test_both_modes_render_the_same_frame(scene, tmp_path):
    """An instanced clip, then every cell made editable: the same pixels in Cycles (and Workbench)."""
    from animatedai_addon import api
    small_stage(scene)
    result = generate_instanced()
    timeline = result.timeline
    target, extent = np.asarray(timeline.camera_target, float), np.asarray(timeline.extent, float)
    scene.camera.location = target + (0.0, -1.6 * max(extent[0], 1.5 * extent[2]) - extent[1], 0.0)
    scene.camera.rotation_euler = (np.pi / 2, 0.0, 0.0)
    frame = int(timeline.step_frames[1] + 1 - timeline.frame_start + result.start_frame)  # pops, slides, lights
    scene.frame_set(frame)
    instanced_cycles = render_pixels(scene, tmp_path / "instanced.png", "CYCLES")
    instanced_workbench = render_pixels(scene, tmp_path / "instanced_wb.png", "BLENDER_WORKBENCH")
    objects = api.make_editable(result)
    assert len(objects) == sum(len(t) for t in timeline.tensors if instanced.is_point_object(result.tensors[t.name]))
    scene.frame_set(frame)
    objects_cycles = render_pixels(scene, tmp_path / "objects.png", "CYCLES")
    objects_workbench = render_pixels(scene, tmp_path / "objects_wb.png", "BLENDER_WORKBENCH")
    # same seed, same geometry: measured identical; allow a little for BVH build differences
    assert np.abs(instanced_cycles - objects_cycles).mean() < 0.002
    assert np.abs(instanced_cycles - objects_cycles).max() < 0.1
    assert instanced_cycles.std() > 0.02                 # the frame is not empty
    # Workbench (default solid shading) shows the same silhouettes
    silhouette = lambda image: np.abs(image - image[0, 0]).sum(axis=2) > 0.02  # noqa: E731
    assert (silhouette(instanced_workbench) != silhouette(objects_workbench)).mean() < 0.01


# --------------------------------------------------------------------------- real timelines from the engine


def engine_cells(track, state, cube_size):
    shown = state.scale > 0
    color = np.where(state.highlighted[:, None], track.highlight_color, track.color)
    return state.local_position[shown], state.scale[shown] * cube_size, color[shown]


def preset_names():
    try:
        from animatedai_addon.engine import list_presets
        return list_presets()
    except ImportError:
        return []


@pytest.mark.slow
@pytest.mark.parametrize("preset_name", preset_names())
def test_instanced_cells_match_engine_state(scene, preset_name):
    """The clip as api.generate writes it in the instanced mode: the timeline without the input's
    highlight intervals (the window boxes light the cells), against the engine's full timeline."""
    from animatedai_addon.engine import load_preset_file, plan
    from animatedai_addon.engine.timeline import build_timeline, state_at
    preset = load_preset_file(preset_name)
    the_plan = plan(preset.spec)
    full = build_timeline(the_plan, preset.timing, preset.look)
    lean = build_timeline(the_plan, preset.timing, preset.look, highlights=False)
    clip = writer.write_clip(lean, preset_name, scene, "instanced", cube_size=preset.look.cube_size)
    steps = full.step_frames
    # every frame of the first step's pulse too (the pulse box glides over the filter in Geometry Nodes)
    pulse = [b for b in full.boxes if b.role == "pulse"]
    first_pulse = np.arange(np.floor(pulse[0].key_frames[0]), np.ceil(pulse[0].key_frames[1]) + 1) if pulse else []
    frames = np.unique(np.r_[np.linspace(full.frame_start, full.frame_end, 9).round(),
                             steps[[1, len(steps) // 3, len(steps) // 2, -1]].round() + 1, first_pulse]).astype(int)
    for frame in frames:
        scene.frame_set(int(frame))
        states = state_at(full, float(frame))
        for track in full.tensors:
            got = nonzero(evaluated_cells(clip.tensors[track.name]))
            want = engine_cells(track, states[track.name], preset.look.cube_size)
            try:
                assert_same_cells(got, want)
            except AssertionError as error:
                raise AssertionError(f"{preset_name} {track.name} frame {frame}: {error}") from None



@pytest.mark.render
@pytest.mark.slow
def test_both_modes_render_a_clip_the_same(scene, tmp_path):
    """A whole small clip, written by the writer in each mode with the shared materials, one mid frame."""
    from animatedai_addon.engine import Conv2d, plan
    from animatedai_addon.engine.timeline import build_timeline
    small_stage(scene)
    timeline = build_timeline(plan(Conv2d(3, 5, 5, 2, 3)))
    target, extent = np.asarray(timeline.camera_target, float), np.asarray(timeline.extent, float)
    scene.camera.location = target + (0.0, -1.6 * max(extent[0], 1.5 * extent[2]) - extent[1], 0.0)
    scene.camera.rotation_euler = (np.pi / 2, 0.0, 0.0)
    frame = int(timeline.step_frames[len(timeline.step_frames) // 2]) + 1
    images = {}
    for mode in ("instanced", "objects"):
        clip = writer.write_clip(timeline, "render test", scene, mode)
        scene.frame_set(frame)
        images[mode] = render_pixels(scene, tmp_path / f"{mode}.png", "CYCLES")
        writer.remove_clip(clip.collection)
    assert images["instanced"].std() > 0.02
    difference = np.abs(images["instanced"] - images["objects"])
    assert difference.mean() < 0.002 and difference.max() < 0.1


def test_instanced_clip_survives_save_and_reload(scene, clip, cube_mesh, tmp_path):
    """The cube holder object (in no scene) and the modifier inputs are kept by the file."""
    track = lively_track()
    box = box_object(clip)
    box.location, box.scale = (2.0, 0.5, -1.0), (1.2, 2.2, 1.2)
    write(track, timeline_of(track), clip, cube_mesh, boxes=[box])
    scene.frame_set(13)
    before = evaluated_cells(bpy.data.objects["input cells"])
    path = str(tmp_path / "instanced.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path, compress=True)
    bpy.ops.wm.open_mainfile(filepath=path)
    bpy.context.scene.frame_set(13)
    assert_same_cells(evaluated_cells(bpy.data.objects["input cells"]), before)
