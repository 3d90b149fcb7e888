"""Timelines: when every cell of every tensor appears, lights up and moves, and where it sits.

This is the whole contract between the engine and the Blender layer. The
Blender layer writes exactly these arrays as objects, keyframes or point
attributes; it never decides timing or placement itself.

Conventions
-----------
* Frames are floats on Blender's frame axis; ranges are inclusive like Blender's
  (``frame_start .. frame_end``).
* ``appear = -inf``: visible from the start (no pop-in). ``disappear = +inf``:
  never leaves. A cell pops in by scaling 0 -> 1 over ``pop_frames`` starting at
  ``appear`` (so it has scale 0 before ``appear`` and 1 from ``appear + pop_frames``).
* Highlight intervals are half-open: highlighted for ``start <= frame < end``.
* Space: x runs along a tensor's width (columns, left to right), y along its
  channels (channel 0 nearest the camera), z along its height (row 0 on top,
  rows going down). Positions are of cube centres, in metres, relative to the
  tensor's origin (its empty in Blender); the world position is origin + local.
* Easing ``"ease"`` is smoothstep (3t^2 - 2t^3): what a Bezier segment with flat
  handles at one third of the interval evaluates to, so Blender matches numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EASINGS = ("linear", "ease", "constant")
ROLES = ("input", "padding", "filter", "output")


@dataclass(frozen=True)
class Timing:
    """How steps become frames."""

    frames_per_step: int = 2        # frames between two steps
    hold_frames: int = 6            # pause when the active filter (or stage) changes
    intro_frames: int = 12          # still frames before the first step
    outro_frames: int = 24          # still frames after the last step
    pop_frames: int = 3             # length of an output cell's pop-in
    move_frames: int = 12           # length of a travel (filters sliding in, shuffled cells)
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
    highlight_gain: float = 1.6     # highlight = brighter version of the cell's own colour
    input_color: tuple[float, float, float, float] = (0.05, 0.55, 0.6, 1.0)


@dataclass
class TensorTrack:
    """One tensor's cells (N of them) and everything that happens to them."""

    name: str                       # "input", "input padding", "filter3", "output", "stage1 output", ...
    role: str                       # one of ROLES
    shape: tuple[int, int, int]     # (C, H, W) the cell indices refer to
    cells: np.ndarray               # (N, 3) int32 (c, y, x); padding cells index the virtual grid
    origin: np.ndarray              # (3,) float: the tensor's empty at rest, world space
    position: np.ndarray            # (N, 3) float32, rest position relative to origin
    color: np.ndarray               # (N, 4) float32 linear RGBA
    highlight_color: np.ndarray     # (N, 4) float32
    value: np.ndarray               # (N,) float32: the tensor's value (0 for padding)
    appear: np.ndarray              # (N,) float32, -inf = from the start
    disappear: np.ndarray           # (N,) float32, +inf = never
    # moves, sorted by (cell, start); ``to`` is the local position after the move, ``from`` the one before
    move_cell: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    move_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    move_end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    move_to: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    # motion of the whole tensor (its empty): world locations at keyed frames, eased with Timeline.easing
    key_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    key_locations: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    # highlight intervals, sorted by (cell, start), merged (no overlaps, no touching intervals)
    highlight_cell: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    highlight_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    highlight_end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.cells)

    def cell_names(self) -> list[str]:
        """Outliner names: ``input[c3,y1,x4]``."""
        return [f"{self.name}[c{c},y{y},x{x}]" for c, y, x in self.cells.tolist()]


@dataclass
class BoxTrack:
    """A wire box: the window on the input, or the outline of a tensor still being filled."""

    name: str                       # "window", "output outline", "stage1 window", ...
    role: str                       # "window" | "outline"
    size: np.ndarray                # (3,) float: outer size along x, y, z
    key_frames: np.ndarray          # (T,) float32
    key_centers: np.ndarray         # (T, 3) float32 world centre; constant interpolation for windows (jumps per step)
    # A box is hidden (size 0) before ``appear`` and from ``disappear`` on.
    appear: float = -np.inf
    disappear: float = np.inf
    # windows: the tensors whose cells light up while inside this box (e.g. ("input", "input padding"))
    targets: tuple[str, ...] = ()
    color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)


@dataclass
class Timeline:
    frame_start: int
    frame_end: int
    fps: int
    pop_frames: int
    easing: str
    tensors: list[TensorTrack]
    boxes: list[BoxTrack]
    step_frames: np.ndarray         # (S,) float32: the frame each step of the plan happens (chains: all stages)
    camera_target: np.ndarray = field(default_factory=lambda: np.zeros(3))   # centre of everything
    extent: np.ndarray = field(default_factory=lambda: np.ones(3))           # size of the bounding box of everything

    def tensor(self, name: str) -> TensorTrack:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(f"no tensor named {name!r}; there are: {[t.name for t in self.tensors]}")

    @property
    def cube_count(self) -> int:
        return sum(len(t) for t in self.tensors)
