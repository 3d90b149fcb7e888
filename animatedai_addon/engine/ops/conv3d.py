"""Conv3d: ``torch.nn.functional.conv3d`` over a (C, D, H, W) volume, with Conv2d's padding words.

Added through the registry (this module, its preset, its oracle entry). The volume folds onto the grid by the
one rule of :mod:`..tensors`: depth slice ``d`` is a block of C channels along the flow (grid channel
``d*C + c``), so the clip shows the D slices one behind the other, and a filter (C/groups, kd, kh, kw) as kd
slices of C/groups channels. The window slides along depth too (:class:`..plans.DepthWindow`): on the shared
windowed machinery, so what every windowed operation gets (highlights, the budget, both scene modes) it gets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ..errors import SpecError
from ..operation import Field, Form, Operation
from ..plans import axis_map, input_values, weight_values, windowed_plan
from ..specbase import (PADDING_WORDS, Filters, Spec3d, check_cells, check_int, check_window_fits, same_pads,
                        windowed_extent)
from ..tensors import GridFold
from . import fields, torch_text
from .conv2d import padding_label

AXES = ("depth", "height", "width")


def check_triple(name: str, value, minimum: int = 1) -> tuple[int, int, int]:
    """An int or a (d, h, w) triple, returned as (d, h, w)."""
    allowed = f"an integer or a (depth, height, width) triple of integers >= {minimum}"
    if isinstance(value, (list, tuple)):
        if len(value) != 3:
            raise SpecError(name, value, allowed)
        return tuple(check_int(name, v, minimum) for v in value)
    try:
        single = check_int(name, value, minimum)
    except SpecError:
        raise SpecError(name, value, allowed) from None
    return (single,) * 3


def check_padding_3d(value) -> str | tuple[int, ...]:
    """'valid' | 'same' | 'full' | int | (d, h, w) | (front, back, top, bottom, left, right)."""
    allowed = ("'valid', 'same', 'full', an integer >= 0, a (depth, height, width) triple "
               "or (front, back, top, bottom, left, right)")
    if isinstance(value, str):
        word = value.strip().lower()
        if word not in PADDING_WORDS:
            raise SpecError("padding", value, allowed)
        return word
    if isinstance(value, (list, tuple)) and len(value) == 6:
        return tuple(check_int("padding", v, 0) for v in value)
    try:
        d, h, w = check_triple("padding", value, 0)
    except SpecError:
        raise SpecError("padding", value, allowed) from None
    return (d, d, h, h, w, w)


@dataclass(frozen=True)
class Conv3d(Filters, Spec3d):
    """``torch.nn.functional.conv3d`` with string paddings added (TensorFlow's 'same' for any stride)."""

    out_channels: int = 4
    kernel_size: tuple[int, int, int] = (3, 3, 3)
    stride: tuple[int, int, int] = (1, 1, 1)
    padding: str | tuple[int, ...] = "valid"
    dilation: tuple[int, int, int] = (1, 1, 1)
    groups: int = 1
    bias: bool = False

    op: ClassVar[str] = "conv3d"

    def __post_init__(self):
        super().__post_init__()
        self.check_filters(check_triple)
        self._set("padding", check_padding_3d(self.padding))
        pads = self.pads
        for i, axis in enumerate(AXES):
            check_window_fits(axis, self.input_shape[1 + i], self.kernel_size[i], self.stride[i], self.dilation[i],
                              pads[2 * i], pads[2 * i + 1], self.kernel_size, self.dilation)
        check_cells("output", self.output_shape + (self.batch,))

    @property
    def pads(self) -> tuple[int, int, int, int, int, int]:
        """Padding resolved to (front, back, top, bottom, left, right) cells."""
        p = self.padding
        if p == "valid":
            return (0,) * 6
        if p == "same":
            return sum((same_pads(n, k, s, d) for n, k, s, d in
                        zip(self.input_shape[1:], self.kernel_size, self.stride, self.dilation)), ())
        if p == "full":
            return sum(((d * (k - 1),) * 2 for k, d in zip(self.kernel_size, self.dilation)), ())
        return p

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        pads = self.pads
        return (self.out_channels,) + tuple(
            windowed_extent(n, k, s, d, pads[2 * i], pads[2 * i + 1])
            for i, (n, k, s, d) in enumerate(zip(self.input_shape[1:], self.kernel_size, self.stride, self.dilation)))

    @property
    def label(self) -> str:
        def dims(t):
            return "x".join(map(str, t))
        name = "conv3d " + dims(self.kernel_size)
        for prefix, value in (("s", self.stride), ("d", self.dilation)):
            if value != (1, 1, 1):
                name += f" {prefix}{value[0]}" if len(set(value)) == 1 else f" {prefix}{dims(value)}"
        name += f" g{self.groups}" if self.groups > 1 else ""
        p = self.padding
        return name + " " + (f"p{p[0]}" if not isinstance(p, str) and len(set(p)) == 1 else padding_label(p))

    def virtual_extent(self) -> tuple[int, int]:
        _, _, t, b, l, r = self.pads
        return self.height + t + b, self.width + l + r

    def padding_cubes(self) -> int:
        front, back = self.pads[:2]
        vh, vw = self.virtual_extent()
        virtual = (self.depth + front + back) * vh * vw
        return self.batch * self.in_channels * (virtual - math.prod(self.input_shape[1:]))

    def filter_fold(self) -> GridFold:
        return GridFold(depths=self.kernel_size[0], axes="cdyx")

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def torch_call(self) -> str:
        """``nn.Conv3d(2, 4, kernel_size=3, bias=False)``; an uneven padding runs as ``nn.ZeroPad3d`` first."""
        front, back, t, b, l, r = self.pads
        if self.padding == "same" and self.stride == (1, 1, 1):
            padding, prefix = "same", ""
        elif (front, t, l) == (back, b, r):
            padding, prefix = (front, t, l), ""
        else:
            padding, prefix = (0, 0, 0), f"nn.ZeroPad3d(({l}, {r}, {t}, {b}, {front}, {back})), "
        return torch_text.call("Conv3d", (self.in_channels, self.out_channels), [
            ("kernel_size", self.kernel_size, None), ("stride", self.stride, (1, 1, 1)),
            ("padding", padding, (0, 0, 0)), ("dilation", self.dilation, (1, 1, 1)), ("groups", self.groups, 1),
            ("bias", self.bias, True)], prefix)

    def output_formula(self) -> list[str]:
        pads = self.pads
        return torch_text.axis_lines(("D", "H", "W"), [
            torch_text.windowed_line(n, k, s, d, pads[2 * i], pads[2 * i + 1], out)
            for i, (n, k, s, d, out) in enumerate(zip(self.input_shape[1:], self.kernel_size, self.stride,
                                                      self.dilation, self.output_shape[1:]))])


def plan_conv3d(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """Conv3d: each step is one filter at one window place (depth, row, column), summing
    (C_in/groups)*kd*kh*kw products; the kernel (C_out, C_in/groups, kd, kh, kw) gathers as
    (C_out, kd*C_in/groups, kh, kw), its depth slices along the channel axis as the input's."""
    values = input_values(spec, input, seed)
    kd, kh, kw = spec.kernel_size
    cpg = spec.in_channels // spec.groups
    weights = weight_values(weights, (spec.out_channels, cpg, kd, kh, kw), seed)
    gather = weights.transpose(0, 2, 1, 3, 4).reshape(spec.out_channels, kd * cpg, kh, kw)
    front, back, t, b, l, r = spec.pads
    depth = (axis_map(spec.depth, front, back), kd, spec.dilation[0], spec.stride[0])
    return windowed_plan(spec, values, weights, gather, axis_map(spec.height, t, b), axis_map(spec.width, l, r),
                         spec.stride[1:], order, "sum", spec.dilation[1:], depth=depth)


# --- the panel ---------------------------------------------------------------------
# Depth settings beside Conv2d's (height, width) fields: every field kind stays one the panel already has.

DEPTH = Field("depth", "count", "Depth", "Input depth (slices of the volume)", 4)
KERNEL_DEPTH = Field("kernel_depth", "count", "Kernel Depth", "Kernel size along depth", 3, soft_max=16)
STRIDE_DEPTH = Field("stride_depth", "count", "Stride Depth", "Stride along depth", 1, soft_max=16)
DILATION_DEPTH = Field("dilation_depth", "count", "Dilation Depth", "Dilation along depth", 1, soft_max=16)
PADDING_DEPTH = Field("padding_depth", "pair", "Depth Padding", "Explicit padding cells: front, back", (1, 1),
                      minimum=0, soft_max=16, shown_if=("padding_mode", "explicit"))


def _padding(get):
    if get("padding_mode") != "explicit":
        return get("padding_mode")
    return tuple(get("padding_depth")) + tuple(get("padding"))


def _build(get) -> Conv3d:
    return Conv3d(get("in_channels"), get("depth"), get("height"), get("width"), get("out_channels"),
                  (get("kernel_depth"),) + tuple(get("kernel_size")), (get("stride_depth"),) + tuple(get("stride")),
                  _padding(get), (get("dilation_depth"),) + tuple(get("dilation")), get("groups"), get("bias"))


def _settings(spec):
    if not isinstance(spec, Conv3d):
        return None
    padding = {"padding_mode": spec.padding} if isinstance(spec.padding, str) else \
        {"padding_mode": "explicit", "padding_depth": spec.padding[:2], "padding": spec.padding[2:]}
    return {**fields.shape_settings(spec), "out_channels": spec.out_channels, "groups": spec.groups, "bias": spec.bias,
            "kernel_depth": spec.kernel_size[0], "kernel_size": spec.kernel_size[1:],
            "stride_depth": spec.stride[0], "stride": spec.stride[1:],
            "dilation_depth": spec.dilation[0], "dilation": spec.dilation[1:], **padding}


FORM = Form("conv3d", "Convolution 3D", "3D convolution over a volume (torch.nn.functional.conv3d), with 'same' "
            "and 'full' padding; depth slices stand one behind the other",
            (fields.IN_CHANNELS, DEPTH, fields.HEIGHT, fields.WIDTH, fields.OUT_CHANNELS, KERNEL_DEPTH,
             fields.KERNEL_SIZE, STRIDE_DEPTH, fields.STRIDE, fields.PADDING_MODE, PADDING_DEPTH, fields.PADDING,
             DILATION_DEPTH, fields.DILATION, fields.GROUPS, fields.BIAS),
            build=_build, settings=_settings)

OPERATIONS = (Operation("conv3d", Conv3d, plan_conv3d),)
FORMS = (FORM,)
