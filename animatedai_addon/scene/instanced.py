"""Instanced mode: one point object per tensor, its points carrying the timeline.

Each tensor becomes ONE object whose mesh has only vertices: a point per cell at
its rest position (relative to the tensor's empty, its parent). The timeline
travels as point attributes, written in bulk with ``foreach_set``; the
``AnimatedAI cells`` Geometry Nodes group (see :mod:`.nodes`) turns them into
cube instances every frame from the scene time. This scales to millions of
cubes where one object per cell stops at tens of thousands.

Point attributes (domain POINT)
-------------------------------
=====================  ============  =================================================
name                   type          meaning
=====================  ============  =================================================
``appear``             FLOAT         first frame shown (pop-in starts); -1e30 = always
``disappear``          FLOAT         first frame hidden again; 1e30 = never
``color``              FLOAT_COLOR   base colour (linear RGBA)
``highlight_color``    FLOAT_COLOR   colour while lit
``value``              FLOAT         the tensor's value at the cell
``padding``            BOOLEAN       the cell is padding
``cell``               INT           flat cell index ``(c * H + y) * W + x`` in ``shape``
``move{k}_start``      FLOAT         k-th travel of the cell (k < ``MAX_MOVES``): start,
``move{k}_end``        FLOAT         end frame,
``move{k}_offset``     FLOAT_VECTOR  and displacement (``to`` minus the position before)
``hl{k}_start/_end``   FLOAT         k-th highlight interval [start, end) (k < ``MAX_HIGHLIGHTS``)
=====================  ============  =================================================

Only the move and highlight slots a tensor uses are written (a missing slot
reads as 0 in Geometry Nodes: no travel, an empty interval). Infinite frames are
stored as +-1e30 so that no NaN can arise in the node math.

Limits
------
* ``MAX_MOVES`` (4) travels per cell; a track with more raises ``SpecError``.
* ``MAX_HIGHLIGHTS`` (4) highlight intervals per cell. Tensors lit by window
  boxes (input cells are lit once per window position: hundreds of intervals)
  take their highlights from the boxes instead, so their intervals are only
  written when they fit; a tensor with more intervals and no window box raises.
* ``MAX_WINDOWS`` (4) window boxes per tensor. Boxes must not rotate.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..engine.errors import SpecError
from ..engine.timeline import EASINGS, TensorTrack, Timeline
from . import nodes

FAR_FRAME = 1e30
MAX_MOVES = nodes.MAX_MOVES
MAX_HIGHLIGHTS = nodes.MAX_HIGHLIGHTS
MAX_WINDOWS = nodes.MAX_WINDOWS
CUBE_OBJECT = "AnimatedAI cube"
MODIFIER_NAME = "AnimatedAI cells"

# custom properties on the point object, read back by "Make cells editable"
PROP_MODE = "animatedai_mode"
PROP_TENSOR = "animatedai_tensor"
PROP_ROLE = "animatedai_role"
PROP_SHAPE = "animatedai_shape"
PROP_EASING = "animatedai_easing"
PROP_POP_FRAMES = "animatedai_pop_frames"

_FOREACH_KEY = {"FLOAT": "value", "INT": "value", "BOOLEAN": "value", "FLOAT_VECTOR": "vector",
                "FLOAT_COLOR": "color"}
_WIDTH = {"FLOAT": 1, "INT": 1, "BOOLEAN": 1, "FLOAT_VECTOR": 3, "FLOAT_COLOR": 4}
_DTYPE = {"FLOAT": np.float32, "INT": np.int32, "BOOLEAN": bool, "FLOAT_VECTOR": np.float32,
          "FLOAT_COLOR": np.float32}


# --------------------------------------------------------------------------- arrays (numpy only)


def _checked(track: TensorTrack, field: str, width: int, dtype) -> np.ndarray:
    """``track.<field>`` as a C-contiguous (N,) or (N, width) array of ``dtype``, or SpecError."""
    values = np.asarray(getattr(track, field))
    n = len(track.cells)
    want = (n,) if width == 1 else (n, width)
    if values.shape != want:
        raise SpecError(f"{track.name}.{field}", values.shape, f"an array of shape {want}")
    return np.ascontiguousarray(values, dtype=dtype)


def finite_frames(frames: np.ndarray) -> np.ndarray:
    """Frames with +-inf replaced by +-FAR_FRAME (float32), so node math never meets inf - inf."""
    return np.clip(np.asarray(frames, np.float64), -FAR_FRAME, FAR_FRAME).astype(np.float32)


def _rank_within_cell(cell_of_row: np.ndarray) -> np.ndarray:
    """For rows sorted by cell: 0 for a cell's first row, 1 for its second, ..."""
    rows = np.arange(len(cell_of_row))
    if len(rows) == 0:
        return rows
    starts = np.flatnonzero(np.r_[True, cell_of_row[1:] != cell_of_row[:-1]])
    first_row = np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    return rows - first_row


def _sorted_rows(track: TensorTrack, cell_field: str, start_field: str) -> np.ndarray:
    cells = np.asarray(getattr(track, cell_field), np.int64)
    n = len(track.cells)
    if len(cells) and (cells.min() < 0 or cells.max() >= n):
        raise SpecError(f"{track.name}.{cell_field}", (int(cells.min()), int(cells.max())),
                        f"cell indices in 0..{n - 1}")
    return np.lexsort((np.asarray(getattr(track, start_field)), cells))


def move_slots(track: TensorTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell travel slots: start (N, K), end (N, K), offset (N, K, 3) with K = most travels of a cell.

    Unused slots have start = end = 0 and offset 0. Raises SpecError when a cell
    travels more than MAX_MOVES times.
    """
    n = len(track.cells)
    order = _sorted_rows(track, "move_cell", "move_start")
    cell = np.asarray(track.move_cell, np.int64)[order]
    start = np.asarray(track.move_start, np.float64)[order]
    end = np.asarray(track.move_end, np.float64)[order]
    to = np.asarray(track.move_to, np.float32).reshape(-1, 3)[order]
    rank = _rank_within_cell(cell)
    slots = int(rank.max()) + 1 if len(rank) else 0
    if slots > MAX_MOVES:
        raise SpecError(f"{track.name}.move_cell", f"{slots} travels of one cell",
                        f"at most {MAX_MOVES} travels per cell in the instanced mode",
                        "use mode='objects' for this clip")
    rest = _checked(track, "position", 3, np.float32)
    before = to.copy()
    first = rank == 0
    before[first] = rest[cell[first]]
    before[~first] = to[np.flatnonzero(~first) - 1]   # rows of one cell are consecutive
    slot_start = np.zeros((n, slots), np.float32)
    slot_end = np.zeros((n, slots), np.float32)
    slot_offset = np.zeros((n, slots, 3), np.float32)
    slot_start[cell, rank] = finite_frames(start)
    slot_end[cell, rank] = finite_frames(end)
    slot_offset[cell, rank] = to - before
    return slot_start, slot_end, slot_offset


def highlight_slots(track: TensorTrack, lit_by_boxes: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-cell highlight intervals: start (N, K), end (N, K); unused slots are the empty [0, 0).

    Returns None when the intervals do not fit in MAX_HIGHLIGHTS slots but
    window boxes light the tensor; raises SpecError when they do not fit and no
    box lights it.
    """
    n = len(track.cells)
    order = _sorted_rows(track, "highlight_cell", "highlight_start")
    cell = np.asarray(track.highlight_cell, np.int64)[order]
    rank = _rank_within_cell(cell)
    slots = int(rank.max()) + 1 if len(rank) else 0
    if slots > MAX_HIGHLIGHTS:
        if lit_by_boxes:
            return None
        raise SpecError(f"{track.name}.highlight_cell", f"{slots} highlight intervals of one cell",
                        f"at most {MAX_HIGHLIGHTS} per cell unless a window box lights the tensor",
                        "use mode='objects' for this clip")
    slot_start = np.zeros((n, slots), np.float32)
    slot_end = np.zeros((n, slots), np.float32)
    slot_start[cell, rank] = finite_frames(np.asarray(track.highlight_start)[order])
    slot_end[cell, rank] = finite_frames(np.asarray(track.highlight_end)[order])
    return slot_start, slot_end


def flat_cell_index(track: TensorTrack) -> np.ndarray:
    """``(c * H + y) * W + x`` for every cell, as int32 (SpecError if a cell lies outside ``shape``)."""
    cells = np.asarray(track.cells, np.int64).reshape(-1, 3)
    shape = np.asarray(track.shape, np.int64)
    if len(cells) and (np.any(cells < 0) or np.any(cells >= shape)):
        raise SpecError(f"{track.name}.cells", "cells outside the shape", f"indices within {tuple(track.shape)}")
    if int(np.prod(shape)) >= 2**31:
        raise SpecError(f"{track.name}.shape", tuple(track.shape), "fewer than 2**31 cells")
    return ((cells[:, 0] * shape[1] + cells[:, 1]) * shape[2] + cells[:, 2]).astype(np.int32)


def point_attributes(track: TensorTrack, lit_by_boxes: bool) -> dict[str, tuple[str, np.ndarray]]:
    """Every point attribute of a track: name -> (Blender data type, values). Validates first."""
    n = len(track.cells)
    attributes = {
        "appear": ("FLOAT", finite_frames(_checked(track, "appear", 1, np.float64))),
        "disappear": ("FLOAT", finite_frames(_checked(track, "disappear", 1, np.float64))),
        "color": ("FLOAT_COLOR", _checked(track, "color", 4, np.float32)),
        "highlight_color": ("FLOAT_COLOR", _checked(track, "highlight_color", 4, np.float32)),
        "value": ("FLOAT", _checked(track, "value", 1, np.float32)),
        "padding": ("BOOLEAN", np.full(n, track.role == "padding")),
        "cell": ("INT", flat_cell_index(track)),
    }
    start, end, offset = move_slots(track)
    for k in range(start.shape[1]):
        attributes[f"move{k}_start"] = ("FLOAT", start[:, k])
        attributes[f"move{k}_end"] = ("FLOAT", end[:, k])
        attributes[f"move{k}_offset"] = ("FLOAT_VECTOR", offset[:, k])
    highlights = highlight_slots(track, lit_by_boxes)
    if highlights is not None:
        for k in range(highlights[0].shape[1]):
            attributes[f"hl{k}_start"] = ("FLOAT", highlights[0][:, k])
            attributes[f"hl{k}_end"] = ("FLOAT", highlights[1][:, k])
    return attributes


# --------------------------------------------------------------------------- Blender data


def write_attribute(mesh: bpy.types.Mesh, name: str, data_type: str, values: np.ndarray) -> None:
    """Create (or replace) a point attribute and fill it with one ``foreach_set``."""
    width = _WIDTH[data_type]
    flat = np.ascontiguousarray(values, dtype=_DTYPE[data_type]).reshape(-1)
    if flat.size != len(mesh.vertices) * width:
        raise ValueError(f"attribute {name!r}: {flat.size} values for {len(mesh.vertices)} points of width {width}")
    old = mesh.attributes.get(name)
    if old is not None:
        mesh.attributes.remove(old)
    attribute = mesh.attributes.new(name, data_type, "POINT")
    attribute.data.foreach_set(_FOREACH_KEY[data_type], flat)


def read_attribute(mesh: bpy.types.Mesh, name: str) -> np.ndarray | None:
    """A point attribute as a numpy array ((N,) or (N, width)); None if the mesh lacks it."""
    attribute = mesh.attributes.get(name)
    if attribute is None:
        return None
    width = _WIDTH[attribute.data_type]
    values = np.empty(len(mesh.vertices) * width, _DTYPE[attribute.data_type])
    attribute.data.foreach_get(_FOREACH_KEY[attribute.data_type], values)
    return values if width == 1 else values.reshape(-1, width)


def build_point_mesh(name: str, positions: np.ndarray, attributes: dict[str, tuple[str, np.ndarray]]):
    """A mesh of loose vertices at ``positions`` carrying ``attributes``."""
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(positions))
    mesh.vertices.foreach_set("co", np.ascontiguousarray(positions, np.float32).reshape(-1))
    for attribute_name, (data_type, values) in attributes.items():
        write_attribute(mesh, attribute_name, data_type, values)
    mesh.update()
    return mesh


def cube_object(cube_mesh: bpy.types.Mesh) -> bpy.types.Object:
    """The object the node group instances: holds the shared cube mesh, linked to no scene.

    Geometry Nodes can only fetch a mesh through an object; this one is never
    rendered itself (it is in no collection), the modifiers keep it alive.
    """
    obj = bpy.data.objects.get(CUBE_OBJECT)
    if obj is None or obj.type != "MESH":
        obj = bpy.data.objects.new(CUBE_OBJECT, cube_mesh)
    elif obj.data != cube_mesh:
        obj.data = cube_mesh
    return obj


def set_modifier_inputs(modifier: bpy.types.Modifier, values: dict) -> None:
    """Set Geometry Nodes modifier inputs by socket name."""
    identifiers = nodes.input_identifiers(modifier.node_group)
    for name, value in values.items():
        modifier[identifiers[name]] = value


def write_tensor_points(track: TensorTrack, timeline: Timeline, *, name: str, collection: bpy.types.Collection,
                        parent: bpy.types.Object | None, cube_mesh: bpy.types.Mesh,
                        material: bpy.types.Material | None, window_boxes=(), cube_scale: float = 1.0,
                        ) -> bpy.types.Object:
    """Write one tensor as a point object with the ``AnimatedAI cells`` modifier; returns the object.

    ``window_boxes``: the box objects whose BoxTrack.targets include this tensor
    (unit boxes: location = centre, scale = size, scale 0 while hidden).
    ``cube_scale``: the scale of a fully popped-in cube (1 when ``cube_mesh`` is
    already ``look.cube_size`` across). Everything is validated before any data
    is created.
    """
    window_boxes = list(window_boxes)
    if len(window_boxes) > MAX_WINDOWS:
        raise SpecError("window_boxes", [b.name for b in window_boxes], f"at most {MAX_WINDOWS} per tensor")
    if timeline.easing not in EASINGS:
        raise SpecError("timeline.easing", timeline.easing, f"one of {EASINGS}")
    attributes = point_attributes(track, lit_by_boxes=bool(window_boxes))
    positions = _checked(track, "position", 3, np.float32)

    mesh = build_point_mesh(name, positions, attributes)
    obj = bpy.data.objects.new(name, mesh)
    collection.objects.link(obj)
    if parent is not None:
        obj.parent = parent
        obj.matrix_parent_inverse.identity()   # points are relative to the tensor's origin, i.e. its empty
    obj.color = (0.0, 0.0, 0.0, 1.0)           # materials add Object Info Color to the "color" attribute
    obj[PROP_MODE] = "instanced"
    obj[PROP_TENSOR] = track.name
    obj[PROP_ROLE] = track.role
    obj[PROP_SHAPE] = [int(s) for s in track.shape]
    obj[PROP_EASING] = timeline.easing
    obj[PROP_POP_FRAMES] = float(timeline.pop_frames)

    moves = sum(1 for key in attributes if key.endswith("_offset"))
    highlights = sum(1 for key in attributes if key.startswith("hl") and key.endswith("_start"))
    modifier = obj.modifiers.new(MODIFIER_NAME, "NODES")
    modifier.node_group = nodes.cells_group(moves, highlights, len(window_boxes))
    inputs = {"Cube": cube_object(cube_mesh), "Cube scale": float(cube_scale),
              "Pop frames": float(timeline.pop_frames), "Move easing": nodes.easing_code(timeline.easing)}
    if material is not None:
        inputs["Material"] = material
    for w, box in enumerate(window_boxes):
        inputs[f"Window {w + 1}"] = box
    set_modifier_inputs(modifier, inputs)
    return obj
