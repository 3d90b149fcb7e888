"""The scene's AnimatedAI settings (``bpy.types.Scene.animatedai``) and their translation to ``api.generate``.

The same properties serve two classes: the scene PropertyGroup the sidebar edits,
and the Generate operator (so its redo panel shows them). :class:`SettingsMixin`
holds what both need: building the spec through ``engine/spec.py``
(:meth:`SettingsMixin.build_spec`), the whole request (:meth:`SettingsMixin.to_request`)
and loading a preset back into the properties (:meth:`SettingsMixin.apply_preset`).
Values are checked by the engine, not by property limits, so a bad value reaches
the user as the engine's message (SpecError) instead of being clamped silently.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field

import bpy
import numpy as np
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, FloatProperty, FloatVectorProperty, \
    IntProperty, IntVectorProperty, PointerProperty, StringProperty

from .engine import registry
from .engine.closeup import parse_cell
from .engine import spec as specs
from .engine.errors import SpecError
from . import api
from .engine.timeline import EASINGS, Look, Timing, check_look, check_timing
from .engine.values import check_image_size
from .prefs import TEMPLATE_ITEMS

CHAIN_ITEM = ("chain", "Chain Preset", "Stages from a preset, in a chain or a graph (MobileNet block, ESPCN, ...)")
#: The Operation menu: every operation module's panel forms (engine/registry.py), then the chain presets.
OPERATION_ITEMS = tuple((f.name, f.label, f.description) for f in registry.FORMS) + (CHAIN_ITEM,)

#: The fields each form draws, in order (its input shape first).
OPERATION_PARAMETERS = {f.name: tuple(field.name for field in f.fields) for f in registry.FORMS}
OPERATION_PARAMETERS["chain"] = ("chain_preset",)

ORDER_ITEMS = (
    ("filter", "Filter by Filter", "One filter at a time over every position (Animated AI's order)"),
    ("position", "Position by Position", "Every filter at one position, then the next position"),
)
INPUT_ITEMS = (
    ("random", "Random", "Seeded random values in [-1, 1]"),
    ("npy", ".npy File", "A NumPy array of shape (C, H, W)"),
    ("image", "Image", "An image resized to the input's width and height"),
)
MODE_ITEMS = (
    ("objects", "Objects", "One keyframed object per cube: editable by hand, fine up to tens of thousands"),
    ("instanced", "Instanced", "One point cloud per tensor with Geometry Nodes: for millions of cubes"),
    ("auto", "Auto", "Instanced above the preferences' threshold (20,000 cubes by default), objects up to it"),
)
IF_EDITED_ITEMS = (
    ("new", "Keep and Add New", "Keep the edited clip and write the new one beside it as a new version"),
    ("replace", "Replace", "Replace the clip, losing the edits made by hand"),
    ("error", "Refuse", "Generate nothing and say the clip was edited"),
)
SCENE_TEMPLATE_ITEMS = (("preferences", "Preferences", "The default template of the add-on's preferences"),
                        *TEMPLATE_ITEMS)

# Upper limits that make a slider; every other limit is the engine's (check_timing / check_look), so a
# bad value is answered by its message instead of being clamped.
_FIELD_MAX = {"value_shading": 1.0}
# Where dragging a value stops (typing may go further, up to the engine's limit).
_FIELD_SOFT_MAX = {"frames_per_step": 24, "first_step_frames": 120, "ramp_steps": 50, "shuffle_frames": 240,
                   "hold_frames": 120, "intro_frames": 240, "outro_frames": 240,
                   "pop_frames": 24, "move_frames": 60, "speedup_after_rows": 64, "speedup": 16, "fps": 120,
                   "cube_size": 10.0, "gap": 2.0, "tensor_gap": 40.0, "highlight_gain": 4.0}
_FIELD_SUBTYPE = {"cube_size": "DISTANCE", "gap": "DISTANCE", "tensor_gap": "DISTANCE", "value_shading": "FACTOR"}
_FIELD_LABEL = {"fps": "FPS"}
_HIGHLIGHT_ITEMS = (("pulse", "Pulse", "A white pulse runs along the filter; the new output cell appears white"),
                    ("cells", "Lit Cells", "The whole filter is lit for its pass; the input cells under the window "
                                           "light up while read"))
_FIELD_HELP = {
    "frames_per_step": "Frames per step once up to speed (the fastest steps)",
    "first_step_frames": "Length of a stage's first step; later steps speed up smoothly to 'frames per step' "
                         "(0: every step lasts 'frames per step')",
    "ramp_steps": "How fast steps speed up: the excess over 'frames per step' shrinks by e every this many steps",
    "shuffle_frames": "Length of a pixel shuffle's transform (every cube travels at once) and of an elementwise "
                      "stage's sweep (ReLU, batch norm)",
    "hold_frames": "Pause when the active filter (or stage) changes",
    "intro_frames": "Still frames before the first step",
    "outro_frames": "Still frames after the last step",
    "pop_frames": "Length of an output cell's pop-in",
    "move_frames": "Longest filter slide (slides speed up with the steps)",
    "easing": "Easing of travels",
    "speedup_after_rows": "After this many output rows of each filter pass, go faster (0 = never)",
    "speedup": "Steps per 'frames per step' once sped up",
    "loop": "End the clip in its first frame's state, for seamless loops",
    "fps": "Frames per second of the clip",
    "cube_size": "Edge of one cube (metres)",
    "gap": "Space between neighbouring cubes (metres)",
    "tensor_gap": "Space between neighbouring tensors (metres)",
    "value_shading": "0: one colour per role/filter; 1: brightness follows the cell's value",
    "highlight_gain": "'Lit cells' highlights: a highlighted cell is its own colour times this",
    "highlight": "How a step shows: a white pulse along the filter and a white new output cell (Animated AI), "
                 "or the whole filter lit and the input cells under the window lit while read",
    "input_color": "Colour of the input tensor's cells",
    "padding_color": "Colour of padding cells (its alpha makes them translucent)",
    "filter_colors": "Colours of the first filters and their output channels; the others keep the palette's hues",
    "labels": "Every text in the scene: shapes, PyTorch call, output-size formula, step counter, counts, captions",
    "label_shapes": "Each tensor's shape in PyTorch's order under it (3×32×32; the weights 6×3×5×5)",
    "label_call": "The stage's PyTorch call above the clip (nn.Conv2d(3, 6, kernel_size=5, bias=False))",
    "label_formula": "The output-size formula with the clip's numbers ((32 − 5 + 2·0) / 1 + 1 = 28)",
    "label_steps": "A step counter above the clip (step 17 / 784)",
    "label_counts": "Parameters and multiply-accumulates, as PyTorch counts them",
    "label_captions": "The caption track (as the .srt file has it) as text under the clip",
    "numbers": "Each cube shows its value, rounded to one decimal (clips of up to 2,000 cubes)",
    "follow_camera": "Chains: the camera frames each stage while it runs (off: the whole chain, still)",
}


# --- properties -----------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _chain_preset_enum():
    # Blender keeps only pointers to these strings: the cache keeps them alive.
    from .engine import presets
    items = []
    for name in presets.list_presets():
        preset = presets.load_preset_file(name)
        if isinstance(preset.spec, (specs.Chain, specs.Graph)):
            items.append((name, preset.title or name, preset.description or preset.spec.label))
    return tuple(items) or (("", "(no chain presets)", ""),)


def _label(name: str) -> str:
    return _FIELD_LABEL.get(name, name.replace("_", " ").title())


def _field_property(f, options: set):
    """The Blender property of an operation's panel field (engine/operation.py's Field). Integers may go down to
    0 so that the engine, not a clamp, answers a 0 with its message."""
    common = dict(name=f.label, description=f.description, options=options)
    if f.kind == "count":
        return IntProperty(default=f.default, min=0, soft_min=1, soft_max=f.soft_max, **common)
    if f.kind == "int":
        return IntProperty(default=f.default, min=0, soft_max=f.soft_max, **common)
    if f.kind in ("pair", "quad"):
        return IntVectorProperty(default=f.default, size=2 if f.kind == "pair" else 4, min=0,
                                 soft_min=f.minimum, soft_max=f.soft_max, **common)
    if f.kind == "enum":
        return EnumProperty(items=f.items, default=f.default, **common)
    return BoolProperty(default=f.default, **common)


def _dataclass_property(f: dataclasses.Field, options: set):
    """A Blender property for one field of Timing or Look, or None for a type the panel cannot edit."""
    default = f.default
    common = dict(name=_label(f.name), description=_FIELD_HELP.get(f.name, _label(f.name)), options=options)
    if f.name == "easing":
        items = tuple((e, _label(e), f"'{e}' easing") for e in EASINGS)
        return EnumProperty(items=items, default=default, **common)
    if f.name == "highlight":
        return EnumProperty(items=_HIGHLIGHT_ITEMS, default=default, **common)
    if isinstance(default, bool):
        return BoolProperty(default=default, **common)
    if isinstance(default, int):
        return IntProperty(default=default, min=0, soft_max=_FIELD_SOFT_MAX.get(f.name, 100), **common)
    if isinstance(default, float):
        limits = dict(min=0.0, soft_max=_FIELD_SOFT_MAX.get(f.name, 10.0))
        if f.name in _FIELD_MAX:
            limits["max"] = limits["soft_max"] = _FIELD_MAX[f.name]
        if f.name == "highlight_gain":
            limits["soft_min"] = 1.0
        return FloatProperty(default=default, subtype=_FIELD_SUBTYPE.get(f.name, "NONE"), **limits, **common)
    if isinstance(default, tuple) and len(default) in (3, 4) and f.name.endswith("color"):
        return FloatVectorProperty(default=default, size=len(default), subtype="COLOR", min=0.0, max=1.0, **common)
    return None


def _dataclass_annotations(prefix: str, cls, options: set) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        prop = _dataclass_property(f, options)
        if prop is not None:
            out[f"{prefix}_{f.name}"] = prop
    return out


#: Names of the Timing / Look fields that have a property (``timing_<field>``, ``look_<field>``).
TIMING_FIELDS = tuple(name.removeprefix("timing_") for name in _dataclass_annotations("timing", Timing, set()))
LOOK_FIELDS = tuple(name.removeprefix("look_") for name in _dataclass_annotations("look", Look, set()))


class ANIMATEDAI_PG_color(bpy.types.PropertyGroup):
    """One entry of a colour list (Look.filter_colors)."""

    color: FloatVectorProperty(name="Colour", size=4, subtype="COLOR", min=0.0, max=1.0,
                               default=(1.0, 1.0, 1.0, 1.0), description="Linear RGBA colour")


def settings_annotations(options: set) -> dict:
    """Every setting as a Blender property; ``options`` go to each (the operator passes {'SKIP_SAVE'})."""
    o = dict(options=options)
    props = {
        "operation": EnumProperty(name="Operation", items=OPERATION_ITEMS, default="conv2d",
                                  description="The operation the clip animates", **o),
        # Static items: the presets ship with the add-on, and an items callback makes Blender 4.2's bpy
        # module crash at exit (SIGSEGV), even after unregister.
        "chain_preset": EnumProperty(name="Chain", items=_chain_preset_enum(),
                                     description="The chain preset to show", **o),
        "order": EnumProperty(name="Order", items=ORDER_ITEMS, default="filter",
                              description="The order in which the steps are shown", **o),
        "input_source": EnumProperty(name="Input", items=INPUT_ITEMS, default="random",
                                     description="Where the input tensor's values come from", **o),
        "seed": IntProperty(name="Seed", default=0, min=0, soft_max=9999,
                            description="Seed of the random input and weights", **o),
        "npy_path": StringProperty(name="Array", subtype="FILE_PATH", description=".npy file of shape (C, H, W)",
                                   **o),
        "image_path": StringProperty(name="Image", subtype="FILE_PATH",
                                     description="Image file, resized to the input's width and height", **o),
        "mode": EnumProperty(name="Mode", items=MODE_ITEMS, default="objects",
                             description="How the cubes are written into the scene", **o),
        "template": EnumProperty(name="Template", items=SCENE_TEMPLATE_ITEMS, default="preferences",
                                 description="Camera, lights and world added around the clip", **o),
        # Where and how the clip goes into the scene (api.generate's keywords of the same names)
        "use_template_camera": BoolProperty(name="Template Camera", default=False,
                                            description="Use the template's camera instead of the scene's own", **o),
        "use_template_world": BoolProperty(name="Template World", default=False,
                                           description="Use the template's World instead of the scene's own", **o),
        "set_scene": BoolProperty(name="Set Scene Range and FPS", default=False,
                                  description="Set the scene's frame range to the clip's and its FPS (and, with a "
                                              "template, its render look); off: the scene's settings stay", **o),
        "use_start_frame": BoolProperty(name="Start Frame", default=False,
                                        description="Start the clip at the given frame; off: at the scene's start",
                                        **o),
        "start_frame": IntProperty(name="Start Frame", default=1, min=-1_048_574, max=1_048_574, soft_min=0,
                                   soft_max=10_000, description="The scene frame the clip starts at", **o),
        "use_closeup": BoolProperty(name="Close-up", default=False,
                                    description="After the clip, the camera moves in on one output cell of the "
                                                "last convolution: each product weight × input behind it, "
                                                "then their sum (the cell's value), and moves back", **o),
        "closeup_cell": StringProperty(name="Close-up Cell", default="0,0,0",
                                       description="The output cell the close-up shows, PyTorch's index: C,Y,X "
                                                   "(C,X for a Conv1d, C,D,Y,X for a Conv3d)", **o),
        "share_animation": BoolProperty(name="Share Animation", default=True,
                                        description="Cells whose whole animation is the same share one action slot "
                                                    "(far fewer F-curves; editing one cell's keys edits its twins)",
                                        **o),
        "if_edited": EnumProperty(name="If Edited", items=IF_EDITED_ITEMS, default="new",
                                  description="What Generate does when the clip was edited by hand since it was "
                                              "made (keys, transforms, added objects)", **o),
    }
    props.update({name: _field_property(f, options) for name, f in registry.FIELDS.items()})
    props.update(_dataclass_annotations("timing", Timing, options))
    props.update(_dataclass_annotations("look", Look, options))
    props["look_filter_colors"] = CollectionProperty(type=ANIMATEDAI_PG_color, name="Filter Colours",
                                                     description=_FIELD_HELP["filter_colors"], **o)
    return props


#: Names of every setting, in drawing-independent order.
SETTING_NAMES = tuple(settings_annotations(set()))


# --- settings -> request ----------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """What ``api.generate`` is called with: ``api.generate(request.spec, **request.options)``."""

    spec: object
    options: dict = field(default_factory=dict)
    cube_count: int = 0
    mode: str = "objects"       # the scene mode generate() will use ("auto" decided by the preferences)


@functools.lru_cache(maxsize=4)
def _read_input(path: str, mtime_ns: int, shape: tuple) -> object:
    # Keyed by modification time so the panel's redraws do not re-read the file, yet see it change.
    from .engine.values import make_input
    from .scene import images
    if images.is_image_path(path):
        return images.read_image(path, shape)     # Blender's own loader: its Python has no Pillow
    return make_input(shape, source=path)


class SettingsMixin:
    """Shared by the scene PropertyGroup and the Generate operator (both carry :func:`settings_annotations`)."""

    def build_spec(self):
        """The spec these settings describe; raises SpecError naming the bad parameter."""
        if self.operation == "chain":
            from .engine import presets
            if not self.chain_preset:
                raise SpecError("chain_preset", self.chain_preset, "one of the chain presets")
            return presets.load_preset(self.chain_preset)
        return registry.form(self.operation).build(self._field_value)

    def _field_value(self, name: str):
        value = getattr(self, name)
        return tuple(value) if hasattr(value, "__len__") and not isinstance(value, str) else value

    def build_timing(self) -> Timing:
        return Timing(**{name: _plain(getattr(self, f"timing_{name}")) for name in TIMING_FIELDS})

    def build_look(self) -> Look:
        return Look(**{name: _plain(getattr(self, f"look_{name}")) for name in LOOK_FIELDS},
                    filter_colors=tuple(_plain(item.color) for item in self.look_filter_colors))

    def build_input(self, spec, read: bool = True):
        """None for the seeded random input, else the array read from the file (checked against the shape).
        With ``read=False`` (the panel's status, drawn where no data-block may be made) an image's pixels are
        not read: only its file and its header's size are checked, and None is returned."""
        if self.input_source == "random":
            return None
        path = bpy.path.abspath(self.npy_path if self.input_source == "npy" else self.image_path)
        if not path or not os.path.isfile(path):
            raise SpecError("input", path, f"an existing {'.npy' if self.input_source == 'npy' else 'image'} file")
        if self.input_source == "image":
            from .scene import images
            if not images.is_image_path(path):
                raise SpecError("input", path, "an image file (" + ", ".join(sorted(bpy.path.extensions_image)) + ")")
            check_image_size(path)
            if not read:
                return None
        return _read_input(path, os.stat(path).st_mtime_ns, spec.input_torch_shape)

    def to_request(self, read_input: bool = True) -> Request:
        """The arguments of ``api.generate`` for these settings; raises SpecError before anything is changed.
        The user's choices pass through as they are ("auto" mode, the "preferences" template, no budget): the
        API decides them from the add-on preferences. ``read_input=False``: an image input is checked but not
        read (see :meth:`build_input`)."""
        spec = self.build_spec()
        timing, look = check_timing(self.build_timing()), check_look(self.build_look())
        mode, cubes = api.check_budget(spec, None, look, self.mode)     # as generate() will decide it
        options = dict(mode=self.mode, timing=timing, look=look, input=self.build_input(spec, read_input),
                       seed=self.seed, order=self.order, template=self.template,
                       set_scene=self.set_scene, use_template_camera=self.use_template_camera,
                       use_template_world=self.use_template_world,
                       start_frame=self.start_frame if self.use_start_frame else None,
                       share_animation=self.share_animation, if_edited=self.if_edited,
                       closeup=parse_cell(self.closeup_cell) if self.use_closeup else None)
        return Request(spec, options, cubes, mode)

    def apply_preset(self, preset) -> None:
        """Set every property from a preset (spec, timing, look); the rest keep their values."""
        self.apply_spec(preset.spec, preset.name)
        for name in TIMING_FIELDS:
            setattr(self, f"timing_{name}", getattr(preset.timing, name))
        for name in LOOK_FIELDS:
            setattr(self, f"look_{name}", getattr(preset.look, name))
        set_colors(self.look_filter_colors, preset.look.filter_colors)
        if preset.input is not None:        # a preset's own input file (an image, or a .npy array)
            self.input_source = "npy" if preset.input.lower().endswith(".npy") else "image"
            setattr(self, f"{self.input_source}_path", preset.input)

    def apply_spec(self, spec, preset_name: str = "") -> None:
        """Set the operation and its parameters so that :meth:`build_spec` gives ``spec`` back.

        A chain that is not a depthwise-separable conv or a shuffle loop, and a graph, are shown
        as their preset (``operation = 'chain'``)."""
        for op, values in _candidate_settings(spec):
            self._set_values(op, values)
            if _same_spec(self, spec):
                return
        if isinstance(spec, (specs.Chain, specs.Graph)) and preset_name in {item[0] for item in _chain_preset_enum()}:
            self.operation = "chain"
            self.chain_preset = preset_name
            return
        raise SpecError("spec", spec.label, "a spec the panel can show: a single operation, "
                        "a depthwise-separable conv, a shuffle loop, or a chain preset")

    def _set_values(self, op: str, values: dict) -> None:
        self.operation = op
        for name, value in values.items():
            setattr(self, name, value)

    def copy_from(self, other, only_unset: bool = False) -> None:
        """Copy every setting from ``other`` (the scene's); with ``only_unset``, keep the ones set on self."""
        for name in SETTING_NAMES:
            if only_unset and self.properties.is_property_set(name):
                continue
            value = getattr(other, name)
            if name == "chain_preset" and not value:
                continue   # an enum cannot be set to its empty "no chain presets" item
            if isinstance(value, bpy.types.bpy_prop_collection):
                set_colors(getattr(self, name), [tuple(item.color) for item in value])
                continue
            setattr(self, name, tuple(value) if hasattr(value, "__len__") and not isinstance(value, str)
                    else value)


def set_colors(collection, colors) -> None:
    """Make a colour list (``look_filter_colors``) hold ``colors``."""
    collection.clear()
    for color in colors:
        collection.add().color = color


def _plain(value):
    """Plain Python values for Timing/Look: arrays as tuples, and floats as the shortest decimal that
    Blender's single-precision property holds (0.9, not 0.8999999761581421), so presets round-trip."""
    if hasattr(value, "__len__") and not isinstance(value, str):
        return tuple(_plain(v) for v in value)
    if isinstance(value, float):
        return float(str(np.float32(value)))
    return value


def _same_spec(settings, spec) -> bool:
    try:
        return settings.build_spec() == spec
    except SpecError:
        return False


def _candidate_settings(spec):
    """(operation, property values) pairs that may rebuild ``spec``; the caller keeps the first that does."""
    for form, values in registry.forms_showing(spec):
        yield form.name, values


# --- registration -----------------------------------------------------------------------

class ANIMATEDAI_PG_settings(SettingsMixin, bpy.types.PropertyGroup):
    """Everything the sidebar's Generate button uses."""


ANIMATEDAI_PG_settings.__annotations__ = settings_annotations(set())

classes = (ANIMATEDAI_PG_color, ANIMATEDAI_PG_settings)

_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register():
    _register_classes()
    bpy.types.Scene.animatedai = PointerProperty(type=ANIMATEDAI_PG_settings, name="AnimatedAI")


def unregister():
    del bpy.types.Scene.animatedai
    _unregister_classes()
