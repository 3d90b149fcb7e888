"""Write a Timeline into Blender: collections, one object per cell (objects mode) or per tensor (instanced).

The writer decides nothing about timing or placement and computes no key: every key comes from the
engine's :class:`~animatedai_addon.engine.timeline.Timeline` through :mod:`.keys` (numpy only, where
the F-curve conventions are described), and the writer only writes them:

* cells: :func:`.keys.visibility_keys`, :func:`.keys.move_keys`, :func:`.keys.highlight_keys`;
* the tensor's empty: ``key_frames``/``key_locations``, eased; boxes: location
  keys (CONSTANT for windows, which jump per step) and scale = size while shown.

Speed (see BLENDER-FACTS.md and ``benchmarks/scene.py``): keys are computed for all
cells at once in numpy; Blender is called per object only to create it and per
F-curve only for ``keyframe_points.add`` and a few ``foreach_set`` calls. On
4.4+ a hundred objects share one action, one slot each (:class:`compat.ActionPool`),
and cells whose whole animation is identical share one slot.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass, field

import bpy
import numpy as np

from ..engine.errors import SpecError
from ..engine.timeline import EASINGS, BoxTrack, Look, TensorTrack, Timeline
from . import compat, keys, materials, mesh as meshes
from .keys import BEZIER, CONSTANT, INTERPOLATION, LINEAR  # noqa: F401  (re-exported: the writer's key kinds)

MODES = ("objects", "instanced")
CLIP_PREFIX = "AnimatedAI "

# ID properties on what the writer makes
#: Every data-block the add-on makes carries this ID property; an object's value is its own name when it was
#: made (a copy the user makes by duplicating, or a cell the user renames, is then the user's).
TAG = "animatedai"
PROP_CLIP = "animatedai_clip"        # clip collections, their tensor collections, actions: the clip label
PROP_MODE = "animatedai_mode"        # clip collections: "objects" | "instanced"
#: The tag of the object that holds the cube mesh for the instanced mode's Geometry Nodes (in no scene).
CUBE_HOLDER_TAG = "cube holder"
PROP_UID = "animatedai_uid"          # clip collections: the tag value of the clip's actions and point meshes
PROP_TENSOR = "animatedai_tensor"    # tensor collections and empties: the tensor's name
PROP_BOX = "animatedai_box"          # box objects: the box's name

#: Objects that share one action (4.4+, one slot each): slot look-ups are linear in the slots of an action.
OBJECTS_PER_ACTION = 100


def clip_collection_name(label: str) -> str:
    return CLIP_PREFIX + label


def tensor_collection_name(label: str, tensor: str) -> str:
    return f"{label} / {tensor}"


# --------------------------------------------------------------------------------------------- writing keys


def fill_fcurves(channels: keys.Channels, fcurves, row: int, fresh: int | None = None) -> None:
    """Write row ``row`` (one cell) of ``channels`` into ``fcurves`` (one per channel path, in order); their
    digests, for the clip's fingerprint, are ``channels.digests()[row]``. Only the first ``fresh`` curves
    (default all) are new and empty; the others are copies of a row of the same shape
    (:meth:`keys.Channels.row_shapes`), which already have the keys, interpolations and handle types."""
    a, b = channels.offsets[row], channels.offsets[row + 1]
    bezier = channels.has_bezier[row]
    interpolation = channels.interpolation[a:b] if channels.set_interpolation[row] else None
    fresh = len(fcurves) if fresh is None else fresh
    for dim, fc in enumerate(fcurves):
        points = fc.keyframe_points
        if dim < fresh:
            points.add(b - a)
        points.foreach_set("co", channels.co[dim][2 * a:2 * b])
        if interpolation is not None and dim < fresh:
            points.foreach_set("interpolation", interpolation)
        if bezier and channels.explicit[dim][row]:
            free = channels.free[a:b]
            points.foreach_set("handle_left_type", free)
            points.foreach_set("handle_right_type", free)
            points.foreach_set("handle_left", channels.left[dim][2 * a:2 * b])
            points.foreach_set("handle_right", channels.right[dim][2 * a:2 * b])
        elif bezier:
            fc.update()      # AUTO_CLAMPED handles: flat, at thirds (see the class notes)


def animation_owner(obj) -> tuple[str, int]:
    """(action name, slot handle) of what ``obj`` plays: the key its F-curves' digests are filed under."""
    animation = obj.animation_data
    return animation.action.name, compat.slot_handle(animation)


def write_fcurve(fcurve, frames, values, interpolation,
                 frame_map: tuple[float, float] | None = None) -> keys.Channels:
    """Keys on one F-curve (frames sorted), BEZIER segments with flat handles at thirds; ``frame_map``
    (offset, factor) puts clip frame f at scene frame offset + factor * f. Returns what was written."""
    n = len(frames)
    grouped = keys.group_keys(np.zeros(n), frames, np.reshape(values, (n, 1)), np.broadcast_to(interpolation, (n,)))
    channels = keys.Channels(grouped, [(fcurve.data_path, fcurve.array_index, 0)], frame_map=frame_map)
    fill_fcurves(channels, [fcurve], 0)
    return channels


def animate_object(pool: compat.ActionPool, obj, tracks: list[tuple[str, int, np.ndarray, np.ndarray, np.ndarray]],
                   written: Written | None = None, frame_map: tuple[float, float] | None = None):
    """Keys on a single object: ``tracks`` of (data_path, index, frames, values, interpolation)."""
    fcurves = pool.new_fcurves(obj, [(path, index) for path, index, *_ in tracks])
    owner = animation_owner(obj) if written is not None else None
    for fc, (_, _, frames, values, kinds) in zip(fcurves, tracks):
        channels = write_fcurve(fc, frames, values, kinds, frame_map)
        if written is not None:
            written.curves.add_rows([owner], channels.paths, channels.digests())
    if written is not None:
        written.made(obj, owner)


# --------------------------------------------------------------------------------------------- the clip


@dataclass
class Written:
    """What a clip's writer made, for its fingerprint (``clip.fingerprint``) without reading it back:
    the digests of every F-curve it keyed, and by name each object it made (the root aside) with what it
    plays, (action name, slot handle) or None. ``plays`` is None when some object was not recorded."""

    curves: keys.CurveDigests = field(default_factory=keys.CurveDigests)
    plays: dict | None = field(default_factory=dict)

    def made(self, obj, owner: tuple[str, int] | None = None) -> None:
        if self.plays is not None:
            self.plays[obj.name] = owner


@dataclass
class Clip:
    """What :func:`write_clip` made."""

    label: str
    mode: str
    collection: bpy.types.Collection
    root: bpy.types.Object | None = None            # the clip's root empty: moving it moves the clip
    tensors: dict = field(default_factory=dict)     # name -> the tensor's empty (objects) or point object
    empties: dict = field(default_factory=dict)     # name -> the tensor's empty
    boxes: dict = field(default_factory=dict)       # name -> box object
    cells: dict = field(default_factory=dict)       # name -> [cell objects] in TensorTrack order (objects mode)
    texts: dict = field(default_factory=dict)       # name -> text object (Timeline.texts)
    numbers: dict = field(default_factory=dict)     # tensor name -> [number objects] in cell order (Timeline.numbers)
    actions: list = field(default_factory=list)
    written: Written = field(default_factory=lambda: Written())   # for the clip's fingerprint


def check_write_arguments(timeline: Timeline, label: str, mode: str) -> None:
    """SpecError before anything is written."""
    if mode not in MODES:
        raise SpecError("mode", mode, "one of " + ", ".join(MODES))
    if not isinstance(label, str) or not label.strip():
        raise SpecError("label", label, "a non-empty clip name")
    if timeline.easing not in EASINGS:
        raise SpecError("timeline.easing", timeline.easing, "one of " + ", ".join(EASINGS))
    names = [t.name for t in timeline.tensors]
    if len(set(names)) != len(names):
        raise SpecError("timeline.tensors", names, "tensors with distinct names")
    for track in timeline.tensors:
        if track.role not in materials.ROLES:
            raise SpecError(f"tensor {track.name!r} role", track.role, "one of " + ", ".join(materials.ROLES[:4]))


def write_clip(timeline: Timeline, label: str, scene=None, mode: str = "objects", *, cube_size: float | None = None,
               share_identical: bool = True, reuse: dict | None = None, name_prefix: str = "",
               collection_name: str | None = None, location=(0.0, 0.0, 0.0), tag: str | None = None,
               progress=None, frame_map: tuple[float, float] | None = None) -> Clip:
    """Write ``timeline`` into ``scene`` as the clip ``AnimatedAI <label>``; returns what was made.

    ``cube_size``: the edge of a fully shown cube (default ``Look().cube_size``).
    ``share_identical``: cells whose whole animation is the same share one action
    slot (fewer F-curves to build and to evaluate; editing one edits all of them).
    ``reuse``: cell objects of a previous build of this clip (:func:`detach_clip`), by name;
    those a cell of the same name takes are rewritten, the others are left to the caller.
    ``name_prefix`` starts every object name (``"2:"`` -> ``2:input[c0,y0,x0]``); ``collection_name``
    (default ``AnimatedAI <label>``); ``location``: where the clip's root empty stands (tensor empties
    and boxes are its children); ``tag``: the ``animatedai`` value on the clip's actions and point meshes.
    The scene's frame range, fps and render settings are left alone (``api.generate(set_scene=True)``).
    ``progress(done, what)``, if given, is called before each tensor is written (it may raise to stop).
    ``frame_map`` (offset, factor): keys of clip frame f go to scene frame offset + factor * f (a clip
    started late or played faster); instanced cells keep clip frames (their modifier maps the time).
    """
    check_write_arguments(timeline, label, mode)
    scene = scene or bpy.context.scene
    cube_size = float(Look().cube_size if cube_size is None else cube_size)
    cube_mesh = meshes.ensure_cube_mesh()
    role_materials = materials.ensure_materials()

    tag = label if tag is None else tag
    tags = {PROP_CLIP: label, TAG: tag}
    collection = bpy.data.collections.new(collection_name or clip_collection_name(label))
    collection[PROP_CLIP] = label
    collection[PROP_MODE] = mode
    collection[PROP_UID] = tag
    scene.collection.children.link(collection)
    root = bpy.data.objects.new(_object_name(name_prefix, "clip", label), None)
    root.empty_display_type = "ARROWS"
    root.location = [float(v) for v in location]
    root[TAG] = root.name
    collection.objects.link(root)
    clip = Clip(label, mode, collection, root=root)

    easing = INTERPOLATION[timeline.easing]
    box_pool = compat.ActionPool(f"AnimatedAI {name_prefix}{label} / boxes", OBJECTS_PER_ACTION, tags)
    for box in timeline.boxes:
        obj = write_box(box, label, collection, role_materials["box"], box_pool, name_prefix, clip.written,
                        frame_map)
        obj.parent = root
        clip.boxes[box.name] = obj
    clip.actions += box_pool.actions

    children = {track.name: _tensor_collection(collection, track.name, label, tag, name_prefix)
                for track in timeline.tensors}          # linked in the clip's order: the outliner's
    pools = {}
    for done, track in enumerate(sorted(timeline.tensors, key=_creation_key)):
        if progress is not None:
            progress(done, track.name)
        child = children[track.name]
        pool = pools[track.name] = compat.ActionPool(
            f"AnimatedAI {name_prefix}{label} / {track.name}", OBJECTS_PER_ACTION, tags)
        empty = write_tensor_empty(track, label, easing, pool, name_prefix, clip.written, frame_map)
        empty.parent = root
        clip.empties[track.name] = empty
        material = role_materials[track.role]
        if mode == "objects":
            clip.cells[track.name] = write_cell_objects(
                track, collection=child, parent=empty, cube_mesh=cube_mesh, material=material, pool=pool,
                cube_size=cube_size, pop_frames=timeline.pop_frames, easing=easing,
                share_identical=share_identical, reuse=reuse, name_prefix=name_prefix, written=clip.written,
                frame_map=frame_map)
            clip.tensors[track.name] = empty
        else:
            from . import instanced   # helper module of the instanced mode (Geometry Nodes)
            windows = [clip.boxes[b.name] for b in timeline.boxes
                       if b.role in ("window", "pulse") and track.name in b.targets]
            clip.written.plays = None     # its point objects are not recorded: the fingerprint reads them
            clip.tensors[track.name] = instanced.write_tensor_points(
                track, timeline, name=_object_name(name_prefix, f"{track.name} cells", label), collection=child,
                parent=empty, cube_mesh=cube_mesh, material=material, window_boxes=windows, cube_scale=cube_size,
                tag=tag)
        child.objects.link(empty)    # after the cells: write_cell_objects sets them in bulk in link order
    in_clip_order = [track.name for track in timeline.tensors]
    clip.empties = {name: clip.empties[name] for name in in_clip_order}
    clip.tensors = {name: clip.tensors[name] for name in in_clip_order}
    clip.cells = {name: clip.cells[name] for name in in_clip_order if name in clip.cells}
    clip.actions += [action for name in in_clip_order for action in pools[name].actions]
    if timeline.texts:
        from . import stage, texts
        text_pool = compat.ActionPool(f"AnimatedAI {name_prefix}{label} / texts", OBJECTS_PER_ACTION, tags)
        clip.texts = texts.write_texts(
            timeline.texts, collection=collection, parent=root, view=stage.camera_direction(), pool=text_pool,
            animate=lambda pool, obj, tracks: animate_object(pool, obj, tracks, clip.written, frame_map),
            name_prefix=name_prefix, camera=scene.camera)
        for obj in clip.texts.values():
            if clip.written.plays is not None and obj.name not in clip.written.plays:
                clip.written.made(obj)       # a text shown all along: no keys
        clip.actions += text_pool.actions
    if timeline.numbers:
        from . import numbers
        clip.numbers = numbers.write_numbers(
            timeline, clip, label=label, pool_name=f"AnimatedAI {name_prefix}{label}", tags=tags,
            pop_frames=timeline.pop_frames, easing=easing, cube_size=cube_size, name_prefix=name_prefix,
            write_cells=functools.partial(write_cell_objects, written=clip.written, frame_map=frame_map),
            new_pool=lambda name, tags: compat.ActionPool(name, OBJECTS_PER_ACTION, tags))
    return clip


def _tensor_collection(collection, tensor: str, label: str, tag: str, name_prefix: str):
    """The (empty) collection of one tensor's objects, linked into the clip's."""
    child = bpy.data.collections.new(f"{name_prefix} {tensor}" if name_prefix else tensor_collection_name(label, tensor))
    child[PROP_CLIP] = label
    child[PROP_TENSOR] = tensor
    child[TAG] = tag
    collection.children.link(child)
    return child


def _creation_key(track: TensorTrack) -> str:
    """Tensors are written in the order of their cells' names (``input padding[`` before ``input[``): Blender
    keeps IDs sorted by name and looks for a new one's place from the end of the list, so objects made in
    name order cost least (1,120 ``input padding`` cells made after 9,248 ``input`` cells took 0.13 s more)."""
    return track.name + "["


def _free_object_name(name: str, label: str) -> str:
    """``name``, or ``<label> <name>`` when another object already has it."""
    return name if bpy.data.objects.get(name) is None else f"{label} {name}"


def _object_name(prefix: str, name: str, label: str) -> str:
    """``<prefix><name>`` (clips written by ``api.generate`` have a prefix of their own), else a free name."""
    return prefix + name if prefix else _free_object_name(name, label)


def write_tensor_empty(track: TensorTrack, label: str, easing: int, pool: compat.ActionPool, name_prefix: str = "",
                       written: Written | None = None, frame_map: tuple[float, float] | None = None):
    """The tensor's empty (not linked yet): parent of its cells, at ``origin`` or keyed along ``key_frames``."""
    empty = bpy.data.objects.new(_object_name(name_prefix, track.name, label), None)
    empty[TAG] = empty.name
    empty.empty_display_type = "PLAIN_AXES"
    empty.empty_display_size = 0.5
    empty[PROP_TENSOR] = track.name
    frames = np.asarray(track.key_frames, np.float64)
    locations = np.asarray(track.key_locations, np.float64).reshape(-1, 3)
    empty.location = locations[0] if len(frames) else np.asarray(track.origin, np.float64)
    if len(frames) > 1:
        kinds = np.full(len(frames), easing, np.int32)
        animate_object(pool, empty, [("location", axis, frames, locations[:, axis], kinds) for axis in range(3)],
                       written, frame_map)
    elif written is not None:
        written.made(empty)
    return empty


def write_box(box: BoxTrack, label: str, collection, material, pool: compat.ActionPool, name_prefix: str = "",
              written: Written | None = None, frame_map: tuple[float, float] | None = None):
    """A wire box: location = centre (CONSTANT keys: it jumps; LINEAR for the pulse, which glides),
    scale = size while shown and 0 while hidden. The pulse box only lights cells: it is never rendered."""
    obj = bpy.data.objects.new(_object_name(name_prefix, box.name, label), meshes.ensure_box_mesh(box.size))
    obj[TAG] = obj.name
    obj[PROP_BOX] = box.name
    collection.objects.link(obj)
    _link_material(obj, material)
    obj.color = tuple(float(c) for c in box.color)
    size = np.asarray(box.size, np.float64)
    frames = np.asarray(box.key_frames, np.float64)
    centers = np.asarray(box.key_centers, np.float64).reshape(-1, 3)
    obj.location = centers[0] if len(frames) else (0.0, 0.0, 0.0)
    tracks = []
    if len(frames) > 1:
        kinds = np.full(len(frames), LINEAR if box.interpolation == "linear" else CONSTANT, np.int32)
        tracks += [("location", axis, frames, centers[:, axis], kinds) for axis in range(3)]
    if box.role == "pulse":
        obj.hide_render = True
        obj.display_type = "BOUNDS"
    shown_frames, shown = keys.box_visibility_keys(box)
    obj.scale = size * shown[0]
    if len(shown_frames) > 1:
        kinds = np.full(len(shown_frames), CONSTANT, np.int32)
        tracks += [("scale", axis, shown_frames, shown * size[axis], kinds) for axis in range(3)]
    if tracks:
        animate_object(pool, obj, tracks, written, frame_map)
    elif written is not None:
        written.made(obj)
    return obj


def _link_material(obj, material) -> None:
    slot = obj.material_slots[0]
    slot.link = "OBJECT"
    slot.material = material


def write_cell_objects(track: TensorTrack, *, collection, parent, cube_mesh, material, pool: compat.ActionPool,
                       cube_size: float, pop_frames: float, easing: int, share_identical: bool = True,
                       reuse: dict | None = None, name_prefix: str = "",
                       written: Written | None = None, frame_map: tuple[float, float] | None = None) -> list:
    """One object per cell (the shared cube mesh), keyed in bulk; returns them in TensorTrack order.

    ``reuse``: unlinked, unanimated cell objects of a previous build, by name; a cell whose
    name is there takes that object (popped from the dict) instead of a new one.
    ``share_identical``: cells with exactly the same keys share one action slot, named
    ``<first cell> ×<count>`` (one action each on Blender 4.2/4.3, named so).
    """
    n = len(track)
    names = [name_prefix + name for name in track.cell_names()] if name_prefix else track.cell_names()
    reuse = {} if reuse is None else reuse
    planned = keys.plan_cell_keys(track, pop_frames, easing, cube_size, frame_map, share_identical)
    kinds, rows, source, animated = planned.kinds, planned.rows, planned.source, planned.animated
    if kinds:
        twins = np.bincount(source[animated], minlength=n)
        # the shared slots are named now, before the objects exist: naming them later scans every ID
        pool.name_slots([f"{names[i]} \u00d7{int(twins[i])}" if twins[i] > 1 else None
                         for i in animated.tolist() if source[i] == i])
    # Created in name order: Blender keeps IDs sorted by name, and appending in order is cheap.
    order = sorted(range(n), key=names.__getitem__)
    objects, made, owners = [None] * n, [None] * n, [None] * n
    new_object, link, take = bpy.data.objects.new, collection.objects.link, reuse.pop
    for i in order:
        obj = take(names[i], None)
        objects[i] = obj if obj is not None and obj.data == cube_mesh else new_object(names[i], cube_mesh)
    for i in order:
        obj = objects[i]
        link(obj)
        obj.parent = parent
        _link_material(obj, material)
        made[i] = obj[TAG] = obj.name

    # Static values (what the F-curves do not drive), in the collection's order (= link order).
    static_scale = np.full(n, cube_size)
    static_scale[planned.hidden] = 0.0
    static_color = np.where(keys.always_lit(track)[:, None], track.highlight_color, track.color).astype(np.float32)
    if len(collection.objects) != n:
        raise RuntimeError(f"{collection.name!r} must hold only the {n} cells when they are set in bulk")
    collection.objects.foreach_set("location", np.asarray(track.position, np.float32)[order].ravel())
    collection.objects.foreach_set("rotation_euler", np.zeros(3 * n, np.float32))
    collection.objects.foreach_set("scale", np.repeat(static_scale[order], 3).astype(np.float32))
    collection.objects.foreach_set("color", static_color[order].ravel())

    if kinds:
        _animate_cells(objects, owners, kinds, rows, source, animated, pool, written)
    if written is not None and written.plays is not None:
        written.plays.update(zip(made, owners))
    return objects


def _animate_cells(objects, owners, kinds, rows, source, animated, pool, written) -> None:
    """Keys on the animated cells (a twin shares its source's slot); ``owners[i]``: what cell i plays.

    The first cell of each shape of keys (:meth:`keys.Channels.row_shapes`) is keyed fresh; the next ones
    copy its F-curves and take their own frames and values (a third fewer calls into Blender per cell)."""
    rows = [r.tolist() for r in rows]
    shapes = [k.row_shapes() for k in kinds]
    source = source.tolist()
    keyed = [[] for _ in kinds]        # per kind: (row written, by which cell) for the cells owning their slot
    templates = {}
    for i in animated.tolist():
        obj = objects[i]
        if source[i] != i:
            pool.share(obj, objects[source[i]])
            owners[i] = owners[source[i]]
            continue
        channels, fills, shape = [], [], []
        for k, (kind, row) in enumerate(zip(kinds, rows)):
            r = row[i]
            if r >= 0:
                channels += kind.paths
                fills.append((kind, r, len(kind.paths)))
                keyed[k].append((r, i))
                shape.append((k, shapes[k][r]))
        template = templates.get(shape := tuple(shape))
        if template is None:
            fcurves = templates[shape] = pool.new_fcurves(obj, channels)
            fresh = len(fcurves)
        else:
            fcurves, fresh = pool.copy_fcurves(obj, template, channels)
        if written is not None:
            owners[i] = animation_owner(obj)
        start = 0
        for kind, r, count in fills:
            fill_fcurves(kind, fcurves[start:start + count], r, max(0, min(count, fresh - start)))
            start += count
    if written is not None:
        for kind, pairs in zip(kinds, keyed):
            if pairs:
                written_rows, cells = zip(*pairs)
                written.curves.add_rows([owners[i] for i in cells], kind.paths, kind.digests()[list(written_rows)])


# --------------------------------------------------------------------------------------------- removing clips


def clip_collections(label: str | None = None) -> list:
    """The clip collections in the file (of one clip label, or all)."""
    return [c for c in bpy.data.collections
            if c.get(PROP_CLIP) is not None and c.get(PROP_MODE) is not None
            and (label is None or c[PROP_CLIP] == label)]


def is_ours(obj) -> bool:
    """Whether the add-on made ``obj`` (its tag is its own name: a duplicate or a renamed cell is the user's)."""
    return obj.get(TAG) == obj.name


def _clip_parts(collection):
    """(the clip's collections, the objects the add-on made that only they hold)."""
    collections = [collection] + list(collection.children_recursive)
    ours = {c.as_pointer() for c in collections}
    # Objects the user also linked somewhere else stay (Object.users_collection scans every collection:
    # too slow per object for tens of thousands of cells, so the other collections are scanned once).
    elsewhere = {o.as_pointer() for c in bpy.data.collections if c.as_pointer() not in ours for o in c.objects}
    elsewhere |= {o.as_pointer() for scene in bpy.data.scenes for o in scene.collection.objects}
    members = {o.as_pointer(): o for c in collections for o in c.objects if o.get(TAG) == o.name}
    return collections, [o for key, o in members.items() if key not in elsewhere]


def detach_clip(collection) -> dict:
    """Take a clip apart for a rebuild: returns its cell objects by name, unlinked and unanimated, for
    :func:`write_clip`'s ``reuse``; removes the rest of it as :func:`remove_clip` does.

    Deleting tens of thousands of objects costs Blender far more than rewriting them (each deleted
    ID scans the window manager's notifier queue, which only the UI's event loop empties), so a
    regenerated clip keeps the cells whose names come back. Pass what ``write_clip`` left in the dict
    to :func:`remove_objects`.
    """
    collections, doomed = _clip_parts(collection)
    cube = bpy.data.meshes.get(meshes.CUBE_MESH)
    cells = {o.name: o for o in doomed if o.type == "MESH" and cube is not None and o.data == cube}
    rest = [o for o in doomed if o.name not in cells]
    _remove(collection.get(PROP_UID, collection.get(PROP_CLIP)), collections, rest, owners=doomed)
    for obj in cells.values():
        obj.animation_data_clear()
    return cells


def remove_objects(objects) -> None:
    """Remove objects in no collection any more (e.g. cells a rebuild did not reuse): see :func:`free_objects`."""
    free_objects(list(objects))


def free_objects(objects: list) -> None:
    """Remove ``objects``, which no collection holds any more.

    Every ID ``batch_remove`` frees scans the window manager's notifier queue, which only the UI's event
    loop empties: in background Blender (scripts, the ``bpy`` wheel, render farms) it holds a few entries per
    object written since the file was opened, and removing a 20k-cube clip took 16-23 s against 0.5 s to
    make its objects (``benchmarks/scene.py``). There, objects that nothing but ``objects`` refers to are freed
    one by one without that scan (``do_unlink=False``: nothing refers to them; ``do_ui_user=False``: no editor
    draws in background), each after the objects that refer to it; the others, and every object in the UI
    (whose queue is emptied after each operator), go through ``batch_remove``, which unlinks references.
    """
    if not objects:
        return
    if not bpy.app.background:
        bpy.data.batch_remove(objects)
        return
    doomed = {o.as_pointer(): o for o in objects}
    users = {key: [u.as_pointer() for u in found] for key, found in
             ((o.as_pointer(), found) for o, found in bpy.data.user_map(subset=objects).items())}
    fast = {key for key in doomed if all(u in doomed for u in users[key])}
    slow = [o for key, o in doomed.items() if key not in fast]
    if slow:          # first: removing them unlinks what they refer to among the fast ones
        bpy.data.batch_remove(slow)
    # referrers first (a cell before its tensor's empty, a point object before the boxes its modifier reads)
    waiting = {key: sum(1 for u in users[key] if u in fast) for key in fast}
    referred = {key: [] for key in fast}
    for key in fast:
        for u in users[key]:
            if u in fast:
                referred[u].append(key)
    ready = [key for key, count in waiting.items() if count == 0]
    remove = bpy.data.objects.remove
    while ready:
        key = ready.pop()
        for target in referred[key]:
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
        remove(doomed[key], do_unlink=False, do_id_user=True, do_ui_user=False)
        del waiting[key]
    if waiting:       # objects referring to each other in a loop
        bpy.data.batch_remove([doomed[key] for key in waiting])


def remove_clip(collection) -> None:
    """Remove a clip collection, its tensor collections, the objects only they hold, and the per-clip data
    (point meshes, actions) nothing else uses. Shared data (cube, boxes, materials) stays: see :func:`purge`."""
    collections, doomed = _clip_parts(collection)
    _remove(collection.get(PROP_UID, collection.get(PROP_CLIP)), collections, doomed)


def _remove(tag, collections, doomed, owners=None) -> None:
    """Remove ``collections``, ``doomed`` objects, their private meshes and the clip's actions that nothing
    but ``owners`` (default: the doomed objects) uses."""
    data = {o.data for o in doomed if o.type == "MESH" and o.data.get(meshes.TAG) not in ("cube", "box")}
    data |= {o.data for o in doomed if o.type == "FONT"}      # each text object has its own curve
    actions = [a for a in bpy.data.actions if tag is not None and a.get(TAG, a.get(PROP_CLIP)) == tag]
    if actions:   # keep an action the user gave to something of their own
        leaving = {o.as_pointer() for o in (doomed if owners is None else owners)}
        users = bpy.data.user_map(subset=actions)
        actions = [a for a in actions if all(u.as_pointer() in leaving for u in users[a])]
    # actions and collections first: freeing them is cheap, objects without animation are cheaper to free,
    # and objects in no collection can be freed without unlinking (free_objects)
    bpy.data.batch_remove(actions + collections)
    free_objects(doomed)
    orphans = [d for d in data if d.users == 0]
    fonts = {d.font for d in orphans if isinstance(d, bpy.types.TextCurve) and d.font is not None}
    orphans += _orphan_cube_holders()
    if orphans:
        bpy.data.batch_remove(orphans)
    # Blender's built-in font, loaded for the clip's texts, once nothing else uses it
    fonts = [f for f in fonts if f.users == 0 and f.filepath == "<builtin>"]
    if fonts:
        bpy.data.batch_remove(fonts)


def _orphan_cube_holders() -> list:
    """Objects outside any scene that only held the add-on's cube for instancing, now used by nothing."""
    return [o for o in bpy.data.objects if o.users == 0 and o.get(TAG) == CUBE_HOLDER_TAG]


def purge() -> None:
    """Remove the add-on's shared data-blocks nothing uses any more (cube, box meshes, materials, node groups)."""
    cube_holders = _orphan_cube_holders()
    if cube_holders:
        bpy.data.batch_remove(cube_holders)
    while True:   # node groups use each other: remove from the outside in
        groups = [g for g in bpy.data.node_groups if g.users == 0 and g.get(TAG) is not None]
        if not groups:
            break
        bpy.data.batch_remove(groups)
    orphans = [m for m in bpy.data.meshes if m.users == 0 and m.get(meshes.TAG) is not None]
    orphans += [m for m in bpy.data.materials if m.users == 0 and m.get(materials.TAG) is not None]
    orphans += [a for a in bpy.data.actions if a.users == 0 and a.get(PROP_CLIP) is not None]
    if orphans:
        bpy.data.batch_remove(orphans)
