"""One output cell's dot product, from the plan's own steps: what a close-up on ``closeup=(c, y, x)`` shows.

The step that writes the cell names the window; :func:`plans.read_cells` gives the input cells it reads and
the kernel entry each meets. The products weight × input (padding reads 0) sum, plus the bias where the
operation has one, to the cell's value, which the tests hold against PyTorch to 1e-6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError
from .labels import CHAR_WIDTH, LINE_PITCH, TextTrack, view_basis
from .plans import read_cells
from .specbase import grid_shape


@dataclass
class DotProduct:
    """The sum behind one output cell."""

    stage: int                      # which stage of a chain (0 for one operation)
    cell: tuple[int, ...]           # the output cell, PyTorch's index (c, *spatial)
    step: int                       # the plan's step that writes it
    input_cells: np.ndarray         # (R, 3) the grid cells read (c, row, col); -1 rows/cols for padding
    inputs: np.ndarray              # (R,) their values (0 for padding)
    weights: np.ndarray             # (R,) the kernel entries they meet
    bias: float
    total: float                    # sum(weights * inputs) + bias

    @property
    def products(self) -> np.ndarray:
        return self.weights * self.inputs


def _stage_plan(plan, stage: int):
    stages = list(plan.stages) if hasattr(plan, "stages") else [plan]
    if not isinstance(stage, int) or isinstance(stage, bool) or not -len(stages) <= stage < len(stages):
        raise SpecError("stage", stage, f"a stage index from 0 to {len(stages) - 1} (or -1, the last)")
    return stages[stage], stage % len(stages)


def dot_product(plan, cell, stage: int = -1) -> DotProduct:
    """The products and sum behind output ``cell`` (PyTorch's index (c, *spatial)) of a convolution stage."""
    stage_plan, index = _stage_plan(plan, stage)
    spec = stage_plan.spec
    if not stage_plan.is_windowed or stage_plan.reduce != "sum" or stage_plan.weights is None:
        raise SpecError("closeup", cell, f"a cell of a convolution's output; {spec.label} has no weights to "
                        "multiply")
    shape = tuple(spec.output_shape)
    if not isinstance(cell, (tuple, list)) or len(cell) != len(shape) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) and 0 <= i < n for i, n in zip(cell, shape)):
        raise SpecError("closeup", cell, f"an output cell (c, *spatial) inside the output shape {shape}")
    grid_cell = np.unravel_index(np.ravel_multi_index(tuple(int(i) for i in cell), shape), grid_shape(shape))
    steps = stage_plan.steps
    step = int(np.flatnonzero(np.all(steps.out == np.asarray(grid_cell, np.int32), axis=1))[0])
    reads = read_cells(stage_plan, [step])
    f = int(steps.filter[step])
    weights = stage_plan.filters[f].ravel()[reads.kernel[0]]
    padding = reads.is_padding[0]
    rows, cols, channels = reads.y[0], reads.x[0], reads.channel[0]
    inputs = np.where(padding, 0.0, stage_plan.grid_input[channels, np.maximum(rows, 0), np.maximum(cols, 0)])
    bias_values = getattr(stage_plan, "bias", None)
    bias = float(np.ravel(bias_values)[f]) if bias_values is not None else 0.0
    total = float(np.sum(weights * inputs) + bias)
    return DotProduct(index, tuple(int(i) for i in cell), step,
                      np.stack([channels, rows, cols], axis=1).astype(np.int32), inputs.astype(float),
                      weights.astype(float), bias, total)


# --- the close-up segment ------------------------------------------------------------------

#: Frames of the close-up after the clip's last frame: the camera moves in, holds while the products and then
#: their sum show, and moves back out.
MOVE_FRAMES, HOLD_FRAMES = 24, 72
#: Frames the close-up adds after the clip's last frame (its camera leaves one frame after it).
CLOSEUP_FRAMES = 1 + 2 * MOVE_FRAMES + HOLD_FRAMES
#: Most products a close-up shows (one text each).
MAX_PRODUCTS = 256
#: Product text height, in cube sizes, and the air between the board and the nearest cube, in text sizes.
TEXT_SHARE, BOARD_MARGIN = 0.5, 1.0


@dataclass
class CloseUp:
    """The close-up segment: ``keys`` (4 frames: leave, arrive, leave again, back) of a camera move to the
    board of products centred at ``focus`` (world, relative to the clip's root), ``size`` (across, up) metres;
    the board's texts are ``texts`` (labels.TextTrack)."""

    product: DotProduct
    keys: np.ndarray
    focus: np.ndarray
    size: np.ndarray
    texts: list


def product_text(weight: float, value: float) -> str:
    return f"{weight:.2f}\u00d7{value:.2f}".replace("-", "\u2212")


def _depth_reach(timeline, w: np.ndarray, cube: float) -> float:
    """The greatest depth toward the camera (along ``w``) any cube or box ever reaches."""
    reach = []
    for track in timeline.tensors:
        if len(track):
            origins = np.vstack([np.asarray(track.origin, float)[None],
                                 np.asarray(track.key_locations, float).reshape(-1, 3)]) @ w
            local = np.vstack([np.asarray(track.position, float), np.asarray(track.move_to, float).reshape(-1, 3)])
            reach.append(origins.max() + (local @ w).max() + cube / 2 * np.abs(w).sum())
    for box in timeline.boxes:
        centers = np.asarray(box.key_centers, float).reshape(-1, 3)
        if len(centers):
            reach.append((centers @ w).max() + np.abs(np.asarray(box.size, float) / 2) @ np.abs(w))
    return max(reach)


def closeup_stage(plan, cell) -> int:
    """The stage a close-up on ``cell`` shows: the clip's last convolution (SpecError naming ``closeup`` when the
    clip has none, or ``cell`` is not one of its output cells, or its window reads too many cells to list)."""
    stages = list(plan.stages) if hasattr(plan, "stages") else [plan]
    convolutions = [i for i, s in enumerate(stages) if s.weights is not None and s.reduce == "sum"]
    if not convolutions:
        raise SpecError("closeup", cell, "None: the clip has no convolution whose products to show")
    found = dot_product(plan, cell, convolutions[-1])
    if len(found.inputs) > MAX_PRODUCTS:
        raise SpecError("closeup", cell, f"a cell whose window reads at most {MAX_PRODUCTS} cells (one text "
                        f"each); this one reads {len(found.inputs)}")
    return convolutions[-1]


def parse_cell(text) -> tuple[int, ...]:
    """``"0,2,3"`` (or a sequence of whole numbers) as a cell index, or SpecError naming ``closeup``."""
    parts = text.replace(" ", "").split(",") if isinstance(text, str) else text
    try:
        cell = tuple(int(p) for p in parts) if parts is not None else ()
    except (TypeError, ValueError):
        cell = ()
    if not 1 <= len(cell) <= 4 or any(i < 0 for i in cell) or (not isinstance(text, str) and any(
            isinstance(p, bool) or not isinstance(p, (int, np.integer)) for p in parts)):
        raise SpecError("closeup", text, "an output cell C,Y,X of whole numbers >= 0 (C,X for a Conv1d, C,D,Y,X "
                        "for a Conv3d), e.g. 0,2,3")
    return cell


def plan_closeup(plan, timeline, cell, look, view) -> CloseUp:
    """The close-up on output ``cell`` of the clip's last convolution (:func:`closeup_stage`): after the clip's
    last frame, a board facing the camera (``view``: towards it) in front of every cube, centred on the window's
    input cells, lists each product weight × input (a row per input channel and kernel row) and then their sum
    (plus the bias) = the cell's value."""
    found = dot_product(plan, cell, closeup_stage(plan, cell))
    stage_plan = (list(plan.stages) if hasattr(plan, "stages") else [plan])[found.stage]
    right, up = view_basis(view)
    w = np.asarray(view, float) / np.linalg.norm(view)
    input_name = "input" if found.stage == 0 else f"stage{found.stage - 1} output"
    track = next((t for t in timeline.tensors if t.name == timeline.aliases.get(input_name, input_name)), None)
    read = found.input_cells[found.input_cells[:, 1] >= 0]
    if track is not None and len(read):
        index = {tuple(c): i for i, c in enumerate(track.cells.tolist())}
        rows = [index[tuple(c)] for c in read.tolist() if tuple(c) in index]
        centre = np.asarray(track.origin, float) + np.asarray(track.position, float)[rows].mean(axis=0)
    else:
        centre = np.asarray(timeline.camera_target, float)
    size = TEXT_SHARE * look.cube_size
    kh, kw = stage_plan.kernel_size
    columns = kw
    lines = len(found.inputs) // columns
    texts_w = [product_text(wt, x) for wt, x in zip(found.weights, found.inputs)]
    pitch_across = CHAR_WIDTH * size * (max(len(t) for t in texts_w) + 2)
    pitch_up = LINE_PITCH * size
    depth = _depth_reach(timeline, w, look.cube_size) + BOARD_MARGIN * size
    focus = (depth - centre @ w) * w + centre          # the window's centre, moved to the board's depth
    start = float(timeline.frame_end) + 1.0
    keys = start + np.array([0.0, MOVE_FRAMES, MOVE_FRAMES + HOLD_FRAMES, 2 * MOVE_FRAMES + HOLD_FRAMES])
    shown = np.array([[keys[1], keys[2]]])
    texts = []
    for k, text in enumerate(texts_w):
        row, col = divmod(k, columns)
        place = focus + (col - (columns - 1) / 2) * pitch_across * right + ((lines - 1) / 2 - row) * pitch_up * up
        texts.append(TextTrack(f"closeup product {k}", "closeup", text, place, size, shown=shown.copy(),
                               stage=found.stage))
    bias = f" + {found.bias:.2f}" if found.bias else ""
    total = (f"\u03a3{bias} = {found.total:.4f}  \u2192  output"
             f"[{', '.join(map(str, found.cell))}]").replace("-", "\u2212")
    sum_place = focus - ((lines + 1) / 2 + 0.5) * pitch_up * up
    texts.append(TextTrack("closeup sum", "closeup", total, sum_place, size * 1.2,
                           shown=np.array([[keys[1] + HOLD_FRAMES / 2, keys[2]]]), stage=found.stage))
    board = np.array([columns * pitch_across, (lines + 2.5) * pitch_up])
    return CloseUp(found, keys, focus - 0.75 * pitch_up * up, board, texts)
