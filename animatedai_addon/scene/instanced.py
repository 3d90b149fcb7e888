"""Instanced mode: one point object per tensor, its points carrying the timeline.

Each tensor becomes ONE object whose mesh has only vertices: a point per cell at
its rest position (relative to the tensor's empty, its parent). The timeline
travels as point attributes, written in bulk with ``foreach_set``; an
``AnimatedAI cells (...)`` Geometry Nodes group (see :mod:`.nodes`) turns them
into cube instances every frame from the scene time. This scales to millions
of cubes where one object per cell stops at tens of thousands.

"Make cells editable" (:func:`make_cells_editable`) reads the points back,
bakes what the window boxes light into highlight intervals, writes the cells as
the objects mode's keyframed objects (``scene.writer``) and drops the points.

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
* ``MAX_MOVES`` (8) travels per cell (a shuffle loop's cells make 6); a track with more raises ``SpecError``.
* ``MAX_HIGHLIGHTS`` (4) highlight intervals per cell. Tensors lit by window
  boxes (input cells are lit once per window position: hundreds of intervals)
  take their highlights from the boxes instead, so their intervals are only
  written when they fit; a tensor with more intervals and no window box raises.
* ``MAX_WINDOWS`` (4) window boxes per tensor. Boxes must not rotate.
* A dilated window reads every d-th cell of its box (``BoxTrack.read_spacing``):
  the node group lights only the cells on that lattice.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..engine.errors import SpecError
from ..engine.timeline import EASINGS, BoxTrack, TensorTrack, Timeline
from . import compat, nodes

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


def lattice_from_spacing(size, spacing) -> tuple[np.ndarray, np.ndarray]:
    """(spacing, phase) of a window of outer ``size`` reading cells ``spacing`` apart (0 = every cell).

    A window of k cells read d cells apart spans ((k - 1) * d + 1) cells, so
    size / spacing = k - 1 + 1/d and k = floor(size / spacing) + 1 when d > 1;
    its read cells sit (j - (k - 1) / 2) spacings from the centre: phase 0 for
    odd k, 0.5 for even k.
    """
    size, spacing = np.asarray(size, np.float64), np.asarray(spacing, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = np.where(spacing > 0, np.floor(size / np.where(spacing > 0, spacing, 1.0) + 1e-6) + 1, 1)
    return np.where(spacing > 0, spacing, 0.0), ((kernel - 1) / 2) % 1.0


def window_lattice(box: BoxTrack) -> tuple[np.ndarray, np.ndarray]:
    """(spacing, phase) of the cells a window reads inside its box (``BoxTrack.read_spacing``)."""
    return lattice_from_spacing(box.size, box.read_spacing)


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
        obj[nodes.TAG] = "cube holder"      # writer.CUBE_HOLDER_TAG: api.clear removes it once unused
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
                        start_frame: float | None = None, speed: float = 1.0, tag: str = "points",
                        ) -> bpy.types.Object:
    """Write one tensor as a point object with the ``AnimatedAI cells`` modifier; returns the object.

    ``window_boxes``: the box objects whose BoxTrack.targets include this tensor,
    in the order of ``timeline.boxes`` (unit boxes: location = centre, scale =
    size, scale 0 while hidden).
    ``cube_scale``: the scale of a fully popped-in cube (1 when ``cube_mesh`` is
    already ``look.cube_size`` across). ``start_frame``/``speed``: the scene frame the clip starts at
    (default the timeline's first) and its speed (the node group's retiming inputs). ``tag``: the
    value of the ``animatedai`` ID property on the point mesh. Everything is validated before any
    data is created.
    """
    window_boxes = list(window_boxes)
    if len(window_boxes) > MAX_WINDOWS:
        raise SpecError("window_boxes", [b.name for b in window_boxes], f"at most {MAX_WINDOWS} per tensor")
    if timeline.easing not in EASINGS:
        raise SpecError("timeline.easing", timeline.easing, f"one of {EASINGS}")
    attributes = point_attributes(track, lit_by_boxes=bool(window_boxes))
    positions = _checked(track, "position", 3, np.float32)
    # the BoxTracks of the window objects (same order); boxes the timeline does not list light every cell
    window_tracks = [box for box in timeline.boxes if box.role == "window" and track.name in box.targets]
    lattices = ([window_lattice(box) for box in window_tracks] if len(window_tracks) == len(window_boxes)
                else [(np.zeros(3), np.zeros(3))] * len(window_boxes))

    mesh = build_point_mesh(name, positions, attributes)
    mesh[nodes.TAG] = tag
    obj = bpy.data.objects.new(name, mesh)
    obj[nodes.TAG] = obj.name
    collection.objects.link(obj)
    if parent is not None:
        obj.parent = parent
        obj.matrix_parent_inverse.identity()   # points are relative to the tensor's origin, i.e. its empty
    # Instances render their "color" attribute; the object colour is what Workbench's object-colour shading shows.
    obj.color = tuple(float(v) for v in track.color[0]) if len(track) else (0.0, 0.0, 0.0, 1.0)
    obj[PROP_MODE] = "instanced"
    obj[PROP_TENSOR] = track.name
    obj[PROP_ROLE] = track.role
    obj[PROP_SHAPE] = [int(s) for s in track.shape]

    moves = sum(1 for key in attributes if key.endswith("_offset"))
    highlights = sum(1 for key in attributes if key.startswith("hl") and key.endswith("_start"))
    modifier = obj.modifiers.new(MODIFIER_NAME, "NODES")
    modifier.node_group = nodes.cells_group(moves, highlights, len(window_boxes))
    inputs = {"Cube": cube_object(cube_mesh), "Cube scale": float(cube_scale),
              "Pop frames": float(timeline.pop_frames), "Easing": nodes.easing_code(timeline.easing),
              "Start frame": float(timeline.frame_start if start_frame is None else start_frame),
              "Speed": float(speed), "Timeline start": float(timeline.frame_start)}
    if material is not None:
        inputs["Material"] = material
    for w, (box, (spacing, phase)) in enumerate(zip(window_boxes, lattices)):
        inputs[f"Window {w + 1}"] = box
        inputs[f"Window {w + 1} spacing"] = [float(v) for v in spacing]
        inputs[f"Window {w + 1} phase"] = [float(v) for v in phase]
    set_modifier_inputs(modifier, inputs)
    return obj


# --------------------------------------------------------------------------- reading points back (make editable)


def _from_finite(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames, np.float32).copy()
    frames[frames <= -FAR_FRAME * 0.5] = -np.inf
    frames[frames >= FAR_FRAME * 0.5] = np.inf
    return frames


def is_point_object(obj) -> bool:
    return obj is not None and obj.type == "MESH" and obj.get(PROP_MODE) == "instanced"


def read_tensor_points(obj: bpy.types.Object) -> TensorTrack:
    """The TensorTrack a point object carries (highlights from its own slots only, not from window boxes)."""
    mesh = obj.data
    n = len(mesh.vertices)
    shape = tuple(int(s) for s in obj[PROP_SHAPE])
    read = lambda name: read_attribute(mesh, name)  # noqa: E731
    position = np.empty(n * 3, np.float32)
    mesh.vertices.foreach_get("co", position)
    position = position.reshape(n, 3)
    flat = read("cell").astype(np.int64)
    cells = np.stack(np.unravel_index(flat, shape), 1).astype(np.int32)

    # travels: slot k moves the cell by its offset; "to" accumulates the offsets
    move_rows = []
    current = position.astype(np.float64).copy()
    k = 0
    while mesh.attributes.get(f"move{k}_offset") is not None:
        start, end, offset = read(f"move{k}_start"), read(f"move{k}_end"), read(f"move{k}_offset")
        used = ~((start == 0) & (end == 0) & np.all(offset == 0, axis=1))
        current = current + offset
        cell = np.flatnonzero(used)
        move_rows.append((cell, start[used], end[used], current[used].astype(np.float32), np.full(len(cell), k)))
        k += 1
    highlight_rows = []
    k = 0
    while mesh.attributes.get(f"hl{k}_start") is not None:
        start, end = read(f"hl{k}_start"), read(f"hl{k}_end")
        used = start < end
        highlight_rows.append((np.flatnonzero(used), start[used], end[used]))
        k += 1

    track = TensorTrack(name=obj[PROP_TENSOR], role=obj[PROP_ROLE], shape=shape, cells=cells,
                        origin=np.zeros(3), position=position, color=read("color"),
                        highlight_color=read("highlight_color"), value=read("value"),
                        appear=_from_finite(read("appear")), disappear=_from_finite(read("disappear")))
    if move_rows:
        cell, start, end, to, slot = (np.concatenate(parts) for parts in zip(*move_rows))
        order = np.lexsort((slot, cell))
        track.move_cell, track.move_start = cell[order].astype(np.int32), _from_finite(start[order])
        track.move_end, track.move_to = _from_finite(end[order]), to[order]
    if highlight_rows:
        cell, start, end = (np.concatenate(parts) for parts in zip(*highlight_rows))
        set_highlights(track, cell, start, end)
    return track


def set_highlights(track: TensorTrack, cell: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
    """Give the track these highlight intervals, sorted by (cell, start) and merged where they overlap or touch."""
    order = np.lexsort((start, cell))
    cell, start, end = np.asarray(cell, np.int64)[order], np.asarray(start, np.float64)[order], \
        np.asarray(end, np.float64)[order]
    if len(cell):
        # running maximum of the ends within each cell, vectorised: rank the ends, then offset each
        # cell's ranks above every earlier cell's so that one cumulative maximum never crosses cells
        values, rank = np.unique(end, return_inverse=True)
        stride = len(values)
        reach = values[np.maximum.accumulate(cell * stride + rank) - cell * stride]
        # an interval starting at or before the reach of the ones before it continues their run
        new_run = np.r_[True, (cell[1:] != cell[:-1]) | (start[1:] > reach[:-1])]
        first = np.flatnonzero(new_run)
        last = np.r_[first[1:], len(cell)] - 1
        cell, start, end = cell[first], start[first], reach[last]
    track.highlight_cell = cell.astype(np.int32)
    track.highlight_start = start.astype(np.float32)
    track.highlight_end = end.astype(np.float32)


def subset_track(track: TensorTrack, keep: np.ndarray) -> TensorTrack:
    """The cells where ``keep`` is True, with their travels and highlights (cell indices renumbered)."""
    keep = np.asarray(keep, bool)
    new_index = np.full(len(track), -1, np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    moves = keep[track.move_cell] if len(track.move_cell) else np.zeros(0, bool)
    lights = keep[track.highlight_cell] if len(track.highlight_cell) else np.zeros(0, bool)
    return TensorTrack(
        name=track.name, role=track.role, shape=track.shape, cells=track.cells[keep], origin=track.origin,
        position=track.position[keep], color=track.color[keep], highlight_color=track.highlight_color[keep],
        value=track.value[keep], appear=track.appear[keep], disappear=track.disappear[keep],
        move_cell=new_index[track.move_cell[moves]].astype(np.int32), move_start=track.move_start[moves],
        move_end=track.move_end[moves], move_to=track.move_to[moves],
        key_frames=track.key_frames, key_locations=track.key_locations,
        highlight_cell=new_index[track.highlight_cell[lights]].astype(np.int32),
        highlight_start=track.highlight_start[lights], highlight_end=track.highlight_end[lights])


def on_lattice(offset: np.ndarray, spacing, phase) -> np.ndarray:
    """Whether offsets from a window's centre fall on its lattice of read cells (as the node group decides)."""
    spacing, phase = np.asarray(spacing, np.float64), np.asarray(phase, np.float64)
    u = np.where(spacing > 0, offset / np.where(spacing > 0, spacing, 1.0) - phase, 0.0)
    return np.all(np.abs(u - np.floor(u + 0.5)) < 0.25, axis=-1)


def box_highlights(positions: np.ndarray, box_frames: np.ndarray, box_centres: np.ndarray,
                   box_sizes: np.ndarray, spacing=(0, 0, 0), phase=(0, 0, 0), chunk: int = 4096):
    """Highlight intervals of cells lit by a box that holds still between its keys.

    ``positions`` (n, 3): the cells, in the box's space (cells lit by windows
    do not travel while the window moves); the box has centre/size
    ``box_centres[i]`` / ``box_sizes[i]`` from ``box_frames[i]`` (sorted) until
    the next key; size 0 = hidden. ``spacing``/``phase``: the lattice of read
    cells (see :func:`window_lattice`). Returns (cell, start, end) arrays sorted by
    (cell, start); a cell lit at the last key stays lit (end = +inf).
    """
    positions = np.asarray(positions, np.float64)
    frames = np.asarray(box_frames, np.float64)
    cells, starts, ends = [], [], []
    lit_before = np.zeros(len(positions), bool)
    for first in range(0, len(frames), chunk):
        centres = np.asarray(box_centres[first:first + chunk], np.float64)[:, None, :]
        half = np.asarray(box_sizes[first:first + chunk], np.float64)[:, None, :] / 2
        offset = positions[None] - centres
        lit = np.all(np.abs(offset) < half, axis=2) & on_lattice(offset, spacing, phase)   # (keys, cells)
        changes = np.diff(np.vstack([lit_before[None], lit]).astype(np.int8), axis=0)
        key, cell = np.nonzero(changes > 0)
        cells.append(cell)
        starts.append(frames[first + key])
        key, cell = np.nonzero(changes < 0)
        ends.append((cell, frames[first + key]))
        lit_before = lit[-1]
    still = np.flatnonzero(lit_before)
    ends.append((still, np.full(len(still), np.inf)))
    start_cell, start_frame = np.concatenate(cells + [np.zeros(0, np.int64)]), np.concatenate(starts + [np.zeros(0)])
    end_cell = np.concatenate([c for c, _ in ends])
    end_frame = np.concatenate([f for _, f in ends])
    # the k-th start of a cell pairs with its k-th end
    start_order, end_order = np.lexsort((start_frame, start_cell)), np.lexsort((end_frame, end_cell))
    return start_cell[start_order], start_frame[start_order], end_frame[end_order]


def gliding_box_highlights(positions: np.ndarray, box_frames: np.ndarray, box_centres: np.ndarray,
                           box_sizes: np.ndarray):
    """Highlight intervals of cells lit by a box that glides (LINEAR keys) between its keys, as the pulse
    does: within each segment a cell is lit while it is strictly inside the moving box. Returns (cell,
    start, end) sorted by (cell, start), touching intervals joined."""
    positions = np.asarray(positions, np.float64)
    frames = np.asarray(box_frames, np.float64)
    centres, sizes = np.asarray(box_centres, np.float64), np.asarray(box_sizes, np.float64)
    cells, starts, ends = [], [], []
    for k in range(len(frames) - 1):
        a, b = frames[k], frames[k + 1]
        if not np.isfinite(a) or b <= a or not np.all(sizes[k] > 0):
            continue
        enter, leave = np.full(len(positions), a), np.full(len(positions), b)
        motion = centres[k + 1] - centres[k]
        for axis in range(3):
            offset = positions[:, axis] - centres[k, axis]
            half = sizes[k, axis] / 2
            if abs(motion[axis]) < 1e-12:
                outside = np.abs(offset) >= half
                leave[outside] = enter[outside]
                continue
            t1 = a + (offset - half) / motion[axis] * (b - a)
            t2 = a + (offset + half) / motion[axis] * (b - a)
            enter, leave = np.maximum(enter, np.minimum(t1, t2)), np.minimum(leave, np.maximum(t1, t2))
        lit = np.flatnonzero(leave > enter)
        cells.append(lit), starts.append(enter[lit]), ends.append(leave[lit])
    if not cells:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    cell, start, end = np.concatenate(cells), np.concatenate(starts), np.concatenate(ends)
    order = np.lexsort((start, cell))
    return cell[order], start[order], end[order]


def window_boxes_of(obj: bpy.types.Object) -> list[tuple[bpy.types.Object, np.ndarray, np.ndarray]]:
    """(box object, lattice spacing, lattice phase) of each window the point object's modifier reads."""
    inputs = modifier_inputs(obj)
    windows = []
    for w in range(1, MAX_WINDOWS + 1):
        box = inputs.get(f"Window {w}")
        if box is not None:
            windows.append((box, np.asarray(inputs[f"Window {w} spacing"], np.float64),
                            np.asarray(inputs[f"Window {w} phase"], np.float64)))
    return windows


def modifier_inputs(obj: bpy.types.Object) -> dict:
    """The point object's modifier inputs, by socket name."""
    modifier = obj.modifiers.get(MODIFIER_NAME)
    return {name: modifier.get(key) for name, key in nodes.input_identifiers(modifier.node_group).items()}


def _key_frames(fcurves) -> np.ndarray:
    frames = [np.empty(len(fc.keyframe_points) * 2, np.float32) for fc in fcurves]
    for fc, co in zip(fcurves, frames):
        fc.keyframe_points.foreach_get("co", co)
    return np.unique(np.concatenate([co[0::2] for co in frames] + [np.zeros(0, np.float32)]))


def _sample_vector(obj, data_path: str, fcurves, frames: np.ndarray) -> np.ndarray:
    """obj.<data_path> (3 floats) at ``frames``: its F-curves where animated, its value elsewhere."""
    values = np.tile(np.asarray(getattr(obj, data_path), np.float64), (len(frames), 1))
    for fc in fcurves:
        if fc.data_path != data_path:
            continue
        count = len(fc.keyframe_points)
        co = np.empty(count * 2, np.float32)
        fc.keyframe_points.foreach_get("co", co)
        kinds = np.empty(count, np.int32)
        fc.keyframe_points.foreach_get("interpolation", kinds)
        if count and np.all(kinds == 0):      # CONSTANT: the last key at or before the frame
            index = np.clip(np.searchsorted(co[0::2], frames, side="right") - 1, 0, count - 1)
            values[:, fc.array_index] = co[1::2][index]
        else:
            values[:, fc.array_index] = [fc.evaluate(float(f)) for f in frames]
    return values


def _glides(box: bpy.types.Object) -> bool:
    """Whether a box's location keys are LINEAR (the pulse glides) rather than CONSTANT (a window jumps)."""
    for fc in compat.object_fcurves(box):
        if fc.data_path == "location" and len(fc.keyframe_points):
            kinds = np.empty(len(fc.keyframe_points), np.int32)
            fc.keyframe_points.foreach_get("interpolation", kinds)
            return bool(np.any(kinds == 1))
    return False


def box_keys_relative(box: bpy.types.Object, tensor: bpy.types.Object):
    """(frames, centres, sizes) of a window box at its keys, in the space of ``tensor`` (the point object).

    Assumes unrotated, unparented boxes and a tensor empty that only translates.
    """
    box_curves = compat.object_fcurves(box)
    frames = _key_frames(box_curves).astype(np.float64)
    if len(frames) == 0:
        frames = np.zeros(1)
    centres = _sample_vector(box, "location", box_curves, frames)
    sizes = _sample_vector(box, "scale", box_curves, frames)
    holder = tensor.parent
    if holder is not None:
        centres -= _sample_vector(holder, "location", compat.object_fcurves(holder), frames)
    # before its first key a box holds that key's pose (constant extrapolation), as does a box without keys
    frames[0] = -np.inf
    return frames, centres, sizes


def remove_points(obj: bpy.types.Object, remove: np.ndarray) -> None:
    """Drop the points where ``remove`` is True, keeping every attribute of the others (bulk rebuild)."""
    mesh = obj.data
    keep = ~np.asarray(remove, bool)
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    attributes = {a.name: (a.data_type, read_attribute(mesh, a.name)[keep]) for a in mesh.attributes
                  if a.domain == "POINT" and a.data_type in _WIDTH and a.name != "position"
                  and not a.name.startswith(".")}
    name = mesh.name
    replacement = build_point_mesh(name + " (new)", co.reshape(-1, 3)[keep], attributes)
    obj.data = replacement
    bpy.data.meshes.remove(mesh)
    replacement.name = name


# --------------------------------------------------------------------------- make cells editable


def editable_track(obj: bpy.types.Object, keep: np.ndarray) -> TensorTrack:
    """The kept cells of a point object as a TensorTrack, with the highlights its window boxes give them."""
    track = subset_track(read_tensor_points(obj), keep)
    cells, starts, ends = [track.highlight_cell], [track.highlight_start], [track.highlight_end]
    for box, spacing, phase in window_boxes_of(obj):
        frames, centres, sizes = box_keys_relative(box, obj)
        if _glides(box):
            cell, start, end = gliding_box_highlights(track.position, frames, centres, sizes)
        else:
            cell, start, end = box_highlights(track.position, frames, centres, sizes, spacing, phase)
        cells.append(cell), starts.append(start), ends.append(end)
    set_highlights(track, np.concatenate(cells), np.concatenate(starts), np.concatenate(ends))
    return track


def write_editable_objects(track: TensorTrack, point_object: bpy.types.Object, inputs: dict) -> list:
    """The cells of ``track`` as the objects mode makes them (scene.writer), in a new child collection
    ``<tensor collection> / editable`` of the point object's collection, under its parent."""
    from . import clip, writer
    home = point_object.users_collection[0]
    collection = bpy.data.collections.new(f"{home.name} / editable")
    for key in (writer.PROP_CLIP, writer.PROP_TENSOR, writer.TAG):
        if home.get(key) is not None:
            collection[key] = home[key]
    home.children.link(collection)
    label = home.get(writer.PROP_CLIP)
    tags = {key: home[key] for key in (writer.PROP_CLIP, writer.TAG) if home.get(key) is not None}
    pool = compat.ActionPool(f"AnimatedAI {label or home.name} / {track.name} editable", writer.OBJECTS_PER_ACTION,
                             tags)
    # the cells keep the point object's name prefix ("2:" in "2:input cells")
    suffix = f"{track.name} cells"
    prefix = point_object.name[:-len(suffix)] if point_object.name.endswith(suffix) else ""
    cube = inputs.get("Cube")
    objects = writer.write_cell_objects(
        track, collection=collection, parent=point_object.parent, cube_mesh=cube.data if cube else None,
        material=inputs.get("Material"), pool=pool, cube_size=float(inputs["Cube scale"]),
        pop_frames=float(inputs["Pop frames"]), easing=writer.INTERPOLATION[EASINGS[int(inputs["Easing"])]],
        name_prefix=prefix)
    # a retimed clip: the keys move as the modifier's Start frame / Speed move the points
    first = float(inputs.get("Timeline start", 1.0))
    start, speed = float(inputs.get("Start frame", first)), float(inputs.get("Speed", 1.0))
    if (start, speed) != (first, 1.0):
        clip.retime_actions(pool.actions, clip.time_map((first, 1.0), (start, speed)))
    return objects


def make_cells_editable(obj: bpy.types.Object, channels: tuple[int, int] | None = None) -> list[bpy.types.Object]:
    """Turn the cells of a point object (those of channels first..last, inclusive) into keyframed objects.

    The new objects (the objects mode's, with the highlights the window boxes
    gave them baked into colour keys) go into a new ``... / editable`` child
    collection, under the point object's parent, and look the same at every
    frame; their points are removed from the point object.
    """
    if not is_point_object(obj):
        raise SpecError("object", getattr(obj, "name", obj), "an instanced AnimatedAI tensor (its point object)")
    track = read_tensor_points(obj)
    if channels is None:
        keep = np.ones(len(track), bool)
    else:
        first, last = channels
        if not 0 <= first <= last:
            raise SpecError("channels", channels, "first <= last, both >= 0")
        keep = (track.cells[:, 0] >= first) & (track.cells[:, 0] <= last)
    if not keep.any():
        return []
    from . import clip
    owner = next((c for c in bpy.data.collections if clip.record(c) is not None
                  and obj.name in c.all_objects), None)
    unedited = owner is not None and not clip.edits(owner)
    objects = write_editable_objects(editable_track(obj, keep), obj, modifier_inputs(obj))
    remove_points(obj, keep)
    if unedited:          # the add-on's own change: an unedited clip stays unedited
        clip.stamp(owner)
    return objects
