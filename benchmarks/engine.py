"""Engine speed: plan + timeline for a 64x64x32 input, 3x3, 32 filters, same padding (131,072 steps);
then peak memory per cube over kernels 1-255.

Run: ``.venv/bin/python benchmarks/engine.py``. Prints the best of 3 for the plan, the timeline
without per-cell input highlights (the instanced mode lights cells with the window box) and with
them (the objects mode), the ratio of the two, and the memory the timeline's arrays take; then the
operations beside Conv2d (a batch, Conv3d, bias, ReLU, BatchNorm2d, Flatten + Linear, a residual graph):
plan and timeline time, cubes, microseconds per cube.

``--memory`` (or ``--memory-only``) adds the memory table: for each kernel size k in 1..255, a clip of
about the same cube count (a transposed convolution with stride 2 and a same-padded convolution) is
planned in a fresh subprocess (plan + the instanced-mode timeline), and its peak RSS
(``resource.getrusage``) and peak traced numpy/Python allocations (``tracemalloc``) are divided by its cube
count. ``--baseline DIR`` runs the same subprocesses against another checkout of the package (e.g. the
commit before the engine was chunked) and prints both side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from animatedai_addon.engine.planning import plan  # noqa: E402
from animatedai_addon.engine.spec import (BatchNorm2d, Chain, Conv2d, Conv3d, Flatten, Linear, ReLU,  # noqa: E402
                                          mobilenet_block)
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


#: Operations beside Conv2d, each planned and timed the same way: a 3x3 same convolution over 8 channels of
#: 32x32, the same over a batch of 8 (side by side), a 3x3x3 Conv3d over 8 slices of it (the same cells),
#: with a bias; the elementwise stages on its output; a dense layer on it flattened; and a residual graph
#: (MobileNetV2's inverted residual with its skip Add) on the same input.
BESIDE = (("Conv2d", Conv2d(8, 32, 32, out_channels=8, kernel_size=3, padding="same")),
          ("Conv2d batch=8", Conv2d(8, 32, 32, out_channels=8, kernel_size=3, padding="same", batch=8)),
          ("Conv3d", Conv3d(8, 8, 32, 32, out_channels=8, kernel_size=3, padding="same")),
          ("Conv2d bias", Conv2d(8, 32, 32, out_channels=8, kernel_size=3, padding="same", bias=True)),
          ("ReLU", ReLU(8, 32, 32)),
          ("BatchNorm2d", BatchNorm2d(8, 32, 32)),
          ("Flatten+Linear", Chain((Flatten(8, 32, 32), Linear(8 * 32 * 32, 8)))),
          ("MobileNetV2 graph", mobilenet_block(8, 32, 32)))


def step_count(the_plan) -> int:
    """Steps of a plan, a chain's (its stages') or a graph's (its nodes')."""
    parts = getattr(the_plan, "stages", None) or getattr(the_plan, "plans", None)
    if parts is None:
        return len(the_plan.steps)
    return sum(step_count(part) for part in (parts.values() if isinstance(parts, dict) else parts))


def operations_table() -> None:
    """Plan and timeline time per operation beside Conv2d, and per cube (planning stays O(cubes))."""
    print(f"\n{'operation':17} {'input':>17} {'steps':>8} {'cubes':>8} {'plan s':>7} {'timeline s':>10} "
          f"{'us/cube':>7}")
    for name, spec in BESIDE:
        plan_s, the_plan = best_of(lambda: plan(spec))
        timeline_s, timeline = best_of(lambda: build_timeline(the_plan, highlights=False))
        shape = "x".join(map(str, spec.input_torch_shape))
        print(f"{name:17} {shape:>17} {step_count(the_plan):>8,} {timeline.cube_count:>8,} {plan_s:7.3f} "
              f"{timeline_s:10.3f} {(plan_s + timeline_s) / timeline.cube_count * 1e6:7.2f}")


#: Kernel sizes of the memory table.
KERNELS = (1, 3, 7, 15, 31, 63, 127, 255)
#: Each clip runs under this address-space limit (bytes): a clip that would need more fails, and says so.
MEMORY_LIMIT = 6 << 30

PROBE = """
import json, resource, sys, time, tracemalloc
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.path.insert(0, {root!r})
from animatedai_addon.engine import build_timeline, plan
from animatedai_addon.engine.spec import Conv2d, ConvTranspose2d
from animatedai_addon.engine.timeline import count_cubes
spec = {spec}
tracemalloc.start()
start = time.perf_counter()
try:
    timeline = build_timeline(plan(spec), highlights=False)
    status = "ok"
except MemoryError:
    status = "MemoryError"
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps(dict(status=status, cubes=count_cubes(spec), seconds=seconds, traced=traced,
                      rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)))
"""


def memory_specs(k: int) -> list[tuple[str, str]]:
    """Clips whose kernel is k x k: a stride-2 transposed convolution of a 4x4x4 input (the issue's case at
    k=255) and a same-padded convolution of a 2-channel input as large as the kernel."""
    side = max(k, 8)
    return [(f"ConvTranspose2d k={k}", f"ConvTranspose2d(4, 4, 4, out_channels=4, kernel_size={k}, stride=2)"),
            (f"Conv2d same k={k}", f"Conv2d(2, {side}, {side}, out_channels=1, kernel_size={k}, padding='same')")]


def probe(root: Path, spec: str) -> dict:
    code = PROBE.format(limit=MEMORY_LIMIT, root=str(root), spec=spec)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["killed"])[-1]
        return dict(status=last[:60], cubes=0, seconds=0.0, traced=0, rss=0)
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_table(baseline: Path | None) -> None:
    """Peak RSS and traced peak per cube over kernel sizes, this checkout beside ``baseline``."""
    print(f"\npeak memory per cube over kernels {KERNELS[0]}-{KERNELS[-1]} (plan + timeline, one subprocess each, "
          f"RLIMIT_AS {MEMORY_LIMIT >> 30} GiB)")
    head = f"{'clip':24} {'cubes':>10} {'s':>7} {'RSS MiB':>8} {'RSS B/cube':>10} {'traced B/cube':>13}"
    if baseline:
        head += f"   | before: {'s':>7} {'RSS MiB':>8} {'RSS B/cube':>10} {'traced B/cube':>13}"
    print(head)
    for k in KERNELS:
        for label, spec in memory_specs(k):
            rows = [probe(REPO, spec)] + ([probe(baseline, spec)] if baseline else [])
            cubes = max(r["cubes"] for r in rows) or 1
            line = f"{label:24} {cubes:>10,}"
            for i, r in enumerate(rows):
                if i:
                    line += "   | before:"
                if r["status"] != "ok":
                    line += f" {r['status']:>42}"
                    continue
                line += (f" {r['seconds']:7.2f} {r['rss'] / 2**20:8.0f} {r['rss'] / cubes:10.0f}"
                         f" {r['traced'] / cubes:13.0f}")
            print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true", help="also print peak memory per cube over kernels")
    parser.add_argument("--memory-only", action="store_true", help="only the memory table")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of the package to measure beside this one (its root folder)")
    options = parser.parse_args()
    if not options.memory_only:
        main()
        operations_table()
    if options.memory or options.memory_only:
        memory_table(options.baseline)
