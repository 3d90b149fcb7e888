"""Timelines: when every cell of every tensor appears, lights up and moves, and where it sits.

This is the whole contract between the engine and the Blender layer. The
Blender layer writes exactly these arrays as objects, keyframes or point
attributes; it never decides timing or placement itself.

Conventions
-----------
* Frames are floats on Blender's frame axis; ranges are inclusive like Blender's
  (``frame_start .. frame_end``).
* ``appear = -inf``: visible from the start (no pop-in). ``disappear = +inf``:
  never leaves. A cell pops in by scaling 0 -> 1 over ``pop_frames`` starting at
  ``appear`` (so it has scale 0 before ``appear`` and 1 from ``appear + pop_frames``).
* Highlight intervals are half-open: highlighted for ``start <= frame < end``.
* Space: x runs along a tensor's width (columns, left to right), y along its
  channels (channel 0 nearest the camera), z along its height (row 0 on top,
  rows going down). Positions are of cube centres, in metres, relative to the
  tensor's origin (its empty in Blender); the world position is origin + local.
* Easing ``"ease"`` is smoothstep (3t^2 - 2t^3): what a Bezier segment with flat
  handles at one third of the interval evaluates to, so Blender matches numpy.
  It applies to travels (cell moves, the keys of a tensor's empty) and to pops;
  ``"constant"`` jumps at the END of each interval, as Blender's constant keys do.
* ``disappear`` hides a cell at once: shown while ``appear <= frame < disappear``.
* Highlights and window-box keys are constant: a highlight interval is two constant
  colour keys (highlight colour at ``start``, base colour at ``end``); a window box
  jumps to ``key_centers[k]`` at ``key_frames[k]`` and is shown with scale ``size``
  while ``appear <= frame < disappear`` and ``key_visible[k]`` (k = the last key at
  or before the frame, the first key before it), scale 0 otherwise.
* Moves of one cell never overlap in time; consecutive moves share a key (the end
  of one is the start of the next). ``state_at`` / ``box_state_at`` evaluate all of
  this exactly as Blender will, which the tests rely on.

How steps become frames (:func:`build_timeline`)
-------------------------------------------------
* The clip starts at ``FRAME_START`` (1) and holds still for ``intro_frames``,
  the first filter already standing in its slot. Then the steps of a stage speed
  up smoothly: step k lasts ``frames_per_step + (first_step_frames -
  frames_per_step) * exp(-k / ramp_steps)`` frames (frames may be fractional);
  after ``speedup_after_rows`` output rows of a pass, ``speedup`` times faster.
* Between passes (and stages) the filter slides home, the next one slides in
  (four legs: up, along the row, along the channel axis, down) and
  ``hold_frames`` pass. A slide lasts twice the next step, at least
  ``2 * frames_per_step`` and at most ``move_frames``: swaps speed up with the steps.
* Highlights (``Look.highlight``): ``"pulse"`` (Animated AI's) sends a white
  pulse along the active filter's channel axis, from its input end (channel 0)
  to its output end, over the first ``PULSE_SHARE`` of each step; the output
  cell then appears white (``step_frames``) and takes its filter's colour when
  the step ends (at least a frame after its pop-in completes). The pulse is a box (role ``"pulse"``) gliding with LINEAR keys
  over the filter, lighting the cells strictly inside it. ``"cells"`` lights the
  whole active filter for its pass and the input cells under the window while a
  step reads them, and the output cell pops in at the step's start in its colour.
* A shuffle transforms in place: every cell travels at once over
  ``shuffle_frames``, through the exploded lattice at the middle (:data:`EXPLODE`)
  to its new place; ``step_frames`` of a shuffle step is the arrival.
* After the last step: ``outro_frames``. With ``loop`` the clip then undoes
  itself (cells travel back, outputs vanish, the first filter returns) and
  ``frame_end`` shows the first frame's state again.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from . import palette
from .errors import SpecError
from .layout import Grid, StageLayout, filter_route, layout_stages, leg_times, pitch_of

EASINGS = ("linear", "ease", "constant")
ROLES = ("input", "padding", "filter", "output")
HIGHLIGHTS = ("pulse", "cells")
#: Share of a step the pulse takes to run along the filter (the output cell appears at its end).
PULSE_SHARE = 0.5
#: The pulse box leads its layer intervals by this share of a layer (see _Builder.pulse_box).
PULSE_LEAD = 1e-3
#: The pulse and a new output cell: white (linear RGBA).
PULSE_COLOR = (0.9, 0.9, 0.9, 1.0)


@dataclass(frozen=True)
class Timing:
    """How steps become frames (Animated AI's pacing: a still hold, a slow first step, then faster and faster)."""

    frames_per_step: int = 2        # frames per step once up to speed
    first_step_frames: int = 30     # the first step of a stage; 0 = every step lasts frames_per_step
    ramp_steps: int = 5             # how fast steps speed up: the excess over frames_per_step shrinks by e per this many
    hold_frames: int = 2            # pause when the active filter (or stage) changes
    intro_frames: int = 12          # still frames before the first step
    outro_frames: int = 24          # still frames after the last step
    pop_frames: int = 3             # length of an output cell's pop-in
    move_frames: int = 12           # longest filter slide (slides speed up with the steps)
    shuffle_frames: int = 45        # a shuffle's transform (every cell travels at once)
    easing: str = "ease"            # of travels: one of EASINGS
    speedup_after_rows: int = 0     # after this many output rows of each filter pass, go faster (0 = never)
    speedup: int = 4                # steps per frames_per_step once sped up
    loop: bool = False              # end the clip in its first frame's state, for seamless loops
    fps: int = 24


@dataclass(frozen=True)
class Look:
    """Layout and colour choices (sizes in metres)."""

    cube_size: float = 0.9          # edge of one cube
    gap: float = 0.1                # space between neighbouring cubes (pitch = cube_size + gap)
    tensor_gap: float = 4.0         # space between neighbouring tensors
    value_shading: float = 0.0      # 0: one colour per role/filter; 1: brightness follows the cell's value
    highlight_gain: float = 1.6     # "cells" highlights: a brighter version of the cell's own colour
    input_color: tuple[float, float, float, float] = palette.input_color()   # linear RGBA (palette.INPUT_SRGB)
    highlight: str = "pulse"        # one of HIGHLIGHTS: Animated AI's white pulse, or the lit window cells
    # filter k (and its output channel) takes filter_colors[k]; filters past the end, or all when empty,
    # take the palette's hues
    filter_colors: tuple[tuple[float, float, float, float], ...] = ()
    padding_color: tuple[float, float, float, float] = palette.PADDING_COLOR


@dataclass
class TensorTrack:
    """One tensor's cells (N of them) and everything that happens to them."""

    name: str                       # "input", "input padding", "filter3", "output", "stage1 output", ...
    role: str                       # one of ROLES
    shape: tuple[int, int, int]     # (C, H, W) the cell indices refer to
    cells: np.ndarray               # (N, 3) int32 (c, y, x); padding cells index the virtual grid
    origin: np.ndarray              # (3,) float: the tensor's empty at rest, world space
    position: np.ndarray            # (N, 3) float32, rest position relative to origin
    color: np.ndarray               # (N, 4) float32 linear RGBA
    highlight_color: np.ndarray     # (N, 4) float32
    value: np.ndarray               # (N,) float32: the tensor's value (0 for padding)
    appear: np.ndarray              # (N,) float32, -inf = from the start
    disappear: np.ndarray           # (N,) float32, +inf = never
    # moves, sorted by (cell, start); ``to`` is the local position after the move, ``from`` the one before
    move_cell: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    move_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    move_end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    move_to: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    # motion of the whole tensor (its empty): world locations at keyed frames, eased with Timeline.easing
    key_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    key_locations: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    # highlight intervals, sorted by (cell, start), merged (no overlaps, no touching intervals)
    highlight_cell: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    highlight_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    highlight_end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.cells)

    def cell_names(self) -> list[str]:
        """Outliner names: ``input[c3,y1,x4]``."""
        return [f"{self.name}[c{c},y{y},x{x}]" for c, y, x in self.cells.tolist()]


@dataclass
class BoxTrack:
    """A wire box: the window on the input, the outline of a tensor still being filled, or the
    (unrendered) pulse box that lights the filter cells strictly inside it."""

    name: str                       # "window", "output outline", "pulse", "stage1 window", ...
    role: str                       # "window" | "outline" | "pulse"
    size: np.ndarray                # (3,) float: outer size along x, y, z
    key_frames: np.ndarray          # (T,) float32
    key_centers: np.ndarray         # (T, 3) float32 world centre; constant interpolation for windows (jumps per step)
    # A box is hidden (size 0) before ``appear`` and from ``disappear`` on.
    appear: float = -np.inf
    disappear: float = np.inf
    # windows: the tensors whose cells light up while inside this box (e.g. ("input", "input padding"))
    targets: tuple[str, ...] = ()
    color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    # (T,) bool, added: whether the box is shown from key k on (window boxes hide between filter passes);
    # empty = shown at every key
    key_visible: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # (3,) added: metres between the cells a window reads along x, y, z; 0 = every cell inside the box
    # (a dilated window reads every d-th cell of its box)
    read_spacing: np.ndarray = field(default_factory=lambda: np.zeros(3))
    # added: "constant" (the box jumps at each key) or "linear" (it glides between keys: the pulse)
    interpolation: str = "constant"


@dataclass
class Timeline:
    frame_start: int
    frame_end: int
    fps: int
    pop_frames: int
    easing: str
    tensors: list[TensorTrack]
    boxes: list[BoxTrack]
    step_frames: np.ndarray         # (S,) float32: the frame each step of the plan happens (chains: all stages)
    camera_target: np.ndarray = field(default_factory=lambda: np.zeros(3))   # centre of everything
    extent: np.ndarray = field(default_factory=lambda: np.ones(3))           # size of the bounding box of everything
    # added: names of tensors shown by another track's cubes (a shuffle's output is its input's cubes moved):
    # {"output": "input"}, {"stage1 output": "stage0 output"}, ...
    aliases: dict = field(default_factory=dict)

    def tensor(self, name: str) -> TensorTrack:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(f"no tensor named {name!r}; there are: {[t.name for t in self.tensors]}")

    @property
    def cube_count(self) -> int:
        return sum(len(t) for t in self.tensors)


@dataclass
class TensorState:
    """A tensor's cells at one frame, as Blender shows them."""

    scale: np.ndarray               # (N,) 0..1 (pop-in progress; 0 before appear and from disappear on)
    visible: np.ndarray             # (N,) bool: scale > 0
    highlighted: np.ndarray         # (N,) bool: inside a highlight interval
    local_position: np.ndarray      # (N, 3) relative to the tensor's empty
    world_position: np.ndarray      # (N, 3) the empty's location at this frame + local


# ==================================================================================== checks

FRAME_START = 1
_TIMING_LIMITS = {
    "frames_per_step": (1, 10_000), "first_step_frames": (0, 10_000), "ramp_steps": (1, 100_000),
    "hold_frames": (0, 100_000), "intro_frames": (0, 100_000),
    "outro_frames": (0, 100_000), "pop_frames": (0, 10_000), "move_frames": (1, 10_000),
    "shuffle_frames": (1, 10_000),
    "speedup_after_rows": (0, 65_536), "speedup": (1, 10_000), "fps": (1, 240),
}
#: Most colours ``Look.filter_colors`` may list.
MAX_FILTER_COLORS = 1024
# name: (low, high, low is allowed)
_LOOK_LIMITS = {
    "cube_size": (0.0, 1_000.0, False), "gap": (0.0, 1_000.0, True), "tensor_gap": (0.0, 10_000.0, False),
    "value_shading": (0.0, 1.0, True), "highlight_gain": (1.0, 10.0, True),
}


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def check_timing(timing) -> Timing:
    """``timing`` if every field is allowed, else SpecError naming it (``timing.frames_per_step``)."""
    if not isinstance(timing, Timing):
        raise SpecError("timing", timing, "a Timing")
    for name, (low, high) in _TIMING_LIMITS.items():
        value = getattr(timing, name)
        if not _is_int(value) or not low <= value <= high:
            raise SpecError(f"timing.{name}", value, f"an integer from {low} to {high}")
    if timing.first_step_frames and timing.first_step_frames < timing.frames_per_step:
        raise SpecError("timing.first_step_frames", timing.first_step_frames,
                        f"0 (no slow start) or at least timing.frames_per_step ({timing.frames_per_step})")
    if timing.easing not in EASINGS:
        raise SpecError("timing.easing", timing.easing, "one of " + ", ".join(EASINGS))
    if not isinstance(timing.loop, bool):
        raise SpecError("timing.loop", timing.loop, "true or false")
    if timing.loop and timing.intro_frames < 1:
        raise SpecError("timing.intro_frames", timing.intro_frames,
                        "at least 1 when timing.loop is true (the first frame is the rest state the loop returns to)")
    return timing


def check_look(look) -> Look:
    """``look`` if every field is allowed, else SpecError naming it (``look.gap``)."""
    if not isinstance(look, Look):
        raise SpecError("look", look, "a Look")
    for name, (low, high, closed) in _LOOK_LIMITS.items():
        value = getattr(look, name)
        ok = _is_real(value) and (low <= value if closed else low < value) and value <= high
        if not ok:
            word = "from" if closed else "above"
            raise SpecError(f"look.{name}", value, f"a number {word} {low} up to {high}")
    if look.highlight not in HIGHLIGHTS:
        raise SpecError("look.highlight", look.highlight, "one of " + ", ".join(HIGHLIGHTS))
    for name in ("input_color", "padding_color"):
        if not _is_rgba(getattr(look, name)):
            raise SpecError(f"look.{name}", getattr(look, name), "four numbers from 0 to 1 (linear RGBA)")
    colors = look.filter_colors
    if not (isinstance(colors, (tuple, list)) and len(colors) <= MAX_FILTER_COLORS and all(map(_is_rgba, colors))):
        raise SpecError("look.filter_colors", colors, f"a list of up to {MAX_FILTER_COLORS} colours, each four "
                        "numbers from 0 to 1 (linear RGBA); empty for the palette's hues")
    if isinstance(colors, list) or not all(isinstance(c, tuple) for c in colors):   # lists from TOML or a dict
        return dataclasses.replace(look, filter_colors=tuple(tuple(float(v) for v in c) for c in colors))
    return look


def _is_rgba(color) -> bool:
    return isinstance(color, (tuple, list)) and len(color) == 4 and all(_is_real(v) and 0 <= v <= 1 for v in color)


# ==================================================================================== easing

def ease(progress, easing: str) -> np.ndarray:
    """Eased progress for raw progress (any real, inf allowed): 0 before, 1 after the interval."""
    u = np.clip(np.nan_to_num(np.asarray(progress, np.float64), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    if easing == "linear":
        return u
    if easing == "ease":
        return u * u * (3.0 - 2.0 * u)
    return (u >= 1.0).astype(np.float64)


# ==================================================================================== building

def _cells(shape) -> np.ndarray:
    return np.indices(tuple(shape), dtype=np.int32).reshape(3, -1).T


def _flat_index(cells: np.ndarray, shape) -> np.ndarray:
    return (cells[:, 0].astype(np.int64) * shape[1] + cells[:, 1]) * shape[2] + cells[:, 2]


@dataclass
class _View:
    """How a stage sees its input: which track's cubes show it and where they stand."""

    track: str
    index: np.ndarray            # (C, H, W) -> cell index in the track
    grid: Grid                   # where the cells stand now
    rows: np.ndarray             # (H,) grid row of each row
    cols: np.ndarray             # (W,) grid column of each column
    channel_colors: np.ndarray   # (C, 4) base colour of each channel (pooling keeps it)

    def world(self, c, y, x) -> np.ndarray:
        return self.grid.world(c, self.rows[y], self.cols[x])


@dataclass
class _Shuffled:
    """A shuffle stage's routes, kept so that a shuffle undoing it can travel them backwards."""

    cell: np.ndarray             # (S,) track cell of each step
    times: np.ndarray            # (S, K) key frames of the route
    points: np.ndarray           # (S, K, 3) world waypoints


def _merge_intervals(cell: np.ndarray, start: np.ndarray, end: np.ndarray, presorted: bool):
    """Sorted by (cell, start), a cell's touching intervals joined. The intervals of one cell never
    overlap here (each comes from a different step, pass or stage), so comparing neighbours is exact."""
    cell = np.asarray(cell, np.int32)
    start = np.asarray(start, np.float32)
    end = np.asarray(end, np.float32)
    if len(cell) == 0:
        return cell, start, end
    if not presorted:
        order = np.lexsort((start, cell))
        cell, start, end = cell[order], start[order], end[order]
    opens = np.r_[True, (cell[1:] != cell[:-1]) | (start[1:] > end[:-1])]
    first = np.flatnonzero(opens)
    last = np.r_[first[1:] - 1, len(cell) - 1]
    return cell[first], start[first], end[last]


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


def window_read_intervals(stage, start, end):
    """Merged intervals during which the steps of a windowed stage read each (group, virtual cell).

    The cells a step reads repeat for every channel of its group, so the work is done on the
    spatial footprint only (kh*kw per step) and broadcast over channels later. Returns
    (group, spatial index vy*VW + vx, start, end), sorted by (group, spatial index, start).
    """
    from .planning import CHUNK_ELEMENTS

    steps = stage.steps
    kh, kw = stage.kernel_size
    dh, dw = stage.dilation
    vh, vw = len(stage.virtual_rows), len(stage.virtual_cols)
    cpg = stage.channels_per_group
    groups = stage.input.shape[0] // cpg
    per_group = stage.filters.shape[0] // groups
    ky, kx = np.indices((kh, kw)).reshape(2, -1)
    offsets = (ky * dh * vw + kx * dw).astype(np.int64)
    start = np.asarray(start, np.float32)
    end = np.asarray(end, np.float32)
    # Steps go in chunks of at most CHUNK_ELEMENTS reads (steps x kh*kw): each chunk's reads are merged into
    # intervals, then the chunks' intervals (in step order) are merged once more, so the working memory is
    # bounded by the merged intervals (what the clip lights), never by steps x window size.
    chunk = max(1, CHUNK_ELEMENTS // len(offsets))
    parts = []
    for first in range(0, len(steps), chunk):
        part = slice(first, first + chunk)
        group = steps.filter[part].astype(np.int64) // per_group
        corner = group * (vh * vw) + steps.window[part, 0].astype(np.int64) * vw + steps.window[part, 1]
        parts.append(_merge_reads((corner[:, None] + offsets[None, :]).ravel(), len(offsets),
                                  start[part], end[part]))
    if len(parts) == 1:
        key, s, e = parts[0]
    else:
        key, s, e = (np.concatenate(a) for a in zip(*parts))
        key, s, e = _merge_sorted_runs(key, s, e)
    return key // (vh * vw), key % (vh * vw), s, e


def _merge_reads(key, reads_per_step: int, start, end):
    """(key, start, end) of one chunk's reads (``reads_per_step`` keys per step, in step order), merged."""
    order = np.argsort(key, kind="stable")      # stable: a key's reads stay in step (= time) order
    step = order // reads_per_step
    return _merge_sorted_runs(key[order], start[step], end[step], presorted=True)


def _merge_sorted_runs(key, s, e, presorted: bool = False):
    """Intervals of equal keys that abut (one's end is the next one's start) joined; sorted by (key, start)."""
    if not presorted:
        order = np.argsort(key, kind="stable")   # the chunks are in step order: stable keeps time order
        key, s, e = key[order], s[order], e[order]
    opens = np.r_[True, (key[1:] != key[:-1]) | (s[1:] != e[:-1])]
    first = np.flatnonzero(opens)
    last = np.r_[first[1:] - 1, len(key) - 1]
    return key[first], s[first], e[last]


def _expand_channels(group, index_in_channel, start, end, channels: int, cpg: int, per_channel: int):
    """Intervals per (group, cell of a channel) -> per cell ``c * per_channel + index_in_channel`` for every
    channel c of the group; ordered by channel, then as given."""
    counts = np.bincount(group, minlength=channels // cpg)
    block_start = np.r_[0, np.cumsum(counts)[:-1]]
    group_of_c = np.arange(channels) // cpg
    repeats = counts[group_of_c]
    total = int(repeats.sum())
    index_type = np.int32 if total < 2**31 and channels * per_channel < 2**31 else np.int64
    offset = np.r_[0, np.cumsum(repeats)[:-1]]
    pick = np.repeat((block_start[group_of_c] - offset).astype(index_type), repeats)
    pick += np.arange(total, dtype=index_type)
    cell = np.repeat((np.arange(channels) * per_channel).astype(index_type), repeats)
    cell += index_in_channel.astype(index_type)[pick]
    return cell, start[pick], end[pick]


class _Builder:
    """Collects tracks, their highlights, moves and keys while the stages are scheduled."""

    def __init__(self, timing: Timing, look: Look, chain: bool, highlights: bool, stages, layouts):
        self.timing, self.look, self.chain, self.highlights = timing, look, chain, highlights
        self.stages, self.layouts = stages, layouts
        self.tracks: dict[str, TensorTrack] = {}
        self.base: dict[str, np.ndarray] = {}            # colours before value shading
        self.hl: dict[str, list] = {}
        self.moves: dict[str, list] = {}
        self.keys: dict[str, list] = {}
        self.boxes: list[BoxTrack] = []
        self.step_frames: list[np.ndarray] = []
        self.popped: list[str] = []                      # tracks that pop in during the clip (reset on loops)
        self.aliases: dict[str, str] = {}
        self.shuffled: _Shuffled | None = None
        self.active: tuple[str, StageLayout, int] | None = None   # the filter standing in a slot
        self.first_filter: tuple[str, StageLayout, int] | None = None

    # --- names -------------------------------------------------------------------------
    def name(self, i: int, base: str) -> str:
        if base == "input" and i == 0:
            return "input"
        if base == "input padding":
            return "input padding" if i == 0 else f"stage{i} input padding"
        return f"stage{i} {base}" if self.chain else base

    # --- tracks ------------------------------------------------------------------------
    def add_track(self, name, role, shape, cells, origin, local, base_color, value, appear=None) -> TensorTrack:
        n = len(cells)
        value = np.asarray(value, np.float32).reshape(-1)
        color = palette.shade_by_value(base_color, value, self.look.value_shading) if role != "padding" \
            else np.asarray(base_color, np.float32).copy()
        track = TensorTrack(
            name=name, role=role, shape=tuple(int(s) for s in shape), cells=np.asarray(cells, np.int32),
            origin=np.asarray(origin, np.float64).copy(), position=np.asarray(local, np.float32),
            color=color, highlight_color=self.highlight_colors(role, color), value=value,
            appear=np.full(n, -np.inf, np.float32) if appear is None else np.asarray(appear, np.float32),
            disappear=np.full(n, np.inf, np.float32))
        self.tracks[name] = track
        self.base[name] = np.asarray(base_color, np.float32)
        self.hl[name], self.moves[name], self.keys[name] = [], [], []
        return track

    @property
    def pulse(self) -> bool:
        return self.look.highlight == "pulse"

    def highlight_colors(self, role: str, color: np.ndarray) -> np.ndarray:
        """White for what the pulse lights (filters, new output cells), else a brighter own colour."""
        if self.pulse and role in ("filter", "output"):
            return np.tile(np.float32(PULSE_COLOR), (len(color), 1))
        return palette.highlight(color, self.look.highlight_gain)

    def light(self, name, cell, start, end, merged=False):
        """Add highlight intervals; ``merged``: already sorted by (cell, start) with touching ones joined."""
        self.hl[name].append((np.asarray(cell), np.asarray(start), np.asarray(end), merged))

    def move(self, name, cell, start, end, before, after):
        self.moves[name].append((np.asarray(cell, np.int32), np.asarray(start, np.float64),
                                 np.asarray(end, np.float64), np.asarray(before), np.asarray(after)))

    def key(self, name, frames, locations):
        self.keys[name].append((np.asarray(frames, np.float64).reshape(-1),
                                np.asarray(locations, np.float64).reshape(-1, 3)))

    # --- filters -----------------------------------------------------------------------
    def slide(self, filt, start: float, inward: bool, frames: float | None = None) -> float:
        """Key a filter's travel between its waiting place and the slot (``frames`` long, default
        ``move_frames``); returns when it ends."""
        name, layout, f = filt
        frames = float(self.timing.move_frames if frames is None else frames)
        route = filter_route(layout, f)
        if not inward:
            route = route[::-1]
        self.key(name, leg_times(route, start, frames), route)
        return start + frames

    # --- the first input ---------------------------------------------------------------
    def first_input(self) -> _View:
        stage, layout = self.stages[0], self.layouts[0]
        shape = stage.input.shape
        cells = _cells(shape)
        local = layout.input.local(cells[:, 0], layout.input_rows[cells[:, 1]], layout.input_cols[cells[:, 2]])
        base = self.input_colors(stage, cells)
        self.add_track("input", "input", shape, cells, layout.input.origin, local, base, stage.input.ravel())
        index = np.arange(len(cells)).reshape(shape)
        return _View("input", index, layout.input, layout.input_rows, layout.input_cols, base[index[:, 0, 0]])

    def input_colors(self, stage, cells) -> np.ndarray:
        op = getattr(stage.spec, "op", "")
        if op == "pixel_shuffle":
            r2 = stage.spec.upscale_factor ** 2
            families = palette.family_colors(stage.input.shape[0] // r2, r2)
            return families[cells[:, 0] // r2, cells[:, 0] % r2]
        if op == "pixel_unshuffle":
            r = stage.spec.downscale_factor
            families = palette.family_colors(stage.input.shape[0], r * r)
            return families[cells[:, 0], (cells[:, 1] % r) * r + cells[:, 2] % r]
        return np.tile(np.asarray(self.look.input_color, np.float32), (len(cells), 1))

    def filter_colors(self, i: int, count: int) -> np.ndarray:
        """One colour per filter; families when a pixel shuffle takes this stage's output apart next."""
        following = self.stages[i + 1] if i + 1 < len(self.stages) else None
        if following is not None and getattr(following.spec, "op", "") == "pixel_shuffle":
            r2 = following.spec.upscale_factor ** 2
            k = np.arange(count)
            colors = palette.family_colors(count // r2, r2)[k // r2, k % r2]
        else:
            colors = palette.filter_colors(count)
        given = np.asarray(self.look.filter_colors, np.float32).reshape(-1, 4)[:count]
        colors[:len(given)] = given
        return colors

    # --- windowed stages (convolutions, pooling) ---------------------------------------
    def padding_track(self, i: int, stage, layout: StageLayout, appear: float) -> str | None:
        rows, cols = stage.virtual_rows, stage.virtual_cols
        vy, vx = np.nonzero((rows[:, None] < 0) | (cols[None, :] < 0))
        if len(vy) == 0:
            return None
        channels = stage.input.shape[0]
        cells = np.stack([np.repeat(np.arange(channels), len(vy)), np.tile(vy, channels), np.tile(vx, channels)],
                         axis=1).astype(np.int32)
        local = layout.input.local(cells[:, 0], cells[:, 1], cells[:, 2])
        name = self.name(i, "input padding")
        n = len(cells)
        self.add_track(name, "padding", (channels, len(rows), len(cols)), cells, layout.input.origin, local,
                       np.tile(np.float32(self.look.padding_color), (n, 1)), np.zeros(n),
                       appear=None if i == 0 else np.full(n, appear, np.float32))
        if i > 0:
            self.popped.append(name)
        return name

    def filter_tracks(self, i: int, stage, layout: StageLayout) -> list[str]:
        weights = stage.filters
        colors = self.filter_colors(i, len(weights))
        cells = _cells(weights.shape[1:])
        local = layout.filter_grid.local(cells[:, 0], cells[:, 1], cells[:, 2])
        names = []
        for f in range(len(weights)):
            name = self.name(i, f"filter{f}")
            self.add_track(name, "filter", weights.shape[1:], cells, layout.homes[f], local,
                           np.tile(colors[f], (len(cells), 1)), weights[f].ravel())
            names.append(name)
        return names

    def begin_stage(self, i: int, previous_end: float, incoming=None) -> float:
        """When stage ``i``'s first step happens: after the intro for the first stage; else after the
        filter in a slot slid home, the stage's first filter (``incoming``) slid in, and a hold."""
        if i == 0:
            if incoming is not None:            # the very first filter stands in its slot from the start
                self.key(incoming[0], [FRAME_START], incoming[1].slots[incoming[2]][None])
                self.active = self.first_filter = incoming
            return float(FRAME_START + self.timing.intro_frames)
        t = previous_end
        if self.active is not None:
            t = self.slide(self.active, t, inward=False)
            self.active = None
        if incoming is not None:
            t = self.slide(incoming, t, inward=True)
            self.active = incoming
        return t + self.timing.hold_frames

    def windowed_stage(self, i: int, stage, layout: StageLayout, view: _View, previous_end: float):
        filters_move = layout.kind == "filters" and stage.order == "filter"
        pad_name = self.padding_track(i, stage, layout, previous_end)
        steps = stage.steps
        incoming = None
        names = []
        if layout.kind == "filters":
            names = self.filter_tracks(i, stage, layout)
            out_colors = self.filter_colors(i, len(names))
            if filters_move:
                f = int(steps.filter[0])
                incoming = (names[f], layout, f)
        else:
            out_colors = view.channel_colors
        t0 = self.begin_stage(i, previous_end, incoming)
        start, end, firsts, lasts, slides = step_times(stage, self.timing, filters_move, t0)
        arrive = start + PULSE_SHARE * (end - start) if self.pulse else start
        if layout.kind == "filters":
            self.filter_passes(names, layout, steps.filter, start, end, firsts, lasts, slides, filters_move)
        out_view = self.output_track(i, stage, layout, arrive, end, out_colors)
        self.window_boxes(i, stage, layout, view, pad_name, start, end, firsts, lasts)
        if self.pulse and names:
            self.pulse_box(i, stage, layout, names, filters_move, start, arrive)
        if self.highlights and not self.pulse:
            self.light_reads(stage, view, pad_name, start, end)
        self.step_frames.append(arrive.astype(np.float32))
        return out_view, float(end[-1])

    def filter_passes(self, names, layout, filters, start, end, firsts, lasts, slides, filters_move: bool):
        """Slides between passes; with "cells" highlights each filter is lit while it works."""
        cells_of = {name: np.arange(len(self.tracks[name])) for name in names}
        lit = not self.pulse
        if not filters_move:    # filters stay in their places (and light up for the whole stage)
            for f in np.unique(filters) if lit else ():
                cells = cells_of[names[f]]
                self.light(names[f], cells, np.full(len(cells), start[0]), np.full(len(cells), end[-1]), merged=True)
            return
        for p, (a, b) in enumerate(zip(firsts, lasts)):
            f = int(filters[a])
            if p > 0:                           # the first pass's filter was brought in by begin_stage
                pass_end = float(end[lasts[p - 1]])
                self.slide(self.active, pass_end, inward=False, frames=slides[p])
                self.active = (names[f], layout, f)
                self.slide(self.active, pass_end + slides[p], inward=True, frames=slides[p])
            if lit:
                cells = cells_of[names[f]]
                self.light(names[f], cells, np.full(len(cells), start[a]), np.full(len(cells), end[b]), merged=True)

    def pulse_box(self, i: int, stage, layout: StageLayout, names, filters_move: bool, start, arrive):
        """The white pulse: a one-channel-thick box over the step's filter, gliding (LINEAR keys) from
        before its channel 0 (the input end) to past its last channel during ``[start, arrive)`` and
        hidden otherwise; with per-cell highlights, the same as intervals of the filter's cells."""
        filters = stage.steps.filter.astype(np.int64)
        fgrid = layout.filter_grid
        places = layout.slots if filters_move else layout.homes
        layers = fgrid.shape[0]
        half = layers * fgrid.pitch / 2
        begin, finish = places[filters].copy(), places[filters].copy()
        # channel 0 stands at the back (+y); the box runs a hair (PULSE_LEAD of a layer) ahead of the
        # intervals below, so that at a boundary frame both modes light the layer being entered
        begin[:, 1] += half - PULSE_LEAD * fgrid.pitch
        finish[:, 1] -= half + PULSE_LEAD * fgrid.pitch
        frames = np.stack([start, arrive], axis=1).ravel()
        centers = np.stack([begin, finish], axis=1).reshape(-1, 3)
        keep = np.r_[frames[1:] > frames[:-1], True]   # a zero-length pulse: one key
        _, _, kh, kw = stage.filters.shape
        self.boxes.append(BoxTrack(
            name=self.name(i, "pulse"), role="pulse", size=self._span_size(kw, 1, kh),
            key_frames=frames[keep].astype(np.float32), key_centers=centers[keep].astype(np.float32),
            appear=float(np.float32(start[0])), disappear=float(np.float32(arrive[-1])), targets=tuple(names),
            color=PULSE_COLOR, key_visible=np.tile([True, False], len(start))[keep], interpolation="linear"))
        if not self.highlights:
            return
        # cell of layer c is lit during [start + c/L * run, start + (c+1)/L * run)
        run = (arrive - start)[None, :]
        for f in np.unique(filters):
            track = self.tracks[names[f]]
            mine = filters == f
            c = track.cells[:, 0].astype(np.float64)[:, None]
            s = start[mine][None, :] + c / layers * run[:, mine]
            e = start[mine][None, :] + (c + 1) / layers * run[:, mine]
            cell = np.repeat(np.arange(len(track), dtype=np.int32), int(mine.sum()))
            live = (e > s).ravel()
            self.light(names[f], cell[live], s.astype(np.float32).ravel()[live], e.astype(np.float32).ravel()[live],
                       merged=True)

    def output_track(self, i: int, stage, layout: StageLayout, arrive, end, colors) -> _View:
        """Output cells appear at ``arrive``; with the pulse they are white until their step ends."""
        shape = stage.output.shape
        cells = _cells(shape)
        local = layout.output.local(cells[:, 0], layout.output_rows[cells[:, 1]], layout.output_cols[cells[:, 2]])
        appear = np.full(len(cells), np.inf, np.float32)
        flat = _flat_index(stage.steps.out, shape)
        appear[flat] = arrive
        name = self.name(i, "output")
        base = np.asarray(colors, np.float32)[cells[:, 0]]
        self.add_track(name, "output", shape, cells, layout.output.origin, local, base, stage.output.ravel(), appear)
        self.popped.append(name)
        if self.pulse:      # white until the step ends, and at least one frame after the pop-in completes
            white_end = np.maximum(np.asarray(end, np.float64), arrive + self.timing.pop_frames + 1.0)
            self.light(name, flat, appear[flat], white_end.astype(np.float32))
        outline = BoxTrack(name=f"{name} outline", role="outline", size=self._span_size(shape[2], shape[0], shape[1]),
                           key_frames=np.float32([FRAME_START]),
                           key_centers=self._outline_center(layout, shape)[None].astype(np.float32),
                           color=palette.OUTLINE_COLOR)
        self.boxes.append(outline)
        index = np.arange(len(cells)).reshape(shape)
        return _View(name, index, layout.output, layout.output_rows, layout.output_cols, np.asarray(colors, np.float32))

    def _span_size(self, cols: float, channels: float, rows: float) -> np.ndarray:
        """A box around ``cols x channels x rows`` cells whose faces sit mid-gap: it holds exactly their centres."""
        return (np.array([cols, channels, rows], np.float64) * pitch_of(self.look)).astype(np.float32)

    @staticmethod
    def _outline_center(layout: StageLayout, shape) -> np.ndarray:
        rows, cols = layout.output_rows, layout.output_cols
        return layout.output.world((shape[0] - 1) / 2, (rows[0] + rows[-1]) / 2, (cols[0] + cols[-1]) / 2)

    def window_boxes(self, i, stage, layout, view, pad_name, start, end, firsts, lasts):
        steps = stage.steps
        kh, kw = stage.kernel_size
        dh, dw = stage.dilation
        cpg = stage.channels_per_group
        per_group = stage.filters.shape[0] // (stage.input.shape[0] // cpg)
        group = steps.filter // per_group
        centers = layout.input.world(group * cpg + (cpg - 1) / 2, steps.window[:, 0] + (kh - 1) * dh / 2,
                                     steps.window[:, 1] + (kw - 1) * dw / 2)
        # hidden from the end of each pass until the next pass starts (no key where no gap is left)
        pass_end = end[lasts]
        gap_after = np.r_[start[firsts[1:]] > pass_end[:-1], True]
        frames = np.r_[start, pass_end[gap_after]]
        rank = np.r_[np.arange(len(start)) * 2, lasts[gap_after] * 2 + 1]   # a pass end right after its last step
        order = np.argsort(rank, kind="stable")
        hidden_centers = centers[lasts[gap_after]]
        visible = np.r_[np.ones(len(start), bool), np.zeros(int(gap_after.sum()), bool)]
        targets = () if self.pulse else (view.track,) + ((pad_name,) if pad_name else ())
        self.boxes.append(BoxTrack(
            name=self.name(i, "window"), role="window",
            size=self._span_size((kw - 1) * dw + 1, cpg, (kh - 1) * dh + 1),
            key_frames=frames[order].astype(np.float32),
            key_centers=np.concatenate([centers, hidden_centers])[order].astype(np.float32),
            appear=float(np.float32(start[0])), disappear=float(np.float32(end[-1])), targets=targets,
            color=palette.WINDOW_COLOR, key_visible=visible[order],
            read_spacing=np.array([dw if dw > 1 else 0, 0, dh if dh > 1 else 0], np.float64) * pitch_of(self.look)))

    def light_reads(self, stage, view: _View, pad_name, start, end):
        """Highlight intervals of the input (and padding) cells: lit while a step reads them."""
        group, spatial, s, e = window_read_intervals(stage, start, end)
        rows, cols = stage.virtual_rows, stage.virtual_cols
        channels, h, w = view.index.shape
        cpg = stage.channels_per_group
        vy, vx = spatial // len(cols), spatial % len(cols)
        real = (rows[vy] >= 0) & (cols[vx] >= 0)
        within = rows[vy[real]].astype(np.int64) * w + cols[vx[real]]
        cell, s_r, e_r = _expand_channels(group[real], within, s[real], e[real], channels, cpg, h * w)
        flat = view.index.ravel()
        if np.array_equal(flat, np.arange(len(flat))):
            self.light(view.track, cell, s_r, e_r, merged=True)
        else:   # the cubes were moved by a shuffle: map to the track's cells, then sort
            self.light(view.track, flat[cell], s_r, e_r)
        if pad_name is not None:
            is_pad = ((rows[:, None] < 0) | (cols[None, :] < 0)).ravel()
            pad_rank = np.cumsum(is_pad) - 1
            cell, s_p, e_p = _expand_channels(group[~real], pad_rank[spatial[~real]], s[~real], e[~real], channels,
                                              cpg, int(is_pad.sum()))
            self.light(pad_name, cell, s_p, e_p, merged=True)

    # --- shuffles ----------------------------------------------------------------------
    def shuffle_stage(self, i: int, stage, layout: StageLayout, view: _View, previous_end: float):
        """In place: every cell of the view travels to its output place, all at once (:func:`exploded_routes`)."""
        t0 = self.begin_stage(i, previous_end)
        steps = stage.steps
        src, out = steps.src, steps.out
        cell = view.index[src[:, 0], src[:, 1], src[:, 2]]
        if layout.returns:
            times, points = self.returning_routes(cell, t0)
        else:
            half = float(self.timing.shuffle_frames) / 2
            times = np.tile([t0, t0 + half, t0 + 2 * half], (len(cell), 1))
            points = exploded_routes(view.world(src[:, 0], src[:, 1], src[:, 2]),
                                     layout.output.world(out[:, 0], layout.output_rows[out[:, 1]],
                                                         layout.output_cols[out[:, 2]]))
        origin = self.tracks[view.track].origin
        for leg in range(times.shape[1] - 1):
            self.move(view.track, cell, times[:, leg], times[:, leg + 1], points[:, leg] - origin,
                      points[:, leg + 1] - origin)
        self.shuffled = _Shuffled(cell, times, points)
        self.step_frames.append(times[:, -1].astype(np.float32))
        index = np.empty(stage.output.shape, np.int64)
        index[out[:, 0], out[:, 1], out[:, 2]] = cell
        self.aliases[self.name(i, "output")] = view.track
        colors = self.base[view.track][index[:, 0, 0]]
        return _View(view.track, index, layout.output, layout.output_rows, layout.output_cols, colors), \
            float(times[:, -1].max())

    def returning_routes(self, cell, t0: float):
        """The previous shuffle's routes backwards, in mirrored time: the last cell to arrive leaves first."""
        before = self.shuffled
        row_of_cell = np.empty(int(before.cell.max()) + 1, np.int64)
        row_of_cell[before.cell] = np.arange(len(before.cell))
        rows = row_of_cell[cell]
        last_arrival = before.times[:, -1].max()
        times = t0 + (last_arrival - before.times[rows, ::-1])
        return times, before.points[rows, ::-1]

    # --- the end of the clip ------------------------------------------------------------
    def _move_arrays(self, name):
        pieces = self.moves[name]
        if not pieces:
            return None
        cell, start, end, before, after = (np.concatenate([p[k] for p in pieces]) for k in range(5))
        order = np.lexsort((start, cell))
        return cell[order], start[order], end[order], before[order], after[order]

    def loop_back(self, t: float) -> float:
        """From ``t`` on, undo the clip: cells not back in their places travel their routes backwards in
        mirrored time, then everything that popped in vanishes, then the first filter returns to its
        slot. Returns the frame where the first frame's state is reached again."""
        away = {}
        for name, track in self.tracks.items():
            arrays = self._move_arrays(name)
            if arrays is None:
                continue
            cell, start, end, before, after = arrays
            last = np.r_[cell[1:] != cell[:-1], True]
            final = np.zeros(track.position.shape)
            final[cell[last]] = after[last]
            off = np.any(np.abs(final - track.position) > 1e-5, axis=1)
            moved = np.zeros(len(track), bool)
            moved[cell[last]] = True
            keep = (off & moved)[cell]
            if keep.any():
                away[name] = (cell[keep], start[keep], end[keep], before[keep], after[keep])
        if away:
            first = min(float(a[1].min()) for a in away.values())
            last = max(float(a[2].max()) for a in away.values())
            for name, (cell, start, end, before, after) in away.items():
                self.move(name, cell, t + (last - end), t + (last - start), after, before)
            t += last - first
        for name in self.popped:
            self.tracks[name].disappear[:] = t
        if self.active != self.first_filter:
            if self.active is not None:
                t = self.slide(self.active, t, inward=False)
            if self.first_filter is not None:
                t = self.slide(self.first_filter, t, inward=True)
        return t

    def finish(self, frame_end: int, easing: str, pop_frames: int, fps: int) -> Timeline:
        for name, track in self.tracks.items():
            self._finish_track(name, track)
        timeline = Timeline(frame_start=FRAME_START, frame_end=frame_end, fps=fps, pop_frames=pop_frames,
                            easing=easing, tensors=list(self.tracks.values()), boxes=self.boxes,
                            step_frames=np.concatenate(self.step_frames).astype(np.float32),
                            aliases=dict(self.aliases))
        low, high = bounds(timeline, self.look)
        timeline.camera_target = (low + high) / 2
        timeline.extent = high - low
        return timeline

    def last_event(self) -> float:
        """The latest frame at which anything still changes."""
        latest = [float(np.max(np.concatenate(self.step_frames)))]
        for name, track in self.tracks.items():
            finite = track.appear[np.isfinite(track.appear)]
            if len(finite):
                latest.append(float(finite.max()) + self.timing.pop_frames)
            latest += [float(p[2].max()) for p in self.moves[name] if len(p[2])]
            latest += [float(k[0].max()) for k in self.keys[name] if len(k[0])]
            latest += [float(np.max(h[2])) for h in self.hl[name] if len(h[2]) and np.isfinite(np.max(h[2]))]
        return max(latest)

    def _finish_track(self, name: str, track: TensorTrack) -> None:
        pieces = self.hl[name]
        if len(pieces) == 1 and pieces[0][3]:
            cell, start, end = pieces[0][:3]
            track.highlight_cell = cell.astype(np.int32, copy=False)
            track.highlight_start = start.astype(np.float32, copy=False)
            track.highlight_end = end.astype(np.float32, copy=False)
        elif pieces:
            cell, start, end = (np.concatenate([p[k] for p in pieces]) for k in range(3))
            track.highlight_cell, track.highlight_start, track.highlight_end = _merge_intervals(cell, start, end, False)
        arrays = self._move_arrays(name)
        if arrays is not None:
            cell, start, end, _, after = arrays
            track.move_cell, track.move_start, track.move_end = cell.astype(np.int32), start.astype(np.float32), \
                end.astype(np.float32)
            track.move_to = after.astype(np.float32)
        if self.keys[name]:
            frames = np.concatenate([k[0] for k in self.keys[name]])
            locations = np.concatenate([k[1] for k in self.keys[name]])
            order = np.argsort(frames, kind="stable")
            frames, locations = frames[order], locations[order]
            # a slide's first key repeats the place where the last one left it: keep one key per frame
            keep = np.r_[frames[1:] != frames[:-1], True]
            track.key_frames = frames[keep].astype(np.float32)
            track.key_locations = locations[keep].astype(np.float32)


def bounds(timeline: Timeline, look: Look) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest world corner of every cube wherever it goes, and of every box."""
    low, high = np.full(3, np.inf), np.full(3, -np.inf)

    def grow(points, half):
        nonlocal low, high
        if len(points):
            low = np.minimum(low, points.min(axis=0) - half)
            high = np.maximum(high, points.max(axis=0) + half)

    half = look.cube_size / 2
    for track in timeline.tensors:
        places = [track.position.astype(np.float64)]
        if len(track.move_to):
            places.append(track.move_to.astype(np.float64))
        local = np.concatenate(places)
        origins = track.key_locations.astype(np.float64) if len(track.key_locations) else track.origin[None]
        span_low, span_high = local.min(axis=0), local.max(axis=0)
        grow(origins + span_low, half)
        grow(origins + span_high, half)
    for box in timeline.boxes:
        grow(box.key_centers.astype(np.float64), box.size.astype(np.float64) / 2)
    if not np.all(np.isfinite(low)):
        return np.zeros(3), np.ones(3)
    return low, high


def build_timeline(plan, timing: Timing = Timing(), look: Look = Look(), highlights: bool = True) -> Timeline:
    """When and where everything happens for a Plan or ChainPlan (see the module notes for the layout)."""
    from .planning import ChainPlan, Plan

    timing, look = check_timing(timing), check_look(look)
    if isinstance(plan, ChainPlan):
        stages, chain = list(plan.stages), True
    elif isinstance(plan, Plan):
        stages, chain = [plan], False
    else:
        raise SpecError("plan", plan, "a Plan or ChainPlan made by plan(spec)")
    if not isinstance(highlights, bool):
        raise SpecError("highlights", highlights, "true or false")
    layouts = layout_stages(stages, look)
    builder = _Builder(timing, look, chain, highlights, stages, layouts)
    view = builder.first_input()
    t = float(FRAME_START)
    for i, (stage, layout) in enumerate(zip(stages, layouts)):
        if layout.kind == "shuffle":
            view, t = builder.shuffle_stage(i, stage, layout, view, t)
        else:
            view, t = builder.windowed_stage(i, stage, layout, view, t)
    t = max(t, builder.last_event()) + timing.outro_frames
    if timing.loop:
        frame_end = math.ceil(builder.loop_back(t))
    else:
        frame_end = math.ceil(max(t, builder.last_event()))
    return builder.finish(frame_end, timing.easing, timing.pop_frames, timing.fps)


# ==================================================================================== evaluation

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


# ==================================================================================== cube counts

def _virtual_extent(spec) -> tuple[int, int]:
    """Rows and columns of the grid a windowed spec's input is shown on (padding and inserted zeros included)."""
    op = spec.op
    if op == "conv2d":
        t, b, l, r = spec.pads
        return spec.height + t + b, spec.width + l + r
    if op == "conv_transpose2d":
        out = []
        for size, k, s, d, p, extra in zip((spec.height, spec.width), spec.kernel_size, spec.stride, spec.dilation,
                                          spec.padding, spec.output_padding):
            out.append((size - 1) * s + 1 + 2 * (d * (k - 1) - p) + extra)
        return tuple(out)
    return spec.height + 2 * spec.padding[0], spec.width + 2 * spec.padding[1]


def count_cubes(spec, look: Look | None = None) -> int:
    """Cubes a clip of ``spec`` shows, from shapes alone: the input, padding of every windowed stage,
    filters and outputs; a chain shows each stage's output once (it is the next stage's input), and a
    shuffle moves cubes without adding any."""
    from .spec import Chain, Spec

    if look is not None:
        check_look(look)
    if isinstance(spec, Chain):
        stages = spec.stages
    elif isinstance(spec, Spec):
        stages = (spec,)
    else:
        raise SpecError("spec", spec, "a spec (Conv2d, ConvTranspose2d, PixelShuffle, PixelUnshuffle, "
                        "MaxPool2d, AvgPool2d or Chain)")
    c, h, w = stages[0].input_shape
    total = c * h * w
    for stage in stages:
        if stage.op in ("pixel_shuffle", "pixel_unshuffle"):
            continue
        c, h, w = stage.input_shape
        vh, vw = _virtual_extent(stage)
        total += c * (vh * vw - h * w)
        if stage.op in ("conv2d", "conv_transpose2d"):
            kh, kw = stage.kernel_size
            total += stage.out_channels * (c // stage.groups) * kh * kw
        total += math.prod(stage.output_shape)
    return total


#: The last frame Blender keeps (MAXFRAME): a longer clip would be clamped silently.
MAX_FRAME = 1_048_574
#: Objects mode keys a highlight for each cell a step reads (filter cells under the pulse, or the input cells
#: under the window): at most this many cell-steps, so the keyframes stay within memory; instanced mode lights
#: cells in Geometry Nodes and has no such limit.
MAX_CELL_READS = 1 << 24


def check_cube_budget(spec, budget: int = 200_000, look: Look | None = None, mode: str | None = None) -> int:
    """The clip's cube count; SpecError("cube_budget", ...) naming it when it is over ``budget``.
    ``mode`` (the scene mode asked for) only shapes the advice."""
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 1:
        raise SpecError("cube_budget", budget, "a positive integer")
    count = count_cubes(spec, look)
    if count > budget:
        advice = "raise cube_budget or make the tensors smaller" if mode == "instanced" else \
            "raise cube_budget, use mode='instanced', or make the tensors smaller"
        raise SpecError("cube_budget", budget, f"at least {count:,} cubes for this clip: {advice}")
    return count


def count_cell_reads(spec) -> int:
    """Cell-steps a clip of ``spec`` lights in objects mode: for every windowed stage, steps x the cells each
    step reads (channels_per_group*kh*kw); from shapes alone."""
    from .spec import Chain

    stages = spec.stages if isinstance(spec, Chain) else (spec,)
    total = 0
    for stage in stages:
        if stage.op in ("pixel_shuffle", "pixel_unshuffle"):
            continue
        kh, kw = stage.kernel_size
        cpg = stage.in_channels // stage.groups if stage.op in ("conv2d", "conv_transpose2d") else 1
        total += math.prod(stage.output_shape) * cpg * kh * kw
    return total


def check_cell_reads(spec, limit: int = MAX_CELL_READS) -> int:
    """``count_cell_reads(spec)``; SpecError("mode", "objects", ...) when objects mode could not key them."""
    reads = count_cell_reads(spec)
    if reads > limit:
        raise SpecError("mode", "objects", f"mode='instanced' for this clip: its steps read {reads:,} cells, and "
                        f"objects mode keys each read (at most {limit:,})")
    return reads


def check_clip_length(timeline: "Timeline") -> int:
    """The clip's last frame; SpecError when Blender could not hold it (frames past MAX_FRAME are clamped)."""
    if timeline.frame_end > MAX_FRAME:
        raise SpecError("timing", f"a clip ending at frame {int(timeline.frame_end):,}",
                        f"a clip ending by Blender's last frame {MAX_FRAME:,}: fewer steps or faster timing "
                        "(timing.frames_per_step, timing.speedup)")
    return int(timeline.frame_end)
