"""Rendering clips: a job, its scene, its frames (resumable, atomic) and its videos.

One :class:`RenderJob` says what to render and how. The steps are separate
functions so that a render farm can spread them (``farm.py``):

* :func:`prepare_scene` builds the job's scene through ``api.generate`` and sets
  the render settings; it saves the generated ``.blend`` beside the renders.
* :func:`render_frames` renders an inclusive frame range of that scene. A frame that
  already exists complete is skipped, and every frame is written under a temporary name
  in the same folder and then ``os.replace``'d, so a killed render leaves no
  truncated frame and a re-run picks up where it stopped.
* :func:`assemble_videos` makes the MP4 (Blender's own FFmpeg, H.264, yuv420p)
  and the GIF (Pillow, one palette for all frames) from the finished frames.
* :func:`render` does all three (``api.render``).

Modules, by concern: :mod:`.job` (the job and its checks in plain Python), :mod:`.checks` (what is checked
before rendering), :mod:`.outputs` (paths, atomic files, the folder's signature and lock), :mod:`.settings`
(render settings), :mod:`.prepare` (the job's scene), :mod:`.frames`, :mod:`.video` and :mod:`.pipeline`
(all of it). Rendering sits below the scripting API and never imports it: the functions that build or size a
clip take the API as ``api`` (``animatedai_addon.api`` hands itself in). Command-line parsing lives in
``scripts/render_cli.py``.

Output layout under ``job.out``: ``frames/<clip>_0001.png``…, ``<clip>.mp4``,
``<clip>.gif``, ``<clip>.blend``. ``bpy`` is imported only where Blender is
needed: a job can be made and checked in plain Python (the scripts' argument
checks run before Blender starts rendering anything).
"""

from .checks import ClipAPI, check_frames_in_clip, check_job, clip_range
from .frames import Progress, format_seconds, render_frames, render_one_frame
from .exports import EXPORT_FORMATS, GLB_MAX_CUBES, write_exports
from .job import DEFAULT_PRESET, ENGINES, FORMATS, RenderJob, as_job, job_key, load_job_preset
from .outputs import (PARTIAL_MARK, acquire_output_lock, blend_path, check_frames_signature, check_out_folder,
                      frame_path, frames_dir, is_complete_png, lock_path, out_dir, release_output_lock,
                      signature_path, video_path)
from .pipeline import RenderResult, render
from .prepare import JOB_PROPERTY, job_scene, prepare_scene
from .settings import (CYCLES_SPEED_SETTINGS, GPU_BACKENDS, cycles_has_openimagedenoise, gpu_backend,
                       set_output_settings, set_render_settings)
from .video import assemble_videos, gif_durations, job_fps, write_gif, write_mp4

__all__ = [
    "ClipAPI", "check_frames_in_clip", "check_job", "clip_range",
    "Progress", "format_seconds", "render_frames", "render_one_frame",
    "EXPORT_FORMATS", "GLB_MAX_CUBES", "write_exports",
    "DEFAULT_PRESET", "ENGINES", "FORMATS", "RenderJob", "as_job", "job_key", "load_job_preset",
    "PARTIAL_MARK", "acquire_output_lock", "blend_path", "check_frames_signature", "check_out_folder",
    "frame_path", "frames_dir", "is_complete_png", "lock_path", "out_dir", "release_output_lock",
    "signature_path", "video_path",
    "RenderResult", "render",
    "JOB_PROPERTY", "job_scene", "prepare_scene",
    "CYCLES_SPEED_SETTINGS", "GPU_BACKENDS", "cycles_has_openimagedenoise", "gpu_backend",
    "set_output_settings", "set_render_settings",
    "assemble_videos", "gif_durations", "job_fps", "write_gif", "write_mp4",
]
