"""Receptive fields: which cells of every tensor one output cell depends on, read from the plans' steps.

:func:`trace` walks the stages backwards from a picked cell: the steps that wrote the cells found so far, and
the cells those steps read (:func:`.plans.read_cells`; padding reads nothing), give the cells one stage
earlier. Nothing is differentiated: tests/engine/test_trace.py checks the result against the cells where
PyTorch's autograd finds a non-zero gradient.
"""

from __future__ import annotations

import numpy as np

from .errors import SpecError
from .graph import GRAPH_INPUT
from .plans import CHUNK_ELEMENTS, ChainPlan, GraphPlan, Plan, read_cells
from .tensors import from_grid, to_grid


def tensor_names(the_plan) -> list[tuple[str, Plan, tuple[str, ...]]]:
    """(name of the stage's output tensor, its plan, names of its input tensors) for every stage in order:
    a graph's node names; ``stage0``, ``stage1``, ... for a chain; ``output`` for a single operation. The
    first input is ``input``."""
    if isinstance(the_plan, GraphPlan):
        return [(node.name, p, node.inputs) for node, p in zip(the_plan.spec.nodes, the_plan.plans)]
    if isinstance(the_plan, ChainPlan):
        return [(f"stage{i}", p, ("input",) if i == 0 else (f"stage{i - 1}",))
                for i, p in enumerate(the_plan.stages)]
    if isinstance(the_plan, Plan):
        return [("output", the_plan, (GRAPH_INPUT,))]
    raise SpecError("plan", the_plan, "a Plan, ChainPlan or GraphPlan made by plan(spec)")


def trace(the_plan, node, cell) -> dict[str, np.ndarray]:
    """The receptive field of output cell ``cell`` of stage ``node``: {tensor name: bool mask in PyTorch's
    layout}, True where that tensor's cell contributes to the picked one (``input``, and every stage's output
    by :func:`tensor_names`; stages after ``node`` contribute nothing).

    ``node``: a node name, a chain's stage index or None (the last stage). ``cell``: an index into that stage's
    output in PyTorch's layout, e.g. (c, y, x), (n, c, y, x) with a batch."""
    stages = tensor_names(the_plan)
    masks = _grid_masks(stages, node, cell)
    first = stages[0][1].spec
    shapes = {GRAPH_INPUT: (first.input_shape, first.batch), **{n: (p.spec.output_shape, p.spec.batch)
                                                               for n, p, _ in stages}}
    return {n: from_grid(mask, *shapes[n]) for n, mask in masks.items()}


def _grid_masks(stages, node, cell) -> dict[str, np.ndarray]:
    """:func:`trace`'s masks in grid form (what the steps index)."""
    index = _stage_index(stages, node)
    name, picked_plan, _ = stages[index]
    masks = {GRAPH_INPUT: np.zeros(stages[0][1].grid_input.shape, bool)}
    masks.update({n: np.zeros(p.grid_output.shape, bool) for n, p, _ in stages})
    spec = picked_plan.spec
    picked = np.zeros(spec.output_torch_shape, bool)
    picked[_check_cell(cell, spec.output_torch_shape)] = True
    masks[name] = to_grid(picked, spec.output_shape, spec.batch)
    for name, stage, inputs in reversed(stages[:index + 1]):
        _read_back(stage, masks[name], [masks[i] for i in inputs])
    return masks


def _stage_index(stages, node) -> int:
    names = [n for n, _, _ in stages]
    if node is None:
        return len(stages) - 1
    if isinstance(node, str) and node in names:
        return names.index(node)
    if not isinstance(node, (bool, str)) and isinstance(node, (int, np.integer)) and 0 <= node < len(stages):
        return int(node)
    raise SpecError("node", node, "None (the last stage), one of " + ", ".join(map(repr, names))
                    + f" or a stage index from 0 to {len(stages) - 1}")


def _check_cell(cell, shape) -> tuple[int, ...]:
    allowed = f"an index, one integer per axis, into the output of PyTorch's shape {shape}"
    if not isinstance(cell, (list, tuple, np.ndarray)) or len(cell) != len(shape):
        raise SpecError("cell", cell, allowed)
    for value, size in zip(cell, shape):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
            raise SpecError("cell", cell, allowed)
    return tuple(int(v) for v in cell)


def _read_back(stage: Plan, wanted: np.ndarray, inputs: list[np.ndarray]) -> None:
    """Mark in ``inputs`` (grid-form masks) the cells read by the steps of ``stage`` that write a cell of
    ``wanted``."""
    steps = stage.steps
    chosen = np.flatnonzero(wanted[steps.out[:, 0], steps.out[:, 1], steps.out[:, 2]])
    per_step = max(1, stage.channels_per_group * int(np.prod(stage.kernel_size))) if stage.is_windowed else 1
    chunk = max(1, CHUNK_ELEMENTS // per_step)
    for first in range(0, len(chosen), chunk):
        reads = read_cells(stage, chosen[first:first + chunk])
        real = ~reads.is_padding
        c, y, x = reads.channel[real], reads.y[real], reads.x[real]
        if stage.reduce == "add":                   # the same cell of both inputs
            for mask in inputs:
                mask[c, y, x] = True
        elif stage.reduce == "concat":              # channels through the first input, then the second
            split = stage.grid_input.shape[0]
            mine = c < split
            inputs[0][c[mine], y[mine], x[mine]] = True
            inputs[1][c[~mine] - split, y[~mine], x[~mine]] = True
        else:
            inputs[0][c, y, x] = True


def tensor_tracks(the_plan) -> dict[str, tuple[str, np.ndarray]]:
    """Which cubes show each tensor of :func:`trace`: {tensor name: (track name, the track's cell index of
    every cell, grid-shaped)}. A stage's output is its own track (``<node> output``, ``stage<i> output`` or
    ``output``, as the timeline names them), except a shuffle's: its cells are its input's cubes, moved."""
    stages = tensor_names(the_plan)
    first = stages[0][1].grid_input.shape
    shown = {GRAPH_INPUT: ("input", np.arange(int(np.prod(first))).reshape(first))}
    for name, stage, inputs in stages:
        shape = stage.grid_output.shape
        if stage.reduce == "move":
            track, before = shown[inputs[0]]
            index = np.empty(shape, np.int64)
            src, out = stage.steps.src, stage.steps.out
            index[out[:, 0], out[:, 1], out[:, 2]] = before[src[:, 0], src[:, 1], src[:, 2]]
            shown[name] = (track, index)
        else:
            track = "output" if isinstance(the_plan, Plan) else f"{name} output"
            shown[name] = (track, np.arange(int(np.prod(shape))).reshape(shape))
    return shown


def traced_cubes(the_plan, node, cell) -> list[tuple[int, str, np.ndarray]]:
    """The receptive field as cubes, stage by stage back from the picked cell: (stages back from ``node``, by
    the longest way, track name, the track's cell indices) for every tensor with a traced cell, nearest first."""
    stages = tensor_names(the_plan)
    field = _grid_masks(stages, node, cell)
    picked = stages[_stage_index(stages, node)][0]
    depth = {picked: 0}
    for name, _, inputs in reversed(stages):
        if name in depth:
            for source in inputs:
                depth[source] = max(depth.get(source, 0), depth[name] + 1)    # the longest way back
    shown = tensor_tracks(the_plan)
    found = []
    for name, d in sorted(depth.items(), key=lambda item: item[1]):
        track, index = shown[name]
        mask = field[name]
        if mask.any():
            found.append((d, track, index[mask]))
    return found
