"""In-place stages: an elementwise operation (ReLU, ReLU6, BatchNorm2d) changes its tensor where it stands.

How it is staged (:func:`sweep_stage`, called by the scheduler for a layout of kind "elementwise"):

* a wire box one channel thick (the *sweep*, role "window") glides along the flow, from the back of the
  tensor (channel 0) to its front, over ``timing.shuffle_frames``: it stands on channel ``c`` at
  ``t0 + (c + 0.5) * shuffle_frames / C``, the frame at which that channel's cells take their new values;
* the stage's output is a new tensor track whose cells stand exactly where the input's do. A cell whose
  value changes is *replaced*: the old cube goes at once and the new one pops in at that frame, in the
  tensor's colour, or dim grey (the padding's hue darkened, opaque) when the operation made it 0: a ReLU's
  negative cells go dark, as if switched off;
* a cell whose value stays is not animated to the eye: its new cube grows inside the old one (ending
  its pop exactly when the old one goes), so the block shows no change there.

A loop cannot bring back cells of the clip's first input once replaced (a cell is shown over one interval),
so ``timing.loop`` is refused when an elementwise stage changes the first input.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import palette
from .errors import SpecError
from .layout import StageLayout
from .tracks import BoxTrack


#: A cell the stage zeroes takes the padding's hue (padding is zeros too), opaque and dimmed by this factor, so it
#: reads as switched off under the studio lights rather than as the white of a new cell.
ZERO_DIM = 0.3


def changed_cells(stage) -> np.ndarray:
    """(C, H, W) bool: the cells whose value the stage changes (the ones the clip replaces visibly)."""
    return stage.grid_output != stage.grid_input


def zeroed_cells(stage) -> np.ndarray:
    """(C, H, W) bool: cells the stage changes to exactly 0 (shown grey)."""
    return changed_cells(stage) & (stage.grid_output == 0)


def change_frames(channels: int, t0: float, frames: float) -> np.ndarray:
    """(C,) the frame at which the sweep stands on each channel: its cells change then."""
    return t0 + (np.arange(channels) + 0.5) * (frames / channels)


def sweep_stage(builder, i: int, stage, layout: StageLayout, view, previous_end: float):
    """Schedule elementwise stage ``i`` on ``view`` (the tensor as it stands); returns (output view, end)."""
    if builder.timing.loop and view.track not in builder.popped:
        raise SpecError("timing.loop", True, f"false for this clip: stage {i} ({stage.spec.label}) changes the "
                        "clip's first tensor in place, and a loop cannot bring its replaced cells back")
    t0 = builder.begin_stage(i, previous_end)
    frames = float(builder.timing.shuffle_frames)
    channels = stage.grid_input.shape[0]
    when = change_frames(channels, t0, frames)
    shape = stage.grid_output.shape
    cells = np.indices(shape, dtype=np.int32).reshape(3, -1).T
    changed = changed_cells(stage).ravel()
    at = when[cells[:, 0]]
    # the old cubes go when the sweep reaches them; the new ones pop in then, or (unchanged cells) finish
    # growing inside the old ones then
    old = view.index[cells[:, 0], cells[:, 1], cells[:, 2]]
    builder.tracks[view.track].disappear[old] = at.astype(np.float32)
    appear = np.where(changed, at, at - builder.timing.pop_frames)
    base = builder.base[view.track][old].copy()         # each cell keeps its colour (a shuffle's families too)
    zero_color = np.r_[np.asarray(builder.look.padding_color, np.float32)[:3] * ZERO_DIM, np.float32(1.0)]
    base[zeroed_cells(stage).ravel()] = zero_color
    name = builder.name(i, "output")
    local = layout.output.local(cells[:, 0], layout.output_rows[cells[:, 1]], layout.output_cols[cells[:, 2]])
    builder.add_track(name, "output", shape, cells, layout.output.origin, local, base, stage.grid_output.ravel(),
                      appear)
    builder.popped.append(name)
    builder.boxes.append(_sweep_box(builder, i, view, channels, t0, frames))
    builder.step_frames.append(when[stage.steps.out[:, 0]].astype(np.float32))
    builder.stage_spans.append((previous_end, t0 + frames))      # as every stage records it (the labels' windows)
    index = np.arange(len(cells)).reshape(shape)
    out_view = dataclasses.replace(view, track=name, index=index, grid=layout.output, rows=layout.output_rows,
                                   cols=layout.output_cols)      # the same channel colours
    return out_view, t0 + frames


def _sweep_box(builder, i: int, view, channels: int, t0: float, frames: float) -> BoxTrack:
    """A box around one channel of the tensor's cells, gliding (LINEAR keys) from half a channel behind
    channel 0 to half a channel past the last, shown while it glides."""
    rows, cols = view.rows, view.cols
    row_mid, col_mid = (rows[0] + rows[-1]) / 2, (cols[0] + cols[-1]) / 2
    centers = view.grid.world(np.array([-0.5, channels - 0.5]), np.full(2, row_mid), np.full(2, col_mid))
    return BoxTrack(
        name=builder.name(i, "sweep"), role="window",
        size=builder._span_size(cols[-1] - cols[0] + 1, 1, rows[-1] - rows[0] + 1),
        key_frames=np.float32([t0, t0 + frames]), key_centers=centers.astype(np.float32),
        appear=float(np.float32(t0)), disappear=float(np.float32(t0 + frames)),
        color=palette.WINDOW_COLOR, interpolation="linear")
