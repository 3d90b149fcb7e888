"""A render's files beside the pictures: the caption track (``srt``) and the web export (``glb``).

``srt``: the caption track of the whole clip (engine/labels.py's cues), whatever ``frames`` renders: time 0
is the clip's first frame. ``glb``: the clip as glTF binary from Blender's own exporter
(``bpy.ops.export_scene.gltf``), its animation sampled at every frame of the clip; an instanced clip is made
editable first (its cells become keyed objects), up to :data:`GLB_MAX_CUBES` cubes, and refused above.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.errors import SpecError
from .job import RenderJob
from .outputs import temporary_path, video_path, write_atomically

#: What a render writes from the clip rather than from its frames.
EXPORT_FORMATS = ("srt", "glb")
#: Most cubes a .glb holds: every cube becomes a node with its own sampled animation (a browser viewer slows
#: down well before; the instanced mode's millions are refused).
GLB_MAX_CUBES = 20_000


def check_exports(job: RenderJob, result) -> None:
    """SpecError before anything renders when an export cannot be made from this clip."""
    cubes = result.timeline.cube_count
    if "glb" in job.formats and cubes > GLB_MAX_CUBES:
        raise SpecError("formats", "glb", f"a clip of at most {GLB_MAX_CUBES:,} cubes for the glTF export "
                        f"(each cube is a node with its own animation); this one has {cubes:,}")


def write_exports(job: RenderJob, result, api) -> list[Path]:
    """The job's ``srt`` and ``glb`` files (those among its formats); returns the files written."""
    written = []
    if "srt" in job.formats:
        written.append(write_srt(video_path(job, "srt"), result))
    if "glb" in job.formats:
        written.append(write_glb(video_path(job, "glb"), result, api))
    return written


def srt_of(result) -> str:
    """The clip's caption track as SubRip text, in the scene's time (its start frame and speed)."""
    from ..engine import labels
    timeline = result.timeline
    cues = labels.captions(result.plan, timeline)
    shown = [labels.Cue(result.start_frame + (c.start - timeline.frame_start) / result.speed,
                        result.start_frame + (c.end - timeline.frame_start) / result.speed, c.text, c.stage)
             for c in cues]
    return labels.srt_text(shown, timeline.fps, first_frame=result.frame_start)


def write_srt(path: Path, result) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, srt_of(result).encode("utf-8"))
    return path


def write_glb(path: Path, result, api) -> Path:
    """The clip (its collection's objects) as .glb with its animation, every frame of the clip sampled."""
    import bpy
    if result.mode == "instanced":
        api.make_editable(result)
    scene = next(s for s in bpy.data.scenes if result.collection in s.collection.children_recursive)
    objects = {o for c in [result.collection] + list(result.collection.children_recursive) for o in c.objects}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    window = bpy.context.window
    try:
        with bpy.context.temp_override(window=window, scene=scene, view_layer=scene.view_layers[0]):
            for obj in scene.view_layers[0].objects:
                obj.select_set(obj in objects)
            start, end = scene.frame_start, scene.frame_end
            scene.frame_start, scene.frame_end = result.frame_start, result.frame_end
            try:
                bpy.ops.export_scene.gltf(filepath=str(tmp), export_format="GLB", use_selection=True,
                                          export_animations=True, export_animation_mode="SCENE",
                                          export_force_sampling=True, export_frame_range=True,
                                          export_frame_step=1, export_anim_scene_split_object=False,
                                          export_materials="EXPORT")
            finally:
                scene.frame_start, scene.frame_end = start, end
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
