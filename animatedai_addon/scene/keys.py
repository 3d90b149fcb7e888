"""Keys and point attributes of a Timeline, in numpy: what the Blender writers write, decided without Blender.

This module imports no ``bpy`` (its tests run in plain Python, ``tests/engine/test_scene_keys.py``):

* objects mode (``scene.writer``): per-cell keyframes of scale (pop-in), location (travels) and
  colour (highlights) as :class:`Keys`, laid out per F-curve as :class:`Channels`; cells with
  identical keys found by hashing what they are made of (:func:`cell_signatures`); a box's visibility keys.
* instanced mode (``scene.instanced``): the point attributes of a tensor (:func:`point_attributes`:
  appear/disappear, colours, travel and highlight slots, the flat cell index) and the lattice of
  cells a dilated window reads.

F-curves built from these keys evaluate exactly like ``engine.state_at``:

* scale (pop-in): 0 before ``appear``; over ``pop_frames`` it eases to the cube
  size (BEZIER with flat handles at a third of the segment = smoothstep; LINEAR or
  CONSTANT for those easings); 0 again from ``disappear`` (CONSTANT).
* location (moves): relative to the tensor's empty, eased the same way, held
  (CONSTANT) between moves.
* colour (highlights): CONSTANT keys, the highlight colour on ``[start, end)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..engine.errors import SpecError
from ..engine.timeline import BoxTrack, TensorTrack

CONSTANT, LINEAR, BEZIER = 0, 1, 2   # Keyframe.interpolation as foreach_set integers
FREE, ALIGNED, AUTO_CLAMPED = 0, 1, 4  # Keyframe.handle_*_type as foreach_get integers
#: Handle types whose place a user sets; Blender derives the others from the keys.
PLACED_HANDLES = (FREE, ALIGNED)
INTERPOLATION = {"constant": CONSTANT, "linear": LINEAR, "ease": BEZIER}
#: A travel of zero length jumps this many frames before its end frame (a CONSTANT key just before it).
JUMP = 1.0 / 1024.0

#: Instanced mode: infinite frames are stored as +-FAR_FRAME so that no NaN can arise in the node math.
FAR_FRAME = 1e30
MAX_MOVES = 8          # move slots per point: a cell may travel at most this many times (shuffle loops: 6)
MAX_HIGHLIGHTS = 4     # highlight-interval slots per point (tensors lit by window boxes need none)
MAX_WINDOWS = 4        # window boxes that can light one tensor


# --------------------------------------------------------------------------------------------- objects mode


@dataclass
class Keys:
    """Keyframes of one kind (scale, location or colour) for the cells that have any, grouped by cell.

    The keys of ``cells[k]`` are rows ``offsets[k]:offsets[k + 1]``, sorted by frame.
    """

    cells: np.ndarray          # (K,) int64, ascending
    offsets: np.ndarray        # (K + 1,) int64
    frames: np.ndarray         # (M,) float64
    values: np.ndarray         # (M, D) float64
    interpolation: np.ndarray  # (M,) int32

    @property
    def dims(self) -> int:
        return self.values.shape[1]

    def __len__(self) -> int:
        return len(self.cells)

    def handles(self) -> tuple[np.ndarray, np.ndarray]:
        """Handle frames (left, right): flat handles a third of the way to the neighbouring key.

        With flat handles at thirds a BEZIER segment evaluates to smoothstep
        (3t^2 - 2t^3) of the way from one key to the next: the engine's "ease".
        """
        f = self.frames
        first = np.zeros(len(f), bool)
        first[self.offsets[:-1]] = True
        last = np.zeros(len(f), bool)
        last[self.offsets[1:] - 1] = True
        gap_before = np.where(first, 3.0, f - np.roll(f, 1))
        gap_after = np.where(last, 3.0, np.roll(f, -1) - f)
        return f - gap_before / 3.0, f + gap_after / 3.0


def group_keys(key_cell, frames, values, interpolation) -> Keys:
    """Keys from flat arrays already sorted by (cell, frame)."""
    key_cell = np.asarray(key_cell, np.int64)
    cells, starts = np.unique(key_cell, return_index=True)
    values = np.array(values, np.float64)
    if values.ndim != 2:
        values = values.reshape(len(key_cell), 1)
    return Keys(cells, np.append(starts, len(key_cell)).astype(np.int64), np.array(frames, np.float64),
                values, np.array(interpolation, np.int32))


def _table_keys(frames, values, interpolation, mask) -> Keys:
    """Keys from (N, J) tables of candidate keys per cell (columns in frame order); ``mask`` picks the real ones."""
    n, j = mask.shape
    cell = np.broadcast_to(np.arange(n)[:, None], (n, j))
    values = np.asarray(values, np.float64).reshape(n, j, -1)
    return group_keys(cell[mask], frames[mask], values[mask], np.broadcast_to(interpolation, (n, j))[mask])


def visibility_keys(appear, disappear, pop_frames: float, interpolation: int) -> Keys:
    """Scale factor keys (0 hidden, 1 shown) for cells that are not shown throughout.

    Hidden before ``appear``, growing over ``pop_frames`` from ``appear``, hidden
    again from ``disappear``. Values are factors of the full size.
    """
    a = np.asarray(appear, np.float64)
    d = np.asarray(disappear, np.float64)
    has_a, has_d = np.isfinite(a), np.isfinite(d)
    pop = float(pop_frames)
    grows = pop > 0
    # A cell leaving before its pop ends keeps the pop's start and leaves (F-curves stay sorted).
    popped = has_a & ~(has_d & (d <= a + (pop if grows else 0.0)))
    frames = np.column_stack([a if grows else a - 1.0, a + pop, d - 1.0, d])
    values = np.tile(np.array([0.0, 1.0, 1.0, 0.0]), (len(a), 1))
    kinds = np.array([interpolation if grows else CONSTANT, CONSTANT, CONSTANT, CONSTANT], np.int32)
    mask = np.column_stack([has_a, popped, ~has_a & has_d, has_d])
    return _table_keys(frames, values, kinds, mask)


def move_keys(track: TensorTrack, interpolation: int) -> Keys:
    """Location keys (relative to the tensor's empty) of the cells that travel."""
    cell = np.asarray(track.move_cell, np.int64)
    if len(cell) == 0:
        return group_keys(np.zeros(0), np.zeros(0), np.zeros((0, 3)), np.zeros(0))
    start = np.asarray(track.move_start, np.float64)
    end = np.asarray(track.move_end, np.float64)
    to = np.asarray(track.move_to, np.float64).reshape(-1, 3)
    first = np.r_[True, cell[1:] != cell[:-1]]
    before = np.where(first[:, None], np.asarray(track.position, np.float64)[cell], np.roll(to, 1, axis=0))
    travels = end > start
    start_frame = np.where(travels, start, end - JUMP)
    start_kind = np.where(travels, interpolation, CONSTANT)
    # Where the next travel starts as this one ends, its start key (same value) carries on alone.
    joined = np.r_[~first[1:] & (start_frame[1:] == end[:-1]), False]
    frames = np.column_stack([start_frame, end])
    values = np.stack([before, to], axis=1)
    kinds = np.column_stack([start_kind, np.full(len(cell), CONSTANT)])
    mask = np.column_stack([np.ones(len(cell), bool), ~joined])
    n, j = mask.shape
    key_cell = np.broadcast_to(cell[:, None], (n, j))[mask]
    return group_keys(key_cell, frames[mask], values[mask], kinds[mask])


def highlight_keys(track: TensorTrack, channels: list[int]) -> Keys:
    """Colour keys (``channels`` of RGBA) of the cells that light up: CONSTANT steps."""
    cell = np.asarray(track.highlight_cell, np.int64)
    start = np.asarray(track.highlight_start, np.float64)
    end = np.asarray(track.highlight_end, np.float64)
    base = np.asarray(track.color, np.float64)[cell][:, channels]
    lit = np.asarray(track.highlight_color, np.float64)[cell][:, channels]
    first = np.r_[True, cell[1:] != cell[:-1]] if len(cell) else np.zeros(0, bool)
    has_s, has_e = np.isfinite(start), np.isfinite(end)
    frames = np.column_stack([start - 1.0, np.where(has_s, start, end - 1.0), end])
    values = np.stack([base, lit, base], axis=1)
    mask = np.column_stack([first & has_s, has_s | has_e, has_e])
    n = len(cell)
    key_cell = np.broadcast_to(cell[:, None], (n, 3))[mask]
    return group_keys(key_cell, frames[mask], values[mask], np.zeros(int(mask.sum()), np.int32))


def always_lit(track: TensorTrack) -> np.ndarray:
    """Cells highlighted over the whole time axis (their colour is simply the highlight colour)."""
    lit = np.zeros(len(track), bool)
    endless = np.isneginf(track.highlight_start) & np.isposinf(track.highlight_end)
    lit[np.asarray(track.highlight_cell, np.int64)[endless]] = True
    return lit


def keyed_color_channels(track: TensorTrack) -> list[int]:
    """RGBA channels in which some highlighted cell's colour changes."""
    cell = np.asarray(track.highlight_cell, np.int64)
    if len(cell) == 0:
        return []
    lit = np.zeros(len(track), bool)
    lit[cell] = True          # (a cell lit many times is compared once)
    differs = np.asarray(track.color)[lit] != np.asarray(track.highlight_color)[lit]
    return [c for c in range(4) if differs[:, c].any()]


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _positions(offsets) -> np.ndarray:
    """(offsets[-1],) uint64: each element's place within its row ``offsets[k]:offsets[k + 1]``."""
    offsets = np.asarray(offsets, np.int64)
    return (np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], np.diff(offsets))).astype(np.uint64)


def _per_row_any(flags: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For each row ``offsets[k]:offsets[k + 1]`` (none empty), whether any flag in it is set."""
    if len(offsets) < 2:
        return np.zeros(0, bool)
    return np.add.reduceat(flags.astype(np.int64), offsets[:-1]) > 0


def _interleaved(frames: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(2N,) float32 frame, value, frame, value, ...: ``keyframe_points.foreach_set("co", ...)``'s layout."""
    out = np.empty((len(frames), 2), np.float32)
    out[:, 0] = frames
    out[:, 1] = values
    return out.ravel()


class Channels:
    """One kind of Keys prepared for writing: flat float32 arrays per F-curve, sliced per cell
    (``writer.fill_fcurves`` writes a cell's rows).

    Per F-curve only what the defaults of ``keyframe_points.add`` (BEZIER keys,
    AUTO_CLAMPED handles) do not already give is written:

    * interpolation, unless every key that starts a segment is BEZIER;
    * handles, only on curves with a BEZIER segment. Blender's AUTO_CLAMPED handles
      (``fcurve.update()``) are flat at a third of each neighbouring segment at the
      ends of a curve, at extremes and on plateaus; only where a BEZIER segment
      touches any other key (a key mid-way in a rising run) are FREE handles written.
    """

    def __init__(self, keys: Keys, paths: list[tuple[str, int, int]], scale: np.ndarray | float = 1.0,
                 frame_map: tuple[float, float] | None = None):
        self.keys = keys
        self.paths = [(path, index) for path, index, _ in paths]
        offsets = keys.offsets
        self.offsets = offsets.tolist()
        values = keys.values * scale
        count = len(keys.frames)
        bezier = keys.interpolation == BEZIER
        first = np.zeros(count, bool)
        first[offsets[:-1]] = True
        last = np.zeros(count, bool)
        last[offsets[1:] - 1] = True
        self.has_bezier = _per_row_any(bezier & ~last, offsets).tolist()
        self.set_interpolation = _per_row_any(~bezier & ~last, offsets).tolist()
        touches_bezier = (bezier & ~last) | (np.roll(bezier, 1) & ~first)
        left, right = keys.handles() if bezier.any() else (keys.frames, keys.frames)
        frames = keys.frames
        if frame_map is not None:     # scene frame = offset + factor * clip frame; handles move with their keys
            offset, factor = frame_map
            frames, left, right = (offset + factor * f for f in (frames, left, right))
        self.co, self.left, self.right, self.explicit = [], [], [], []
        for _, _, dim in paths:
            v = values[:, dim]
            self.co.append(_interleaved(frames, v))
            if bezier.any():
                self.left.append(_interleaved(left, v))
                self.right.append(_interleaved(right, v))
                rise_before = v - np.roll(v, 1)
                rise_after = np.roll(v, -1) - v
                flat = first | last | (rise_before * rise_after <= 0)
                self.explicit.append(_per_row_any(touches_bezier & ~flat, offsets).tolist())
            else:             # no BEZIER key: no handles to write
                self.left.append(None)
                self.right.append(None)
                self.explicit.append([False] * (len(offsets) - 1))
        self.interpolation = keys.interpolation
        self.free = np.full(count, FREE, np.int32)

    def digests(self) -> np.ndarray:
        """(R, D) uint64: :func:`curve_digest` of each row's F-curve per channel, as
        ``writer.fill_fcurves`` writes them (interpolation left BEZIER where it is not set)."""
        offsets = self.keys.offsets
        lengths = np.diff(offsets)
        written = np.repeat(np.asarray(self.set_interpolation, bool), lengths)
        kinds = np.where(written, self.interpolation, BEZIER).astype(np.int32)
        out = np.empty((len(lengths), len(self.paths)), np.uint64)
        position = _positions(offsets)
        for dim in range(len(self.paths)):
            out[:, dim] = row_digests(self.co[dim], offsets, kinds, position)
            for row in np.flatnonzero(np.asarray(self.explicit[dim], bool) & np.asarray(self.has_bezier, bool)):
                a, b = self.offsets[row], self.offsets[row + 1]
                handles = (self.free[a:b], self.free[a:b], self.left[dim][2 * a:2 * b], self.right[dim][2 * a:2 * b])
                row_kinds = self.interpolation[a:b] if self.set_interpolation[row] else None
                out[row, dim] = np.frombuffer(curve_digest(self.co[dim][2 * a:2 * b], row_kinds, handles), np.uint64)[0]
        return out

    def row_shapes(self) -> list[int]:
        """Per row, a 64-bit hash shared by the rows whose curves differ only in their frames and values (the
        same number of keys, interpolations written, BEZIER segments and handles written per channel): a
        curve of one can be copied and given the other's frames and values (``writer._animate_cells``)."""
        offsets = self.keys.offsets
        lengths = np.diff(offsets)
        if len(lengths) == 0:
            return []
        position = _positions(offsets)
        with np.errstate(over="ignore"):
            h = np.zeros(len(lengths), np.uint64)
            if len(position):
                per_key = _mix(self.interpolation.astype(np.uint64) + position * _GOLDEN)
                h = np.add.reduceat(per_key, np.minimum(offsets[:-1], len(per_key) - 1))
                h[lengths == 0] = 0
            flags = [lengths, self.set_interpolation, self.has_bezier, *self.explicit]
            for flag in flags:
                h = _mix(h * _GOLDEN + np.asarray(flag, np.uint64))
        return h.tolist()

    def row_lookup(self, n_cells: int) -> np.ndarray:
        rows = np.full(n_cells, -1, np.int64)
        rows[self.keys.cells] = np.arange(len(self.keys.cells))
        return rows


def cell_channels(track: TensorTrack, pop_frames: float, easing: int, cube_size: float,
                  frame_map: tuple[float, float] | None = None,
                  color_channels: list[int] | None = None) -> tuple[Keys, list[Channels]]:
    """(the visibility keys, the kinds of keys some cell of ``track`` has, ready to write): scale (pop-in),
    location (travels), colour (the RGBA channels highlights change: by default
    :func:`keyed_color_channels`)."""
    shown = visibility_keys(track.appear, track.disappear, pop_frames, easing)
    moves = move_keys(track, easing)
    color_channels = keyed_color_channels(track) if color_channels is None else color_channels
    lit = highlight_keys(track, color_channels) if color_channels else group_keys(
        np.zeros(0), np.zeros(0), np.zeros((0, 1)), np.zeros(0))
    kinds = [
        Channels(shown, [("scale", axis, 0) for axis in range(3)], cube_size, frame_map),
        Channels(moves, [("location", axis, axis) for axis in range(3)], frame_map=frame_map),
        Channels(lit, [("color", c, k) for k, c in enumerate(color_channels)], frame_map=frame_map),
    ]
    return shown, [k for k in kinds if len(k.keys)]


def _row_hashes(n: int, row_cell: np.ndarray, columns: list[np.ndarray], seed: int) -> np.ndarray:
    """(n,) uint64: per cell, a hash of its rows (sorted by cell) of float64 ``columns``, in order (0: no rows)."""
    out = np.zeros(n, np.uint64)
    if len(row_cell) == 0:
        return out
    row_cell = np.asarray(row_cell, np.int64)
    first = np.r_[True, row_cell[1:] != row_cell[:-1]]
    starts = np.flatnonzero(first)
    rank = _positions(np.r_[starts, len(row_cell)])
    with np.errstate(over="ignore"):
        h = np.full(len(row_cell), seed, np.uint64)
        for column in columns:
            h = _mix(h ^ np.ascontiguousarray(column, np.float64).view(np.uint64))
        h = _mix(h + rank * _GOLDEN)
        out[row_cell[starts]] = _mix(np.add.reduceat(h, starts) ^ np.uint64(seed))
    return out


def cell_signatures(track: TensorTrack, color_channels: list[int]) -> np.ndarray:
    """(n, 2) uint64: per cell, two independent hashes of everything its keys are made of (a false match
    needs a 128-bit collision): appear and disappear (scale), its travels and, if it travels, its rest
    position (location), its highlight intervals and its colours in ``color_channels`` (colour).

    Cells with equal signatures have the same keys of every kind (:func:`cell_channels`), found without
    making the keys: a filter's cells are lit at every step, and hashing their intervals costs a fraction
    of making and hashing their keys.
    """
    n = len(track)
    everyone = np.arange(n)
    move_cell = np.asarray(track.move_cell, np.int64)
    to = np.asarray(track.move_to, np.float64).reshape(-1, 3)
    position = np.asarray(track.position, np.float64)[move_cell]
    colors = [np.asarray(track.color, np.float64)[:, color_channels],
              np.asarray(track.highlight_color, np.float64)[:, color_channels]]
    lit = np.zeros(n, bool)
    lit[np.asarray(track.highlight_cell, np.int64)] = True
    parts = [
        (everyone, [track.appear, track.disappear]),
        (move_cell, [track.move_start, track.move_end, *to.T, *position.T]),
        # a cell's colours only matter where it lights up; per cell, not per interval (a filter has ~1k each)
        (everyone, [np.where(lit, c, 0.0) for color in colors for c in color.T] if color_channels else []),
        (np.asarray(track.highlight_cell, np.int64), [track.highlight_start, track.highlight_end]
         if color_channels else []),
    ]
    signature = np.zeros((n, 2), np.uint64)
    with np.errstate(over="ignore"):
        for tag, (rows, columns) in enumerate(parts, start=1):
            if not columns:
                continue
            for lane in range(2):
                h = _row_hashes(n, rows, columns, seed=2 * tag + lane)
                signature[:, lane] = _mix(signature[:, lane] * _GOLDEN + h)
    return signature


@dataclass
class CellKeys:
    """What :func:`plan_cell_keys` decided for a tensor's cells, for ``writer.write_cell_objects``."""

    hidden: np.ndarray              # (n,) bool: cells with scale keys (their rest scale is 0)
    kinds: list[Channels]           # the kinds of keys written, for the cells in ``written`` only
    rows: list[np.ndarray]          # per kind, (n,): each cell's row in it (its source's keys), -1: none
    source: np.ndarray              # (n,) the first cell with exactly the same keys (itself if none)
    animated: np.ndarray            # ascending indices of the cells with any keys


def plan_cell_keys(track: TensorTrack, pop_frames: float, easing: int, cube_size: float,
                   frame_map: tuple[float, float] | None = None, share_identical: bool = True) -> CellKeys:
    """The keys of ``track``'s cells, made only for the cells whose keys are written: with
    ``share_identical``, a cell with the same keys as an earlier one (:func:`cell_signatures`) plays that
    one's (a twin); its keys are not made."""
    n = len(track)
    color_channels = keyed_color_channels(track)
    if share_identical and n:
        _, first, inverse = np.unique(cell_signatures(track, color_channels), axis=0,
                                      return_index=True, return_inverse=True)
        source = first[np.ravel(inverse)]
    else:
        source = np.arange(n)
    own = np.zeros(n, bool)
    own[source] = True
    written = subset_track(track, own) if not own.all() else track
    kinds = cell_channels(written, pop_frames, easing, cube_size, frame_map, color_channels)[1]
    in_written = np.cumsum(own) - 1
    rows = [k.row_lookup(len(written))[in_written[source]] for k in kinds]
    animated = np.flatnonzero(np.any(np.stack(rows) >= 0, axis=0)) if rows else np.zeros(0, np.int64)
    hidden = np.zeros(n, bool)
    hidden[visibility_keys(track.appear, track.disappear, pop_frames, easing).cells] = True
    return CellKeys(hidden, kinds, rows, source, animated)


def box_visibility_keys(box: BoxTrack) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 0/1) CONSTANT keys of whether a box shows: ``appear <= frame < disappear`` and the
    ``key_visible`` flag of its current key (the first key's before it). One key: it never changes."""
    key_frames = np.asarray(box.key_frames, np.float32)
    flags = np.asarray(box.key_visible, bool)
    changes = [f for f in (box.appear, box.disappear) if np.isfinite(f)]
    if len(flags):
        changes += list(key_frames[1:].astype(np.float64))
    frames = np.unique(np.asarray(changes, np.float64))

    def shown(at):
        at = np.asarray(at, np.float64)
        on = (box.appear <= at) & (at < box.disappear)
        if len(flags):
            k = np.maximum(np.searchsorted(key_frames, at.astype(np.float32), side="right") - 1, 0)
            on &= flags[k]
        return on.astype(np.float64)

    if len(frames) == 0:
        return np.zeros(1), shown([0.0])
    frames = np.r_[frames[0] - 1.0, frames]       # the state before the first change
    values = shown(frames)
    keep = np.r_[True, values[1:] != values[:-1]]
    return frames[keep], values[keep]


# --------------------------------------------------------------------------------------------- instanced mode


def checked_array(track: TensorTrack, field: str, width: int, dtype) -> np.ndarray:
    """``track.<field>`` as a C-contiguous (N,) or (N, width) array of ``dtype``, or SpecError."""
    values = np.asarray(getattr(track, field))
    n = len(track.cells)
    want = (n,) if width == 1 else (n, width)
    if values.shape != want:
        raise SpecError(f"{track.name}.{field}", values.shape, f"an array of shape {want}")
    return np.ascontiguousarray(values, dtype=dtype)


def finite_frames(frames: np.ndarray) -> np.ndarray:
    """Frames with +-inf replaced by +-FAR_FRAME (float32), so node math never meets inf - inf."""
    return np.clip(np.asarray(frames, np.float64), -FAR_FRAME, FAR_FRAME).astype(np.float32)


def _rank_within_cell(cell_of_row: np.ndarray) -> np.ndarray:
    """For rows sorted by cell: 0 for a cell's first row, 1 for its second, ..."""
    rows = np.arange(len(cell_of_row))
    if len(rows) == 0:
        return rows
    starts = np.flatnonzero(np.r_[True, cell_of_row[1:] != cell_of_row[:-1]])
    first_row = np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    return rows - first_row


def _sorted_rows(track: TensorTrack, cell_field: str, start_field: str) -> np.ndarray:
    cells = np.asarray(getattr(track, cell_field), np.int64)
    n = len(track.cells)
    if len(cells) and (cells.min() < 0 or cells.max() >= n):
        raise SpecError(f"{track.name}.{cell_field}", (int(cells.min()), int(cells.max())),
                        f"cell indices in 0..{n - 1}")
    return np.lexsort((np.asarray(getattr(track, start_field)), cells))


def move_slots(track: TensorTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell travel slots: start (N, K), end (N, K), offset (N, K, 3) with K = most travels of a cell.

    Unused slots have start = end = 0 and offset 0. Raises SpecError when a cell
    travels more than MAX_MOVES times.
    """
    n = len(track.cells)
    order = _sorted_rows(track, "move_cell", "move_start")
    cell = np.asarray(track.move_cell, np.int64)[order]
    start = np.asarray(track.move_start, np.float64)[order]
    end = np.asarray(track.move_end, np.float64)[order]
    to = np.asarray(track.move_to, np.float32).reshape(-1, 3)[order]
    rank = _rank_within_cell(cell)
    slots = int(rank.max()) + 1 if len(rank) else 0
    if slots > MAX_MOVES:
        raise SpecError(f"{track.name}.move_cell", f"{slots} travels of one cell",
                        f"at most {MAX_MOVES} travels per cell in the instanced mode",
                        "use mode='objects' for this clip")
    rest = checked_array(track, "position", 3, np.float32)
    before = to.copy()
    first = rank == 0
    before[first] = rest[cell[first]]
    before[~first] = to[np.flatnonzero(~first) - 1]   # rows of one cell are consecutive
    slot_start = np.zeros((n, slots), np.float32)
    slot_end = np.zeros((n, slots), np.float32)
    slot_offset = np.zeros((n, slots, 3), np.float32)
    slot_start[cell, rank] = finite_frames(start)
    slot_end[cell, rank] = finite_frames(end)
    slot_offset[cell, rank] = to - before
    return slot_start, slot_end, slot_offset


def highlight_slots(track: TensorTrack, lit_by_boxes: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-cell highlight intervals: start (N, K), end (N, K); unused slots are the empty [0, 0).

    Returns None when the intervals do not fit in MAX_HIGHLIGHTS slots but
    window boxes light the tensor; raises SpecError when they do not fit and no
    box lights it.
    """
    n = len(track.cells)
    order = _sorted_rows(track, "highlight_cell", "highlight_start")
    cell = np.asarray(track.highlight_cell, np.int64)[order]
    rank = _rank_within_cell(cell)
    slots = int(rank.max()) + 1 if len(rank) else 0
    if slots > MAX_HIGHLIGHTS:
        if lit_by_boxes:
            return None
        raise SpecError(f"{track.name}.highlight_cell", f"{slots} highlight intervals of one cell",
                        f"at most {MAX_HIGHLIGHTS} per cell unless a window box lights the tensor",
                        "use mode='objects' for this clip")
    slot_start = np.zeros((n, slots), np.float32)
    slot_end = np.zeros((n, slots), np.float32)
    slot_start[cell, rank] = finite_frames(np.asarray(track.highlight_start)[order])
    slot_end[cell, rank] = finite_frames(np.asarray(track.highlight_end)[order])
    return slot_start, slot_end


def flat_cell_index(track: TensorTrack) -> np.ndarray:
    """``(c * H + y) * W + x`` for every cell, as int32 (SpecError if a cell lies outside ``shape``)."""
    cells = np.asarray(track.cells, np.int64).reshape(-1, 3)
    shape = np.asarray(track.shape, np.int64)
    if len(cells) and (np.any(cells < 0) or np.any(cells >= shape)):
        raise SpecError(f"{track.name}.cells", "cells outside the shape", f"indices within {tuple(track.shape)}")
    if int(np.prod(shape)) >= 2**31:
        raise SpecError(f"{track.name}.shape", tuple(track.shape), "fewer than 2**31 cells")
    return ((cells[:, 0] * shape[1] + cells[:, 1]) * shape[2] + cells[:, 2]).astype(np.int32)


def lattice_from_spacing(size, spacing) -> tuple[np.ndarray, np.ndarray]:
    """(spacing, phase) of a window of outer ``size`` reading cells ``spacing`` apart (0 = every cell).

    A window of k cells read d cells apart spans ((k - 1) * d + 1) cells, so
    size / spacing = k - 1 + 1/d and k = floor(size / spacing) + 1 when d > 1;
    its read cells sit (j - (k - 1) / 2) spacings from the centre: phase 0 for
    odd k, 0.5 for even k.
    """
    size, spacing = np.asarray(size, np.float64), np.asarray(spacing, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = np.where(spacing > 0, np.floor(size / np.where(spacing > 0, spacing, 1.0) + 1e-6) + 1, 1)
    return np.where(spacing > 0, spacing, 0.0), ((kernel - 1) / 2) % 1.0


def window_lattice(box: BoxTrack) -> tuple[np.ndarray, np.ndarray]:
    """(spacing, phase) of the cells a window reads inside its box (``BoxTrack.read_spacing``)."""
    return lattice_from_spacing(box.size, box.read_spacing)


def point_attributes(track: TensorTrack, lit_by_boxes: bool) -> dict[str, tuple[str, np.ndarray]]:
    """Every point attribute of a track: name -> (Blender data type, values). Validates first."""
    n = len(track.cells)
    attributes = {
        "appear": ("FLOAT", finite_frames(checked_array(track, "appear", 1, np.float64))),
        "disappear": ("FLOAT", finite_frames(checked_array(track, "disappear", 1, np.float64))),
        "color": ("FLOAT_COLOR", checked_array(track, "color", 4, np.float32)),
        "highlight_color": ("FLOAT_COLOR", checked_array(track, "highlight_color", 4, np.float32)),
        "value": ("FLOAT", checked_array(track, "value", 1, np.float32)),
        "padding": ("BOOLEAN", np.full(n, track.role == "padding")),
        "cell": ("INT", flat_cell_index(track)),
    }
    start, end, offset = move_slots(track)
    for k in range(start.shape[1]):
        attributes[f"move{k}_start"] = ("FLOAT", start[:, k])
        attributes[f"move{k}_end"] = ("FLOAT", end[:, k])
        attributes[f"move{k}_offset"] = ("FLOAT_VECTOR", offset[:, k])
    highlights = highlight_slots(track, lit_by_boxes)
    if highlights is not None:
        for k in range(highlights[0].shape[1]):
            attributes[f"hl{k}_start"] = ("FLOAT", highlights[0][:, k])
            attributes[f"hl{k}_end"] = ("FLOAT", highlights[1][:, k])
    return attributes


def subset_track(track: TensorTrack, keep: np.ndarray) -> TensorTrack:
    """The cells where ``keep`` is True, with their travels and highlights (cell indices renumbered)."""
    keep = np.asarray(keep, bool)
    new_index = np.full(len(track), -1, np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    moves = keep[track.move_cell] if len(track.move_cell) else np.zeros(0, bool)
    lights = keep[track.highlight_cell] if len(track.highlight_cell) else np.zeros(0, bool)
    return TensorTrack(
        name=track.name, role=track.role, shape=track.shape, cells=track.cells[keep], origin=track.origin,
        position=track.position[keep], color=track.color[keep], highlight_color=track.highlight_color[keep],
        value=track.value[keep], appear=track.appear[keep], disappear=track.disappear[keep],
        move_cell=new_index[track.move_cell[moves]].astype(np.int32), move_start=track.move_start[moves],
        move_end=track.move_end[moves], move_to=track.move_to[moves],
        key_frames=track.key_frames, key_locations=track.key_locations,
        highlight_cell=new_index[track.highlight_cell[lights]].astype(np.int32),
        highlight_start=track.highlight_start[lights], highlight_end=track.highlight_end[lights], fold=track.fold)


def on_lattice(offset: np.ndarray, spacing, phase) -> np.ndarray:
    """Whether offsets from a window's centre fall on its lattice of read cells (as the node group decides)."""
    spacing, phase = np.asarray(spacing, np.float64), np.asarray(phase, np.float64)
    u = np.where(spacing > 0, offset / np.where(spacing > 0, spacing, 1.0) - phase, 0.0)
    return np.all(np.abs(u - np.floor(u + 0.5)) < 0.25, axis=-1)


# --------------------------------------------------------------------------------------------- digests


def row_digests(co: np.ndarray, offsets, kinds: np.ndarray, position: np.ndarray | None = None) -> np.ndarray:
    """(R,) uint64: the digests of R F-curves at once, curve r holding keys ``offsets[r]:offsets[r + 1]`` of
    ``co`` ((2M,) float32 frame, value, ...) with interpolations ``kinds`` ((M,) int32): the bits of every
    frame and value, each key's interpolation and place in its curve (``position``, if already known), and
    the curve's length go in, one splitmix round a key (a few ns: 720k keys in ~20 ms)."""
    offsets = np.asarray(offsets, np.int64)
    rows = len(offsets) - 1
    if rows <= 0:
        return np.zeros(0, np.uint64)
    lengths = np.diff(offsets)
    if len(co) == 0:
        return _mix(lengths.astype(np.uint64) ^ _LENGTH_SEED)
    bits = np.ascontiguousarray(co, np.float32).view(np.uint32).astype(np.uint64)
    if position is None:
        position = _positions(offsets)
    with np.errstate(over="ignore"):
        h = (bits[0::2] << np.uint64(32)) | bits[1::2]
        h ^= np.asarray(kinds).astype(np.uint64) * _M2
        h += position * _GOLDEN
        sums = np.add.reduceat(_mix(h), np.minimum(offsets[:-1], len(h) - 1))
        sums[lengths == 0] = 0
        return _mix(sums ^ (lengths.astype(np.uint64) ^ _LENGTH_SEED))


_LENGTH_SEED = np.uint64(0x243F6A8885A308D3)
_LANE_SEEDS = np.array([0x13198A2E03707344, 0xA4093822299F31D0], np.uint64)


def curve_digest(co, kinds=None, handles=None) -> bytes:
    """8 bytes that change with any hand edit of one F-curve's keys: :func:`row_digests` of the curve, and
    with ``handles`` a hash of them.

    ``co``: (2N,) float32 frames and values; ``kinds``: each key's interpolation, None when every key is
    BEZIER (``keyframe_points.add``'s default); ``handles``: None when no segment is BEZIER or every
    handle is AUTO_CLAMPED (their places follow from the keys: dragging one in the Graph Editor makes it
    ALIGNED), else (left types, right types, left, right) with the places of the FREE or ALIGNED handles
    only. Put so, a writer computes the digest from what it wrote without reading Blender's handles
    back (:meth:`Channels.digests` for many curves at once); :func:`read_curve_digest` computes the same
    from what Blender holds.
    """
    co = np.ascontiguousarray(co, np.float32)
    count = len(co) // 2
    kinds = np.full(count, BEZIER, np.int32) if kinds is None else kinds
    digest = row_digests(co, [0, count], kinds)
    if handles is not None:
        extra = hashlib.blake2b(b"handles", digest_size=8)
        for part in handles:
            extra.update(np.ascontiguousarray(part))
        digest = digest ^ np.frombuffer(extra.digest(), np.uint64)
    return digest.tobytes()


def read_curve_digest(co, kinds, get_handles) -> bytes:
    """:func:`curve_digest` of a curve read back: ``co`` and ``kinds`` as ``foreach_get`` gives them,
    ``get_handles()`` -> (left types, right types, left, right), called only for curves with a BEZIER
    segment."""
    handles = None
    if (kinds[:-1] == BEZIER).any():
        left_types, right_types, left, right = get_handles()
        placed = np.isin(left_types, PLACED_HANDLES) | np.isin(right_types, PLACED_HANDLES)
        if not ((left_types == AUTO_CLAMPED).all() and (right_types == AUTO_CLAMPED).all()):
            handles = (np.ascontiguousarray(left_types, np.int32), np.ascontiguousarray(right_types, np.int32),
                       np.ascontiguousarray(np.reshape(left, (-1, 2))[placed], np.float32),
                       np.ascontiguousarray(np.reshape(right, (-1, 2))[placed], np.float32))
    return curve_digest(co, np.asarray(kinds, np.int32), handles)


def _lanes(text: str) -> np.ndarray:
    return np.frombuffer(hashlib.blake2b(text.encode(), digest_size=16).digest(), np.uint64)


class CurveDigests:
    """The digests of a clip's F-curves by what plays them, (action name, slot handle), and by channel,
    (data path, index): the same whether taken from what the writer wrote or read back from Blender,
    in whatever order the curves come.

    Kept as a sum (two 64-bit lanes) of one well-mixed term per curve, which hashes its owner, its
    channel and its digest: adding a curve is one addition, and many curves are added in one numpy
    call (:meth:`add_rows`) instead of a dict entry each; each curve is added once.
    """

    def __init__(self):
        self.total = np.zeros(2, np.uint64)
        self._groups: dict[tuple[tuple[str, int], ...], list[tuple[str, int]]] = {}   # channels -> owners
        self._lanes: dict[str, np.ndarray] = {}

    def _table(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 2) lanes of each text (hashed once per CurveDigests)."""
        lanes = self._lanes
        for text in set(texts) - lanes.keys():
            lanes[text] = _lanes(text)
        return np.stack([lanes[text] for text in texts])

    def add(self, owner: tuple[str, int], path: str, index: int, digest: bytes) -> None:
        """One curve of ``owner`` driving (``path``, ``index``)."""
        self.add_rows([owner], [(path, int(index))], np.frombuffer(digest, np.uint64).reshape(1, 1))

    def add_rows(self, owners: list[tuple[str, int]], channels: list[tuple[str, int]], digests: np.ndarray) -> None:
        """Curves of R owners on the same D ``channels``: ``digests`` (R, D) as :func:`row_digests` gives."""
        if not owners:
            return
        channels = tuple((path, int(index)) for path, index in channels)
        names, handles = zip(*owners)
        self._groups.setdefault(channels, []).extend(zip(names, map(int, handles)))
        actions = {}
        action_of = np.fromiter((actions.setdefault(name, len(actions)) for name in names), np.int64, len(names))
        with np.errstate(over="ignore"):
            owner_lanes = _mix(self._table(["action " + a for a in actions])[action_of]
                               ^ (np.asarray(handles, np.uint64)[:, None] * _GOLDEN))
            channel_lanes = self._table([f"channel {path} {index}" for path, index in channels])
            digests = np.asarray(digests, np.uint64)[:, :, None]
            terms = _mix(owner_lanes[:, None, :] ^ channel_lanes[None, :, :] ^ _mix(digests ^ _LANE_SEEDS))
            self.total = self.total + terms.reshape(-1, 2).sum(axis=0, dtype=np.uint64)

    def driven(self) -> dict[tuple[str, int], set[tuple[str, int]]]:
        """The channels some F-curve drives, per (action name, slot handle)."""
        out = {}
        for channels, owners in self.channel_groups().items():
            for owner in owners:
                out.setdefault(owner, set()).update(channels)
        return out

    def channel_groups(self) -> dict[tuple[tuple[str, int], ...], list[tuple[str, int]]]:
        """The same as :meth:`driven`, grouped: channels -> the owners that drive (at least) them."""
        return self._groups

    def hexdigest(self) -> str:
        return self.total.astype("<u8").tobytes().hex()
