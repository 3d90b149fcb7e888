"""A render job: what to render and how, checked when made, and the key of the pixels it renders.

A job is made and checked in plain Python (no Blender): the scripts' argument checks run before Blender renders
anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..engine.errors import SpecError

ENGINES = ("cycles", "eevee", "workbench")
FORMATS = ("png", "mp4", "gif", "srt", "glb")
DEVICES = ("cpu", "gpu")
MODES = ("objects", "instanced", "auto")
DEFAULT_PRESET = "conv-3x3-stride2-valid"
MAX_RESOLUTION = 16384


@dataclass(frozen=True)
class RenderJob:
    """What to render and how. Checked when made: a bad value raises SpecError naming the argument."""

    preset: str | None = None                 # a bundled preset name (default: the DEFAULT clip) ...
    spec_file: str | None = None              # ... or a preset/spec TOML file
    overrides: tuple[str, ...] = ()           # "key=value" items (engine.presets.apply_overrides)
    template: str | None = None               # stage template: studio, flat or none; None: the preset's
    engine: str = "cycles"                    # cycles | eevee | workbench
    samples: int = 32
    resolution: tuple[int, int] = (960, 540)
    fps: int | None = None                    # None: the preset's timing.fps
    frames: tuple[int, int] | None = None     # inclusive; None: the clip's whole range
    out: str = "out/render"
    formats: tuple[str, ...] = ("png", "mp4", "gif")
    device: str = "cpu"                       # cpu | gpu (Cycles)
    mode: str = "objects"                     # objects | instanced | auto
    persistent_data: bool = True              # Cycles keeps the scene between frames
    wait: bool = False                        # wait for another job rendering into ``out`` instead of failing
    closeup: tuple[int, ...] | None = None    # an output cell of the last convolution: its dot product after the clip

    def __post_init__(self):
        for name, value in normalised_fields(self).items():
            object.__setattr__(self, name, value)

    @property
    def clip(self) -> str:
        """The clip's name in file names: the preset name or the spec file's stem."""
        return self.preset if self.preset else Path(self.spec_file).stem

    def replace(self, **changes) -> "RenderJob":
        return dataclasses.replace(self, **changes)


def _choice(name: str, value, allowed: tuple[str, ...]) -> str:
    word = value.strip().lower() if isinstance(value, str) else value
    if word not in allowed:
        raise SpecError(name, value, "one of " + ", ".join(allowed))
    return word


def _whole(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(name, value, f"a whole number from {low} to {high}")
    return value


def normalised_fields(job: RenderJob) -> dict:
    """Every field checked and in its canonical form (tuples, lower-case words)."""
    if job.preset and job.spec_file:
        raise SpecError("spec", job.spec_file, "either a preset or a spec file, not both",
                        hint=f"preset {job.preset!r} was given too")
    from ..engine.presets import is_preset_path
    given_preset, given_spec = job.preset, job.spec_file
    if given_preset and is_preset_path(given_preset):     # a path: a spec file, never part of a file name
        given_preset, given_spec = None, given_preset
    preset = given_preset if given_preset or given_spec else DEFAULT_PRESET
    if preset is not None and not isinstance(preset, str):
        raise SpecError("preset", preset, "a preset name")
    if given_spec is not None and not isinstance(given_spec, (str, os.PathLike)):
        raise SpecError("spec", given_spec, "a path to a .toml spec file")
    spec_file = str(given_spec) if given_spec else None
    overrides = (job.overrides,) if isinstance(job.overrides, str) else tuple(job.overrides or ())
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise SpecError("set", item, "key=value")
    from ..scene.templates import check_template
    template = None if job.template is None else check_template(job.template)
    resolution = tuple(job.resolution) if isinstance(job.resolution, (list, tuple)) else job.resolution
    if not isinstance(resolution, tuple) or len(resolution) != 2:
        raise SpecError("resolution", job.resolution, "WIDTHxHEIGHT, e.g. 960x540")
    for side in resolution:
        _whole("resolution", side, 2, MAX_RESOLUTION)
    formats = tuple(f.strip().lower() for f in job.formats.split(",")) if isinstance(job.formats, str) \
        else tuple(job.formats or ())
    if not formats or any(f not in FORMATS for f in formats) or len(set(formats)) != len(formats):
        raise SpecError("formats", job.formats, "a non-empty list of distinct items from " + ", ".join(FORMATS))
    if "mp4" in formats and (resolution[0] % 2 or resolution[1] % 2):
        raise SpecError("resolution", f"{resolution[0]}x{resolution[1]}",
                        "even width and height when making mp4 (H.264 yuv420p)")
    frames = tuple(job.frames) if isinstance(job.frames, (list, tuple)) else job.frames
    if frames is not None:
        from ..engine.timeline import MAX_FRAME
        if not isinstance(frames, tuple) or len(frames) != 2 or any(
                isinstance(f, bool) or not isinstance(f, int) for f in frames) or not 0 <= frames[0] <= frames[1] \
                or frames[1] > MAX_FRAME:
            raise SpecError("frames", job.frames, f"A-B with whole numbers 0 <= A <= B <= {MAX_FRAME} (inclusive), "
                            "e.g. 1-48")
    if job.fps is not None:
        _whole("fps", job.fps, 1, 240)
    if not isinstance(job.out, (str, os.PathLike)) or not str(job.out).strip() or "\0" in str(job.out):
        raise SpecError("out", job.out, "an output folder")
    if not isinstance(job.wait, bool):
        raise SpecError("wait", job.wait, "True or False")
    from ..engine.closeup import parse_cell
    closeup = None if job.closeup is None else parse_cell(job.closeup)
    return dict(preset=preset, spec_file=spec_file, overrides=overrides, template=template,
                engine=_choice("engine", job.engine, ENGINES), samples=_whole("samples", job.samples, 1, 65536),
                resolution=resolution, fps=job.fps, frames=frames, out=str(job.out), formats=formats,
                device=_choice("device", job.device, DEVICES), mode=_choice("mode", job.mode, MODES),
                persistent_data=bool(job.persistent_data), wait=job.wait, closeup=closeup)


def as_job(job=None, **kwargs) -> RenderJob:
    names = [f.name for f in dataclasses.fields(RenderJob)]
    unknown = sorted(k for k in kwargs if k not in names)
    if unknown:
        raise SpecError(", ".join(unknown), kwargs[unknown[0]], "arguments of render(): " + ", ".join(names))
    if job is None:
        return RenderJob(**kwargs)
    if not isinstance(job, RenderJob):
        raise SpecError("job", job, "a RenderJob")
    return job.replace(**kwargs) if kwargs else job


def load_job_preset(job: RenderJob):
    """The job's preset with its overrides and fps applied (engine.presets.Preset); raises SpecError."""
    from ..engine import presets
    if job.spec_file and not Path(job.spec_file).is_file():
        raise SpecError("spec", job.spec_file, "an existing .toml spec file")
    preset = presets.load_preset_file(job.spec_file or job.preset, "spec" if job.spec_file else "preset")
    items = list(job.overrides) + ([f"timing.fps={job.fps}"] if job.fps else [])
    return presets.apply_overrides(preset, items) if items else preset


def job_key(job: RenderJob) -> str:
    """Identity of the pixels a job renders (not of which frames or formats it asks for)."""
    fields = dataclasses.asdict(job.replace(frames=None, formats=("png",), out=".", persistent_data=True))
    del fields["wait"]
    if job.spec_file:
        fields["spec_file_sha1"] = hashlib.sha1(Path(job.spec_file).read_bytes()).hexdigest()
    return json.dumps(fields, sort_keys=True)
