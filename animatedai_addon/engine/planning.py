"""``plan()``: the numbers and the order of work for any spec, from the operation's own planner.

The shared machinery (Plan, Steps, the virtual grid, reading and assembling) is in :mod:`.plans`; each
operation's planner is in its module under ``engine/ops/`` and found through :mod:`.registry`.
"""

from __future__ import annotations

import numpy as np

from . import registry
from .errors import SpecError
from .graph import GRAPH_INPUT, Chain, Graph, arity
from .plans import CHUNK_ELEMENTS, ChainPlan, GraphPlan, Plan, Reads, Steps, assemble_output, read_cells, with_bias
from .specbase import Spec
from .values import check_seed, make_input

ORDERS = ("filter", "position")

__all__ = ["ORDERS", "Plan", "ChainPlan", "GraphPlan", "Steps", "Reads", "plan", "plan_chain", "plan_graph",
           "read_cells", "assemble_output", "CHUNK_ELEMENTS"]


def plan(spec, input=None, weights=None, seed: int = 0, order: str = "filter", bias=None) -> Plan | ChainPlan:
    """The numbers and the step order for ``spec``; ``Plan.output`` is assembled from the steps.

    ``input``: None (seeded random), an array in PyTorch's layout (C, *spatial) or a path to a ``.npy`` or image
    file. ``weights``: None (seeded standard normal) or an array in PyTorch's layout for the op
    (conv2d: (C_out, C_in/groups, kh, kw); conv_transpose2d: (C_in, C_out/groups, kh, kw); conv1d:
    (C_out, C_in/groups, k); linear: (out_features, in_features)); for conv2d also a named 3x3 kernel ("sobel_x",
    ...: engine/kernels.py); for batch_norm2d a dict of arrays by PyTorch's names (running_mean, running_var,
    weight, bias); for a chain, None or one entry (None or an array) per stage. ``bias``: for a spec made with
    ``bias=True``, None (seeded standard normal) or an array (C_out,); for a chain, None or one entry per stage,
    as ``weights``.
    """
    if not isinstance(order, str) or order not in ORDERS:
        raise SpecError("order", order, "one of " + ", ".join(repr(o) for o in ORDERS))
    seed = check_seed(seed)
    if isinstance(spec, Chain):
        return plan_chain(spec, input, weights, seed, order, bias)
    if isinstance(spec, Graph):
        return plan_graph(spec, input, weights, seed, order, bias)
    if not isinstance(spec, Spec):
        raise SpecError("spec", spec, "a spec of one operation (" + ", ".join(
            op.spec_class.__name__ for op in registry.OPERATIONS.values()) + "), a Chain or a Graph")
    return with_bias(registry.operation(spec.op).planner(spec, input, weights, seed, order), bias, seed)


def _per_stage(name: str, given, count: int) -> list:
    if given is None:
        return [None] * count
    if isinstance(given, np.ndarray) or not isinstance(given, (list, tuple)) or len(given) != count:
        raise SpecError(name, "an array" if isinstance(given, np.ndarray) else given,
                        f"None or a list of {count} entries (None or an array), one per stage")
    return list(given)


def plan_chain(spec, input=None, weights=None, seed: int = 0, order: str = "filter", bias=None) -> ChainPlan:
    """Stage i takes stage i-1's output as input; its weights and bias (if given None) are seeded with seed + i."""
    count = len(spec.stages)
    weights = _per_stage("weights", weights, count)
    biases = _per_stage("bias", bias, count)
    stages = []
    values = input
    for i, (stage, stage_weights, stage_bias) in enumerate(zip(spec.stages, weights, biases)):
        stage_plan = plan(stage, values, stage_weights, seed + i, order, stage_bias)
        stages.append(stage_plan)
        values = stage_plan.output
    return ChainPlan(spec=spec, stages=stages)


def plan_graph(spec: Graph, input=None, weights=None, seed: int = 0, order: str = "filter", bias=None) -> GraphPlan:
    """Node i takes the outputs of the nodes it names (or the graph's input, seeded with ``seed`` when None);
    its weights and bias, when given None, are seeded with seed + i. ``weights`` / ``bias``: None, a list with
    one entry (None or an array) per node, or a dict {node name: array}."""
    weights, biases = _per_node("weights", spec, weights), _per_node("bias", spec, bias)
    outputs = {GRAPH_INPUT: make_input(spec.input_torch_shape, input, seed)}
    plans = []
    for i, node in enumerate(spec.nodes):
        operands = tuple(outputs[name] for name in node.inputs)
        node_plan = plan(node.spec, operands[0] if arity(node.spec) == 1 else operands, weights[i], seed + i, order,
                         biases[i])
        plans.append(node_plan)
        outputs[node.name] = node_plan.output
    return GraphPlan(spec=spec, plans=plans)


def _per_node(name: str, spec: Graph, given) -> list:
    count = len(spec.nodes)
    allowed = (f"None, a list of {count} entries (None or an array), one per node, or a dict "
               f"{{node name: array}} with names among " + ", ".join(spec.names))
    if given is None:
        return [None] * count
    if isinstance(given, dict):
        unknown = [key for key in given if key not in spec.names]
        if unknown:
            raise SpecError(name, unknown[0], allowed)
        return [given.get(node) for node in spec.names]
    if isinstance(given, np.ndarray) or not isinstance(given, (list, tuple)) or len(given) != count:
        raise SpecError(name, "an array" if isinstance(given, np.ndarray) else given, allowed)
    return list(given)
