"""Evaluation: the state of every cell and box at a frame, exactly as Blender shows it (the tests' oracle)."""

from __future__ import annotations

import numpy as np

from .tracks import TensorState, TensorTrack, Timeline


def ease(progress, easing: str) -> np.ndarray:
    """Eased progress for raw progress (any real, inf allowed): 0 before, 1 after the interval."""
    u = np.clip(np.nan_to_num(np.asarray(progress, np.float64), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    if easing == "linear":
        return u
    if easing == "ease":
        return u * u * (3.0 - 2.0 * u)
    return (u >= 1.0).astype(np.float64)


def origin_at(track: TensorTrack, frame: float, easing: str) -> np.ndarray:
    """World location of a tensor's empty at ``frame`` (its keys eased; before the first key, the first)."""
    frames = track.key_frames
    if len(frames) == 0:
        return np.asarray(track.origin, np.float64)
    locations = track.key_locations.astype(np.float64)
    k = int(np.searchsorted(frames, np.float32(frame), side="right")) - 1
    if k < 0:
        return locations[0]
    if k >= len(frames) - 1:
        return locations[-1]
    u = (frame - float(frames[k])) / (float(frames[k + 1]) - float(frames[k]))
    return locations[k] + float(ease(u, easing)) * (locations[k + 1] - locations[k])


def local_at(track: TensorTrack, frame: float, easing: str) -> np.ndarray:
    """(N, 3) local positions at ``frame``: rest, or along the cell's current move, or after its last one."""
    local = track.position.astype(np.float64).copy()
    if len(track.move_cell) == 0:
        return local
    cell = track.move_cell
    to = track.move_to.astype(np.float64)
    first = np.r_[True, cell[1:] != cell[:-1]]
    before = np.empty_like(to)
    before[first] = local[cell[first]]
    before[~first] = to[np.flatnonzero(~first) - 1]
    started = np.flatnonzero(track.move_start <= frame)
    if len(started) == 0:
        return local
    latest = started[np.r_[cell[started][1:] != cell[started][:-1], True]]
    start = track.move_start[latest].astype(np.float64)
    duration = track.move_end[latest].astype(np.float64) - start
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(duration > 0, (frame - start) / duration, 1.0)   # a zero-length move is a jump
    weight = ease(u, easing)[:, None]
    local[cell[latest]] = before[latest] + weight * (to[latest] - before[latest])
    return local


def pop_scale(appear, disappear, frame: float, pop_frames: int, easing: str) -> np.ndarray:
    """Scale 0..1 of cells at ``frame``: 0 before ``appear``, growing over ``pop_frames``, 0 from ``disappear``."""
    appear = np.asarray(appear, np.float64)
    if pop_frames > 0:
        with np.errstate(invalid="ignore"):
            grown = ease((frame - appear) / pop_frames, easing)
    else:
        grown = (frame >= appear).astype(np.float64)
    return np.where(frame < np.asarray(disappear, np.float64), grown, 0.0)


def highlighted_at(track: TensorTrack, frame: float) -> np.ndarray:
    lit = np.zeros(len(track), bool)
    on = (track.highlight_start <= frame) & (frame < track.highlight_end)
    lit[track.highlight_cell[on]] = True
    return lit


def state_at(timeline: Timeline, frame: float) -> dict[str, TensorState]:
    """Every tensor's cells at ``frame`` as Blender evaluates the keys the writer makes from the timeline."""
    states = {}
    for track in timeline.tensors:
        scale = pop_scale(track.appear, track.disappear, frame, timeline.pop_frames, timeline.easing)
        local = local_at(track, frame, timeline.easing)
        states[track.name] = TensorState(scale=scale, visible=scale > 0, highlighted=highlighted_at(track, frame),
                                         local_position=local,
                                         world_position=origin_at(track, frame, timeline.easing) + local)
    return states


def box_state_at(timeline: Timeline, frame: float) -> dict[str, tuple[bool, np.ndarray, np.ndarray]]:
    """Every box at ``frame``: (visible, world centre, size); the size is 0 while hidden."""
    states = {}
    for box in timeline.boxes:
        k = max(int(np.searchsorted(box.key_frames, np.float32(frame), side="right")) - 1, 0)
        visible = bool(box.appear <= frame < box.disappear)
        if len(box.key_visible):
            visible = visible and bool(box.key_visible[k])
        size = np.asarray(box.size, np.float64) if visible else np.zeros(3)
        center = box.key_centers[k].astype(np.float64)
        if box.interpolation == "linear" and k + 1 < len(box.key_frames) and frame > box.key_frames[k]:
            a, b = float(box.key_frames[k]), float(box.key_frames[k + 1])
            u = min(max((frame - a) / (b - a), 0.0), 1.0)
            center = center + u * (box.key_centers[k + 1].astype(np.float64) - center)
        states[box.name] = (visible, center, size)
    return states
