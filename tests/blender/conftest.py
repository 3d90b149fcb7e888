"""Every Blender test starts from the same empty file, with no data left from the test before."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")

# Data-block collections emptied of anything a test left behind that the file reload kept
# (orphans are not saved with a file, but a reload from memory can hand them over).
_LEFTOVERS = ("objects", "meshes", "materials", "actions", "node_groups", "collections", "images")


def reset_blender() -> None:
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True, app_template="")
    for name in _LEFTOVERS:
        data = getattr(bpy.data, name)
        orphans = [block for block in data if block.users == 0 and not block.use_fake_user]
        if orphans:
            bpy.data.batch_remove(orphans)


@pytest.fixture(autouse=True)
def fresh_blender():
    reset_blender()
    yield


@pytest.fixture
def scene():
    return bpy.context.scene


def count_datablocks() -> dict[str, int]:
    """How many data-blocks of each kind the file holds (every bpy.data collection)."""
    counts = {}
    for name in dir(bpy.data):
        data = getattr(bpy.data, name, None)
        if isinstance(data, bpy.types.bpy_prop_collection):
            counts[name] = len(data)
    return counts


@pytest.fixture
def datablock_counts():
    """A function: the number of data-blocks of each kind in the file now."""
    return count_datablocks


def evaluated_cells(objects, depsgraph):
    """(world positions (N, 3), uniform scales (N,), colours (N, 4)) of objects as Blender evaluated them."""
    import numpy as np
    evaluated = [o.evaluated_get(depsgraph) for o in objects]
    matrices = np.array([np.array(o.matrix_world) for o in evaluated]).reshape(-1, 4, 4)
    scales = np.linalg.norm(matrices[:, :3, :3], axis=1)          # column norms: the scale per axis
    return matrices[:, :3, 3], scales, np.array([tuple(o.color) for o in evaluated]).reshape(-1, 4)


def clip_mismatches(timeline, cells: dict, boxes: dict, frames, cube_size: float, position_tol: float = 1e-3,
                    tol: float = 1e-4, frame_map=None, offset=(0.0, 0.0, 0.0)) -> list[str]:
    """Frames where Blender's evaluated cells and boxes differ from engine.state_at / box_state_at.

    ``cells``: tensor name -> its cell objects in TensorTrack order. Positions are compared in
    metres (Bezier evaluation in float32 far from the origin is good to ~1e-4 m), scales and
    colours exactly up to ``tol``. ``frame_map``: scene frame -> the timeline's frame (a retimed
    clip); ``offset``: where the clip's root stands.
    """
    import numpy as np
    from animatedai_addon.engine.timeline import box_state_at, state_at
    scene = bpy.context.scene
    problems = []
    offset = np.asarray(offset, float)
    for frame in frames:
        scene.frame_set(int(frame))
        depsgraph = bpy.context.evaluated_depsgraph_get()
        at = int(frame) if frame_map is None else frame_map(int(frame))
        states = state_at(timeline, at)
        for track in timeline.tensors:
            want = states[track.name]
            position, scale, color = evaluated_cells(cells[track.name], depsgraph)
            want_color = np.where(want.highlighted[:, None], track.highlight_color, track.color)
            errors = {"position": np.abs(position - want.world_position - offset).max(initial=0.0) / position_tol,
                      "scale": np.abs(scale - (want.scale * cube_size)[:, None]).max(initial=0.0) / tol,
                      "color": np.abs(color - want_color).max(initial=0.0) / tol}
            bad = {k: v for k, v in errors.items() if v > 1.0}
            if bad:
                problems.append(f"frame {frame} {track.name}: {bad} (in units of the tolerance)")
        for name, (visible, center, size) in box_state_at(timeline, at).items():
            center = np.asarray(center, float) + offset
            box = boxes[name].evaluated_get(depsgraph)
            got_size = np.array(box.matrix_world.to_scale())
            got_center = np.array(box.matrix_world.translation)
            if np.abs(got_size - size).max() > tol or (visible and np.abs(got_center - center).max() > position_tol):
                problems.append(f"frame {frame} box {name}: size {got_size} want {size}, centre {got_center} "
                                f"want {center}")
    return problems


@pytest.fixture
def mismatches():
    """A function: clip_mismatches(timeline, cells, boxes, frames, cube_size) -> [problems]."""
    return clip_mismatches
