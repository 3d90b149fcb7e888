"""What the two-input operations (Add, Concat) share: their pair of inputs and their step order."""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..plans import Plan, assemble_output, cellwise_steps, no_weights
from ..values import check_finite_output, make_input


def check_one_sample(spec) -> None:
    """Two-input stages take one sample: a graph over a batch is not shown yet."""
    if spec.batch != 1:
        raise SpecError("batch", spec.batch, f"1: {spec.op} takes one sample (graphs of batches are not shown yet)")


def input_pair(spec, input, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs in grid form: ``input`` is None (both seeded, the second from ``seed + 1``) or a pair
    (first, second), each an array in PyTorch's layout, a path or None."""
    if input is None:
        input = (None, None)
    if isinstance(input, np.ndarray) or not isinstance(input, (list, tuple)) or len(input) != 2:
        raise SpecError("input", "an array" if isinstance(input, np.ndarray) else input,
                        f"None or a pair (first, second) of inputs of shapes {spec.input_shape} and "
                        f"{spec.other_shape}: {spec.op} takes two")
    first = make_input(spec.input_shape, input[0], seed).reshape(spec.input_grid)
    second = make_input(spec.other_shape, input[1], seed + 1).reshape(spec.other_grid)
    return first, second


def pair_plan(spec, input, weights, seed: int, order: str, reduce: str) -> Plan:
    """Add's or Concat's plan (``reduce`` "add" or "concat"): one step per output cell, the second input kept
    in ``Plan.grid_other``."""
    no_weights(spec, weights)
    first, second = input_pair(spec, input, seed)
    result = Plan(spec=spec, grid_input=first, weights=None, grid_output=np.zeros(0),
                  steps=cellwise_steps(spec.output_grid, order), order=order, reduce=reduce, grid_other=second)
    # two values within float32's range may sum past it
    result.grid_output = check_finite_output(assemble_output(result))
    return result
