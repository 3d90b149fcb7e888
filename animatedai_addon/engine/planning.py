"""Plans: the numbers and the order of work for a spec.

A :class:`Plan` holds the tensors in PyTorch layouts and the step sequence as
numpy arrays. Its ``output`` is assembled *from the steps* (see
:func:`assemble_output`), so checking it against PyTorch checks the steps.

Windowed operations (convolutions, transposed convolutions, pooling) slide a
window over a *virtual input grid*: the input with its padding around it, and
for a transposed convolution also with ``stride - 1`` zeros inserted between
cells. ``virtual_rows[vy]`` / ``virtual_cols[vx]`` say which input row/column a
virtual row/column shows, ``-1`` where it is padding (or an inserted zero).
Every windowed op is then a gather: output cell ``(f, oy, ox)`` reads the virtual
cells ``(c, window_y + ky*dh, window_x + kx*dw)`` for the channels ``c`` of the
step's group and every kernel offset ``(ky, kx)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ORDERS = ("filter", "position")


@dataclass
class Steps:
    """One row per step, in the order they are animated (all int32 arrays of length S)."""

    filter: np.ndarray   # (S,): output channel computed; -1 for shuffles
    out: np.ndarray      # (S, 3): output cell (c, y, x) the step writes
    window: np.ndarray   # (S, 2): top-left (vy, vx) of the window on the virtual grid; -1 for shuffles
    src: np.ndarray      # (S, 3): input cell (c, y, x) that moves to ``out`` (shuffles); -1 otherwise

    def __len__(self) -> int:
        return len(self.filter)


@dataclass
class Reads:
    """The input cells a batch of steps reads: arrays of shape (n, R), R = channels_per_group*kh*kw."""

    channel: np.ndarray  # input channel c
    vy: np.ndarray       # virtual row
    vx: np.ndarray       # virtual column
    y: np.ndarray        # input row, -1 where the virtual cell is padding
    x: np.ndarray        # input column, -1 where the virtual cell is padding
    is_padding: np.ndarray  # bool
    kernel: np.ndarray   # (ci_local, ky, kx) flattened: index into filters[f].ravel()


@dataclass
class Plan:
    spec: object
    input: np.ndarray                 # (C, H, W) float64
    weights: np.ndarray | None        # PyTorch layout of the op; None for shuffles and pooling
    output: np.ndarray                # assembled from the steps
    steps: Steps
    order: str = "filter"
    # windowed ops only (None / () otherwise):
    filters: np.ndarray | None = None           # (C_out, C_in/groups, kh, kw): the kernel each step gathers with
    virtual_rows: np.ndarray | None = None      # (VH,) int32
    virtual_cols: np.ndarray | None = None      # (VW,) int32
    kernel_size: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    channels_per_group: int = 0                 # input channels each step reads
    reduce: str = "sum"                         # "sum" (conv), "max", "mean" (pooling), "move" (shuffles)

    @property
    def is_windowed(self) -> bool:
        return self.virtual_rows is not None

    @property
    def virtual_shape(self) -> tuple[int, int, int]:
        return (self.input.shape[0], len(self.virtual_rows), len(self.virtual_cols))


@dataclass
class ChainPlan:
    spec: object
    stages: list[Plan] = field(default_factory=list)

    @property
    def input(self) -> np.ndarray:
        return self.stages[0].input

    @property
    def output(self) -> np.ndarray:
        return self.stages[-1].output
