"""Render farm speed: frames/s with 1 and 2 local Dask workers on the same clip, and the per-chunk overhead.

Run: ``.venv/bin/python benchmarks/farm.py`` (options: ``--help``). Renders the same frames of one clip twice,
into fresh folders (nothing skipped), on a LocalCluster of 1 then 2 single-threaded workers, and prints:

* frames/s of each run and their ratio (on a 2-core machine, at most 2x; less when the two Blenders share
  cores with the scheduler, the client and each other);
* the overhead a chunk pays besides rendering (a worker's Blender start-up and the clip's scene build, paid by
  each worker's first chunk of a clip), as a share of the render time;
* the rest of the wall time (task scheduling, result transfer, idle workers at the end) as a share too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]     # the package, and the render scripts' command line

import render_cli as cli  # noqa: E402
from animatedai_addon import farm, rendering  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="conv-3x3-valid")
    parser.add_argument("--frames", default="13-60", metavar="A-B", help="inclusive frame range (default 13-60)")
    parser.add_argument("--engine", default="workbench")
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--resolution", default="320x180", metavar="WxH")
    parser.add_argument("--chunk-size", type=int, default=None, metavar="FRAMES",
                        help="frames per chunk (default: the farm's, about 4 chunks per worker)")
    return parser.parse_args(argv)


def run(job: rendering.RenderJob, workers: int, chunk_size: int | None) -> farm.FarmSummary:
    return farm.run_farm([job], workers=workers, chunk_size=chunk_size, log=None)


def describe(workers: int, summary: farm.FarmSummary) -> str:
    render = summary.render_seconds
    busy = render + summary.overhead_seconds
    idle = summary.seconds * workers - busy         # worker-seconds spent neither rendering nor building
    return (f"{workers} worker(s): {summary.frames} frames in {summary.chunks} chunks, {summary.seconds:6.2f} s "
            f"-> {summary.frames_per_second:6.2f} frames/s | start-up + scene build {summary.overhead_seconds:5.2f} s "
            f"= {summary.overhead_seconds / render:5.1%} of render time {render:5.2f} s | scheduling and idle "
            f"{max(idle, 0.0):5.2f} worker-s = {max(idle, 0.0) / render:5.1%} | cluster start "
            f"{summary.cluster_start_s:4.2f} s (not counted)")


def main(argv=None) -> int:
    args = parse_args(argv)
    frames = cli.parse_frames(args.frames)
    with tempfile.TemporaryDirectory(prefix="animatedai-farm-bench-") as scratch:
        def job(folder: str) -> rendering.RenderJob:
            return rendering.RenderJob(preset=args.preset, out=str(Path(scratch) / folder), frames=frames,
                                       engine=args.engine, samples=args.samples, template="none",
                                       resolution=cli.parse_resolution(args.resolution), formats=("png",))
        print(f"{args.preset} frames {frames[0]}-{frames[1]}, {args.engine} {args.resolution}, "
              f"{args.samples} sample(s)")
        one = run(job("one"), 1, args.chunk_size)
        print(describe(1, one))
        two = run(job("two"), 2, args.chunk_size)
        print(describe(2, two))
    print(f"speed-up with 2 workers: {two.frames_per_second / one.frames_per_second:.2f}x "
          f"(at most 2x on this 2-core machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
