"""Concat: two inputs joined along the channels, ``torch.cat((a, b), dim=0)`` of (C, H, W) tensors (dim=1 with
a batch), a two-input stage of a :class:`~animatedai_addon.engine.graph.Graph`.

One step per output cell; its ``src`` channel counts through the first input's channels, then the second's.
On screen (docs/DESIGN.md, "Add and Concat"): copies of both inputs slide together along the channel axis
into the one output block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..operation import Operation
from ..plans import Plan
from ..specbase import Spec2d, check_cells, check_int, grid_shape
from .pair import check_one_sample, pair_plan


@dataclass(frozen=True)
class Concat(Spec2d):
    """The first input (in_channels, height, width) with the second (other_channels, height, width) after it."""

    other_channels: int = 1

    op: ClassVar[str] = "concat"
    #: Inputs the stage takes (a graph node names this many).
    arity: ClassVar[int] = 2

    def __post_init__(self):
        super().__post_init__()
        check_one_sample(self)
        self._set("other_channels", check_int("other_channels", self.other_channels))
        check_int("in_channels + other_channels", self.in_channels + self.other_channels)
        check_cells("other_channels*height*width", self.other_shape)

    @property
    def other_shape(self) -> tuple[int, int, int]:
        return (self.other_channels, self.height, self.width)

    @property
    def other_grid(self) -> tuple[int, int, int]:
        return grid_shape(self.other_shape)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self.in_channels + self.other_channels, self.height, self.width)

    @property
    def label(self) -> str:
        return "concat"

    # In PyTorch's words (engine/ops/torch_text.py): a function, no module; no parameters, no multiplies.
    def torch_call(self) -> str:
        return "torch.cat((x, other), dim=1)"

    def output_formula(self) -> list[str]:
        """The channels add up; height and width are the inputs' (one line per axis, as torch_text's formulas)."""
        return [f"C: {self.in_channels} + {self.other_channels} = {self.in_channels + self.other_channels}",
                f"H: {self.height} = {self.height}", f"W: {self.width} = {self.width}"]

    def parameter_count(self) -> int:
        return 0

    def mac_count(self) -> int:
        return 0


def plan_concat(spec: Concat, input, weights, seed: int, order: str) -> Plan:
    return pair_plan(spec, input, weights, seed, order, "concat")


OPERATIONS = (Operation("concat", Concat, plan_concat),)
FORMS = ()
