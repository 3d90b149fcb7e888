"""Stage templates: ``blend_templates/<name>.blend`` made by ``scripts/build_templates.py``.

A template file holds one scene named ``AnimatedAI <name>`` with the stage rig
(camera, camera target, area lights, floor: objects named ``AnimatedAI …``), a
world named ``AnimatedAI <name> World`` and the render settings of the look
(colour management, Cycles, Eevee, Workbench). It holds no cubes.

:func:`append_template` appends the rig objects and the world, and copies the
look's render settings from the template scene (linked for a moment, then
released), so a user who edits the template in Blender changes the look.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.errors import SpecError

# bpy is imported inside the functions that need it: check_template serves the render scripts'
# argument checks, which run before (and without) Blender.

TEMPLATES = ("studio", "flat")
ALLOWED = "one of studio, flat, none"
STAGE_PREFIX = "AnimatedAI "
CAMERA_TARGET = "AnimatedAI Camera Target"
CAMERA = "AnimatedAI Camera"

#: Render settings a template carries, per settings group; attributes missing in this Blender are skipped.
LOOK_SETTINGS = {
    "view_settings": ("view_transform", "look", "exposure", "gamma"),
    "render": ("film_transparent",),
    "cycles": ("samples", "use_adaptive_sampling", "adaptive_threshold", "use_denoising", "max_bounces",
               "diffuse_bounces", "glossy_bounces", "transmission_bounces", "transparent_max_bounces",
               "caustics_reflective", "caustics_refractive", "blur_glossy", "sample_clamp_indirect"),
    "eevee": ("taa_render_samples", "use_shadows", "use_raytracing", "ray_tracing_method", "use_fast_gi",
              "fast_gi_method", "shadow_ray_count", "shadow_step_count", "use_gtao", "use_ssr", "use_soft_shadows"),
    "display.shading": ("light", "color_type", "show_shadows", "shadow_intensity", "show_cavity",
                        "show_specular_highlight", "show_object_outline", "studio_light"),
    "display": ("shadow_focus", "shadow_shift", "light_direction"),
}


def check_template(name) -> str:
    """Normalise a template name: None or "none" -> "none"; unknown names raise SpecError."""
    if name is None:
        return "none"
    if isinstance(name, str):
        word = name.strip().lower()
        if word in ("none", ""):
            return "none"
        if word in TEMPLATES:
            return word
    raise SpecError("template", name, ALLOWED)


def template_dirs() -> list[Path]:
    """Where templates are looked for: beside the package (an installed extension), then the repository."""
    here = Path(__file__).resolve().parent.parent
    return [here / "blend_templates", here.parent / "blend_templates"]


def template_path(name: str) -> Path:
    word = check_template(name)
    if word == "none":
        raise SpecError("template", name, "one of studio, flat (the 'none' stage is built in code)")
    for folder in template_dirs():
        path = folder / f"{word}.blend"
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"template {word!r}: no {word}.blend in {', '.join(str(d) for d in template_dirs())}; "
        "run scripts/build_templates.py")


def scene_name(name: str) -> str:
    return f"{STAGE_PREFIX}{name}"


def world_name(name: str) -> str:
    return f"{STAGE_PREFIX}{name} World"


def append_template(scene, name: str, collection, *, camera: bool = True, world: bool = True, look: bool = True):
    """Append the rig, the world and the look of template ``name`` into ``scene``; returns the world
    (None when ``world`` is False).

    Rig objects already in the file (same names, same template) are kept as they are,
    so a light the user moved is not replaced. ``camera=False`` leaves the template's camera
    out, ``world=False`` its world, ``look=False`` its render settings.
    """
    import bpy
    path = str(template_path(name))
    if look:
        copy_look(path, scene, name)
    with bpy.data.libraries.load(path, link=False) as (src, dst):
        dst.objects = [n for n in src.objects if n.startswith(STAGE_PREFIX) and n not in bpy.data.objects
                       and (camera or n != CAMERA)]
        dst.worlds = [n for n in src.worlds if world and n == world_name(name) and n not in bpy.data.worlds]
    for obj in dst.objects:
        if obj is not None and obj.name not in collection.objects:
            collection.objects.link(obj)
    _retarget_constraints(collection)
    _release_library(path)      # appended data is local; the file's Library entry is only a leftover
    return bpy.data.worlds[world_name(name)] if world else None


def _release_library(path: str) -> None:
    import bpy
    wanted = Path(path).resolve()
    for lib in list(bpy.data.libraries):
        if Path(bpy.path.abspath(lib.filepath)).resolve() == wanted:
            bpy.data.libraries.remove(lib)


def _retarget_constraints(collection) -> None:
    """Appending a camera whose target is already here brings a second target along: point at ours."""
    import bpy
    target = bpy.data.objects.get(CAMERA_TARGET)
    for obj in collection.objects:
        for con in obj.constraints:
            if con.type == "TRACK_TO" and con.target is not None and con.target != target \
                    and con.target.name.startswith(CAMERA_TARGET):
                stray = con.target
                con.target = target
                if stray.users_collection == () or not stray.users_collection:
                    bpy.data.objects.remove(stray, do_unlink=True)
        if obj.type == "CAMERA" and obj.data.dof.focus_object is not None \
                and obj.data.dof.focus_object.name != CAMERA_TARGET:
            obj.data.dof.focus_object = target


def copy_look(path: str, scene, name: str) -> None:
    """Copy LOOK_SETTINGS from the template's scene, linked only for the copy."""
    import bpy
    _release_library(path)
    with bpy.data.libraries.load(path, link=True) as (src, dst):
        dst.scenes = [scene_name(name)] if scene_name(name) in src.scenes else []
    try:
        for source in dst.scenes:
            if source is not None:
                copy_settings(source, scene)
    finally:
        _release_library(path)      # the linked scene and everything it brought go with it


def _resolve(scene, dotted: str):
    obj = scene
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def copy_settings(source_scene, scene) -> None:
    for group, names in LOOK_SETTINGS.items():
        src, dst = _resolve(source_scene, group), _resolve(scene, group)
        if src is None or dst is None:
            continue  # e.g. the Cycles add-on not registered
        for attr in names:
            # Attributes differ between Blender versions (4.2 has use_gtao, 5.0 use_fast_gi): copy those both have.
            if hasattr(src, attr) and hasattr(dst, attr):
                value = getattr(src, attr)
                if attr == "studio_light" and not value:
                    continue
                setattr(dst, attr, value if not hasattr(value, "__len__") or isinstance(value, str) else tuple(value))
