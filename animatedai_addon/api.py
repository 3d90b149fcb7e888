"""The scripting API: the one path the panel, the operators and the render scripts use.

    import animatedai_addon.api as aai
    result = aai.generate("conv-3x3-stride2-valid")          # a preset name, a spec, or a spec dict
    result = aai.generate(Conv2d(8, 8, 8, 8, 3), mode="instanced", timing={"fps": 30})
    aai.clear()                                               # every clip (or one: aai.clear("conv-3x3-valid"))
    aai.render(preset="pixel-shuffle-2x2", engine="workbench", out="out/shuffle")   # PNG frames, MP4, GIF

Works in Blender (``blender -b -P script.py``, the Python console) and from plain
``python`` with the ``bpy`` wheel. Every argument is checked, and the plan and
timeline are computed, before the scene is touched: a bad argument raises
:class:`~animatedai_addon.engine.SpecError` and changes nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from . import ensure_registered
from .engine.errors import SpecError
from .engine.timeline import Look, Timeline, Timing

MODES = ("objects", "instanced", "auto")
#: ``mode="auto"`` writes instanced tensors above this many cubes.
AUTO_INSTANCED_ABOVE = 20_000
#: Clips above this many cubes are refused unless ``cube_budget`` says otherwise.
DEFAULT_CUBE_BUDGET = 200_000


@dataclass
class GenerateResult:
    collection: object                  # the clip collection "AnimatedAI <label>"
    frame_start: int
    frame_end: int
    timeline: Timeline
    plan: object
    tensors: dict = field(default_factory=dict)   # name -> the tensor's empty (objects) or point object (instanced)
    boxes: dict = field(default_factory=dict)     # name -> box object
    mode: str = "objects"
    label: str = ""
    cells: dict = field(default_factory=dict)     # objects mode: name -> [cell objects] in TensorTrack order


@dataclass(frozen=True)
class _Request:
    spec: object
    timing: Timing
    look: Look


def resolve_spec(spec_or_preset_name, timing=None, look=None) -> _Request:
    """The spec, timing and look asked for: a preset's timing/look are defaults that ``timing``/``look`` override
    (a dict overrides single fields, a Timing/Look replaces them all)."""
    from .engine import presets
    from .engine.spec import Chain, Spec, spec_from_dict

    base_timing, base_look = Timing(), Look()
    if isinstance(spec_or_preset_name, str):
        preset = presets.load_preset_file(spec_or_preset_name)
        spec, base_timing, base_look = preset.spec, preset.timing, preset.look
    elif isinstance(spec_or_preset_name, dict):
        spec = spec_from_dict(spec_or_preset_name)
    elif isinstance(spec_or_preset_name, (Spec, Chain)):
        spec = spec_or_preset_name
    else:
        raise SpecError("spec", spec_or_preset_name, "a preset name, a spec (Conv2d, ..., Chain) or a spec dict")
    return _Request(spec, _override("timing", Timing, base_timing, timing), _override("look", Look, base_look, look))


def _override(name: str, cls, base, given):
    from .engine.timeline import check_look, check_timing
    if given is None:
        value = base
    elif isinstance(given, cls):
        value = given
    elif isinstance(given, dict):
        names = [f.name for f in dataclasses.fields(cls)]
        for key in given:
            if key not in names:
                raise SpecError(f"{name}.{key}", given[key], f"a field of {name}: " + ", ".join(names))
        try:
            value = dataclasses.replace(base, **given)
        except (TypeError, ValueError) as exc:
            raise SpecError(name, given, f"fields of {name}: " + ", ".join(names), str(exc)) from None
    else:
        raise SpecError(name, given, f"None, a {cls.__name__} or a dict of its fields")
    return check_timing(value) if cls is Timing else check_look(value)


def _resolve_mode(mode, cubes: int, reads: int = 0) -> str:
    from .engine.timeline import MAX_CELL_READS
    if not isinstance(mode, str) or mode not in MODES:
        raise SpecError("mode", mode, "one of " + ", ".join(MODES))
    if mode == "auto":
        return "instanced" if cubes > AUTO_INSTANCED_ABOVE or reads > MAX_CELL_READS else "objects"
    return mode


def check_budget(spec, budget: int = DEFAULT_CUBE_BUDGET, look=None, mode: str = "objects") -> tuple[str, int]:
    """(the scene mode, the cube count) for a clip of ``spec``, from shapes alone: SpecError when it is over
    ``budget`` cubes, or when objects mode could not key its cell reads. Every path (the API, the render
    scripts with or without ``--frames``, the farm) calls this before planning, which is then O(cubes)."""
    from .engine.timeline import check_cell_reads, check_cube_budget, count_cell_reads
    if not isinstance(mode, str) or mode not in MODES:
        raise SpecError("mode", mode, "one of " + ", ".join(MODES))
    cubes = check_cube_budget(spec, budget, look, mode=mode)
    mode = _resolve_mode(mode, cubes, count_cell_reads(spec))
    if mode == "objects":
        check_cell_reads(spec)
    return mode, cubes


def _resolve_scene(scene):
    import bpy
    if scene is None:
        return bpy.context.scene
    if not isinstance(scene, bpy.types.Scene):
        raise SpecError("scene", scene, "a bpy.types.Scene or None (the current scene)")
    return scene


def generate(spec_or_preset_name, mode: str = "objects", *, timing=None, look=None, input=None, seed: int = 0,
             order: str = "filter", template=None, scene=None, cube_budget: int | None = None) -> GenerateResult:
    """Build the clip of a spec (or preset) in ``scene``; regenerating a clip replaces only that clip.

    ``mode``: "objects" (one keyframed object per cube), "instanced" (one point object per
    tensor with Geometry Nodes) or "auto" (instanced above 20,000 cubes). ``cube_budget``
    (default 200,000) refuses larger clips. ``template``: None or a stage template name.
    """
    from .engine.planning import plan
    from .engine.timeline import build_timeline, check_clip_length
    from .scene import stage, templates, writer

    request = resolve_spec(spec_or_preset_name, timing, look)
    budget = DEFAULT_CUBE_BUDGET if cube_budget is None else cube_budget
    mode, cubes = check_budget(request.spec, budget, request.look, mode)     # before any planning
    template = templates.check_template(template)
    scene = _resolve_scene(scene)
    the_plan = plan(request.spec, input=input, seed=seed, order=order)
    # Instanced tensors are lit by their window boxes in Geometry Nodes, not by per-cell intervals.
    timeline = build_timeline(the_plan, request.timing, request.look, highlights=(mode == "objects"))
    check_clip_length(timeline)
    label = request.spec.label
    writer.check_write_arguments(timeline, label, mode)
    # Everything is checked: from here on the scene changes. Scripts on the bpy wheel get the add-on's
    # operators, panels and Scene.animatedai settings too (a no-op inside Blender, where it is enabled).
    ensure_registered()

    # The previous build of this clip goes; its cells are rewritten where the new clip has them.
    reuse = {}
    for old in writer.clip_collections(label):
        reuse.update(writer.detach_clip(old))
    clip = writer.write_clip(timeline, label, scene, mode, cube_size=request.look.cube_size, reuse=reuse)
    writer.remove_objects(reuse.values())
    stage.setup_stage(scene, timeline, template=None if template == "none" else template)
    # after the stage: a template may bring its own frame settings
    scene.frame_start, scene.frame_end = int(timeline.frame_start), int(timeline.frame_end)
    scene.render.fps, scene.render.fps_base = int(timeline.fps), 1.0

    tensors = dict(clip.tensors)
    for alias, shown_by in timeline.aliases.items():
        if shown_by in tensors:
            tensors.setdefault(alias, tensors[shown_by])
    return GenerateResult(collection=clip.collection, frame_start=int(timeline.frame_start),
                          frame_end=int(timeline.frame_end), timeline=timeline, plan=the_plan, tensors=tensors,
                          boxes=dict(clip.boxes), mode=mode, label=label, cells=dict(clip.cells))


def clip_label(spec_or_preset_name) -> str:
    """The label (collection name without ``AnimatedAI ``) of a spec, spec dict or preset name."""
    return resolve_spec(spec_or_preset_name).spec.label


def clear(spec_or_preset_name=None, scene=None) -> int:
    """Remove the add-on's clips from ``scene`` (all, or the one of a spec/preset) and the add-on's
    data-blocks nothing uses any more (objects, actions, meshes, materials, node groups); returns how
    many clips were removed. Nothing the user made is touched."""
    from .scene import writer

    label = None if spec_or_preset_name is None else clip_label(spec_or_preset_name)
    scene = _resolve_scene(scene)
    in_scene = set(scene.collection.children_recursive)
    clips = [c for c in writer.clip_collections(label) if c in in_scene or c.users == 0]
    for collection in clips:
        writer.remove_clip(collection)
    writer.purge()
    return len(clips)


def render(job=None, progress=None, **kwargs):
    """Render a clip to PNG frames, MP4 and GIF: ``render(preset="conv-3x3-valid", engine="workbench")``.

    The arguments are those of :class:`animatedai_addon.rendering.RenderJob` (or one ``RenderJob``);
    returns a ``RenderResult`` with the frames, videos and the saved ``.blend``.
    """
    from . import rendering   # imported here: rendering needs bpy, the rest of the API can load without it
    return rendering.render(job, progress=progress, **kwargs)
