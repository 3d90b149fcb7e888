"""Instanced mode: one point object per tensor, its points carrying the timeline.

Each tensor becomes ONE object whose mesh has only vertices: a point per cell at
its rest position (relative to the tensor's empty, its parent). The timeline
travels as point attributes, written in bulk with ``foreach_set``; an
``AnimatedAI cells (...)`` Geometry Nodes group (see :mod:`.nodes`) turns them
into cube instances every frame from the scene time. This scales to millions
of cubes where one object per cell stops at tens of thousands.

The attributes are computed in :mod:`.keys` (numpy only); this module writes them. "Make cells
editable" (``api.make_editable``, :mod:`.editable`) rebuilds the cells from the clip's stored spec
and drops their points (:func:`remove_points`).

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
from ..engine.timeline import EASINGS, TensorTrack, Timeline
from . import keys, nodes
from .keys import FAR_FRAME, MAX_HIGHLIGHTS, MAX_MOVES, MAX_WINDOWS  # noqa: F401  (the instanced mode's limits)
CUBE_OBJECT = "AnimatedAI cube"
MODIFIER_NAME = "AnimatedAI cells"

# custom properties on the point object (is_point_object, and the tensor it shows)
PROP_MODE = "animatedai_mode"
PROP_TENSOR = "animatedai_tensor"
PROP_ROLE = "animatedai_role"
PROP_SHAPE = "animatedai_shape"

_FOREACH_KEY = {"FLOAT": "value", "INT": "value", "BOOLEAN": "value", "FLOAT_VECTOR": "vector",
                "FLOAT_COLOR": "color"}
_WIDTH = {"FLOAT": 1, "INT": 1, "BOOLEAN": 1, "FLOAT_VECTOR": 3, "FLOAT_COLOR": 4}
_DTYPE = {"FLOAT": np.float32, "INT": np.int32, "BOOLEAN": bool, "FLOAT_VECTOR": np.float32,
          "FLOAT_COLOR": np.float32}


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
    attributes = keys.point_attributes(track, lit_by_boxes=bool(window_boxes))
    positions = keys.checked_array(track, "position", 3, np.float32)
    # the BoxTracks of the window objects (same order); boxes the timeline does not list light every cell
    window_tracks = [box for box in timeline.boxes if box.role == "window" and track.name in box.targets]
    lattices = ([keys.window_lattice(box) for box in window_tracks] if len(window_tracks) == len(window_boxes)
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


# --------------------------------------------------------------------------- point objects


def is_point_object(obj) -> bool:
    return obj is not None and obj.type == "MESH" and obj.get(PROP_MODE) == "instanced"


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
