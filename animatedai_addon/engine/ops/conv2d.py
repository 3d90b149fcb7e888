"""Conv2d: ``torch.nn.functional.conv2d`` with string paddings; and its panel forms (depthwise, separable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import SpecError
from ..graph import Chain
from ..kernels import KERNEL_ITEMS, RANDOM, check_kernel_name, named_weights
from ..operation import Field, Form, Operation
from ..plans import axis_map, input_values, weight_values, windowed_plan
from ..specbase import (PADDING_WORDS, Filters, Spec2d, check_cells, check_int, check_pair, check_window_fits, hw,
                        same_pads, tag, windowed_extent)
from . import fields, torch_text


def check_padding(value) -> str | tuple[int, int, int, int]:
    """'valid' | 'same' | 'full' | int | (h, w) | (top, bottom, left, right)."""
    allowed = ("'valid', 'same', 'full', an integer >= 0, an (h, w) pair "
               "or (top, bottom, left, right)")
    if isinstance(value, str):
        word = value.strip().lower()
        if word not in PADDING_WORDS:
            raise SpecError("padding", value, allowed)
        return word
    if isinstance(value, (list, tuple)):
        if len(value) == 2:
            h, w = (check_int("padding", v, 0) for v in value)
            return (h, h, w, w)
        if len(value) == 4:
            return tuple(check_int("padding", v, 0) for v in value)
        raise SpecError("padding", value, allowed)
    try:
        p = check_int("padding", value, 0)
    except SpecError:
        raise SpecError("padding", value, allowed) from None
    return (p, p, p, p)


def padding_label(padding) -> str:
    return padding if isinstance(padding, str) else "p" + "-".join(map(str, padding))


@dataclass(frozen=True)
class Conv2d(Filters, Spec2d):
    """``torch.nn.functional.conv2d`` with string paddings added (TensorFlow's 'same' for any stride)."""

    out_channels: int = 8
    kernel_size: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int, int, int] = "valid"
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = False
    weights: str = RANDOM     # the seeded random weights, or a named 3x3 kernel (engine/kernels.py)

    op: ClassVar[str] = "conv2d"

    def __post_init__(self):
        super().__post_init__()
        self.check_filters(check_pair)
        self._set("padding", check_padding(self.padding))
        t, b, l, r = self.pads
        for i, (axis, size, before, after) in enumerate((("height", self.height, t, b), ("width", self.width, l, r))):
            check_window_fits(axis, size, self.kernel_size[i], self.stride[i], self.dilation[i], before, after,
                              self.kernel_size, self.dilation)
        check_cells("output", self.output_shape)
        self._set("weights", check_kernel_name(self.weights, self.kernel_size))

    def to_dict(self) -> dict:
        """As every spec's, without ``weights`` while it is the default (keeps the keys of earlier clips)."""
        out = super().to_dict()
        if out["weights"] == RANDOM:
            del out["weights"]
        return out

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """Padding resolved to (top, bottom, left, right) cells."""
        p = self.padding
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        if p == "valid":
            return (0, 0, 0, 0)
        if p == "same":
            return same_pads(self.height, kh, sh, dh) + same_pads(self.width, kw, sw, dw)
        if p == "full":
            return (dh * (kh - 1),) * 2 + (dw * (kw - 1),) * 2
        return p

    @property
    def output_shape(self) -> tuple[int, int, int]:
        t, b, l, r = self.pads
        return (self.out_channels,
                windowed_extent(self.height, self.kernel_size[0], self.stride[0], self.dilation[0], t, b),
                windowed_extent(self.width, self.kernel_size[1], self.stride[1], self.dilation[1], l, r))

    @property
    def is_depthwise(self) -> bool:
        return self.groups == self.in_channels and self.groups > 1

    @property
    def label(self) -> str:
        name = "conv " + hw(self.kernel_size) + tag("s", self.stride) + tag("d", self.dilation)
        if self.is_depthwise:
            name += " depthwise"
        elif self.groups > 1:
            name += f" g{self.groups}"
        return name + " " + padding_label(self.padding)

    def virtual_extent(self) -> tuple[int, int]:
        t, b, l, r = self.pads
        return self.height + t + b, self.width + l + r

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def torch_call(self) -> str:
        """``nn.Conv2d(3, 6, kernel_size=5, bias=False)`` (``bias`` left out when True, torch's default); an
        uneven padding runs as ``nn.ZeroPad2d`` first."""
        t, b, l, r = self.pads
        if self.padding == "same" and self.stride == (1, 1):
            padding, prefix = "same", ""
        elif (t, l) == (b, r):
            padding, prefix = (t, l), ""
        else:
            padding, prefix = (0, 0), f"nn.ZeroPad2d(({l}, {r}, {t}, {b})), "
        return torch_text.call("Conv2d", (self.in_channels, self.out_channels), [
            ("kernel_size", self.kernel_size, None), ("stride", self.stride, (1, 1)), ("padding", padding, (0, 0)),
            ("dilation", self.dilation, (1, 1)), ("groups", self.groups, 1), ("bias", self.bias, True)], prefix)

    def output_formula(self) -> list[str]:
        t, b, l, r = self.pads
        _, oh, ow = self.output_shape
        return torch_text.axis_lines(("H", "W"), [
            torch_text.windowed_line(self.height, self.kernel_size[0], self.stride[0], self.dilation[0], t, b, oh),
            torch_text.windowed_line(self.width, self.kernel_size[1], self.stride[1], self.dilation[1], l, r, ow)])


def plan_conv2d(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """Conv2d: each step is one filter at one window position, summing channels_per_group*kh*kw products."""
    values = input_values(spec, input, seed)
    weights = conv2d_weights(spec, weights, seed)
    t, b, l, r = spec.pads
    return windowed_plan(spec, values, weights, weights, axis_map(spec.height, t, b), axis_map(spec.width, l, r),
                         spec.stride, order, "sum", spec.dilation)


def conv2d_weights(spec, weights, seed: int):
    """The weights (C_out, C_in/groups, kh, kw): an array as given; a kernel name (``weights="sobel_x"``) or
    None with a named ``spec.weights``: that kernel in every filter channel; else seeded."""
    kh, kw = spec.kernel_size
    shape = (spec.out_channels, spec.in_channels // spec.groups, kh, kw)
    name = spec.weights if weights is None else weights
    if isinstance(name, str):
        name = check_kernel_name(name, spec.kernel_size)
        if name != RANDOM:
            return named_weights(name, shape)
        weights = None
    return weight_values(weights, shape, seed)


# --- named constructors -----------------------------------------------------------

def depthwise(in_channels: int, height: int, width: int, kernel_size=3, multiplier: int = 1, **kwargs) -> Conv2d:
    """Depthwise conv: one filter group per input channel (groups = in_channels)."""
    in_channels = check_int("in_channels", in_channels)
    multiplier = check_int("multiplier", multiplier)
    return Conv2d(in_channels, height, width, out_channels=in_channels * multiplier,
                  kernel_size=kernel_size, groups=in_channels, **kwargs)


def pointwise(in_channels: int, height: int, width: int, out_channels: int) -> Conv2d:
    """1x1 conv mixing channels at every position."""
    return Conv2d(in_channels, height, width, out_channels=out_channels, kernel_size=1)


def depthwise_separable(in_channels: int, height: int, width: int, out_channels: int,
                        kernel_size=3, padding="same", stride=1) -> Chain:
    """Depthwise conv then pointwise (1x1) conv."""
    dw = depthwise(in_channels, height, width, kernel_size, padding=padding, stride=stride)
    _, h, w = dw.output_shape
    return Chain((dw, pointwise(in_channels, h, w, out_channels)), name="depthwise separable")


def mobilenet_block(in_channels: int, height: int, width: int, expansion: int = 2,
                    out_channels: int | None = None, kernel_size=3, stride=1):
    """MobileNetV2's inverted residual: 1x1 expand, ReLU6, depthwise, ReLU6, linear 1x1 project, and the skip
    Add of the block's input (a :class:`Graph`) when the shapes allow it, as in the paper (stride 1 and
    out_channels == in_channels); otherwise the same body as a :class:`Chain`, without the skip."""
    from ..graph import Graph, Node
    from .activation import ReLU6
    from .add import Add
    in_channels = check_int("in_channels", in_channels)
    expansion = check_int("expansion", expansion)
    hidden = in_channels * expansion
    out_channels = in_channels if out_channels is None else out_channels
    expand = pointwise(in_channels, height, width, hidden)
    dw = depthwise(hidden, height, width, kernel_size, padding="same", stride=stride)
    _, h, w = dw.output_shape
    body = [("expand", expand), ("expand_relu6", ReLU6(hidden, height, width)), ("depthwise", dw),
            ("depthwise_relu6", ReLU6(hidden, h, w)), ("project", pointwise(hidden, h, w, out_channels))]
    if dw.stride != (1, 1) or out_channels != in_channels:
        return Chain(tuple(spec for _, spec in body), name="mobilenet block")
    nodes = [Node(name, spec, (previous,)) for (name, spec), previous in
             zip(body, ["input"] + [name for name, _ in body[:-1]])]
    return Graph(tuple(nodes) + (Node("add", Add(out_channels, h, w), ("project", "input")),), name="mobilenet block")


# --- the panel ---------------------------------------------------------------------

KERNEL = Field("weights", "enum", "Kernel", "The filters' weights: seeded random, or a named 3x3 kernel in every "
               "filter channel", RANDOM, items=KERNEL_ITEMS)
MULTIPLIER = Field("multiplier", "count", "Multiplier",
                   "Filters per input channel (out_channels = in_channels * this)", 1)


def _shape(get) -> tuple[int, int, int]:
    return get("in_channels"), get("height"), get("width")


def _conv_settings(spec) -> dict:
    return {**fields.shape_settings(spec), "kernel_size": spec.kernel_size, "stride": spec.stride,
            "dilation": spec.dilation, **fields.padding_settings(spec.padding)}


def _conv2d_settings(spec):
    if not isinstance(spec, Conv2d):
        return None
    return {**_conv_settings(spec), "out_channels": spec.out_channels, "groups": spec.groups, "bias": spec.bias,
            "weights": spec.weights}


def _depthwise_settings(spec):
    if not (isinstance(spec, Conv2d) and spec.is_depthwise and spec.out_channels % spec.in_channels == 0
            and not spec.bias):
        return None
    return {**_conv_settings(spec), "multiplier": spec.out_channels // spec.in_channels, "weights": spec.weights}


def _separable_settings(spec):
    if not (isinstance(spec, Chain) and len(spec.stages) == 2
            and all(isinstance(stage, Conv2d) and not stage.bias for stage in spec.stages)):
        return None
    first, last = spec.stages
    return {**fields.shape_settings(first), "out_channels": last.out_channels, "kernel_size": first.kernel_size,
            "stride": first.stride, **fields.padding_settings(first.padding)}


CONV2D_FORM = Form(
    "conv2d", "Convolution", "2D convolution (torch.nn.functional.conv2d), with 'same' and 'full' padding",
    fields.SHAPE_2D + (fields.OUT_CHANNELS, fields.KERNEL_SIZE, fields.STRIDE, fields.PADDING_MODE, fields.PADDING,
                       fields.DILATION, fields.GROUPS, fields.BIAS, KERNEL),
    build=lambda get: Conv2d(*_shape(get), get("out_channels"), get("kernel_size"), get("stride"),
                             fields.padding_value(get), get("dilation"), get("groups"), get("bias"), get("weights")),
    settings=_conv2d_settings)

DEPTHWISE_FORM = Form(
    "depthwise", "Depthwise Convolution", "One filter group per input channel (groups = in_channels)",
    fields.SHAPE_2D + (MULTIPLIER, fields.KERNEL_SIZE, fields.STRIDE, fields.PADDING_MODE, fields.PADDING,
                       fields.DILATION, KERNEL),
    build=lambda get: depthwise(*_shape(get), get("kernel_size"), get("multiplier"), stride=get("stride"),
                                padding=fields.padding_value(get), dilation=get("dilation"),
                                weights=get("weights")),
    settings=_depthwise_settings, preference=1)

SEPARABLE_FORM = Form(
    "depthwise_separable", "Depthwise-Separable", "Depthwise convolution, then a 1x1 convolution",
    fields.SHAPE_2D + (fields.OUT_CHANNELS, fields.KERNEL_SIZE, fields.STRIDE, fields.PADDING_MODE, fields.PADDING),
    build=lambda get: depthwise_separable(*_shape(get), get("out_channels"), get("kernel_size"),
                                          fields.padding_value(get), get("stride")),
    settings=_separable_settings)

OPERATIONS = (Operation("conv2d", Conv2d, plan_conv2d),)
FORMS = (CONV2D_FORM, DEPTHWISE_FORM, SEPARABLE_FORM)
