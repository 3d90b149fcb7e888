"""Conv1d: ``torch.nn.functional.conv1d`` over a (C, L) sequence, with string paddings ('causal' too).

The first operation added through the registry: this module, its preset and its oracle entry. A (C, L) tensor
is shown on the grid as (C, 1, L) (one row of cells per channel), by the one grid rule of ``specbase``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import SpecError
from ..operation import Field, Form, Operation
from ..plans import axis_map, input_values, weight_values, windowed_plan
from ..specbase import (Filters, Spec1d, check_cells, check_int, check_single, check_window_fits, same_pads,
                        windowed_extent)
from . import fields, torch_text

#: Padding words of Conv1d: Conv2d's, and 'causal' (all the padding on the left: no step reads past its output).
PADDING_WORDS_1D = ("valid", "same", "full", "causal")


def check_padding_1d(value) -> str | tuple[int, int]:
    """'valid' | 'same' | 'full' | 'causal' | int | (left, right)."""
    allowed = "'valid', 'same', 'full', 'causal', an integer >= 0 or (left, right)"
    if isinstance(value, str):
        word = value.strip().lower()
        if word not in PADDING_WORDS_1D:
            raise SpecError("padding", value, allowed)
        return word
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            p = check_int("padding", value[0], 0)
            return (p, p)
        if len(value) == 2:
            return tuple(check_int("padding", v, 0) for v in value)
        raise SpecError("padding", value, allowed)
    try:
        p = check_int("padding", value, 0)
    except SpecError:
        raise SpecError("padding", value, allowed) from None
    return (p, p)


@dataclass(frozen=True)
class Conv1d(Filters, Spec1d):
    """``torch.nn.functional.conv1d``; ``padding`` also takes 'same' (TensorFlow's rule, as Conv2d), 'full'
    and 'causal' (``dilation*(kernel_size-1)`` on the left only)."""

    out_channels: int = 8
    kernel_size: int = 3
    stride: int = 1
    padding: str | tuple[int, int] = "valid"
    dilation: int = 1
    groups: int = 1
    bias: bool = False

    op: ClassVar[str] = "conv1d"

    def __post_init__(self):
        super().__post_init__()
        self.check_filters(check_single)
        self._set("padding", check_padding_1d(self.padding))
        left, right = self.pads
        check_window_fits("length", self.length, self.kernel_size, self.stride, self.dilation, left, right,
                          self.kernel_size, self.dilation)
        check_cells("output", self.output_shape)

    @property
    def pads(self) -> tuple[int, int]:
        """Padding resolved to (left, right) cells."""
        p, k, s, d = self.padding, self.kernel_size, self.stride, self.dilation
        if p == "valid":
            return (0, 0)
        if p == "same":
            return same_pads(self.length, k, s, d)
        if p == "full":
            return (d * (k - 1),) * 2
        if p == "causal":
            return (d * (k - 1), 0)
        return p

    @property
    def output_shape(self) -> tuple[int, int]:
        return (self.out_channels,
                windowed_extent(self.length, self.kernel_size, self.stride, self.dilation, *self.pads))

    @property
    def label(self) -> str:
        name = f"conv1d k{self.kernel_size}"
        for prefix, value in (("s", self.stride), ("d", self.dilation)):
            name += f" {prefix}{value}" if value != 1 else ""
        name += f" g{self.groups}" if self.groups > 1 else ""
        p = self.padding
        return name + " " + (p if isinstance(p, str) else "p" + "-".join(map(str, p)))

    def virtual_extent(self) -> tuple[int, int]:
        left, right = self.pads
        return 1, self.length + left + right

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def torch_call(self) -> str:
        """``nn.Conv1d(4, 8, kernel_size=3, bias=False)``; an uneven padding runs as ``nn.ZeroPad1d`` first."""
        left, right = self.pads
        if self.padding == "same" and self.stride == 1:
            padding, prefix = "same", ""
        elif left == right:
            padding, prefix = left, ""
        else:
            padding, prefix = 0, f"nn.ZeroPad1d(({left}, {right})), "
        return torch_text.call("Conv1d", (self.in_channels, self.out_channels), [
            ("kernel_size", self.kernel_size, None), ("stride", self.stride, 1), ("padding", padding, 0),
            ("dilation", self.dilation, 1), ("groups", self.groups, 1), ("bias", self.bias, True)], prefix)

    def output_formula(self) -> list[str]:
        left, right = self.pads
        return torch_text.axis_lines(("L",), [torch_text.windowed_line(
            self.length, self.kernel_size, self.stride, self.dilation, left, right, self.output_shape[1])])


def plan_conv1d(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """Conv1d: each step is one filter at one window position along the sequence; the (C, L) input is the
    grid (C, 1, L) and the kernel (C_out, C_in/groups, k) the gather kernel (C_out, C_in/groups, 1, k)."""
    values = input_values(spec, input, seed)
    k = spec.kernel_size
    weights = weight_values(weights, (spec.out_channels, spec.in_channels // spec.groups, k), seed)
    left, right = spec.pads
    return windowed_plan(spec, values, weights, weights[:, :, None, :], axis_map(1, 0, 0),
                         axis_map(spec.length, left, right), (1, spec.stride), order, "sum", (1, spec.dilation))


# --- the panel ---------------------------------------------------------------------

LENGTH = Field("length", "count", "Length", "Input length (positions of the sequence)", 16)
KERNEL = Field("kernel_length", "count", "Kernel", "Kernel length", 3, soft_max=16)
STRIDE = Field("stride_length", "count", "Stride", "Stride along the sequence", 1, soft_max=16)
DILATION = Field("dilation_length", "count", "Dilation", "Dilation along the sequence", 1, soft_max=16)
PADDING_MODE = Field(
    "padding_mode_1d", "enum", "Padding", "How the sequence is padded before the window slides along it", "valid",
    items=(("valid", "Valid", "No padding: the window stays inside the sequence"),
           ("same", "Same", "Output = ceil(length / stride) (TensorFlow's rule; the odd cell at the end)"),
           ("full", "Full", "Every position where the window overlaps the sequence at all"),
           ("causal", "Causal", "dilation*(kernel-1) cells on the left only: no output reads a later position"),
           ("explicit", "Explicit", "Padding cells given as left, right")))
PADDING_LR = Field("padding_lr", "pair", "Explicit Padding", "Padding cells: left, right", (1, 1), minimum=0,
                   soft_max=16, shown_if=("padding_mode_1d", "explicit"))


def _build(get) -> Conv1d:
    padding = tuple(get("padding_lr")) if get("padding_mode_1d") == "explicit" else get("padding_mode_1d")
    return Conv1d(get("in_channels"), get("length"), get("out_channels"), get("kernel_length"),
                  get("stride_length"), padding, get("dilation_length"), get("groups"), get("bias"))


def _settings(spec):
    if not isinstance(spec, Conv1d):
        return None
    padding = {"padding_mode_1d": spec.padding} if isinstance(spec.padding, str) else \
        {"padding_mode_1d": "explicit", "padding_lr": spec.padding}
    return {"in_channels": spec.in_channels, "length": spec.length, "out_channels": spec.out_channels,
            "kernel_length": spec.kernel_size, "stride_length": spec.stride, "dilation_length": spec.dilation,
            "groups": spec.groups, "bias": spec.bias, **padding}


FORM = Form("conv1d", "Convolution 1D", "1D convolution over a sequence (torch.nn.functional.conv1d), with "
            "'same', 'full' and 'causal' padding",
            (fields.IN_CHANNELS, LENGTH, fields.OUT_CHANNELS, KERNEL, STRIDE, PADDING_MODE, PADDING_LR, DILATION,
             fields.GROUPS, fields.BIAS),
            build=_build, settings=_settings)

OPERATIONS = (Operation("conv1d", Conv1d, plan_conv1d),)
FORMS = (FORM,)
