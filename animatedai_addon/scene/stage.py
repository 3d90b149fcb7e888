"""The stage around a clip: camera, lights, floor and world, framed to the timeline.

The stage is a *rig in unit space*: every stage object remembers where it sits
for a scene whose centre is the origin and whose bounding sphere has radius 1
(custom properties ``animatedai_unit_*``). :func:`frame_stage` scales that rig
to the clip (``Timeline.camera_target`` / ``Timeline.extent``). A template
(``blend_templates/<name>.blend``) is the same rig saved in a file, so editing
a template in Blender changes the look without touching code.

Re-running :func:`setup_stage` finds the stage objects by name and never makes
a second camera or light. An object is moved only while it is still where the
stage last put it (``animatedai_placed``): a camera or light the user moved
stays where the user put it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
import numpy as np

from . import compat, templates

STAGE_COLLECTION = "AnimatedAI Stage"
CAMERA = "AnimatedAI Camera"
CAMERA_TARGET = "AnimatedAI Camera Target"
FLOOR = "AnimatedAI Floor"
FLOOR_MATERIAL = "AnimatedAI floor"
WORLD = "AnimatedAI World"

UNIT_LOCATION = "animatedai_unit_location"    # location in the unit rig
UNIT_SIZE = "animatedai_unit_size"            # area light size / floor half-size in the unit rig
UNIT_SIZE_Y = "animatedai_unit_size_y"        # rectangle area light height in the unit rig (0: square)
UNIT_ENERGY = "animatedai_unit_energy"        # light power for a unit rig (scaled by radius**2)
PLACED = "animatedai_placed"                  # world location the stage last gave the object
PLACED_ROTATION = "animatedai_placed_rotation"  # and the camera's rotation
TEMPLATE_TAG = "animatedai_template"          # which template (or "none") the object came from
TAG = "animatedai"                            # on the stage's data (camera, lights, floor mesh, world)

#: Three-quarter view from above, in front and from the left (Animated AI's camera): the data flows along
#: -y (toward the camera), which then runs down and to the right across the frame, and the row of
#: waiting filters along +x rises to the upper right.
CAMERA_AZIMUTH_DEG = -45.0     # around z, from the -y axis (front): negative is from the left, as in the reference
CAMERA_ELEVATION_DEG = 24.0
CAMERA_LENS_MM = 50.0
FRAME_MARGIN = 1.05             # fraction of the tightest fit: a little air around everything
FLOOR_CLEARANCE = 1.0           # metres between the lowest cube and the floor (cubes float, as in the reference)
FLOOR_UNIT_SIZE = 40.0          # floor half-size in unit radii: reaches past the top of the frame


@dataclass(frozen=True)
class RigLight:
    """One area light of the unit rig."""

    name: str
    unit_location: tuple[float, float, float]
    unit_size: float            # edge of the square area light, in unit radii
    unit_energy: float          # watts when the rig's radius is 1
    unit_size_y: float = 0.0    # > 0: a rectangle this tall (strip lights), else a square
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    in_reflections: bool = True  # seen in glossy reflections (Cycles): the cubes' sheen; off for a light that glares
    #: "SUN": a sun shining from ``unit_location`` towards the centre, ``unit_energy`` its strength
    #: (W/m², not scaled with the clip) and ``unit_size`` its angle in degrees; it lights a floor evenly
    #: however far it reaches (the flat look's even backdrop), where area lights fade with distance.
    kind: str = "AREA"


#: The default rig (the studio look): a big soft key above the front left, a wide light overhead that
#: makes the cubes' top faces the lit ones, a low fill from the front right, and a long, low, bright
#: light in front on the right whose reflection runs along the cubes' rounded rims (the glossy
#: plastic's white edges; the floor in front of the clip is out of frame, so it shows nowhere else).
#: Nothing sits low behind or beside the clip: the glossy floor mirrors such a light as a pillar or a glaring patch,
#: and the cubes' top faces mirror it too (they go pale); the floor's brightness comes from the
#: world's light, bluish horizon instead.
DEFAULT_LIGHTS = (
    RigLight("AnimatedAI Key Light", (-1.2, -1.8, 3.0), 2.0, 110.0),
    RigLight("AnimatedAI Top Light", (0.2, 0.6, 3.6), 3.0, 70.0),
    RigLight("AnimatedAI Fill Light", (2.4, -2.2, 1.0), 2.0, 25.0),
    RigLight("AnimatedAI Rim Light", (2.2, -3.4, 0.35), 3.0, 120.0, unit_size_y=1.0),
)


# --- pure framing maths (numpy only) ---------------------------------------------

def camera_direction(azimuth_deg: float = CAMERA_AZIMUTH_DEG, elevation_deg: float = CAMERA_ELEVATION_DEG) -> np.ndarray:
    """Unit vector from the target towards the camera."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return np.array([math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el)])


def box_corners(center, extent) -> np.ndarray:
    """(8, 3) corners of an axis-aligned box."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    return np.asarray(center, float) + 0.5 * signs * np.asarray(extent, float)


def fit_camera_distance(direction, center, extent, lens_mm: float, sensor_mm: float, aspect: float,
                        margin: float = FRAME_MARGIN) -> float:
    """Smallest distance along ``direction`` from ``center`` at which the whole box is in frame.

    The camera looks at ``center``; ``aspect`` is width / height of the render. Blender's
    AUTO sensor fit puts ``sensor_mm`` along the longer side.
    """
    w = np.asarray(direction, float) / np.linalg.norm(direction)
    up = np.array([0.0, 0.0, 1.0])
    right = np.cross(-w, up)
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, -w)
    half_long = 0.5 * sensor_mm / lens_mm
    tan_x, tan_y = (half_long, half_long / aspect) if aspect >= 1 else (half_long * aspect, half_long)
    tan_x, tan_y = tan_x / margin, tan_y / margin
    offsets = box_corners(center, extent) - np.asarray(center, float)
    along = offsets @ w                   # towards the camera: these corners are nearer
    need = np.maximum(np.abs(offsets @ right) / tan_x, np.abs(offsets @ cam_up) / tan_y) + along
    return float(max(need.max(), 1e-3))


def stage_radius(extent) -> float:
    """Radius of the bounding sphere: the unit rig's scale."""
    return max(0.5 * float(np.linalg.norm(np.asarray(extent, float))), 1.0)


# --- Blender data ---------------------------------------------------------------------

def _stage_collection(scene) -> bpy.types.Collection:
    coll = bpy.data.collections.get(STAGE_COLLECTION)
    if coll is None:
        coll = bpy.data.collections.new(STAGE_COLLECTION)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    return coll


def _link(obj, coll) -> None:
    if obj.name not in coll.objects:
        coll.objects.link(obj)


def _node_tree(idblock):
    """The shader tree of a material or world (compat: 4.2 makes it only on ``use_nodes``)."""
    return compat.ensure_node_tree(idblock)


def _track_to(obj, target) -> None:
    con = next((c for c in obj.constraints if c.type == "TRACK_TO"), None)
    if con is None:
        con = obj.constraints.new("TRACK_TO")
        con.track_axis = "TRACK_NEGATIVE_Z"
        con.up_axis = "UP_Y"
    con.target = target


def _tag(obj, template_name: str, unit_location, unit_size: float = 0.0, unit_energy: float = 0.0) -> None:
    obj[TEMPLATE_TAG] = template_name
    obj[UNIT_LOCATION] = [float(v) for v in unit_location]
    obj[UNIT_SIZE] = float(unit_size)
    obj[UNIT_ENERGY] = float(unit_energy)


def make_camera_target(coll, template_name: str = "none"):
    """An empty at the clip's centre: the lights aim at it, depth of field focuses on it."""
    target = bpy.data.objects.new(CAMERA_TARGET, None)
    target.empty_display_type = "SPHERE"
    target.empty_display_size = 0.3
    _link(target, coll)
    _tag(target, template_name, (0.0, 0.0, 0.0))
    return target


def make_camera_rig(coll, template_name: str = "none", direction=None, target=None):
    """Camera and an empty at the clip's centre (the lights aim at it, depth of field focuses on it).

    The camera has no constraint: framing sets its rotation and location, and a user who
    moves or turns it keeps full control."""
    target = target or make_camera_target(coll, template_name)
    cam_data = bpy.data.cameras.new(CAMERA)
    cam_data.lens = CAMERA_LENS_MM
    cam_data.sensor_width = 36.0
    cam_data.clip_start = 0.1
    cam_data.clip_end = 2000.0
    cam_data.dof.use_dof = False            # optional: turn on for a shallow look
    cam_data.dof.focus_object = target
    cam_data.dof.aperture_fstop = 4.0
    camera = bpy.data.objects.new(CAMERA, cam_data)
    _link(camera, coll)
    d = camera_direction() if direction is None else np.asarray(direction, float)
    _tag(camera, template_name, d * 4.0)  # the unit location only gives the direction; distance is fitted
    return camera, target


def make_area_light(coll, light: RigLight, target, template_name: str = "none"):
    if light.kind == "SUN":
        return make_sun(coll, light, template_name)
    data = bpy.data.lights.new(light.name, "AREA")
    data.shape = "RECTANGLE" if light.unit_size_y > 0 else "SQUARE"
    data.color = light.color
    obj = bpy.data.objects.new(light.name, data)
    _link(obj, coll)
    _tag(obj, template_name, light.unit_location, light.unit_size, light.unit_energy)
    obj[UNIT_SIZE_Y] = float(light.unit_size_y)
    obj.visible_glossy = light.in_reflections
    _track_to(obj, target)
    return obj


def make_sun(coll, light: RigLight, template_name: str = "none"):
    """A sun along ``light.unit_location`` (towards the origin). It carries no unit-rig location:
    framing leaves it as it is (a sun's place does not matter, only its direction)."""
    from mathutils import Vector
    data = bpy.data.lights.new(light.name, "SUN")
    data.energy = float(light.unit_energy)
    data.angle = math.radians(light.unit_size)
    data.color = light.color
    obj = bpy.data.objects.new(light.name, data)
    _link(obj, coll)
    obj[TEMPLATE_TAG] = template_name
    obj.location = [float(v) for v in light.unit_location]
    obj.rotation_mode = "XYZ"
    obj.rotation_euler = Vector([-float(v) for v in light.unit_location]).to_track_quat("-Z", "Y").to_euler()
    obj.visible_glossy = light.in_reflections
    return obj


@dataclass(frozen=True)
class FloorLook:
    """The floor's material. The default: a light blue-grey, glossy, partly metallic floor that mirrors
    the cubes and the lights in soft, blurred reflections (the reference's look)."""

    material: str = FLOOR_MATERIAL
    color: tuple[float, float, float] = (0.6, 0.66, 0.77)
    roughness: float = 0.14
    metallic: float = 0.95
    specular: float = 0.5


@dataclass(frozen=True)
class WorldLook:
    """An even studio backdrop, no HDRI. With ``horizon`` set, the colour runs from ``horizon`` at
    the horizon to ``color`` overhead: the glossy floor then brightens into the distance. With
    ``camera_color`` set, the camera sees that colour as the background while everything else
    (lighting, reflections) still sees ``color`` (a light backdrop that does not wash out the cubes)."""

    name: str = WORLD
    color: tuple[float, float, float] = (0.035, 0.04, 0.05)
    strength: float = 1.0
    horizon: tuple[float, float, float] | None = (0.115, 0.12, 0.12)
    camera_color: tuple[float, float, float] | None = None


def _shader_into_output(tree, node_type: str, bl_idname: str, output_type: str):
    """The tree's node of ``node_type``, or a new one wired into its output (a user's tree is kept)."""
    node = next((n for n in tree.nodes if n.type == node_type), None)
    if node is None:
        node = tree.nodes.new(bl_idname)
        out = next(n for n in tree.nodes if n.type == output_type)
        tree.links.new(node.outputs[0], out.inputs[0])
    return node


def make_floor_material(look: FloorLook = FloorLook()):
    mat = bpy.data.materials.get(look.material) or bpy.data.materials.new(look.material)
    tree = _node_tree(mat)
    bsdf = _shader_into_output(tree, "BSDF_PRINCIPLED", "ShaderNodeBsdfPrincipled", "OUTPUT_MATERIAL")
    bsdf.inputs["Base Color"].default_value = (*look.color, 1.0)
    bsdf.inputs["Roughness"].default_value = look.roughness
    bsdf.inputs["Metallic"].default_value = look.metallic
    spec = bsdf.inputs.get("Specular IOR Level") or bsdf.inputs.get("Specular")
    spec.default_value = look.specular
    mat.diffuse_color = (*look.color, 1.0)       # Workbench and the viewport use these
    mat.roughness = look.roughness
    mat.metallic = look.metallic
    return mat


def make_floor(coll, material, template_name: str = "none"):
    mesh = bpy.data.meshes.new(FLOOR)
    mesh.from_pydata([(-1, -1, 0), (1, -1, 0), (1, 1, 0), (-1, 1, 0)], [], [(0, 1, 2, 3)])
    mesh.materials.append(material)
    obj = bpy.data.objects.new(FLOOR, mesh)
    _link(obj, coll)
    _tag(obj, template_name, (0.0, 0.0, 0.0), FLOOR_UNIT_SIZE)
    return obj


def make_world(look: WorldLook = WorldLook()):
    world = bpy.data.worlds.get(look.name) or bpy.data.worlds.new(look.name)
    tree = _node_tree(world)
    bg = _shader_into_output(tree, "BACKGROUND", "ShaderNodeBackground", "OUTPUT_WORLD")
    bg.inputs["Color"].default_value = (*look.color, 1.0)
    bg.inputs["Strength"].default_value = look.strength
    if not bg.inputs["Color"].is_linked:          # a world made before (or edited by the user) keeps its tree
        color = _horizon_gradient(tree, look) if look.horizon is not None else None
        if look.camera_color is not None:
            color = _camera_backdrop(tree, look, color)
        if color is not None:
            tree.links.new(color, bg.inputs["Color"])
    world.color = look.camera_color or look.color    # Workbench's world colour
    return world


def _horizon_gradient(tree, look: WorldLook):
    """Background colour from the view direction's height: ``horizon`` at 0, ``color`` straight up."""
    coords = tree.nodes.new("ShaderNodeTexCoord")
    split = tree.nodes.new("ShaderNodeSeparateXYZ")
    ramp = tree.nodes.new("ShaderNodeValToRGB")
    tree.links.new(coords.outputs["Generated"], split.inputs[0])     # the world's Generated is the view direction
    tree.links.new(split.outputs["Z"], ramp.inputs["Fac"])
    low, high = ramp.color_ramp.elements
    low.position, low.color = 0.0, (*look.horizon, 1.0)
    high.position, high.color = 1.0, (*look.color, 1.0)
    return ramp.outputs["Color"]


def _camera_backdrop(tree, look: WorldLook, lighting=None):
    """``camera_color`` for camera rays, the lighting colour (``lighting`` or ``color``) for all others."""
    path = tree.nodes.new("ShaderNodeLightPath")
    mix = tree.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.label = "Backdrop seen by the camera"
    tree.links.new(path.outputs["Is Camera Ray"], mix.inputs["Factor"])
    a, b = (s for s in mix.inputs if s.type == "RGBA")
    if lighting is not None:
        tree.links.new(lighting, a)
    else:
        a.default_value = (*look.color, 1.0)
    b.default_value = (*look.camera_color, 1.0)
    return next(s for s in mix.outputs if s.type == "RGBA")


def build_stage(scene, template_name: str = "none", lights=DEFAULT_LIGHTS, floor: FloorLook | None = FloorLook(),
                world: WorldLook | None = WorldLook(), camera: bool = True):
    """Make the stage objects that are missing (found by name); returns the world when one is asked for.

    ``template=None`` uses the defaults; ``scripts/build_templates.py`` builds the templates with
    their own lights, floor and world; after appending a template, only an essential piece a
    hand-edited template lacks (camera rig, floor) is made. ``camera=False`` makes no camera
    (the camera target the lights aim at is made all the same).
    """
    coll = _stage_collection(scene)
    target = bpy.data.objects.get(CAMERA_TARGET)
    if target is None:
        target = make_camera_target(coll, template_name)
    if camera and bpy.data.objects.get(CAMERA) is None:
        make_camera_rig(coll, template_name, target=target)
    for light in lights:
        if bpy.data.objects.get(light.name) is None:
            make_area_light(coll, light, target, template_name)
    if floor is not None and bpy.data.objects.get(FLOOR) is None:
        make_floor(coll, make_floor_material(floor), template_name)
    return make_world(world) if world is not None else None


# --- framing ------------------------------------------------------------------------

def _moved_by_user(obj) -> bool:
    placed, turned = obj.get(PLACED), obj.get(PLACED_ROTATION)
    if placed is None:
        return False
    moved = not np.allclose(np.asarray(obj.location, float), np.asarray(placed, float), atol=1e-4)
    return moved or (turned is not None and not np.allclose(
        np.asarray(obj.rotation_euler, float), np.asarray(turned, float), atol=1e-5))


def _place(obj, location) -> None:
    obj.location = [float(v) for v in location]
    obj[PLACED] = [float(v) for v in location]


def stage_objects(scene=None) -> list:
    """Every object the stage manages (tagged with a unit location)."""
    coll = bpy.data.collections.get(STAGE_COLLECTION)
    if coll is None:
        return []
    return [o for o in coll.objects if UNIT_LOCATION in o]


def frame_stage(scene, points) -> None:
    """Scale the unit rig to a clip whose cubes span ``points`` ((N, 3) world corners).

    The camera keeps its direction and is moved so that every point is in frame with a
    little air around (Blender's own fit, ``camera_fit_coords``, through a slightly longer
    lens). Objects the user moved since the stage last placed them are left alone; lights
    track the camera target, so they keep aiming at the clip.
    """
    points = np.asarray(points, float).reshape(-1, 3)
    low, high = points.min(axis=0), points.max(axis=0)
    center, extent = (low + high) / 2, np.maximum(high - low, 1e-3)
    radius = stage_radius(extent)
    floor_z = low[2] - FLOOR_CLEARANCE
    objects = stage_objects(scene)
    for obj in objects:
        if _moved_by_user(obj) or obj.type == "CAMERA":
            continue
        unit = np.asarray(obj[UNIT_LOCATION], float)
        if obj.name == FLOOR or (obj.type == "MESH" and obj.get(UNIT_SIZE, 0.0) >= 1.0):
            _place(obj, (center[0], center[1], floor_z))
            half = obj.get(UNIT_SIZE, FLOOR_UNIT_SIZE) * radius
            obj.scale = (half, half, 1.0)
        elif obj.type == "LIGHT":
            location = center + unit * radius
            location[2] = max(location[2], floor_z + 0.5)   # never under the floor
            _place(obj, location)
            if obj.data.type == "AREA":
                obj.data.size = max(obj.get(UNIT_SIZE, 1.0) * radius, 0.1)
                obj.data.size_y = max(obj.get(UNIT_SIZE_Y, 0.0) * radius, 0.1)
            obj.data.energy = obj.get(UNIT_ENERGY, obj.data.energy) * radius * radius
        else:  # the camera target and any other empty of the rig
            _place(obj, center + unit * radius)
    for obj in objects:
        if obj.type == "CAMERA" and not _moved_by_user(obj):
            fit_camera(scene, obj, points, center)


def fit_camera(scene, camera, points: np.ndarray, center: np.ndarray) -> None:
    """Turn the camera along its unit direction and move it until ``points`` fill the frame."""
    from mathutils import Vector
    # The direction is part of the composition (the layout is made for it), whatever a template's
    # camera was saved with; a template brings the lens and depth of field.
    direction = camera_direction()
    camera[UNIT_LOCATION] = [float(v) for v in direction * 4.0]
    for con in list(camera.constraints):      # templates made before the camera was free
        if con.type == "TRACK_TO":
            camera.constraints.remove(con)
    camera.rotation_mode = "XYZ"
    camera.rotation_euler = Vector(-direction).to_track_quat("-Z", "Y").to_euler()
    cam = camera.data
    distance = fit_camera_distance(direction, center, points.max(axis=0) - points.min(axis=0),
                                   cam.lens, cam.sensor_width, _aspect(scene))
    camera.location = [float(v) for v in center + direction * distance]   # a good start for the exact fit
    view_layer = scene.view_layers[0]
    lens = cam.lens
    cam.lens = lens * FRAME_MARGIN         # fit a narrower view: the real one then has air around
    view_layer.update()     # the fit reads the evaluated camera: its rotation and the wider lens
    try:
        location, _ = camera.camera_fit_coords(view_layer.depsgraph, [float(v) for v in points.ravel()])
    finally:
        cam.lens = lens
    _place(camera, location)
    view_layer.update()
    camera[PLACED_ROTATION] = [float(v) for v in camera.rotation_euler]
    distance = float(np.linalg.norm(np.asarray(location) - center))
    cam.clip_end = max(cam.clip_end, distance * 20.0)
    cam.clip_start = min(max(distance * 0.01, 0.05), 1.0)


def project_to_frame(scene, points, camera=None) -> np.ndarray:
    """(N, 2) where world ``points`` land in the scene camera's frame: (0, 0) bottom left, (1, 1) top right
    (as ``bpy_extras.object_utils.world_to_camera_view``, for many points at once)."""
    camera = camera or scene.camera
    depsgraph = bpy.context.evaluated_depsgraph_get()
    render = scene.render
    projection = np.array(camera.calc_matrix_camera(depsgraph, x=render.resolution_x, y=render.resolution_y,
                                                    scale_x=render.pixel_aspect_x, scale_y=render.pixel_aspect_y))
    view = np.linalg.inv(np.array(camera.evaluated_get(depsgraph).matrix_world))
    points = np.asarray(points, float).reshape(-1, 3)
    clip = np.c_[points, np.ones(len(points))] @ (projection @ view).T
    return (clip[:, :2] / clip[:, 3:4] + 1.0) / 2.0


def _aspect(scene) -> float:
    render = scene.render
    return (render.resolution_x * render.pixel_aspect_x) / max(render.resolution_y * render.pixel_aspect_y, 1e-6)


def framing_points(timeline, pad: float = 0.5) -> np.ndarray:
    """Corners of everywhere the clip's cubes go, (N, 3): per tensor, the box around its cells at rest
    and at the end of each of their moves (moves are straight, so their ends bound them), at every
    place its empty is keyed at (a slide runs straight between two keys), and the wire boxes. ``pad``:
    metres added around each cube centre (half a cube and a little air)."""
    tensors = [t for t in timeline.tensors if len(t)]
    if not tensors:
        return box_corners(timeline.camera_target, timeline.extent)
    corners = []
    for t in tensors:
        local = np.asarray(t.position, float)
        if len(t.move_to):
            local = np.vstack([local, np.asarray(t.move_to, float)])
        origins = np.vstack([np.asarray(t.origin, float)[None], np.asarray(t.key_locations, float).reshape(-1, 3)])
        if len(t.move_to):      # cells that travel (a shuffle): the cloud of their places, not its bounding box
            block = (_extreme_points(local)[:, None, :] + pad * _SIGNS[None, :, :]).reshape(-1, 3)
        else:
            low, high = local.min(axis=0) - pad, local.max(axis=0) + pad
            block = box_corners((low + high) / 2, high - low)
        corners.append((origins[:, None, :] + block[None, :, :]).reshape(-1, 3))
    direction = camera_direction()
    corners += [text.corners(direction) for text in getattr(timeline, "texts", ())   # labels stay in frame
                if text.kind != "closeup"]                  # (the close-up's board has its own camera move)
    for box in timeline.boxes:
        centers = np.asarray(box.key_centers, float).reshape(-1, 3)
        if len(centers):
            low = centers.min(axis=0) - np.asarray(box.size, float) / 2
            high = centers.max(axis=0) + np.asarray(box.size, float) / 2
            corners.append(box_corners((low + high) / 2, high - low))
    return np.vstack([c.reshape(-1, 3) for c in corners])


_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)


def _extreme_points(points: np.ndarray, limit: int = 4096, directions: int = 256) -> np.ndarray:
    """The distinct points of a cloud, or for a big cloud those extreme along many directions (its
    convex hull's outermost vertices, which are all a camera fit needs)."""
    points = np.unique(np.round(np.asarray(points, float), 5), axis=0)
    if len(points) <= limit:
        return points
    k = np.arange(directions) + 0.5
    z = 1 - 2 * k / directions
    ring = np.sqrt(1 - z * z)
    turn = np.pi * (3 - np.sqrt(5)) * k
    normals = np.stack([ring * np.cos(turn), ring * np.sin(turn), z], axis=1)
    reach = points @ normals.T
    return points[np.unique(np.r_[reach.argmax(axis=0), reach.argmin(axis=0)])]


def setup_stage(scene, timeline, template=None, *, use_camera: bool = True, use_world: bool = True,
                look: bool = True, offset=(0.0, 0.0, 0.0)) -> bpy.types.Object | None:
    """Camera, lights, floor and world for ``timeline``; returns the scene's camera.

    ``template``: None (the plain stage built in code) or a name in ``templates.TEMPLATES``.
    Unknown names raise ``SpecError("template", …)`` before anything changes.
    ``use_camera``/``use_world``: whether the stage's camera / world become the scene's (when
    False, none is added: the scene keeps its own); ``look``: whether a template's render
    settings are copied into the scene; ``offset``: where the clip's root stands (framing).
    """
    name = templates.check_template(template)
    _drop_other_template(name)
    if name == "none":
        world = build_stage(scene, name, world=WorldLook() if use_world else None, camera=use_camera)
    else:
        world = templates.append_template(scene, name, _stage_collection(scene), camera=use_camera,
                                          world=use_world, look=look)
        build_stage(scene, name, lights=(), world=None, camera=use_camera)
    if use_camera:
        scene.camera = bpy.data.objects[CAMERA]
    if use_world and world is not None:
        scene.world = world
        world[TAG] = "world"
    for obj in stage_objects(scene):
        data = getattr(obj, "data", None)
        if data is not None:
            data[TAG] = "stage"
            for material in getattr(data, "materials", ()):
                if material is not None and material.get(TAG) is None:
                    material[TAG] = "stage"
    frame_stage(scene, framing_points(timeline) + np.asarray(offset, float))
    return scene.camera


def remove_stage(scene) -> None:
    """Take the stage out of ``scene``; once no scene shows it, remove what the add-on made for it (objects,
    their data, the floor material, the world), keeping what a user put into the stage collection."""
    coll = bpy.data.collections.get(STAGE_COLLECTION)
    if coll is not None and coll.name in scene.collection.children:
        scene.collection.children.unlink(coll)
    if scene.camera is not None and scene.camera.get(TEMPLATE_TAG) is not None:
        scene.camera = None
    if scene.world is not None and scene.world.get(TAG) is not None:
        scene.world = None
    if coll is not None and not any(coll in s.collection.children_recursive for s in bpy.data.scenes):
        ours = [o for o in coll.objects if o.get(TEMPLATE_TAG) is not None]
        for obj in coll.objects:
            if obj.get(TEMPLATE_TAG) is None:
                scene.collection.objects.link(obj)
        data = [o.data for o in ours if o.data is not None]
        materials = [m for d in data for m in getattr(d, "materials", ()) if m is not None and m.get(TAG)]
        bpy.data.batch_remove(ours + [coll])
        orphans = [d for d in data if d.users == 0]
        bpy.data.batch_remove(orphans)
        bpy.data.batch_remove([m for m in set(materials) if m.users == 0])
    worlds = [w for w in bpy.data.worlds if w.get(TAG) is not None and w.users == 0]
    if worlds:
        bpy.data.batch_remove(worlds)


def _drop_other_template(name: str) -> None:
    """Switching template replaces the stage objects that came from another template."""
    for obj in list(bpy.data.objects):
        tag = obj.get(TEMPLATE_TAG)
        if tag is not None and tag != name:
            data = obj.data
            bpy.data.objects.remove(obj, do_unlink=True)
            if data is not None and data.users == 0:
                _remove_data(data)


def _remove_data(data) -> None:
    for kind, collection in ((bpy.types.Camera, bpy.data.cameras), (bpy.types.Light, bpy.data.lights),
                             (bpy.types.Mesh, bpy.data.meshes)):
        if isinstance(data, kind):
            collection.remove(data)
            return
