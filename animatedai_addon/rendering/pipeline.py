"""All of a render: check the job, hold its output folder, build its scene, render its frames, make its videos."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .checks import ClipAPI, check_frames_in_clip, check_job
from .exports import EXPORT_FORMATS, check_exports, write_exports
from .frames import render_frames
from .job import RenderJob, as_job
from .outputs import acquire_output_lock, blend_path, release_output_lock
from .prepare import prepare_scene
from .video import assemble_videos


@dataclass
class RenderResult:
    job: RenderJob
    first: int                  # the inclusive frame range rendered
    last: int
    frames: list[Path]          # PNG frames kept (empty when png is not among the formats)
    videos: list[Path]
    blend: Path
    seconds: float
    exports: list[Path] = field(default_factory=list)     # the .srt / .glb written (rendering/exports.py)

    @property
    def outputs(self) -> list[Path]:
        return ([*self.frames] if "png" in self.job.formats else []) + self.videos + self.exports + [self.blend]


def render(job: RenderJob | None, api: ClipAPI, /, progress=None, **kwargs) -> RenderResult:
    """Render a clip: ``render(RenderJob(...), api)`` or ``render(None, api, preset="conv-3x3-valid")``;
    ``api`` builds the clip (``animatedai_addon.api``, whose ``render`` hands itself in).

    Frames are the job's ``frames`` or the clip's whole range. PNG frames are kept only when
    ``png`` is among the formats (they are the resumable intermediate of the videos).
    """
    started = time.perf_counter()
    job = as_job(job, **kwargs)
    check_job(job, api)
    if job.frames:
        check_frames_in_clip(job, api)               # as the command line does: within the clip
    acquire_output_lock(job)
    try:
        return _render_locked(job, api, progress, started)
    finally:
        release_output_lock(job)


def _render_locked(job: RenderJob, api: ClipAPI, progress, started: float) -> RenderResult:
    result = prepare_scene(job, api)
    check_exports(job, result)
    first, last = job.frames or (int(result.frame_start), int(result.frame_end))
    frames, videos = [], []
    if any(f not in EXPORT_FORMATS for f in job.formats):     # pictures asked for: png, mp4 or gif
        frames = render_frames(job, first, last, progress=progress)
        videos = assemble_videos(job.replace(frames=(first, last)))
    if "png" not in job.formats:
        for path in frames:
            path.unlink(missing_ok=True)
        frames = []
    exports = write_exports(job, result, api)
    return RenderResult(job=job, first=first, last=last, frames=frames, videos=videos, blend=blend_path(job),
                        seconds=time.perf_counter() - started, exports=exports)
