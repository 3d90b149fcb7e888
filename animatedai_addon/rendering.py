"""Rendering clips: a job, its scene, its frames (resumable, atomic) and its videos.

One :class:`RenderJob` says what to render and how. The steps are separate
functions so that a render farm can spread them (``farm.py``):

* :func:`prepare_scene` builds the job's scene through ``api.generate`` and sets
  the render settings; it saves the generated ``.blend`` beside the renders.
* :func:`render_frames` renders an inclusive frame range. A frame that already
  exists complete is skipped, and every frame is written under a temporary name
  in the same folder and then ``os.replace``'d, so a killed render leaves no
  truncated frame and a re-run picks up where it stopped.
* :func:`assemble_videos` makes the MP4 (Blender's own FFmpeg, H.264, yuv420p)
  and the GIF (Pillow, one palette for all frames) from the finished frames.
* :func:`render` does all three (``api.render``).

Output layout under ``job.out``: ``frames/<clip>_0001.png``…, ``<clip>.mp4``,
``<clip>.gif``, ``<clip>.blend``. ``bpy`` is imported only where Blender is
needed: a job can be made and checked in plain Python (the scripts' argument
checks run before Blender starts rendering anything).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .engine.errors import SpecError

ENGINES = ("cycles", "eevee", "workbench")
FORMATS = ("png", "mp4", "gif")
DEVICES = ("cpu", "gpu")
MODES = ("objects", "instanced", "auto")
DEFAULT_PRESET = "conv-3x3-stride2-valid"
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")
MAX_RESOLUTION = 16384
JOB_PROPERTY = "animatedai_job"          # scene custom property: the key of the job the scene was built for
PARTIAL_MARK = ".partial-"               # temporary names: .<name>.partial-<pid>-<random>.png
LOCK_NAME = ".animatedai.lock"           # in the output folder while a job renders into it (pid, host, job)
LOCK_POLL_SECONDS = 1.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"


# --------------------------------------------------------------------------------------------- the job

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
    from .engine.presets import is_preset_path
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
    from .scene.templates import check_template
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
        from .engine.timeline import MAX_FRAME
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
    return dict(preset=preset, spec_file=spec_file, overrides=overrides, template=template,
                engine=_choice("engine", job.engine, ENGINES), samples=_whole("samples", job.samples, 1, 65536),
                resolution=resolution, fps=job.fps, frames=frames, out=str(job.out), formats=formats,
                device=_choice("device", job.device, DEVICES), mode=_choice("mode", job.mode, MODES),
                persistent_data=bool(job.persistent_data), wait=job.wait)


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
    from .engine import presets
    if job.spec_file and not Path(job.spec_file).is_file():
        raise SpecError("spec", job.spec_file, "an existing .toml spec file")
    preset = presets.load_preset_file(job.spec_file or job.preset, "spec" if job.spec_file else "preset")
    items = list(job.overrides) + ([f"timing.fps={job.fps}"] if job.fps else [])
    return presets.apply_overrides(preset, items) if items else preset


def check_job(job: RenderJob):
    """Everything that can be checked before rendering: the preset loads, the overrides apply,
    and a GPU is there when one is asked for; the clip fits the cube budget (before anything is planned) and
    the output folder can be written. Returns the preset."""
    from .api import check_budget
    preset = load_job_preset(job)
    check_budget(preset.spec, look=preset.look, mode=job.mode)
    check_out_folder(job.out)
    if "gif" in job.formats:
        import importlib.util
        if importlib.util.find_spec("PIL") is None:     # Blender's own Python does not bundle Pillow
            raise SpecError("formats", ",".join(job.formats), "formats this Python can write: install Pillow "
                            "(python -m pip install pillow) for gif, or leave gif out")
    if job.device == "gpu" and job.engine == "cycles":
        gpu_backend()
    return preset


def clip_range(job: RenderJob) -> tuple[int, int]:
    """The clip's inclusive frame range, from the engine (no Blender needed)."""
    from .api import check_budget
    from .engine import build_timeline, plan
    from .engine.timeline import check_clip_length
    preset = load_job_preset(job)
    check_budget(preset.spec, look=preset.look, mode="instanced")     # the cubes, before planning
    timeline = build_timeline(plan(preset.spec), preset.timing, preset.look, highlights=False)
    check_clip_length(timeline)
    return int(timeline.frame_start), int(timeline.frame_end)


def job_key(job: RenderJob) -> str:
    """Identity of the pixels a job renders (not of which frames or formats it asks for)."""
    fields = dataclasses.asdict(job.replace(frames=None, formats=("png",), out=".", persistent_data=True))
    del fields["wait"]
    if job.spec_file:
        fields["spec_file_sha1"] = hashlib.sha1(Path(job.spec_file).read_bytes()).hexdigest()
    return json.dumps(fields, sort_keys=True)


# --------------------------------------------------------------------------------------------- paths

def out_dir(job: RenderJob) -> Path:
    return Path(job.out)


def frames_dir(job: RenderJob) -> Path:
    return out_dir(job) / "frames"


def frame_path(job: RenderJob, frame: int) -> Path:
    return frames_dir(job) / f"{job.clip}_{frame:04d}.png"


def video_path(job: RenderJob, fmt: str) -> Path:
    return out_dir(job) / f"{job.clip}.{fmt}"


def blend_path(job: RenderJob) -> Path:
    return out_dir(job) / f"{job.clip}.blend"


def signature_path(job: RenderJob) -> Path:
    return frames_dir(job) / f".{job.clip}.job.json"


def _temporary(path: Path) -> Path:
    """A new, empty file in the same folder (so os.replace is atomic) under a name no finished output has and
    nobody can guess: ``.<stem>.partial-<pid>-<random><suffix>``, created exclusively (O_EXCL) without following
    a link, so a planted file or symlink can never redirect the write."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = path.with_name(f".{path.stem}{PARTIAL_MARK}{os.getpid()}-{secrets.token_hex(8)}{path.suffix}")
        try:
            os.close(os.open(tmp, flags, 0o644))
        except FileExistsError:
            continue
        return tmp


def is_complete_png(path: Path) -> bool:
    """A PNG with its signature and its end chunk: what os.replace leaves, never a cut-off write."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            handle.seek(-8, os.SEEK_END)
            tail = handle.read(8)
    except OSError:
        return False
    return head == PNG_SIGNATURE and tail == PNG_END


def _remove_dead_partials(folder: Path) -> None:
    """Temporary files of renders that were killed (their process is gone)."""
    pattern = re.compile(re.escape(PARTIAL_MARK) + r"(\d+)(?:-[0-9a-f]+)?\.")
    for path in folder.glob(f".*{PARTIAL_MARK}*"):
        match = pattern.search(path.name)
        if match and not _process_alive(int(match.group(1))) and not path.is_dir():
            path.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim_output_folder(job: RenderJob) -> None:
    """Frames of an earlier, different job of the same clip are stale: remove them before rendering."""
    folder = frames_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    key = job_key(job)
    signature = signature_path(job)
    if signature.is_file() and signature.read_text() == key:
        return
    for old in folder.glob(f"{glob_escape(job.clip)}_*.png"):
        if re.fullmatch(re.escape(job.clip) + r"_\d+\.png", old.name):
            old.unlink()
    _write_atomically(signature, key.encode())


def check_frames_signature(job: RenderJob) -> None:
    """SpecError unless the frames folder still belongs to ``job`` (its signature): frames of two jobs never mix."""
    try:
        held = signature_path(job).read_text()
    except (OSError, UnicodeDecodeError):
        held = None
    if held != job_key(job):
        raise SpecError("out", job.out, "a folder only this job renders into",
                        f"{signature_path(job)} now names another job; nothing more was written")


def check_out_folder(out) -> Path:
    """SpecError("out") unless ``out`` is (or can be made as) a folder this process can write: checked before
    any scene is built. The nearest existing folder must be writable and on a writable file system."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise SpecError("out", str(out), "a folder to render into: this is a file")
    existing = path
    while not existing.exists():
        if existing.is_symlink() or existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise SpecError("out", str(out), "a folder to render into", f"{existing} is not a folder")
    for folder in (existing, path / "frames"):
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise SpecError("out", str(out), "a folder to render into", f"{folder} is not a folder")
        read_only = bool(os.statvfs(folder).f_flag & getattr(os, "ST_RDONLY", 1)) if hasattr(os, "statvfs") else False
        if read_only or not os.access(folder, os.W_OK | os.X_OK):
            raise SpecError("out", str(out), "a folder this user can write",
                            f"{folder} is {'on a read-only file system' if read_only else 'not writable'}")
        _probe_write(out, folder)
    return path


def _probe_write(out, folder: Path) -> None:
    """Create and remove a file of a random name in ``folder`` (what permissions and mount flags cannot tell:
    a pseudo file system, a full disk's inode table, root on a read-only mount); SpecError("out") when it fails."""
    probe = folder / f".animatedai-probe-{os.getpid()}-{secrets.token_hex(8)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        os.close(os.open(probe, flags, 0o600))
    except OSError as exc:
        raise SpecError("out", str(out), "a folder this user can write",
                        f"cannot create a file in {folder}: {exc.strerror or exc}") from None
    probe.unlink(missing_ok=True)


_made_folders: dict = {}      # lock path -> the folders acquire_output_lock created for it (nearest first)


def lock_path(job: RenderJob) -> Path:
    return out_dir(job) / LOCK_NAME


def _lock_holder(path: Path) -> dict | None:
    """The lock's content (pid, host, job), or None when it is gone or unreadable (a lock being written)."""
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def acquire_output_lock(job: RenderJob, poll: float = LOCK_POLL_SECONDS) -> Path:
    """Make ``job`` the one job rendering into its output folder: create ``out/.animatedai.lock`` exclusively
    (O_CREAT|O_EXCL, never through a link) holding this pid, host and job signature. When another live job
    holds it: wait (``job.wait``) or SpecError("out") naming the holder. A lock of a dead process on this host
    is stale and taken over. Returns the lock's path; :func:`release_output_lock` removes it."""
    path = lock_path(job)
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _made_folders[path] = missing
    except OSError as exc:
        raise SpecError("out", job.out, "a folder this user can write", exc.strerror or str(exc)) from None
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "job": hashlib.sha1(job_key(job).encode()).hexdigest()}
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            holder = _lock_holder(path)
            if holder is not None and holder.get("host") == mine["host"] and not _process_alive(holder["pid"]):
                _take_over_stale(path, holder)                  # its process is gone: the lock is stale
                continue
            if holder is not None and holder.get("pid") == mine["pid"] and holder.get("host") == mine["host"]:
                if holder.get("job") == mine["job"]:
                    return path                                 # this process already holds it for this job
            if not job.wait:
                who = (f"process {holder['pid']} on {holder.get('host', '?')} (job {str(holder.get('job'))[:12]})"
                       if holder else "another job")
                raise SpecError("out", job.out, "a folder no other job is rendering into",
                                f"{who} holds {path}; wait for it (--wait) or choose another --out")
            time.sleep(poll)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(mine, handle)
        return path


def _take_over_stale(path: Path, holder: dict) -> None:
    """Remove a stale lock, only if it still holds what was read (another job may have taken it over first)."""
    stale = path.with_name(f"{path.name}.stale-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.rename(path, stale)
    except FileNotFoundError:
        return
    if _lock_holder(stale) != holder:       # someone else's fresh lock: put it back
        try:
            os.link(stale, path)
        except FileExistsError:
            pass
    stale.unlink(missing_ok=True)


def release_output_lock(job: RenderJob) -> None:
    """Remove the output folder's lock when this process holds it."""
    path = lock_path(job)
    holder = _lock_holder(path)
    if holder is not None and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)
    for folder in _made_folders.pop(path, []):      # folders the lock made, when a failed job left them empty
        try:
            folder.rmdir()
        except OSError:
            break


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = _temporary(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------- the scene

def prepare_scene(job: RenderJob, fresh: bool | None = None):
    """Build the job's scene (``api.generate``), set its render settings, save its ``.blend``.

    ``fresh`` (default: when Blender runs without a window) starts from an empty file so
    every job renders the same; otherwise the clip is built in a new scene of the open file.
    Returns ``api.generate``'s result (``frame_start``/``frame_end`` are the clip's range).
    """
    import bpy
    from . import api
    job = as_job(job)
    preset = check_job(job)
    fresh = bpy.app.background if fresh is None else fresh
    if fresh:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
    else:
        scene = bpy.data.scenes.new(f"AnimatedAI render {job.clip}")
    set_output_settings(scene, job, preset.timing.fps)     # before generate: the stage frames for this aspect
    # A render owns its scene: the clip sets the frame range, fps and look, and brings the template's camera
    # and world (with template "none", the plain stage built in code). No --template: the preset's own.
    template = job.template or preset.template
    result = api.generate(preset.spec, mode=job.mode, timing=preset.timing, look=preset.look,
                          template=template, scene=scene, set_scene=True, use_template_camera=True,
                          use_template_world=True)
    scene.frame_start, scene.frame_end = int(result.frame_start), int(result.frame_end)
    set_render_settings(scene, job)                        # after generate: a template's look, then our choices
    scene[JOB_PROPERTY] = job_key(job)
    _claim_output_folder(job)
    save_blend(blend_path(job))
    return result


def prepared_scene(job: RenderJob):
    """The scene built for ``job`` in this Blender session, building it when there is none."""
    import bpy
    key = job_key(job)
    for scene in bpy.data.scenes:
        if scene.get(JOB_PROPERTY) == key:
            return scene
    prepare_scene(job)
    return next(s for s in bpy.data.scenes if s.get(JOB_PROPERTY) == key)


def save_blend(path: Path) -> None:
    """Save a copy of the open file (compressed: a keyframed scene is ~20x smaller), atomically."""
    import bpy
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    # Blender moves an existing file at the path to a ".blend1" backup, and writes through "<path>@" and a
    # rename (which replaces a link, never follows it): free the reserved random name for it
    tmp.unlink()
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp), compress=True, copy=True, check_existing=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + "1").unlink(missing_ok=True)


def set_output_settings(scene, job: RenderJob, fps: int) -> None:
    render = scene.render
    render.resolution_x, render.resolution_y = job.resolution
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    render.fps, render.fps_base = int(job.fps or fps), 1.0
    render.use_file_extension = True
    from .scene import compat
    compat.set_image_output(scene, "PNG")
    image = render.image_settings
    image.color_mode = "RGB"
    image.color_depth = "8"
    image.compression = 15


#: Cycles settings chosen for speed on a small CPU (the README's main command: 2 cores, 480x270, 6 samples),
#: measured with ``benchmarks/render.py --main-command`` against the studio template's own settings:
#: * the light tree off: with the stage's five area lights and a plain world, picking a light by power is as
#:   good, and the tree's per-sample cost was about a third of the render time;
#: * adaptive sampling stops pixels whose noise is under the threshold (flat floor and backdrop first);
#:   it pays at higher sample counts, at 6 samples every pixel takes them all;
#: * OpenImageDenoise with the albedo and normal passes, prefiltered together with the colour ("FAST") at
#:   "BALANCED" quality: denoising the two guide passes separately first ("ACCURATE", "HIGH") cost more than
#:   the path tracing of 8 samples, and against a 256-sample frame both leave the same error (RMS 2.9 of 255
#:   at 8 samples, 3.2 at 6; the old 16 samples: 1.8; 8 samples undenoised: 9.3); edges between cubes come
#:   out a little softer, with no grain. The sample count is the job's (the main command asks for 6).
CYCLES_SPEED_SETTINGS = {"use_light_tree": False, "use_adaptive_sampling": True, "adaptive_threshold": 0.05,
                         "adaptive_min_samples": 0, "use_denoising": True, "denoising_input_passes": "RGB_ALBEDO_NORMAL",
                         "denoising_prefilter": "FAST", "denoising_quality": "BALANCED"}


def cycles_has_openimagedenoise() -> bool:
    """Whether this Blender's Cycles was built with OpenImageDenoise (the CPU denoiser)."""
    try:
        import _cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def set_render_settings(scene, job: RenderJob) -> None:
    """Engine, samples and device. Noise is seeded the same on every frame and every run."""
    set_engine(scene, job.engine)
    scene.render.use_persistent_data = job.persistent_data
    if job.engine == "cycles":
        cycles = scene.cycles
        cycles.samples = job.samples
        cycles.seed = 0
        cycles.use_animated_seed = False
        denoise = cycles_has_openimagedenoise()
        for name, value in CYCLES_SPEED_SETTINGS.items():
            if name.startswith("denoising_") and not denoise:
                continue
            if hasattr(cycles, name):           # settings this Cycles lacks (older versions) are skipped
                setattr(cycles, name, value if name != "use_denoising" else denoise)
        if denoise:
            cycles.denoiser = "OPENIMAGEDENOISE"
        if job.device == "gpu":
            enable_gpu(scene)
        else:
            cycles.device = "CPU"
    elif job.engine == "eevee":
        scene.eevee.taa_render_samples = job.samples
    else:
        scene.display.render_aa = workbench_aa(job.samples)
        scene.display.shading.color_type = "OBJECT"      # the cell colours live in the objects' colour


def set_engine(scene, engine: str) -> None:
    from .scene import compat
    scene.render.engine = {"cycles": "CYCLES", "workbench": "BLENDER_WORKBENCH",
                           "eevee": compat.eevee_engine_id()}[engine]


def workbench_aa(samples: int) -> str:
    """Workbench's anti-aliasing setting nearest to a sample count."""
    steps = (("OFF", 1), ("FXAA", 2), ("5", 5), ("8", 8), ("11", 11), ("16", 16), ("32", 32))
    return min(steps, key=lambda s: abs(s[1] - samples))[0]


def gpu_backend() -> str:
    """Turn on every GPU of the first Cycles backend that has one; SpecError when there is none."""
    import bpy
    addon = bpy.context.preferences.addons.get("cycles")
    if addon is None:
        raise SpecError("device", "gpu", "Cycles with a GPU backend; the Cycles add-on is not enabled")
    prefs = addon.preferences
    for backend in GPU_BACKENDS:
        try:
            prefs.compute_device_type = backend
        except TypeError:           # this build of Cycles lacks the backend
            continue
        prefs.refresh_devices()
        if any(d.type == backend for d in prefs.devices):
            for device in prefs.devices:
                device.use = device.type == backend
            return backend
    prefs.compute_device_type = "NONE"
    raise SpecError("device", "gpu", "a machine with a " + ", ".join(GPU_BACKENDS) + " device",
                    hint="none was found; use --device cpu")


def enable_gpu(scene) -> str:
    backend = gpu_backend()
    scene.cycles.device = "GPU"
    return backend


# --------------------------------------------------------------------------------------------- frames

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
    """
    job = as_job(job)
    if isinstance(first, bool) or isinstance(last, bool) or not (isinstance(first, int) and isinstance(last, int)) \
            or first > last:
        raise SpecError("frames", (first, last), "whole numbers first <= last")
    scene = prepared_scene(job)
    _claim_output_folder(job)
    folder = frames_dir(job)
    _remove_dead_partials(folder)
    _remove_dead_partials(out_dir(job))        # a killed run's .mp4/.gif/.blend partials
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
    tmp = _temporary(path)
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


# --------------------------------------------------------------------------------------------- videos

def job_frame_range(job: RenderJob) -> tuple[int, int]:
    if job.frames:
        return job.frames
    import bpy
    key = job_key(job)
    for scene in bpy.data.scenes:
        if scene.get(JOB_PROPERTY) == key:
            return scene.frame_start, scene.frame_end
    return clip_range(job)


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
        scene.frame_start, scene.frame_end = 1, len(frames)
        render = scene.render
        render.resolution_x, render.resolution_y = resolution
        render.resolution_percentage = 100
        render.fps, render.fps_base = fps, 1.0
        # The frames are already display-referred: pass them through without a second view transform.
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        scene.view_settings.exposure, scene.view_settings.gamma = 0.0, 1.0
        set_ffmpeg_output(scene, fps)
        tmp = _temporary(path)
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
    from .scene import compat
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
    tmp = _temporary(path)
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


# --------------------------------------------------------------------------------------------- all of it

@dataclass
class RenderResult:
    job: RenderJob
    first: int                  # the inclusive frame range rendered
    last: int
    frames: list[Path]          # PNG frames kept (empty when png is not among the formats)
    videos: list[Path]
    blend: Path
    seconds: float

    @property
    def outputs(self) -> list[Path]:
        return ([*self.frames] if "png" in self.job.formats else []) + self.videos + [self.blend]


def render(job: RenderJob | None = None, progress=None, **kwargs) -> RenderResult:
    """Render a clip: ``render(RenderJob(...))`` or ``render(preset="conv-3x3-valid", engine="workbench")``.

    Frames are the job's ``frames`` or the clip's whole range. PNG frames are kept only when
    ``png`` is among the formats (they are the resumable intermediate of the videos).
    """
    started = time.perf_counter()
    job = as_job(job, **kwargs)
    check_job(job)
    if job.frames:
        check_frames_in_clip(job)               # as the command line does: within the clip
    acquire_output_lock(job)
    try:
        return _render_locked(job, progress, started)
    finally:
        release_output_lock(job)


def _render_locked(job: RenderJob, progress, started: float) -> RenderResult:
    result = prepare_scene(job)
    first, last = job.frames or (int(result.frame_start), int(result.frame_end))
    frames = render_frames(job, first, last, progress=progress)
    videos = assemble_videos(job.replace(frames=(first, last)))
    if "png" not in job.formats:
        for path in frames:
            path.unlink(missing_ok=True)
        frames = []
    return RenderResult(job=job, first=first, last=last, frames=frames, videos=videos, blend=blend_path(job),
                        seconds=time.perf_counter() - started)


# --------------------------------------------------------------------------------------------- command line

def parse_resolution(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not match:
        raise SpecError("resolution", text, "WIDTHxHEIGHT, e.g. 960x540")
    return int(match.group(1)), int(match.group(2))


def parse_frames(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text or "")
    if not match:
        raise SpecError("frames", text, "A-B (inclusive), e.g. 1-48, or one frame A")
    first = int(match.group(1))
    return first, int(match.group(2)) if match.group(2) else first


def add_render_arguments(parser, clip_arguments: bool = True) -> None:
    """The render options shared by scripts/render.py and scripts/render_catalog.py."""
    if clip_arguments:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--preset", metavar="NAME", help=f"a bundled preset (default: {DEFAULT_PRESET})")
        which.add_argument("--spec", metavar="FILE.toml", help="a preset/spec TOML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a spec, timing or look value (repeatable): kernel_size=5, "
                             "timing.frames_per_step=1, look.gap=0.2")
    parser.add_argument("--template", default=None, metavar="NAME",
                        help="stage: studio, flat or none (default: the preset's own: studio, flat for shuffles)")
    parser.add_argument("--engine", default="cycles", help="cycles (default), eevee, workbench")
    parser.add_argument("--samples", default="32", metavar="N", help="render samples (default 32)")
    parser.add_argument("--resolution", default="960x540", metavar="WxH", help="default 960x540")
    parser.add_argument("--fps", default=None, metavar="N", help="frames per second (default: the preset's)")
    parser.add_argument("--frames", default=None, metavar="A-B", help="inclusive frame range (default: all)")
    parser.add_argument("--out", default=None, metavar="DIR", help="output folder (default: out/<clip>)")
    parser.add_argument("--formats", default="png,mp4,gif", metavar="LIST", help="any of png,mp4,gif")
    parser.add_argument("--device", default="cpu", help="cpu (default) or gpu (Cycles)")
    parser.add_argument("--mode", default="objects", help="objects (default), instanced, auto")
    parser.add_argument("--wait", action="store_true",
                        help="when another job is rendering into the same --out, wait for it instead of "
                             "exiting with status 2")


def _whole_text(name: str, text):
    if text is None:
        return None
    try:
        return int(str(text).strip())
    except ValueError:
        raise SpecError(name, text, "a whole number") from None


def job_from_args(args, preset: str | None = None, out: str | None = None) -> RenderJob:
    """A checked RenderJob from parsed arguments (SpecError names the bad argument)."""
    preset = preset or getattr(args, "preset", None)
    spec_file = getattr(args, "spec", None)
    job = RenderJob(preset=preset, spec_file=spec_file, overrides=tuple(args.overrides), template=args.template,
                    engine=args.engine, samples=_whole_text("samples", args.samples),
                    resolution=parse_resolution(args.resolution), fps=_whole_text("fps", args.fps),
                    frames=parse_frames(args.frames) if args.frames else None,
                    out=out or args.out or "out", formats=args.formats, device=args.device, mode=args.mode,
                    wait=bool(getattr(args, "wait", False)))
    if not (out or args.out):
        job = job.replace(out=str(Path("out") / job.clip))
    check_job(job)
    if job.frames:
        check_frames_in_clip(job)
    return job


def check_frames_in_clip(job: RenderJob) -> None:
    first, last = clip_range(job)
    if job.frames[0] < first or job.frames[1] > last:
        raise SpecError("frames", f"{job.frames[0]}-{job.frames[1]}", f"a range within the clip's {first}-{last}")


def one_line_errors(parser):
    """Make ``parser`` report a bad argument as one line (``prog: error: ...``) with exit status 2, like the
    scripts' SpecErrors; ``--help`` still shows the usage."""
    def error(message: str):
        parser.exit(2, f"{parser.prog}: error: {message} (see --help)\n")
    parser.error = error
    return parser


def script_argv(argv=None) -> list[str]:
    """The script's own arguments: after ``--`` when Blender runs it (``blender -b -P script -- args``)."""
    argv = sys.argv if argv is None else argv
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def presets_help() -> str:
    from .engine import presets
    return "presets:\n  " + "\n  ".join(presets.list_presets())
