"""Flatten: ``torch.flatten(x, start_dim, end_dim)`` on one (C, H, W) tensor; the cells move, nothing is computed.

PyTorch's order: cell (c, y, x) of the input has flat index ``(c*H + y)*W + x`` and keeps it, so flattening
everything gives a (C*H*W,) vector: on the grid (C*H*W, 1, 1), one long column along the channel axis with
channel 0's rows first, the input a Linear reads. Like a pixel shuffle, every cell travels to its new place
at once; each input channel keeps its own colour so the column shows where the channels went.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import SpecError
from ..operation import Field, Form, Operation
from ..plans import grid_cells, input_values, no_weights, shuffle_plan
from ..specbase import Spec2d, check_int
from . import fields, torch_text

#: The dims of a (C, H, W) input, as PyTorch numbers them (negative counts from the end).
DIMS = 3
#: Their names in the output-size formula.
DIM_NAMES = ("C", "H", "W")


def check_dim(name: str, value) -> int:
    """A dim of the (C, H, W) input, -3..2, returned as 0..2."""
    try:
        dim = check_int(name, value, -DIMS, DIMS - 1)
    except SpecError:
        raise SpecError(name, value, f"a dim of the (C, H, W) input: an integer from {-DIMS} to {DIMS - 1}") \
            from None
    return dim % DIMS


@dataclass(frozen=True)
class Flatten(Spec2d):
    """``torch.flatten(x, start_dim, end_dim)`` of a (C, H, W) tensor (``nn.Flatten`` without its batch axis):
    dims ``start_dim`` to ``end_dim`` become one. The default flattens everything: (C*H*W,)."""

    start_dim: int = 0
    end_dim: int = -1

    op: ClassVar[str] = "flatten"
    moves_cells: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        start, end = check_dim("start_dim", self.start_dim), check_dim("end_dim", self.end_dim)
        if start > end:
            raise SpecError("end_dim", self.end_dim, f"a dim at or after start_dim={self.start_dim} "
                            f"(of the (C, H, W) input: {start} to {DIMS - 1}, or {start - DIMS} to -1)")
        self._set("start_dim", start)
        self._set("end_dim", end)

    @property
    def output_shape(self) -> tuple[int, ...]:
        shape = self.input_shape
        start, end = self.start_dim, self.end_dim
        return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]

    @property
    def label(self) -> str:
        dims = "" if (self.start_dim, self.end_dim) == (0, DIMS - 1) else f" {self.start_dim}-{self.end_dim}"
        return "flatten" + dims

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def torch_call(self) -> str:
        """``nn.Flatten()``: the module's dims count the batch (dim 0), so the spec's dims are one more there;
        its defaults (start_dim=1, end_dim=-1) flatten one sample whole."""
        end = -1 if self.end_dim == DIMS - 1 else self.end_dim + 1
        return torch_text.call("Flatten", (), [("start_dim", self.start_dim + 1, 1), ("end_dim", end, -1)])

    def output_formula(self) -> list[str]:
        """``C·H·W: 3·8·8 = 192``: the flattened dims' product (a dim flattened alone: its shape unchanged)."""
        start, end = self.start_dim, self.end_dim
        if start == end:
            return [torch_text.unchanged_line(self.input_shape)]
        dims = range(start, end + 1)
        names = torch_text.DOT.join(DIM_NAMES[d] for d in dims)
        product = torch_text.DOT.join(str(self.input_shape[d]) for d in dims)
        return [f"{names}: {product} = {self.output_shape[start]}"]

    def parameter_count(self) -> int:
        return 0

    def mac_count(self) -> int:
        """0: the cells move, nothing is computed."""
        return 0

    def channel_families(self, channels):
        """Each input channel is a family of one shade, counted from the last (nearest the camera) as the
        shuffles count them: a flattened column shows which channel each run of cells came from."""
        return self.in_channels, 1, self.in_channels - 1 - channels, np.zeros_like(channels)


def plan_flatten(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """Flatten: the input cell with flat index k (PyTorch's C order) lands on the output cell with flat index k."""
    no_weights(spec, weights)
    values = input_values(spec, input, seed)
    src = grid_cells(spec.input_grid)
    flat = np.ravel_multi_index(tuple(src.T), spec.input_grid)
    out = np.stack(np.unravel_index(flat, spec.output_grid), axis=1).astype(np.int32)
    return shuffle_plan(spec, values, out, src, order)


# --- the panel ---------------------------------------------------------------------

START_DIM = Field("start_dim", "int", "Start Dim", "First dim of (C, H, W) to flatten: 0 = C, 1 = H, 2 = W", 0,
                  soft_max=2)
END_DIM = Field("end_dim", "int", "End Dim", "Last dim of (C, H, W) to flatten: 0 = C, 1 = H, 2 = W", 2,
                soft_max=2)


def _settings(spec):
    if not isinstance(spec, Flatten):
        return None
    return {**fields.shape_settings(spec), "start_dim": spec.start_dim, "end_dim": spec.end_dim}


FORM = Form("flatten", "Flatten", "(C, H, W) -> (C*H*W,) in PyTorch's order (torch.flatten), or some dims only",
            fields.SHAPE_2D + (START_DIM, END_DIM),
            build=lambda get: Flatten(get("in_channels"), get("height"), get("width"), get("start_dim"),
                                      get("end_dim")),
            settings=_settings)

OPERATIONS = (Operation("flatten", Flatten, plan_flatten),)
FORMS = (FORM,)
