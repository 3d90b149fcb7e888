"""Render every preset (or a selection) with the same options, then print a summary table.

    python scripts/render_catalog.py --engine workbench --resolution 480x270 --out out/catalog
    python scripts/render_catalog.py --presets conv-3x3-valid,pixel-shuffle-2x2 --formats gif
    blender -b -P scripts/render_catalog.py -- --presets max-pool-2x2

Each clip goes to <out>/<preset>/. A clip that fails is reported and the others still render;
the exit status is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
for folder in (REPO, SCRIPTS):         # the repository's package and render_cli, wherever the script is run from
    if str(folder) not in sys.path:    # (Blender's -P does not put the script's folder on the path)
        sys.path.insert(0, str(folder))

import render_cli as cli  # noqa: E402
from animatedai_addon import api, rendering  # noqa: E402
from animatedai_addon.engine import presets  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="render_catalog.py", description="Render many AnimatedAI presets with the same options.",
        epilog=cli.presets_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default=None, metavar="A,B",
                        help="comma-separated preset names (default: every preset)")
    cli.add_render_arguments(parser, clip_arguments=False)
    cli.add_farm_arguments(parser)
    cli.one_line_errors(parser)
    parser.set_defaults(out="out/catalog")
    return parser


def selected_presets(text: str | None) -> list[str]:
    names = presets.list_presets()
    if text is None:
        return names
    chosen = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in names]
    if not chosen or unknown:
        raise SpecError("presets", text, "comma-separated names from: " + ", ".join(names))
    return chosen


def summary_table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("clip", "frames", "seconds", "outputs")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()   # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def fail(parser: argparse.ArgumentParser, error: SpecError):
    """Exit status 2 with the error on one line (nothing was written)."""
    parser.exit(2, f"{parser.prog}: error: {error}\n")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(cli.script_argv(argv))
    try:
        cli.check_farm_arguments(args)
        names = selected_presets(args.presets)
        jobs = [cli.job_from_args(args, preset=name, out=str(Path(args.out) / name)) for name in names]
    except SpecError as error:
        fail(parser, error)           # exit status 2, nothing written
    if cli.farm_requested(args):       # --workers / --scheduler: frame chunks on Dask
        try:
            return cli.farm_main(jobs, args)
        except SpecError as error:         # the scheduler does not answer, an output folder is busy
            fail(parser, error)
    rows, failed = [], 0
    for job in jobs:
        started = time.perf_counter()
        try:
            result = api.render(job, progress=rendering.Progress(job.clip))
        except SpecError as error:         # e.g. another job renders into this clip's folder: one line
            failed += 1
            print(f"{job.clip}: {error}", file=sys.stderr)
            rows.append((job.clip, "-", f"{time.perf_counter() - started:.1f}", "FAILED (see above)"))
            continue
        except Exception:                  # one broken clip must not stop the catalog; reported below
            failed += 1
            traceback.print_exc()
            rows.append((job.clip, "-", f"{time.perf_counter() - started:.1f}", "FAILED (see above)"))
            continue
        outputs = [p.name for p in result.videos] + (["frames/"] if result.frames else [])
        rows.append((job.clip, f"{result.first}-{result.last}", f"{result.seconds:.1f}", ", ".join(outputs)))
    print(summary_table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    status = main()
    if "bpy" in sys.modules:              # Blender 4.2's bpy module needs its own way out (scene/compat.py)
        from animatedai_addon.scene import compat
        compat.exit_process(status)
    sys.exit(status)
