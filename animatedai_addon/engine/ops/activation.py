"""ReLU and ReLU6: ``torch.nn.functional.relu`` / ``relu6``, each cell replaced in place.

An elementwise stage has no window and no weights: one step per cell, and the clip changes the tensor where it
stands (a sweep passes over it; see ``engine/inplace.py``): cells whose value changes are replaced, a cell the
activation zeroes turns grey.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..operation import Form, Operation
from ..plans import elementwise_plan, input_values, no_weights
from ..specbase import Elementwise2d
from . import fields, torch_text


class _InTorchWords:
    """What ReLU and ReLU6 say about themselves (ops/torch_text.py): a module without arguments or
    parameters that keeps its input's shape and, as torch's flop counter counts, no multiply-accumulates."""

    torch_name: ClassVar[str] = ""

    def torch_call(self) -> str:
        return f"nn.{self.torch_name}()"

    def output_formula(self) -> list[str]:
        return [torch_text.unchanged_line(self.input_shape)]

    def parameter_count(self) -> int:
        return 0

    def mac_count(self) -> int:
        """0: a comparison per cell, no product (torch's flop counter counts none)."""
        return 0


@dataclass(frozen=True)
class ReLU(_InTorchWords, Elementwise2d):
    """``torch.nn.functional.relu``: max(x, 0)."""

    op: ClassVar[str] = "relu"
    torch_name: ClassVar[str] = "ReLU"

    @property
    def label(self) -> str:
        return "relu"


@dataclass(frozen=True)
class ReLU6(_InTorchWords, Elementwise2d):
    """``torch.nn.functional.relu6``: min(max(x, 0), 6)."""

    op: ClassVar[str] = "relu6"
    torch_name: ClassVar[str] = "ReLU6"

    @property
    def label(self) -> str:
        return "relu6"


def _relu(values, channels):
    return np.maximum(values, 0.0)


def _relu6(values, channels):
    return np.clip(values, 0.0, 6.0)


def plan_activation(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """ReLU / ReLU6: one step per cell, its new value from its own value alone."""
    no_weights(spec, weights)
    function = _relu6 if spec.op == "relu6" else _relu
    return elementwise_plan(spec, input_values(spec, input, seed), function, None, order)


def _shape(get):
    return get("in_channels"), get("height"), get("width")


RELU_FORM = Form(
    "relu", "ReLU", "max(x, 0) on every cell (torch.nn.functional.relu): negative cells become 0",
    fields.SHAPE_2D, build=lambda get: ReLU(*_shape(get)),
    settings=lambda spec: fields.shape_settings(spec) if isinstance(spec, ReLU) else None)

RELU6_FORM = Form(
    "relu6", "ReLU6", "min(max(x, 0), 6) on every cell (torch.nn.functional.relu6)",
    fields.SHAPE_2D, build=lambda get: ReLU6(*_shape(get)),
    settings=lambda spec: fields.shape_settings(spec) if isinstance(spec, ReLU6) else None)

OPERATIONS = (Operation("relu", ReLU, plan_activation), Operation("relu6", ReLU6, plan_activation))
FORMS = (RELU_FORM, RELU6_FORM)
