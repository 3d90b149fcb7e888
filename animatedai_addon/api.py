"""The scripting API: the one path the panel, the operators and the render scripts use.

    import animatedai_addon.api as aai
    result = aai.generate("conv-3x3-stride2-valid")          # a preset name, a spec, or a spec dict
    result = aai.generate(Conv2d(8, 8, 8, 8, 3), mode="instanced", timing={"fps": 30})
    result = aai.generate("conv-3x3-valid", start_frame=100)  # beside the first clip, starting at frame 100
    aai.retime(result, start_frame=120, speed=2.0)           # both modes, without regenerating
    aai.clear()                                               # every clip (or one: aai.clear("conv-3x3-valid"))
    aai.render(preset="pixel-shuffle-2x2", engine="workbench", out="out/shuffle")   # PNG frames, MP4, GIF

Works in Blender (``blender -b -P script.py``, the Python console) and from plain
``python`` with the ``bpy`` wheel. Every argument is checked, and the plan and
timeline are computed, before the scene is touched: a bad argument raises
:class:`~animatedai_addon.engine.SpecError` and changes nothing.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field

from . import ensure_registered
from .engine.budget import CUBE_BUDGETS, check_cubes
from .engine.errors import SpecError
from .engine.timeline import Look, Timeline, Timing

MODES = ("objects", "instanced", "auto")
#: ``mode="auto"`` writes instanced tensors above this many cubes.
AUTO_INSTANCED_ABOVE = 20_000
#: What ``generate`` does when the clip it would replace was edited by hand.
IF_EDITED = ("new", "replace", "error")
#: The add-on's module name ("animatedai_addon", or "bl_ext.<repo>.animatedai_addon" as an extension): the key
#: of its preferences in ``bpy.context.preferences.addons``.
ADDON_ID = __package__
#: ``template="preferences"``: the default template of the add-on's preferences.
TEMPLATE_FROM_PREFERENCES = "preferences"


@dataclass(frozen=True)
class Preferences:
    """The add-on preferences the API falls back on (``mode="auto"``, ``cube_budget=None``,
    ``template="preferences"``); these defaults where the add-on is not enabled (scripts on the ``bpy`` wheel)."""

    template: str = "studio"
    objects_budget: int = CUBE_BUDGETS["objects"]
    instanced_budget: int = CUBE_BUDGETS["instanced"]
    instanced_threshold: int = AUTO_INSTANCED_ABOVE

    def cube_budget(self, mode: str) -> int:
        """The most cubes a clip of ``mode`` ("objects" or "instanced") may have."""
        return self.instanced_budget if mode == "instanced" else self.objects_budget


def preferences() -> Preferences:
    """The add-on's preferences as the user set them (Edit ▸ Preferences ▸ Add-ons), or the defaults where the
    add-on is not enabled. The one place they are read: the panel and operators pass the user's choices
    (``mode="auto"``, ``template="preferences"``, no budget) to the API, which decides here."""
    import importlib.util
    if importlib.util.find_spec("bpy") is None:       # the engine's users, without Blender
        return Preferences()
    import bpy
    addon = bpy.context.preferences.addons.get(ADDON_ID)
    if addon is None or addon.preferences is None:
        return Preferences()
    p = addon.preferences
    return Preferences(template=p.default_template, objects_budget=p.objects_budget,
                       instanced_budget=p.instanced_budget, instanced_threshold=p.instanced_threshold)


def check_cube_budget(cubes: int, budget, mode: str) -> int:
    """``cubes`` if within ``budget`` (None: the preferences' budget for the mode, by default
    ``CUBE_BUDGETS[mode]``), else SpecError naming ``cube_budget``."""
    return check_cubes(cubes, preferences().cube_budget(mode) if budget is None else budget, mode)


class Cancelled(Exception):
    """Raised by a ``progress`` callback to stop :func:`generate` or :func:`clear` between two steps. What was
    done so far stays: the panel's operators undo it (they push an undo step first)."""


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
    root: object = None                           # the clip's root empty (its location places the clip)
    start_frame: float = 1.0                      # scene frame of the timeline's first frame
    speed: float = 1.0                            # timeline frames per scene frame
    message: str = ""                             # e.g. why the clip was written beside an edited one
    replaced: bool = False                        # an earlier build of this clip was replaced
    texts: dict = field(default_factory=dict)     # name -> text object (labels, captions: Look.labels)
    closeup: object = None                        # engine.closeup.CloseUp when generate(closeup=...) asked


@dataclass(frozen=True)
class _Request:
    spec: object
    timing: Timing
    look: Look
    input: str | None = None      # a preset's own input file (api.generate's ``input`` replaces it)


def resolve_spec(spec_or_preset_name, timing=None, look=None) -> _Request:
    """The spec, timing and look asked for: a preset's timing/look are defaults that ``timing``/``look`` override
    (a dict overrides single fields, a Timing/Look replaces them all)."""
    from .engine import presets
    from .engine.spec import Chain, Graph, Spec, spec_from_dict

    base_timing, base_look, preset_input = Timing(), Look(), None
    if isinstance(spec_or_preset_name, str):
        preset = presets.load_preset_file(spec_or_preset_name)
        spec, base_timing, base_look, preset_input = preset.spec, preset.timing, preset.look, preset.input
    elif isinstance(spec_or_preset_name, dict):
        spec = spec_from_dict(spec_or_preset_name)
    elif isinstance(spec_or_preset_name, (Spec, Chain, Graph)):
        spec = spec_or_preset_name
    else:
        raise SpecError("spec", spec_or_preset_name, "a preset name, a spec (Conv2d, ..., Chain, Graph) or a spec "
                        "dict")
    return _Request(spec, _override("timing", Timing, base_timing, timing), _override("look", Look, base_look, look),
                    preset_input)


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
        above = preferences().instanced_threshold
        return "instanced" if cubes > above or reads > MAX_CELL_READS else "objects"
    return mode


def check_budget(spec, budget=None, look=None, mode: str = "objects") -> tuple[str, int]:
    """(the scene mode, the cube count) for a clip of ``spec``, from shapes alone: SpecError when it is over
    ``budget`` cubes (None: the preferences' for the mode, by default ``CUBE_BUDGETS``), or when objects mode
    could not key its cell reads. ``mode="auto"``: instanced above the preferences' threshold.
    Every path (the API, the render scripts with or without ``--frames``, the farm) calls this before
    planning, which is then O(cubes)."""
    from .engine.timeline import check_cell_reads, count_cell_reads, count_cubes
    if not isinstance(mode, str) or mode not in MODES:
        raise SpecError("mode", mode, "one of " + ", ".join(MODES))
    cubes = count_cubes(spec, look)
    mode = _resolve_mode(mode, cubes, count_cell_reads(spec))
    check_cube_budget(cubes, budget, mode)
    if mode == "objects":
        check_cell_reads(spec)
    return mode, cubes


def _resolve_template(template, templates) -> str:
    """The template's name, "preferences" read from the preferences; SpecError naming ``template``."""
    if isinstance(template, str) and template.strip().lower() == TEMPLATE_FROM_PREFERENCES:
        return templates.check_template(preferences().template)
    try:
        return templates.check_template(template)
    except SpecError:
        raise SpecError("template", template, f"{templates.ALLOWED}, or {TEMPLATE_FROM_PREFERENCES} "
                        "(the preferences' default template)") from None


def _resolve_scene(scene):
    import bpy
    if scene is None:
        return bpy.context.scene
    if not isinstance(scene, bpy.types.Scene):
        raise SpecError("scene", scene, "a bpy.types.Scene or None (the current scene)")
    return scene


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise SpecError(name, value, "True or False")
    return value


def _check_number(name: str, value, allowed: str, positive: bool = False) -> float:
    import math
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or abs(value) > 1e6 or (positive and value <= 0):
        raise SpecError(name, value, allowed)
    return float(value)


def _check_start_frame(value) -> float | None:
    if value is None:
        return None
    return _check_number("start_frame", value, "None (the scene's start frame) or a frame number "
                                               "between -1,000,000 and 1,000,000")


def _check_speed(value) -> float:
    return _check_number("speed", value, "a number > 0 (1 plays the clip at its own pace, 2 twice as fast)",
                         positive=True)


def _check_location(value):
    if value is None:
        return None
    allowed = "None (beside the scene's other clips) or three finite numbers (x, y, z)"
    try:
        values = [v for v in value]
    except TypeError:
        raise SpecError("location", value, allowed) from None
    if len(values) != 3:
        raise SpecError("location", value, allowed)
    return tuple(_check_number("location", v, allowed) for v in values)


def _check_if_edited(value) -> str:
    if value not in IF_EDITED:
        raise SpecError("if_edited", value, "one of " + ", ".join(repr(v) for v in IF_EDITED))
    return value


def _frame_map(first: float, start_frame: float, speed: float) -> tuple[float, float] | None:
    """(offset, factor) that puts clip frame f at scene frame offset + factor * f, or None for 1:1."""
    if start_frame == first and speed == 1.0:
        return None
    return float(start_frame) - float(first) / float(speed), 1.0 / float(speed)


def generate(spec_or_preset_name, mode: str = "objects", *, timing=None, look=None, input=None, seed: int = 0,
             order: str = "filter", input_shape=None, weights=None, bias=None, template=None, scene=None,
             cube_budget: int | None = None,
             set_scene: bool = False, use_template_camera: bool = False, use_template_world: bool = False,
             start_frame: float | None = None, location=None, share_animation: bool = True,
             if_edited: str = "new", closeup=None, progress=None) -> GenerateResult:
    """Build the clip of a spec (or preset) in ``scene``; regenerating a clip replaces only that clip.

    ``mode``: "objects" (one keyframed object per cube), "instanced" (one point object per
    tensor with Geometry Nodes) or "auto" (instanced above the preferences' threshold, 20,000 cubes by
    default). ``spec_or_preset_name`` may also be a PyTorch model (an ``nn.Sequential`` of supported layers, see
    ``engine.from_torch``) with ``input_shape`` (one sample's shape, e.g. (3, 32, 32)): the clip shows it with the
    model's own weights and biases. ``weights`` / ``bias``: the values ``engine.plan`` takes (None: seeded);
    ``weights`` may also name a kernel for a Conv2d (``"sobel_x"``, ``"sobel_y"``, ``"blur"``, ``"sharpen"``,
    ``"identity"``; for a chain a list of one name or None per stage): it becomes the spec's ``weights``.
    ``cube_budget`` refuses larger clips (default: the preferences' budget for the mode,
    50,000 objects or 2,000,000 instanced unless changed there). See :func:`preferences`.
    ``progress(done, total, what)``, if given, is called before the stage, before each tensor is written
    and at the end; it may raise :class:`Cancelled`.

    The clip touches nothing but itself unless asked:

    * ``template``: None/"none" adds cubes and their boxes only; "preferences" takes the preferences'
      default template. "studio"/"flat" add the template's
      lights and floor; the scene keeps its own camera and World unless ``use_template_camera`` /
      ``use_template_world`` (a scene without one gets the template's). With "none",
      ``use_template_camera``/``use_template_world`` build the plain stage in code.
    * ``set_scene``: set the scene's frame range (the clip's), fps and, with a template, its render look.
    * ``start_frame``: the scene frame the clip starts at (default: the scene's start frame);
      ``location``: where its root empty stands (default: beside the scene's other clips, along +x).
      A regenerated clip keeps its place, start and speed unless given.
    * ``share_animation``: cells with identical keys share one action slot, named ``<cell> ×<count>``
      (far fewer F-curves: 512 of the default clip's 648 animated cells); False gives each cell its own.
    * ``closeup``: an output cell ``(c, *spatial)`` of the clip's last convolution: after the clip, the camera
      moves in on a board of the products weight × input behind that cell, their sum (the cell's value)
      shows, and the camera moves back (``GenerateResult.closeup``). Needs a scene camera.
    * ``if_edited``: what to do when the clip's earlier build was edited by hand (keys, transforms,
      objects added to its collections): "new" writes the new clip beside it as a new version
      (``GenerateResult.message`` says so), "replace" replaces it, "error" raises SpecError.
      Objects a user put into a clip's collections are moved into the new build in every case.

    A clip is the spec's: specs that differ in any parameter or shape are different clips, and
    clips belong to their scene (generating in one scene never touches another's).
    """
    from .engine.planning import plan
    from .engine.timeline import build_timeline, check_clip_length
    from .scene import clip as clips, playback, source as sources, stage, templates, writer

    spec_or_preset_name, weights, bias = _model_values(spec_or_preset_name, input_shape, weights, bias)
    request = resolve_spec(spec_or_preset_name, timing, look)
    if _kernel_names(weights):
        from .engine.kernels import with_named_weights
        request = dataclasses.replace(request, spec=with_named_weights(request.spec, weights))
        weights = None
    mode, cubes = check_budget(request.spec, cube_budget, request.look, mode)     # before any planning
    template = _resolve_template(template, templates)
    scene = _resolve_scene(scene)
    for name, value in (("set_scene", set_scene), ("use_template_camera", use_template_camera),
                        ("use_template_world", use_template_world), ("share_animation", share_animation)):
        _check_bool(name, value)
    start_frame = _check_start_frame(start_frame)
    location = _check_location(location)
    if_edited = _check_if_edited(if_edited)
    if input is None:
        input = request.input       # a preset's own input (the digit of mnist-digit-sobel-x), if it has one
    input_path = input if isinstance(input, (str, os.PathLike)) else None
    input = _read_image_input(input, request.spec)
    the_plan = plan(request.spec, input=input, seed=seed, order=order, weights=weights, bias=bias)
    # what the clip is made from, stored on it: make_editable rebuilds its cells from this with the engine
    made_from = sources.ClipSource(request.spec, request.timing, request.look, int(seed), order,
                                   sources.input_values(request.spec, input, seed)[0],
                                   os.fspath(input_path) if input_path is not None else None, weights, bias)
    # Instanced tensors are lit by their window boxes in Geometry Nodes, not by per-cell intervals.
    timeline = build_timeline(the_plan, request.timing, request.look, highlights=(mode == "objects"))
    check_clip_length(timeline)
    timeline.texts = _plan_texts(the_plan, timeline, request.look, stage)
    timeline.numbers = _plan_numbers(timeline, request.look)
    closeup_plan = None
    if closeup is not None:
        if scene.camera is None and not use_template_camera and template == "none":
            raise SpecError("closeup", closeup, "a clip in a scene with a camera (or use_template_camera=True, "
                            "or a template)")
        closeup_plan = _plan_closeup(the_plan, timeline, closeup, request.look, stage)
        check_clip_length(timeline)
    key, label = clips.spec_key(request.spec), clips.clip_label(request.spec)
    writer.check_write_arguments(timeline, label, mode)
    previous = clips.find_clip(scene, key)
    edited = clips.edits(previous) if previous is not None else []
    if edited and if_edited == "error":
        raise SpecError("if_edited", if_edited, "'new' (write the new clip beside it) or 'replace'",
                        f"{previous.name!r} was edited by hand: {'; '.join(edited)}")
    # Everything is checked: from here on the scene changes. Scripts on the bpy wheel get the add-on's
    # operators, panels and Scene.animatedai settings too (a no-op inside Blender, where it is enabled).
    ensure_registered()

    first = float(timeline.frame_start)
    speed = 1.0
    x_range = _x_range(timeline, stage)
    reuse, user_objects, message, version = {}, [], "", 1
    replacing = previous is not None and not (edited and if_edited == "new")
    if previous is not None:
        old = clips.record(previous)
        old_root = clips.root_of(previous)
        version = old["version"] + (0 if replacing else 1)
        if start_frame is None:
            start_frame = old["start"]
        speed = old["speed"]
        if replacing:
            number = old["number"]
            if location is None and old_root is not None:
                location = tuple(old_root.location)
            # its cells are rewritten where the new clip has them; the user's objects move over
            user_objects = clips.take_user_objects(previous)
            reuse = writer.detach_clip(previous)
        else:
            number = clips.next_number()
            message = (f"{previous.name!r} was edited by hand ({'; '.join(edited)}): "
                       f"the new clip is written beside it")
    else:
        number = clips.next_number()
    if start_frame is None:
        start_frame = float(scene.frame_start)
    if location is None:
        location = clips.free_location(scene, x_range)
    steps = len(timeline.tensors) + 1
    report = (lambda done, what: progress(done, steps, what)) if progress is not None else None
    if report:
        report(0, "stage")
    if template != "none" or use_template_camera or use_template_world:
        # Before the cells: framing needs only the timeline, and the camera fit evaluates the scene,
        # which costs seconds once it holds tens of thousands of new animated objects.
        has_camera, has_world = scene.camera is not None, scene.world is not None
        stage.setup_stage(scene, timeline, template=None if template == "none" else template,
                          use_camera=use_template_camera or (template != "none" and not has_camera),
                          use_world=use_template_world or (template != "none" and not has_world),
                          look=set_scene, offset=location)
    uid = clips.new_uid()
    prefix = f"{number}:"
    name = clips.collection_name(label, number)
    made = writer.write_clip(timeline, label, scene, mode, cube_size=request.look.cube_size, reuse=reuse,
                             share_identical=share_animation, name_prefix=prefix, collection_name=name,
                             location=location, tag=uid, frame_map=_frame_map(first, start_frame, speed),
                             progress=(lambda done, what: report(done + 1, what)) if report else None)
    writer.remove_objects(reuse.values())
    clips.give_back(user_objects, made.collection)
    if mode == "instanced" and (start_frame != first or speed != 1.0):
        clips.set_modifier_time(clips.clip_objects(made.collection)[0], start_frame, speed)
    end = start_frame + (float(timeline.frame_end) - first) / speed
    _key_camera(scene, the_plan, timeline, request.look, closeup_plan, made.root.location,
                lambda t: start_frame + (float(t) - first) / speed, uid)
    if set_scene:
        playback.set_playback(scene, int(round(start_frame)), int(round(end)), timeline.fps)
    clips.stamp(made.collection, made.written, uid=uid, number=number, spec=key, label=label, version=version, mode=mode,
                first=first, start=float(start_frame), speed=float(speed), root=made.root.name,
                x_range=[float(v) for v in x_range])
    clips.write_source(made.collection, sources.to_json(made_from))

    if report:
        report(steps, "done")
    tensors = dict(made.tensors)
    for alias, shown_by in timeline.aliases.items():
        if shown_by in tensors:
            tensors.setdefault(alias, tensors[shown_by])
    return GenerateResult(collection=made.collection, frame_start=int(round(start_frame)),
                          frame_end=int(round(end)), timeline=timeline, plan=the_plan, tensors=tensors,
                          boxes=dict(made.boxes), mode=mode, label=label, cells=dict(made.cells), root=made.root,
                          start_frame=float(start_frame), speed=float(speed), message=message,
                          replaced=previous is not None and replacing, texts=dict(made.texts),
                          closeup=closeup_plan)


def _key_camera(scene, the_plan, timeline, look, closeup_plan, root_location, frame_of, uid) -> None:
    """The camera's moves: following a chain's stages (Look.follow_camera), then the close-up."""
    import numpy as np
    from .engine.camera import stage_framing
    from .scene import closeup as moves
    framings = stage_framing(the_plan, timeline, look) if scene.camera is not None else []
    if not framings and closeup_plan is None:
        return
    frames, places = np.zeros(0), np.zeros((0, 3))
    if framings:
        frames, places = moves.follow_keys(scene, framings, root_location, frame_of)
    if closeup_plan is not None:
        home = places[-1] if len(places) else np.array(scene.camera.location, float)
        more, where = moves.closeup_keys(scene, closeup_plan, root_location, [frame_of(k) for k in closeup_plan.keys],
                                         home)
        frames, places = np.r_[frames, more], np.vstack([places, where])
    moves.key_camera(scene, frames, places, uid)


def _plan_closeup(the_plan, timeline, cell, look, stage):
    """The close-up on ``cell`` of the last convolution; its board joins the texts, its frames the clip."""
    from .engine import closeup
    made = closeup.plan_closeup(the_plan, timeline, cell, look, stage.camera_direction())
    timeline.texts = list(timeline.texts) + made.texts
    timeline.frame_end = int(made.keys[-1])
    return made


def _plan_numbers(timeline, look) -> dict:
    from .engine import labels
    return labels.plan_numbers(timeline, look)


def _plan_texts(the_plan, timeline, look, stage) -> list:
    """The texts the look asks for (engine/labels.py), facing the framing camera's direction."""
    from .engine import labels
    from .engine.options import LABEL_ELEMENTS, shows_label
    if not any(shows_label(look, element) for element in LABEL_ELEMENTS):
        return []
    return labels.plan_texts(the_plan, timeline, look, stage.camera_direction())


def _kernel_names(weights) -> bool:
    """Whether ``weights`` names kernels (a name, or a list of names and Nones) rather than giving arrays."""
    if isinstance(weights, str):
        return True
    return (isinstance(weights, (list, tuple)) and any(isinstance(w, str) for w in weights)
            and all(w is None or isinstance(w, str) for w in weights))


def _model_values(spec_or_model, input_shape, weights, bias):
    """(spec, weights, bias) of a PyTorch model and its ``input_shape`` (``engine.from_torch``); anything else
    passes through with the weights and bias given."""
    torch = sys.modules.get("torch")     # a model can only exist when torch is loaded: never import it here
    if torch is None or not isinstance(spec_or_model, torch.nn.Module):
        if input_shape is not None:
            raise SpecError("input_shape", input_shape, "None: input_shape goes with a PyTorch model")
        return spec_or_model, weights, bias
    from .engine.torch_model import from_torch
    for name, value in (("weights", weights), ("bias", bias)):
        if value is not None:
            raise SpecError(name, "an array" if hasattr(value, "shape") else value,
                            "None: a PyTorch model brings its own")
    if input_shape is None:
        raise SpecError("input_shape", None, "the shape of one sample the model takes, e.g. (3, 32, 32)")
    model = from_torch(spec_or_model, input_shape)
    return model.spec, model.weights, model.bias


def _x_range(timeline, stage) -> tuple[float, float]:
    """The clip's extent along x relative to its root (where its cubes rest and move)."""
    points = stage.framing_points(timeline, pad=0.0)
    return float(points[:, 0].min()), float(points[:, 0].max())


def _clip_collection(clip):
    """The clip collection of a GenerateResult or a clip collection (SpecError otherwise)."""
    import bpy
    from .scene import clip as clips
    collection = getattr(clip, "collection", clip)
    if not isinstance(collection, bpy.types.Collection) or clips.record(collection) is None:
        raise SpecError("clip", clip, "a GenerateResult or a clip collection made by api.generate")
    return collection


def retime(clip, start_frame: float | None = None, speed: float | None = None) -> tuple[float, float]:
    """Show a clip from scene frame ``start_frame`` at ``speed`` (timeline frames per scene frame), in
    both modes and without regenerating: the scene frame ``f`` shows the timeline's frame
    ``(f - start_frame) * speed + timeline.frame_start``. Keys of the clip's objects, empties and boxes
    move in bulk (their handles too); instanced tensors get the modifier's Start frame / Speed.
    ``clip``: a GenerateResult or a clip collection. Returns the clip's (start_frame, speed)."""
    from .scene import clip as clips
    collection = _clip_collection(clip)
    data = clips.record(collection)
    start = data["start"] if start_frame is None else _check_start_frame(start_frame)
    speed = data["speed"] if speed is None else _check_speed(speed)
    data = clips.retime(collection, start, speed)
    if isinstance(clip, GenerateResult):
        clip.start_frame, clip.speed = data["start"], data["speed"]
        clip.frame_start = int(round(data["start"]))
        clip.frame_end = int(round(data["start"] + (clip.timeline.frame_end - data["first"]) / data["speed"]))
    return data["start"], data["speed"]


def is_instanced_tensor(obj) -> bool:
    """Whether ``obj`` is an instanced clip's tensor (its point object): what :func:`make_editable` takes."""
    from .scene import instanced
    return instanced.is_point_object(obj)


def _check_channels(channels):
    if channels is None:
        return None
    allowed = "None (every channel) or (first, last): channel numbers, 0 <= first <= last"
    try:
        first, last = channels
    except (TypeError, ValueError):
        raise SpecError("channels", channels, allowed) from None
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in (first, last)) or not 0 <= first <= last:
        raise SpecError("channels", channels, allowed)
    return first, last


def make_editable(clip, channels=None, tensors=None) -> list:
    """Turn cells of an instanced clip into ordinary keyframed objects (the objects mode's) that look the same
    at every frame, so they can be edited by hand; returns the new objects.

    ``clip``: a GenerateResult, a clip collection, or one of its instanced tensors (point object: that
    tensor only). ``channels``: (first, last) to take only those channels' cells (inclusive), None for all.
    ``tensors``: names of the tensors to take (None: every instanced tensor of the clip).
    The cells are rebuilt by the engine from what the clip stores (its spec, timing, look, seed, order and
    input), never read back from Blender data; they go into a ``<tensor collection> / editable`` child
    collection and their points leave the point object. Cells already made editable are skipped. A clip
    that was not edited by hand stays unedited."""
    import bpy
    from .engine.timeline import MAX_CELL_READS, count_cell_reads
    from .scene import clip as clips, editable
    channels = _check_channels(channels)
    if isinstance(clip, bpy.types.Object):      # one tensor: its point object
        if not is_instanced_tensor(clip):
            raise SpecError("clip", clip.name, "a clip, or an instanced tensor of one (its point object)")
        if tensors is None:
            tensors = [clip["animatedai_tensor"]]
        owner = clips.owner(clip)
        if owner is None:
            raise SpecError("clip", clip.name, "an instanced tensor inside a clip made by api.generate")
        clip = owner
    collection = _clip_collection(clip)
    points = editable.point_objects(collection)
    if tensors is not None:
        if isinstance(tensors, str) or not all(isinstance(t, str) for t in tensors):
            raise SpecError("tensors", tensors, "None or a list of tensor names")
        by_name = {editable.tensor_name(p): p for p in points}
        unknown = [t for t in tensors if t not in by_name]
        if unknown:
            raise SpecError("tensors", unknown[0], "instanced tensors of the clip: " + ", ".join(sorted(by_name)))
        points = [by_name[t] for t in tensors]
    if not points:
        raise SpecError("clip", collection.name, "a clip written in instanced mode (an objects-mode clip's cells "
                        "are editable already)")
    source = clips.read_source(collection)
    reads = count_cell_reads(source.spec)
    if reads > MAX_CELL_READS:
        raise SpecError("clip", collection.name, f"a clip whose steps read at most {MAX_CELL_READS:,} cells: "
                        f"this one reads {reads:,}, and editable cells key each read")
    return editable.write_editable(collection, source.timeline(highlights=True), points, channels,
                                   cube_size=source.look.cube_size)


def trace(clip, cell, node=None, start_frame: float | None = None, frames_per_stage: float = 12.0) -> list:
    """Light the receptive field of one output cell: the cells it depends on, stage by stage back from it
    (``engine.trace``, read from the plans). ``clip``: a GenerateResult or a clip collection; ``cell``: an
    index into ``node``'s output in PyTorch's layout, e.g. (c, y, x); ``node``: a graph's node name, a chain's
    stage index or None (the last stage). The picked cell lights at scene frame ``start_frame`` (default: the
    current frame), each stage further back ``frames_per_stage`` later; the lit cubes stand where the cells
    rest once every stage has run. A new trace replaces the clip's earlier one. Returns the trace objects
    (one per traced tensor, in the clip's collection)."""
    import bpy
    from .engine.evaluate import state_at
    from .engine.trace import traced_cubes
    from .scene import clip as clips, trace as traces
    collection = _clip_collection(clip)
    start_frame = _check_start_frame(start_frame)
    frames_per_stage = _check_number("frames_per_stage", frames_per_stage, "a number of frames > 0", positive=True)
    source = clips.read_source(collection)
    lit = traced_cubes(source.plan(), node, cell)
    timeline = source.timeline(highlights=False)
    settled = float(timeline.step_frames.max()) + timeline.pop_frames + 1.0
    rest = {name: state.world_position for name, state in state_at(timeline, settled).items()}
    data = clips.record(collection)
    unedited = not clips.edits(collection)
    traces.remove_trace(collection)
    scene = bpy.context.scene
    first = float(scene.frame_current if start_frame is None else start_frame)
    made = traces.write_trace(collection, clips.root_of(collection), data["uid"], lit, rest, source.look.cube_size,
                              first, frames_per_stage, name_prefix=f"{data['number']}:")
    if unedited:        # the trace is the add-on's: the clip stays unedited
        clips.stamp(collection)
    return made


def picked_cell(obj):
    """(clip collection, node, cell) of a cell object of a clip's stage output, for :func:`trace`; SpecError
    for any other object."""
    import numpy as np
    from .engine.trace import tensor_names, tensor_tracks
    from .scene import clip as clips, writer
    collection = clips.owner(obj) if obj is not None else None
    tensors = [c.get(writer.PROP_TENSOR) for c in getattr(obj, "users_collection", ())
               if c.get(writer.PROP_TENSOR) is not None]
    if collection is None or not tensors:
        raise SpecError("cell", getattr(obj, "name", obj), "a cell object of a clip made by api.generate")
    source = clips.read_source(collection)
    the_plan = source.plan()
    track = next(t for t in source.timeline(highlights=False).tensors if t.name == tensors[0])
    names = track.cell_names()
    prefix = f"{clips.record(collection)['number']}:"
    name = obj.name[len(prefix):] if obj.name.startswith(prefix) else obj.name
    if name not in names:
        raise SpecError("cell", obj.name, f"a cell of {track.name!r} as the clip made it")
    index = names.index(name)
    shown = tensor_tracks(the_plan)
    for stage_name, stage, _ in reversed(tensor_names(the_plan)):     # the latest stage these cubes show
        shown_track, cells = shown[stage_name]
        hit = np.flatnonzero(cells.ravel() == index) if shown_track == track.name else ()
        if len(hit):
            return collection, stage_name, tuple(int(i) for i in np.unravel_index(hit[0], stage.spec.output_shape))
    raise SpecError("cell", obj.name, "a cell of a stage's output (an input cell depends on nothing)")


def make_single_user(objects) -> int:
    """Give each of ``objects`` (cells that share their animation with twins) an animation of its own, so
    editing its keys leaves its twins alone; returns how many were separated. Objects that play no
    shared animation are left as they are; the twins' shared slot is renamed to its new count."""
    import bpy
    from .scene import clip as clips, compat, writer
    objects = list(objects)
    for obj in objects:
        if not isinstance(obj, bpy.types.Object) or not writer.is_ours(obj):
            raise SpecError("objects", getattr(obj, "name", obj), "cells of a clip made by api.generate")
    groups = _animation_groups()
    shared = [o for o in objects if len(groups.get(_animation_key(o), ())) > 1]
    owners = _clip_owners()
    touched = {owners[o.as_pointer()] for o in shared if o.as_pointer() in owners}
    unedited = {c for c in touched if not clips.edits(c)}
    separated = 0
    for obj in shared:
        key = _animation_key(obj)
        if len(groups[key]) <= 1:       # its twins were all separated before it
            continue
        collection = owners.get(obj.as_pointer())
        uid = clips.record(collection)["uid"] if collection is not None else obj.name
        separated += 1
        compat.own_animation(obj, f"AnimatedAI {obj.name}", {writer.TAG: uid})
        groups[key] = [o for o in groups[key] if o != obj]
        rest = groups[key]
        compat.name_animation(rest[0], f"{rest[0].name} \u00d7{len(rest)}" if len(rest) > 1 else rest[0].name)
    for collection in unedited:      # the add-on's own change: an unedited clip stays unedited
        clips.stamp(collection)
    return separated


def _animation_key(obj):
    from .scene import compat
    animation = obj.animation_data
    if animation is None or animation.action is None:
        return None
    return (animation.action.name, compat.slot_handle(animation))


def _animation_groups() -> dict:
    """(action, slot) -> the objects that play it, over the whole file."""
    import bpy
    groups = {}
    for obj in bpy.data.objects:
        key = _animation_key(obj)
        if key is not None:
            groups.setdefault(key, []).append(obj)
    return groups


def _clip_owners() -> dict:
    """Object pointer -> the clip collection holding it, for every clip in the file."""
    import bpy
    from .scene import clip as clips
    owners = {}
    for collection in bpy.data.collections:
        if clips.record(collection) is not None:
            for obj in collection.all_objects:
                owners.setdefault(obj.as_pointer(), collection)
    return owners


def _read_image_input(input, spec):
    """An image path read by Blender's own loader (the engine would need Pillow); anything else as given."""
    from .scene import images
    return images.read_image(input, spec.input_shape) if images.is_image_path(input) else input


def clip_label(spec_or_preset_name) -> str:
    """The label of a spec, spec dict or preset name: its operation and shapes (``conv 3x3 valid 8x8x8→8x6x6``)."""
    from .scene.clip import clip_label as label_of
    return label_of(resolve_spec(spec_or_preset_name).spec)


def clear(spec_or_preset_name=None, scene=None, progress=None) -> int:
    """Remove the add-on's clips from ``scene`` (all, or the ones of a spec/preset) and the add-on's
    data-blocks nothing uses any more (objects, actions, meshes, materials, node groups), found by the
    ``animatedai`` tag the add-on writes on them; with no clip left in the scene, its stage (camera,
    lights, floor, world) goes too unless another scene shows it. Returns how many clips were removed.
    Nothing the user made is touched: objects a user put into a clip's collections move to the scene.
    ``weights``: a named kernel for a Conv2d (``"sobel_x"``, ``"sobel_y"``, ``"blur"``, ``"sharpen"``,
    ``"identity"``; for a chain a list of one name or None per stage): it becomes the spec's ``weights``.
    ``progress(done, total, what)``, if given, is called before each clip is removed and at the end; it may
    raise :class:`Cancelled`."""
    from .scene import clip as clips, stage, writer

    key = None
    if spec_or_preset_name is not None:
        key = clips.spec_key(resolve_spec(spec_or_preset_name).spec)
    import bpy
    scene = _resolve_scene(scene)
    # the scene's clips, and clips no scene links any more (a user unlinked them: nobody else owns them)
    candidates = clips.scene_clips(scene) + [c for c in bpy.data.collections
                                             if c.users == 0 and clips.record(c) is not None]
    removed = [c for c in candidates if key is None or clips.record(c)["spec"] == key]
    for done, collection in enumerate(removed):
        if progress is not None:
            progress(done, len(removed), collection.name)
        clips.remove(collection)
    writer.purge()
    if not clips.scene_clips(scene):
        stage.remove_stage(scene)
    if progress is not None:
        progress(len(removed), len(removed), "done")
    return len(removed)


def render(job=None, progress=None, **kwargs):
    """Render a clip to PNG frames, MP4 and GIF: ``render(preset="conv-3x3-valid", engine="workbench")``.

    The arguments are those of :class:`animatedai_addon.rendering.RenderJob` (or one ``RenderJob``);
    returns a ``RenderResult`` with the frames, videos and the saved ``.blend``.
    """
    import sys
    from . import rendering
    # rendering sits below the API and never imports it: it builds the clip through this module (generate,
    # check_budget), handed in here
    return rendering.render(job, sys.modules[__name__], progress=progress, **kwargs)
