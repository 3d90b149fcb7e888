"""A job's videos from its finished frames: MP4 (H.264, yuv420p) through Blender's own FFmpeg, GIF through Pillow
with one palette shared by every frame."""

from __future__ import annotations

import os
from pathlib import Path

from ..engine.errors import SpecError
from ..scene.playback import set_playback
from .job import RenderJob, as_job, load_job_preset
from .outputs import frame_path, is_complete_png, temporary_path, video_path
from .prepare import job_scene


def job_frame_range(job: RenderJob) -> tuple[int, int]:
    """The job's frames, or the range of the scene prepared for it in this Blender session."""
    if job.frames:
        return job.frames
    scene = job_scene(job)
    if scene is None:
        raise SpecError("frames", None, "the frames to assemble (A-B), or a scene prepared for the job in this "
                        "Blender session")
    return scene.frame_start, scene.frame_end


def job_fps(job: RenderJob) -> int:
    return int(job.fps or load_job_preset(job).timing.fps)


def assemble_videos(job: RenderJob) -> list[Path]:
    """The job's MP4 and/or GIF from its finished frames; returns the files written."""
    job = as_job(job)
    first, last = job_frame_range(job)
    frames = [frame_path(job, f) for f in range(first, last + 1)]
    missing = [p for p in frames if not is_complete_png(p)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(frames)} frames are not rendered yet, "
                                f"first missing: {missing[0]}")
    fps = job_fps(job)
    written = []
    if "mp4" in job.formats:
        written.append(write_mp4(frames, video_path(job, "mp4"), fps, job.resolution))
    if "gif" in job.formats:
        written.append(write_gif(frames, video_path(job, "gif"), fps))
    return written


def write_mp4(frames: list[Path], path: Path, fps: int, resolution: tuple[int, int]) -> Path:
    """H.264 in MP4 (yuv420p, web-friendly) through Blender's FFmpeg: a sequencer scene of the PNGs."""
    import bpy
    scene = bpy.data.scenes.new("AnimatedAI assemble")
    try:
        editor = scene.sequence_editor_create()
        strips = editor.strips if hasattr(editor, "strips") else editor.sequences   # 5.0 renamed it
        strip = strips.new_image("frames", str(frames[0]), 1, 1)
        for frame in frames[1:]:
            strip.elements.append(frame.name)
        set_playback(scene, 1, len(frames), fps)
        render = scene.render
        render.resolution_x, render.resolution_y = resolution
        render.resolution_percentage = 100
        # The frames are already display-referred: pass them through without a second view transform.
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        scene.view_settings.exposure, scene.view_settings.gamma = 0.0, 1.0
        set_ffmpeg_output(scene, fps)
        tmp = temporary_path(path)
        render.filepath = str(tmp)
        bpy.ops.render.render(animation=True, scene=scene.name)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"Blender's FFmpeg did not write {tmp}")
        os.replace(tmp, path)
    finally:
        bpy.data.scenes.remove(scene)
    return path


def set_ffmpeg_output(scene, fps: int) -> None:
    """H.264 in MP4, web-friendly."""
    from ..scene import compat
    compat.set_ffmpeg_output(scene, container="MPEG4", codec="H264")
    image = scene.render.image_settings
    image.color_mode = "RGB"                     # no alpha: H.264 then writes yuv420p, which browsers play
    ffmpeg = scene.render.ffmpeg
    ffmpeg.constant_rate_factor = "HIGH"
    ffmpeg.ffmpeg_preset = "GOOD"
    ffmpeg.gopsize = max(1, fps)                 # a keyframe a second: seeking on the web stays quick
    ffmpeg.max_b_frames = 0
    ffmpeg.audio_codec = "NONE"


def gif_durations(count: int, fps: int) -> list[int]:
    """Per-frame durations in ms: GIF counts in 10 ms ticks, so 24 fps alternates 40 and 50 ms and
    the clip keeps its length (the running sum never drifts more than 5 ms from frame * 1000/fps)."""
    ticks = [round(i * 100 / fps) for i in range(count + 1)]
    return [10 * (b - a) for a, b in zip(ticks, ticks[1:])]


def write_gif(frames: list[Path], path: Path, fps: int) -> Path:
    """GIF with one palette shared by every frame (no flicker between frames), no dithering, looping."""
    from PIL import Image
    images = [Image.open(p).convert("RGB") for p in frames]
    palette = shared_palette(images)
    indexed = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    tmp = temporary_path(path)
    # palette= makes Pillow write it once as the global table (without it, every later frame gets a local one)
    indexed[0].save(tmp, format="GIF", save_all=True, append_images=indexed[1:], loop=0,
                    duration=gif_durations(len(indexed), fps), optimize=False, disposal=1,
                    palette=bytes(palette.getpalette()))
    os.replace(tmp, path)
    return path


def shared_palette(images, colors: int = 256, sample_size: int = 256):
    """One adaptive palette for all frames: quantize a mosaic of (shrunken) frames together."""
    from PIL import Image
    step = max(1, len(images) // 64)             # a few dozen frames represent the clip's colours
    picked = images[::step]
    thumbs = [im.resize((min(sample_size, im.width), max(1, round(im.height * min(sample_size, im.width) / im.width))))
              for im in picked]
    mosaic = Image.new("RGB", (thumbs[0].width, sum(t.height for t in thumbs)))
    y = 0
    for thumb in thumbs:
        mosaic.paste(thumb, (0, y))
        y += thumb.height
    return mosaic.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
