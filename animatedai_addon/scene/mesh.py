"""Shared meshes: the bevelled cube every cell uses, and the wire boxes.

Both are reused by name when they already exist, so regenerating a clip keeps a
user's edits to them. Meshes the add-on makes carry the ID property
``animatedai`` (``"cube"`` or ``"box"``) so that :func:`api.clear` can tell them
from the user's.
"""

from __future__ import annotations

import bmesh
import bpy
import numpy as np

CUBE_MESH = "AnimatedAI cube"
TAG = "animatedai"

#: Bevel width as a fraction of the cube's edge, and its segments (rounded, not chamfered).
BEVEL_WIDTH = 0.08
BEVEL_SEGMENTS = 3
#: Thickness of a wire box's beams, in metres (the boxes are scaled to their size, the beams are not).
BEAM_THICKNESS = 0.05


def ensure_cube_mesh() -> bpy.types.Mesh:
    """The shared unit cube with rounded edges (``AnimatedAI cube``): object scale = cube edge."""
    mesh = bpy.data.meshes.get(CUBE_MESH)
    if mesh is not None:
        return mesh
    mesh = bpy.data.meshes.new(CUBE_MESH)
    build_bevelled_cube(mesh)
    mesh[TAG] = "cube"
    return mesh


def build_bevelled_cube(mesh: bpy.types.Mesh, width: float = BEVEL_WIDTH, segments: int = BEVEL_SEGMENTS) -> None:
    """Fill ``mesh`` with a cube of edge 1 centred on the origin, edges rounded.

    The bevel faces are smooth-shaded and the six flat faces stay flat, so the
    rounded edges catch highlights without the flat faces shading unevenly.
    """
    bm = bmesh.new()
    try:
        bmesh.ops.create_cube(bm, size=1.0)
        bmesh.ops.bevel(bm, geom=list(bm.edges) + list(bm.verts), offset=width, offset_type="OFFSET",
                        segments=segments, profile=0.5, affect="EDGES", clamp_overlap=True)
        bm.normal_update()
        for face in bm.faces:
            # the six sides face along an axis; every bevel face is tilted
            face.smooth = max(abs(c) for c in face.normal) < 0.999
        bm.to_mesh(mesh)
    finally:
        bm.free()
    # One empty material slot: each cell links its role's material to the object.
    mesh.materials.append(None)
    mesh.update()


def box_mesh_name(size) -> str:
    sx, sy, sz = (float(v) for v in size)
    return f"AnimatedAI box {sx:.4g}x{sy:.4g}x{sz:.4g}"


def ensure_box_mesh(size, thickness: float = BEAM_THICKNESS) -> bpy.types.Mesh:
    """A wire box for a box of outer ``size`` (x, y, z), built in unit space (the object is scaled by ``size``).

    Twelve beams along the edges of the unit cube, inside it; their thickness is
    divided by ``size`` per axis so that after scaling they are ``thickness``
    metres thick whatever the box's size. Boxes of one size share the mesh.
    """
    name = box_mesh_name(size)
    mesh = bpy.data.meshes.get(name)
    if mesh is not None:
        return mesh
    mesh = bpy.data.meshes.new(name)
    vertices, faces = wire_box_geometry(size, thickness)
    mesh.from_pydata(vertices.tolist(), [], faces.tolist())
    mesh.materials.append(None)      # the box object links "AnimatedAI box"
    mesh.update()
    mesh[TAG] = "box"
    return mesh


# The 8 corners of a unit cuboid (index bits: x, y, z) and its 6 quads, outward-facing.
_CORNERS = np.array([[(i >> 0) & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], np.float64)
_QUADS = np.array([[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]], np.int64)


def wire_box_geometry(size, thickness: float = BEAM_THICKNESS) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (96, 3), quads (72, 4)) of twelve beams along the edges of the unit cube [-0.5, 0.5]^3."""
    size = np.maximum(np.asarray(size, np.float64), 1e-6)
    beam = np.minimum(thickness / size, 0.5)             # beam thickness per axis, in unit space
    lows, highs = [], []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        for side_a in (0, 1):
            for side_b in (0, 1):
                low = np.empty(3)
                high = np.empty(3)
                low[axis], high[axis] = -0.5, 0.5
                for other, side in zip(others, (side_a, side_b)):
                    low[other] = -0.5 if side == 0 else 0.5 - beam[other]
                    high[other] = low[other] + beam[other]
                lows.append(low)
                highs.append(high)
    lows, highs = np.array(lows), np.array(highs)                       # (12, 3)
    vertices = lows[:, None, :] + _CORNERS[None, :, :] * (highs - lows)[:, None, :]
    faces = _QUADS[None, :, :] + 8 * np.arange(12)[:, None, None]
    return vertices.reshape(-1, 3), faces.reshape(-1, 4)
