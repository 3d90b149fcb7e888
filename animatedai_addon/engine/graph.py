"""Stages in sequence: a :class:`Chain` of specs, each stage's output the next one's input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .errors import SpecError
from .specbase import Spec


@dataclass(frozen=True)
class Chain:
    """Stages run one after another; each stage's output shape is the next one's input shape."""

    stages: tuple[Spec, ...]
    name: str = ""

    op: ClassVar[str] = "chain"

    def __post_init__(self):
        stages = self.stages
        if not isinstance(stages, (list, tuple)) or len(stages) < 1:
            raise SpecError("stages", stages, "a non-empty list of specs")
        stages = tuple(stages)
        for i, stage in enumerate(stages):
            if not isinstance(stage, Spec):
                raise SpecError(f"stages[{i}]", stage, "a spec of one operation (Conv2d, ConvTranspose2d, "
                                "PixelShuffle, ...)")
        for i in range(1, len(stages)):
            if stages[i].batch != stages[0].batch:
                raise SpecError(f"stages[{i}].batch", stages[i].batch,
                                f"the batch of stages[0], {stages[0].batch}: every stage takes the same samples")
            made, wanted = stages[i - 1].output_shape, stages[i].input_shape
            if made != wanted:
                raise SpecError(f"stages[{i}]", stages[i].label,
                                f"a stage whose input shape is {made}, the output of stages[{i - 1}] "
                                f"({stages[i - 1].label}); it takes {wanted}")
        if not isinstance(self.name, str):
            raise SpecError("name", self.name, "a string")
        object.__setattr__(self, "stages", stages)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.stages[0].input_shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.stages[-1].output_shape

    @property
    def batch(self) -> int:
        return self.stages[0].batch

    @property
    def input_torch_shape(self) -> tuple[int, ...]:
        return self.stages[0].input_torch_shape

    @property
    def output_torch_shape(self) -> tuple[int, ...]:
        return self.stages[-1].output_torch_shape

    @property
    def label(self) -> str:
        return self.name or " + ".join(s.label for s in self.stages)

    def to_dict(self) -> dict:
        return {"op": self.op, "name": self.name, "stages": [s.to_dict() for s in self.stages]}


AnySpec = Spec | Chain
