"""Seconds per frame of the basic clip: the generated (animated) scene against the same geometry
without animation, in Cycles (CPU) and Workbench, with Cycles' persistent data on and off.

    .venv/bin/python benchmarks/render.py                      # conv-3x3-stride2-valid, 320x180
    .venv/bin/python benchmarks/render.py --frames 5 --samples 16 --mode instanced

The goal: animated / static <= 1.1 (writing the timeline as keyframes costs little at render
time). Measured side by side in one run; the first frame of every variant is a warm-up and
is not counted (Cycles builds its kernels and BVH, Workbench compiles shaders).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bpy  # noqa: E402

from animatedai_addon import rendering  # noqa: E402

GOAL = 1.1


def timed_frames(scene, frames: list[int], folder: Path) -> list[float]:
    """Seconds for each frame (frame_set + render + write), warm-up frame excluded."""
    seconds = []
    for index, frame in enumerate([frames[0], *frames]):
        started = time.perf_counter()
        rendering.render_one_frame(scene, frame, folder / f"bench_{index:03d}.png")
        if index:
            seconds.append(time.perf_counter() - started)
    return seconds


def freeze_animation(scene, frame: int) -> int:
    """Keep every object as it is at ``frame`` and drop its animation: the same geometry, static.
    Geometry Nodes cells (instanced mode) read the scene time, so that input is pinned too."""
    scene.frame_set(frame)
    frozen = 0
    for obj in scene.objects:
        if obj.animation_data is None:
            continue
        matrix, color = obj.matrix_world.copy(), tuple(obj.color)
        obj.animation_data_clear()
        obj.matrix_world, obj.color = matrix, color
        frozen += 1
    for obj in scene.objects:
        for modifier in obj.modifiers:
            if modifier.type == "NODES":
                for key in list(modifier.keys()):
                    if isinstance(modifier[key], (int, float)) and "frame" in key.lower():
                        modifier[key] = frame
    return frozen


def measure(job: rendering.RenderJob, frame_count: int, folder: Path) -> list[tuple[str, float]]:
    rows = []
    result = rendering.prepare_scene(job)
    scene = bpy.context.scene
    first, last = int(result.frame_start), int(result.frame_end)
    middle = (first + last) // 2
    frames = list(range(middle, min(middle + frame_count, last + 1)))
    persistent_cases = (True, False) if job.engine == "cycles" else (True,)

    def run(label: str):
        for persistent in persistent_cases:
            scene.render.use_persistent_data = persistent
            per_frame = statistics.median(timed_frames(scene, frames, folder))
            rows.append(((job.engine, label, persistent), per_frame))

    run("animated")
    freeze_animation(scene, middle)
    run("static")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=rendering.DEFAULT_PRESET)
    parser.add_argument("--resolution", default="320x180")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--frames", type=int, default=3, help="timed frames per variant (after one warm-up)")
    parser.add_argument("--mode", default="objects")
    parser.add_argument("--engines", default="cycles,workbench")
    args = parser.parse_args(rendering.script_argv(argv))
    resolution = rendering.parse_resolution(args.resolution)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for engine in args.engines.split(","):
            job = rendering.RenderJob(preset=args.preset, engine=engine, samples=args.samples, resolution=resolution,
                                      out=tmp, formats=("png",), mode=args.mode, template="studio")
            rows += measure(job, args.frames, Path(tmp))
    table = dict(rows)
    print(f"{args.preset}, {args.mode} mode, {args.resolution}, {args.samples} samples, "
          f"median of {args.frames} frames after a warm-up")
    print(f"{'engine':10s} {'scene':9s} {'persistent':10s} {'s/frame':>8s} {'animated/static':>16s}")
    for (engine, label, persistent), seconds in rows:
        ratio = ""
        if label == "animated":
            ratio_value = seconds / table[(engine, "static", persistent)]
            ratio = f"{ratio_value:.2f} {'ok' if ratio_value <= GOAL else 'over ' + str(GOAL)}"
        shown = ("on" if persistent else "off") if engine == "cycles" else "-"
        print(f"{engine:10s} {label:9s} {shown:10s} {seconds:8.3f} {ratio:>16s}")
    for label in ("animated", "static"):
        if ("cycles", label, False) in table:
            on, off = table[("cycles", label, True)], table[("cycles", label, False)]
            print(f"Cycles {label}: persistent data on / off = {on / off:.2f} (below 1: on is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
