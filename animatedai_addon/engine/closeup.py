"""One output cell's dot product, from the plan's own steps: what a close-up on ``closeup=(c, y, x)`` shows.

The step that writes the cell names the window; :func:`plans.read_cells` gives the input cells it reads and
the kernel entry each meets. The products weight × input (padding reads 0) sum, plus the bias where the
operation has one, to the cell's value, which the tests hold against PyTorch to 1e-6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError
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
