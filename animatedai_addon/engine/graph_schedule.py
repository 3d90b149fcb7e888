"""The scheduler of a graph: :func:`build_graph_timeline` turns a :class:`~.plans.GraphPlan` into a timeline.

The nodes run one after another in the graph's order, each starting after every tensor it reads exists.
The graph is shown along its *spine*: each node's first input is the node before it (the graph's input for
the first), so the blocks stand front to back as in a chain (:func:`.layout.layout_stages`). A node's second
input (Add's skip, Concat's other half) may be any earlier tensor: a copy of its cubes pops in level with that
tensor in the lane left of every block (where nothing stands), travels along the lane and slides in beside the
spine (docs/DESIGN.md, "Graphs, Add and Concat"):

* **Add**: the copy lands in front of the first input (``StageLayout.other``); then the sum cells pop into the
  output block white, one row (channel, row) per ``frames_per_step``, and take their colour; the copy
  vanishes when the last sum is made.
* **Concat**: a copy of the first input slides into the output block's first channels, then the second
  input's copy into the channels after them: the two blocks join into one along the channels.

Tracks are named after the nodes (``expand output``, ``add skip``); the graph's input is ``input``.
"""

from __future__ import annotations

import math

import numpy as np

from . import palette
from .errors import SpecError
from .graph import GRAPH_INPUT
from .layout import StageLayout, layout_stages
from .options import FRAME_START, check_look, check_timing
from .schedule import _Builder, _cells, _View
from .tracks import BoxTrack

#: Share of a copy's travel spent along the lane beside the blocks; the rest slides it into its place.
LANE_SHARE = 0.6


def check_spine(graph) -> None:
    """SpecError unless every node's first input is the node before it (the graph's input for the first)."""
    previous = GRAPH_INPUT
    for node in graph.nodes:
        if node.inputs[0] != previous:
            raise SpecError(f"{node.name}.inputs[0]", node.inputs[0],
                            f"{previous!r}: the timeline shows a graph along its spine, each node's first input "
                            f"the node before it (a second input may be any earlier node); plan() takes any graph")
        previous = node.name


class _GraphBuilder(_Builder):
    """The chain builder with node names, a skip's flying copy and the two-input stages."""

    def __init__(self, timing, look, highlights, plans, layouts, graph):
        super().__init__(timing, look, True, highlights, plans, layouts)
        self.graph = graph
        self.moved: dict[str, int] = {}      # track -> shuffles that moved its cubes so far
        #: the left face of the leftmost block: copies travel left of it, where nothing stands
        self.lane_x = min(float(g.lo[0]) for l in layouts for g in (l.input, l.output, l.other) if g is not None)

    def name(self, i: int, base: str) -> str:
        if i == 0 and base in ("input", "input padding"):
            return base
        return f"{self.graph.nodes[i].name} {base}"

    def shuffle_stage(self, i, stage, layout, view, previous_end):
        self.moved[view.track] = self.moved.get(view.track, 0) + 1
        return super().shuffle_stage(i, stage, layout, view, previous_end)

    def base_colors(self, view: _View, cells: np.ndarray) -> np.ndarray:
        """Colours before value shading of ``view``'s cells (c, y, x)."""
        return self.base[view.track][view.index[cells[:, 0], cells[:, 1], cells[:, 2]]]

    def beside(self, view: _View, cells) -> np.ndarray:
        """Where a copy of ``view``'s cells (c, y, x) pops in (world): level with them, in the lane left of
        every block (its right face one gap clear of the leftmost block)."""
        place = view.world(cells[:, 0], cells[:, 1], cells[:, 2])
        right = self.lane_x - float(self.look.gap) - float(self.look.cube_size) / 2   # its rightmost centre
        place[:, 0] += right - place[:, 0].max()
        return place

    def fly(self, name: str, cells, start, dst_local, t0: float) -> float:
        """Key a copy's travel from ``start`` (local, in the lane beside its source) to its place ``dst_local``
        from ``t0``: along the lane to beside its place, then in. Returns when it lands."""
        frames = float(self.timing.shuffle_frames)
        dst_local = np.asarray(dst_local, np.float64)
        beside = dst_local.copy()
        beside[:, 0] += start[:, 0].max() - dst_local[:, 0].max()
        times = t0 + frames * np.array([0.0, LANE_SHARE, 1.0])
        n = len(cells)
        for leg, (a, b) in enumerate(((start, beside), (beside, dst_local))):
            self.move(name, cells, np.full(n, times[leg]), np.full(n, times[leg + 1]), a, b)
        return float(times[-1])

    def outline(self, name: str, layout: StageLayout, shape) -> None:
        self.boxes.append(BoxTrack(name=f"{name} outline", role="outline",
                                   size=self._span_size(shape[2], shape[0], shape[1]),
                                   key_frames=np.float32([FRAME_START]),
                                   key_centers=self._outline_center(layout, shape)[None].astype(np.float32),
                                   color=palette.OUTLINE_COLOR))

    # --- Add -----------------------------------------------------------------------------
    def add_stage(self, i, stage, layout: StageLayout, view: _View, skip: _View, previous_end: float):
        t0 = self.begin_stage(i, previous_end)
        shape = stage.grid_other.shape
        cells = _cells(shape)
        name = self.name(i, "skip")
        grid = layout.other
        local = grid.local(cells[:, 0], cells[:, 1], cells[:, 2])
        n = len(cells)
        src = self.beside(skip, cells)
        self.add_track(name, "input", shape, cells, grid.origin, src - grid.origin, self.base_colors(skip, cells),
                       stage.grid_other.ravel(), appear=np.full(n, t0, np.float32))
        track = self.tracks[name]
        landed = self.fly(name, np.arange(n), src - grid.origin, local, t0)
        # the sums: one output row (channel, row) per frames_per_step, in the plan's step order
        out = stage.steps.out
        row = out[:, 0].astype(np.int64) * shape[1] + out[:, 1]
        _, rank = np.unique(row, return_inverse=True) if stage.order == "filter" else \
            np.unique(out[:, 1].astype(np.int64) * shape[2] + out[:, 2], return_inverse=True)
        start = landed + self.timing.hold_frames + rank * float(self.timing.frames_per_step)
        end = start + float(self.timing.frames_per_step)
        out_view = self.output_track(i, stage, layout, start, end, view.channel_colors)
        if self.highlights and not self.pulse:
            a = view.index[out[:, 0], out[:, 1], out[:, 2]]
            self.light(view.track, a, start, end)
            self.light(name, np.ravel_multi_index(tuple(out.T), shape), start, end)
        finished = float(end.max())
        track.disappear[:] = finished
        self.step_frames.append(start.astype(np.float32))
        return out_view, finished

    # --- Concat --------------------------------------------------------------------------
    def concat_stage(self, i, stage, layout: StageLayout, view: _View, other: _View, previous_end: float):
        t0 = self.begin_stage(i, previous_end)
        shape = stage.grid_output.shape
        first = stage.grid_input.shape[0]
        cells = _cells(shape)
        grid = layout.output
        local = grid.local(cells[:, 0], layout.output_rows[cells[:, 1]], layout.output_cols[cells[:, 2]])
        mine = cells[:, 0] < first
        src = np.empty((len(cells), 3))
        base = np.empty((len(cells), 4), np.float32)
        theirs = cells[~mine] - [first, 0, 0]
        src[mine] = self.beside(view, cells[mine])
        src[~mine] = self.beside(other, theirs)
        base[mine] = self.base_colors(view, cells[mine])
        base[~mine] = self.base_colors(other, theirs)
        name = self.name(i, "output")
        # the first half, then the second (popping in as the first leaves): one copy in the lane at a time
        second = t0 + float(self.timing.shuffle_frames)
        appear = np.where(mine, t0, second).astype(np.float32)
        self.add_track(name, "output", shape, cells, grid.origin, src - grid.origin, base,
                       stage.grid_output.ravel(), appear=appear)
        self.popped.append(name)
        index = np.arange(len(cells))
        self.fly(name, index[mine], src[mine] - grid.origin, local[mine], t0)
        landed = self.fly(name, index[~mine], src[~mine] - grid.origin, local[~mine], second)
        self.outline(name, layout, shape)
        self.step_frames.append(np.full(len(stage.steps), landed, np.float32))
        flat = index.reshape(shape)
        return _View(name, flat, grid, layout.output_rows, layout.output_cols, base[flat[:, 0, 0]]), landed


def build_graph_timeline(graph_plan, timing, look, highlights: bool = True):
    """When and where everything happens for a GraphPlan shown along its spine (:func:`check_spine`)."""
    timing, look = check_timing(timing), check_look(look)
    if not isinstance(highlights, bool):
        raise SpecError("highlights", highlights, "true or false")
    graph, plans = graph_plan.spec, list(graph_plan.plans)
    check_spine(graph)
    layouts = layout_stages(plans, look)
    builder = _GraphBuilder(timing, look, highlights, plans, layouts, graph)
    view = builder.first_input()
    views = {GRAPH_INPUT: (view, 0)}
    t = float(FRAME_START)
    for i, (node, stage, layout) in enumerate(zip(graph.nodes, plans, layouts)):
        if layout.kind in ("add", "concat"):
            second = _second_input(builder, node, views)
            run = builder.add_stage if layout.kind == "add" else builder.concat_stage
            view, t = run(i, stage, layout, view, second, t)
        elif layout.kind == "shuffle":
            view, t = builder.shuffle_stage(i, stage, layout, view, t)
        else:
            view, t = builder.windowed_stage(i, stage, layout, view, t)
        views[node.name] = (view, builder.moved.get(view.track, 0))
    t = max(t, builder.last_event()) + timing.outro_frames
    if timing.loop:
        frame_end = math.ceil(builder.loop_back(t))
    else:
        frame_end = math.ceil(max(t, builder.last_event()))
    return builder.finish(frame_end, timing.easing, timing.pop_frames, timing.fps)


def _second_input(builder: _GraphBuilder, node, views) -> _View:
    view, moves = views[node.inputs[1]]
    if builder.moved.get(view.track, 0) != moves:
        raise SpecError(f"{node.name}.inputs[1]", node.inputs[1],
                        "a tensor whose cubes still stand where it was made: a shuffle since moved them away")
    return view
