"""Specs: what an animation shows. The one place to import spec classes and build specs from dicts.

Each operation's spec class lives in its module under ``engine/ops/`` (see
:mod:`.registry`); the shared checks and base classes in :mod:`.specbase`;
stages in sequence in :mod:`.graph`. This module gathers them and reads specs
from plain values (TOML presets, the panel, the CLI).
"""

from __future__ import annotations

import dataclasses

from . import registry
from .errors import SpecError
from .graph import GRAPH_INPUT, AnySpec, Chain, Graph, Node
from .ops.activation import ReLU, ReLU6
from .ops.add import Add
from .ops.batch_norm import BatchNorm2d
from .ops.concat import Concat
from .ops.conv1d import Conv1d
from .ops.conv3d import Conv3d
from .ops.conv2d import Conv2d, depthwise, depthwise_separable, mobilenet_block, pointwise
from .ops.conv_transpose2d import ConvTranspose2d
from .ops.flatten import Flatten
from .ops.linear import Linear
from .ops.pixel_shuffle import PixelShuffle, PixelUnshuffle, espcn, shuffle_loop
from .ops.pool2d import AvgPool2d, MaxPool2d
from .specbase import MAX_CELLS, MAX_EXTENT, PADDING_WORDS, Spec, Spec1d, Spec2d, Spec3d, grid_shape

#: Spec class by operation name (the registry's).
OPS: dict[str, type[Spec]] = {name: op.spec_class for name, op in registry.OPERATIONS.items()}

__all__ = ["Spec", "Spec1d", "Spec2d", "Spec3d", "Chain", "Graph", "Node", "AnySpec", "OPS", "Conv1d", "Conv2d",
           "Conv3d", "ConvTranspose2d", "PixelShuffle", "PixelUnshuffle", "MaxPool2d", "AvgPool2d", "Flatten", "Linear",
           "ReLU", "ReLU6", "BatchNorm2d", "Add", "Concat", "depthwise", "pointwise", "depthwise_separable",
           "mobilenet_block", "espcn", "shuffle_loop", "spec_from_dict", "grid_shape",
           "MAX_CELLS", "MAX_EXTENT", "PADDING_WORDS"]


def _op_names() -> str:
    return "one of " + ", ".join(sorted(list(OPS) + [Chain.op, Graph.op]))


def spec_from_dict(data: dict) -> AnySpec:
    """Build a spec from plain values; ``op`` picks the class. Unknown keys are errors."""
    if not isinstance(data, dict):
        raise SpecError("spec", data, "a table/dict with an 'op' key")
    for key in data:
        if not isinstance(key, str):
            raise SpecError(repr(key), data[key], "parameter names are strings")
    op = data.get("op")
    if not isinstance(op, str):
        raise SpecError("op", op, _op_names())
    if op == Chain.op:
        return _chain_from_dict(data)
    if op == Graph.op:
        return _graph_from_dict(data)
    cls = OPS.get(op)
    if cls is None:
        raise SpecError("op", op, _op_names())
    names = [f.name for f in dataclasses.fields(cls)]
    args = {k: v for k, v in data.items() if k != "op"}
    for key in args:
        if key not in names:
            raise SpecError(key, args[key], f"a parameter of {op}: " + ", ".join(names))
    for key in cls.SHAPE_FIELDS:
        if key not in args:
            raise SpecError(key, None, f"required for {op}")
    try:
        return cls(**args)
    except TypeError as exc:  # e.g. unhashable garbage reaching a comparison
        raise SpecError(op, data, f"parameters of {op}: " + ", ".join(names), str(exc)) from None


def _chain_from_dict(data: dict) -> Chain:
    extra = set(data) - {"op", "stages", "name"}
    if extra:
        raise SpecError(sorted(extra)[0], data[sorted(extra)[0]], "one of the chain keys: op, name, stages")
    stages = data.get("stages")
    if not isinstance(stages, (list, tuple)) or not stages:
        raise SpecError("stages", stages, "a non-empty list of stage tables")
    built = []
    for i, stage in enumerate(stages):
        if isinstance(stage, dict) and stage.get("op") in (Chain.op, Graph.op):
            raise SpecError(f"stages[{i}].op", "chain", "a single operation (chains do not nest)")
        built.append(spec_from_dict(stage))
    return Chain(tuple(built), name=data.get("name", ""))


def _graph_from_dict(data: dict) -> Graph:
    """``{"op": "graph", "name": ..., "nodes": [{"name": ..., "inputs": [...], "op": ..., ...}, ...]}``; a node
    without ``inputs`` takes the node before it (the graph's input for the first)."""
    extra = set(data) - {"op", "nodes", "name"}
    if extra:
        raise SpecError(sorted(extra)[0], data[sorted(extra)[0]], "one of the graph keys: op, name, nodes")
    tables = data.get("nodes")
    if not isinstance(tables, (list, tuple)) or not tables:
        raise SpecError("nodes", tables, "a non-empty list of node tables (name, inputs, op and its parameters)")
    nodes = []
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            raise SpecError(f"nodes[{i}]", table, "a table with name, inputs, op and the op's parameters")
        if table.get("op") in (Chain.op, Graph.op):
            raise SpecError(f"nodes[{i}].op", table.get("op"), "a single operation (graphs do not nest)")
        if "name" not in table:
            raise SpecError(f"nodes[{i}].name", None, "required: the node's name")
        spec = {k: v for k, v in table.items() if k not in ("name", "inputs")}
        nodes.append(Node(table["name"], spec_from_dict(spec), table.get("inputs", ())))
    return Graph(tuple(nodes), name=data.get("name", ""))
