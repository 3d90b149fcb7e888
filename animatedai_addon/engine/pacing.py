"""Pacing: how long each step, slide and shuffle lasts, and the route of a shuffling cell."""

from __future__ import annotations

import numpy as np

from .options import Timing


def step_durations(count: int, timing: Timing) -> np.ndarray:
    """Frames each of a stage's ``count`` steps lasts: from ``first_step_frames`` smoothly down to
    ``frames_per_step`` (an exponential ease, no jump)."""
    fast = float(timing.frames_per_step)
    if not timing.first_step_frames:
        return np.full(count, fast)
    k = np.arange(count, dtype=np.float64)
    return fast + (timing.first_step_frames - fast) * np.exp(-k / timing.ramp_steps)


def slide_frames(next_step: float, timing: Timing) -> float:
    """A filter slide before a step lasting ``next_step``: twice that step, within
    [2 * frames_per_step, move_frames], so swaps speed up with the steps."""
    return float(min(timing.move_frames, max(2.0 * timing.frames_per_step, 2.0 * next_step)))


def step_times(stage, timing: Timing, filters_move: bool, t0: float):
    """Frames of a windowed stage's steps: (start, end) float64 of length S, first/last step of each pass,
    and the slide length before each pass (0 for the first).

    A pass is a run of steps of one filter (the whole stage when filters do not take turns).
    Step lengths follow :func:`step_durations`; after ``speedup_after_rows`` output rows of a
    pass, ``speedup`` steps share one such interval. Between passes: the old filter slides
    out and the new one in (:func:`slide_frames` each) and ``hold_frames`` pass. A step lasts
    from its start until the next step of its pass starts (the last one for its own duration).
    """
    steps = stage.steps
    count = len(steps)
    f, oy = steps.filter, steps.out[:, 1]
    new_pass = np.zeros(count, bool)
    new_pass[0] = True
    if filters_move or stage.order == "filter":
        new_pass[1:] = f[1:] != f[:-1]
    firsts = np.flatnonzero(new_pass)
    lasts = np.r_[firsts[1:] - 1, count - 1]
    new_row = new_pass.copy()
    new_row[1:] |= oy[1:] != oy[:-1]
    rows_so_far = np.cumsum(new_row)
    row_in_pass = rows_so_far - rows_so_far[firsts][np.cumsum(new_pass) - 1]
    duration = step_durations(count, timing)
    if timing.speedup_after_rows > 0:
        duration[row_in_pass >= timing.speedup_after_rows] /= timing.speedup
    slides = np.zeros(len(firsts))
    if filters_move:
        slides[1:] = [slide_frames(d, timing) for d in duration[firsts[1:]]]
    increment = np.zeros(count)
    increment[1:] = duration[:-1]
    increment[firsts[1:]] += 2 * slides[1:] + timing.hold_frames
    start = t0 + np.cumsum(increment)
    end = np.empty(count)
    end[:-1] = start[1:]
    end[lasts] = start[lasts] + duration[lasts]
    return start, end, firsts, lasts, slides


#: At the middle of a shuffle every cell stands this many times as far from the block's centre (per axis
#: x, y, z) as halfway between its two places: the lattice opens up in depth, as in the reference's middle
#: frame. A compromise measured in tests/engine/test_layout.py and tests/blender/test_framing.py: wider
#: (e.g. (1.4, 3, 1.4): cells never closer than 0.84 pitch) makes the camera back off until the blocks at
#: rest fill half the frame; at (1, 1.5, 1) they fill >= 85% of its width or 75% of its height, and at the
#: busiest instant two cubes of the pixel-shuffle presets pass 0.6 pitch apart (through a third of an edge).
EXPLODE = (1.0, 1.5, 1.0)


def exploded_routes(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(N, 3, 3) waypoints of cells transforming in place: start, the exploded middle, end."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    center = (src.mean(axis=0) + dst.mean(axis=0)) / 2
    middle = center + np.asarray(EXPLODE) * ((src + dst) / 2 - center)
    return np.stack([src, middle, dst], axis=1)
