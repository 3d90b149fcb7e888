"""PixelShuffle and PixelUnshuffle: every cell moves to its new place (no window, no weights)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import SpecError
from ..graph import Chain
from ..operation import Field, Form, Operation
from ..plans import grid_cells, input_values, no_weights, shuffle_plan
from ..specbase import Spec2d, check_cells, check_int
from . import fields, torch_text
from .conv2d import Conv2d


@dataclass(frozen=True)
class PixelShuffle(Spec2d):
    """``torch.nn.functional.pixel_shuffle``: (C·r², H, W) -> (C, H·r, W·r)."""

    upscale_factor: int = 2

    op: ClassVar[str] = "pixel_shuffle"
    moves_cells: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        self._set("upscale_factor", check_int("upscale_factor", self.upscale_factor, 1, 64))
        r = self.upscale_factor
        if self.in_channels % (r * r):
            factors = [f for f in range(1, 65) if self.in_channels % (f * f) == 0]
            raise SpecError("upscale_factor", r, f"a factor whose square divides in_channels={self.in_channels}: "
                            f"{factors}")
        check_cells("output", self.output_shape)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        r = self.upscale_factor
        return (self.in_channels // (r * r), self.height * r, self.width * r)

    @property
    def label(self) -> str:
        r = self.upscale_factor
        return f"pixel shuffle {r}x{r}"

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def torch_call(self) -> str:
        return f"nn.PixelShuffle({self.upscale_factor})"

    def output_formula(self) -> list[str]:
        return shuffle_formula(self.input_shape, self.output_shape, self.upscale_factor, up=True)

    def parameter_count(self) -> int:
        return 0

    def mac_count(self) -> int:
        return 0

    def channel_families(self, channels):
        """The r*r input channels that become one output channel form a family (its shades). Counted from the
        last channel, which stands nearest the camera: as in Animated AI's clips, the first family (red) and
        its lightest shade are in front."""
        r2 = self.upscale_factor ** 2
        from_front = self.in_channels - 1 - channels
        return self.in_channels // r2, r2, from_front // r2, from_front % r2


@dataclass(frozen=True)
class PixelUnshuffle(Spec2d):
    """``torch.nn.functional.pixel_unshuffle``: (C, H·r, W·r) -> (C·r², H, W)."""

    downscale_factor: int = 2

    op: ClassVar[str] = "pixel_unshuffle"
    moves_cells: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        self._set("downscale_factor", check_int("downscale_factor", self.downscale_factor, 1, 64))
        r = self.downscale_factor
        if self.height % r or self.width % r:
            common = [f for f in range(1, 65) if self.height % f == 0 and self.width % f == 0]
            raise SpecError("downscale_factor", r, f"a divisor of height={self.height} and width={self.width}: "
                            f"{common}")
        check_cells("output", self.output_shape)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        r = self.downscale_factor
        return (self.in_channels * r * r, self.height // r, self.width // r)

    @property
    def label(self) -> str:
        r = self.downscale_factor
        return f"pixel unshuffle {r}x{r}"

    def torch_call(self) -> str:
        return f"nn.PixelUnshuffle({self.downscale_factor})"

    def output_formula(self) -> list[str]:
        return shuffle_formula(self.input_shape, self.output_shape, self.downscale_factor, up=False)

    def parameter_count(self) -> int:
        return 0

    def mac_count(self) -> int:
        return 0

    def input_families(self, cells):
        """Each input channel is a family, its member the cell's place in its r x r block: the colours a pixel
        shuffle gives its output (:meth:`PixelShuffle.channel_families`), so an unshuffle is its exact reverse,
        first family and lightest shade in front."""
        r = self.downscale_factor
        place = (cells[:, 1] % r) * r + cells[:, 2] % r
        return self.in_channels, r * r, self.in_channels - 1 - cells[:, 0], r * r - 1 - place


def shuffle_formula(shape, out_shape, r: int, up: bool) -> list[str]:
    """``C: 8 / 2² = 2`` and ``H, W: 4·2 = 8`` (a shuffle); ``C: 2·2² = 8``, ``H, W: 8 / 2 = 4`` (unshuffle)."""
    dot = torch_text.DOT
    if up:
        channels = f"{shape[0]} / {r}\u00b2 = {out_shape[0]}"
        spatial = [f"{n}{dot}{r} = {m}" for n, m in zip(shape[1:], out_shape[1:])]
    else:
        channels = f"{shape[0]}{dot}{r}\u00b2 = {out_shape[0]}"
        spatial = [f"{n} / {r} = {m}" for n, m in zip(shape[1:], out_shape[1:])]
    return [f"C: {channels}"] + torch_text.axis_lines(("H", "W"), spatial, named=True)


def plan_pixel_shuffle(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """PixelShuffle: input (c*r*r + i*r + j, y, x) lands on output (c, y*r + i, x*r + j)."""
    no_weights(spec, weights)
    values = input_values(spec, input, seed)
    r = spec.upscale_factor
    src = grid_cells(spec.sample_grid)
    c, rest = np.divmod(src[:, 0], r * r)
    i, j = np.divmod(rest, r)
    out = np.stack([c, src[:, 1] * r + i, src[:, 2] * r + j], axis=1).astype(np.int32)
    return shuffle_plan(spec, values, out, src, order)


def plan_pixel_unshuffle(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """PixelUnshuffle: input (c, y*r + i, x*r + j) lands on output (c*r*r + i*r + j, y, x)."""
    no_weights(spec, weights)
    values = input_values(spec, input, seed)
    r = spec.downscale_factor
    src = grid_cells(spec.sample_grid)
    y, i = np.divmod(src[:, 1], r)
    x, j = np.divmod(src[:, 2], r)
    out = np.stack([src[:, 0] * r * r + i * r + j, y, x], axis=1).astype(np.int32)
    return shuffle_plan(spec, values, out, src, order)


# --- named constructors -----------------------------------------------------------

def espcn(in_channels: int, height: int, width: int, upscale_factor: int = 2, out_channels: int = 3,
          kernel_size=3) -> Chain:
    """ESPCN upscaler tail: conv to out_channels·r² channels, then pixel shuffle."""
    r = check_int("upscale_factor", upscale_factor, 1, 64)
    out_channels = check_int("out_channels", out_channels)
    conv = Conv2d(in_channels, height, width, out_channels * r * r, kernel_size, padding="same")
    return Chain((conv, PixelShuffle(out_channels * r * r, height, width, r)), name=f"espcn x{r}")


def shuffle_loop(in_channels: int, height: int, width: int, factor: int = 2) -> Chain:
    """Pixel shuffle then pixel unshuffle back to the input shape."""
    shuffle = PixelShuffle(in_channels, height, width, factor)
    c, h, w = shuffle.output_shape
    return Chain((shuffle, PixelUnshuffle(c, h, w, factor)), name=f"shuffle loop {factor}x{factor}")


# --- the panel ---------------------------------------------------------------------

FACTOR = Field("upscale_factor", "count", "Factor", "Upscale (shuffle) or downscale (unshuffle) factor", 2,
               soft_max=8)


def _shape(get):
    return get("in_channels"), get("height"), get("width")


def _loop_settings(spec):
    if not (isinstance(spec, Chain) and len(spec.stages) == 2 and isinstance(spec.stages[0], PixelShuffle)):
        return None
    return {**fields.shape_settings(spec.stages[0]), "upscale_factor": spec.stages[0].upscale_factor}


SHUFFLE_FORM = Form(
    "pixel_shuffle", "Pixel Shuffle", "(C*r*r, H, W) -> (C, H*r, W*r)", fields.SHAPE_2D + (FACTOR,),
    build=lambda get: PixelShuffle(*_shape(get), get("upscale_factor")),
    settings=lambda spec: {**fields.shape_settings(spec), "upscale_factor": spec.upscale_factor}
    if isinstance(spec, PixelShuffle) else None,
    labels=(("upscale_factor", "Upscale Factor"),))

UNSHUFFLE_FORM = Form(
    "pixel_unshuffle", "Pixel Unshuffle", "(C, H*r, W*r) -> (C*r*r, H, W)", fields.SHAPE_2D + (FACTOR,),
    build=lambda get: PixelUnshuffle(*_shape(get), get("upscale_factor")),
    settings=lambda spec: {**fields.shape_settings(spec), "upscale_factor": spec.downscale_factor}
    if isinstance(spec, PixelUnshuffle) else None,
    labels=(("upscale_factor", "Downscale Factor"),))

LOOP_FORM = Form(
    "shuffle_loop", "Shuffle Loop", "Pixel shuffle, then pixel unshuffle back to the input",
    fields.SHAPE_2D + (FACTOR,), build=lambda get: shuffle_loop(*_shape(get), get("upscale_factor")),
    settings=_loop_settings)

OPERATIONS = (Operation("pixel_shuffle", PixelShuffle, plan_pixel_shuffle),
              Operation("pixel_unshuffle", PixelUnshuffle, plan_pixel_unshuffle))
FORMS = (SHUFFLE_FORM, UNSHUFFLE_FORM, LOOP_FORM)
