"""Layout: where every cell sits, where filters wait, and the paths things travel (metres, world space).

Axes (as in :mod:`.timeline`): x runs along a tensor's width (columns, left to
right), y along its channels (channel 0 at the BACK, later channels toward the
camera), z up (row 0 on top). Every tensor stands on z = 0 (the bottom face of
its lowest cubes); neighbouring cubes are ``pitch = cube_size + gap`` apart.

The arrangement follows the Animated AI frames: data flows along the channel
axis, toward the camera (-y), and the camera looks from the front left so that
this flow runs down and to the right across the frame:

* the input block at the back, centred on x = 0, shown on its *virtual grid*
  (padding around it, and for a transposed convolution the inserted zeros);
* the *active slot* in front of it, ``tensor_gap`` away, where the filter
  being applied stands, its channel axis parallel to the input's (channel 0,
  the end that meets the input, at the back);
* the output block in front of the slot, nearest the camera: its outline box
  stands there and the output cells pop into it, channel 0 at the far end and
  later channels filling toward the camera. A stage's output block IS the next
  stage's input block (laid out on the next stage's virtual grid);
* the waiting filters in a tight row (one pitch apart) beside the slot along
  +x, clear of every block, rising to the upper right in the frame; more rows
  behind the first when there are many filters; each stage's rows right of the
  last stage's;
* a filter travels between its waiting place and the slot in four legs: up
  just above the waiting filters, along y to the slot's row, along x to above
  the slot (between the rows and the slot nothing stands), down into it: it
  never passes over a block, so it stays low and inside the frame;
* a pixel shuffle transforms in place: its output block stands centred where
  its input is, and every cell travels straight to its new place at once;
* an elementwise stage (ReLU, BatchNorm) changes its tensor where it stands:
  its output block is its input block, cell for cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Filters per row of waiting places, at least (more when there are many filters: a squarish block).
ROW_LENGTH = 8
#: Gaps along the flow, in ``tensor_gap``s: input to slot (close: the filter reads it), slot to output
#: (wide: the output stands out nearest the camera), as in the reference frames.
SLOT_GAP, OUTPUT_GAP = 0.5, 1.5
#: The waiting row starts at least this many ``tensor_gap``s right of the slot's side.
ROW_GAP = 2.0
#: Extra space between the blocks a tensor folds into (see :mod:`.tensors`), in pitches: between the depth
#: slices along the flow, and between the samples of a batch side by side.
DEPTH_GAP, SAMPLE_GAP = 1.0, 2.0


def _unfold_gaps(index, count: int, blocks: int, gap: float) -> np.ndarray:
    """Grid index -> place along one axis in pitches, ``gap`` more past each boundary between ``blocks``
    equal blocks; linear across a boundary, so fractional indices (a box's centre) land between blocks."""
    index = np.asarray(index, np.float64)
    if blocks <= 1:
        return index
    per = count // blocks
    return index + gap * sum(np.clip(index - (b * per - 1), 0.0, 1.0) for b in range(1, blocks))


@dataclass(frozen=True)
class Grid:
    """A block of cubes on a (C, rows, cols) grid with its centre at ``origin`` (world). ``blocks``: the
    (channel, column) blocks a folded tensor makes (depth slices, samples), set apart by a gap."""

    shape: tuple[int, int, int]
    origin: np.ndarray
    pitch: float
    cube: float
    blocks: tuple[int, int] = (1, 1)

    def channel_place(self, c) -> np.ndarray:
        """Place of channel ``c`` along the channel axis in pitches from channel 0 (fold gaps included)."""
        return _unfold_gaps(c, self.shape[0], self.blocks[0], DEPTH_GAP)

    def _column_place(self, col) -> np.ndarray:
        return _unfold_gaps(col, self.shape[2], self.blocks[1], SAMPLE_GAP)

    @property
    def size(self) -> np.ndarray:
        """Outer size of the cubes along x, y, z."""
        c, h, w = self.shape
        return np.array([float(self._column_place(w - 1)) * self.pitch + self.cube,
                         float(self.channel_place(c - 1)) * self.pitch + self.cube,
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
        x, y = self._column_place(col), self.channel_place(c)
        x_mid, y_mid = float(self._column_place(n_w - 1)) / 2, float(self.channel_place(n_c - 1)) / 2
        return np.stack([(x - x_mid) * p, (y_mid - y) * p, ((n_h - 1) / 2 - row) * p], axis=-1)

    def world(self, c, row, col) -> np.ndarray:
        return self.origin + self.local(c, row, col)

    def channel_y(self, c) -> np.ndarray:
        """World y of channel ``c`` (fractional allowed)."""
        mid = float(self.channel_place(self.shape[0] - 1)) / 2
        return self.origin[1] + (mid - self.channel_place(c)) * self.pitch


def pitch_of(look) -> float:
    return float(look.cube_size + look.gap)


def place_grid(shape, look, left: float, front: float, bottom: float = 0.0, blocks=(1, 1)) -> Grid:
    """The grid whose cubes' outer faces start at x = ``left``, y = ``front``, z = ``bottom``."""
    shape = tuple(int(s) for s in shape)
    grid = Grid(shape, np.zeros(3), pitch_of(look), float(look.cube_size), tuple(blocks))
    origin = np.array([left, front, bottom], np.float64) + grid.size / 2
    return Grid(shape, origin, grid.pitch, grid.cube, grid.blocks)


def place_before(shape, look, back: float, blocks=(1, 1)) -> Grid:
    """The grid centred on x = 0, standing on the floor, whose back face is at y = ``back``."""
    size = place_grid(shape, look, 0, 0, blocks=blocks).size
    return place_grid(shape, look, -size[0] / 2, back - size[1], blocks=blocks)


def place_centred(shape, look, center, blocks=(1, 1)) -> Grid:
    """The grid whose centre is ``center`` (a shuffle's output in place of its input)."""
    size = place_grid(shape, look, 0, 0, blocks=blocks).size
    return place_grid(shape, look, center[0] - size[0] / 2, center[1] - size[1] / 2, center[2] - size[2] / 2,
                      blocks)


def place_aligned(shape, look, grid: Grid, maps, out_maps, blocks=(1, 1)) -> Grid:
    """The grid of ``shape`` on which each cell stands where it stands on ``grid``: an elementwise stage
    changes its tensor in place, shown on the next stage's grid (its padding around it). ``maps`` /
    ``out_maps``: (grid row of each row, grid column of each column) on ``grid`` / on the new grid."""
    placed = place_grid(shape, look, 0.0, 0.0, blocks=blocks)
    (rows, cols), (out_rows, out_cols) = maps, out_maps
    origin = grid.world(0, rows[0], cols[0]) - placed.local(0, out_rows[0], out_cols[0])
    return Grid(placed.shape, origin, placed.pitch, placed.cube, placed.blocks)


def inverse_map(virtual_to_real: np.ndarray, size: int) -> np.ndarray:
    """Real index -> virtual index along one axis, from a virtual -> real map (-1 = padding)."""
    virtual_to_real = np.asarray(virtual_to_real)
    out = np.full(size, -1, np.int64)
    real = virtual_to_real >= 0
    out[virtual_to_real[real]] = np.flatnonzero(real)
    return out


@dataclass
class StageLayout:
    """Where one stage's tensors stand. ``kind``: "filters" (conv), "pool", "shuffle", "elementwise", or "add" /
    "concat" (two-input stages of a graph: the second input comes as a copy, see engine/graph_schedule.py)."""

    kind: str
    input: Grid                      # the stage's input grid (its virtual grid for windowed stages)
    input_rows: np.ndarray           # (H,) grid row of each input row
    input_cols: np.ndarray           # (W,) grid column of each input column
    output: Grid                     # the output grid (the next stage's virtual grid when that is windowed)
    output_rows: np.ndarray          # (OH,) grid row of each output row
    output_cols: np.ndarray          # (OW,)
    filter_grid: Grid | None = None  # a filter's own grid (C_in/groups [+1 for a bias], kh, kw), origin at 0
    slots: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))   # (C_out, 3) slot centre per filter
    homes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))   # (C_out, 3) waiting place per filter
    travel_z: float = 0.0            # centre height of a filter travelling above the others
    returns: bool = False            # a shuffle undoing the one before it: cells go back to where they started
    input_chans: np.ndarray | None = None    # (C,) grid channel of each input channel (a depth window pads slices)
    output_chans: np.ndarray | None = None   # (OC,)
    other: Grid | None = None        # "add": where the copy of the second input lands, between input and output


def _virtual_shape(stage) -> tuple[int, int, int]:
    return stage.virtual_shape


def _blocks(stage, output: bool = False) -> tuple[int, int]:
    """(channel, column) blocks of a stage's input grid (its virtual grid: a depth window's virtual slices)
    or of its output: the depth slices and the samples the tensor folds into (:mod:`.tensors`)."""
    spec = stage.spec
    if output:
        return spec.output_fold.depths, spec.batch
    depth = getattr(stage, "depth", None)
    return (len(depth.virtual) if depth is not None else spec.input_fold.depths), spec.batch


def _fold_maps(stage):
    """The grid a stage's input is shown on, its blocks, and the grid channel/row/column of each input one."""
    c = stage.grid_input.shape[0]
    shape, rows, cols = _grid_maps(stage)
    chans = inverse_map(stage.virtual_channels, c) if stage.is_windowed else np.arange(c)
    return shape, _blocks(stage), chans, rows, cols


def _kind(stage) -> str:
    if stage.reduce in ("add", "concat"):
        return stage.reduce
    if stage.reduce == "elementwise":
        return "elementwise"
    if not stage.is_windowed:
        return "shuffle"
    return "filters" if stage.reduce == "sum" else "pool"


def _grid_maps(stage) -> tuple[tuple[int, int, int], np.ndarray, np.ndarray]:
    """The grid a stage's input is shown on, and the grid row/column of each input row/column."""
    c, h, w = stage.grid_input.shape
    if stage.is_windowed:
        return _virtual_shape(stage), inverse_map(stage.virtual_rows, h), inverse_map(stage.virtual_cols, w)
    return (c, h, w), np.arange(h), np.arange(w)


def _flat(cells: np.ndarray, shape) -> np.ndarray:
    return (cells[:, 0].astype(np.int64) * shape[1] + cells[:, 1]) * shape[2] + cells[:, 2]


def _undoes(first, second) -> bool:
    """Whether shuffle ``second`` puts every cell moved by shuffle ``first`` back where it was."""
    if tuple(first.grid_input.shape) != tuple(second.grid_output.shape):
        return False
    back = np.empty(int(np.prod(first.grid_output.shape)), np.int64)
    back[_flat(first.steps.out, first.grid_output.shape)] = _flat(first.steps.src, first.grid_input.shape)
    return bool(np.array_equal(back[_flat(second.steps.src, second.grid_input.shape)],
                               _flat(second.steps.out, second.grid_output.shape)))


def layout_stages(stages, look) -> list[StageLayout]:
    """Lay out the plans of a chain's stages (a single op is a chain of one): each block in front of the last."""
    gap = float(look.tensor_gap)
    shape, blocks, chans, rows, cols = _fold_maps(stages[0])
    grid_in = place_before(shape, look, 0.0, blocks)
    layouts = []
    for i, stage in enumerate(stages):
        kind = _kind(stage)
        out_shape = stage.grid_output.shape
        if i + 1 < len(stages):
            grid_shape, out_blocks, out_chans, out_rows, out_cols = _fold_maps(stages[i + 1])
        else:
            grid_shape, out_blocks = out_shape, _blocks(stage, output=True)
            out_chans, out_rows, out_cols = (np.arange(n) for n in out_shape)
        layout = StageLayout(kind, grid_in, rows, cols, grid_in, out_rows, out_cols, input_chans=chans,
                             output_chans=out_chans)
        if kind == "shuffle" and i > 0 and layouts[i - 1].kind == "shuffle" and _undoes(stages[i - 1], stage) \
                and (i + 1 == len(stages) or not stages[i + 1].is_windowed):
            # e.g. a shuffle loop: the cells travel back along their own routes into their first places
            before = layouts[i - 1]
            layout.returns = True
            layout.output, layout.output_rows, layout.output_cols = before.input, before.input_rows, before.input_cols
            layout.output_chans = before.input_chans
            layouts.append(layout)
            grid_in, chans, rows, cols = layout.output, layout.output_chans, layout.output_rows, layout.output_cols
            continue
        if kind == "filters":
            n_filters, cpg, kh, kw = stage.filters.shape
            # a filter with a bias shows it as one more layer (one cube) at its output end, in the last block
            layers = cpg + (stage.bias is not None)
            fgrid = Grid((layers, kh, kw), np.zeros(3), pitch_of(look), float(look.cube_size),
                         (stage.spec.filter_fold().depths, 1))
            slot_back = grid_in.lo[1] - SLOT_GAP * gap
            layout.filter_grid = fgrid
            layout.slots = np.tile([0.0, slot_back - fgrid.size[1] / 2, fgrid.size[2] / 2], (n_filters, 1))
            layout.output = place_before(grid_shape, look, slot_back - fgrid.size[1] - OUTPUT_GAP * gap, out_blocks)
        elif kind == "pool" or kind == "concat":
            layout.output = place_before(grid_shape, look, grid_in.lo[1] - gap, out_blocks)
        elif kind == "add":
            layout.other = place_before(stage.grid_other.shape, look, grid_in.lo[1] - SLOT_GAP * gap)
            layout.output = place_before(grid_shape, look, layout.other.lo[1] - gap, out_blocks)
        elif kind == "elementwise":
            layout.output = place_aligned(grid_shape, look, grid_in, (rows, cols), (out_rows, out_cols), out_blocks)
        else:
            layout.output = place_centred(grid_shape, look, grid_in.origin, out_blocks)
        layouts.append(layout)
        grid_in, chans, rows, cols = layout.output, out_chans, out_rows, out_cols
    _place_waiting_rows(layouts, look)
    return layouts


def _place_waiting_rows(layouts: list[StageLayout], look) -> None:
    """Waiting places in rows along +x beside each stage's slot, one pitch apart, clear of every block
    (so extra rows may stand behind the first); each stage's rows right of the last stage's."""
    p = pitch_of(look)
    blocks = [g for l in layouts for g in (l.input, l.output)]
    left = max(max(abs(float(g.lo[0])), abs(float(g.hi[0]))) for g in blocks) + p
    tallest = max(l.filter_grid.size[2] for l in layouts if l.filter_grid is not None) if any(
        l.filter_grid is not None for l in layouts) else 0.0
    for layout in layouts:
        if layout.filter_grid is None:
            continue
        size = layout.filter_grid.size
        left = max(left, size[0] / 2 + ROW_GAP * float(look.tensor_gap))
        n = len(layout.slots)
        per_row = min(n, max(ROW_LENGTH, math.ceil(math.sqrt(n))))
        col, row = np.arange(n) % per_row, np.arange(n) // per_row
        step_x, step_y = size[0] + p, size[1] + p
        layout.homes = np.stack([left + col * step_x + size[0] / 2, layout.slots[:, 1] + row * step_y,
                                 np.full(n, size[2] / 2)], axis=1)
        layout.travel_z = float(tallest + p + size[2] / 2)
        left += per_row * step_x + p


def filter_route(layout: StageLayout, f: int) -> np.ndarray:
    """(K, 3) world centres a filter passes from its waiting place to the slot (legs of zero length dropped):
    up over the waiting filters, along y to the slot's row (over the rows in front of its own), along x
    to above the slot (nothing stands between the rows and the slot), down. It never passes over a block."""
    home, slot = layout.homes[f], layout.slots[f]
    z = layout.travel_z
    points = np.array([home, [home[0], home[1], z], [home[0], slot[1], z], [slot[0], slot[1], z], slot])
    keep = np.r_[True, np.any(np.abs(np.diff(points, axis=0)) > 1e-9, axis=1)]
    return points[keep]


def leg_times(points: np.ndarray, start: float, duration: float) -> np.ndarray:
    """Key frames for a path: ``duration`` shared by the legs in proportion to their lengths."""
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    total = lengths.sum()
    fractions = np.cumsum(lengths) / total if total > 0 else np.linspace(0, 1, len(lengths) + 1)[1:]
    return np.r_[start, start + duration * fractions]
