"""Render one clip to PNG frames, MP4 and GIF.

    python scripts/render.py --preset conv-3x3-stride2-valid --out out/default
    blender -b -P scripts/render.py -- --preset pixel-shuffle-2x2 --engine eevee --resolution 1920x1080

Re-running the same command resumes: finished frames are kept, missing ones rendered.
Progress (frames done/total, time per frame, ETA) goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
for folder in (REPO, SCRIPTS):         # the repository's package and render_cli, wherever the script is run from
    if str(folder) not in sys.path:    # (Blender's -P does not put the script's folder on the path)
        sys.path.insert(0, str(folder))

import render_cli as cli  # noqa: E402
from animatedai_addon import api, rendering  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="render.py", description="Render an AnimatedAI clip (PNG frames, MP4, GIF).",
        epilog=cli.presets_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_render_arguments(parser)
    cli.add_farm_arguments(parser)
    cli.one_line_errors(parser)
    return parser


def fail(parser: argparse.ArgumentParser, error: SpecError):
    """Exit status 2 with the error on one line (nothing was written)."""
    parser.exit(2, f"{parser.prog}: error: {error}\n")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(cli.script_argv(argv))
    try:
        cli.check_farm_arguments(args)
        job = cli.job_from_args(args)
    except SpecError as error:
        fail(parser, error)           # exit status 2, nothing written
    if cli.farm_requested(args):       # --workers / --scheduler: frame chunks on Dask
        try:
            return cli.farm_main([job], args)
        except SpecError as error:         # the scheduler does not answer, the output folder is busy
            fail(parser, error)
    try:
        result = api.render(job, progress=rendering.Progress(job.clip))
    except SpecError as error:             # e.g. a value only the built scene can check
        fail(parser, error)
    print(f"{job.clip}: {len(result.frames) or 'no'} PNG frames kept, {result.seconds:.1f} s", file=sys.stderr)
    for path in result.outputs:
        print(path)
    return 0


if __name__ == "__main__":
    status = main()
    if "bpy" in sys.modules:              # Blender 4.2's bpy module needs its own way out (scene/compat.py)
        from animatedai_addon.scene import compat
        compat.exit_process(status)
    sys.exit(status)
