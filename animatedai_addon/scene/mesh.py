"""Shared meshes: the bevelled cube every cell uses, and the wire boxes (round tubes along the edges).

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
#: A wire box is drawn as round tubes along its twelve edges (the Animated AI frames' bold box outlines):
#: their diameter as a fraction of the cube edge, and the number of sides of each tube.
TUBE_WIDTH_OF_CUBE = 0.15
TUBE_SIDES = 8
#: The default cube edge (``engine.timeline.Look.cube_size``): a box made without a cube size gets tubes
#: of this thickness in metres.
DEFAULT_CUBE_SIZE = 0.9
BEAM_THICKNESS = TUBE_WIDTH_OF_CUBE * DEFAULT_CUBE_SIZE


def tube_thickness(cube_size: float = DEFAULT_CUBE_SIZE) -> float:
    """Diameter in metres of a wire box's tubes for cubes of edge ``cube_size``."""
    return TUBE_WIDTH_OF_CUBE * float(cube_size)


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


def box_mesh_name(size, thickness: float = BEAM_THICKNESS) -> str:
    sx, sy, sz = (float(v) for v in size)
    return f"AnimatedAI box {sx:.4g}x{sy:.4g}x{sz:.4g} t{float(thickness):.3g}"


def ensure_box_mesh(size, thickness: float | None = None, cube_size: float | None = None) -> bpy.types.Mesh:
    """A wire box for a box of outer ``size`` (x, y, z), built in unit space (the object is scaled by ``size``).

    Twelve round tubes centred on the edges of the unit cube, reaching past the corners so that
    they meet; their cross-section is divided by ``size`` per axis so that after scaling they are
    round and ``thickness`` metres across whatever the box's size (default: ``tube_thickness(cube_size)``,
    about a tenth of a cube). Boxes of one size and thickness share the mesh; the tubes are
    smooth-shaded so they catch highlights like the cubes' rims.
    """
    if thickness is None:
        thickness = tube_thickness(DEFAULT_CUBE_SIZE if cube_size is None else cube_size)
    name = box_mesh_name(size, thickness)
    mesh = bpy.data.meshes.get(name)
    if mesh is not None:
        return mesh
    mesh = bpy.data.meshes.new(name)
    vertices, faces = wire_box_geometry(size, thickness)
    mesh.from_pydata(vertices.tolist(), [], faces_as_lists(faces))
    _smooth_sides(mesh)
    mesh.materials.append(None)      # the box object links "AnimatedAI box"
    mesh.update()
    mesh[TAG] = "box"
    return mesh


def wire_box_geometry(size, thickness: float = BEAM_THICKNESS, sides: int = TUBE_SIDES
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (12 * 2 * sides, 3), faces (12 * (sides + 2), 4 or more)) of twelve closed tubes of
    diameter ``thickness`` (metres, once scaled by ``size``) centred on the edges of the unit cube
    [-0.5, 0.5]^3, each running past both corners by its radius so that the corners are closed.

    Faces are ``sides`` quads around each tube and an n-gon capping each end, as one (F, sides)
    array padded with -1 (:func:`faces_as_lists` drops the padding)."""
    size = np.maximum(np.asarray(size, np.float64), 1e-6)
    radius = 0.5 * float(thickness) / size                 # per axis, in unit space
    angles = 2 * np.pi * (np.arange(sides) + 0.5) / sides
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)   # (sides, 2)
    vertices, faces = [], []
    for axis in range(3):
        u, v = [a for a in range(3) if a != axis]
        for side_u in (-0.5, 0.5):
            for side_v in (-0.5, 0.5):
                start = sum(len(x) for x in vertices)
                tube = np.zeros((2, sides, 3))
                for end, along in enumerate((-0.5 - radius[axis], 0.5 + radius[axis])):
                    tube[end, :, axis] = along
                    tube[end, :, u] = side_u + ring[:, 0] * radius[u]
                    tube[end, :, v] = side_v + ring[:, 1] * radius[v]
                vertices.append(tube.reshape(-1, 3))
                k = np.arange(sides)
                for i in k:
                    j = (i + 1) % sides
                    faces.append([start + i, start + j, start + sides + j, start + sides + i])
                faces.append([start + i for i in k[::-1]])
                faces.append([start + sides + i for i in k])
    width = max(len(f) for f in faces)
    padded = np.full((len(faces), width), -1, np.int64)
    for n, f in enumerate(faces):
        padded[n, :len(f)] = f
    return np.vstack(vertices), _outward(np.vstack(vertices), padded)


def _outward(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``faces`` with each tube face wound so that its normal points away from its tube's axis."""
    valid = faces >= 0
    counts = valid.sum(axis=1)
    p = vertices[np.where(valid, faces, 0)]                               # (F, width, 3)
    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    per_tube = len(vertices) // 12
    centres = vertices.reshape(12, per_tube, 3).mean(axis=1)[faces[:, 0] // per_tube]
    middle = (p * valid[:, :, None]).sum(axis=1) / counts[:, None]
    out = faces.copy()
    for n in np.flatnonzero(np.einsum("ij,ij->i", normal, middle - centres) < 0):
        out[n, :counts[n]] = faces[n, :counts[n]][::-1]
    return out


def _smooth_sides(mesh) -> None:
    """Smooth-shade the tubes' sides, keep the end caps flat."""
    sides = np.array([len(p.vertices) == 4 for p in mesh.polygons])
    mesh.polygons.foreach_set("use_smooth", sides)


def faces_as_lists(faces: np.ndarray) -> list[list[int]]:
    return [[int(i) for i in f if i >= 0] for f in faces]
