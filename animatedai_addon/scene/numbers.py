"""Numbers on cells: each cube's value as a flat number on its front face (Timeline.numbers).

A number is an object of its own that plays exactly its cube's animation: the cell writer
(``writer.write_cell_objects``) writes it from the same track, so it pops in, travels and hides with its cube,
in both scene modes (an instanced clip's cubes are Geometry Nodes instances; their numbers are still objects,
keyed by the same timeline). Its mesh is the text's glyphs, made once per distinct number, lying on the unit
cube's front face (-y, toward the camera) so that the cube's scale sizes it. It renders in every engine.
"""

from __future__ import annotations

import dataclasses
import math

import bpy
import numpy as np

from . import texts

TAG = "animatedai"
NUMBER_MESH = "AnimatedAI number {}"
#: Glyph height on the unit cube's face, and how far in front of it the glyphs float (Eevee's depth buffer
#: loses them at 0.004).
NUMBER_SIZE, FACE_GAP = 0.36, 0.02
#: Near white on dark cubes, near black on light ones (relative luminance of the cube's linear colour).
LIGHT, DARK, LUMINANCE_SPLIT = (0.9, 0.9, 0.9, 1.0), (0.005, 0.005, 0.005, 1.0), 0.3


def number_colors(cube_colors: np.ndarray) -> np.ndarray:
    """(N, 4) colours of the numbers on cubes of linear RGBA ``cube_colors``: the one that stands out."""
    luminance = np.asarray(cube_colors, float)[:, :3] @ np.array([0.2126, 0.7152, 0.0722])
    return np.where((luminance < LUMINANCE_SPLIT)[:, None], LIGHT, DARK).astype(np.float32)


def number_mesh(text: str) -> bpy.types.Mesh:
    """The shared mesh of ``text``: its glyphs centred on the unit cube's front face, facing -y."""
    from mathutils import Matrix
    name = NUMBER_MESH.format(text)
    mesh = bpy.data.meshes.get(name)
    if mesh is not None and mesh.get(TAG) == "number":
        return mesh
    curve = bpy.data.curves.new(name, "FONT")
    curve.body = text
    curve.size = NUMBER_SIZE
    curve.align_x, curve.align_y = "CENTER", "CENTER"
    holder = bpy.data.objects.new(name, curve)
    try:
        mesh = bpy.data.meshes.new_from_object(holder)
    finally:
        bpy.data.objects.remove(holder)
        bpy.data.curves.remove(curve)
    mesh.name = name
    mesh.transform(Matrix.Translation((0.0, -0.5 - FACE_GAP, 0.0)) @ Matrix.Rotation(math.pi / 2, 4, "X"))
    mesh.materials.clear()
    mesh.materials.append(texts.ensure_material())
    mesh[TAG] = "number"
    return mesh


def write_numbers(timeline, clip, *, label: str, pool_name: str, tags: dict, pop_frames: float, easing: int,
                  cube_size: float, write_cells, new_pool, name_prefix: str = "") -> dict:
    """Number objects for every track ``timeline.numbers`` names, each in a child collection of the clip
    (``<tensor> values``) under the tensor's empty; returns {track name: [objects in cell order]}.
    ``write_cells`` / ``new_pool(name, tags)``: the writer's ``write_cell_objects`` and action pools (this module
    does not import the writer)."""
    material = texts.ensure_material()
    made = {}
    for track in timeline.tensors:
        strings = timeline.numbers.get(track.name)
        if not strings:
            continue
        colors = number_colors(track.color)
        values = dataclasses.replace(track, name=f"{track.name} value", color=colors, highlight_color=colors,
                                     highlight_cell=track.highlight_cell[:0], highlight_start=track.highlight_start[:0],
                                     highlight_end=track.highlight_end[:0])
        child = bpy.data.collections.new(f"{name_prefix} {track.name} values" if name_prefix
                                         else f"{label} {track.name} values")
        child[TAG] = tags.get(TAG, label)
        clip.collection.children.link(child)
        pool = new_pool(f"{pool_name} / {track.name} values", tags)
        meshes = {text: number_mesh(text) for text in sorted(set(strings))}
        objects = write_cells(values, collection=child, parent=clip.empties[track.name],
                                     cube_mesh=meshes[strings[0]], material=material, pool=pool,
                                     cube_size=cube_size, pop_frames=pop_frames, easing=easing,
                                     name_prefix=name_prefix)
        for obj, text in zip(objects, strings):
            obj.data = meshes[text]
        clip.actions += pool.actions
        made[track.name] = objects
    return made
