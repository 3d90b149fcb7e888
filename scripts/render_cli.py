"""The render scripts' command line: the arguments shared by ``render.py`` and ``render_catalog.py`` (the render
options and the farm's), how they become a checked ``RenderJob``, and one-line errors with exit status 2.

All command-line parsing lives here, outside the add-on package (which never imports argparse). The scripts
import this module from their own folder, whether run as ``python scripts/render.py`` or
``blender -b -P scripts/render.py -- ...``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from animatedai_addon import api, farm
from animatedai_addon.engine import presets
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.rendering import (DEFAULT_PRESET, RenderJob, blend_path, check_frames_in_clip, check_job,
                                        clip_range, frames_dir, video_path)


# --------------------------------------------------------------------------------------------- render options

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
        parser.add_argument("--closeup", default=None, metavar="C,Y,X",
                            help="after the clip, the camera moves in on this output cell of the clip's last "
                                 "convolution: each product weight x input, then their sum, the cell's value "
                                 "(C,X for a Conv1d, C,D,Y,X for a Conv3d; e.g. 0,2,3)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a spec, timing or look value (repeatable): kernel_size=5, "
                             "timing.frames_per_step=1, look.gap=0.2; for a chain stages.1.kernel_size=5 and "
                             "batch=2 (every stage)")
    parser.add_argument("--template", default=None, metavar="NAME",
                        help="stage: studio, flat or none (default: the preset's own: studio, flat for shuffles)")
    parser.add_argument("--engine", default="cycles", help="cycles (default), eevee, workbench")
    parser.add_argument("--samples", default="32", metavar="N", help="render samples (default 32)")
    parser.add_argument("--resolution", default="960x540", metavar="WxH", help="default 960x540")
    parser.add_argument("--fps", default=None, metavar="N", help="frames per second (default: the preset's)")
    parser.add_argument("--frames", default=None, metavar="A-B", help="inclusive frame range (default: all)")
    parser.add_argument("--out", default=None, metavar="DIR", help="output folder (default: out/<clip>)")
    parser.add_argument("--formats", default="png,mp4,gif", metavar="LIST", help="any of png,mp4,gif,srt,glb (srt: the captions of the whole clip; glb: "
                        "the clip as glTF binary with its animation)")
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
                    wait=bool(getattr(args, "wait", False)), closeup=getattr(args, "closeup", None))
    if not (out or args.out):
        job = job.replace(out=str(Path("out") / job.clip))
    check_job(job, api)
    if job.frames:
        check_frames_in_clip(job, api)
    elif job.closeup is not None:
        clip_range(job, api)                    # checks the close-up's cell before Blender starts
    return job


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
    return "presets:\n  " + "\n  ".join(presets.list_presets())


# --------------------------------------------------------------------------------------------- render farm

def add_farm_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers``, ``--scheduler`` and ``--chunk-size`` to a render script's parser."""
    group = parser.add_argument_group("render farm (Dask)")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--workers", type=_bounded_int(farm.MAX_WORKERS), default=None, metavar="N",
                        help=f"render on a local Dask cluster of N worker processes (1-{farm.MAX_WORKERS}), one "
                             "Blender each")
    choice.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="render on a running Dask scheduler, e.g. tcp://10.0.0.5:8786, whose workers "
                             "were started with `dask worker ADDRESS --nthreads 1` (docs/FARM.md)")
    group.add_argument("--chunk-size", type=_bounded_int(farm.MAX_CHUNK_SIZE), default=None, metavar="FRAMES",
                       help=f"frames per work unit, 1-{farm.MAX_CHUNK_SIZE} (default: about "
                            f"{farm.CHUNKS_PER_WORKER} chunks per worker and clip, at most {farm.MAX_CHUNK_FRAMES} "
                            "frames)")
    group.add_argument("--scheduler-timeout", type=_timeout, default=farm.SCHEDULER_TIMEOUT, metavar="SECONDS",
                       help=f"give up connecting to --scheduler after this many seconds (default "
                            f"{farm.SCHEDULER_TIMEOUT:g}, at most {farm.MAX_SCHEDULER_TIMEOUT:g})")


def farm_requested(args: argparse.Namespace) -> bool:
    """True when the command line asked for the farm (``--workers`` or ``--scheduler``)."""
    return bool(getattr(args, "workers", None) or getattr(args, "scheduler", None))


def check_farm_arguments(args: argparse.Namespace) -> None:
    """The farm options that argparse cannot check alone (the scheduler's address); SpecError, before any job
    is built."""
    if getattr(args, "scheduler", None) is not None:
        farm.check_scheduler_address(args.scheduler)


def farm_main(jobs, args: argparse.Namespace, log=sys.stderr) -> int:
    """A script's farm branch: render ``jobs`` with the parsed farm options; print the outputs; exit status."""
    try:
        farm.run_farm(jobs, workers=args.workers, scheduler=args.scheduler,
                      chunk_size=getattr(args, "chunk_size", None), log=log,
                      scheduler_timeout=getattr(args, "scheduler_timeout", farm.SCHEDULER_TIMEOUT))
    except farm.FarmError as error:
        print(error, file=log)
        return 1
    for job in jobs:                     # what scripts/render.py prints: the outputs, one a line
        outputs = [frames_dir(job)] if "png" in job.formats else []
        outputs += [video_path(job, f) for f in ("mp4", "gif") if f in job.formats]
        outputs.append(blend_path(job))
        for path in outputs:
            print(path)
    return 0


def _bounded_int(high: int):
    def parse(text: str) -> int:
        value = _positive_int(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"{text!r} is above the limit {high}")
        return value
    return parse


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 < value <= farm.MAX_SCHEDULER_TIMEOUT):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0, at most "
                                         f"{farm.MAX_SCHEDULER_TIMEOUT:g}")
    return value
