"""The shared materials: ``AnimatedAI input|filter|output|padding|box``.

Every cell's colour comes from the object, not the material: Base Color is
``Attribute(INSTANCER, "color")``. On an instance it reads the point attribute
``color`` the Geometry Nodes store per cell (instanced mode); on a plain object,
where no such attribute exists, Blender falls back to the object's own colour
(objects mode: ``Object.color`` is the cell's colour, keyframed for highlights).
So one material per role serves both modes, in Cycles and Eevee (adding
``Object Info ▸ Color`` on top would count a plain object's colour twice); Workbench shows the object colour when its shading uses ``OBJECT``
colours, and the material's viewport colour otherwise.

A material that already exists under its name is used as it is, so a user's
edits survive regeneration. The cell colour reaches Base Color through the node
"Tint" (:func:`tint`): its white swatch, changed, recolours every cell of the role.
"""

from __future__ import annotations

import bpy

from . import compat

ROLES = ("input", "filter", "output", "padding", "box")
TAG = "animatedai"
INSTANCE_COLOR_ATTRIBUTE = "color"

#: Viewport (Workbench "material" colour) and look per role.
_LOOKS = {
    "input": dict(viewport=(0.05, 0.55, 0.6, 1.0), roughness=0.2, alpha=1.0, emission=0.0),
    "filter": dict(viewport=(0.8, 0.35, 0.05, 1.0), roughness=0.2, alpha=1.0, emission=0.0),
    "output": dict(viewport=(0.8, 0.6, 0.1, 1.0), roughness=0.2, alpha=1.0, emission=0.0),
    "padding": dict(viewport=(0.32, 0.32, 0.34, 0.35), roughness=0.5, alpha=0.35, emission=0.0),
    "box": dict(viewport=(1.0, 1.0, 1.0, 1.0), roughness=0.6, alpha=1.0, emission=0.6),
}


def material_name(role: str) -> str:
    return f"AnimatedAI {role}"


def ensure_material(role: str) -> bpy.types.Material:
    """The shared material of ``role`` (one of ``ROLES``), made if missing, left as it is if present."""
    if role not in _LOOKS:
        raise ValueError(f"role {role!r} is not one of {ROLES}")
    material = bpy.data.materials.get(material_name(role))
    if material is None:
        material = bpy.data.materials.new(material_name(role))
        build_material(material, **_LOOKS[role])
        material[TAG] = role
    return material


def ensure_materials() -> dict[str, bpy.types.Material]:
    return {role: ensure_material(role) for role in ROLES}


def build_material(material, viewport, roughness: float, alpha: float, emission: float) -> None:
    """Principled BSDF whose Base Color is the instancer ``color`` attribute (the object colour on plain objects)."""
    material.diffuse_color = viewport
    material.roughness = roughness
    tree = compat.ensure_node_tree(material)
    nodes, links = tree.nodes, tree.links
    nodes.clear()
    output = nodes.new("ShaderNodeOutputMaterial")
    output.location = (600, 0)
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.location = (300, 0)
    attribute = nodes.new("ShaderNodeAttribute")
    attribute.location = (0, 0)
    attribute.attribute_type = "INSTANCER"
    attribute.attribute_name = INSTANCE_COLOR_ATTRIBUTE
    attribute.label = "Cell colour"
    cell_color = tint(tree, attribute.outputs["Color"])
    links.new(cell_color, bsdf.inputs["Base Color"])
    links.new(bsdf.outputs["BSDF"], output.inputs["Surface"])
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Alpha"].default_value = alpha
    if emission > 0:
        links.new(cell_color, bsdf.inputs["Emission Color"])
        bsdf.inputs["Emission Strength"].default_value = emission
    if alpha < 1.0:
        # Eevee: blended transparency shows the grey padding as glass rather than as dither noise.
        material.surface_render_method = "BLENDED"


def tint(tree, color_socket):
    """``color_socket`` times the node "Tint" (a Mix node, Multiply, its B colour white): the swatch that
    shows under the material's Base Color recolours every cell of the role; returns the tinted output."""
    mix = tree.nodes.new("ShaderNodeMix")
    mix.name = mix.label = "Tint"
    mix.data_type, mix.blend_type = "RGBA", "MULTIPLY"
    mix.location = (150, -150)
    sockets = {s.identifier: s for s in mix.inputs}
    sockets["Factor_Float"].default_value = 1.0
    sockets["B_Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    tree.links.new(color_socket, sockets["A_Color"])
    return next(s for s in mix.outputs if s.identifier == "Result_Color")
