"""Plans: the numbers and the order of work, shared by every operation's planner.

A :class:`Plan` holds the tensors and the step sequence as numpy arrays. Its
``output`` is assembled *from the steps* (see :func:`assemble_output`), so
checking it against PyTorch checks the steps. ``input`` and ``output`` have
PyTorch's layout (C, *spatial); the steps index the *grid* form (C, H, W) of
both (``grid_input``, ``grid_output``; see :func:`specbase.grid_shape`).

Windowed operations (convolutions, transposed convolutions, pooling) slide a
window over a *virtual input grid*: the input with its padding around it, and
for a transposed convolution also with ``stride - 1`` zeros inserted between
cells. ``virtual_rows[vy]`` / ``virtual_cols[vx]`` say which input row/column a
virtual row/column shows, ``-1`` where it is padding (or an inserted zero).
Every windowed op is then a gather: output cell ``(f, oy, ox)`` reads the virtual
cells ``(c, window_y + ky*dh, window_x + kx*dw)`` for the channels ``c`` of the
step's group and every kernel offset ``(ky, kx)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import SpecError
from .tensors import from_grid, to_grid
from .values import _check_array, check_finite_output, make_input

@dataclass
class Steps:
    """One row per step, in the order they are animated (all int32 arrays of length S)."""

    filter: np.ndarray   # (S,): output channel computed; -1 for shuffles
    out: np.ndarray      # (S, 3): output cell (c, y, x) the step writes
    window: np.ndarray   # (S, 2): top-left (vy, vx) of the window on the virtual grid; -1 for shuffles
    src: np.ndarray      # (S, 3): input cell (c, y, x) that moves to ``out`` (shuffles); -1 otherwise

    def __len__(self) -> int:
        return len(self.filter)


@dataclass
class Reads:
    """The input cells a batch of steps reads: arrays of shape (n, R), R = channels_per_group*kh*kw."""

    channel: np.ndarray  # input channel c
    vy: np.ndarray       # virtual row
    vx: np.ndarray       # virtual column
    y: np.ndarray        # input row, -1 where the virtual cell is padding
    x: np.ndarray        # input column, -1 where the virtual cell is padding
    is_padding: np.ndarray  # bool
    kernel: np.ndarray   # (ci_local, ky, kx) flattened: index into filters[f].ravel()
    vc: np.ndarray | None = None   # virtual channel (a depth window's padding slices have no input channel)


@dataclass
class DepthWindow:
    """A window that also slides along depth (Conv3d). The input's depth slices fold onto the grid's channel
    axis (grid channel ``d*C + c``, :mod:`.tensors`); the virtual grid's channel axis holds the *virtual*
    depth slices, padding included: virtual channel ``vd*C + c`` shows input channel
    ``virtual[vd]*C + c`` (none where ``virtual[vd]`` is -1). A step reads, for each kernel depth ``i`` and
    channel ``ci`` of its group, virtual channel ``(corner + i*dilation)*C + group base + ci``; the gather
    kernel's channel axis runs over (i, ci): ``filters[f, i*C/groups + ci]``."""

    virtual: np.ndarray   # (VD,) int32: input depth of each virtual depth slice, -1 = padding
    kernel: int           # kd
    dilation: int         # dd
    channels: int         # C: input channels per depth slice
    corner: np.ndarray    # (S,) int32: the virtual depth slice each step's window starts at

    def channel_map(self) -> np.ndarray:
        """(VD*C,) virtual channel -> grid input channel, -1 in padding slices."""
        c = np.arange(self.channels, dtype=np.int32)
        return np.where(self.virtual[:, None] >= 0, self.virtual[:, None] * self.channels + c, -1).ravel()


@dataclass
class Plan:
    spec: object
    grid_input: np.ndarray            # (C, H, W) float64: the input in grid form (what the steps index)
    weights: np.ndarray | None        # PyTorch layout of the op; None for shuffles and pooling
    grid_output: np.ndarray           # (C, H, W): assembled from the steps
    steps: Steps
    order: str = "filter"
    # windowed ops only (None / () otherwise):
    filters: np.ndarray | None = None           # (C_out, C_in/groups, kh, kw): the kernel each step gathers with
    #                                             (a depth window: (C_out, kd*C_in/groups, kh, kw))
    virtual_rows: np.ndarray | None = None      # (VH,) int32
    virtual_cols: np.ndarray | None = None      # (VW,) int32
    kernel_size: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    channels_per_group: int = 0                 # input channels each step reads
    reduce: str = "sum"                         # "sum" (conv), "max", "mean" (pooling), "move" (shuffles),
                                                # "add", "concat" (two-input ops: see ops/add.py, ops/concat.py),
                                                # "elementwise" (ReLU, BatchNorm: each cell replaced in place)
    bias: np.ndarray | None = None              # (C_out,): added to each step's sum of filter C_out; None: no bias
    depth: DepthWindow | None = None            # Conv3d: the window's slide along depth (None: 2-D windows)
    # elementwise ops only: new values of cells from (values, their channels), vectorised
    elementwise: Callable | None = None
    grid_other: np.ndarray | None = None        # two-input ops: the second input in grid form

    @property
    def input(self) -> np.ndarray:
        """The input in PyTorch's layout (C, *spatial), (N, C, *spatial) when the batch is > 1: a view of
        ``grid_input`` unless a batch or a depth axis is folded into it (:mod:`.tensors`)."""
        return from_grid(self.grid_input, self.spec.input_shape, self.spec.batch)

    @property
    def output(self) -> np.ndarray:
        """The output in PyTorch's layout, as :attr:`input`."""
        return from_grid(self.grid_output, self.spec.output_shape, self.spec.batch)

    @property
    def other(self) -> np.ndarray | None:
        """Two-input ops: the second input in PyTorch's layout; None otherwise."""
        return None if self.grid_other is None else self.grid_other.reshape(self.spec.other_shape)

    @property
    def is_windowed(self) -> bool:
        return self.virtual_rows is not None

    @property
    def virtual_shape(self) -> tuple[int, int, int]:
        return (len(self.virtual_channels), len(self.virtual_rows), len(self.virtual_cols))

    @property
    def virtual_channels(self) -> np.ndarray:
        """(VC,) virtual channel -> grid input channel, -1 for padding (only depth slices pad channels)."""
        if self.depth is None:
            return np.arange(self.grid_input.shape[0], dtype=np.int32)
        return self.depth.channel_map()


@dataclass
class ChainPlan:
    spec: object
    stages: list[Plan] = field(default_factory=list)

    @property
    def input(self) -> np.ndarray:
        return self.stages[0].input

    @property
    def output(self) -> np.ndarray:
        return self.stages[-1].output


@dataclass
class GraphPlan:
    """A plan per node of a :class:`~.graph.Graph`, in the order the nodes run."""

    spec: object
    plans: list[Plan] = field(default_factory=list)

    @property
    def stages(self) -> list[Plan]:
        return self.plans

    def __getitem__(self, name: str) -> Plan:
        """The plan of the node called ``name``."""
        return self.plans[self.spec.names.index(self.spec.node(name).name)]

    @property
    def input(self) -> np.ndarray:
        """The graph's input in PyTorch's layout."""
        graph = self.spec
        for node, node_plan in zip(graph.nodes, self.plans):
            if node.inputs[0] == "input":
                return node_plan.input
            if len(node.inputs) > 1 and node.inputs[1] == "input":
                return node_plan.other
        raise SpecError("plan", graph.label, "a graph with a node taking its input")

    @property
    def output(self) -> np.ndarray:
        return self.plans[-1].output


def input_values(spec, input, seed: int) -> np.ndarray:
    """The input in grid form (C, H, W): given (PyTorch's shape, (N, C, *spatial) for a batch; checked) or
    seeded."""
    return to_grid(make_input(spec.input_torch_shape, input, seed), spec.input_shape, spec.batch)


def weight_values(weights, shape: tuple[int, ...], seed: int) -> np.ndarray:
    if weights is None:
        return np.random.default_rng(seed).standard_normal(shape)
    return _check_array("weights", weights, shape, f"an array of shape {shape} (PyTorch's layout), or None")


def bias_values(bias, count: int, seed: int) -> np.ndarray:
    """The bias (C_out,): given (checked) or seeded standard normal, on a stream apart from the weights'."""
    if bias is None:
        return np.random.default_rng([seed, 2]).standard_normal(count)
    return _check_array("bias", bias, (count,), f"an array of shape ({count},) (one value per filter), or None")


def with_bias(plan_: Plan, bias, seed: int) -> Plan:
    """``plan_`` with the bias its spec asks for (``spec.bias``): seeded, or ``bias`` when given; each step then
    adds its filter's bias to its sum. SpecError when a bias is given to a spec that has none."""
    has_bias = getattr(plan_.spec, "bias", False) is True
    if not has_bias:
        if bias is not None:
            allowed = (f"None: this {plan_.spec.op} has bias=False (make it with bias=True)"
                       if hasattr(plan_.spec, "bias") else f"None: {plan_.spec.op} has no bias")
            raise SpecError("bias", "an array" if isinstance(bias, np.ndarray) else bias, allowed)
        return plan_
    plan_.bias = bias_values(bias, plan_.filters.shape[0], seed)
    _add_bias(plan_.grid_output, plan_)
    check_finite_output(plan_.grid_output)
    return plan_


def _add_bias(output: np.ndarray, plan_: Plan) -> None:
    """Each step adds its filter's bias to the cell it writes (nothing without a bias)."""
    if plan_.bias is not None:
        steps = plan_.steps
        output[tuple(steps.out.T)] += plan_.bias[steps.filter]


def no_weights(spec, weights) -> None:
    if weights is not None:
        raise SpecError("weights", "an array" if isinstance(weights, np.ndarray) else weights,
                        f"None: {spec.op} has no weights")


def axis_map(size: int, before: int, after: int, stride: int = 1) -> np.ndarray:
    """Virtual -> input index along one axis: ``before`` padding cells, the input with ``stride - 1``
    zeros between cells, then ``after`` padding cells; -1 where the virtual cell is not an input cell."""
    spread = (size - 1) * stride + 1
    index = np.arange(-before, spread + after)
    hit = (index >= 0) & (index < spread) & (index % stride == 0)
    return np.where(hit, index // stride, -1).astype(np.int32)


def window_steps(out_shape: tuple[int, int, int], stride: tuple[int, int], order: str, samples: int = 1,
                 virtual_width: int = 0) -> Steps:
    """Steps of a windowed op: one per output cell, window at (oy*sh, ox*sw). With a batch (``samples`` side
    by side, each ``virtual_width`` virtual columns wide) a filter goes over one sample after the other."""
    c_out, oh, width = out_shape
    ow = width // samples
    if order == "filter":
        f, n, oy, ox = (a.ravel() for a in np.indices((c_out, samples, oh, ow), dtype=np.int32))
    else:
        n, oy, ox, f = (a.ravel() for a in np.indices((samples, oh, ow, c_out), dtype=np.int32))
    count = len(f)
    return Steps(filter=f,
                 out=np.stack([f, oy, n * np.int32(ow) + ox], axis=1),
                 window=np.stack([oy * np.int32(stride[0]), n * np.int32(virtual_width) + ox * np.int32(stride[1])],
                                 axis=1),
                 src=np.full((count, 3), -1, np.int32))


def batched_axis(virtual: np.ndarray, size: int, samples: int) -> np.ndarray:
    """One sample's virtual -> input map along x repeated for ``samples`` side by side (sample n's input
    columns are n*size + x)."""
    copies = [np.where(virtual >= 0, virtual + n * size, -1) for n in range(samples)]
    return np.concatenate(copies).astype(np.int32)


def windowed_plan(spec, values, weights, filters, rows, cols, stride, order, reduce,
                  dilation=(1, 1), depth=None) -> Plan:
    """A plan whose steps slide ``filters`` (C_out, C_in/groups, kh, kw) over the virtual grid ``rows`` x
    ``cols`` (one sample's) of ``values`` (grid form) with ``stride`` (rows, columns), in ``order``; over
    every sample of a batch. ``depth``: (virtual depth map, kd, depth dilation, depth stride) for a window
    that also slides along depth (Conv3d; ``filters`` then (C_out, kd*C_in/groups, kh, kw), see
    :class:`DepthWindow`)."""
    samples = spec.batch
    sample_width = len(cols)
    cols = batched_axis(cols, values.shape[2] // samples, samples)
    result = Plan(spec=spec, grid_input=values, weights=weights, grid_output=np.zeros(0),
                  steps=window_steps(spec.output_grid, stride, order, samples, sample_width), order=order,
                  filters=filters, virtual_rows=rows, virtual_cols=cols,
                  kernel_size=tuple(filters.shape[2:]), dilation=tuple(dilation),
                  channels_per_group=filters.shape[1], reduce=reduce)
    if depth is not None:       # (virtual, kd, dd, stride) along depth: the output's depth slices fold as well
        result.depth = depth_window(spec, result.steps, order, *depth)
        result.channels_per_group = filters.shape[1] // result.depth.kernel
    result.grid_output = assemble_output(result)
    if reduce != "max":      # a max of finite values cannot overflow (a window of padding only is -inf, as in PyTorch)
        check_finite_output(result.grid_output)
    return result


def shuffle_plan(spec, values, out_cells: np.ndarray, src_cells: np.ndarray, order: str) -> Plan:
    """One step per cell: ``src`` moves to ``out`` (cells of one sample's grids; repeated for every sample of a
    batch). Order "filter": by input cell (channel by channel); "position": by output position (row-major),
    every channel there before the next position."""
    out_cells, src_cells = _batched_cells(spec, out_cells, src_cells)
    if order == "filter":
        sort = np.lexsort((src_cells[:, 2], src_cells[:, 1], src_cells[:, 0]))
    else:
        sort = np.lexsort((out_cells[:, 0], out_cells[:, 2], out_cells[:, 1]))
    count = len(sort)
    steps = Steps(filter=np.full(count, -1, np.int32), out=out_cells[sort], window=np.full((count, 2), -1, np.int32),
                  src=src_cells[sort])
    result = Plan(spec=spec, grid_input=values, weights=None, grid_output=np.zeros(0), steps=steps, order=order,
                  reduce="move")
    result.grid_output = assemble_output(result)
    return result


def _batched_cells(spec, out_cells: np.ndarray, src_cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One sample's (out, src) cells repeated for every sample, each shifted to its columns."""
    samples = spec.batch
    if samples == 1:
        return out_cells, src_cells
    n = np.repeat(np.arange(samples, dtype=np.int32), len(out_cells))
    out, src = np.tile(out_cells, (samples, 1)), np.tile(src_cells, (samples, 1))
    out[:, 2] += n * np.int32(spec.output_grid[2] // samples)
    src[:, 2] += n * np.int32(spec.input_grid[2] // samples)
    return out, src


def elementwise_plan(spec, values, function: Callable, weights, order: str) -> Plan:
    """One step per cell, which is replaced in place by ``function(values, channels)`` (src = out). Order
    "filter": channel by channel; "position": every channel of a position before the next position."""
    steps = cellwise_steps(values.shape, order)
    result = Plan(spec=spec, grid_input=values, weights=weights, grid_output=np.zeros(0), steps=steps, order=order,
                  reduce="elementwise", elementwise=function)
    result.grid_output = assemble_output(result)
    check_finite_output(result.grid_output)
    return result


def cellwise_steps(shape, order: str) -> Steps:
    """One step per cell of a grid of ``shape``, written where it is read (no filter, no window): channel by
    channel ("filter" order) or every channel of a position before the next position ("position")."""
    cells = grid_cells(shape)
    if order == "position":
        cells = cells[np.lexsort((cells[:, 0], cells[:, 2], cells[:, 1]))]
    count = len(cells)
    return Steps(filter=np.full(count, -1, np.int32), out=cells, window=np.full((count, 2), -1, np.int32),
                 src=cells.copy())


def grid_cells(shape) -> np.ndarray:
    return np.indices(shape, dtype=np.int32).reshape(3, -1).T


# --- reading and assembling ----------------------------------------------------------

def _as_step_indices(plan_: Plan, step_indices) -> np.ndarray:
    indices = np.asarray(step_indices)
    if indices.ndim == 0:
        indices = indices[None]
    if indices.size and (not np.issubdtype(indices.dtype, np.integer) or indices.ndim != 1):
        raise SpecError("step_indices", step_indices, "a 1-D array of integer step indices")
    count = len(plan_.steps)
    if indices.size and (indices.min() < -count or indices.max() >= count):
        raise SpecError("step_indices", step_indices, f"indices from 0 to {count - 1}")
    return indices.astype(np.intp) % max(count, 1)


def depth_window(spec, steps: Steps, order: str, virtual: np.ndarray, kernel: int, dilation: int,
                 stride: int) -> DepthWindow:
    """The depth slide of 2-D ``steps`` made on the folded grid (output channel ``od*C_out + f``): each step's
    filter becomes ``f``, its window starts at virtual depth ``od*stride``, and the steps are put in
    ``order``: one filter over every sample and depth ("filter"), or every filter at one window place
    ("position")."""
    od, f = np.divmod(steps.filter, np.int32(spec.out_channels))
    n, x = np.divmod(steps.out[:, 2], np.int32(spec.output_grid[2] // spec.batch))
    y = steps.out[:, 1]
    sort = np.lexsort((x, y, od, n, f) if order == "filter" else (f, x, y, od, n))
    for name in ("out", "window", "src"):
        setattr(steps, name, getattr(steps, name)[sort])
    steps.filter = f[sort].astype(np.int32)
    return DepthWindow(virtual=np.asarray(virtual, np.int32), kernel=kernel, dilation=dilation,
                       channels=spec.in_channels, corner=(od[sort] * np.int32(stride)).astype(np.int32))


def channel_span(plan_: Plan) -> tuple[np.ndarray, np.ndarray]:
    """(S,) first and last virtual channel each step reads (its window's extent along the channel axis)."""
    base = _group_base(plan_, plan_.steps.filter)
    depth = plan_.depth
    if depth is None:
        return base, base + plan_.channels_per_group - 1
    first = depth.corner * depth.channels + base
    return first, first + (depth.kernel - 1) * depth.dilation * depth.channels + plan_.channels_per_group - 1


def _kernel_offsets(plan_: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per read r (ci, ky, kx flattened): the index along the gather kernel's channel axis, and the row/column
    offsets."""
    kh, kw = plan_.kernel_size
    dh, dw = plan_.dilation
    ci, ky, kx = np.indices((plan_.filters.shape[1], kh, kw), dtype=np.int32).reshape(3, -1)
    return ci, ky * np.int32(dh), kx * np.int32(dw)


def _group_base(plan_: Plan, filters: np.ndarray) -> np.ndarray:
    """First input channel (of a depth slice) of the group each filter reads."""
    channels = plan_.grid_input.shape[0] if plan_.depth is None else plan_.depth.channels
    groups = channels // plan_.channels_per_group
    out_per_group = plan_.filters.shape[0] // groups
    return (filters // out_per_group) * plan_.channels_per_group


def step_channels(plan_: Plan, indices: np.ndarray) -> np.ndarray:
    """(n, K) virtual channels the given steps read, K along the gather kernel's channel axis: the filter's
    group (2-D windows), and for a depth window each of its kd slices (see :class:`DepthWindow`)."""
    filters = plan_.steps.filter[indices]
    base = _group_base(plan_, filters)[:, None]
    depth = plan_.depth
    if depth is None:
        return (base + np.arange(plan_.channels_per_group, dtype=np.int32)[None, :]).astype(np.int32)
    i, ci = np.divmod(np.arange(plan_.filters.shape[1], dtype=np.int32), np.int32(plan_.channels_per_group))
    slices = depth.corner[indices][:, None] + i[None, :] * np.int32(depth.dilation)
    return (slices * np.int32(depth.channels) + base + ci[None, :]).astype(np.int32)


def read_cells(plan_: Plan, step_indices) -> Reads:
    """The cells the given steps read, arrays of shape (n, R) (R = channels_per_group*kh*kw; 1 for shuffles,
    where ``kernel`` is -1). Seven (n, R) arrays: read big plans a chunk of steps at a time."""
    indices = _as_step_indices(plan_, step_indices)
    steps = plan_.steps
    n = len(indices)
    if not plan_.is_windowed:
        src = steps.src[indices]
        zeros = np.zeros((n, 1), bool)
        return Reads(channel=src[:, :1].copy(), vy=src[:, 1:2].copy(), vx=src[:, 2:3].copy(),
                     y=src[:, 1:2].copy(), x=src[:, 2:3].copy(), is_padding=zeros,
                     kernel=np.full((n, 1), -1, np.int32))
    ci, oy, ox = _kernel_offsets(plan_)
    vc = step_channels(plan_, indices)[:, ci]
    channel = plan_.virtual_channels[vc]
    vy = steps.window[indices, :1] + oy[None, :]
    vx = steps.window[indices, 1:] + ox[None, :]
    y = plan_.virtual_rows[vy]
    x = plan_.virtual_cols[vx]
    kernel = np.broadcast_to(np.arange(len(ci), dtype=np.int32), (n, len(ci))).copy()
    return Reads(channel=channel, vy=vy, vx=vx, y=y, x=x, is_padding=(channel < 0) | (y < 0) | (x < 0),
                 kernel=kernel, vc=vc)


#: Elements (steps x reads) one chunk of :func:`assemble_output` / ``window_read_intervals`` gathers at once:
#: bounds their working memory to a few arrays of this many entries, whatever the kernel size.
CHUNK_ELEMENTS = 1 << 21
#: Steps reading more real cells than this are computed one by one on strided views instead of gathered.
SLICE_ABOVE = 1 << 12


def _real_offsets(virtual: np.ndarray, corners: np.ndarray, k: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Along one axis, for each window corner: the kernel offsets whose virtual cell is a real input cell
    (padding and inserted zeros read nothing), packed to the left, and the input index each reads.
    Arrays (len(corners), m) with m = the most real cells any window covers (<= min(k, input size));
    unused places hold offset -1."""
    real = np.flatnonzero(virtual >= 0)                        # virtual indices of real cells, ascending
    first = np.searchsorted(real, corners)
    last = np.searchsorted(real, corners + (k - 1) * d, side="right")
    hits = [real[a:b] for a, b in zip(first, last)]
    hits = [h[(h - c) % d == 0] for h, c in zip(hits, corners)] if d > 1 else hits
    m = max((len(h) for h in hits), default=0)
    offset = np.full((len(corners), max(m, 1)), -1, np.int64)
    index = np.zeros((len(corners), max(m, 1)), np.int64)
    for row, (h, c) in enumerate(zip(hits, corners)):
        offset[row, :len(h)] = (h - c) // d
        index[row, :len(h)] = virtual[h]
    return offset, index


def assemble_output(plan_: Plan) -> np.ndarray:
    """The output computed only from the steps: each step writes one output cell from the cells it reads
    (windowed ops) or the one cell it moves (shuffles); a step of a filter with a bias adds the bias.

    A windowed step reads ``channels_per_group*kh*kw`` virtual cells, but padding and inserted zeros add
    nothing to a sum or a max (and a mean counts them by formula), so only the window's real input cells are
    gathered: per axis, the kernel offsets of a window corner that land on input rows/columns. Steps go in
    chunks of at most CHUNK_ELEMENTS gathered values, so memory stays O(cubes) for any kernel, dilation,
    stride or padding (a step reads at most channels_per_group*min(kh, H)*min(kw, W) real cells)."""
    output = np.zeros(plan_.spec.output_grid)
    steps = plan_.steps
    if plan_.reduce == "move":
        c, y, x = steps.src.T
        output[tuple(steps.out.T)] = plan_.grid_input[c, y, x]
        return output
    if plan_.reduce == "add":          # each step sums the cell ``src`` of both inputs
        c, y, x = steps.src.T
        output[tuple(steps.out.T)] = plan_.grid_input[c, y, x] + plan_.grid_other[c, y, x]
        return output
    if plan_.reduce == "concat":       # ``src`` counts channels through the first input, then the second
        c, y, x = steps.src.T
        stacked = np.concatenate([plan_.grid_input, plan_.grid_other])
        output[tuple(steps.out.T)] = stacked[c, y, x]
        return output
    if plan_.reduce == "elementwise":
        c, y, x = steps.src.T
        output[tuple(steps.out.T)] = plan_.elementwise(plan_.grid_input[c, y, x], c)
        return output
    kh, kw = plan_.kernel_size
    dh, dw = plan_.dilation
    cpg = plan_.filters.shape[1]          # channels along the gather kernel (x kd slices for a depth window)
    # per distinct window row / column: real kernel offsets and the input row / column they read
    corner_rows, row_of_step = np.unique(steps.window[:, 0], return_inverse=True)
    corner_cols, col_of_step = np.unique(steps.window[:, 1], return_inverse=True)
    ky, iy = _real_offsets(plan_.virtual_rows, corner_rows.astype(np.int64), kh, dh)
    kx, ix = _real_offsets(plan_.virtual_cols, corner_cols.astype(np.int64), kw, dw)
    my, mx = ky.shape[1], kx.shape[1]
    per_step = max(1, cpg * my * mx)
    if per_step > SLICE_ABOVE:
        output[tuple(steps.out.T)] = _steps_on_views(plan_, ky, iy, kx, ix, row_of_step, col_of_step)
        _add_bias(output, plan_)
        return output
    chunk = max(1, CHUNK_ELEMENTS // per_step)
    ci = np.arange(cpg)
    for start in range(0, len(steps), chunk):
        part = slice(start, start + chunk)
        f = steps.filter[part].astype(np.intp)
        r, c = row_of_step[part], col_of_step[part]
        channel = plan_.virtual_channels[step_channels(plan_, np.arange(len(steps))[part])]     # (n, cpg)
        yy, xx = ky[r], kx[c]                                                          # (n, my), (n, mx)
        valid = (yy >= 0)[:, None, :, None] & (xx >= 0)[:, None, None, :]              # (n, 1, my, mx)
        if plan_.depth is not None:       # a padding depth slice reads nothing
            valid = valid & (channel >= 0)[:, :, None, None]
        values = plan_.grid_input[np.maximum(channel, 0)[:, :, None, None], iy[r][:, None, :, None],
                                  ix[c][:, None, None, :]]
        if plan_.reduce == "sum":
            weights = plan_.filters[f[:, None, None, None], ci[None, :, None, None],
                                    np.maximum(yy, 0)[:, None, :, None], np.maximum(xx, 0)[:, None, None, :]]
            result = np.einsum("ncyx,ncyx->n", np.where(valid, values, 0.0), weights)
        elif plan_.reduce == "max":
            # PyTorch's max pooling reads padding as -inf: only real cells can win (all padding: -inf)
            result = np.where(valid, values, -np.inf).reshape(len(f), -1).max(axis=1)
        else:
            total = np.where(valid, values, 0.0).reshape(len(f), -1).sum(axis=1)
            result = total / _mean_divisor(plan_, valid.reshape(len(f), -1).sum(axis=1))
        output[tuple(steps.out[part].T)] = result
    _add_bias(output, plan_)
    return output


def _progression(offsets: np.ndarray, indices: np.ndarray) -> tuple[slice, slice] | None:
    """The real kernel offsets of one window corner along one axis, and the input indices they read, as two
    slices: both are arithmetic progressions (kernel taps every ``dilation``, real cells every transposed
    ``stride``: their intersection is regular). None when the window covers no real cell on this axis."""
    count = int((offsets >= 0).sum())
    if count == 0:
        return None
    k0, i0 = int(offsets[0]), int(indices[0])
    k_step = int(offsets[1] - k0) if count > 1 else 1
    i_step = int(indices[1] - i0) if count > 1 else 1
    return slice(k0, k0 + (count - 1) * k_step + 1, k_step), slice(i0, i0 + (count - 1) * i_step + 1, i_step)


def _steps_on_views(plan_: Plan, ky, iy, kx, ix, row_of_step, col_of_step) -> np.ndarray:
    """Each step's value from strided views of its real input cells and kernel taps (no copy): for steps that
    read many cells, where gathering them would cost more than the arithmetic. Same result as the gather."""
    rows = [_progression(k, i) for k, i in zip(ky, iy)]
    cols = [_progression(k, i) for k, i in zip(kx, ix)]
    steps = plan_.steps
    cpg = plan_.channels_per_group
    filters = steps.filter.astype(np.intp)
    base = _group_base(plan_, filters)
    if plan_.depth is not None:
        return _depth_steps_on_views(plan_, rows, cols, row_of_step, col_of_step)
    include_pad = getattr(plan_.spec, "count_include_pad", True)
    kh, kw = plan_.kernel_size
    result = np.empty(len(steps))
    for s in range(len(steps)):
        along_y, along_x = rows[row_of_step[s]], cols[col_of_step[s]]
        if along_y is None or along_x is None:           # the window reads padding only
            result[s] = -np.inf if plan_.reduce == "max" else 0.0
            continue
        values = plan_.grid_input[base[s]:base[s] + cpg, along_y[1], along_x[1]]
        if plan_.reduce == "sum":
            result[s] = np.einsum("cyx,cyx->", plan_.filters[filters[s], :, along_y[0], along_x[0]], values)
        elif plan_.reduce == "max":
            result[s] = values.max()
        else:
            result[s] = values.sum() / (cpg * kh * kw if include_pad else values.size)
    return result


def _depth_steps_on_views(plan_: Plan, rows, cols, row_of_step, col_of_step) -> np.ndarray:
    """:func:`_steps_on_views` for a depth window (convolutions only): the real channels of each step's slices
    gathered, the rows and columns as strided views."""
    channels = plan_.virtual_channels[step_channels(plan_, np.arange(len(plan_.steps)))]
    filters = plan_.steps.filter.astype(np.intp)
    result = np.zeros(len(plan_.steps))
    for s in range(len(plan_.steps)):
        along_y, along_x = rows[row_of_step[s]], cols[col_of_step[s]]
        real = channels[s] >= 0
        if along_y is None or along_x is None or not real.any():
            continue
        values = plan_.grid_input[channels[s][real]][:, along_y[1], along_x[1]]
        result[s] = np.einsum("cyx,cyx->", plan_.filters[filters[s]][real][:, along_y[0], along_x[0]], values)
    return result


def _mean_divisor(plan_: Plan, real_count: np.ndarray) -> np.ndarray:
    """Average pooling divides by the whole window, or by its real cells when padding does not count."""
    if getattr(plan_.spec, "count_include_pad", True):
        kh, kw = plan_.kernel_size
        return np.full(len(real_count), plan_.channels_per_group * kh * kw, np.float64)
    return real_count.astype(np.float64)
