"""Plans against PyTorch: the output assembled from the steps equals torch.nn.functional's, float64."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from animatedai_addon.engine import registry
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.planning import ChainPlan, GraphPlan, Plan, plan, read_cells
from animatedai_addon.engine.spec import (Add, AvgPool2d, BatchNorm2d, Chain, Concat, Conv1d, Conv2d, Conv3d,
                                          ConvTranspose2d, Flatten, Graph, Linear, MaxPool2d, Node, PixelShuffle,
                                          PixelUnshuffle, ReLU, ReLU6)

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.needs_torch

SWEEP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _conv2d(spec, x, w, bias=None):
    t, b, l, r = spec.pads
    return F.conv2d(F.pad(x, (l, r, t, b)), w, bias, stride=spec.stride, dilation=spec.dilation, groups=spec.groups)


def _conv1d_padding(spec):
    """Conv1d's padding as PyTorch's own argument where it has one, else explicit (left, right) from an
    independent rule: 'causal' = dilation*(k-1) on the left; TensorFlow's 'same' for stride > 1."""
    p, k, s, d, n = spec.padding, spec.kernel_size, spec.stride, spec.dilation, spec.length
    if p == "valid" or (p == "same" and s == 1):
        return p, (0, 0)
    if p == "same":
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        return 0, (total // 2, total - total // 2)
    if p == "full":
        return d * (k - 1), (0, 0)
    if p == "causal":
        return 0, (d * (k - 1), 0)
    return 0, tuple(p)


def _conv1d(spec, x, w, bias=None):
    padding, (left, right) = _conv1d_padding(spec)
    return F.conv1d(F.pad(x, (left, right)), w, bias, stride=spec.stride, padding=padding, dilation=spec.dilation,
                    groups=spec.groups)


def _conv3d(spec, x, w, bias=None):
    """Torch's own padding argument for ints and stride-1 words; else explicit sides by TensorFlow's rule."""
    p, sizes = spec.padding, spec.input_shape[1:]
    if p in ("valid", "same") and (p == "valid" or spec.stride == (1, 1, 1)):
        return F.conv3d(x, w, bias, stride=spec.stride, padding=p, dilation=spec.dilation, groups=spec.groups)
    if p == "full":
        sides = [d * (k - 1) for k, d in zip(spec.kernel_size, spec.dilation) for _ in range(2)]
    elif p == "same":
        sides = []
        for n, k, s, d in zip(sizes, spec.kernel_size, spec.stride, spec.dilation):
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
            sides += [total // 2, total - total // 2]
    else:
        sides = list(p)
    front, back, top, bottom, left, right = sides
    return F.conv3d(F.pad(x, (left, right, top, bottom, front, back)), w, bias, stride=spec.stride,
                    dilation=spec.dilation, groups=spec.groups)


def _batch_norm2d(spec, x, w):
    tensors = {k: None if v is None else torch.from_numpy(np.ascontiguousarray(v)) for k, v in w.items()}
    return F.batch_norm(x, tensors["running_mean"], tensors["running_var"], tensors["weight"], tensors["bias"],
                        training=False, eps=spec.eps)


#: PyTorch's computation for each registered operation (one entry per operation: see docs/DESIGN.md):
#: ``(spec, x, w)``, and ``(spec, x, w, bias)`` for an operation that can have a bias.
ORACLES = {
    "conv3d": _conv3d,
    "conv1d": _conv1d,
    "conv2d": _conv2d,
    "conv_transpose2d": lambda spec, x, w, bias=None: F.conv_transpose2d(
        x, w, bias, stride=spec.stride, padding=spec.padding, output_padding=spec.output_padding, dilation=spec.dilation,
        groups=spec.groups),
    "max_pool2d": lambda spec, x, w: F.max_pool2d(x, spec.kernel_size, spec.stride, spec.padding, spec.dilation),
    "avg_pool2d": lambda spec, x, w: F.avg_pool2d(x, spec.kernel_size, spec.stride, spec.padding,
                                                  count_include_pad=spec.count_include_pad),
    "pixel_shuffle": lambda spec, x, w: F.pixel_shuffle(x, spec.upscale_factor),
    "pixel_unshuffle": lambda spec, x, w: F.pixel_unshuffle(x, spec.downscale_factor),
    # x carries torch's batch axis: (1, F) for linear, (1, C, H, W) for flatten (dims shift by one)
    "linear": lambda spec, x, w, bias=None: F.linear(x, w, bias),
    "flatten": lambda spec, x, w: torch.flatten(x, spec.start_dim + 1, spec.end_dim + 1),
    "relu": lambda spec, x, w: F.relu(x),
    "relu6": lambda spec, x, w: F.relu6(x),
    "batch_norm2d": _batch_norm2d,
    # two-input ops: x is the pair of inputs
    "add": lambda spec, x, w: torch.add(x[0], x[1]),
    "concat": lambda spec, x, w: torch.cat(x, dim=1),
}


def test_every_operation_has_an_oracle():
    assert set(ORACLES) == set(registry.OPERATIONS)


def torch_output(spec, values: np.ndarray, weights, bias=None) -> np.ndarray:
    """What PyTorch computes for one stage on values in its layout ((N,) C, *spatial: N when batch > 1); a pair
    of such for two-input ops."""
    if isinstance(values, tuple):
        x = tuple(torch.from_numpy(np.ascontiguousarray(v))[None] for v in values)
    else:
        x = torch.from_numpy(np.ascontiguousarray(values))
        x = x if spec.batch > 1 else x[None]
    w = weights if weights is None or isinstance(weights, dict) else torch.from_numpy(np.ascontiguousarray(weights))
    if bias is None:
        result = ORACLES[spec.op](spec, x, w).numpy()
    else:
        result = ORACLES[spec.op](spec, x, w, torch.from_numpy(np.ascontiguousarray(bias))).numpy()
    return result if spec.batch > 1 else result[0]


def plan_output_reference(result) -> np.ndarray:
    """Torch's output for a whole plan (chains stage by stage from the first input, graphs node by node from
    the graph's input)."""
    if isinstance(result, GraphPlan):
        outputs = {"input": result.input}
        for node, node_plan in zip(result.spec.nodes, result.plans):
            operands = tuple(outputs[name] for name in node.inputs)
            outputs[node.name] = torch_output(node.spec, operands if len(operands) == 2 else operands[0],
                                              node_plan.weights, node_plan.bias)
        return outputs[result.spec.nodes[-1].name]
    if isinstance(result, Plan) and result.reduce in ("add", "concat"):
        return torch_output(result.spec, (result.input, result.other), None)
    stages = result.stages if isinstance(result, ChainPlan) else [result]
    values = result.input
    for stage in stages:
        values = torch_output(stage.spec, values, stage.weights, stage.bias)
    return values


def check_steps(result: Plan) -> None:
    """Steps write every output cell exactly once, in the order the plan names."""
    steps = result.steps
    shape = result.spec.output_grid
    assert len(steps) == int(np.prod(shape))
    flat = np.ravel_multi_index(tuple(steps.out.T), shape)
    assert np.array_equal(np.sort(flat), np.arange(len(steps)))
    for array in (steps.filter, steps.out, steps.window, steps.src):
        assert array.dtype == np.int32 and len(array) == len(steps)
    if result.reduce in ("add", "concat"):      # each step reads the cell it writes (concat: stacked channels)
        assert (steps.filter == -1).all() and (steps.window == -1).all()
        assert np.array_equal(steps.src, steps.out)
        return
    if result.reduce == "elementwise":     # each cell replaced in place: one step per cell, src = out
        assert np.array_equal(steps.src, steps.out)
    if result.reduce in ("move", "elementwise"):
        assert (steps.filter == -1).all() and (steps.window == -1).all()
        moved = np.ravel_multi_index(tuple(steps.src.T), result.spec.input_grid)
        assert np.array_equal(np.sort(moved), np.arange(len(steps)))
        return
    assert (steps.src == -1).all()
    if result.depth is not None:
        check_depth_steps(result)
        return
    assert np.array_equal(steps.filter, steps.out[:, 0])
    # a batch's samples stand side by side (column n*OW + x): a filter goes over one sample after the other
    samples = result.spec.batch
    channels, rows, width = shape[0], shape[1], shape[2] // samples
    n, x = np.divmod(steps.out[:, 2], width)
    if result.order == "filter":
        key = np.ravel_multi_index((steps.out[:, 0], n, steps.out[:, 1], x), (channels, samples, rows, width))
    else:
        key = np.ravel_multi_index((n, steps.out[:, 1], x, steps.out[:, 0]), (samples, rows, width, channels))
    assert (np.diff(key) > 0).all()


def check_depth_steps(result: Plan) -> None:
    """A depth window's steps: output grid channel od*C_out + f, window at depth od*stride, in order."""
    steps, spec = result.steps, result.spec
    od, f = np.divmod(steps.out[:, 0], spec.out_channels)
    assert np.array_equal(steps.filter, f) and np.array_equal(result.depth.corner, od * spec.stride[0])
    n, x = np.divmod(steps.out[:, 2], spec.output_grid[2] // spec.batch)
    shape = (spec.out_channels, spec.batch) + spec.output_shape[1:]
    if result.order == "filter":
        key = np.ravel_multi_index((f, n, od, steps.out[:, 1], x), shape)
    else:
        key = np.ravel_multi_index((n, od, steps.out[:, 1], x, f), shape[1:] + shape[:1])
    assert (np.diff(key) > 0).all()


def check_reads(result: Plan, rng: np.random.Generator) -> None:
    """Each step's output value follows from read_cells alone (for a sample of steps)."""
    picked = rng.choice(len(result.steps), size=min(40, len(result.steps)), replace=False)
    reads = read_cells(result, picked)
    out = result.grid_output[tuple(result.steps.out[picked].T)]
    if result.reduce in ("move", "add", "concat"):
        cell = (reads.channel[:, 0], reads.y[:, 0], reads.x[:, 0])
        if result.reduce == "add":
            expected = result.grid_input[cell] + result.grid_other[cell]
        elif result.reduce == "concat":
            expected = np.concatenate([result.grid_input, result.grid_other])[cell]
        else:
            expected = result.grid_input[cell]
        assert np.array_equal(out, expected)
        return
    if result.reduce == "elementwise":     # the new value follows from the one cell read and its channel
        read = result.grid_input[reads.channel[:, 0], reads.y[:, 0], reads.x[:, 0]]
        assert np.array_equal(out, result.elementwise(read, reads.channel[:, 0]))
        return
    assert reads.channel.shape == (len(picked), result.filters[0].size)
    assert np.array_equal(reads.is_padding, (reads.channel < 0) | (reads.y < 0) | (reads.x < 0))
    assert np.array_equal(reads.y, result.virtual_rows[reads.vy])
    real = ~reads.is_padding
    values = np.where(real, result.grid_input[np.maximum(reads.channel, 0), reads.y, reads.x], 0.0)
    if result.reduce == "sum":
        kernel = result.filters.reshape(result.filters.shape[0], -1)[result.steps.filter[picked][:, None],
                                                                      reads.kernel]
        expected = (values * kernel).sum(axis=1)
        if result.bias is not None:
            expected += result.bias[result.steps.filter[picked]]
    elif result.reduce == "max":
        expected = np.where(real, values, -np.inf).max(axis=1)
    elif result.spec.count_include_pad:
        expected = values.sum(axis=1) / values.shape[1]
    else:
        expected = values.sum(axis=1) / real.sum(axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def check_against_torch(spec, seed: int) -> Plan:
    by_filter = plan(spec, seed=seed, order="filter")
    by_position = plan(spec, seed=seed, order="position")
    np.testing.assert_allclose(by_filter.output, plan_output_reference(by_filter), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(by_position.output, by_filter.output, rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(seed)
    for result in (by_filter.stages if isinstance(by_filter, (ChainPlan, GraphPlan)) else [by_filter]):
        check_steps(result)
        check_reads(result, rng)
    for result in (by_position.stages if isinstance(by_position, (ChainPlan, GraphPlan)) else [by_position]):
        check_steps(result)
    return by_filter


def build(cls, *args, **kwargs):
    """The spec, or a rejected example when the drawn combination is not valid."""
    try:
        return cls(*args, **kwargs)
    except SpecError:
        assume(False)


# --- strategies ------------------------------------------------------------------------

pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
#: Samples in a batch: N > 1 folds the samples side by side on the grid; torch computes them at once.
batches = st.integers(1, 3)
paddings = st.one_of(st.sampled_from(["valid", "same", "full"]), st.integers(0, 3),
                     st.tuples(st.integers(0, 3), st.integers(0, 3)),
                     st.tuples(*[st.integers(0, 3)] * 4))


@st.composite
def conv2d_specs(draw):
    groups = draw(st.integers(1, 3))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = draw(pair)
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    height = max(1, span[0] + draw(st.integers(-2, 5)))
    width = max(1, span[1] + draw(st.integers(-2, 5)))
    return build(Conv2d, in_channels, height, width, out_channels=out_channels, kernel_size=kernel,
                 stride=draw(pair), padding=draw(paddings), dilation=dilation, groups=groups,
                 bias=draw(st.booleans()), batch=draw(batches))


@st.composite
def conv_transpose2d_specs(draw):
    groups = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride, dilation = draw(pair), draw(pair)
    padding = tuple(draw(st.integers(0, d * (k - 1))) for d, k in zip(dilation, kernel))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    return build(ConvTranspose2d, groups * draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6)),
                 out_channels=groups * draw(st.integers(1, 3)), kernel_size=kernel, stride=stride,
                 padding=padding, output_padding=output_padding, dilation=dilation, groups=groups,
                 bias=draw(st.booleans()), batch=draw(batches))


@st.composite
def max_pool_specs(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = draw(pair)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    return build(MaxPool2d, draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9)),
                 kernel_size=kernel, stride=draw(st.one_of(st.none(), pair)), padding=padding, dilation=dilation,
                 batch=draw(batches))


@st.composite
def avg_pool_specs(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    return build(AvgPool2d, draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9)),
                 kernel_size=kernel, stride=draw(st.one_of(st.none(), pair)), padding=padding,
                 count_include_pad=draw(st.booleans()), batch=draw(batches))


@st.composite
def pixel_shuffle_specs(draw):
    r = draw(st.integers(1, 4))
    return PixelShuffle(draw(st.integers(1, 3)) * r * r, draw(st.integers(1, 5)), draw(st.integers(1, 5)), r,
                        batch=draw(batches))


@st.composite
def pixel_unshuffle_specs(draw):
    r = draw(st.integers(1, 4))
    return PixelUnshuffle(draw(st.integers(1, 3)), r * draw(st.integers(1, 4)), r * draw(st.integers(1, 4)), r,
                          batch=draw(batches))


@st.composite
def chain_specs(draw):
    """2-3 stages, each drawn to fit the shape the previous one makes."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(2, 6)), draw(st.integers(2, 6)))
    batch = draw(batches)
    stages = []
    for _ in range(draw(st.integers(2, 3))):
        c, h, w = shape
        kinds = ["conv", "pool", "transpose", "relu", "batch_norm"]
        kinds += ["shuffle"] if c % 4 == 0 else []
        kinds += ["unshuffle"] if h % 2 == 0 and w % 2 == 0 and c * 4 <= 16 else []
        kind = draw(st.sampled_from(kinds))
        if kind == "conv":
            stage = Conv2d(c, h, w, out_channels=draw(st.integers(1, 4)), kernel_size=draw(st.integers(1, 3)),
                           padding="same", stride=draw(st.integers(1, 2)), bias=draw(st.booleans()), batch=batch)
        elif kind == "transpose":
            stage = ConvTranspose2d(c, h, w, out_channels=draw(st.integers(1, 4)), kernel_size=2, stride=2,
                                    batch=batch)
        elif kind == "pool":
            stage = MaxPool2d(c, h, w, kernel_size=1 if min(h, w) < 2 else 2, batch=batch)
        elif kind == "relu":
            stage = draw(st.sampled_from([ReLU, ReLU6]))(c, h, w, batch=batch)
        elif kind == "batch_norm":
            stage = BatchNorm2d(c, h, w, affine=draw(st.booleans()), batch=batch)
        elif kind == "shuffle":
            stage = PixelShuffle(c, h, w, 2, batch=batch)
        else:
            stage = PixelUnshuffle(c, h, w, 2, batch=batch)
        stages.append(stage)
        shape = stage.output_shape
        assume(max(shape[1:]) <= 24)
    return Chain(tuple(stages))


@st.composite
def add_specs(draw):
    return Add(draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))


@st.composite
def concat_specs(draw):
    return Concat(draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 6)),
                  other_channels=draw(st.integers(1, 4)))


@st.composite
def graph_specs(draw):
    """2-5 nodes on one spatial size: convolutions and pools of the tensor before, and Adds / Concats of it
    with any earlier tensor (the graph's input included) of a fitting shape."""
    h, w = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    shapes = {"input": draw(st.integers(1, 3))}      # tensor name -> channels
    nodes, last = [], "input"
    for i in range(draw(st.integers(2, 5))):
        c = shapes[last]
        same = [name for name, channels in shapes.items() if channels == c]
        kind = draw(st.sampled_from(["conv", "pool", "add", "concat"]))
        other = draw(st.sampled_from(sorted(shapes)))
        if kind == "conv":
            spec, inputs = Conv2d(c, h, w, draw(st.integers(1, 4)), draw(st.integers(1, 3)), padding="same"), (last,)
        elif kind == "pool":
            spec, inputs = MaxPool2d(c, h, w, kernel_size=3, stride=1, padding=1), (last,)
        elif kind == "add":
            spec, inputs = Add(c, h, w), (last, draw(st.sampled_from(same)))
        else:
            spec, inputs = Concat(c, h, w, shapes[other]), (last, other)
        assume(spec.output_shape[0] <= 8)
        name = f"n{i}"
        nodes.append(Node(name, spec, inputs))
        shapes[name], last = spec.output_shape[0], name
    return Graph(tuple(nodes))


@st.composite
def conv1d_specs(draw):
    groups = draw(st.integers(1, 3))
    kernel, dilation = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    length = max(1, dilation * (kernel - 1) + 1 + draw(st.integers(-3, 8)))
    padding = draw(st.one_of(st.sampled_from(["valid", "same", "full", "causal"]), st.integers(0, 3),
                             st.tuples(st.integers(0, 3), st.integers(0, 3))))
    return build(Conv1d, groups * draw(st.integers(1, 3)), length, out_channels=groups * draw(st.integers(1, 3)),
                 kernel_size=kernel, stride=draw(st.integers(1, 3)), padding=padding, dilation=dilation,
                 groups=groups, bias=draw(st.booleans()), batch=draw(batches))


@st.composite
def linear_specs(draw):
    return Linear(draw(st.integers(1, 40)), draw(st.integers(1, 6)), draw(st.booleans()))


@st.composite
def flatten_specs(draw):
    start = draw(st.integers(-3, 2))
    end = draw(st.integers(start % 3, 2)) - draw(st.sampled_from([0, 3]))
    return Flatten(draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5)), start, end)


@st.composite
def dense_chain_specs(draw):
    """A small CNN: an optional conv (and pool), flatten, then one or two linear layers."""
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(2, 6)), draw(st.integers(2, 6))
    stages = []
    if draw(st.booleans()):
        stages.append(Conv2d(c, h, w, out_channels=draw(st.integers(1, 3)), kernel_size=2, bias=draw(st.booleans())))
        c, h, w = stages[-1].output_shape
    stages.append(Flatten(c, h, w))
    features = c * h * w
    for _ in range(draw(st.integers(1, 2))):
        stages.append(Linear(features, draw(st.integers(1, 5)), draw(st.booleans())))
        features = stages[-1].out_features
    return Chain(tuple(stages))



@st.composite
def conv3d_specs(draw):
    groups = draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(3))
    sizes = [max(1, d * (k - 1) + 1 + draw(st.integers(-2, 3))) for k, d in zip(kernel, dilation)]
    padding = draw(st.one_of(st.sampled_from(["valid", "same", "full"]), st.integers(0, 2),
                             st.tuples(*[st.integers(0, 2)] * 3), st.tuples(*[st.integers(0, 2)] * 6)))
    return build(Conv3d, groups * draw(st.integers(1, 2)), *sizes, out_channels=groups * draw(st.integers(1, 2)),
                 kernel_size=kernel, stride=tuple(draw(st.integers(1, 2)) for _ in range(3)), padding=padding,
                 dilation=dilation, groups=groups, batch=draw(batches), bias=draw(st.booleans()))


seeds = st.integers(0, 2**32)


# --- the sweeps ------------------------------------------------------------------------------

@SWEEP
@given(conv2d_specs(), seeds)
def test_conv2d_matches_torch(spec, seed):
    result = check_against_torch(spec, seed)
    assert result.channels_per_group == spec.in_channels // spec.groups
    assert result.virtual_shape[1:] == (spec.height + sum(spec.pads[:2]),
                                        spec.batch * (spec.width + sum(spec.pads[2:])))


@pytest.mark.filterwarnings("ignore:Using padding='same'")   # torch's note on its own zero-padded copy
@SWEEP
@given(conv1d_specs(), seeds)
def test_conv1d_matches_torch(spec, seed):
    result = check_against_torch(spec, seed)
    assert result.input.shape == spec.input_torch_shape
    assert result.input.shape[-2:] == (spec.in_channels, spec.length)
    assert result.output.shape == spec.output_torch_shape and result.grid_output.shape == spec.output_grid
    if spec.padding == "causal":      # no step reads an input position later than its output position
        reads = read_cells(result, np.arange(len(result.steps)))
        latest = np.where(reads.is_padding, -1, reads.x % spec.length).max(axis=1)
        assert (latest <= result.steps.out[:, 2] % spec.output_shape[1] * spec.stride).all()


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@SWEEP
@given(conv3d_specs(), seeds)
def test_conv3d_matches_torch(spec, seed):
    result = check_against_torch(spec, seed)
    assert result.input.shape == spec.input_torch_shape and result.output.shape == spec.output_torch_shape
    assert result.weights.shape == (spec.out_channels, spec.in_channels // spec.groups) + spec.kernel_size
    # the virtual grid holds every input cell once, its depth slices along the channel axis
    real = result.virtual_channels >= 0
    assert real.sum() == spec.in_channels * spec.depth
    assert np.array_equal(np.sort(result.virtual_channels[real]), np.arange(spec.in_channels * spec.depth))
    assert len(result.virtual_channels) == spec.in_channels * (spec.depth + sum(spec.pads[:2]))


@SWEEP
@given(conv_transpose2d_specs(), seeds)
def test_conv_transpose2d_matches_torch(spec, seed):
    result = check_against_torch(spec, seed)
    assert result.weights.shape == (spec.in_channels, spec.out_channels // spec.groups) + spec.kernel_size
    # the virtual grid holds every input cell once; everything else is an inserted zero or padding
    assert (result.virtual_rows >= 0).sum() == spec.height
    assert (result.virtual_cols >= 0).sum() == spec.batch * spec.width


@settings(max_examples=40, deadline=None)
@given(pixel_shuffle_specs(), seeds)
def test_pixel_shuffle_matches_torch(spec, seed):
    check_against_torch(spec, seed)


@settings(max_examples=40, deadline=None)
@given(pixel_unshuffle_specs(), seeds)
def test_pixel_unshuffle_matches_torch(spec, seed):
    check_against_torch(spec, seed)


@settings(max_examples=100, deadline=None)
@given(max_pool_specs(), seeds)
def test_max_pool_matches_torch(spec, seed):
    check_against_torch(spec, seed)


@settings(max_examples=100, deadline=None)
@given(avg_pool_specs(), seeds)
def test_avg_pool_matches_torch(spec, seed):
    check_against_torch(spec, seed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(chain_specs(), seeds)
def test_chain_matches_torch(spec, seed):
    result = check_against_torch(spec, seed)
    for i, stage in enumerate(result.stages):
        if i:
            assert np.array_equal(stage.input, result.stages[i - 1].output)
        if isinstance(stage.weights, np.ndarray):
            expected = np.random.default_rng(seed + i).standard_normal(stage.weights.shape)
            assert np.array_equal(stage.weights, expected)


@SWEEP
@given(add_specs(), seeds)
def test_add_matches_torch(spec, seed):
    check_against_torch(spec, seed)


@SWEEP
@given(concat_specs(), seeds)
def test_concat_matches_torch(spec, seed):
    check_against_torch(spec, seed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(graph_specs(), seeds)
def test_graph_matches_torch(spec, seed):
    result = check_against_torch(spec, seed)
    outputs = {"input": result.input}
    for i, (node, node_plan) in enumerate(zip(spec.nodes, result.plans)):
        assert np.array_equal(node_plan.input, outputs[node.inputs[0]])
        if len(node.inputs) == 2:
            assert np.array_equal(node_plan.other, outputs[node.inputs[1]])
        if node_plan.weights is not None:
            expected = np.random.default_rng(seed + i).standard_normal(node_plan.weights.shape)
            assert np.array_equal(node_plan.weights, expected)
        outputs[node.name] = node_plan.output


@settings(max_examples=60, deadline=None)
@given(linear_specs(), seeds)
def test_linear_matches_torch(spec, seed):
    result = check_against_torch(spec, seed)
    reads = read_cells(result, np.arange(len(result.steps)))
    # a dense layer: every step reads every input cell
    assert np.array_equal(np.sort(reads.channel, axis=1), np.tile(np.arange(spec.in_features), (len(reads.channel), 1)))
    assert (result.bias is not None) == spec.bias


@settings(max_examples=60, deadline=None)
@given(flatten_specs(), seeds)
def test_flatten_matches_torch(spec, seed):
    result = check_against_torch(spec, seed)
    assert result.output.shape == spec.output_shape


@settings(max_examples=60, deadline=None)
@given(dense_chain_specs(), seeds)
def test_dense_chain_matches_torch(spec, seed):
    check_against_torch(spec, seed)


finite = st.floats(-10.0, 10.0, allow_nan=False, allow_subnormal=False)


@st.composite
def elementwise_cases(draw):
    """An elementwise spec, an input with exact zeros, negatives and values above 6, and (BatchNorm) some of its
    parameters given by PyTorch's names."""
    c, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    values = np.array(draw(st.lists(st.one_of(finite, st.just(0.0)), min_size=c * h * w, max_size=c * h * w)))
    cls = draw(st.sampled_from([ReLU, ReLU6, BatchNorm2d]))
    if cls is not BatchNorm2d:
        return cls(c, h, w), values.reshape(c, h, w), None
    spec = BatchNorm2d(c, h, w, eps=draw(st.sampled_from([1e-5, 1e-3, 0.5])), affine=draw(st.booleans()))
    names = ("running_mean", "running_var", "weight", "bias") if spec.affine else ("running_mean", "running_var")
    given_names = draw(st.lists(st.sampled_from(names), unique=True))
    parameters = {name: np.array(draw(st.lists(st.floats(0.0, 5.0) if name == "running_var" else finite,
                                                min_size=c, max_size=c))) for name in given_names}
    return spec, values.reshape(c, h, w), parameters


@settings(max_examples=150, deadline=None)
@given(elementwise_cases(), seeds)
def test_elementwise_matches_torch(case, seed):
    spec, values, parameters = case
    for order in ("filter", "position"):
        result = plan(spec, input=values, weights=parameters, seed=seed, order=order)
        check_steps(result)
        check_reads(result, np.random.default_rng(seed))
        np.testing.assert_allclose(result.output, torch_output(spec, values, result.weights), rtol=1e-12,
                                   atol=1e-12)
    for name, given_values in (parameters or {}).items():   # given parameters are used as given
        assert np.array_equal(result.weights[name], given_values)


def test_batch_norm_parameters_are_checked():
    spec = BatchNorm2d(2, 3, 3)
    with pytest.raises(SpecError, match="weights\\['gamma'\\]"):
        plan(spec, weights={"gamma": np.ones(2)})
    with pytest.raises(SpecError, match="running_var"):
        plan(spec, weights={"running_var": -np.ones(2)})
    with pytest.raises(SpecError, match="weights"):
        plan(spec, weights=np.ones(2))
    with pytest.raises(SpecError, match="affine=False"):
        plan(BatchNorm2d(2, 3, 3, affine=False), weights={"weight": np.ones(2)})
    with pytest.raises(SpecError, match="shape"):
        plan(spec, weights={"bias": np.ones(3)})
    for eps in (0, -1e-5, float("nan"), True, "1e-5"):
        with pytest.raises(SpecError, match="eps"):
            BatchNorm2d(2, 3, 3, eps=eps)
    with pytest.raises(SpecError, match="weights"):
        plan(ReLU(2, 3, 3), weights=np.ones(2))


# --- fixed cases ---------------------------------------------------------------------------------

def test_bias_given_seeded_and_refused():
    spec = Conv2d(2, 4, 4, out_channels=3, kernel_size=3, bias=True)
    given_bias = np.array([0.5, -2.0, 10.0])
    result = plan(spec, seed=4, bias=given_bias)
    assert np.array_equal(result.bias, given_bias)
    np.testing.assert_allclose(result.output, torch_output(spec, result.input, result.weights, given_bias),
                               rtol=1e-12)
    seeded = plan(spec, seed=4)
    assert np.array_equal(seeded.weights, result.weights) and not np.array_equal(seeded.bias, given_bias)
    np.testing.assert_allclose(seeded.output - plan(spec.replace(bias=False), seed=4).output,
                               np.broadcast_to(seeded.bias[:, None, None], spec.output_shape), rtol=1e-12)
    for bad, spec_given in ((np.zeros(2), spec), (given_bias, spec.replace(bias=False)),
                            (given_bias, PixelShuffle(4, 2, 2, 2))):
        with pytest.raises(SpecError) as info:
            plan(spec_given, bias=bad)
        assert info.value.parameter == "bias"



def test_plan_takes_given_input_and_weights():
    spec = Conv2d(2, 4, 5, out_channels=3, kernel_size=(2, 3), padding=(1, 0, 2, 1))
    values = np.arange(40, dtype=np.float32).reshape(2, 4, 5)
    weights = np.linspace(-1, 1, 3 * 2 * 2 * 3).reshape(3, 2, 2, 3)
    result = plan(spec, input=values, weights=weights)
    assert result.input.dtype == np.float64 and np.array_equal(result.input, values)
    assert np.array_equal(result.weights, weights)
    np.testing.assert_allclose(result.output, torch_output(spec, result.input, weights), rtol=1e-12)


def test_same_seed_same_plan_other_seed_other_values():
    spec = Conv2d(3, 5, 5, out_channels=2)
    a, b, c = plan(spec, seed=7), plan(spec, seed=7), plan(spec, seed=8)
    assert np.array_equal(a.output, b.output) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.input, c.input)
    assert np.array_equal(a.weights, np.random.default_rng(7).standard_normal((2, 3, 3, 3)))


def test_conv_transpose_virtual_grid_inserts_zeros_and_pads():
    spec = ConvTranspose2d(1, 3, 2, out_channels=1, kernel_size=3, stride=2, padding=1, output_padding=1)
    result = plan(spec)
    # d*(k-1)-p = 1 cell each side, stride-1 = 1 zero between cells, output_padding 1 more at the end
    assert result.virtual_rows.tolist() == [-1, 0, -1, 1, -1, 2, -1, -1]
    assert result.virtual_cols.tolist() == [-1, 0, -1, 1, -1, -1]
    assert result.output.shape == spec.output_shape == (1, 6, 4)


def test_pool_steps_pool_their_own_channel():
    result = plan(MaxPool2d(3, 4, 4, kernel_size=2))
    reads = read_cells(result, np.arange(len(result.steps)))
    assert (reads.channel == result.steps.filter[:, None]).all()
    assert result.channels_per_group == 1 and result.weights is None and result.reduce == "max"


def test_shuffle_orders():
    spec = PixelShuffle(8, 2, 3, 2)
    by_input = plan(spec, order="filter").steps
    by_output = plan(spec, order="position").steps
    src_key = np.ravel_multi_index(tuple(by_input.src.T), spec.input_shape)
    assert (np.diff(src_key) > 0).all()
    c, y, x = by_output.out.T
    out_key = np.ravel_multi_index((y, x, c), spec.output_shape[1:] + spec.output_shape[:1])
    assert (np.diff(out_key) > 0).all()


def test_read_cells_of_one_step_and_negative_index():
    result = plan(Conv2d(2, 3, 3, out_channels=2, kernel_size=3, padding="same"))
    last = read_cells(result, -1)
    assert last.channel.shape == (1, 18)
    assert np.array_equal(last.vy, read_cells(result, [len(result.steps) - 1]).vy)
    # the bottom-right window of a same-padded 3x3 over 3x3 sees 5 padding cells per channel
    assert last.is_padding.sum() == 2 * 5
    with pytest.raises(SpecError) as info:
        read_cells(result, [len(result.steps)])
    assert info.value.parameter == "step_indices"


def test_large_plan_output():
    """A 131,072-step plan (32x64x64, 3x3, 32 filters, same) assembles in chunks and matches torch."""
    spec = Conv2d(32, 64, 64, out_channels=32, kernel_size=3, padding="same")
    result = plan(spec, order="position")
    assert len(result.steps) == 131072
    np.testing.assert_allclose(result.output, torch_output(spec, result.input, result.weights), rtol=1e-9,
                               atol=1e-9)
