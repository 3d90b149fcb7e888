"""What the two-input operations (Add, Concat) share: their pair of inputs and their step order."""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..values import make_input


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


def pair_order(cells: np.ndarray, order: str) -> np.ndarray:
    """Output cells (c, y, x) channel by channel ("filter") or position by position, every channel at one
    position before the next ("position")."""
    if order == "filter":
        return cells[np.lexsort((cells[:, 2], cells[:, 1], cells[:, 0]))]
    return cells[np.lexsort((cells[:, 0], cells[:, 2], cells[:, 1]))]
