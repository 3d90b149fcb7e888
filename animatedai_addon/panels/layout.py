"""Drawing the settings: shared by the sidebar panels and the Generate operator's redo panel.

Every function takes any object carrying the settings' properties (the scene's
PropertyGroup or the operator itself).
"""

import functools
import textwrap

import bpy

from ..engine.errors import SpecError
from ..engine import registry
from ..props import LOOK_FIELDS, TIMING_FIELDS

#: The input-shape fields, drawn as one aligned column.
SHAPE_FIELD_NAMES = ("in_channels", "height", "width", "length")

def draw_operation(layout, settings):
    layout.prop(settings, "operation")
    if settings.operation == "chain":
        layout.prop(settings, "chain_preset")
        return
    form = registry.form(settings.operation)
    shape = layout.column(align=True)
    for field in form.fields:
        if field.shown_if is not None and getattr(settings, field.shown_if[0]) != field.shown_if[1]:
            continue
        where = shape if field.name in SHAPE_FIELD_NAMES else layout
        label = form.label_of(field.name)
        if label is None:
            where.prop(settings, field.name)
        else:
            where.prop(settings, field.name, text=label)


def draw_input(layout, settings):
    layout.prop(settings, "input_source")
    source = settings.input_source
    if source == "npy":
        layout.prop(settings, "npy_path")
    elif source == "image":
        layout.prop(settings, "image_path")
    layout.prop(settings, "seed")
    layout.prop(settings, "order")


def draw_timing(layout, settings):
    for name in TIMING_FIELDS:
        layout.prop(settings, f"timing_{name}")


def draw_look(layout, settings):
    for name in LOOK_FIELDS:
        layout.prop(settings, f"look_{name}")
    col = layout.column(align=True)
    for k, item in enumerate(settings.look_filter_colors):
        col.prop(item, "color", text=f"Filter {k}")
    if isinstance(settings, bpy.types.PropertyGroup):   # the sidebar (the redo panel edits the swatches only)
        row = layout.row(align=True)
        row.operator("animatedai.filter_color_add", text="Filter Colour", icon='ADD')
        row.operator("animatedai.filter_color_remove", text="", icon='REMOVE')


def draw_scene(layout, settings):
    layout.prop(settings, "mode")
    layout.prop(settings, "template")
    col = layout.column(heading="Use", align=True)
    col.prop(settings, "use_template_camera", text="Template Camera")
    col.prop(settings, "use_template_world", text="Template World")
    layout.prop(settings, "set_scene")
    row = layout.row(heading="Start", align=True)
    row.prop(settings, "use_start_frame", text="")
    sub = row.row(align=True)
    sub.active = settings.use_start_frame
    sub.prop(settings, "start_frame", text="")
    row = layout.row(heading="Close-up", align=True)
    row.prop(settings, "use_closeup", text="")
    sub = row.row(align=True)
    sub.active = settings.use_closeup
    sub.prop(settings, "closeup_cell", text="")
    layout.prop(settings, "share_animation")
    layout.prop(settings, "if_edited")


#: Seconds one ``frame_set`` of an objects-mode clip takes per cube (benchmarks/playback.py, bpy 5.0.1 on
#: 2 cores: 1,888 cubes 0.023 s, 2,896 cubes 0.048 s, 5,216 cubes 0.105 s, 9,056 cubes 0.195 s a frame).
OBJECTS_SECONDS_PER_CUBE = 2.1e-5
#: Above this many cubes the status line does not build the timeline for the clip's duration (~0.25 s).
DURATION_PREVIEW_CUBES = 250_000


def status_lines(settings, context=None, width: int = 40) -> tuple[bool, list[str]]:
    """(is_error, lines): the engine's message for invalid settings, else a summary of the clip: operation,
    shapes, cubes and mode, duration, and advice to use instanced mode where objects mode would play slowly."""
    try:
        request = settings.to_request(read_input=False)
    except SpecError as exc:
        return True, textwrap.wrap(str(exc), width)
    spec, options, cubes = request.spec, request.options, request.cube_count
    fps = options["timing"].fps
    lines = [f"{spec.label}", f"{_shape(spec.input_shape)} -> {_shape(spec.output_shape)}",
             f"{cubes:,} cubes, {request.mode} mode"]
    if cubes <= DURATION_PREVIEW_CUBES:
        try:
            frames = clip_frames(spec, options["timing"], options["look"], options["order"], options["closeup"])
        except SpecError as exc:            # a close-up cell the clip does not have
            return True, textwrap.wrap(str(exc), width)
        lines.append(f"{frames:,} frames, {frames / fps:.1f} s at {fps} FPS")
    playable = 1.0 / (cubes * OBJECTS_SECONDS_PER_CUBE)
    if request.mode == "objects" and playable < fps:
        lines += textwrap.wrap(f"Objects mode would play at about {playable:.0f} FPS: instanced mode "
                               "plays smoothly", width)
    return False, lines


@functools.lru_cache(maxsize=8)
def clip_frames(spec, timing, look, order: str, closeup: tuple | None = None) -> int:
    """Frames of the clip (inclusive range), from its timeline (the input's values do not change it), its
    close-up on output cell ``closeup`` included (SpecError when the clip has no such cell)."""
    from ..engine import closeup as closeups
    from ..engine.planning import plan
    from ..engine.timeline import build_timeline
    the_plan = plan(spec, order=order)
    timeline = build_timeline(the_plan, timing, look, highlights=False)
    frames = int(timeline.frame_end) - int(timeline.frame_start) + 1
    if closeup is not None:
        closeups.closeup_stage(the_plan, closeup)
        frames += closeups.CLOSEUP_FRAMES
    return frames


def _shape(shape) -> str:
    return "x".join(str(n) for n in shape)


def draw_status(layout, settings, context=None):
    """The clip summary, or a red line naming the problem when the settings are invalid."""
    width = 40
    if context is not None and getattr(context, "region", None) is not None:
        width = max(20, context.region.width // 7)   # about 7 px a character in the sidebar's font
    is_error, lines = status_lines(settings, context, width)
    col = layout.column(align=True)
    col.alert = is_error
    for i, line in enumerate(lines):
        col.label(text=line, icon=("ERROR" if is_error else "INFO") if i == 0 else "BLANK1")


def draw_settings(layout, settings, context=None):
    """Everything, grouped: the Generate operator's redo panel."""
    layout.use_property_split = True
    draw_status(layout, settings, context)
    for title, draw in (("Operation", draw_operation), ("Input", draw_input), ("Scene", draw_scene),
                        ("Timing", draw_timing), ("Look", draw_look)):
        box = layout.box()
        box.label(text=title)
        draw(box, settings)
