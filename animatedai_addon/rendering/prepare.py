"""The job's scene: the clip built through the API's ``generate``, the job's render settings, the saved ``.blend``."""

from __future__ import annotations

from .checks import ClipAPI, check_job
from .job import RenderJob, as_job, job_key
from .outputs import blend_path, claim_output_folder, save_blend
from .settings import set_output_settings, set_render_settings

JOB_PROPERTY = "animatedai_job"          # scene custom property: the key of the job the scene was built for


def prepare_scene(job: RenderJob, api: ClipAPI, fresh: bool | None = None):
    """Build the job's scene (``api.generate``), set its render settings, save its ``.blend``.

    ``fresh`` (default: when Blender runs without a window) starts from an empty file so
    every job renders the same; otherwise the clip is built in a new scene of the open file.
    Returns ``api.generate``'s result (``frame_start``/``frame_end`` are the clip's range).
    """
    import bpy
    job = as_job(job)
    preset = check_job(job, api)
    fresh = bpy.app.background if fresh is None else fresh
    if fresh:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
    else:
        scene = bpy.data.scenes.new(f"AnimatedAI render {job.clip}")
    set_output_settings(scene, job)                        # before generate: the stage frames for this aspect
    # A render owns its scene: the clip sets the frame range, fps (the job's, applied to the preset's timing)
    # and look, and brings the template's camera and world (with template "none", the plain stage built in
    # code). No --template: the preset's own.
    template = job.template or preset.template
    result = api.generate(preset.spec, mode=job.mode, timing=preset.timing, look=preset.look, input=preset.input,
                          template=template, scene=scene, set_scene=True, use_template_camera=True,
                          use_template_world=True, closeup=job.closeup)
    set_render_settings(scene, job)                        # after generate: a template's look, then our choices
    scene[JOB_PROPERTY] = job_key(job)
    claim_output_folder(job)
    save_blend(blend_path(job))
    return result


def job_scene(job: RenderJob):
    """The scene :func:`prepare_scene` built for ``job`` in this Blender session, or None."""
    import bpy
    key = job_key(job)
    return next((scene for scene in bpy.data.scenes if scene.get(JOB_PROPERTY) == key), None)
