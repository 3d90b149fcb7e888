"""Layout: where every cell sits, where filters wait, and the paths things travel (metres, world space).

Axes (as in :mod:`.timeline`): x runs along a tensor's width (columns, left to
right), y along its channels (channel 0 in front), z up (row 0 on top). Every
tensor stands on z = 0 (the bottom face of its lowest cubes); neighbouring
cubes are ``pitch = cube_size + gap`` apart.

The arrangement follows the Animated AI frames, stage after stage from left to right:

* the input block on the left, shown on its *virtual grid* (padding around it,
  and for a transposed convolution the inserted zeros between its cells);
* the *active slot* right of it, ``tensor_gap`` away, where the filter being
  applied stands (in depth it lines up with the channels of its group);
* the output block right of the slot, front-aligned with the input: its outline
  box stands there and the output cells pop into it. A stage's output block IS
  the next stage's input block (laid out on the next stage's virtual grid);
* the waiting filters in rows behind everything (larger y), a row per stage,
  starting behind the slot and going right, at most ``max(8, sqrt(n))`` per row;
* a filter travels between its waiting place and the slot in four legs: up
  above every filter, along its row to the slot's column, forward to above the
  slot, down into it. The slot's column holds nothing else, so the path never
  meets another cube;
* a pixel shuffle's output block stands right of and *behind* its input (so
  that, seen from the front, neither hides the other), with a lane between
  them: each cell lifts out of the input along +y into the lane, crosses in the
  lane (x and z only) and is set down along +y into its place (see
  :func:`shuffle_routes` for why no cell ever crosses a cell at rest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Filters per row of waiting places, at least (more when there are many filters: a squarish block).
ROW_LENGTH = 8
#: Lane of a shuffle: this many pitches behind the input's last channel, and as far again before the output.
LANE_PITCHES = 2.0


@dataclass(frozen=True)
class Grid:
    """A block of cubes on a (C, rows, cols) grid with its centre at ``origin`` (world)."""

    shape: tuple[int, int, int]
    origin: np.ndarray
    pitch: float
    cube: float

    @property
    def size(self) -> np.ndarray:
        """Outer size of the cubes along x, y, z."""
        c, h, w = self.shape
        return np.array([(w - 1) * self.pitch + self.cube, (c - 1) * self.pitch + self.cube,
                         (h - 1) * self.pitch + self.cube])

    @property
    def lo(self) -> np.ndarray:
        return self.origin - self.size / 2

    @property
    def hi(self) -> np.ndarray:
        return self.origin + self.size / 2

    def local(self, c, row, col) -> np.ndarray:
        """(N, 3) float64 cube centres relative to ``origin``; fractional indices interpolate."""
        c, row, col = (np.asarray(a, np.float64) for a in (c, row, col))
        n_c, n_h, n_w = self.shape
        p = self.pitch
        return np.stack([(col - (n_w - 1) / 2) * p, (c - (n_c - 1) / 2) * p, ((n_h - 1) / 2 - row) * p], axis=-1)

    def world(self, c, row, col) -> np.ndarray:
        return self.origin + self.local(c, row, col)

    def channel_y(self, c) -> np.ndarray:
        """World y of channel ``c`` (fractional allowed)."""
        return self.origin[1] + (np.asarray(c, np.float64) - (self.shape[0] - 1) / 2) * self.pitch


def pitch_of(look) -> float:
    return float(look.cube_size + look.gap)


def place_grid(shape, look, left: float, front: float, bottom: float = 0.0) -> Grid:
    """The grid whose cubes' outer faces start at x = ``left``, y = ``front``, z = ``bottom``."""
    shape = tuple(int(s) for s in shape)
    grid = Grid(shape, np.zeros(3), pitch_of(look), float(look.cube_size))
    origin = np.array([left, front, bottom], np.float64) + grid.size / 2
    return Grid(shape, origin, grid.pitch, grid.cube)


def inverse_map(virtual_to_real: np.ndarray, size: int) -> np.ndarray:
    """Real index -> virtual index along one axis, from a virtual -> real map (-1 = padding)."""
    virtual_to_real = np.asarray(virtual_to_real)
    out = np.full(size, -1, np.int64)
    real = virtual_to_real >= 0
    out[virtual_to_real[real]] = np.flatnonzero(real)
    return out


@dataclass
class StageLayout:
    """Where one stage's tensors stand. ``kind``: "filters" (conv), "pool" or "shuffle"."""

    kind: str
    input: Grid                      # the stage's input grid (its virtual grid for windowed stages)
    input_rows: np.ndarray           # (H,) grid row of each input row
    input_cols: np.ndarray           # (W,) grid column of each input column
    output: Grid                     # the output grid (the next stage's virtual grid when that is windowed)
    output_rows: np.ndarray          # (OH,) grid row of each output row
    output_cols: np.ndarray          # (OW,)
    filter_grid: Grid | None = None  # a filter's own grid (C_in/groups, kh, kw), origin at 0
    slots: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))   # (C_out, 3) slot centre per filter
    homes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))   # (C_out, 3) waiting place per filter
    travel_z: float = 0.0            # centre height of a filter travelling above the others
    lane_y: float = 0.0              # shuffles: the lane's front plane (where each wave's frontmost cell crosses)
    returns: bool = False            # a shuffle undoing the one before it: cells go back to where they started


def _virtual_shape(stage) -> tuple[int, int, int]:
    return (stage.input.shape[0], len(stage.virtual_rows), len(stage.virtual_cols))


def _kind(stage) -> str:
    if not stage.is_windowed:
        return "shuffle"
    return "filters" if stage.reduce == "sum" else "pool"


def _grid_maps(stage) -> tuple[tuple[int, int, int], np.ndarray, np.ndarray]:
    """The grid a stage's input is shown on, and the grid row/column of each input row/column."""
    c, h, w = stage.input.shape
    if stage.is_windowed:
        return _virtual_shape(stage), inverse_map(stage.virtual_rows, h), inverse_map(stage.virtual_cols, w)
    return (c, h, w), np.arange(h), np.arange(w)


def shuffle_span(stage) -> int:
    """Most output channels (minus one) that the cells of one input channel of a shuffle land in."""
    src_c, out_c = stage.steps.src[:, 0], stage.steps.out[:, 0]
    n = stage.input.shape[0]
    low = np.full(n, np.iinfo(np.int64).max)
    high = np.full(n, -1)
    np.minimum.at(low, src_c, out_c)
    np.maximum.at(high, src_c, out_c)
    used = high >= 0
    return int((high[used] - low[used]).max()) if used.any() else 0


def _flat(cells: np.ndarray, shape) -> np.ndarray:
    return (cells[:, 0].astype(np.int64) * shape[1] + cells[:, 1]) * shape[2] + cells[:, 2]


def _undoes(first, second) -> bool:
    """Whether shuffle ``second`` puts every cell moved by shuffle ``first`` back where it was."""
    if tuple(first.input.shape) != tuple(second.output.shape):
        return False
    back = np.empty(int(np.prod(first.output.shape)), np.int64)
    back[_flat(first.steps.out, first.output.shape)] = _flat(first.steps.src, first.input.shape)
    return bool(np.array_equal(back[_flat(second.steps.src, second.input.shape)],
                               _flat(second.steps.out, second.output.shape)))


def layout_stages(stages, look) -> list[StageLayout]:
    """Lay out the plans of a chain's stages (a single op is a chain of one)."""
    p = pitch_of(look)
    gap = float(look.tensor_gap)
    shape, rows, cols = _grid_maps(stages[0])
    grid_in = place_grid(shape, look, 0.0, 0.0)
    layouts = []
    for i, stage in enumerate(stages):
        kind = _kind(stage)
        out_shape = stage.output.shape
        if i + 1 < len(stages):
            grid_shape, out_rows, out_cols = _grid_maps(stages[i + 1])
        else:
            grid_shape, out_rows, out_cols = out_shape, np.arange(out_shape[1]), np.arange(out_shape[2])
        out_size = place_grid(grid_shape, look, 0, 0).size
        layout = StageLayout(kind, grid_in, rows, cols, grid_in, out_rows, out_cols)
        if kind == "shuffle" and i > 0 and layouts[i - 1].kind == "shuffle" and _undoes(stages[i - 1], stage) \
                and (i + 1 == len(stages) or not stages[i + 1].is_windowed):
            # e.g. a shuffle loop: the cells travel back along their own routes into their first places
            before = layouts[i - 1]
            layout.returns = True
            layout.output, layout.output_rows, layout.output_cols = before.input, before.input_rows, before.input_cols
            layouts.append(layout)
            grid_in, rows, cols = layout.output, layout.output_rows, layout.output_cols
            continue
        if kind == "filters":
            n_filters, cpg, kh, kw = stage.filters.shape
            fgrid = Grid((cpg, kh, kw), np.zeros(3), p, float(look.cube_size))
            slot_left = grid_in.hi[0] + gap
            groups = stage.input.shape[0] // cpg
            group = np.arange(n_filters) // (n_filters // groups)
            slot_y = grid_in.channel_y(group * cpg + (cpg - 1) / 2)
            layout.filter_grid = fgrid
            layout.slots = np.stack([np.full(n_filters, slot_left + fgrid.size[0] / 2), slot_y,
                                     np.full(n_filters, fgrid.size[2] / 2)], axis=1)
            out_left = slot_left + fgrid.size[0] + gap
            out_front = grid_in.lo[1]
        elif kind == "pool":
            out_left, out_front = grid_in.hi[0] + gap, grid_in.lo[1]
        else:
            layout.lane_y = float(grid_in.channel_y(grid_in.shape[0] - 1) + LANE_PITCHES * p)
            front_center = layout.lane_y + shuffle_span(stage) * p + LANE_PITCHES * p
            out_left, out_front = grid_in.hi[0] + gap, front_center - look.cube_size / 2
        layout.output = place_grid(grid_shape, look, out_left, out_front)
        layouts.append(layout)
        grid_in, rows, cols = layout.output, out_rows, out_cols
    _place_waiting_rows(layouts, look)
    return layouts


def _place_waiting_rows(layouts: list[StageLayout], look) -> None:
    """Waiting places behind everything: one block of rows per stage, each stage's behind the last."""
    p = pitch_of(look)
    gap = float(look.tensor_gap)
    back = max(max(l.input.hi[1], l.output.hi[1]) for l in layouts)
    row_y = back + gap
    tallest = max((l.filter_grid.size[2] for l in layouts if l.filter_grid is not None), default=0.0)
    for layout in layouts:
        if layout.filter_grid is None:
            continue
        size = layout.filter_grid.size
        n = len(layout.slots)
        per_row = min(n, max(ROW_LENGTH, math.ceil(math.sqrt(n))))
        col, row = np.arange(n) % per_row, np.arange(n) // per_row
        step_x, step_y = size[0] + gap / 2, size[1] + gap / 2
        left = layout.slots[0, 0] - size[0] / 2
        layout.homes = np.stack([left + col * step_x + size[0] / 2, row_y + row * step_y + size[1] / 2,
                                 np.full(n, size[2] / 2)], axis=1)
        layout.travel_z = float(tallest + p + size[2] / 2)
        row_y += (row.max() + 1) * step_y - gap / 2 + gap


def filter_route(layout: StageLayout, f: int) -> np.ndarray:
    """(K, 3) world centres a filter passes from its waiting place to the slot (legs of zero length dropped)."""
    home, slot = layout.homes[f], layout.slots[f]
    z = layout.travel_z
    points = np.array([home, [home[0], home[1], z], [slot[0], home[1], z], [slot[0], slot[1], z], slot])
    keep = np.r_[True, np.any(np.abs(np.diff(points, axis=0)) > 1e-9, axis=1)]
    return points[keep]


def leg_times(points: np.ndarray, start: float, duration: float) -> np.ndarray:
    """Key frames for a path: ``duration`` shared by the legs in proportion to their lengths."""
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    total = lengths.sum()
    fractions = np.cumsum(lengths) / total if total > 0 else np.linspace(0, 1, len(lengths) + 1)[1:]
    return np.r_[start, start + duration * fractions]


def shuffle_routes(src: np.ndarray, dst: np.ndarray, wave: np.ndarray, lane_y: float) -> np.ndarray:
    """(N, 4, 3) waypoints of each shuffled cell: its place, lifted into the lane, across, its new place.

    The output block stands behind the lane (larger y), the input in front of it.
    Each wave (the cells of one source channel) lifts along +y into the lane, moves
    in x and z only, then is set down along +y by one distance for the whole wave:
    its frontmost cell crosses at ``lane_y`` and the wave keeps its final depth
    offsets while crossing, so its cells never meet. Waves go in DESCENDING source
    channel (see :func:`wave_order`), which for pixel shuffle and unshuffle is
    descending output channel: a cell being set down passes only the places of
    channels in front of its own, which fill later, and a lifting cell passes only
    input channels behind its own, which left earlier.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    _, inverse = np.unique(np.asarray(wave), return_inverse=True)
    frontmost = np.full(int(inverse.max()) + 1 if len(inverse) else 0, np.inf)
    np.minimum.at(frontmost, inverse, dst[:, 1])
    lifted_y = dst[:, 1] + (lane_y - frontmost[inverse])
    lifted = src.copy()
    lifted[:, 1] = lifted_y
    across = dst.copy()
    across[:, 1] = lifted_y
    return np.stack([src, lifted, across, dst], axis=1)


def wave_order(source_channel: np.ndarray) -> np.ndarray:
    """Rank of each cell's wave: 0 for the last source channel (the back one leaves first)."""
    channels, inverse = np.unique(np.asarray(source_channel), return_inverse=True)
    return len(channels) - 1 - inverse
