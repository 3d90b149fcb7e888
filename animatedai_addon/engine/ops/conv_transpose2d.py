"""ConvTranspose2d: ``torch.nn.functional.conv_transpose2d``, shown as a gather over a spread-out input."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import SpecError
from ..operation import Field, Form, Operation
from ..plans import axis_map, input_values, weight_values, windowed_plan
from ..specbase import Filters, Spec2d, check_cells, check_pair, hw, tag
from . import fields, torch_text


@dataclass(frozen=True)
class ConvTranspose2d(Filters, Spec2d):
    """``torch.nn.functional.conv_transpose2d``; ``padding`` is an int or (h, w) as in PyTorch."""

    out_channels: int = 8
    kernel_size: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    output_padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = False

    op: ClassVar[str] = "conv_transpose2d"

    def __post_init__(self):
        super().__post_init__()
        self.check_filters(check_pair)
        self._set("padding", check_pair("padding", self.padding, 0))
        self._set("output_padding", check_pair("output_padding", self.output_padding, 0))
        for i in range(2):
            k, s, d = self.kernel_size[i], self.stride[i], self.dilation[i]
            if self.padding[i] > d * (k - 1):
                raise SpecError("padding", self.padding,
                                f"at most dilation*(kernel_size-1) = {d * (k - 1)} per axis")
            if self.output_padding[i] >= max(s, d):
                raise SpecError("output_padding", self.output_padding,
                                f"smaller than stride or dilation (< {max(s, d)} per axis)")
        for axis, extent in zip(("height", "width"), self.output_shape[1:]):
            if extent < 1:
                raise SpecError("padding", self.padding,
                                f"small enough to leave an output: the output {axis} would be {extent}")
        check_cells("output", self.output_shape)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        def extent(i, size):
            k, s, d = self.kernel_size[i], self.stride[i], self.dilation[i]
            return (size - 1) * s - 2 * self.padding[i] + d * (k - 1) + self.output_padding[i] + 1
        return (self.out_channels, extent(0, self.height), extent(1, self.width))

    @property
    def label(self) -> str:
        name = "conv transpose " + hw(self.kernel_size) + tag("s", self.stride) + tag("d", self.dilation)
        if self.groups > 1:
            name += f" g{self.groups}"
        if self.padding != (0, 0):
            name += " p" + hw(self.padding)
        if self.output_padding != (0, 0):
            name += " op" + hw(self.output_padding)
        return name

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def torch_call(self) -> str:
        return torch_text.call("ConvTranspose2d", (self.in_channels, self.out_channels), [
            ("kernel_size", self.kernel_size, None), ("stride", self.stride, (1, 1)),
            ("padding", self.padding, (0, 0)), ("output_padding", self.output_padding, (0, 0)),
            ("groups", self.groups, 1), ("bias", self.bias, True), ("dilation", self.dilation, (1, 1))])

    def output_formula(self) -> list[str]:
        _, oh, ow = self.output_shape
        return torch_text.axis_lines(("H", "W"), [
            torch_text.transposed_line(size, self.kernel_size[i], self.stride[i], self.dilation[i], self.padding[i],
                                       self.output_padding[i], out)
            for i, (size, out) in enumerate(((self.height, oh), (self.width, ow)))])

    def mac_count(self) -> int:
        """PyTorch's count: every input cell meets out_channels/groups · kh · kw weights (the zeros the clip
        shows between input cells cost nothing)."""
        kh, kw = self.kernel_size
        return math.prod(self.input_shape) * (self.out_channels // self.groups) * kh * kw

    def _edges(self):
        """Per axis: (input size, stride, padding before, padding after) of the virtual grid."""
        for size, k, s, d, p, extra in zip((self.height, self.width), self.kernel_size, self.stride, self.dilation,
                                          self.padding, self.output_padding):
            edge = d * (k - 1) - p
            yield size, s, edge, edge + extra

    def virtual_extent(self) -> tuple[int, int]:
        return tuple((size - 1) * s + 1 + before + after for size, s, before, after in self._edges())


def transpose_kernel(weights: np.ndarray, groups: int) -> np.ndarray:
    """ConvTranspose2d weights (C_in, C_out/g, kh, kw) -> the gather kernel (C_out, C_in/g, kh, kw):
    regrouped so output channel ``o`` of group ``g`` reads that group's input channels, and flipped."""
    c_in, out_per_group, kh, kw = weights.shape
    in_per_group = c_in // groups
    grouped = weights.reshape(groups, in_per_group, out_per_group, kh, kw)
    swapped = grouped.transpose(0, 2, 1, 3, 4).reshape(groups * out_per_group, in_per_group, kh, kw)
    return np.ascontiguousarray(swapped[:, :, ::-1, ::-1])


def plan_conv_transpose2d(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """ConvTranspose2d as a stride-1 gather over the input with stride-1 zeros inserted, padded by
    dilation*(k-1)-padding on each side and output_padding more at the bottom/right."""
    values = input_values(spec, input, seed)
    kh, kw = spec.kernel_size
    weights = weight_values(weights, (spec.in_channels, spec.out_channels // spec.groups, kh, kw), seed)
    rows, cols = (axis_map(size, before, after, s) for size, s, before, after in spec._edges())
    return windowed_plan(spec, values, weights, transpose_kernel(weights, spec.groups), rows, cols, (1, 1), order,
                         "sum", spec.dilation)


OUTPUT_PADDING = Field("output_padding", "pair", "Output Padding",
                       "Extra rows/columns at the bottom/right of the output", (0, 0), minimum=0, soft_max=16)


def _settings(spec):
    if not isinstance(spec, ConvTranspose2d):
        return None
    return {**fields.shape_settings(spec), "out_channels": spec.out_channels, "kernel_size": spec.kernel_size,
            "stride": spec.stride, "padding_hw": spec.padding, "output_padding": spec.output_padding,
            "dilation": spec.dilation, "groups": spec.groups, "bias": spec.bias}


FORM = Form(
    "conv_transpose2d", "Transposed Convolution", "torch.nn.functional.conv_transpose2d",
    fields.SHAPE_2D + (fields.OUT_CHANNELS, fields.KERNEL_SIZE, fields.STRIDE, fields.PADDING_HW, OUTPUT_PADDING,
                       fields.DILATION, fields.GROUPS, fields.BIAS),
    build=lambda get: ConvTranspose2d(get("in_channels"), get("height"), get("width"), get("out_channels"),
                                      get("kernel_size"), get("stride"), get("padding_hw"), get("output_padding"),
                                      get("dilation"), get("groups"), get("bias")),
    settings=_settings)

OPERATIONS = (Operation("conv_transpose2d", ConvTranspose2d, plan_conv_transpose2d),)
FORMS = (FORM,)
