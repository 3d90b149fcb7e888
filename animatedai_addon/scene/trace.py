"""A receptive field in the scene: the traced cubes lit stage by stage (:func:`write_trace`).

Each traced tensor gets one mesh object of slightly larger cubes around its traced cells, in the clip's
collection, parented to the clip's root; it shows from its own frame on (``hide_viewport`` /
``hide_render`` keys), the picked cell first, then one stage further back every ``frames_per_stage``. The
cubes stand where the cells rest once every stage has run (the engine's :func:`~..engine.evaluate.state_at`).
"""

from __future__ import annotations

import bpy
import numpy as np

from . import materials
from .writer import TAG

#: Custom property on a trace object: the tensor it lights.
PROP_TRACE = "animatedai_trace"
#: The light of a traced cell (linear RGBA) and how much larger than a cell its cube is.
TRACE_COLOR = (1.0, 0.75, 0.05, 1.0)
TRACE_GROWTH = 1.08

_CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64) / 2
_FACES = np.array([[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]])


def trace_objects(collection) -> list:
    return [obj for obj in collection.all_objects if obj.get(PROP_TRACE) is not None]


def remove_trace(collection) -> None:
    """Remove an earlier trace of the clip (its objects, meshes and actions)."""
    doomed = trace_objects(collection)
    meshes = [obj.data for obj in doomed]
    actions = [obj.animation_data.action for obj in doomed
               if obj.animation_data is not None and obj.animation_data.action is not None]
    if doomed:
        bpy.data.batch_remove(doomed + meshes + actions)


def cube_mesh(name: str, centres: np.ndarray, size: float):
    """One mesh of axis-aligned cubes of edge ``size`` around ``centres`` (N, 3)."""
    n = len(centres)
    vertices = (centres[:, None, :] + _CORNERS[None] * size).reshape(-1, 3)
    faces = (_FACES[None] + 8 * np.arange(n)[:, None, None]).reshape(-1, 4)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", (4 * np.arange(len(faces))).astype(np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 4, np.int32))
    mesh.update()
    mesh.validate()
    return mesh


def write_trace(collection, root, uid: str, lit, rest: dict, cube_size: float, first_frame: float,
                frames_per_stage: float, name_prefix: str = "") -> list:
    """Objects lighting ``lit`` ((steps back, track name, cell indices), from :func:`engine.trace.traced_cubes`)
    at the cells' places ``rest`` ({track name: (N, 3) world positions in the clip}); stage ``d`` shows from
    ``first_frame + d * frames_per_stage``. Returns the objects."""
    material = materials.ensure_material("output")
    made = []
    for depth, track, cells in lit:
        name = f"{name_prefix}trace {track}"
        mesh = cube_mesh(name, rest[track][cells], cube_size * TRACE_GROWTH)
        mesh.materials.append(material)
        mesh[TAG] = uid
        obj = bpy.data.objects.new(name, mesh)
        obj[TAG] = obj.name
        obj[PROP_TRACE] = track
        obj.color = TRACE_COLOR
        obj.parent = root
        collection.objects.link(obj)
        shows = first_frame + depth * frames_per_stage
        for hidden, frame in ((True, shows - 1), (False, shows)):
            for prop in ("hide_viewport", "hide_render"):
                setattr(obj, prop, hidden)
                obj.keyframe_insert(prop, frame=frame)
        obj.animation_data.action[TAG] = uid
        made.append(obj)
    return made
