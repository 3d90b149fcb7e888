"""Engine speed: plan + timeline for a 64x64x32 input, 3x3, 32 filters, same padding (131,072 steps).

Run: ``.venv/bin/python benchmarks/engine.py``. Prints the best of 3 for the plan, the timeline
without per-cell input highlights (the instanced mode lights cells with the window box) and with
them (the objects mode), the ratio of the two, and the memory the timeline's arrays take.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from animatedai_addon.engine.planning import plan  # noqa: E402
from animatedai_addon.engine.spec import Conv2d  # noqa: E402
from animatedai_addon.engine.timeline import Timeline, build_timeline  # noqa: E402

SPEC = Conv2d(32, 64, 64, out_channels=32, kernel_size=3, padding="same")
REPEATS = 3


def best_of(function, repeats: int = REPEATS):
    """(best seconds, last result) over ``repeats`` runs."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def timeline_bytes(timeline: Timeline) -> int:
    total = timeline.step_frames.nbytes
    for track in timeline.tensors:
        total += sum(value.nbytes for value in vars(track).values() if isinstance(value, np.ndarray))
    for box in timeline.boxes:
        total += sum(value.nbytes for value in vars(box).values() if isinstance(value, np.ndarray))
    return total


def main() -> None:
    plan_s, the_plan = best_of(lambda: plan(SPEC))
    plain_s, plain = best_of(lambda: build_timeline(the_plan, highlights=False))
    lit_s, lit = best_of(lambda: build_timeline(the_plan, highlights=True))
    lit_intervals = sum(len(t.highlight_cell) for t in lit.tensors)
    print(f"spec: {SPEC.label}, input {SPEC.input_shape}, {len(the_plan.steps):,} steps, "
          f"{plain.cube_count:,} cubes, frames {plain.frame_start}..{plain.frame_end}")
    print(f"plan                              {plan_s:7.3f} s")
    print(f"timeline, highlights=False        {plain_s:7.3f} s   plan + timeline {plan_s + plain_s:7.3f} s "
          f"(goal < 1 s)   arrays {timeline_bytes(plain) / 2**20:7.1f} MiB")
    print(f"timeline, highlights=True         {lit_s:7.3f} s   plan + timeline {plan_s + lit_s:7.3f} s"
          f"             arrays {timeline_bytes(lit) / 2**20:7.1f} MiB, {lit_intervals:,} highlight intervals")
    print(f"highlights=True / highlights=False: {lit_s / plain_s:5.1f}x")


if __name__ == "__main__":
    main()
