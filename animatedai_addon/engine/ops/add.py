"""Add: the residual connection, ``a + b`` of two inputs of one shape (``torch.add``), a two-input stage of a
:class:`~animatedai_addon.engine.graph.Graph`.

One step per output cell, reading the same cell of both inputs. On screen (docs/DESIGN.md, "Add and Concat"):
a copy of the second input (the skip) flies to stand in front of the first, then the sum cells pop in white,
one after another, and take their colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..operation import Operation
from ..plans import Plan
from ..specbase import Spec2d, grid_shape
from .pair import check_one_sample, pair_plan


@dataclass(frozen=True)
class Add(Spec2d):
    """``a + b`` for inputs ``a`` and ``b`` both of shape (in_channels, height, width)."""

    op: ClassVar[str] = "add"
    #: Inputs the stage takes (a graph node names this many).
    arity: ClassVar[int] = 2

    def __post_init__(self):
        super().__post_init__()
        check_one_sample(self)

    @property
    def other_shape(self) -> tuple[int, int, int]:
        """The second input's shape (PyTorch's layout): the first one's."""
        return self.input_shape

    @property
    def other_grid(self) -> tuple[int, int, int]:
        return grid_shape(self.other_shape)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.input_shape

    @property
    def label(self) -> str:
        return "add"

    # In PyTorch's words (engine/ops/torch_text.py): a function, no module; no parameters, no multiplies.
    def torch_call(self) -> str:
        return "torch.add(x, skip)"

    def output_formula(self) -> list[str]:
        """Every axis as the inputs have it (one line per axis, as torch_text's formulas)."""
        return [f"{axis}: {n} = {n}" for axis, n in zip(("C", "H", "W"), self.input_shape)]

    def parameter_count(self) -> int:
        return 0

    def mac_count(self) -> int:
        return 0

    def reads_per_step(self) -> int:
        """A sum reads one cell of each input."""
        return 2

    def filter_cubes(self) -> int:
        """No filters; the clip shows a copy of the second input beside the first (its flying skip)."""
        return self.in_channels * self.height * self.width


def plan_add(spec: Add, input, weights, seed: int, order: str) -> Plan:
    return pair_plan(spec, input, weights, seed, order, "add")


OPERATIONS = (Operation("add", Add, plan_add),)
FORMS = ()
