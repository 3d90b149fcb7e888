"""Linear: ``torch.nn.functional.linear`` on a vector of features, a dense layer.

A (F,) vector has no spatial axis: on the grid it is (F, 1, 1), one column of cells along the channel axis,
as a flattened tensor is (see ``flatten``). A dense layer is then a 1x1 convolution over it: every output
feature has one filter of ``in_features`` cubes whose window covers the whole input, so each step reads every
input cell, and the output is (out_features, 1, 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..operation import Field, Form, Operation
from ..plans import axis_map, input_values, weight_values, windowed_plan
from ..specbase import Spec, check_bool, check_cells, check_int
from . import fields, torch_text


@dataclass(frozen=True)
class Linear(Spec):
    """``torch.nn.Linear(in_features, out_features, bias=True)`` on one (in_features,) vector."""

    in_features: int
    out_features: int = 8
    bias: bool = True

    op: ClassVar[str] = "linear"
    SHAPE_FIELDS: ClassVar[tuple[str, ...]] = ("in_features",)

    def __post_init__(self):
        super().__post_init__()
        self._set("out_features", check_int("out_features", self.out_features))
        self._set("bias", check_bool("bias", self.bias))
        check_cells("weights", (self.out_features, self.in_features))

    @property
    def output_shape(self) -> tuple[int]:
        return (self.out_features,)

    @property
    def label(self) -> str:
        return f"linear {self.in_features}-{self.out_features}" + ("" if self.bias else " no bias")

    def reads_per_step(self) -> int:
        return self.in_features

    def filter_cubes(self) -> int:
        return self.out_features * (self.in_features + int(self.bias))

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def torch_call(self) -> str:
        """``nn.Linear(16, 8)`` (``bias=False`` written when there is none)."""
        return torch_text.call("Linear", (self.in_features, self.out_features), [("bias", self.bias, True)])

    def output_formula(self) -> list[str]:
        """``features: out_features = 8``: the output's one dim is the layer's argument (PyTorch's
        H_out = out_features)."""
        return [f"features: out_features = {self.out_features}"]

    def parameter_count(self) -> int:
        """The (out_features, in_features) weights, and one bias per output feature when ``bias``."""
        return self.filter_cubes()

    def mac_count(self) -> int:
        """Each output feature sums in_features products (the bias is an add: torch's flop counter leaves it
        out)."""
        return self.out_features * self.in_features


def plan_linear(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """Linear: step f is filter f (row f of the weights) over the whole input; the weights (out, in) are the
    gather kernel (out, in, 1, 1) of a 1x1 window on the (in, 1, 1) grid."""
    values = input_values(spec, input, seed)
    weights = weight_values(weights, (spec.out_features, spec.in_features), seed)
    return windowed_plan(spec, values, weights, weights[:, :, None, None], axis_map(1, 0, 0), axis_map(1, 0, 0),
                         (1, 1), order, "sum")


# --- the panel ---------------------------------------------------------------------

IN_FEATURES = Field("in_features", "count", "In Features", "Input features (a vector of this length)", 16,
                    soft_max=4096)
OUT_FEATURES = Field("out_features", "count", "Out Features", "Output features (one filter each)", 4)


def _settings(spec):
    if not isinstance(spec, Linear):
        return None
    return {"in_features": spec.in_features, "out_features": spec.out_features, "bias": spec.bias}


FORM = Form("linear", "Linear (Dense)", "A dense layer (torch.nn.Linear): every output reads every input",
            (IN_FEATURES, OUT_FEATURES, fields.BIAS),
            build=lambda get: Linear(get("in_features"), get("out_features"), get("bias")),
            settings=_settings)

OPERATIONS = (Operation("linear", Linear, plan_linear),)
FORMS = (FORM,)
