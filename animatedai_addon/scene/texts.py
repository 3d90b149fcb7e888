"""The clip's texts (engine/labels.py's TextTracks) as ordinary Blender text objects.

Each text is a FONT object in the clip's collection, a child of the clip's root, turned to face the camera:
its rotation is the framing camera's (``view``), and a Copy Rotation constraint keeps it facing the scene's
camera when there is one (a moved camera turns the texts with it). It shows while its intervals say: scale
1 from an interval's start, 0 from its end (CONSTANT keys, which every render engine and the glTF exporter
follow). Its colour is the object's (one shared material, as the cells, glowing a little).
"""

from __future__ import annotations

import bpy
import numpy as np

from . import compat, materials
from .keys import CONSTANT

TAG = "animatedai"
PROP_TEXT = "animatedai_text"          # text objects: the text's name in the plan
MATERIAL = "AnimatedAI text"
#: Near white, glowing a little: readable on both templates' grey backdrops whatever the lights do.
TEXT_COLOR = (0.9, 0.9, 0.9, 1.0)
TEXT_GLOW = 0.6


def ensure_material() -> bpy.types.Material:
    material = bpy.data.materials.get(MATERIAL)
    if material is None:
        material = bpy.data.materials.new(MATERIAL)
        materials.build_material(material, viewport=TEXT_COLOR, roughness=0.6, alpha=1.0, emission=TEXT_GLOW)
        material[materials.TAG] = "text"
    return material


def facing_rotation(view) -> tuple[float, float, float]:
    """Euler rotation of an object whose +Z points along ``view`` (towards the camera) with +Y up: a camera's
    rotation looking back along it."""
    from mathutils import Vector
    return tuple(Vector([float(-v) for v in view]).to_track_quat("-Z", "Y").to_euler())


def visibility_keys(shown: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(scale before the first key, key frames, key values) of a text shown during the [start, end)
    intervals ``shown``."""
    shown = np.asarray(shown, float).reshape(-1, 2)
    frames, values = [], []
    for start, end in shown:
        if np.isfinite(start):
            frames.append(start), values.append(1.0)
        if np.isfinite(end):
            frames.append(end), values.append(0.0)
    initial = 1.0 if len(shown) and not np.isfinite(shown[0, 0]) else 0.0
    if not frames:
        return initial, np.zeros(0), np.zeros(0)
    if values[0] == initial:
        raise ValueError(f"intervals {shown.tolist()} are not sorted, disjoint [start, end) pairs")
    # a CONSTANT curve holds its first key's value before it: one frame earlier, the value before
    return initial, np.asarray([frames[0] - 1.0] + frames), np.asarray([initial] + values)


def write_texts(texts, *, collection, parent, view, pool: compat.ActionPool, animate, name_prefix: str = "",
                camera=None) -> dict:
    """Text objects for ``texts`` (labels.TextTrack), linked into ``collection`` under ``parent``; returns them
    by text name. ``camera``: the object they keep facing (None: only turned along ``view``). ``animate(pool,
    obj, tracks)`` keys an object (the writer's ``animate_object``: this module does not import the writer)."""
    material = ensure_material()
    rotation = facing_rotation(view)
    made = {}
    for text in texts:
        name = f"{name_prefix}{text.name}"
        curve = bpy.data.curves.new(name, "FONT")
        curve.body = text.text
        curve.size = float(text.size)
        curve.align_x = text.align
        curve.align_y = "CENTER"
        curve[TAG] = "text"
        curve.materials.append(material)
        obj = bpy.data.objects.new(name, curve)
        obj[TAG] = obj.name
        obj[PROP_TEXT] = text.name
        obj.color = TEXT_COLOR
        collection.objects.link(obj)
        obj.parent = parent
        obj.location = [float(v) for v in text.location]
        obj.rotation_euler = rotation
        if camera is not None:
            constraint = obj.constraints.new("COPY_ROTATION")
            constraint.target = camera
        initial, frames, values = visibility_keys(text.shown)
        obj.scale = (initial,) * 3
        if len(frames):
            kinds = np.full(len(frames), CONSTANT, np.int32)
            animate(pool, obj, [("scale", axis, frames, values, kinds) for axis in range(3)])
        made[text.name] = obj
    return made
