"""Memory per cube of a generated clip, in each mode: what the default cube budgets are set from.

Usage: ``.venv/bin/python benchmarks/memory.py [--runs objects:5000 objects:20000 instanced:100000 ...]``

Each run is its own subprocess: read the resident set size (``/proc/self/statm``), call
``api.generate`` on a 3x3 'same' convolution of 8 channels sized to the cube count asked
(no template), then read it again and print the difference per cube, with the time taken,
the same after one ``frame_set`` (the evaluated scene, as when the clip plays) and the peak
RSS. The engine's plan and timeline are inside the measurement (part of what Generate costs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DEFAULT_RUNS = ("objects:5000", "objects:20000", "instanced:100000", "instanced:1000000")


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def spec_for(cubes: int):
    """A 3x3 'same' conv with 8 input and output channels: ~16 n^2 cubes for an n x n input."""
    from animatedai_addon.engine import Conv2d
    n = max(3, round(math.sqrt(cubes / 16)))
    return Conv2d(8, n, n, out_channels=8, kernel_size=3, padding="same")


def run_one(mode: str, cubes: int) -> dict:
    import bpy
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True, app_template="")
    import animatedai_addon.api as aai
    from animatedai_addon.engine.timeline import count_cubes
    spec = spec_for(cubes)
    aai.generate(spec_for(200), mode=mode, template="none")    # warm up: registration, node groups, imports
    aai.clear()
    before = _rss()
    start = time.perf_counter()
    result = aai.generate(spec, mode=mode, template="none", cube_budget=10**8)
    seconds = time.perf_counter() - start
    delta = _rss() - before
    bpy.context.scene.frame_set((result.frame_start + result.frame_end) // 2)   # evaluated, as when played
    evaluated = _rss() - before
    count = count_cubes(spec)
    return dict(mode=mode, cubes=count, seconds=round(seconds, 2), rss_delta_mb=round(delta / 2**20, 1),
                bytes_per_cube=round(delta / count), evaluated_bytes_per_cube=round(evaluated / count),
                peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="mode:cubes items")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        mode, cubes = args.one.split(":")
        print(json.dumps(run_one(mode, int(cubes))), flush=True)
        from animatedai_addon.scene.compat import exit_process
        exit_process(0)
    for item in args.runs:
        out = subprocess.run([sys.executable, __file__, "--one", item], capture_output=True, text=True, check=True)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
        print(line, flush=True)


if __name__ == "__main__":
    main()
