"""A clip in the file: what the add-on wrote for it (its record), finding it, hand edits, retiming, removal.

Every clip collection carries a record, the ID property ``animatedai`` (a dict):

=================  ==========================================================================
``uid``            the clip's own id (its actions and point meshes carry it as their tag)
``number``         a number unique in the file: object names start with ``<number>:``
``spec``           the spec as canonical JSON: the clip's identity (with the scene it is in)
``label``          the readable label (``conv 3x3 valid 8x8x8→8x6x6``)
``version``        1, 2, ... when a regenerate wrote a new clip beside a hand-edited one
``mode``           "objects" | "instanced"
``first``          the timeline's first frame; ``start``/``speed``: its retiming (scene frame
                   ``start + (t - first) / speed`` shows the timeline's frame ``t``)
``objects``        how many objects the add-on made for it
``fingerprint``    a hash of everything it wrote that a user can edit by hand: its objects'
                   transforms, which animation each plays, every key of that animation
``fingerprint_format``  how the fingerprint is computed (:data:`FINGERPRINT_FORMAT`; absent: 1)
``x_range``        the clip's extent along x, relative to its root (clips are placed side by side)
``theirs``         names of the objects a user had put into its collections when it was written
=================  ==========================================================================

Beside the record, the collection carries ``animatedai_source`` (:data:`SOURCE_PROP`): what the clip was
made from (spec, timing, look, seed, order, input) as versioned JSON (:mod:`.source`), from which
"make editable" rebuilds its cells with the engine.

A clip is *edited* when its fingerprint no longer matches, an object the add-on made is gone, or
an object it did not make was linked into its collections since it was written (those objects
move into every new build of the clip, so they are never lost).
"""

from __future__ import annotations

import hashlib
import json
import uuid

import bpy
import numpy as np

from . import compat, keys, writer

#: 2: F-curve digests summed per clip (``keys.CurveDigests``); a clip fingerprinted otherwise (format 1, an
#: older add-on) cannot be told edited or not, and counts as edited: a regenerate keeps it.
FINGERPRINT_FORMAT = 2

TAG = writer.TAG
#: The clip collection's string property holding its source as JSON (see :mod:`.source`).
SOURCE_PROP = "animatedai_source"
#: Horizontal air between clips placed side by side (metres).
CLIP_GAP = 2.0


# --------------------------------------------------------------------------------------------- identity


def spec_key(spec) -> str:
    """Canonical JSON of a spec: equal for equal specs, different when any parameter differs."""
    return json.dumps(spec.to_dict(), sort_keys=True, separators=(",", ":"), default=str)


def clip_label(spec) -> str:
    """A readable label that tells apart specs of different shapes: ``conv 3x3 valid 8x8x8→8x6x6`` (a batch
    first: ``2x8x8x8→2x8x6x6``)."""
    def shape(s):
        return "x".join(str(int(v)) for v in s)
    return f"{spec.label} {shape(spec.input_torch_shape)}\u2192{shape(spec.output_torch_shape)}"


def record(collection) -> dict | None:
    """The clip record of a collection (a plain dict), or None for any other collection."""
    data = collection.get(TAG)
    if data is None or not hasattr(data, "to_dict"):
        return None
    return data.to_dict()


def _write_record(collection, data: dict) -> None:
    collection[TAG] = data


def write_source(collection, text: str) -> None:
    """Store the clip's source (:func:`.source.to_json`) on its collection."""
    collection[SOURCE_PROP] = text


def read_source(collection):
    """The :class:`.source.ClipSource` stored on a clip collection; SpecError naming ``clip`` without one."""
    from .source import from_json
    return from_json(collection.get(SOURCE_PROP), where="clip")


def scene_clips(scene) -> list:
    """The clip collections linked in ``scene`` (anywhere below its collection), in creation order."""
    found = [c for c in scene.collection.children_recursive if record(c) is not None]
    return sorted(found, key=lambda c: record(c)["number"])


def find_clip(scene, key: str):
    """The newest version of the clip of spec ``key`` in ``scene``, or None."""
    same = [c for c in scene_clips(scene) if record(c)["spec"] == key]
    return max(same, key=lambda c: record(c)["version"]) if same else None


def next_number() -> int:
    used = {record(c)["number"] for c in bpy.data.collections if record(c) is not None}
    number = 1
    while number in used:
        number += 1
    return number


def collection_name(label: str, number: int) -> str:
    """``AnimatedAI <label>``, or ``AnimatedAI <label> (<number>)`` when that name is taken."""
    name = writer.clip_collection_name(label)
    return name if bpy.data.collections.get(name) is None else f"{name} ({number})"


def new_uid() -> str:
    return uuid.uuid4().hex[:12]


def free_location(scene, x_range) -> tuple[float, float, float]:
    """Where a new clip's root goes: beside the clips already in ``scene`` (along +x), else the origin."""
    right = None
    for collection in scene_clips(scene):
        data = record(collection)
        root = root_of(collection)
        if root is None:
            continue
        edge = float(root.matrix_world.translation[0]) + float(data.get("x_range", (0.0, 0.0))[1])
        right = edge if right is None else max(right, edge)
    if right is None:
        return (0.0, 0.0, 0.0)
    return (right + CLIP_GAP - float(x_range[0]), 0.0, 0.0)


def owner(obj):
    """The clip collection holding ``obj`` (anywhere below it), or None."""
    return next((c for c in bpy.data.collections if record(c) is not None and obj.name in c.all_objects), None)


def root_of(collection):
    name = (record(collection) or {}).get("root")
    obj = collection.objects.get(name) if name else None
    return obj


# --------------------------------------------------------------------------------------------- what it wrote


def clip_objects(collection) -> tuple[list, list]:
    """(objects the add-on made, objects a user put there) in the clip's collections."""
    ours, theirs = [], []
    seen = set()
    for c in [collection] + list(collection.children_recursive):
        for obj in c.objects:
            key = obj.as_pointer()
            if key in seen:
                continue
            seen.add(key)
            (ours if writer.is_ours(obj) else theirs).append(obj)
    return ours, theirs


def clip_actions(objects, uid: str) -> list:
    """The actions the objects play and the actions tagged with the clip's uid, by name."""
    actions = {a.name: a for a in bpy.data.actions if a.get(TAG) == uid}
    for obj in objects:
        animation = obj.animation_data
        if animation is not None and animation.action is not None:
            actions.setdefault(animation.action.name, animation.action)
    return [actions[name] for name in sorted(actions)]


def _read_handles(points):
    count = len(points)
    parts = []
    for name, width, dtype in (("handle_left_type", 1, np.int32), ("handle_right_type", 1, np.int32),
                               ("handle_left", 2, np.float32), ("handle_right", 2, np.float32)):
        values = np.empty(width * count, dtype)
        points.foreach_get(name, values)
        parts.append(values)
    return parts


def read_curves(actions) -> keys.CurveDigests:
    """The digests of every F-curve of ``actions`` as Blender holds them now (:func:`keys.curve_digest`)."""
    digests = keys.CurveDigests()
    for action in actions:
        for handle, curves in compat.action_channel_bags(action):
            for fc in curves:
                points = fc.keyframe_points
                count = len(points)
                kinds = np.empty(count, np.int32)
                points.foreach_get("interpolation", kinds)
                co = np.empty(2 * count, np.float32)
                points.foreach_get("co", co)
                digests.add((action.name, handle), fc.data_path, fc.array_index,
                            keys.read_curve_digest(co, kinds, lambda points=points: _read_handles(points)))
    return digests


def fingerprint(collection, uid: str, root=None, theirs: list | None = None,
                written: writer.Written | None = None) -> tuple[str, int]:
    """(hash of what can be edited by hand, number of objects the add-on made) for a clip; the
    objects a user put there are appended to ``theirs`` when given.

    Hashed: which animation (action, slot) each object plays, every key of those actions
    (:func:`keys.curve_digest`: frames, values, interpolation, handle types and placed handles), and the
    transform channels no F-curve drives (an animated channel's current value is only the last evaluated
    frame's). The root empty is left out: moving the whole clip is placing it, not editing it.
    ``written``: what the writer just wrote (``writer.Clip.written``: the objects it made, what they play,
    their keys' digests), which saves reading every object and key back; by default all is read from
    Blender. One pass over the clip's collections; transforms are read per collection with ``foreach_get``.
    """
    curves = written.curves if written is not None else None
    plays = written.plays if curves is not None else None      # (objects are read when the keys are)
    objects = [] if plays is None else None
    names, owners, vectors = _clip_members(collection, root, plays, theirs, objects)
    if curves is None:
        curves = read_curves(clip_actions(objects, uid))
    digest = hashlib.blake2b(digest_size=16)
    digest.update("\n".join(f"{name}|{key}" for name, key in zip(names, owners)).encode())
    digest.update(curves.hexdigest().encode())
    rows_of = {}
    for row, key in enumerate(owners):
        if key is not None:
            rows_of.setdefault(key, []).append(row)
    transforms = {attribute: np.concatenate(parts) if parts else np.zeros((0, 3), np.float32)
                  for attribute, parts in vectors.items()}
    for channels, keyed_by in curves.channel_groups().items():
        driven = [(path, index) for path, index in channels if path in transforms and 0 <= index < 3]
        if driven:
            rows = [row for key in keyed_by for row in rows_of.get(key, ())]
            for path, index in driven:
                transforms[path][rows, index] = 0.0
    for attribute in _TRANSFORMS:
        digest.update(np.ascontiguousarray(transforms[attribute]).tobytes())
    return digest.hexdigest(), len(names)


def _clip_members(collection, root, plays: dict | None, theirs: list | None, objects: list | None = None):
    """(names of the objects the add-on made, what each plays: (action name, slot handle) or None, their
    transforms per collection) in the clip's collection order, the root left out; the user's objects are
    appended to ``theirs`` and, when given, those it made to ``objects``. ``plays``: the writer's record by
    name (else each object is read: its tag, its animation)."""
    seen = set() if root is None else {root.name}
    names, owners = [], []
    vectors = {attribute: [] for attribute in _TRANSFORMS}
    for c in [collection] + list(collection.children_recursive):
        # by name from the writer's record (no object is touched), else object by object
        members = c.objects.keys() if plays is not None else list(c.objects)
        keep = []
        for i, member in enumerate(members):
            name = member if plays is not None else member.name
            if name in seen:
                continue
            seen.add(name)
            if plays is not None:
                mine, key = name in plays, plays.get(name)
            else:
                mine, key = member.get(TAG) == name, _plays(member)
            if not mine:
                if theirs is not None:
                    theirs.append(c.objects[name] if plays is not None else member)
                continue
            keep.append(i)
            names.append(name)
            owners.append(key)
            if objects is not None:
                objects.append(member)
        if keep:
            for attribute in _TRANSFORMS:
                values = np.empty(3 * len(members), np.float32)
                c.objects.foreach_get(attribute, values)
                vectors[attribute].append(values.reshape(-1, 3)[keep])
    return names, owners, vectors


def _plays(obj) -> tuple[str, int] | None:
    """(action name, slot handle) of what ``obj`` plays, or None."""
    animation = obj.animation_data
    action = animation.action if animation is not None else None
    return (action.name, compat.slot_handle(animation)) if action is not None else None


_TRANSFORMS = ("location", "rotation_euler", "scale")


def stamp(collection, written: writer.Written | None = None, **fields) -> dict:
    """Update the clip's record with ``fields`` and a fresh fingerprint of what it holds now (``written``: the
    writer's record of what it just wrote, when nothing changed it since; by default all is read back)."""
    data = record(collection) or {}
    data.update(fields)
    root = collection.objects.get(data.get("root", "")) if data.get("root") else None
    theirs = []
    data["fingerprint"], data["objects"] = fingerprint(collection, data["uid"], root, theirs, written)
    data["fingerprint_format"] = FINGERPRINT_FORMAT
    data["theirs"] = sorted(o.name for o in theirs)
    _write_record(collection, data)
    return data


def edits(collection) -> list[str]:
    """What was changed by hand since the add-on last wrote the clip (empty: nothing)."""
    data = record(collection)
    if data is None:
        return []
    found = []
    known = set(data.get("theirs", ()))
    root = collection.objects.get(data.get("root", "")) if data.get("root") else None
    theirs = []
    digest, count = fingerprint(collection, data["uid"], root, theirs)
    added = [o for o in theirs if o.name not in known]
    if added:
        found.insert(0, f"{len(added)} object(s) added to its collections ({added[0].name!r}, ...)")
    if count != data.get("objects"):
        found.append(f"{data.get('objects')} objects made, {count} left")
    elif data.get("fingerprint_format", 1) != FINGERPRINT_FORMAT:
        found.append("written by an older version of the add-on, whose record cannot tell hand edits")
    elif digest != data.get("fingerprint"):
        found.append("keys or transforms changed")
    return found


# --------------------------------------------------------------------------------------------- time


def time_map(old: tuple[float, float], new: tuple[float, float]):
    """f(frames): scene frames of a clip shown from ``old`` (start, speed) moved to ``new`` (start, speed)."""
    (old_start, old_speed), (new_start, new_speed) = old, new
    factor = float(old_speed) / float(new_speed)
    return lambda frames: new_start + (frames - old_start) * factor


def retime_actions(actions, mapping) -> None:
    """Move every key (and its handles) of ``actions`` by ``mapping`` (an affine map of frames)."""
    for action in actions:
        for fc in compat.action_fcurves(action):
            points = fc.keyframe_points
            count = len(points)
            if not count:
                continue
            for key in ("co", "handle_left", "handle_right"):
                values = np.empty(2 * count, np.float64)
                points.foreach_get(key, values)
                values[0::2] = mapping(values[0::2])
                points.foreach_set(key, values.astype(np.float32))
        action.update_tag()      # foreach_set does not tell the depsgraph (4.2 kept evaluating the old keys)


def set_modifier_time(objects, start: float, speed: float) -> None:
    """Instanced tensors: the retiming inputs of their Geometry Nodes modifier."""
    from . import instanced
    for obj in objects:
        if instanced.is_point_object(obj) and obj.modifiers.get(instanced.MODIFIER_NAME) is not None:
            instanced.set_modifier_inputs(obj.modifiers[instanced.MODIFIER_NAME],
                                          {"Start frame": float(start), "Speed": float(speed)})
            obj.update_tag()


def retime(collection, start: float, speed: float) -> dict:
    """Show the clip from scene frame ``start`` at ``speed``: its keys move (objects, empties, boxes) and
    the instanced tensors' modifiers are told. A clip that was not edited stays unedited."""
    data = record(collection)
    was_edited = bool(edits(collection))
    ours, _ = clip_objects(collection)
    mapping = time_map((data["start"], data["speed"]), (start, speed))
    retime_actions(clip_actions(ours, data["uid"]), mapping)
    set_modifier_time(ours, start, speed)
    data.update(start=float(start), speed=float(speed))
    if was_edited:
        _write_record(collection, data)
        return data
    _write_record(collection, data)
    return stamp(collection)


# --------------------------------------------------------------------------------------------- removal


def take_user_objects(collection) -> list[tuple[str | None, object]]:
    """Unlink the objects a user put into the clip's collections; returns (tensor name or None, object) so
    they can be linked into the clip's new collections (or the scene's) again."""
    taken = []
    for c in [collection] + list(collection.children_recursive):
        tensor = c.get(writer.PROP_TENSOR)
        for obj in list(c.objects):
            if not writer.is_ours(obj):
                taken.append((tensor, obj))
                c.objects.unlink(obj)
    return taken


def give_back(taken, collection=None, scenes=()) -> None:
    """Link objects from :func:`take_user_objects` into the clip ``collection`` (the tensor's child when it has
    one of that name), or, without a clip, into each of ``scenes``' own collection."""
    for tensor, obj in taken:
        target = None
        if collection is not None:
            target = collection
            for child in collection.children_recursive:
                if tensor is not None and child.get(writer.PROP_TENSOR) == tensor:
                    target = child
                    break
            if obj.name not in target.objects:
                target.objects.link(obj)
            continue
        for scene in scenes:
            if obj.name not in scene.collection.objects:
                scene.collection.objects.link(obj)


def remove(collection) -> None:
    """Remove a clip: what the add-on made for it goes; objects a user put in its collections move to the
    collection of every scene the clip was in."""
    scenes = [s for s in bpy.data.scenes if collection in s.collection.children_recursive]
    give_back(take_user_objects(collection), scenes=scenes)
    writer.remove_clip(collection)
