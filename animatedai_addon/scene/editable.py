"""Make cells editable: cells of an instanced clip written as the objects mode's keyframed objects.

The cells come from the clip's timeline as the engine rebuilds it from the clip's stored source
(``api.make_editable`` does that); nothing is read back from the point objects but which cells they
still hold. The new objects go into a ``<tensor collection> / editable`` child collection, under the
tensor's empty, and look the same at every frame as the instanced cells did; their points are removed.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..engine.errors import SpecError
from ..engine.timeline import Timeline
from . import clip as clips, compat, instanced, keys, materials, writer
from . import mesh as meshes


def point_objects(collection) -> list:
    """The instanced tensors (point objects) of a clip collection, by name."""
    return sorted((o for o in collection.all_objects if instanced.is_point_object(o)), key=lambda o: o.name)


def tensor_name(point_object) -> str:
    return point_object[instanced.PROP_TENSOR]


def channel_mask(track, channels) -> np.ndarray:
    """Cells of ``track`` in channels first..last (inclusive); every cell for ``channels=None``."""
    if channels is None:
        return np.ones(len(track), bool)
    first, last = channels
    return (track.cells[:, 0] >= first) & (track.cells[:, 0] <= last)


def write_editable(collection, timeline: Timeline, objects, channels=None, cube_size: float = 1.0) -> list:
    """Write the cells of the point ``objects`` (tensors of the clip ``collection``; those of ``channels``
    first..last only) that they still hold as keyed objects, from ``timeline`` (the clip's, with highlight
    intervals); remove their points. Returns the new objects."""
    tracks = {t.name: t for t in timeline.tensors}
    record = clips.record(collection)
    unedited = not clips.edits(collection)
    made = []
    for obj in objects:
        track = tracks.get(tensor_name(obj))
        if track is None:
            raise SpecError("tensors", obj.name, "an instanced tensor of the clip: " + ", ".join(tracks))
        held = instanced.read_attribute(obj.data, "cell")
        flat = keys.flat_cell_index(track)
        keep = np.isin(flat, held) & channel_mask(track, channels)
        if not keep.any():
            continue
        cells = keys.subset_track(track, keep)
        made += _write_cells(cells, obj, timeline, record, cube_size)
        instanced.remove_points(obj, np.isin(held, flat[keep]))
    if made and unedited:       # the add-on's own change: an unedited clip stays unedited
        clips.stamp(collection)
    return made


def _write_cells(track, point_object, timeline: Timeline, record: dict, cube_size: float) -> list:
    """The cells of ``track`` as the objects mode makes them, in a new ``<tensor collection> / editable``
    child collection, under the point object's parent (the tensor's empty), retimed as the clip is."""
    home = point_object.users_collection[0]
    collection = bpy.data.collections.new(f"{home.name} / editable")
    for key in (writer.PROP_CLIP, writer.PROP_TENSOR, writer.TAG):
        if home.get(key) is not None:
            collection[key] = home[key]
    home.children.link(collection)
    tags = {writer.PROP_CLIP: record["label"], writer.TAG: record["uid"]}
    pool = compat.ActionPool(f"AnimatedAI {home.name} / {track.name} editable", writer.OBJECTS_PER_ACTION, tags)
    # the cells keep the point object's name prefix ("2:" in "2:input cells")
    suffix = f"{track.name} cells"
    prefix = point_object.name[:-len(suffix)] if point_object.name.endswith(suffix) else ""
    objects = writer.write_cell_objects(
        track, collection=collection, parent=point_object.parent, cube_mesh=meshes.ensure_cube_mesh(),
        material=materials.ensure_materials()[track.role], pool=pool, cube_size=cube_size,
        pop_frames=timeline.pop_frames, easing=keys.INTERPOLATION[timeline.easing], name_prefix=prefix)
    first, start, speed = float(record["first"]), float(record["start"]), float(record["speed"])
    if (start, speed) != (first, 1.0):      # a retimed clip: its keys move as the modifier's inputs move the points
        clips.retime_actions(pool.actions, clips.time_map((first, 1.0), (start, speed)))
    return objects
