"""MaxPool2d and AvgPool2d: ``torch.nn.functional.max_pool2d`` / ``avg_pool2d``, one channel per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import SpecError
from ..operation import Field, Form, Operation
from ..plans import axis_map, input_values, no_weights, windowed_plan
from ..specbase import Spec2d, check_pair, check_window_fits, hw, tag, windowed_extent
from . import fields, torch_text


@dataclass(frozen=True)
class _Pool2d(Spec2d):
    kernel_size: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self):
        super().__post_init__()
        self._set("kernel_size", check_pair("kernel_size", self.kernel_size))
        stride = self.kernel_size if self.stride is None else self.stride
        self._set("stride", check_pair("stride", stride))
        self._set("padding", check_pair("padding", self.padding, 0))

    @property
    def window_dilation(self) -> tuple[int, int]:
        return (1, 1)

    def _check_shape(self):
        for i, (axis, size) in enumerate((("height", self.height), ("width", self.width))):
            k, p = self.kernel_size[i], self.padding[i]
            limit = k // 2   # PyTorch checks the kernel size, not the dilated window
            if p > limit:
                raise SpecError("padding", self.padding, f"at most half the kernel size, {limit}, per axis (PyTorch's rule)")
            check_window_fits(axis, size, k, self.stride[i], self.window_dilation[i], p, p, self.kernel_size,
                              self.window_dilation)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        (ph, pw), (dh, dw) = self.padding, self.window_dilation
        return (self.in_channels,
                windowed_extent(self.height, self.kernel_size[0], self.stride[0], dh, ph, ph),
                windowed_extent(self.width, self.kernel_size[1], self.stride[1], dw, pw, pw))

    def _pool_label(self, word: str) -> str:
        name = f"{word} pool " + hw(self.kernel_size)
        if self.stride != self.kernel_size:
            name += " s" + (str(self.stride[0]) if self.stride[0] == self.stride[1] else hw(self.stride))
        if self.padding != (0, 0):
            name += " p" + (str(self.padding[0]) if self.padding[0] == self.padding[1] else hw(self.padding))
        return name

    def virtual_extent(self) -> tuple[int, int]:
        return self.height + 2 * self.padding[0], self.width + 2 * self.padding[1]

    def reads_per_step(self) -> int:
        kh, kw = self.kernel_size
        return kh * kw

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def _pool_call(self, name: str, extra: list) -> str:
        return torch_text.call(name, (), [("kernel_size", self.kernel_size, None),
                                          ("stride", self.stride, self.kernel_size),
                                          ("padding", self.padding, (0, 0))] + extra)

    def output_formula(self) -> list[str]:
        (_, oh, ow), (ph, pw), (dh, dw) = self.output_shape, self.padding, self.window_dilation
        return torch_text.axis_lines(("H", "W"), [
            torch_text.windowed_line(self.height, self.kernel_size[0], self.stride[0], dh, ph, ph, oh),
            torch_text.windowed_line(self.width, self.kernel_size[1], self.stride[1], dw, pw, pw, ow)])

    def parameter_count(self) -> int:
        return 0

    def mac_count(self) -> int:
        """0: pooling compares or adds, it multiplies nothing by a weight (PyTorch's flop counter agrees)."""
        return 0


@dataclass(frozen=True)
class MaxPool2d(_Pool2d):
    """``torch.nn.functional.max_pool2d`` (stride defaults to kernel_size; pads with -inf)."""

    dilation: tuple[int, int] = (1, 1)

    op: ClassVar[str] = "max_pool2d"

    def __post_init__(self):
        super().__post_init__()
        self._set("dilation", check_pair("dilation", self.dilation))
        self._check_shape()

    @property
    def window_dilation(self) -> tuple[int, int]:
        return self.dilation

    @property
    def label(self) -> str:
        return self._pool_label("max") + tag("d", self.dilation)

    def torch_call(self) -> str:
        return self._pool_call("MaxPool2d", [("dilation", self.dilation, (1, 1))])


@dataclass(frozen=True)
class AvgPool2d(_Pool2d):
    """``torch.nn.functional.avg_pool2d`` (stride defaults to kernel_size; padding counts by default)."""

    count_include_pad: bool = True

    op: ClassVar[str] = "avg_pool2d"

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.count_include_pad, bool):
            raise SpecError("count_include_pad", self.count_include_pad, "true or false")
        self._check_shape()

    @property
    def label(self) -> str:
        return self._pool_label("avg")

    def torch_call(self) -> str:
        return self._pool_call("AvgPool2d", [("count_include_pad", self.count_include_pad, True)])


def plan_pool2d(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """MaxPool2d / AvgPool2d: step filter = the channel it pools (one channel per step)."""
    no_weights(spec, weights)
    values = input_values(spec, input, seed)
    ph, pw = spec.padding
    kernel = np.ones((spec.in_channels, 1) + spec.kernel_size)
    reduce = "max" if spec.op == "max_pool2d" else "mean"
    return windowed_plan(spec, values, None, kernel, axis_map(spec.height, ph, ph), axis_map(spec.width, pw, pw),
                         spec.stride, order, reduce, spec.window_dilation)


COUNT_INCLUDE_PAD = Field("count_include_pad", "bool", "Count Padding",
                          "Average over padding cells too (PyTorch's default)", True)


def _pool_settings(spec) -> dict:
    return {**fields.shape_settings(spec), "kernel_size": spec.kernel_size, "stride": spec.stride,
            "padding_hw": spec.padding}


def _shape(get):
    return get("in_channels"), get("height"), get("width")


MAX_FORM = Form(
    "max_pool2d", "Max Pool", "torch.nn.functional.max_pool2d",
    fields.SHAPE_2D + (fields.KERNEL_SIZE, fields.STRIDE, fields.PADDING_HW, fields.DILATION),
    build=lambda get: MaxPool2d(*_shape(get), get("kernel_size"), get("stride"), get("padding_hw"), get("dilation")),
    settings=lambda spec: {**_pool_settings(spec), "dilation": spec.dilation} if isinstance(spec, MaxPool2d)
    else None)

AVG_FORM = Form(
    "avg_pool2d", "Average Pool", "torch.nn.functional.avg_pool2d",
    fields.SHAPE_2D + (fields.KERNEL_SIZE, fields.STRIDE, fields.PADDING_HW, COUNT_INCLUDE_PAD),
    build=lambda get: AvgPool2d(*_shape(get), get("kernel_size"), get("stride"), get("padding_hw"),
                                get("count_include_pad")),
    settings=lambda spec: {**_pool_settings(spec), "count_include_pad": spec.count_include_pad}
    if isinstance(spec, AvgPool2d) else None)

OPERATIONS = (Operation("max_pool2d", MaxPool2d, plan_pool2d), Operation("avg_pool2d", AvgPool2d, plan_pool2d))
FORMS = (MAX_FORM, AVG_FORM)
