"""Every Blender-version difference the add-on meets, in one place.

Nothing else in the package tests ``bpy.app.version``. Supported: 4.2 LTS to 5.0.

* Actions: 4.4 brought slotted actions (layers, strips, channel bags; one action
  can animate many data-blocks, each through its own slot) and 5.0 removed the
  legacy ``Action.fcurves``. :class:`ActionPool` hides both: on 4.4+ up to
  ``objects_per_action`` objects share an action, one slot each (creating a slot
  through ``fcurve_ensure_for_datablock`` stays cheap, unlike ``slots.new``
  whose cost grows with the number of data-blocks in the file); on 4.2/4.3 every
  animation gets an action of its own.
* Eevee's engine id: ``BLENDER_EEVEE_NEXT`` on 4.2-4.5, ``BLENDER_EEVEE`` on 5.0.
* FFmpeg output: 5.0 groups file formats by ``image_settings.media_type``.
* Materials: 5.0 gives every new material a node tree (``use_nodes`` is deprecated).
"""

from __future__ import annotations

import bpy
import numpy as np

VERSION = tuple(bpy.app.version)

#: Slotted actions (4.4+): one action animates many objects, one slot each.
SLOTTED_ACTIONS = VERSION >= (4, 4)
#: ``Action.fcurves`` is gone (5.0+).
LEGACY_FCURVES_REMOVED = VERSION >= (5, 0)
#: ``ActionChannelbagFCurves.new_from_fcurve`` copies an F-curve with its keys (5.0+).
CAN_COPY_FCURVES = hasattr(bpy.types, "ActionChannelbagFCurves") and \
    "new_from_fcurve" in bpy.types.ActionChannelbagFCurves.bl_rna.functions
#: ``ImageFormatSettings.media_type`` exists (5.0+).
HAS_MEDIA_TYPE = VERSION >= (5, 0)


def eevee_engine_id() -> str:
    """``scene.render.engine`` value for Eevee on this Blender."""
    return "BLENDER_EEVEE" if VERSION >= (5, 0) else "BLENDER_EEVEE_NEXT"


def set_ffmpeg_output(scene, container: str = "MPEG4", codec: str = "H264") -> None:
    """Make ``scene`` render a video file (H.264 in MP4 unless told otherwise)."""
    image = scene.render.image_settings
    if HAS_MEDIA_TYPE:
        image.media_type = "VIDEO"
    image.file_format = "FFMPEG"
    scene.render.ffmpeg.format = container
    scene.render.ffmpeg.codec = codec


def set_image_output(scene, file_format: str = "PNG") -> None:
    """Make ``scene`` render still images (PNG unless told otherwise)."""
    image = scene.render.image_settings
    if HAS_MEDIA_TYPE:
        image.media_type = "IMAGE"
    image.file_format = file_format


def ensure_node_tree(material) -> bpy.types.NodeTree:
    """The material's shader node tree (4.2 needs ``use_nodes``; 5.0 always has one)."""
    if material.node_tree is None:
        material.use_nodes = True
    return material.node_tree


# --------------------------------------------------------------------------------------------- actions


class ActionPool:
    """Hands out F-curves that animate objects, in as few actions as the Blender version allows.

    ``new_fcurves(obj, channels)`` gives ``obj`` animation with one new F-curve per
    ``(data_path, index)``; ``share(obj, source)`` makes ``obj`` play exactly the
    animation of ``source`` (same action, same slot). Every action made is tagged
    with ``tags`` (ID properties) and listed in ``actions``.

    ``name_slots(names)``, called before the objects exist, names the slots of the next
    ``new_fcurves`` calls (None: the object's own name). Naming a slot later costs a scan of
    every ID in the file (about 1 ms each at 20,000 objects); made early, it costs next to nothing.
    Before slots (4.2/4.3), the action itself gets the name.
    """

    def __init__(self, name: str, objects_per_action: int = 100, tags: dict | None = None):
        self.name = name
        self.objects_per_action = max(1, int(objects_per_action))
        self.tags = dict(tags or {})
        self.actions: list[bpy.types.Action] = []
        self._slots_in_current = 0
        self._named: list = []          # per coming new_fcurves call: (action, slot) made early, or None
        self._calls = 0
        self._strip = None              # (action, its keyframe strip) of the last copy_fcurves

    def name_slots(self, names) -> None:
        """Names for the slots of the next ``len(names)`` calls of ``new_fcurves`` (None: the default)."""
        self._named = []
        for name in names:
            if name is None:
                self._named.append(None)
            elif not SLOTTED_ACTIONS:
                self._named.append(name)
            else:
                action = self._action_with_room()
                self._slots_in_current += 1
                self._named.append((action, action.slots.new("OBJECT", name)))
        self._calls = 0

    def _new_action(self, name: str | None = None) -> bpy.types.Action:
        # Zero-padded numbers: names arrive in sorted order, which keeps Blender's ID list insertion cheap.
        action = bpy.data.actions.new(name or f"{self.name} {len(self.actions):05d}")
        if not SLOTTED_ACTIONS:
            action.id_root = "OBJECT"
        for key, value in self.tags.items():
            action[key] = value
        self.actions.append(action)
        self._slots_in_current = 0
        return action

    def _action_with_room(self) -> bpy.types.Action:
        if not SLOTTED_ACTIONS or not self.actions or self._slots_in_current >= self.objects_per_action:
            return self._new_action()
        return self.actions[-1]

    def new_fcurves(self, obj, channels) -> list:
        """New F-curves animating ``obj``, one per ``(data_path, index)`` in ``channels``."""
        planned = self._named[self._calls] if self._calls < len(self._named) else None
        self._calls += 1
        if isinstance(planned, str):                    # before slots: an action of this name
            action = self._new_action(planned)
            obj.animation_data_create().action = action
            return [action.fcurves.new(path, index=index) for path, index in channels]
        if planned is not None:
            from bpy_extras.anim_utils import action_ensure_channelbag_for_slot
            action, slot = planned
            animation = obj.animation_data_create()
            animation.action = action
            animation.action_slot = slot
            bag = action_ensure_channelbag_for_slot(action, slot)
            return [bag.fcurves.new(path, index=index) for path, index in channels]
        action = self._action_with_room()
        obj.animation_data_create().action = action
        if SLOTTED_ACTIONS:
            # Creates the object's slot and channel bag and assigns the slot on the first call.
            curves = [action.fcurve_ensure_for_datablock(obj, path, index=index) for path, index in channels]
            self._slots_in_current += 1
            return curves
        return [action.fcurves.new(path, index=index) for path, index in channels]

    def copy_fcurves(self, obj, templates: list, channels: list[tuple[str, int]]) -> tuple[list, int]:
        """(new F-curves animating ``obj``, how many of them come first without keys) where the rest are
        copies of ``templates`` (other objects' F-curves on ``channels``, in order), keys, interpolation
        and handle types included: cheaper than keying each fresh (4.4+; before, or where copies cannot
        be made, every curve is fresh, as :meth:`new_fcurves` makes them)."""
        if not CAN_COPY_FCURVES:
            return self.new_fcurves(obj, channels), len(templates)
        planned = self._named[self._calls] if self._calls < len(self._named) else None
        self._calls += 1
        if planned is not None:
            from bpy_extras.anim_utils import action_ensure_channelbag_for_slot
            action, slot = planned
            animation = obj.animation_data_create()
            animation.action = action
            animation.action_slot = slot
            fresh = []
            bag = action_ensure_channelbag_for_slot(action, slot)
        else:
            # the first curve made the plain way creates the object's slot and channel bag
            action = self._action_with_room()
            animation = obj.animation_data_create()
            animation.action = action
            path, index = channels[0]
            fresh = [action.fcurve_ensure_for_datablock(obj, path, index=index)]
            self._slots_in_current += 1
            if self._strip is None or self._strip[0] is not action:
                self._strip = (action, action.layers[0].strips[0])      # the action's one keyframe strip
            bag = self._strip[1].channelbag(animation.action_slot)
        copy = bag.fcurves.new_from_fcurve
        return fresh + [copy(template) for template in templates[len(fresh):]], len(fresh)

    @staticmethod
    def share(obj, source) -> None:
        """Animate ``obj`` with ``source``'s action and slot."""
        animation = obj.animation_data_create()
        animation.action = source.animation_data.action
        if SLOTTED_ACTIONS:
            animation.action_slot = source.animation_data.action_slot


def name_animation(obj, name: str) -> None:
    """Name what ``obj`` plays so a user sees it: its action slot (4.4+) or, before slots, its action."""
    animation = obj.animation_data
    if animation is None or animation.action is None:
        return
    if SLOTTED_ACTIONS and animation.action_slot is not None:
        animation.action_slot.name_display = name
    else:
        animation.action.name = name


def own_animation(obj, name: str, tags: dict) -> None:
    """Give ``obj`` a copy of the animation it shares with others: a new action (tagged with ``tags``) holding
    copies of its F-curves (keys, handles, interpolation, extrapolation), assigned to it alone."""
    curves = object_fcurves(obj)
    copies = []
    for fc in curves:
        count = len(fc.keyframe_points)
        data = {}
        for key, width, dtype in (("co", 2, "f"), ("handle_left", 2, "f"), ("handle_right", 2, "f"),
                                  ("interpolation", 1, "i"), ("handle_left_type", 1, "i"),
                                  ("handle_right_type", 1, "i"), ("easing", 1, "i")):
            values = np.empty(count * width, np.float32 if dtype == "f" else np.int32)
            fc.keyframe_points.foreach_get(key, values)
            data[key] = values
        copies.append((fc.data_path, fc.array_index, fc.extrapolation, count, data))
    action = bpy.data.actions.new(name)
    if not SLOTTED_ACTIONS:
        action.id_root = "OBJECT"
    for key, value in tags.items():
        action[key] = value
    obj.animation_data.action = action
    for path, index, extrapolation, count, data in copies:
        if SLOTTED_ACTIONS:
            fc = action.fcurve_ensure_for_datablock(obj, path, index=index)
        else:
            fc = action.fcurves.new(path, index=index)
        fc.extrapolation = extrapolation
        fc.keyframe_points.add(count)
        # types before positions: setting a handle type may recompute handles
        for key in ("interpolation", "handle_left_type", "handle_right_type", "easing", "co", "handle_left",
                    "handle_right"):
            fc.keyframe_points.foreach_set(key, data[key])
    name_animation(obj, obj.name)


def object_fcurves(idblock) -> list:
    """The F-curves animating ``idblock`` (its assigned slot's on 4.4+); [] when it has none."""
    animation = idblock.animation_data
    if animation is None or animation.action is None:
        return []
    action = animation.action
    if SLOTTED_ACTIONS:
        from bpy_extras.anim_utils import action_get_channelbag_for_slot
        channelbag = action_get_channelbag_for_slot(action, animation.action_slot)
        return list(channelbag.fcurves) if channelbag is not None else []
    return list(action.fcurves)


def action_fcurves(action) -> list:
    """Every F-curve of ``action`` (all slots' channel bags on 4.4+)."""
    if not SLOTTED_ACTIONS:
        return list(action.fcurves)
    return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
            for fc in bag.fcurves]


def action_channel_bags(action) -> list[tuple[int, list]]:
    """(slot handle, F-curves) per channel bag of ``action``: one bag per animated slot on 4.4+, and one
    (handle 0) holding every F-curve before slots."""
    if not SLOTTED_ACTIONS:
        return [(0, list(action.fcurves))]
    return [(bag.slot_handle, list(bag.fcurves)) for layer in action.layers for strip in layer.strips
            for bag in strip.channelbags]


def slot_handle(animation) -> int:
    """The handle of the slot an AnimData plays (0 before slots)."""
    if not SLOTTED_ACTIONS or animation.action_slot is None:
        return 0
    return animation.action_slot.handle


def bpy_crashes_at_exit() -> bool:
    """True for the ``bpy`` versions whose interpreter shutdown crashes after Python property callbacks
    were registered (seen on the 4.2.0 wheel; not on 5.0.1). Exit status 139 from::

        import bpy
        class G(bpy.types.PropertyGroup):
            a: bpy.props.IntProperty(update=lambda self, context: None)
        bpy.utils.register_class(G)
        bpy.utils.unregister_class(G)
    """
    return bpy.app.version < (4, 3, 0)


def exit_process(code: int) -> None:
    """End a plain-Python process that imported the ``bpy`` module, with ``code``.

    The Blender 4.2 ``bpy`` wheel crashes (SIGSEGV, exit status 139) while Python finalises once any
    property with a Python callback (``update=``, dynamic ``items=``) was registered, even after
    unregistering; 5.0 does not. There, after flushing, the process ends without that finalisation.
    """
    import os
    import sys
    if bpy_crashes_at_exit():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
