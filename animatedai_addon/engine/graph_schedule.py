"""The scheduler of a graph: :func:`build_graph_timeline` turns a :class:`~.plans.GraphPlan` into a timeline.

The nodes run one after another in the graph's order, each starting after every tensor it reads exists.
The graph is shown along its *spine*: each node's first input is the node before it (the graph's input for
the first), so the blocks stand front to back as in a chain (:func:`.layout.layout_stages`). A node's second
input (Add's skip, Concat's other half) may be any earlier tensor: its cubes light up while a copy of them
pops in beside its new place, in the lane left of every block (where nothing stands), and slides in
(docs/DESIGN.md, "Graphs, Add and Concat"):

* **Add**: the skip's copy lands in front of the first input (``StageLayout.other``); then the sum cells pop into the
  output block white, one row (channel, row) per ``frames_per_step``, and take their colour; the copy
  vanishes when the last sum is made.
* **Concat**: a copy of the first input slides into the output block's first channels, then the second
  input's copy into the channels after them: the two blocks join into one along the channels.

Tracks are named after the nodes (``expand output``, ``add skip``); the graph's input is ``input``.
"""

from __future__ import annotations

import numpy as np

from . import palette
from .errors import SpecError
from .graph import GRAPH_INPUT
from .layout import StageLayout, layout_stages, pitch_of
from .options import FRAME_START, check_look, check_timing
from .schedule import _Builder, _cells, _View, end_clip, one_input_stage
from .tracks import BoxTrack


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
    """The chain builder with node names and the two-input stages (a copy of the second input brought in)."""

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

    def lane(self, local, origin) -> np.ndarray:
        """Cubes at ``local`` (N, 3, relative to ``origin``) moved left into the lane beside every block: their
        right face one gap clear of the leftmost block, where nothing stands."""
        moved = np.array(local, np.float64)
        right = self.lane_x - float(self.look.gap) - float(self.look.cube_size) / 2   # the rightmost centre
        moved[:, 0] += right - (moved[:, 0].max() + origin[0])
        return moved

    def bring(self, name: str, cells, dst_local, origin, source: _View, source_cells, t0: float) -> float:
        """A copy of ``source``'s cells pops in beside its place ``dst_local`` (in the lane) at ``t0`` while the
        source cells light up, and slides in; returns when it lands."""
        end = t0 + float(self.timing.shuffle_frames)
        n = len(cells)
        self.move(name, cells, np.full(n, t0), np.full(n, end), self.lane(dst_local, origin), dst_local)
        lit = source.index[source_cells[:, 0], source_cells[:, 1], source_cells[:, 2]]
        self.light(source.track, lit, np.full(n, t0), np.full(n, end))
        return end

    def outline(self, name: str, layout: StageLayout, shape) -> None:
        first, last = (layout.output.world(layout.output_chans[k[0]], layout.output_rows[k[1]],
                                           layout.output_cols[k[2]]) for k in ((0, 0, 0), np.array(shape) - 1))
        self.boxes.append(BoxTrack(name=f"{name} outline", role="outline",
                                   size=(np.abs(last - first) + pitch_of(self.look)).astype(np.float32),
                                   key_frames=np.float32([FRAME_START]),
                                   key_centers=((first + last) / 2)[None].astype(np.float32),
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
        self.add_track(name, "input", shape, cells, grid.origin, self.lane(local, grid.origin),
                       self.base_colors(skip, cells),
                       stage.grid_other.ravel(), appear=np.full(n, t0, np.float32))
        track = self.tracks[name]
        landed = self.bring(name, np.arange(n), local, grid.origin, skip, cells, t0)
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
        self.stage_spans.append((previous_end, finished))
        self.step_frames.append(start.astype(np.float32))
        return out_view, finished

    # --- Concat --------------------------------------------------------------------------
    def concat_stage(self, i, stage, layout: StageLayout, view: _View, other: _View, previous_end: float):
        t0 = self.begin_stage(i, previous_end)
        shape = stage.grid_output.shape
        first = stage.grid_input.shape[0]
        cells = _cells(shape)
        grid = layout.output
        local = grid.local(layout.output_chans[cells[:, 0]], layout.output_rows[cells[:, 1]],
                           layout.output_cols[cells[:, 2]])
        mine = cells[:, 0] < first
        start = local.copy()
        start[mine], start[~mine] = self.lane(local[mine], grid.origin), self.lane(local[~mine], grid.origin)
        base = np.empty((len(cells), 4), np.float32)
        theirs = cells[~mine] - [first, 0, 0]
        base[mine] = self.base_colors(view, cells[mine])
        base[~mine] = self.base_colors(other, theirs)
        name = self.name(i, "output")
        # the first half, then the second (popping in as the first leaves): one copy in the lane at a time
        second = t0 + float(self.timing.shuffle_frames)
        appear = np.where(mine, t0, second).astype(np.float32)
        self.add_track(name, "output", shape, cells, grid.origin, start, base, stage.grid_output.ravel(),
                       appear=appear)
        self.popped.append(name)
        index = np.arange(len(cells))
        self.bring(name, index[mine], local[mine], grid.origin, view, cells[mine], t0)
        landed = self.bring(name, index[~mine], local[~mine], grid.origin, other, theirs, second)
        self.outline(name, layout, shape)
        self.step_frames.append(np.full(len(stage.steps), landed, np.float32))
        self.stage_spans.append((previous_end, landed))
        flat = index.reshape(shape)
        return _View(name, flat, grid, layout.output_rows, layout.output_cols, base[flat[:, 0, 0]],
                     layout.output_chans), landed


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
        else:
            view, t = one_input_stage(builder, i, stage, layout, view, t)
        views[node.name] = (view, builder.moved.get(view.track, 0))
    return end_clip(builder, t)


def _second_input(builder: _GraphBuilder, node, views) -> _View:
    view, moves = views[node.inputs[1]]
    if builder.moved.get(view.track, 0) != moves:
        raise SpecError(f"{node.name}.inputs[1]", node.inputs[1],
                        "a tensor whose cubes still stand where it was made: a shuffle since moved them away")
    return view
