"""Settings of a clip: :class:`Timing` (how steps become frames) and :class:`Look` (layout and colours),
with their checks. Presets, the panel and the API use these; the scheduler reads them."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

from . import palette
from .errors import SpecError

EASINGS = ("linear", "ease", "constant")
HIGHLIGHTS = ("pulse", "cells")


@dataclass(frozen=True)
class Timing:
    """How steps become frames (Animated AI's pacing: a still hold, a slow first step, then faster and faster)."""

    frames_per_step: int = 2        # frames per step once up to speed
    first_step_frames: int = 30     # the first step of a stage; 0 = every step lasts frames_per_step
    ramp_steps: int = 5             # how fast steps speed up: the excess over frames_per_step shrinks by e per this many
    hold_frames: int = 2            # pause when the active filter (or stage) changes
    intro_frames: int = 12          # still frames before the first step
    outro_frames: int = 24          # still frames after the last step
    pop_frames: int = 3             # length of an output cell's pop-in
    move_frames: int = 12           # longest filter slide (slides speed up with the steps)
    shuffle_frames: int = 45        # a shuffle's transform (every cell travels at once); an elementwise sweep
    easing: str = "ease"            # of travels: one of EASINGS
    speedup_after_rows: int = 0     # after this many output rows of each filter pass, go faster (0 = never)
    speedup: int = 4                # steps per frames_per_step once sped up
    loop: bool = False              # end the clip in its first frame's state, for seamless loops
    fps: int = 24


@dataclass(frozen=True)
class Look:
    """Layout and colour choices (sizes in metres)."""

    cube_size: float = 0.9          # edge of one cube
    gap: float = 0.1                # space between neighbouring cubes (pitch = cube_size + gap)
    tensor_gap: float = 4.0         # space between neighbouring tensors
    value_shading: float = 0.0      # 0: one colour per role/filter; 1: brightness follows the cell's value
    highlight_gain: float = 1.6     # "cells" highlights: a brighter version of the cell's own colour
    input_color: tuple[float, float, float, float] = palette.input_color()   # linear RGBA (palette.INPUT_SRGB)
    highlight: str = "pulse"        # one of HIGHLIGHTS: Animated AI's white pulse, or the lit window cells
    # filter k (and its output channel) takes filter_colors[k]; filters past the end, or all when empty,
    # take the palette's hues
    filter_colors: tuple[tuple[float, float, float, float], ...] = ()
    padding_color: tuple[float, float, float, float] = palette.PADDING_COLOR
    # Texts in the scene (engine/labels.py): ``labels`` turns every element on, each also has its own switch.
    labels: bool = False
    label_shapes: bool = False      # each tensor's shape in PyTorch's order (3×32×32; the weights 6×3×5×5)
    label_call: bool = False        # the stage's PyTorch call (nn.Conv2d(3, 6, kernel_size=5, bias=False))
    label_formula: bool = False     # the output-size formula with the clip's numbers
    label_steps: bool = False       # a step counter (step 17 / 784)
    label_counts: bool = False      # parameters and multiply-accumulates, as torch counts them
    label_captions: bool = False    # the caption track (the .srt's cues) as text in the scene
    numbers: bool = False           # each cube shows its value, rounded (clips up to labels.NUMBER_MAX_CELLS)
    follow_camera: bool = False     # chains: the camera frames each stage while it runs (engine/camera.py)


FRAME_START = 1
_TIMING_LIMITS = {
    "frames_per_step": (1, 10_000), "first_step_frames": (0, 10_000), "ramp_steps": (1, 100_000),
    "hold_frames": (0, 100_000), "intro_frames": (0, 100_000),
    "outro_frames": (0, 100_000), "pop_frames": (0, 10_000), "move_frames": (1, 10_000),
    "shuffle_frames": (1, 10_000),
    "speedup_after_rows": (0, 65_536), "speedup": (1, 10_000), "fps": (1, 240),
}
#: The Look's switches of texts in the scene (``labels`` turns them all on).
LABEL_ELEMENTS = ("label_shapes", "label_call", "label_formula", "label_steps", "label_counts", "label_captions")
#: Most colours ``Look.filter_colors`` may list.
MAX_FILTER_COLORS = 1024
# name: (low, high, low is allowed)
_LOOK_LIMITS = {
    "cube_size": (0.0, 1_000.0, False), "gap": (0.0, 1_000.0, True), "tensor_gap": (0.0, 10_000.0, False),
    "value_shading": (0.0, 1.0, True), "highlight_gain": (1.0, 10.0, True),
}


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def check_timing(timing) -> Timing:
    """``timing`` if every field is allowed, else SpecError naming it (``timing.frames_per_step``)."""
    if not isinstance(timing, Timing):
        raise SpecError("timing", timing, "a Timing")
    for name, (low, high) in _TIMING_LIMITS.items():
        value = getattr(timing, name)
        if not _is_int(value) or not low <= value <= high:
            raise SpecError(f"timing.{name}", value, f"an integer from {low} to {high}")
    if timing.first_step_frames and timing.first_step_frames < timing.frames_per_step:
        raise SpecError("timing.first_step_frames", timing.first_step_frames,
                        f"0 (no slow start) or at least timing.frames_per_step ({timing.frames_per_step})")
    if timing.easing not in EASINGS:
        raise SpecError("timing.easing", timing.easing, "one of " + ", ".join(EASINGS))
    if not isinstance(timing.loop, bool):
        raise SpecError("timing.loop", timing.loop, "true or false")
    if timing.loop and timing.intro_frames < 1:
        raise SpecError("timing.intro_frames", timing.intro_frames,
                        "at least 1 when timing.loop is true (the first frame is the rest state the loop returns to)")
    return timing


def check_look(look) -> Look:
    """``look`` if every field is allowed, else SpecError naming it (``look.gap``)."""
    if not isinstance(look, Look):
        raise SpecError("look", look, "a Look")
    for name, (low, high, closed) in _LOOK_LIMITS.items():
        value = getattr(look, name)
        ok = _is_real(value) and (low <= value if closed else low < value) and value <= high
        if not ok:
            word = "from" if closed else "above"
            raise SpecError(f"look.{name}", value, f"a number {word} {low} up to {high}")
    for name in ("labels", "numbers", "follow_camera") + LABEL_ELEMENTS:
        if not isinstance(getattr(look, name), bool):
            raise SpecError(f"look.{name}", getattr(look, name), "true or false")
    if look.highlight not in HIGHLIGHTS:
        raise SpecError("look.highlight", look.highlight, "one of " + ", ".join(HIGHLIGHTS))
    for name in ("input_color", "padding_color"):
        if not _is_rgba(getattr(look, name)):
            raise SpecError(f"look.{name}", getattr(look, name), "four numbers from 0 to 1 (linear RGBA)")
    colors = look.filter_colors
    if not (isinstance(colors, (tuple, list)) and len(colors) <= MAX_FILTER_COLORS and all(map(_is_rgba, colors))):
        raise SpecError("look.filter_colors", colors, f"a list of up to {MAX_FILTER_COLORS} colours, each four "
                        "numbers from 0 to 1 (linear RGBA); empty for the palette's hues")
    if isinstance(colors, list) or not all(isinstance(c, tuple) for c in colors):   # lists from TOML or a dict
        return dataclasses.replace(look, filter_colors=tuple(tuple(float(v) for v in c) for c in colors))
    return look


def _is_rgba(color) -> bool:
    return isinstance(color, (tuple, list)) and len(color) == 4 and all(_is_real(v) and 0 <= v <= 1 for v in color)


def shows_label(look: Look, element: str) -> bool:
    """Whether the clip shows the text ``element`` (one of LABEL_ELEMENTS): its own switch or ``labels``."""
    return bool(look.labels or getattr(look, element))
