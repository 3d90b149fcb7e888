"""What can be checked of a job before anything renders: its preset, cube budget, output folder, formats, GPU,
and its frame range within the clip.

The cube budget is the scripting API's (``api.check_budget``). Rendering sits below the API and never imports
it: the API hands itself in as ``api`` (anything with ``check_budget`` and ``generate``, see :class:`ClipAPI`).
"""

from __future__ import annotations

from typing import Protocol

from ..engine.errors import SpecError
from .job import RenderJob, load_job_preset
from .outputs import check_out_folder
from .settings import gpu_backend


class ClipAPI(Protocol):
    """What rendering uses of ``animatedai_addon.api``: its cube budget check and the clip builder."""

    def check_budget(self, spec, budget=None, look=None, mode: str = "objects") -> tuple[str, int]: ...

    def generate(self, spec_or_preset_name, mode: str = "objects", **options): ...


def check_job(job: RenderJob, api: ClipAPI):
    """Everything that can be checked before rendering: the preset loads, the overrides apply,
    and a GPU is there when one is asked for; the clip fits the cube budget (before anything is planned) and
    the output folder can be written. Returns the preset."""
    preset = load_job_preset(job)
    api.check_budget(preset.spec, look=preset.look, mode=job.mode)
    check_out_folder(job.out)
    if "gif" in job.formats:
        import importlib.util
        if importlib.util.find_spec("PIL") is None:     # Blender's own Python does not bundle Pillow
            raise SpecError("formats", ",".join(job.formats), "formats this Python can write: install Pillow "
                            "(python -m pip install pillow) for gif, or leave gif out")
    if job.device == "gpu" and job.engine == "cycles":
        gpu_backend()
    return preset


def clip_range(job: RenderJob, api: ClipAPI) -> tuple[int, int]:
    """The clip's inclusive frame range, from the engine (no Blender needed), the job's close-up included
    (its cell checked here)."""
    from ..engine import build_timeline, closeup, plan
    from ..engine.timeline import MAX_FRAME, check_clip_length
    preset = load_job_preset(job)
    api.check_budget(preset.spec, look=preset.look, mode="instanced")     # the cubes, before planning
    the_plan = plan(preset.spec)
    timeline = build_timeline(the_plan, preset.timing, preset.look, highlights=False)
    check_clip_length(timeline)
    last = int(timeline.frame_end)
    if job.closeup is not None:
        closeup.closeup_stage(the_plan, job.closeup)
        last += closeup.CLOSEUP_FRAMES
        if last > MAX_FRAME:
            raise SpecError("closeup", ",".join(map(str, job.closeup)),
                            f"a clip short enough for its close-up: it would end at frame {last} > {MAX_FRAME}")
    return int(timeline.frame_start), last


def check_frames_in_clip(job: RenderJob, api: ClipAPI) -> None:
    first, last = clip_range(job, api)
    if job.frames[0] < first or job.frames[1] > last:
        raise SpecError("frames", f"{job.frames[0]}-{job.frames[1]}", f"a range within the clip's {first}-{last}")
