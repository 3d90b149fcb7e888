"""Geometry Nodes groups of the instanced mode, built by code.

One function per node group. Each group is found by name and reused across
clips; it is rebuilt in place (same data-block, so modifiers keep pointing at
it) when its ``animatedai_version`` tag differs from :data:`NODES_VERSION`.

The main group, ``AnimatedAI cells (moves M, highlights H, windows W)``, reads the point attributes written by
:mod:`.instanced` and decides every frame from the timeline's frame, ``(scene frame - Start frame) * Speed +
Timeline start`` (the clip's retiming, see ``api.retime``):

* a point is shown while ``appear <= frame < disappear``;
* it pops in: scale = ``Cube scale * ease(clamp((frame - appear) / Pop frames))``;
* it travels: position = rest + sum over move slots k of ``ease(progress_k) * move{k}_offset``
  (a missing slot reads as offset 0, so tracks only carry the slots they use);
* it is lit while inside one of the window boxes (Object Info of the box,
  relative to this object: location = centre, scale = size, scale 0 = hidden)
  and on that window's lattice of read cells (dilated windows skip cells)
  or while ``hl{k}_start <= frame < hl{k}_end`` for some highlight slot k;
* the cube (a mesh object) is instanced on the shown points with the material,
  and the final colour (``highlight_color`` when lit, else ``color``) is stored
  as the instance attribute ``color`` that the shared materials read.

The ``Easing`` input (pops and travels, as in the engine) is an index into
``engine.timeline.EASINGS``: 0 linear, 1 ease (smoothstep), 2 constant (jumps
when the interval ends, as Blender's constant keyframes do).
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from ..engine.timeline import EASINGS
from .keys import MAX_HIGHLIGHTS, MAX_MOVES, MAX_WINDOWS  # noqa: F401  (slots per point, decided with the keys)

NODES_VERSION = 4
VERSION_KEY = "animatedai_version"
#: Every data-block the add-on makes carries this ID property (``api.clear`` finds them by it, never by name).
TAG = "animatedai"

CELLS_GROUP = "AnimatedAI cells"
EASE_GROUP = "AnimatedAI ease"
INSIDE_BOX_GROUP = "AnimatedAI inside box"
TIME_WINDOW_GROUP = "AnimatedAI time window"

INSTANCE_SCALE = "instance_scale"   # working attribute of the cells group, removed again


def point_attribute_names(moves: int, highlights: int) -> list[str]:
    """Attributes only the node group needs: removed before instancing, so instances carry only "color"."""
    names = ["appear", "disappear", "highlight_color", "value", "padding", "cell"]
    for k in range(moves):
        names += [f"move{k}_start", f"move{k}_end", f"move{k}_offset"]
    for k in range(highlights):
        names += [f"hl{k}_start", f"hl{k}_end"]
    return names


def easing_code(easing: str) -> int:
    return EASINGS.index(easing)


# --------------------------------------------------------------------------- building helpers


class _Tree:
    """Small wrapper that keeps node-tree building code short: every call returns an output socket."""

    def __init__(self, tree: bpy.types.NodeTree):
        self.tree = tree
        self.column = 0

    def node(self, type_name: str, **props) -> bpy.types.Node:
        node = self.tree.nodes.new(type_name)
        for key, value in props.items():
            setattr(node, key, value)
        # a rough left-to-right layout so the tree is readable when opened
        node.location = (self.column * 40.0, -(len(self.tree.nodes) % 25) * 60.0)
        self.column += 1
        return node

    def link(self, source, target) -> None:
        """Connect a socket to a socket, or set the target's default value from a plain value."""
        if isinstance(source, bpy.types.NodeSocket):
            self.tree.links.new(source, target)
        else:
            target.default_value = source

    @staticmethod
    def enabled_input(node, name: str, index: int = 0):
        """The index-th enabled input called ``name`` (nodes like Compare have one per data type)."""
        sockets = [s for s in node.inputs if s.name == name and s.enabled]
        return sockets[index]

    @staticmethod
    def enabled_output(node, name: str):
        return next(s for s in node.outputs if s.name == name and s.enabled)

    def math(self, operation: str, a, b=None, c=None):
        node = self.node("ShaderNodeMath", operation=operation)
        for socket, value in zip(node.inputs, (a, b, c)):
            if value is not None:
                self.link(value, socket)
        return node.outputs[0]

    def vector_math(self, operation: str, a, b=None, *, scale=None):
        node = self.node("ShaderNodeVectorMath", operation=operation)
        self.link(a, node.inputs[0])
        if b is not None:
            self.link(b, node.inputs[1])
        if scale is not None:
            self.link(scale, node.inputs["Scale"])
        return node.outputs["Value" if operation in ("DOT_PRODUCT", "LENGTH", "DISTANCE") else "Vector"]

    def compare(self, operation: str, a, b, data_type: str = "FLOAT"):
        node = self.node("FunctionNodeCompare", data_type=data_type, operation=operation)
        self.link(a, self.enabled_input(node, "A"))
        self.link(b, self.enabled_input(node, "B"))
        return node.outputs["Result"]

    def boolean(self, operation: str, a, b=None):
        node = self.node("FunctionNodeBooleanMath", operation=operation)
        self.link(a, node.inputs[0])
        if b is not None:
            self.link(b, node.inputs[1])
        return node.outputs[0]

    def largest_component(self, vector):
        xyz = self.node("ShaderNodeSeparateXYZ")
        self.link(vector, xyz.inputs[0])
        return self.math("MAXIMUM", self.math("MAXIMUM", xyz.outputs["X"], xyz.outputs["Y"]), xyz.outputs["Z"])

    def any_of(self, booleans):
        """OR of a non-empty list of boolean sockets."""
        result = booleans[0]
        for value in booleans[1:]:
            result = self.boolean("OR", result, value)
        return result

    def attribute(self, name: str, data_type: str = "FLOAT"):
        node = self.node("GeometryNodeInputNamedAttribute", data_type=data_type)
        node.inputs["Name"].default_value = name
        return self.enabled_output(node, "Attribute")

    def switch(self, input_type: str, condition, if_false, if_true):
        node = self.node("GeometryNodeSwitch", input_type=input_type)
        self.link(condition, node.inputs["Switch"])
        self.link(if_false, self.enabled_input(node, "False"))
        self.link(if_true, self.enabled_input(node, "True"))
        return node.outputs[0]

    def store(self, geometry, name: str, data_type: str, value, domain: str = "POINT"):
        node = self.node("GeometryNodeStoreNamedAttribute", data_type=data_type, domain=domain)
        node.inputs["Name"].default_value = name
        self.link(geometry, node.inputs["Geometry"])
        self.link(value, self.enabled_input(node, "Value"))
        return node.outputs["Geometry"]

    def remove_attribute(self, geometry, name: str):
        node = self.node("GeometryNodeRemoveAttribute")
        node.inputs["Name"].default_value = name
        self.link(geometry, node.inputs["Geometry"])
        return node.outputs["Geometry"]

    def group(self, group_tree, **inputs):
        node = self.node("GeometryNodeGroup")
        node.node_tree = group_tree
        for name, value in inputs.items():
            self.link(value, node.inputs[name.replace("_", " ").capitalize()])
        return node


@dataclass(frozen=True)
class Socket:
    """One interface socket of a node group."""

    name: str
    in_out: str                 # "INPUT" | "OUTPUT"
    socket_type: str            # "NodeSocketFloat", ...
    default: object = None
    min_value: float | None = None


def _group_users(tree) -> list:
    return [modifier for obj in bpy.data.objects for modifier in obj.modifiers
            if modifier.type == "NODES" and modifier.node_group == tree]


def _interface_matches(tree, sockets: list[Socket]) -> bool:
    items = [item for item in tree.interface.items_tree if item.item_type == "SOCKET"]
    have = sorted((item.name, item.in_out, item.socket_type) for item in items)
    return have == sorted((s.name, s.in_out, s.socket_type) for s in sockets)


def _set_interface(tree, sockets: list[Socket]) -> None:
    """Make the group's interface ``sockets``, keeping the values modifiers gave to inputs of the same name."""
    if _interface_matches(tree, sockets):
        return
    kept = [(modifier, {name: modifier[key] for name, key in input_identifiers(tree).items() if key in modifier})
            for modifier in _group_users(tree)]
    tree.interface.clear()
    for socket in sockets:
        item = tree.interface.new_socket(socket.name, in_out=socket.in_out, socket_type=socket.socket_type)
        if socket.default is not None:
            item.default_value = socket.default
        if socket.min_value is not None:
            item.min_value = socket.min_value
    identifiers = input_identifiers(tree)
    for modifier, values in kept:
        for name, value in values.items():
            if name in identifiers:
                modifier[identifiers[name]] = value


def _fresh_group(name: str, sockets: list[Socket]) -> tuple[bpy.types.NodeTree, bool]:
    """The group called ``name`` with this interface; emptied when its version tag is stale.

    Returns (tree, needs_building). A stale group is rebuilt in place: the same
    data-block, and inputs keep their identifiers (and modifiers their values)
    when the interface is unchanged.
    """
    tree = bpy.data.node_groups.get(name)
    if tree is not None and tree.bl_idname == "GeometryNodeTree" and tree.get(VERSION_KEY) == NODES_VERSION:
        return tree, False
    if tree is None or tree.bl_idname != "GeometryNodeTree":
        tree = bpy.data.node_groups.new(name, "GeometryNodeTree")
    tree.nodes.clear()
    _set_interface(tree, sockets)
    return tree, True


def _finish(tree: bpy.types.NodeTree) -> bpy.types.NodeTree:
    tree[VERSION_KEY] = NODES_VERSION
    tree[TAG] = "nodes"
    return tree


def _io(tree):
    """(group input node, group output node)."""
    return tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")


# --------------------------------------------------------------------------- the groups


def ease_group() -> bpy.types.NodeTree:
    """``AnimatedAI ease``: Progress (any float) and Easing code -> eased value in [0, 1]."""
    tree, build = _fresh_group(EASE_GROUP, [
        Socket("Progress", "INPUT", "NodeSocketFloat"),
        Socket("Easing", "INPUT", "NodeSocketInt", default=easing_code("ease"), min_value=0),
        Socket("Eased", "OUTPUT", "NodeSocketFloat"),
    ])
    if not build:
        return tree
    b = _Tree(tree)
    group_in, group_out = _io(tree)
    t = b.math("MINIMUM", b.math("MAXIMUM", group_in.outputs["Progress"], 0.0), 1.0)
    # smoothstep 3t^2 - 2t^3 = t*t*(3 - 2t): what a Bezier key pair with flat handles evaluates to
    smooth = b.math("MULTIPLY", b.math("MULTIPLY", t, t), b.math("MULTIPLY_ADD", t, -2.0, 3.0))
    # constant: the value jumps when the move is over, like Blender's CONSTANT keyframes
    constant = b.math("GREATER_THAN", t, 0.9999999)
    switch = b.node("GeometryNodeIndexSwitch", data_type="FLOAT")
    while len(switch.index_switch_items) < len(EASINGS):
        switch.index_switch_items.new()
    b.link(group_in.outputs["Easing"], switch.inputs["Index"])
    choices = {"linear": t, "ease": smooth, "constant": constant}
    item_inputs = [s for s in switch.inputs if s.name not in ("Index", "")]
    for easing, socket in zip(EASINGS, item_inputs):
        b.link(choices[easing], socket)
    b.link(switch.outputs[0], group_out.inputs["Eased"])
    return _finish(tree)


def inside_box_group() -> bpy.types.NodeTree:
    """``AnimatedAI inside box``: is each point strictly inside the box object (its scale = its size),
    and on the box's lattice of read cells?

    The box is read relative to the modified object, so the tensor's empty may
    move. A hidden box has scale 0, and nothing is strictly inside it. Box
    rotation is not supported (the timeline never rotates boxes). A dilated
    window reads every d-th cell only: ``Spacing`` (metres, per axis; 0 = every
    cell) and ``Phase`` (0 or 0.5: where the lattice sits against the box
    centre) select them: ``(position - centre) / spacing - phase`` is a whole number.
    """
    tree, build = _fresh_group(INSIDE_BOX_GROUP, [
        Socket("Position", "INPUT", "NodeSocketVector"),
        Socket("Box", "INPUT", "NodeSocketObject"),
        Socket("Spacing", "INPUT", "NodeSocketVector"),
        Socket("Phase", "INPUT", "NodeSocketVector"),
        Socket("Inside", "OUTPUT", "NodeSocketBool"),
    ])
    if not build:
        return tree
    b = _Tree(tree)
    group_in, group_out = _io(tree)
    info = b.node("GeometryNodeObjectInfo", transform_space="RELATIVE")
    b.link(group_in.outputs["Box"], info.inputs["Object"])
    offset = b.vector_math("SUBTRACT", group_in.outputs["Position"], info.outputs["Location"])
    half_size = b.vector_math("SCALE", info.outputs["Scale"], scale=0.5)
    # inside = max over axes of (|d| - half) < 0
    margin = b.vector_math("SUBTRACT", b.vector_math("ABSOLUTE", offset), half_size)
    # on the lattice: u = offset / spacing - phase within 0.25 of a whole number (x / 0 is 0 in geometry nodes)
    u = b.vector_math("SUBTRACT", b.vector_math("DIVIDE", offset, group_in.outputs["Spacing"]),
                      group_in.outputs["Phase"])
    nearest = b.vector_math("FLOOR", b.vector_math("ADD", u, (0.5, 0.5, 0.5)))
    lattice = b.vector_math("SUBTRACT", b.vector_math("ABSOLUTE", b.vector_math("SUBTRACT", u, nearest)),
                            (0.25, 0.25, 0.25))
    worst = b.math("MAXIMUM", b.largest_component(margin), b.largest_component(lattice))
    b.link(b.compare("LESS_THAN", worst, 0.0), group_out.inputs["Inside"])
    return _finish(tree)


def time_window_group() -> bpy.types.NodeTree:
    """``AnimatedAI time window``: Start <= Frame < End (half-open, like the timeline's intervals)."""
    tree, build = _fresh_group(TIME_WINDOW_GROUP, [
        Socket("Frame", "INPUT", "NodeSocketFloat"),
        Socket("Start", "INPUT", "NodeSocketFloat"),
        Socket("End", "INPUT", "NodeSocketFloat"),
        Socket("Inside", "OUTPUT", "NodeSocketBool"),
    ])
    if not build:
        return tree
    b = _Tree(tree)
    group_in, group_out = _io(tree)
    frame = group_in.outputs["Frame"]
    started = b.compare("GREATER_EQUAL", frame, group_in.outputs["Start"])
    not_ended = b.compare("LESS_THAN", frame, group_in.outputs["End"])
    b.link(b.boolean("AND", started, not_ended), group_out.inputs["Inside"])
    return _finish(tree)


def cells_group_name(moves: int, highlights: int, windows: int) -> str:
    return f"{CELLS_GROUP} (moves {moves}, highlights {highlights}, windows {windows})"


def cells_group(moves: int = 0, highlights: int = 0, windows: int = 0) -> bpy.types.NodeTree:
    """``AnimatedAI cells (...)``: the whole per-frame behaviour of an instanced tensor (see module docstring).

    One variant per number of move slots, highlight slots and window boxes, so
    that a tensor only pays (in node evaluation and in warnings about missing
    attributes) for what it uses.
    """
    for what, count, limit in (("moves", moves, MAX_MOVES), ("highlights", highlights, MAX_HIGHLIGHTS),
                               ("windows", windows, MAX_WINDOWS)):
        if not 0 <= count <= limit:
            raise ValueError(f"{what}={count}: at most {limit}")
    ease = ease_group()
    inside_box = inside_box_group()
    time_window = time_window_group()
    sockets = [
        Socket("Geometry", "INPUT", "NodeSocketGeometry"),
        Socket("Cube", "INPUT", "NodeSocketObject"),
        Socket("Material", "INPUT", "NodeSocketMaterial"),
        Socket("Cube scale", "INPUT", "NodeSocketFloat", default=1.0, min_value=0.0),
        Socket("Pop frames", "INPUT", "NodeSocketFloat", default=3.0, min_value=0.0),
        Socket("Easing", "INPUT", "NodeSocketInt", default=easing_code("ease"), min_value=0),
        # retiming: the timeline's frame is (scene frame - Start frame) * Speed + Timeline start
        Socket("Start frame", "INPUT", "NodeSocketFloat", default=1.0),
        Socket("Speed", "INPUT", "NodeSocketFloat", default=1.0, min_value=1e-6),
        Socket("Timeline start", "INPUT", "NodeSocketFloat", default=1.0),
        *(socket for w in range(windows) for socket in (
            Socket(f"Window {w + 1}", "INPUT", "NodeSocketObject"),
            Socket(f"Window {w + 1} spacing", "INPUT", "NodeSocketVector"),
            Socket(f"Window {w + 1} phase", "INPUT", "NodeSocketVector"))),
        Socket("Geometry", "OUTPUT", "NodeSocketGeometry"),
    ]
    tree, build = _fresh_group(cells_group_name(moves, highlights, windows), sockets)
    if not build:
        return tree

    b = _Tree(tree)
    group_in, group_out = _io(tree)
    scene_frame = b.node("GeometryNodeInputSceneTime").outputs["Frame"]
    frame = b.math("ADD", b.math("MULTIPLY", b.math("SUBTRACT", scene_frame, group_in.outputs["Start frame"]),
                                 group_in.outputs["Speed"]), group_in.outputs["Timeline start"])

    # travels: each move slot adds its offset, eased over [start, end]
    offset = None
    for k in range(moves):
        start = b.attribute(f"move{k}_start")
        duration = b.math("MAXIMUM", b.math("SUBTRACT", b.attribute(f"move{k}_end"), start), 1e-6)
        progress = b.math("DIVIDE", b.math("SUBTRACT", frame, start), duration)
        eased = b.group(ease, progress=progress, easing=group_in.outputs["Easing"]).outputs[0]
        step = b.vector_math("SCALE", b.attribute(f"move{k}_offset", "FLOAT_VECTOR"), scale=eased)
        offset = step if offset is None else b.vector_math("ADD", offset, step)
    geometry = group_in.outputs["Geometry"]
    if offset is not None:
        moved = b.node("GeometryNodeSetPosition")
        b.link(geometry, moved.inputs["Geometry"])
        b.link(offset, moved.inputs["Offset"])
        geometry = moved.outputs["Geometry"]

    # lit: inside a window box, or inside one of the point's own highlight intervals (after the travel)
    position = b.node("GeometryNodeInputPosition").outputs[0]
    lit_by_box = [b.group(inside_box, position=position, box=group_in.outputs[f"Window {w + 1}"],
                          spacing=group_in.outputs[f"Window {w + 1} spacing"],
                          phase=group_in.outputs[f"Window {w + 1} phase"]).outputs[0]
                  for w in range(windows)]
    lit_by_time = [b.group(time_window, frame=frame, start=b.attribute(f"hl{k}_start"),
                           end=b.attribute(f"hl{k}_end")).outputs[0] for k in range(highlights)]
    color = b.attribute("color", "FLOAT_COLOR")
    if lit_by_box or lit_by_time:
        color = b.switch("RGBA", b.any_of(lit_by_box + lit_by_time), color,
                         b.attribute("highlight_color", "FLOAT_COLOR"))
        geometry = b.store(geometry, "color", "FLOAT_COLOR", color)

    # pop-in: eased over Pop frames from appear (full size at once when Pop frames is 0)
    appear = b.attribute("appear")
    pop_frames = group_in.outputs["Pop frames"]
    pop_progress = b.switch("FLOAT", b.compare("GREATER_THAN", pop_frames, 0.0), 1.0,
                            b.math("DIVIDE", b.math("SUBTRACT", frame, appear), pop_frames))
    pop = b.group(ease, progress=pop_progress, easing=group_in.outputs["Easing"]).outputs[0]
    geometry = b.store(geometry, INSTANCE_SCALE, "FLOAT", b.math("MULTIPLY", pop, group_in.outputs["Cube scale"]))

    # shown while appear <= frame < disappear: drop the other points
    visible = b.group(time_window, frame=frame, start=appear, end=b.attribute("disappear")).outputs[0]
    shown = b.node("GeometryNodeDeleteGeometry", domain="POINT")
    b.link(geometry, shown.inputs["Geometry"])
    b.link(b.boolean("NOT", visible), shown.inputs["Selection"])
    geometry = shown.outputs["Geometry"]

    # fields are evaluated where they are used, so this comes after every attribute read:
    # the instances then carry only "color" and the scale
    for name in point_attribute_names(moves, highlights):
        geometry = b.remove_attribute(geometry, name)

    cube = b.node("GeometryNodeObjectInfo", transform_space="ORIGINAL")
    b.link(group_in.outputs["Cube"], cube.inputs["Object"])
    material = b.node("GeometryNodeSetMaterial")
    b.link(cube.outputs["Geometry"], material.inputs["Geometry"])
    b.link(group_in.outputs["Material"], material.inputs["Material"])

    # the point's "color" propagates to its instance: the materials read it with Attribute(INSTANCER)
    instances = b.node("GeometryNodeInstanceOnPoints")
    b.link(geometry, instances.inputs["Points"])
    b.link(material.outputs["Geometry"], instances.inputs["Instance"])
    b.link(b.attribute(INSTANCE_SCALE), instances.inputs["Scale"])
    geometry = b.remove_attribute(instances.outputs["Instances"], INSTANCE_SCALE)
    b.link(geometry, group_out.inputs["Geometry"])
    return _finish(tree)


def input_identifiers(tree: bpy.types.NodeTree) -> dict[str, str]:
    """Modifier property keys of the group's inputs, by socket name."""
    return {item.name: item.identifier for item in tree.interface.items_tree
            if item.item_type == "SOCKET" and item.in_out == "INPUT"}
