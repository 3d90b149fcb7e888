"""Tensors of any rank on the one grid the timeline and the scene use: the fold rule.

A tensor has PyTorch's layout ``(N, C, *spatial)`` with 0 to 3 spatial axes (``N`` is left out when the
batch is 1, as the specs' ``input_shape`` / ``output_shape`` do). The layout, the timeline and the scene work
on one canonical 3-axis *grid* ``(C, H, W)``; every tensor folds onto it by one rule:

* the last spatial axis is W (columns, x), the one before H (rows, z), a missing one has extent 1;
* a depth axis D (the first of three spatial axes) folds along the flow, onto the channel axis:
  grid channel ``d*C + c`` (depth slice ``d`` is a block of C channels, a gap between slices);
* the batch N folds side by side along x: grid column ``n*W + x`` (a gap between samples).

:class:`GridFold` records the fold of one tensor (how many blocks along the channel axis and along x, and which
axes the tensor has); the layout inserts the gaps between blocks and the cells' names show the unfolded index
(``input[c3,y1,x4]``, ``input[n1,c3,d2,y1,x4]``, ``input[c3,x4]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError

#: Spatial axes a tensor may have.
MAX_SPATIAL_AXES = 3
#: Letters of the spatial axes by their count (names show the axes a tensor has).
SPATIAL_LETTERS = {0: "", 1: "x", 2: "yx", 3: "dyx"}


@dataclass(frozen=True)
class GridFold:
    """How one tensor folds onto the grid: ``samples`` blocks side by side along x (the batch), ``depths``
    blocks along the channel axis (depth slices), and ``axes``: the letters of the axes the tensor has, in
    PyTorch's order (``"cyx"`` for (C, H, W), ``"ncdyx"`` for a batch of volumes), used by cell names."""

    samples: int = 1
    depths: int = 1
    axes: str = "cyx"

    def unfold(self, cells: np.ndarray, shape) -> list[tuple[int, ...]]:
        """Each grid cell (c, y, x) of a grid of ``shape`` as its index along ``axes`` (a virtual grid with
        padding unfolds the same way: its blocks are as wide as its samples/slices with their padding)."""
        channels = shape[0] // self.depths
        width = shape[2] // self.samples
        c, y, x = (np.asarray(cells)[:, i].astype(np.int64) for i in range(3))
        by_letter = {"n": x // width, "c": c % channels, "d": c // channels, "y": y, "x": x % width}
        return list(zip(*(by_letter[letter].tolist() for letter in self.axes)))

    def names(self, prefix: str, cells: np.ndarray, shape) -> list[str]:
        """``prefix[c3,y1,x4]`` for each cell, showing the axes the tensor has."""
        template = prefix.replace("{", "{{").replace("}", "}}") + "[" + ",".join(a + "{}" for a in self.axes) + "]"
        return [template.format(*index) for index in self.unfold(cells, shape)]


def fold_of(shape, batch: int = 1) -> GridFold:
    """The fold of a tensor of PyTorch shape (C, *spatial) in a batch of ``batch``."""
    shape = _checked(shape)
    spatial = len(shape) - 1
    return GridFold(samples=batch, depths=shape[1] if spatial == 3 else 1,
                    axes=("n" if batch > 1 else "") + "c" + SPATIAL_LETTERS[spatial])


def grid_shape(shape, batch: int = 1) -> tuple[int, int, int]:
    """The grid (C, H, W) of a tensor of PyTorch shape (C, *spatial) in a batch of ``batch``:
    (D*C, H, N*W), missing axes 1."""
    shape = _checked(shape)
    c, d, h, w = (shape[0],) + (1,) * (MAX_SPATIAL_AXES + 1 - len(shape)) + shape[1:]
    return (d * c, h, batch * w)


def to_grid(values: np.ndarray, shape, batch: int = 1) -> np.ndarray:
    """A tensor of PyTorch shape (N, C, *spatial) (N left out when ``batch`` is 1) in grid form."""
    c, d, h, w = _cdhw(shape)
    folded = np.asarray(values).reshape(batch, c, d, h, w).transpose(2, 1, 3, 0, 4)   # (d, c, h, n, w)
    return np.ascontiguousarray(folded).reshape(grid_shape(shape, batch))


def from_grid(grid: np.ndarray, shape, batch: int = 1) -> np.ndarray:
    """The grid form back in PyTorch's layout: (C, *spatial), or (N, C, *spatial) when ``batch`` > 1.
    A view when the tensor has no batch and no depth (the usual case), else a copy."""
    shape = _checked(shape)
    c, d, h, w = _cdhw(shape)
    if batch == 1 and d == 1:
        return grid.reshape(shape)
    unfolded = grid.reshape(d, c, h, batch, w).transpose(3, 1, 0, 2, 4)               # (n, c, d, h, w)
    full = ((batch,) if batch > 1 else ()) + shape
    return np.ascontiguousarray(unfolded).reshape(full)


def torch_shape(shape, batch: int = 1) -> tuple[int, ...]:
    """PyTorch's shape of the tensor: (C, *spatial), with a leading N when ``batch`` > 1."""
    return ((batch,) if batch > 1 else ()) + _checked(shape)


def _cdhw(shape) -> tuple[int, int, int, int]:
    shape = _checked(shape)
    return (shape[0],) + (1,) * (MAX_SPATIAL_AXES + 1 - len(shape)) + shape[1:]


def _checked(shape) -> tuple[int, ...]:
    shape = tuple(int(n) for n in shape)
    if not 1 <= len(shape) <= MAX_SPATIAL_AXES + 1:
        raise SpecError("shape", shape, f"(C, *spatial) with 0 to {MAX_SPATIAL_AXES} spatial axes")
    return shape
