"""Stages in sequence (a :class:`Chain`, each stage's output the next one's input) and as a DAG (a
:class:`Graph` of named nodes, each taking the outputs of earlier ones)."""

from __future__ import annotations

import re

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

    def to_graph(self) -> "Graph":
        """The chain as a graph: nodes ``stage0``, ``stage1``, ..., each taking the one before."""
        return Graph(tuple(Node(f"stage{i}", stage) for i, stage in enumerate(self.stages)), name=self.name)


#: The name by which a graph's nodes take the graph's input.
GRAPH_INPUT = "input"
_NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def arity(spec) -> int:
    """How many inputs a stage takes: 2 for Add and Concat (their class says so), else 1."""
    return getattr(spec, "arity", 1)


def operand_shapes(spec) -> tuple[tuple[int, ...], ...]:
    """PyTorch's shapes of a stage's inputs, in order."""
    return (spec.input_shape, spec.other_shape) if arity(spec) == 2 else (spec.input_shape,)


@dataclass(frozen=True)
class Node:
    """One stage of a :class:`Graph`: its ``name``, its ``spec`` and the ``inputs`` it takes (names of earlier
    nodes or ``"input"``, the graph's input); empty: the node before it (the graph's input for the first)."""

    name: str
    spec: Spec
    inputs: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "inputs": list(self.inputs), **self.spec.to_dict()}


@dataclass(frozen=True)
class Graph:
    """Stages as a DAG: each node takes the outputs of earlier nodes (or the graph's input); the last node's
    output is the graph's. A :class:`Chain` is the linear case (:meth:`Chain.to_graph`)."""

    nodes: tuple[Node, ...]
    name: str = ""

    op: ClassVar[str] = "graph"

    def __post_init__(self):
        nodes = self.nodes
        if not isinstance(nodes, (list, tuple)) or len(nodes) < 1:
            raise SpecError("nodes", nodes, "a non-empty list of Node(name, spec, inputs)")
        if not isinstance(self.name, str):
            raise SpecError("name", self.name, "a string")
        shapes = {}                     # name -> output shape of what is known so far
        checked = []
        for i, node in enumerate(nodes):
            node = self._check_node(i, node, shapes, checked)
            shapes[node.name] = node.spec.output_shape
            checked.append(node)
        object.__setattr__(self, "nodes", tuple(checked))

    def _check_node(self, i: int, node, shapes: dict, earlier: list) -> Node:
        where = f"nodes[{i}]"
        if not isinstance(node, Node):
            raise SpecError(where, node, "a Node(name, spec, inputs)")
        if not isinstance(node.name, str) or not _NODE_NAME.match(node.name) or node.name == GRAPH_INPUT:
            raise SpecError(f"{where}.name", node.name, f"a name of letters, digits and _ (not starting with a "
                            f"digit), other than {GRAPH_INPUT!r}")
        if node.name in shapes:
            raise SpecError(f"{where}.name", node.name, "a name no other node has")
        if not isinstance(node.spec, Spec):
            raise SpecError(f"{where}.spec", node.spec, "a spec of one operation (Conv2d, Add, Concat, ...)")
        inputs = node.inputs
        if isinstance(inputs, str):
            inputs = (inputs,)
        if not isinstance(inputs, (list, tuple)) or not all(isinstance(n, str) for n in inputs):
            raise SpecError(f"{node.name}.inputs", inputs, "a list of node names")
        wanted = operand_shapes(node.spec)
        if not inputs and len(wanted) == 1:
            inputs = (earlier[-1].name,) if earlier else (GRAPH_INPUT,)
        inputs = tuple(inputs)
        if len(inputs) != len(wanted):
            raise SpecError(f"{node.name}.inputs", list(inputs),
                            f"{len(wanted)} name(s): {node.spec.op} takes {len(wanted)} input(s)")
        later = {n.name for n in self.nodes[i:] if isinstance(n, Node)}
        for k, (source, shape) in enumerate(zip(inputs, wanted)):
            if source == GRAPH_INPUT:
                made = shapes.setdefault(GRAPH_INPUT, shape)
            elif source in shapes:
                made = shapes[source]
            elif source in later:
                raise SpecError(f"{node.name}.inputs", source, "a node listed before it (nodes run in the "
                                "order listed: taking a later one would make a cycle)")
            else:
                raise SpecError(f"{node.name}.inputs", source, "one of " + ", ".join(
                    repr(n) for n in [GRAPH_INPUT] + [e.name for e in earlier]))
            if made != shape:
                what = "the graph's input" if source == GRAPH_INPUT else f"the output of {source!r}"
                raise SpecError(f"{node.name}.inputs[{k}]", source,
                                f"an input of shape {shape}; {what} has shape {made}")
        return Node(node.name, node.spec, inputs)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes)

    @property
    def stages(self) -> tuple[Spec, ...]:
        """The nodes' specs in the order they run."""
        return tuple(node.spec for node in self.nodes)

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise SpecError("node", name, "one of " + ", ".join(self.names))

    @property
    def input_shape(self) -> tuple[int, ...]:
        for node in self.nodes:
            for source, shape in zip(node.inputs, operand_shapes(node.spec)):
                if source == GRAPH_INPUT:
                    return shape
        raise SpecError("nodes", self.names, f"at least one node taking {GRAPH_INPUT!r}")

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.nodes[-1].spec.output_shape

    @property
    def batch(self) -> int:
        return self.nodes[0].spec.batch

    @property
    def input_torch_shape(self) -> tuple[int, ...]:
        """PyTorch's shape of the graph's input (a leading N when the batch is > 1)."""
        for node in self.nodes:
            if GRAPH_INPUT in node.inputs:
                return node.spec.input_torch_shape if node.inputs[0] == GRAPH_INPUT else node.spec.other_shape
        return self.input_shape

    @property
    def output_torch_shape(self) -> tuple[int, ...]:
        return self.nodes[-1].spec.output_torch_shape

    @property
    def label(self) -> str:
        return self.name or " + ".join(node.spec.label for node in self.nodes)

    def to_dict(self) -> dict:
        return {"op": self.op, "name": self.name, "nodes": [node.to_dict() for node in self.nodes]}


AnySpec = Spec | Chain | Graph
