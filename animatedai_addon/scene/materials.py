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

#: Per role: the viewport colour (Workbench "material" colour; the cells' own colours show with
#: OBJECT colours) and the surface. The cells are glossy plastic, as in the Animated AI frames: a
#: low roughness and a clear coat, so the faces toward a light and the rounded rims catch it while
#: the faces away from the lights keep their colour. The wire boxes are satin tubes (no emission:
#: the outline is dark, the window light grey, both from the box's colour).
_LOOKS = {
    "input": dict(viewport=(0.02, 0.35, 0.38, 1.0), roughness=0.2, alpha=1.0, emission=0.0, coat=0.3,
                  coat_roughness=0.03),
    "filter": dict(viewport=(0.55, 0.02, 0.02, 1.0), roughness=0.2, alpha=1.0, emission=0.0, coat=0.3,
                   coat_roughness=0.03),
    "output": dict(viewport=(0.55, 0.02, 0.02, 1.0), roughness=0.2, alpha=1.0, emission=0.0, coat=0.3,
                   coat_roughness=0.03),
    "padding": dict(viewport=(0.32, 0.32, 0.34, 0.35), roughness=0.5, alpha=0.35, emission=0.0),
    "box": dict(viewport=(0.02, 0.02, 0.02, 1.0), roughness=0.35, alpha=1.0, emission=0.0),
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


def build_material(material, viewport, roughness: float, alpha: float, emission: float, coat: float = 0.0,
                   coat_roughness: float = 0.05) -> None:
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
    if coat > 0 and "Coat Weight" in bsdf.inputs:      # 4.0+: the clear coat of glossy plastic
        bsdf.inputs["Coat Weight"].default_value = coat
        bsdf.inputs["Coat Roughness"].default_value = coat_roughness
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
