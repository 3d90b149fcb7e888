"""trace(): the receptive field read from the plans equals the cells where autograd finds a non-zero gradient
(all-ones weights, average pooling in place of max), for single ops, chains and graphs."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animatedai_addon.engine import trace
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.planning import GraphPlan, plan
from animatedai_addon.engine.spec import (Add, AvgPool2d, Chain, Concat, Conv1d, Conv2d, Conv3d, ConvTranspose2d,
                                          Flatten, Graph, Linear, MaxPool2d, Node, PixelShuffle, PixelUnshuffle)
from animatedai_addon.engine.trace import tensor_names

from .test_plan_torch import ORACLES, chain_specs, graph_specs

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.needs_torch


def _forward(spec, operands, weights):
    """One stage in torch on batched tensors; max pooling becomes average pooling (its gradient reaches every
    cell of the window, as the window reads them all) and ReLU the identity (its gradient is 0 where the cell
    was negative, yet the output cell still depends on it)."""
    if spec.op in ("relu", "relu6"):
        return operands[0]
    if spec.op == "max_pool2d":
        assert spec.dilation == (1, 1)
        return F.avg_pool2d(operands[0], spec.kernel_size, spec.stride, spec.padding)
    return ORACLES[spec.op](spec, operands if len(operands) == 2 else operands[0], weights)


def autograd_field(the_plan, node, cell) -> dict[str, np.ndarray]:
    """{tensor name: cells with a non-zero gradient of the picked output cell}, all weights one."""
    stages = tensor_names(the_plan)
    first = the_plan.input if isinstance(the_plan, GraphPlan) else stages[0][1].input
    batched = stages[0][1].spec.batch > 1             # the arrays carry N already
    tensors = {"input": torch.tensor(first if batched else first[None], requires_grad=True)}
    for name, stage, inputs in stages:
        weights = stage.weights if stage.weights is None or isinstance(stage.weights, dict) else \
            torch.ones(stage.weights.shape, dtype=torch.float64)            # BatchNorm2d keeps its statistics
        tensors[name] = _forward(stage.spec, tuple(tensors[i] for i in inputs), weights)     # bias: no gradient
        tensors[name].retain_grad()
    picked = stages[-1][0] if node is None else node if isinstance(node, str) else stages[node][0]
    tensors[picked][tuple(cell) if batched else (0,) + tuple(cell)].backward()
    grads = {name: t.grad if t.grad is not None else torch.zeros(t.shape) for name, t in tensors.items()}
    return {name: (g if batched else g[0]).numpy() != 0 for name, g in grads.items()}


def check_trace(spec, node=None, cell=None, seed=0):
    the_plan = plan(spec, seed=seed)
    stages = tensor_names(the_plan)
    picked = stages[-1][1] if node is None else dict((n, p) for n, p, _ in stages)[node] if isinstance(node, str) \
        else stages[node][1]
    if cell is None:
        rng = np.random.default_rng(seed)
        cell = tuple(int(rng.integers(n)) for n in picked.spec.output_torch_shape)
    got, want = trace(the_plan, node, cell), autograd_field(the_plan, node, cell)
    assert set(got) == set(want)
    for name in want:
        assert got[name].shape == want[name].shape, name
        assert np.array_equal(got[name], want[name]), f"{name}: {np.argwhere(got[name] != want[name])[:5]}"
    return got


def residual_graph():
    return Graph((Node("expand", Conv2d(3, 6, 6, 6, 1)), Node("depthwise", Conv2d(6, 6, 6, 6, 3, padding="same",
                                                                                   groups=6)),
                  Node("project", Conv2d(6, 6, 6, 3, 1)), Node("add", Add(3, 6, 6), ("project", "input")),
                  Node("pool", MaxPool2d(3, 6, 6, 2)), Node("cat", Concat(3, 3, 3, 3), ("pool", "pool"))))


@pytest.mark.parametrize("spec", [
    Conv2d(2, 7, 7, 3, 3, stride=2, padding="same", dilation=2),
    Conv2d(4, 5, 5, 4, 3, groups=2, padding=(1, 0, 2, 1)),
    ConvTranspose2d(2, 3, 3, 2, 3, stride=2),
    MaxPool2d(2, 6, 6, 3, stride=2, padding=1),
    AvgPool2d(2, 6, 6, 3, stride=2, padding=1, count_include_pad=False),
    PixelShuffle(8, 2, 3, 2), PixelUnshuffle(2, 4, 4, 2),
    Conv1d(2, 9, 3, 3, padding="causal", dilation=2),
    Conv3d(2, 4, 4, 4, 2, 3, stride=(1, 2, 1), padding=1, bias=True), Conv2d(2, 5, 5, 2, 3, batch=2),
    Linear(6, 3), Flatten(2, 3, 3),
])
def test_single_ops(spec):
    for seed in range(3):
        check_trace(spec, seed=seed)


def test_a_chain_and_a_graph_with_add():
    chain = Chain((Conv2d(2, 8, 8, 3, 3), MaxPool2d(3, 6, 6, 2), Conv2d(3, 3, 3, 2, 2)))
    field = check_trace(chain, cell=(1, 1, 1))
    assert field["input"][:, 2:, 2:].all() and field["input"].sum() == 2 * 6 * 6   # 2x2 pools of 2x2 -> 4x4 -> 6x6
    graph = residual_graph()
    for node, seed in (("add", 0), ("cat", 1), (None, 2), ("depthwise", 3)):
        check_trace(graph, node=node, seed=seed)
    field = check_trace(graph, node="add", cell=(0, 0, 0))
    corner = np.zeros((3, 6, 6), bool)      # 1x1 convs mix all channels; the 3x3 depthwise at the corner: 2x2
    corner[:, :2, :2] = True
    assert np.array_equal(field["input"], corner) and not field["cat"].any() and field["add"].sum() == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                  HealthCheck.too_slow])
@given(spec=st.one_of(chain_specs(), graph_specs()), seed=st.integers(0, 100))
def test_generated_chains_and_graphs(spec, seed):
    check_trace(spec, seed=seed)


def test_bad_node_and_cell_are_named():
    the_plan = plan(residual_graph())
    for node in ("nowhere", 9, True):
        with pytest.raises(SpecError) as caught:
            trace(the_plan, node, (0, 0, 0))
        assert caught.value.parameter == "node"
    for cell in ((0, 0), (3, 0, 0), (0, 0, -1), "a", (0.5, 0, 0)):
        with pytest.raises(SpecError) as caught:
            trace(the_plan, "add", cell)
        assert caught.value.parameter == "cell"
