"""The timeline's data: what the engine hands the Blender layer (see :mod:`.timeline` for the conventions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ROLES = ("input", "padding", "filter", "output")


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
    # added: how the tensor folds onto the grid (``GridFold``: samples, depth slices, the axes it has); None: a
    # (C, H, W) tensor
    fold: object = None

    def __len__(self) -> int:
        return len(self.cells)

    def cell_names(self) -> list[str]:
        """Outliner names, the cell's index along the axes the tensor has: ``input[c3,y1,x4]``,
        ``input[n1,c3,d2,y1,x4]`` (a batch of volumes), ``input[c3,x4]`` (a sequence)."""
        if self.fold is not None:
            return self.fold.names(self.name, self.cells, self.shape)
        return [f"{self.name}[c{c},y{y},x{x}]" for c, y, x in self.cells.tolist()]


@dataclass
class BoxTrack:
    """A wire box: the window on the input, the outline of a tensor still being filled, or the
    (unrendered) pulse box that lights the filter cells strictly inside it."""

    name: str                       # "window", "output outline", "pulse", "stage1 window", ...
    role: str                       # "window" | "outline" | "pulse"
    size: np.ndarray                # (3,) float: outer size along x, y, z
    key_frames: np.ndarray          # (T,) float32
    key_centers: np.ndarray         # (T, 3) float32 world centre; constant interpolation for windows (jumps per step)
    # A box is hidden (size 0) before ``appear`` and from ``disappear`` on.
    appear: float = -np.inf
    disappear: float = np.inf
    # windows: the tensors whose cells light up while inside this box (e.g. ("input", "input padding"))
    targets: tuple[str, ...] = ()
    color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    # (T,) bool, added: whether the box is shown from key k on (window boxes hide between filter passes);
    # empty = shown at every key
    key_visible: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # (3,) added: metres between the cells a window reads along x, y, z; 0 = every cell inside the box
    # (a dilated window reads every d-th cell of its box)
    read_spacing: np.ndarray = field(default_factory=lambda: np.zeros(3))
    # added: "constant" (the box jumps at each key) or "linear" (it glides between keys: the pulse)
    interpolation: str = "constant"


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
    # added: names of tensors shown by another track's cubes (a shuffle's output is its input's cubes moved):
    # {"output": "input"}, {"stage1 output": "stage0 output"}, ...
    aliases: dict = field(default_factory=dict)
    # added: (K, 2) [first, last] frame of each stage: from when it takes over (its filter slides in) to its
    # last step's end
    stage_spans: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    # added: the clip's texts (labels.TextTrack), planned by engine.labels when the look asks for them
    texts: list = field(default_factory=list)
    # added: per tensor track, the text each cube shows (labels.plan_numbers), when the look asks for numbers
    numbers: dict = field(default_factory=dict)

    def tensor(self, name: str) -> TensorTrack:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(f"no tensor named {name!r}; there are: {[t.name for t in self.tensors]}")

    @property
    def cube_count(self) -> int:
        return sum(len(t) for t in self.tensors)


@dataclass
class TensorState:
    """A tensor's cells at one frame, as Blender shows them."""

    scale: np.ndarray               # (N,) 0..1 (pop-in progress; 0 before appear and from disappear on)
    visible: np.ndarray             # (N,) bool: scale > 0
    highlighted: np.ndarray         # (N,) bool: inside a highlight interval
    local_position: np.ndarray      # (N, 3) relative to the tensor's empty
    world_position: np.ndarray      # (N, 3) the empty's location at this frame + local
