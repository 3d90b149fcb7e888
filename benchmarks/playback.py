"""Objects mode playback: seconds per ``frame_set`` against the number of cubes.

Usage: ``.venv/bin/python benchmarks/playback.py [--cubes 1000 2000 4000 8000]``

Generates a 3x3 'same' convolution of 8 channels sized to each cube count (objects mode, no
template), steps through 24 frames in the middle of the clip with ``scene.frame_set`` and
prints the median seconds per frame. Playing at 24 fps needs 1/24 s = 0.042 s a frame: the
panel advises instanced mode above the count where this is crossed (``panels.layout``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cubes", nargs="+", type=int, default=[1000, 2000, 4000, 8000])
    args = parser.parse_args(argv)
    import bpy
    import animatedai_addon.api as aai
    from animatedai_addon.engine.timeline import count_cubes
    from memory import spec_for
    for cubes in args.cubes:
        bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True, app_template="")
        spec = spec_for(cubes)
        result = aai.generate(spec, mode="objects", template="none")
        scene = bpy.context.scene
        middle = (result.frame_start + result.frame_end) // 2
        scene.frame_set(middle - 1)
        times = []
        for frame in range(middle, middle + 24):
            start = time.perf_counter()
            scene.frame_set(frame)
            times.append(time.perf_counter() - start)
        print(json.dumps(dict(cubes=count_cubes(spec), seconds_per_frame=round(statistics.median(times), 4),
                              fps=round(1 / statistics.median(times), 1))), flush=True)
        aai.clear()
    from animatedai_addon.scene.compat import exit_process
    exit_process(0)


if __name__ == "__main__":
    main()
