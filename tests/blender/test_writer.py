"""scene.writer: the objects-mode writer evaluates in Blender exactly as engine.state_at says.

Hand-built timelines exercise every convention (pops, moves that join, jumps, leaving
cells, highlights with open ends, tensors that travel, boxes that hide between passes)
for every easing; Blender's evaluated objects are read back at every frame.
"""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon.engine.errors import SpecError  # noqa: E402
from animatedai_addon.engine.timeline import EASINGS, BoxTrack, TensorTrack, Timeline, box_state_at  # noqa: E402
from animatedai_addon.scene import compat, keys, materials, mesh, writer  # noqa: E402

BASE = np.float32([0.05, 0.55, 0.6, 1.0])
LIT = np.float32([0.08, 0.88, 0.96, 1.0])
CUBE = 0.9


def grid(shape):
    c, h, w = shape
    cells = np.indices(shape).reshape(3, -1).T.astype(np.int32)
    position = np.stack([cells[:, 2], cells[:, 0], -cells[:, 1]], axis=1).astype(np.float32)
    return cells, position


def track(name, role, shape, origin=(0, 0, 0), **fields):
    cells, position = grid(shape)
    n = len(cells)
    values = dict(name=name, role=role, shape=shape, cells=cells, origin=np.float64(origin), position=position,
                  color=np.tile(BASE, (n, 1)), highlight_color=np.tile(LIT, (n, 1)), value=np.zeros(n, np.float32),
                  appear=np.full(n, -np.inf, np.float32), disappear=np.full(n, np.inf, np.float32))
    values.update(fields)
    return TensorTrack(**values)


def rich_timeline(easing: str, pop_frames: int = 3) -> Timeline:
    """A small clip using every convention of the Timeline contract."""
    inputs = track(
        "input", "input", (2, 2, 3),
        # cell 0: two travels that join (a shared key), then a later one; cell 5: a short one
        move_cell=np.int32([0, 0, 0, 5]), move_start=np.float32([4, 10, 30, 12]),
        move_end=np.float32([10, 16, 33, 13]),
        move_to=np.float32([[0, 0, 2], [1, 0, 3], [0, 0, 0], [4, 4, 4]]),
        # cell 1: two intervals; cell 2: lit from the start; cell 3: lit to the end; cell 4: always lit
        highlight_cell=np.int32([1, 1, 2, 3, 4]), highlight_start=np.float32([5, 11, -np.inf, 20, -np.inf]),
        highlight_end=np.float32([8, 13, 9, np.inf, np.inf]))
    n = 12
    appear = (np.arange(n) * 2 + 3).astype(np.float32)
    appear[0] = -np.inf
    disappear = np.full(n, np.inf, np.float32)
    disappear[[0, 4, 7]] = [25, 40, 8]         # cell 0 leaves, cell 4 after its pop, cell 7 before its pop ends
    outputs = track("output", "output", (2, 2, 3), origin=(10, 0, 0), appear=appear, disappear=disappear,
                    key_frames=np.float32([0, 12, 30, 31]),
                    key_locations=np.float32([[10, 0, 0], [12, 0, 0], [12, 3, 1], [13, 3, 1]]))
    padding = track("input padding", "padding", (1, 1, 2), origin=(0, -3, 0))
    window = BoxTrack("window", "window", np.float32([3, 2, 3]), np.float32([2, 5, 9, 14, 20]),
                      np.float32([[0, 0, 0], [1, 0, 0], [2, 0, 0], [2, 0, 0], [3, 0, 0]]), appear=2.0,
                      disappear=30.0, targets=("input",), key_visible=np.array([1, 1, 1, 0, 1], bool))
    outline = BoxTrack("output outline", "outline", np.float32([3, 2, 2]), np.float32([1]), np.float32([[11, 0, 0]]),
                       color=(0.02, 0.02, 0.02, 1.0))
    return Timeline(1, 45, 24, pop_frames, easing, [inputs, outputs, padding], [window, outline],
                    np.float32([4, 6, 8]))


def write(timeline, **kwargs):
    return writer.write_clip(timeline, "test clip", bpy.context.scene, cube_size=CUBE, **kwargs)


# --------------------------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize("easing", EASINGS)
@pytest.mark.parametrize("pop_frames", [0, 3])
def test_every_frame_matches_state_at(easing, pop_frames, mismatches):
    timeline = rich_timeline(easing, pop_frames)
    clip = write(timeline)
    assert mismatches(timeline, clip.cells, clip.boxes, range(-1, 48), CUBE) == []


def test_shared_slots_evaluate_like_separate_ones(mismatches):
    timeline = rich_timeline("ease")
    # every input cell of the rich timeline lights up at the same frames as another one in another tensor
    twin = track("twin", "input", (2, 2, 3), highlight_cell=np.int32([0, 1]),
                 highlight_start=np.float32([5, 5]), highlight_end=np.float32([8, 8]))
    timeline.tensors.append(twin)
    clip = write(timeline, share_identical=True)
    assert mismatches(timeline, clip.cells, clip.boxes, range(0, 46, 3), CUBE) == []
    first, second = (clip.cells["twin"][i].animation_data for i in (0, 1))
    assert first.action == second.action
    if compat.SLOTTED_ACTIONS:
        assert first.action_slot == second.action_slot


def test_without_sharing_every_cell_has_its_own_curves(mismatches):
    timeline = rich_timeline("ease")
    timeline.tensors.append(track("twin", "input", (1, 1, 2), highlight_cell=np.int32([0, 1]),
                                  highlight_start=np.float32([5, 5]), highlight_end=np.float32([8, 8])))
    clip = write(timeline, share_identical=False)
    a, b = clip.cells["twin"]
    fcurves_a, fcurves_b = compat.object_fcurves(a), compat.object_fcurves(b)
    assert fcurves_a and fcurves_b and not {id(f) for f in fcurves_a} & {id(f) for f in fcurves_b}
    if compat.SLOTTED_ACTIONS:
        assert a.animation_data.action_slot != b.animation_data.action_slot
    assert mismatches(timeline, clip.cells, clip.boxes, range(0, 46, 5), CUBE) == []


def test_static_cells_carry_no_animation():
    clip = write(rich_timeline("ease"))
    padding = clip.cells["input padding"]
    assert all(o.animation_data is None for o in padding)
    assert all(tuple(o.scale) == pytest.approx((CUBE,) * 3) for o in padding)
    # only the keyed colour channels get curves (alpha never changes here)
    curves = compat.object_fcurves(clip.cells["input"][1])
    assert sorted((f.data_path, f.array_index) for f in curves) == [("color", 0), ("color", 1), ("color", 2)]


def test_many_cells_share_few_actions():
    n = 3 * writer.OBJECTS_PER_ACTION + 7
    big = track("output", "output", (1, 1, n), appear=np.arange(n, dtype=np.float32) + 2)
    timeline = Timeline(1, n + 10, 24, 3, "ease", [big], [], np.zeros(0, np.float32))
    clip = write(timeline)
    actions = {o.animation_data.action for o in clip.cells["output"]}
    expected = -(-n // writer.OBJECTS_PER_ACTION) if compat.SLOTTED_ACTIONS else n
    assert len(actions) == expected == len(clip.actions)
    assert all(a[writer.PROP_CLIP] == "test clip" for a in actions)


# --------------------------------------------------------------------------------------------- what is made


def test_clip_structure_names_and_shared_data(scene):
    timeline = rich_timeline("ease")
    clip = write(timeline)
    assert clip.collection.name == "AnimatedAI test clip"
    assert clip.collection.name in scene.collection.children
    children = {c.name for c in clip.collection.children}
    assert children == {"test clip / input", "test clip / output", "test clip / input padding"}
    cube = bpy.data.meshes[mesh.CUBE_MESH]
    for t in timeline.tensors:
        objects = clip.cells[t.name]
        assert [o.name for o in objects] == t.cell_names()
        empty = clip.empties[t.name]
        assert clip.tensors[t.name] == empty and empty.type == "EMPTY"
        assert all(o.parent == empty and o.data == cube for o in objects)
        assert {o.material_slots[0].material.name for o in objects} == {f"AnimatedAI {t.role}"}
        assert set(bpy.data.collections[f"test clip / {t.name}"].objects) == set(objects) | {empty}
    assert set(clip.boxes) == {"window", "output outline"}
    for box in clip.boxes.values():
        assert box.material_slots[0].material.name == "AnimatedAI box"
    # the scene's settings are the user's: writing a clip leaves them alone (api.generate(set_scene=True) sets them)
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, 250, 24)


def test_a_second_clip_gets_its_own_names(scene):
    first = write(rich_timeline("ease"))
    second = writer.write_clip(rich_timeline("linear"), "other clip", scene, cube_size=CUBE)
    assert second.collection.name == "AnimatedAI other clip"
    assert second.empties["input"].name == "other clip input"
    assert first.empties["input"].name == "input"
    assert bpy.data.meshes[mesh.CUBE_MESH] == second.cells["input"][0].data   # one cube mesh for all


def test_bad_mode_raises_before_anything_is_made(datablock_counts):
    before = datablock_counts()
    with pytest.raises(SpecError) as info:
        write(rich_timeline("ease"), mode="points")
    assert info.value.parameter == "mode"
    assert datablock_counts() == before


def test_bad_role_raises_before_anything_is_made(datablock_counts):
    timeline = rich_timeline("ease")
    timeline.tensors[0].role = "weights"
    before = datablock_counts()
    with pytest.raises(SpecError):
        write(timeline)
    assert datablock_counts() == before


def test_cube_mesh_is_a_bevelled_unit_cube():
    cube = mesh.ensure_cube_mesh()
    co = np.empty(len(cube.vertices) * 3, np.float32)
    cube.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    assert np.allclose(co.min(axis=0), -0.5) and np.allclose(co.max(axis=0), 0.5)
    assert len(cube.vertices) > 8                                   # rounded edges
    smooth = np.empty(len(cube.polygons), bool)
    cube.polygons.foreach_get("use_smooth", smooth)
    assert smooth.any() and not smooth.all()                        # smooth bevels, flat faces
    assert mesh.ensure_cube_mesh() == cube


def test_wire_box_tubes_are_round_and_keep_their_thickness_at_any_size():
    sides = mesh.TUBE_SIDES
    for size in ((3.0, 2.0, 3.0), (0.5, 8.0, 1.0)):
        vertices, faces = mesh.wire_box_geometry(size, thickness=0.08)
        assert vertices.shape == (12 * 2 * sides, 3) and faces.shape[0] == 12 * (sides + 2)
        world = vertices.reshape(12, 2 * sides, 3) * np.asarray(size)        # as the scaled box object shows it
        for tube in world:
            axis = int(np.argmax(tube.max(axis=0) - tube.min(axis=0)))
            across = [a for a in range(3) if a != axis]
            centre = tube[:, across].mean(axis=0)
            # round: every ring vertex is half the thickness from the tube's axis, once scaled
            assert np.allclose(np.linalg.norm(tube[:, across] - centre, axis=1), 0.04)
            # centred on an edge of the box, and reaching past both corners by its radius
            assert np.allclose(np.abs(centre), np.asarray(size)[across] / 2)
            assert np.allclose([tube[:, axis].min(), tube[:, axis].max()],
                               [-size[axis] / 2 - 0.04, size[axis] / 2 + 0.04])


def test_box_mesh_is_closed_smooth_tubes_sized_by_the_cube():
    import bmesh
    made = mesh.ensure_box_mesh((3.0, 8.0, 3.0), cube_size=0.9)
    assert mesh.ensure_box_mesh((3.0, 8.0, 3.0), cube_size=0.9) == made
    thick = mesh.ensure_box_mesh((3.0, 8.0, 3.0), cube_size=2.0)
    assert thick != made and mesh.tube_thickness(2.0) == pytest.approx(2.0 * mesh.TUBE_WIDTH_OF_CUBE)
    bm = bmesh.new()
    try:
        bm.from_mesh(made)
        assert all(edge.is_manifold for edge in bm.edges)                 # twelve closed tubes
    finally:
        bm.free()
    smooth = np.empty(len(made.polygons), bool)
    made.polygons.foreach_get("use_smooth", smooth)
    assert smooth.sum() == 12 * mesh.TUBE_SIDES                            # the sides, not the end caps
    co = np.empty(len(made.vertices) * 3, np.float32)
    made.vertices.foreach_get("co", co)
    across = (co.reshape(-1, 3).max(axis=0) - 0.5) * np.array([3.0, 8.0, 3.0])
    assert np.allclose(across, mesh.tube_thickness(0.9) / 2, atol=1e-5)     # radius past the box, in metres


def test_materials_are_made_once_and_reused():
    made = materials.ensure_materials()
    assert set(made) == set(materials.ROLES)
    made["input"].roughness = 0.123
    again = materials.ensure_materials()
    assert again["input"] == made["input"] and again["input"].roughness == pytest.approx(0.123)
    tree = made["output"].node_tree
    kinds = {n.bl_idname for n in tree.nodes}
    assert {"ShaderNodeAttribute", "ShaderNodeBsdfPrincipled"} <= kinds
    attribute = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeAttribute")
    assert attribute.attribute_type == "INSTANCER" and attribute.attribute_name == "color"
    base = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled").inputs["Base Color"]
    # the attribute alone (no doubled colour), times the role's Tint swatch (white: unchanged)
    tint = base.links[0].from_node
    assert base.is_linked and tint.name == "Tint" and tint.blend_type == "MULTIPLY"
    a, b = (next(s for s in tint.inputs if s.identifier == i) for i in ("A_Color", "B_Color"))
    assert a.links[0].from_node == attribute and tuple(b.default_value) == (1.0, 1.0, 1.0, 1.0)
    assert made["padding"].node_tree.nodes["Principled BSDF"].inputs["Alpha"].default_value < 1.0


# --------------------------------------------------------------------------------------------- key arrays (more in tests/engine/test_scene_keys.py)


def test_box_visibility_keys_follow_box_state_at():
    timeline = rich_timeline("ease")
    box = timeline.boxes[0]
    frames, shown = keys.box_visibility_keys(box)
    for f in range(-2, 40):
        k = np.searchsorted(frames, f, side="right") - 1
        value = shown[max(k, 0)]
        assert bool(value) == box_state_at(timeline, f)["window"][0], f


def test_bezier_segments_have_flat_handles_at_thirds():
    """Auto-clamped (fcurve.update) or written FREE: every BEZIER segment is a smoothstep."""
    clip = write(rich_timeline("ease"))
    checked = 0
    for objects in clip.cells.values():
        for obj in objects:
            for fc in compat.object_fcurves(obj):
                points = list(fc.keyframe_points)
                for before, after in zip(points, points[1:]):
                    if before.interpolation != "BEZIER":
                        continue
                    third = (after.co.x - before.co.x) / 3
                    assert tuple(before.handle_right) == pytest.approx((before.co.x + third, before.co.y))
                    assert tuple(after.handle_left) == pytest.approx((after.co.x - third, after.co.y))
                    checked += 1
    assert checked > 20
    # cell 0 rises along z through a shared key: that curve needed FREE handles
    z = next(fc for fc in compat.object_fcurves(clip.cells["input"][0]) if fc.data_path == "location"
             and fc.array_index == 2)
    assert z.keyframe_points[1].handle_left_type == "FREE"
