"""What every operation's spec shares: value checks, the base class and the grid rule.

An operation's own spec class lives in its module under ``engine/ops/``; this
module knows none of them. A spec is a frozen dataclass that takes its input
shape first (``in_channels`` then the spatial extents, e.g. ``height, width``)
and then the operation's own arguments with PyTorch's names and meanings.
Values are normalised on creation (``kernel_size=3`` becomes ``(3, 3)``) and
checked; a bad value raises :class:`SpecError` naming the parameter, the value
and what is allowed.

Tensors and the grid
--------------------
A tensor has PyTorch's layout ``(N, C, *spatial)`` with 0 to 3 spatial axes;
a spec's ``input_shape`` / ``output_shape`` are one sample's ``(C, *spatial)``
and its ``batch`` (keyword, default 1) is N. The timeline and the layout work
on one canonical form, the *grid* ``(C, H, W)``: :func:`grid_shape` is the one
rule that maps a tensor onto it (see :mod:`.tensors`): the last spatial axis to
W (x, left to right), the one before to H (z, top down), the channels to C (y,
along the flow), a depth axis folded onto the channels (``d*C + c``), the batch
side by side along x (``n*W + x``), and a missing axis to extent 1.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

from .errors import SpecError
from .tensors import MAX_SPATIAL_AXES, GridFold, fold_of, grid_shape, torch_shape

#: Largest extent of any one dimension (channels, height or width).
MAX_EXTENT = 65536
#: Largest number of cells in any one tensor the engine will plan.
MAX_CELLS = 1 << 27
#: Largest batch (samples side by side).
MAX_BATCH = 64

#: (field, value) pairs ``to_dict`` leaves out: fields added after clips were stored, at the value they had
#: before, so a clip made earlier keeps its identity (its spec's dict).
QUIET_DEFAULTS = (("batch", 1), ("bias", False))

PADDING_WORDS = ("valid", "same", "full")


# --- value checks -----------------------------------------------------------------

def check_int(name: str, value, minimum: int = 1, maximum: int = MAX_EXTENT) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(name, value, f"an integer from {minimum} to {maximum}")
    value = int(value)
    if not minimum <= value <= maximum:
        raise SpecError(name, value, f"an integer from {minimum} to {maximum}")
    return value


def check_pair(name: str, value, minimum: int = 1, maximum: int = MAX_EXTENT) -> tuple[int, int]:
    """An int or an (h, w) pair, returned as (h, w)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise SpecError(name, value, f"an integer or an (h, w) pair of integers from {minimum} to {maximum}")
        return (check_int(name, value[0], minimum, maximum), check_int(name, value[1], minimum, maximum))
    try:
        single = check_int(name, value, minimum, maximum)
    except SpecError:
        raise SpecError(name, value, f"an integer or an (h, w) pair of integers from {minimum} to {maximum}") from None
    return (single, single)


def check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise SpecError(name, value, "true or false")
    return value


def check_single(name: str, value, minimum: int = 1, maximum: int = MAX_EXTENT) -> int:
    """An int or a one-element sequence (PyTorch accepts both for 1-D ops), returned as an int."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise SpecError(name, value, f"an integer (or a 1-element list) from {minimum} to {maximum}")
        value = value[0]
    return check_int(name, value, minimum, maximum)


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's 'same': out = ceil(size / stride), the odd pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def windowed_extent(size: int, kernel: int, stride: int, dilation: int, before: int, after: int) -> int:
    """Output length of a window sliding over ``size`` padded cells (0 if it does not fit)."""
    span = dilation * (kernel - 1) + 1
    padded = size + before + after
    if padded < span:
        return 0
    return (padded - span) // stride + 1


def check_window_fits(axis: str, size: int, k: int, s: int, d: int, before: int, after: int,
                      kernel_value, dilation_value) -> None:
    """SpecError naming ``dilation`` when only the dilation makes the window too big, else ``kernel_size``."""
    if windowed_extent(size, k, s, d, before, after) >= 1:
        return
    padded = size + before + after
    if d > 1 and windowed_extent(size, k, s, 1, before, after) >= 1:
        raise SpecError("dilation", dilation_value,
                        f"a dilation whose window (dilation*(kernel-1)+1) fits the padded {axis} "
                        f"{padded} with kernel_size {k}: at most {(padded - 1) // max(k - 1, 1)}")
    raise SpecError("kernel_size", kernel_value,
                    f"a window (dilation*(kernel-1)+1 = {d * (k - 1) + 1}) no larger than the padded {axis} {padded}")


def check_cells(name: str, shape) -> None:
    cells = math.prod(shape)
    if cells > MAX_CELLS:
        raise SpecError(name, shape, f"at most {MAX_CELLS:,} cells in one tensor, this would be {cells:,}")


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0] if n <= 4096 else [1, n]


def check_groups(groups: int, in_channels: int, out_channels: int) -> None:
    if in_channels % groups:
        raise SpecError("groups", groups, f"a divisor of in_channels={in_channels}: {divisors(in_channels)}")
    if out_channels % groups:
        raise SpecError("groups", groups, f"a divisor of out_channels={out_channels}: {divisors(out_channels)}")


class Filters:
    """What every convolution shares: ``out_channels`` filters, each reading ``in_channels / groups`` channels
    over its kernel, and a ``bias`` (one value per filter, added to each of its sums) when ``bias`` is True.
    Mixed in before the spec base (``class Conv2d(Filters, Spec2d)``); the spec declares ``bias: bool = False``
    as its last field (PyTorch's place for it, after ``groups``)."""

    def check_filters(self, check_axes) -> None:
        """Checks and normalises out_channels, kernel_size, stride, dilation (each by ``check_axes``:
        :func:`check_pair` or :func:`check_single`) and groups (a divisor of both channel counts)."""
        self._set("out_channels", check_int("out_channels", self.out_channels))
        for name in ("kernel_size", "stride", "dilation"):
            self._set(name, check_axes(name, getattr(self, name)))
        self._set("groups", check_int("groups", self.groups))
        check_groups(self.groups, self.in_channels, self.out_channels)
        self._set("bias", check_bool("bias", getattr(self, "bias", False)))

    def reads_per_step(self) -> int:
        kernel = self.kernel_size
        return (self.in_channels // self.groups) * (math.prod(kernel) if isinstance(kernel, tuple) else kernel)

    def filter_cubes(self) -> int:
        """Every filter's kernel cubes, and its bias cube when there is a bias."""
        return self.out_channels * (self.reads_per_step() + int(getattr(self, "bias", False)))

    # In PyTorch's words (engine/ops/torch_text.py); an operation counting otherwise overrides them.
    def parameter_count(self) -> int:
        """The filters' weights, and one bias per filter when ``bias``: torch's numel()."""
        return self.filter_cubes()

    def mac_count(self) -> int:
        """Each output cell sums reads_per_step() products (the bias is an add: torch's flop counter leaves
        it out)."""
        return math.prod(self.output_shape) * self.reads_per_step()


# --- labels -------------------------------------------------------------------------

def hw(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def tag(prefix: str, pair: tuple[int, int]) -> str:
    if pair == (1, 1):
        return ""
    return f" {prefix}{pair[0]}" if pair[0] == pair[1] else f" {prefix}{pair[0]}x{pair[1]}"


# --- the base classes -----------------------------------------------------------------

@dataclass(frozen=True)
class Spec(abc.ABC):
    """Base of every single-operation spec. Subclasses name their input-shape fields in ``SHAPE_FIELDS``
    (``in_channels`` first, then the spatial extents) and declare them first."""

    #: Samples in the batch (N): shown side by side, the same filters sliding over each.
    batch: int = dataclasses.field(default=1, kw_only=True)

    op: ClassVar[str] = ""
    SHAPE_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: A shuffle moves the input's own cubes into the output (no new cubes, no window, no weights).
    moves_cells: ClassVar[bool] = False

    def __post_init__(self):
        for name in self.SHAPE_FIELDS:
            self._set(name, check_int(name, getattr(self, name)))
        self._set("batch", check_int("batch", self.batch, 1, MAX_BATCH))
        check_cells("*".join(self.SHAPE_FIELDS + (("batch",) if self.batch > 1 else ())),
                    self.input_shape + (self.batch,))

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """PyTorch's shape of the input, (C, *spatial)."""
        return tuple(getattr(self, name) for name in self.SHAPE_FIELDS)

    @property
    @abc.abstractmethod
    def output_shape(self) -> tuple[int, ...]:
        """PyTorch's shape of the result, (C, *spatial)."""

    @property
    def input_grid(self) -> tuple[int, int, int]:
        """The input's grid (C, H, W), every sample and depth slice folded in (:mod:`.tensors`)."""
        return grid_shape(self.input_shape, self.batch)

    @property
    def output_grid(self) -> tuple[int, int, int]:
        return grid_shape(self.output_shape, self.batch)

    @property
    def sample_grid(self) -> tuple[int, int, int]:
        """One sample's input grid (the batch not folded in)."""
        return grid_shape(self.input_shape)

    @property
    def input_fold(self) -> GridFold:
        return fold_of(self.input_shape, self.batch)

    @property
    def output_fold(self) -> GridFold:
        return fold_of(self.output_shape, self.batch)

    @property
    def input_torch_shape(self) -> tuple[int, ...]:
        """PyTorch's shape of the whole input: ``input_shape`` with a leading N when ``batch`` > 1."""
        return torch_shape(self.input_shape, self.batch)

    @property
    def output_torch_shape(self) -> tuple[int, ...]:
        return torch_shape(self.output_shape, self.batch)

    def filter_fold(self) -> GridFold:
        """How one filter (C_in/groups, *kernel) folds onto its grid: as a sample of the input does."""
        return GridFold(axes=fold_of(self.input_shape).axes)

    def padding_cubes(self) -> int:
        """Padding (and inserted-zero) cubes the clip shows around the input: every sample's virtual grid
        less its real cells."""
        c, h, w = self.sample_grid
        vh, vw = self.virtual_extent()
        return self.batch * c * (vh * vw - h * w)

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """Short human name, used for the clip's collection (``conv 3x3 s2 same``)."""

    # What the clip shows, from shapes alone (the cube budget is checked before anything is planned).
    def virtual_extent(self) -> tuple[int, int]:
        """Rows and columns of one sample's grid the input is shown on (padding and inserted zeros included)."""
        return self.sample_grid[1:]

    def filter_cubes(self) -> int:
        """Cubes of the filters the clip shows (0: the operation has no weights)."""
        return 0

    def reads_per_step(self) -> int:
        """Cells one step reads (0 for a shuffle, whose step moves one cell)."""
        return 0

    # How the clip colours the input (a shuffle shows where each cell goes by colour families).
    def channel_families(self, channels):
        """Colour families by input channel: (families, members, family of each channel, member of each), or
        None when every input channel takes the one input colour."""
        return None

    def input_families(self, cells):
        """Colour families of input cells (N, 3) (c, y, x) of the grid, as :meth:`channel_families`."""
        return self.channel_families(cells[:, 0])

    def to_dict(self) -> dict:
        """Plain values (lists for pairs) with ``op`` first: what TOML presets and the panel store."""
        out = {"op": self.op}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if (f.name, value) in QUIET_DEFAULTS:     # left out: a clip's identity (its spec's dict) stays as it was
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def replace(self, **changes) -> "Spec":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Spec2d(Spec):
    """A spec whose input is (C, H, W)."""

    in_channels: int
    height: int
    width: int

    SHAPE_FIELDS: ClassVar[tuple[str, ...]] = ("in_channels", "height", "width")


@dataclass(frozen=True)
class Spec1d(Spec):
    """A spec whose input is (C, L)."""

    in_channels: int
    length: int

    SHAPE_FIELDS: ClassVar[tuple[str, ...]] = ("in_channels", "length")


@dataclass(frozen=True)
class Spec3d(Spec):
    """A spec whose input is (C, D, H, W): the depth slices fold onto the grid's channel axis."""

    in_channels: int
    depth: int
    height: int
    width: int

    SHAPE_FIELDS: ClassVar[tuple[str, ...]] = ("in_channels", "depth", "height", "width")


@dataclass(frozen=True)
class Elementwise2d(Spec2d):
    """A spec whose every output cell is a function of the input cell in its place (ReLU, BatchNorm2d): the
    output has the input's shape, and the clip changes the tensor in place (``engine/inplace.py``)."""

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.input_shape
