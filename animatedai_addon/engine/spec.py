"""Specs: what an animation shows, validated when made.

Every spec is a frozen dataclass that takes its input shape first
(``in_channels, height, width``) and then the operation's own arguments with
PyTorch's names and meanings. Values are normalised on creation (``kernel_size=3``
becomes ``(3, 3)``) and checked; a bad value raises :class:`SpecError` naming the
parameter, the value and what is allowed.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import ClassVar

from .errors import SpecError

#: Largest extent of any one dimension (channels, height or width).
MAX_EXTENT = 65536
#: Largest number of cells in any one tensor the engine will plan.
MAX_CELLS = 1 << 27

PADDING_WORDS = ("valid", "same", "full")


# --- value checks -----------------------------------------------------------------

def _check_int(name: str, value, minimum: int = 1, maximum: int = MAX_EXTENT) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(name, value, f"an integer from {minimum} to {maximum}")
    value = int(value)
    if not minimum <= value <= maximum:
        raise SpecError(name, value, f"an integer from {minimum} to {maximum}")
    return value


def _check_pair(name: str, value, minimum: int = 1, maximum: int = MAX_EXTENT) -> tuple[int, int]:
    """An int or an (h, w) pair, returned as (h, w)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise SpecError(name, value, f"an integer or an (h, w) pair of integers from {minimum} to {maximum}")
        return (_check_int(name, value[0], minimum, maximum), _check_int(name, value[1], minimum, maximum))
    try:
        single = _check_int(name, value, minimum, maximum)
    except SpecError:
        raise SpecError(name, value, f"an integer or an (h, w) pair of integers from {minimum} to {maximum}") from None
    return (single, single)


def _check_padding(value) -> str | tuple[int, int, int, int]:
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
            h, w = (_check_int("padding", v, 0) for v in value)
            return (h, h, w, w)
        if len(value) == 4:
            return tuple(_check_int("padding", v, 0) for v in value)
        raise SpecError("padding", value, allowed)
    try:
        p = _check_int("padding", value, 0)
    except SpecError:
        raise SpecError("padding", value, allowed) from None
    return (p, p, p, p)


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's 'same': out = ceil(size / stride), the odd pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _windowed_extent(size: int, kernel: int, stride: int, dilation: int, before: int, after: int) -> int:
    """Output length of a window sliding over ``size`` padded cells (0 if it does not fit)."""
    span = dilation * (kernel - 1) + 1
    padded = size + before + after
    if padded < span:
        return 0
    return (padded - span) // stride + 1


def _check_cells(name: str, shape: tuple[int, int, int]) -> None:
    cells = math.prod(shape)
    if cells > MAX_CELLS:
        raise SpecError(name, shape, f"at most {MAX_CELLS:,} cells in one tensor, this would be {cells:,}")


# --- the specs --------------------------------------------------------------------

@dataclass(frozen=True)
class Spec(abc.ABC):
    """Base of every single-operation spec: the input shape ``(C, H, W)``."""

    in_channels: int
    height: int
    width: int

    op: ClassVar[str] = ""

    def __post_init__(self):
        for name in ("in_channels", "height", "width"):
            self._set(name, _check_int(name, getattr(self, name)))
        _check_cells("in_channels*height*width", self.input_shape)

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.height, self.width)

    @property
    @abc.abstractmethod
    def output_shape(self) -> tuple[int, int, int]:
        """Shape (C, H, W) of the result."""

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """Short human name, used for the clip's collection (``conv 3x3 s2 same``)."""

    def to_dict(self) -> dict:
        """Plain values (lists for pairs) with ``op`` first: what TOML presets and the panel store."""
        out = {"op": self.op}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def replace(self, **changes) -> "Spec":
        return dataclasses.replace(self, **changes)


def _hw(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def _tag(prefix: str, pair: tuple[int, int]) -> str:
    if pair == (1, 1):
        return ""
    return f" {prefix}{pair[0]}" if pair[0] == pair[1] else f" {prefix}{pair[0]}x{pair[1]}"


@dataclass(frozen=True)
class Conv2d(Spec):
    """``torch.nn.functional.conv2d`` with string paddings added (TensorFlow's 'same' for any stride)."""

    out_channels: int = 8
    kernel_size: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int, int, int] = "valid"
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    op: ClassVar[str] = "conv2d"

    def __post_init__(self):
        super().__post_init__()
        self._set("out_channels", _check_int("out_channels", self.out_channels))
        self._set("kernel_size", _check_pair("kernel_size", self.kernel_size))
        self._set("stride", _check_pair("stride", self.stride))
        self._set("dilation", _check_pair("dilation", self.dilation))
        self._set("padding", _check_padding(self.padding))
        self._set("groups", _check_int("groups", self.groups))
        self._check_groups()
        self._check_fits()
        _check_cells("output", self.output_shape)

    def _check_groups(self):
        g = self.groups
        if self.in_channels % g:
            raise SpecError("groups", g, f"a divisor of in_channels={self.in_channels}: "
                            f"{_divisors(self.in_channels)}")
        if self.out_channels % g:
            raise SpecError("groups", g, f"a divisor of out_channels={self.out_channels}: "
                            f"{_divisors(self.out_channels)}")

    def _check_fits(self):
        t, b, l, r = self.pads
        for axis, size, k, s, d, lo, hi in (("height", self.height, self.kernel_size[0], self.stride[0],
                                             self.dilation[0], t, b),
                                            ("width", self.width, self.kernel_size[1], self.stride[1],
                                             self.dilation[1], l, r)):
            if _windowed_extent(size, k, s, d, lo, hi) < 1:
                if d > 1 and _windowed_extent(size, k, s, 1, lo, hi) >= 1:    # the kernel fits: dilation is to blame
                    raise SpecError("dilation", self.dilation,
                                    f"a dilation whose window (dilation*(kernel-1)+1) fits the padded {axis} "
                                    f"{size + lo + hi} with kernel_size {k}: at most {(size + lo + hi - 1) // max(k - 1, 1)}")
                raise SpecError("kernel_size", self.kernel_size,
                                f"a window (dilation*(kernel-1)+1 = {d * (k - 1) + 1}) no larger than the "
                                f"padded {axis} {size + lo + hi}")

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """Padding resolved to (top, bottom, left, right) cells."""
        p = self.padding
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        if p == "valid":
            return (0, 0, 0, 0)
        if p == "same":
            return _same_pads(self.height, kh, sh, dh) + _same_pads(self.width, kw, sw, dw)
        if p == "full":
            return (dh * (kh - 1),) * 2 + (dw * (kw - 1),) * 2
        return p

    @property
    def output_shape(self) -> tuple[int, int, int]:
        t, b, l, r = self.pads
        return (self.out_channels,
                _windowed_extent(self.height, self.kernel_size[0], self.stride[0], self.dilation[0], t, b),
                _windowed_extent(self.width, self.kernel_size[1], self.stride[1], self.dilation[1], l, r))

    @property
    def is_depthwise(self) -> bool:
        return self.groups == self.in_channels and self.groups > 1

    @property
    def label(self) -> str:
        name = "conv " + _hw(self.kernel_size)
        name += _tag("s", self.stride) + _tag("d", self.dilation)
        if self.is_depthwise:
            name += " depthwise"
        elif self.groups > 1:
            name += f" g{self.groups}"
        p = self.padding
        name += " " + (p if isinstance(p, str) else "p" + "-".join(map(str, p)))
        return name


@dataclass(frozen=True)
class ConvTranspose2d(Spec):
    """``torch.nn.functional.conv_transpose2d``; ``padding`` is an int or (h, w) as in PyTorch."""

    out_channels: int = 8
    kernel_size: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    output_padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    op: ClassVar[str] = "conv_transpose2d"

    def __post_init__(self):
        super().__post_init__()
        self._set("out_channels", _check_int("out_channels", self.out_channels))
        self._set("kernel_size", _check_pair("kernel_size", self.kernel_size))
        self._set("stride", _check_pair("stride", self.stride))
        self._set("dilation", _check_pair("dilation", self.dilation))
        self._set("padding", _check_pair("padding", self.padding, 0))
        self._set("output_padding", _check_pair("output_padding", self.output_padding, 0))
        self._set("groups", _check_int("groups", self.groups))
        Conv2d._check_groups(self)
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
        _check_cells("output", self.output_shape)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        def extent(i, size):
            k, s, d = self.kernel_size[i], self.stride[i], self.dilation[i]
            return (size - 1) * s - 2 * self.padding[i] + d * (k - 1) + self.output_padding[i] + 1
        return (self.out_channels, extent(0, self.height), extent(1, self.width))

    @property
    def label(self) -> str:
        name = "conv transpose " + _hw(self.kernel_size) + _tag("s", self.stride) + _tag("d", self.dilation)
        if self.groups > 1:
            name += f" g{self.groups}"
        if self.padding != (0, 0):
            name += " p" + _hw(self.padding)
        if self.output_padding != (0, 0):
            name += " op" + _hw(self.output_padding)
        return name


@dataclass(frozen=True)
class PixelShuffle(Spec):
    """``torch.nn.functional.pixel_shuffle``: (C·r², H, W) -> (C, H·r, W·r)."""

    upscale_factor: int = 2

    op: ClassVar[str] = "pixel_shuffle"

    def __post_init__(self):
        super().__post_init__()
        self._set("upscale_factor", _check_int("upscale_factor", self.upscale_factor, 1, 64))
        r = self.upscale_factor
        if self.in_channels % (r * r):
            factors = [f for f in range(1, 65) if self.in_channels % (f * f) == 0]
            raise SpecError("upscale_factor", r, f"a factor whose square divides in_channels={self.in_channels}: "
                            f"{factors}")
        _check_cells("output", self.output_shape)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        r = self.upscale_factor
        return (self.in_channels // (r * r), self.height * r, self.width * r)

    @property
    def label(self) -> str:
        r = self.upscale_factor
        return f"pixel shuffle {r}x{r}"


@dataclass(frozen=True)
class PixelUnshuffle(Spec):
    """``torch.nn.functional.pixel_unshuffle``: (C, H·r, W·r) -> (C·r², H, W)."""

    downscale_factor: int = 2

    op: ClassVar[str] = "pixel_unshuffle"

    def __post_init__(self):
        super().__post_init__()
        self._set("downscale_factor", _check_int("downscale_factor", self.downscale_factor, 1, 64))
        r = self.downscale_factor
        if self.height % r or self.width % r:
            common = [f for f in range(1, 65) if self.height % f == 0 and self.width % f == 0]
            raise SpecError("downscale_factor", r, f"a divisor of height={self.height} and width={self.width}: "
                            f"{common}")
        _check_cells("output", self.output_shape)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        r = self.downscale_factor
        return (self.in_channels * r * r, self.height // r, self.width // r)

    @property
    def label(self) -> str:
        r = self.downscale_factor
        return f"pixel unshuffle {r}x{r}"


@dataclass(frozen=True)
class _Pool2d(Spec):
    kernel_size: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self):
        super().__post_init__()
        self._set("kernel_size", _check_pair("kernel_size", self.kernel_size))
        stride = self.kernel_size if self.stride is None else self.stride
        self._set("stride", _check_pair("stride", stride))
        self._set("padding", _check_pair("padding", self.padding, 0))

    def _check_shape(self, dilation: tuple[int, int]):
        for i, (axis, size) in enumerate((("height", self.height), ("width", self.width))):
            k, d, p = self.kernel_size[i], dilation[i], self.padding[i]
            limit = k // 2   # PyTorch checks the kernel size, not the dilated window
            if p > limit:
                raise SpecError("padding", self.padding, f"at most half the kernel size, {limit}, per axis (PyTorch's rule)")
            if _windowed_extent(size, k, self.stride[i], d, p, p) < 1:
                if d > 1 and _windowed_extent(size, k, self.stride[i], 1, p, p) >= 1:
                    raise SpecError("dilation", dilation,
                                    f"a dilation whose window (dilation*(kernel-1)+1) fits the padded {axis} "
                                    f"{size + 2 * p} with kernel_size {k}: at most {(size + 2 * p - 1) // max(k - 1, 1)}")
                raise SpecError("kernel_size", self.kernel_size,
                                f"a window no larger than the padded {axis} {size + 2 * p}")

    def _pool_output(self, dilation) -> tuple[int, int, int]:
        return (self.in_channels,
                _windowed_extent(self.height, self.kernel_size[0], self.stride[0], dilation[0], *self.padding[:1] * 2),
                _windowed_extent(self.width, self.kernel_size[1], self.stride[1], dilation[1], *self.padding[1:] * 2))

    def _pool_label(self, word: str) -> str:
        name = f"{word} pool " + _hw(self.kernel_size)
        if self.stride != self.kernel_size:
            name += " s" + (str(self.stride[0]) if self.stride[0] == self.stride[1] else _hw(self.stride))
        if self.padding != (0, 0):
            name += " p" + (str(self.padding[0]) if self.padding[0] == self.padding[1] else _hw(self.padding))
        return name


@dataclass(frozen=True)
class MaxPool2d(_Pool2d):
    """``torch.nn.functional.max_pool2d`` (stride defaults to kernel_size; pads with -inf)."""

    dilation: tuple[int, int] = (1, 1)

    op: ClassVar[str] = "max_pool2d"

    def __post_init__(self):
        super().__post_init__()
        self._set("dilation", _check_pair("dilation", self.dilation))
        self._check_shape(self.dilation)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self._pool_output(self.dilation)

    @property
    def label(self) -> str:
        return self._pool_label("max") + _tag("d", self.dilation)


@dataclass(frozen=True)
class AvgPool2d(_Pool2d):
    """``torch.nn.functional.avg_pool2d`` (stride defaults to kernel_size; padding counts by default)."""

    count_include_pad: bool = True

    op: ClassVar[str] = "avg_pool2d"

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.count_include_pad, bool):
            raise SpecError("count_include_pad", self.count_include_pad, "true or false")
        self._check_shape((1, 1))

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self._pool_output((1, 1))

    @property
    def label(self) -> str:
        return self._pool_label("avg")


OPS: dict[str, type[Spec]] = {cls.op: cls for cls in
                              (Conv2d, ConvTranspose2d, PixelShuffle, PixelUnshuffle, MaxPool2d, AvgPool2d)}


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
                raise SpecError(f"stages[{i}]", stage, "a spec (Conv2d, ConvTranspose2d, PixelShuffle, "
                                "PixelUnshuffle, MaxPool2d or AvgPool2d)")
        for i in range(1, len(stages)):
            made, wanted = stages[i - 1].output_shape, stages[i].input_shape
            if made != wanted:
                raise SpecError(f"stages[{i}]", stages[i].label,
                                f"a stage whose input shape (C, H, W) is {made}, the output of stages[{i - 1}] "
                                f"({stages[i - 1].label}); it takes {wanted}")
        if not isinstance(self.name, str):
            raise SpecError("name", self.name, "a string")
        object.__setattr__(self, "stages", stages)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.stages[0].input_shape

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.stages[-1].output_shape

    @property
    def label(self) -> str:
        return self.name or " + ".join(s.label for s in self.stages)

    def to_dict(self) -> dict:
        return {"op": self.op, "name": self.name, "stages": [s.to_dict() for s in self.stages]}


AnySpec = Spec | Chain


# --- named constructors -----------------------------------------------------------

def depthwise(in_channels: int, height: int, width: int, kernel_size=3, multiplier: int = 1, **kwargs) -> Conv2d:
    """Depthwise conv: one filter group per input channel (groups = in_channels)."""
    in_channels = _check_int("in_channels", in_channels)
    multiplier = _check_int("multiplier", multiplier)
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
                    out_channels: int | None = None, kernel_size=3, stride=1) -> Chain:
    """MobileNetV2 inverted residual body: pointwise expand, depthwise, pointwise project."""
    in_channels = _check_int("in_channels", in_channels)
    expansion = _check_int("expansion", expansion)
    hidden = in_channels * expansion
    out_channels = in_channels if out_channels is None else out_channels
    expand = pointwise(in_channels, height, width, hidden)
    dw = depthwise(hidden, height, width, kernel_size, padding="same", stride=stride)
    _, h, w = dw.output_shape
    return Chain((expand, dw, pointwise(hidden, h, w, out_channels)), name="mobilenet block")


def espcn(in_channels: int, height: int, width: int, upscale_factor: int = 2, out_channels: int = 3,
          kernel_size=3) -> Chain:
    """ESPCN upscaler tail: conv to out_channels·r² channels, then pixel shuffle."""
    r = _check_int("upscale_factor", upscale_factor, 1, 64)
    out_channels = _check_int("out_channels", out_channels)
    conv = Conv2d(in_channels, height, width, out_channels * r * r, kernel_size, padding="same")
    return Chain((conv, PixelShuffle(out_channels * r * r, height, width, r)), name=f"espcn x{r}")


def shuffle_loop(in_channels: int, height: int, width: int, factor: int = 2) -> Chain:
    """Pixel shuffle then pixel unshuffle back to the input shape."""
    shuffle = PixelShuffle(in_channels, height, width, factor)
    c, h, w = shuffle.output_shape
    return Chain((shuffle, PixelUnshuffle(c, h, w, factor)), name=f"shuffle loop {factor}x{factor}")


# --- dicts (TOML presets, panel, CLI) -----------------------------------------------

def spec_from_dict(data: dict) -> AnySpec:
    """Build a spec from plain values; ``op`` picks the class. Unknown keys are errors."""
    if not isinstance(data, dict):
        raise SpecError("spec", data, "a table/dict with an 'op' key")
    for key in data:
        if not isinstance(key, str):
            raise SpecError(repr(key), data[key], "parameter names are strings")
    op = data.get("op")
    if not isinstance(op, str):
        raise SpecError("op", op, "one of " + ", ".join(sorted(list(OPS) + [Chain.op])))
    if op == Chain.op:
        extra = set(data) - {"op", "stages", "name"}
        if extra:
            raise SpecError(sorted(extra)[0], data[sorted(extra)[0]], "one of the chain keys: op, name, stages")
        stages = data.get("stages")
        if not isinstance(stages, (list, tuple)) or not stages:
            raise SpecError("stages", stages, "a non-empty list of stage tables")
        built = []
        for i, stage in enumerate(stages):
            if isinstance(stage, dict) and stage.get("op") == Chain.op:
                raise SpecError(f"stages[{i}].op", "chain", "a single operation (chains do not nest)")
            built.append(spec_from_dict(stage))
        return Chain(tuple(built), name=data.get("name", ""))
    cls = OPS.get(op)
    if cls is None:
        raise SpecError("op", op, "one of " + ", ".join(sorted(list(OPS) + [Chain.op])))
    names = [f.name for f in dataclasses.fields(cls)]
    args = {k: v for k, v in data.items() if k != "op"}
    for key in args:
        if key not in names:
            raise SpecError(key, args[key], f"a parameter of {op}: " + ", ".join(names))
    for key in ("in_channels", "height", "width"):
        if key not in args:
            raise SpecError(key, None, f"required for {op}")
    try:
        return cls(**args)
    except TypeError as exc:  # e.g. unhashable garbage reaching a comparison
        raise SpecError(op, data, f"parameters of {op}: " + ", ".join(names), str(exc)) from None


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0] if n <= 4096 else [1, n]
