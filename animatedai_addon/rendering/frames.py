"""Rendering a job's frames: an inclusive range, resumable (complete frames are skipped) and atomic (each frame
is written under a temporary name in its folder and renamed when whole), with progress and ETA."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.errors import SpecError
from .job import RenderJob, as_job
from .outputs import (check_frames_signature, claim_output_folder, frame_path, frames_dir, is_complete_png, out_dir,
                      remove_dead_partials, temporary_path)
from .prepare import job_scene


@dataclass
class Progress:
    """Reports frames on a stream (stderr): done/total, this frame's time, ETA."""

    label: str = ""
    stream: object = None
    started: float = field(default_factory=time.perf_counter)
    rendered_seconds: list = field(default_factory=list)

    def __call__(self, done: int, total: int, frame: int, seconds: float | None) -> None:
        stream = self.stream or sys.stderr
        if seconds is None:
            text = f"frame {frame} exists, skipped"
        else:
            self.rendered_seconds.append(seconds)
            mean = sum(self.rendered_seconds) / len(self.rendered_seconds)
            text = f"frame {frame} in {seconds:.2f} s, ETA {format_seconds(mean * (total - done))}"
        prefix = f"[{self.label}] " if self.label else ""
        print(f"{prefix}{done}/{total} {text}", file=stream, flush=True)


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def render_frames(job: RenderJob, first: int, last: int, progress=None) -> list[Path]:
    """Render frames ``first..last`` (inclusive) to PNG; frames already complete are skipped.

    Each frame is rendered to a temporary name in its folder and renamed when whole.
    ``progress(done, total, frame, seconds_or_None)`` is called after every frame.
    The job's scene is the one :func:`~.prepare.prepare_scene` built in this Blender session.
    """
    job = as_job(job)
    if isinstance(first, bool) or isinstance(last, bool) or not (isinstance(first, int) and isinstance(last, int)) \
            or first > last:
        raise SpecError("frames", (first, last), "whole numbers first <= last")
    scene = job_scene(job)
    if scene is None:
        raise RuntimeError(f"no scene was prepared for clip {job.clip!r} in this Blender session: "
                           "call prepare_scene(job, api) first")
    claim_output_folder(job)
    folder = frames_dir(job)
    remove_dead_partials(folder)
    remove_dead_partials(out_dir(job))        # a killed run's .mp4/.gif/.blend partials
    paths, total = [], last - first + 1
    for done, frame in enumerate(range(first, last + 1), start=1):
        path = frame_path(job, frame)
        paths.append(path)
        if is_complete_png(path):
            if progress:
                progress(done, total, frame, None)
            continue
        started = time.perf_counter()
        render_one_frame(scene, frame, path, job)
        if progress:
            progress(done, total, frame, time.perf_counter() - started)
    return paths


def render_one_frame(scene, frame: int, path: Path, job: RenderJob | None = None) -> None:
    import bpy
    scene.frame_set(frame)
    tmp = temporary_path(path)
    try:
        scene.render.filepath = str(tmp)
        bpy.ops.render.render(write_still=True, scene=scene.name)
        if not is_complete_png(tmp):
            raise RuntimeError(f"Blender did not write frame {frame} to {tmp}")
        if job is not None:
            check_frames_signature(job)      # the folder still belongs to this job: frames never mix
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
