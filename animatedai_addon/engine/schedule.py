"""The scheduler: turns a plan's steps into the timeline's tracks and boxes (:func:`build_timeline`).

See :mod:`.timeline` for the conventions it follows and how steps become frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import palette
from .errors import SpecError
from .layout import Grid, StageLayout, filter_route, layout_stages, leg_times, pitch_of
from .options import FRAME_START, Look, Timing, check_look, check_timing
from .pacing import exploded_routes, step_times
from . import plans
from .tracks import BoxTrack, TensorTrack, Timeline

#: Share of a step the pulse takes to run along the filter (the output cell appears at its end).
PULSE_SHARE = 0.5
#: The pulse box leads its layer intervals by this share of a layer (see _Builder.pulse_box).
PULSE_LEAD = 1e-3
#: The pulse and a new output cell: white (linear RGBA).
PULSE_COLOR = (0.9, 0.9, 0.9, 1.0)




def _cells(shape) -> np.ndarray:
    return np.indices(tuple(shape), dtype=np.int32).reshape(3, -1).T


def _flat_index(cells: np.ndarray, shape) -> np.ndarray:
    return (cells[:, 0].astype(np.int64) * shape[1] + cells[:, 1]) * shape[2] + cells[:, 2]


@dataclass
class _View:
    """How a stage sees its input: which track's cubes show it and where they stand."""

    track: str
    index: np.ndarray            # (C, H, W) -> cell index in the track
    grid: Grid                   # where the cells stand now
    rows: np.ndarray             # (H,) grid row of each row
    cols: np.ndarray             # (W,) grid column of each column
    channel_colors: np.ndarray   # (C, 4) base colour of each channel (pooling keeps it)
    chans: np.ndarray | None = None   # (C,) grid channel of each channel (None: the same)

    def world(self, c, y, x) -> np.ndarray:
        return self.grid.world(c if self.chans is None else self.chans[c], self.rows[y], self.cols[x])


@dataclass
class _Shuffled:
    """A shuffle stage's routes, kept so that a shuffle undoing it can travel them backwards."""

    cell: np.ndarray             # (S,) track cell of each step
    times: np.ndarray            # (S, K) key frames of the route
    points: np.ndarray           # (S, K, 3) world waypoints


def _merge_intervals(cell: np.ndarray, start: np.ndarray, end: np.ndarray, presorted: bool):
    """Sorted by (cell, start), a cell's touching intervals joined. The intervals of one cell never
    overlap here (each comes from a different step, pass or stage), so comparing neighbours is exact."""
    cell = np.asarray(cell, np.int32)
    start = np.asarray(start, np.float32)
    end = np.asarray(end, np.float32)
    if len(cell) == 0:
        return cell, start, end
    if not presorted:
        order = np.lexsort((start, cell))
        cell, start, end = cell[order], start[order], end[order]
    opens = np.r_[True, (cell[1:] != cell[:-1]) | (start[1:] > end[:-1])]
    first = np.flatnonzero(opens)
    last = np.r_[first[1:] - 1, len(cell) - 1]
    return cell[first], start[first], end[last]


def window_read_intervals(stage, start, end):
    """Merged intervals during which the steps of a windowed stage read each (group, virtual cell).

    The cells a step reads repeat for every channel of its group, so the work is done on the
    spatial footprint only (kh*kw per step) and broadcast over channels later. Returns
    (group, spatial index vy*VW + vx, start, end), sorted by (group, spatial index, start).
    """
    steps = stage.steps
    kh, kw = stage.kernel_size
    dh, dw = stage.dilation
    vh, vw = len(stage.virtual_rows), len(stage.virtual_cols)
    cpg = stage.channels_per_group
    groups = stage.grid_input.shape[0] // cpg
    per_group = stage.filters.shape[0] // groups
    ky, kx = np.indices((kh, kw)).reshape(2, -1)
    offsets = (ky * dh * vw + kx * dw).astype(np.int64)
    start = np.asarray(start, np.float32)
    end = np.asarray(end, np.float32)
    # Steps go in chunks of at most CHUNK_ELEMENTS reads (steps x kh*kw): each chunk's reads are merged into
    # intervals, then the chunks' intervals (in step order) are merged once more, so the working memory is
    # bounded by the merged intervals (what the clip lights), never by steps x window size.
    chunk = max(1, plans.CHUNK_ELEMENTS // len(offsets))
    parts = []
    for first in range(0, len(steps), chunk):
        part = slice(first, first + chunk)
        group = steps.filter[part].astype(np.int64) // per_group
        corner = group * (vh * vw) + steps.window[part, 0].astype(np.int64) * vw + steps.window[part, 1]
        parts.append(_merge_reads((corner[:, None] + offsets[None, :]).ravel(), len(offsets),
                                  start[part], end[part]))
    if len(parts) == 1:
        key, s, e = parts[0]
    else:
        key, s, e = (np.concatenate(a) for a in zip(*parts))
        key, s, e = _merge_sorted_runs(key, s, e)
    return key // (vh * vw), key % (vh * vw), s, e


def depth_read_intervals(stage, start, end):
    """Merged intervals during which the steps of a depth window read each virtual cell: (flat index on the
    virtual grid (VC, VH, VW), start, end), sorted by (cell, start). As :func:`window_read_intervals`, in
    chunks of steps; every read channel is keyed (the depth slices a step reads depend on the step)."""
    steps = stage.steps
    kh, kw = stage.kernel_size
    dh, dw = stage.dilation
    _, vh, vw = stage.virtual_shape
    ky, kx = np.indices((kh, kw)).reshape(2, -1)
    spatial = (ky * dh * vw + kx * dw).astype(np.int64)
    start = np.asarray(start, np.float32)
    end = np.asarray(end, np.float32)
    per_step = stage.filters.shape[1] * len(spatial)
    chunk = max(1, plans.CHUNK_ELEMENTS // per_step)
    parts = []
    for first in range(0, len(steps), chunk):
        part = np.arange(first, min(first + chunk, len(steps)))
        corner = steps.window[part, 0].astype(np.int64) * vw + steps.window[part, 1]
        channel = plans.step_channels(stage, part).astype(np.int64) * (vh * vw)
        key = (channel[:, :, None] + corner[:, None, None] + spatial[None, None, :]).reshape(len(part), -1)
        parts.append(_merge_reads(key.ravel(), per_step, start[part], end[part]))
    key, s, e = (np.concatenate(a) for a in zip(*parts))
    return _merge_sorted_runs(key, s, e) if len(parts) > 1 else (key, s, e)


def _merge_reads(key, reads_per_step: int, start, end):
    """(key, start, end) of one chunk's reads (``reads_per_step`` keys per step, in step order), merged."""
    order = np.argsort(key, kind="stable")      # stable: a key's reads stay in step (= time) order
    step = order // reads_per_step
    return _merge_sorted_runs(key[order], start[step], end[step], presorted=True)


def _merge_sorted_runs(key, s, e, presorted: bool = False):
    """Intervals of equal keys that abut (one's end is the next one's start) joined; sorted by (key, start)."""
    if not presorted:
        order = np.argsort(key, kind="stable")   # the chunks are in step order: stable keeps time order
        key, s, e = key[order], s[order], e[order]
    opens = np.r_[True, (key[1:] != key[:-1]) | (s[1:] != e[:-1])]
    first = np.flatnonzero(opens)
    last = np.r_[first[1:] - 1, len(key) - 1]
    return key[first], s[first], e[last]


def _expand_channels(group, index_in_channel, start, end, channels: int, cpg: int, per_channel: int):
    """Intervals per (group, cell of a channel) -> per cell ``c * per_channel + index_in_channel`` for every
    channel c of the group; ordered by channel, then as given."""
    counts = np.bincount(group, minlength=channels // cpg)
    block_start = np.r_[0, np.cumsum(counts)[:-1]]
    group_of_c = np.arange(channels) // cpg
    repeats = counts[group_of_c]
    total = int(repeats.sum())
    index_type = np.int32 if total < 2**31 and channels * per_channel < 2**31 else np.int64
    offset = np.r_[0, np.cumsum(repeats)[:-1]]
    pick = np.repeat((block_start[group_of_c] - offset).astype(index_type), repeats)
    pick += np.arange(total, dtype=index_type)
    cell = np.repeat((np.arange(channels) * per_channel).astype(index_type), repeats)
    cell += index_in_channel.astype(index_type)[pick]
    return cell, start[pick], end[pick]


class _Builder:
    """Collects tracks, their highlights, moves and keys while the stages are scheduled."""

    def __init__(self, timing: Timing, look: Look, chain: bool, highlights: bool, stages, layouts):
        self.timing, self.look, self.chain, self.highlights = timing, look, chain, highlights
        self.stages, self.layouts = stages, layouts
        self.tracks: dict[str, TensorTrack] = {}
        self.base: dict[str, np.ndarray] = {}            # colours before value shading
        self.hl: dict[str, list] = {}
        self.moves: dict[str, list] = {}
        self.keys: dict[str, list] = {}
        self.boxes: list[BoxTrack] = []
        self.step_frames: list[np.ndarray] = []
        self.stage_spans: list[tuple[float, float]] = []  # per stage: (previous stage's end, its last step's end)
        self.popped: list[str] = []                      # tracks that pop in during the clip (reset on loops)
        self.aliases: dict[str, str] = {}
        self.shuffled: _Shuffled | None = None
        self.active: tuple[str, StageLayout, int] | None = None   # the filter standing in a slot
        self.first_filter: tuple[str, StageLayout, int] | None = None

    # --- names -------------------------------------------------------------------------
    def name(self, i: int, base: str) -> str:
        if base == "input" and i == 0:
            return "input"
        if base == "input padding":
            return "input padding" if i == 0 else f"stage{i} input padding"
        return f"stage{i} {base}" if self.chain else base

    # --- tracks ------------------------------------------------------------------------
    def add_track(self, name, role, shape, cells, origin, local, base_color, value, appear=None,
                  fold=None) -> TensorTrack:
        n = len(cells)
        value = np.asarray(value, np.float32).reshape(-1)
        color = palette.shade_by_value(base_color, value, self.look.value_shading) if role != "padding" \
            else np.asarray(base_color, np.float32).copy()
        track = TensorTrack(
            name=name, role=role, shape=tuple(int(s) for s in shape), cells=np.asarray(cells, np.int32),
            origin=np.asarray(origin, np.float64).copy(), position=np.asarray(local, np.float32),
            color=color, highlight_color=self.highlight_colors(role, color), value=value,
            appear=np.full(n, -np.inf, np.float32) if appear is None else np.asarray(appear, np.float32),
            disappear=np.full(n, np.inf, np.float32), fold=fold)
        self.tracks[name] = track
        self.base[name] = np.asarray(base_color, np.float32)
        self.hl[name], self.moves[name], self.keys[name] = [], [], []
        return track

    @property
    def pulse(self) -> bool:
        return self.look.highlight == "pulse"

    def highlight_colors(self, role: str, color: np.ndarray) -> np.ndarray:
        """White for what the pulse lights (filters, new output cells), else a brighter own colour."""
        if self.pulse and role in ("filter", "output"):
            return np.tile(np.float32(PULSE_COLOR), (len(color), 1))
        return palette.highlight(color, self.look.highlight_gain)

    def light(self, name, cell, start, end, merged=False):
        """Add highlight intervals; ``merged``: already sorted by (cell, start) with touching ones joined."""
        self.hl[name].append((np.asarray(cell), np.asarray(start), np.asarray(end), merged))

    def move(self, name, cell, start, end, before, after):
        self.moves[name].append((np.asarray(cell, np.int32), np.asarray(start, np.float64),
                                 np.asarray(end, np.float64), np.asarray(before), np.asarray(after)))

    def key(self, name, frames, locations):
        self.keys[name].append((np.asarray(frames, np.float64).reshape(-1),
                                np.asarray(locations, np.float64).reshape(-1, 3)))

    # --- filters -----------------------------------------------------------------------
    def slide(self, filt, start: float, inward: bool, frames: float | None = None) -> float:
        """Key a filter's travel between its waiting place and the slot (``frames`` long, default
        ``move_frames``); returns when it ends."""
        name, layout, f = filt
        frames = float(self.timing.move_frames if frames is None else frames)
        route = filter_route(layout, f)
        if not inward:
            route = route[::-1]
        self.key(name, leg_times(route, start, frames), route)
        return start + frames

    # --- the first input ---------------------------------------------------------------
    def first_input(self) -> _View:
        stage, layout = self.stages[0], self.layouts[0]
        shape = stage.grid_input.shape
        cells = _cells(shape)
        local = layout.input.local(layout.input_chans[cells[:, 0]], layout.input_rows[cells[:, 1]],
                                   layout.input_cols[cells[:, 2]])
        base = self.input_colors(stage, cells)
        self.add_track("input", "input", shape, cells, layout.input.origin, local, base, stage.grid_input.ravel(),
                       fold=stage.spec.input_fold)
        index = np.arange(len(cells)).reshape(shape)
        return _View("input", index, layout.input, layout.input_rows, layout.input_cols, base[index[:, 0, 0]],
                     layout.input_chans)

    def input_colors(self, stage, cells) -> np.ndarray:
        families = stage.spec.input_families(cells)
        if families is not None:
            count, members, family, member = families
            return palette.family_colors(count, members)[family, member]
        return np.tile(np.asarray(self.look.input_color, np.float32), (len(cells), 1))

    def filter_colors(self, i: int, count: int) -> np.ndarray:
        """One colour per filter; families when the next stage colours its input channels by family (a pixel
        shuffle taking this stage's output apart)."""
        following = self.stages[i + 1] if i + 1 < len(self.stages) else None
        families = following.spec.channel_families(np.arange(count)) if following is not None else None
        if families is not None:
            families_count, members, family, member = families
            colors = palette.family_colors(families_count, members)[family, member]
        else:
            colors = palette.filter_colors(count)
        given = np.asarray(self.look.filter_colors, np.float32).reshape(-1, 4)[:count]
        colors[:len(given)] = given
        return colors

    # --- windowed stages (convolutions, pooling) ---------------------------------------
    def padding_track(self, i: int, stage, layout: StageLayout, appear: float) -> str | None:
        rows, cols, chans = stage.virtual_rows, stage.virtual_cols, stage.virtual_channels
        padded = (chans[:, None, None] < 0) | (rows[None, :, None] < 0) | (cols[None, None, :] < 0)
        cells = np.argwhere(padded).astype(np.int32)        # channel by channel, as the reads count them
        if len(cells) == 0:
            return None
        local = layout.input.local(cells[:, 0], cells[:, 1], cells[:, 2])
        name = self.name(i, "input padding")
        n = len(cells)
        self.add_track(name, "padding", padded.shape, cells, layout.input.origin, local,
                       np.tile(np.float32(self.look.padding_color), (n, 1)), np.zeros(n),
                       appear=None if i == 0 else np.full(n, appear, np.float32), fold=stage.spec.input_fold)
        if i > 0:
            self.popped.append(name)
        return name

    def filter_tracks(self, i: int, stage, layout: StageLayout) -> list[str]:
        """One track per filter: its kernel cells, and with a bias one more cell, the bias, centred on a layer
        of its own at the output end (the pulse runs through it last: its value joins the sum)."""
        weights = stage.filters
        colors = self.filter_colors(i, len(weights))
        shape = layout.filter_grid.shape
        cells = _cells(weights.shape[1:])
        local = layout.filter_grid.local(cells[:, 0], cells[:, 1], cells[:, 2])
        values = weights.reshape(len(weights), -1)
        if stage.bias is not None:
            cpg, kh, kw = weights.shape[1:]
            cells = np.r_[cells, [[cpg, kh // 2, kw // 2]]].astype(np.int32)
            local = np.r_[local, layout.filter_grid.local([cpg], [(kh - 1) / 2], [(kw - 1) / 2])]
            values = np.c_[values, stage.bias]
        names = []
        for f in range(len(weights)):
            name = self.name(i, f"filter{f}")
            self.add_track(name, "filter", shape, cells, layout.homes[f], local,
                           np.tile(colors[f], (len(cells), 1)), values[f], fold=stage.spec.filter_fold())
            names.append(name)
        return names

    def begin_stage(self, i: int, previous_end: float, incoming=None) -> float:
        """When stage ``i``'s first step happens: after the intro for the first stage; else after the
        filter in a slot slid home, the stage's first filter (``incoming``) slid in, and a hold."""
        if i == 0:
            if incoming is not None:            # the very first filter stands in its slot from the start
                self.key(incoming[0], [FRAME_START], incoming[1].slots[incoming[2]][None])
                self.active = self.first_filter = incoming
            return float(FRAME_START + self.timing.intro_frames)
        t = previous_end
        if self.active is not None:
            t = self.slide(self.active, t, inward=False)
            self.active = None
        if incoming is not None:
            t = self.slide(incoming, t, inward=True)
            self.active = incoming
        return t + self.timing.hold_frames

    def windowed_stage(self, i: int, stage, layout: StageLayout, view: _View, previous_end: float):
        filters_move = layout.kind == "filters" and stage.order == "filter"
        pad_name = self.padding_track(i, stage, layout, previous_end)
        steps = stage.steps
        incoming = None
        names = []
        if layout.kind == "filters":
            names = self.filter_tracks(i, stage, layout)
            out_colors = self.filter_colors(i, len(names))
            if filters_move:
                f = int(steps.filter[0])
                incoming = (names[f], layout, f)
        else:
            out_colors = view.channel_colors
        t0 = self.begin_stage(i, previous_end, incoming)
        start, end, firsts, lasts, slides = step_times(stage, self.timing, filters_move, t0)
        arrive = start + PULSE_SHARE * (end - start) if self.pulse else start
        if layout.kind == "filters":
            self.filter_passes(names, layout, steps.filter, start, end, firsts, lasts, slides, filters_move)
        out_view = self.output_track(i, stage, layout, arrive, end, out_colors)
        self.window_boxes(i, stage, layout, view, pad_name, start, end, firsts, lasts)
        if self.pulse and names:
            self.pulse_box(i, stage, layout, names, filters_move, start, arrive)
        if self.highlights and not self.pulse:
            self.light_reads(stage, view, pad_name, start, end)
        self.step_frames.append(arrive.astype(np.float32))
        self.stage_spans.append((previous_end, float(end[-1])))
        return out_view, float(end[-1])

    def filter_passes(self, names, layout, filters, start, end, firsts, lasts, slides, filters_move: bool):
        """Slides between passes; with "cells" highlights each filter is lit while it works."""
        cells_of = {name: np.arange(len(self.tracks[name])) for name in names}
        lit = not self.pulse
        if not filters_move:    # filters stay in their places (and light up for the whole stage)
            for f in np.unique(filters) if lit else ():
                cells = cells_of[names[f]]
                self.light(names[f], cells, np.full(len(cells), start[0]), np.full(len(cells), end[-1]), merged=True)
            return
        for p, (a, b) in enumerate(zip(firsts, lasts)):
            f = int(filters[a])
            if p > 0:                           # the first pass's filter was brought in by begin_stage
                pass_end = float(end[lasts[p - 1]])
                self.slide(self.active, pass_end, inward=False, frames=slides[p])
                self.active = (names[f], layout, f)
                self.slide(self.active, pass_end + slides[p], inward=True, frames=slides[p])
            if lit:
                cells = cells_of[names[f]]
                self.light(names[f], cells, np.full(len(cells), start[a]), np.full(len(cells), end[b]), merged=True)

    def pulse_box(self, i: int, stage, layout: StageLayout, names, filters_move: bool, start, arrive):
        """The white pulse: a one-channel-thick box over the step's filter, gliding (LINEAR keys) from
        before its channel 0 (the input end) to past its last channel during ``[start, arrive)`` and
        hidden otherwise; with per-cell highlights, the same as intervals of the filter's cells."""
        filters = stage.steps.filter.astype(np.int64)
        fgrid = layout.filter_grid
        places = layout.slots if filters_move else layout.homes
        layers = fgrid.shape[0]
        half = (fgrid.size[1] - fgrid.cube + fgrid.pitch) / 2      # layers * pitch / 2, and the gaps of folds
        begin, finish = places[filters].copy(), places[filters].copy()
        # channel 0 stands at the back (+y); the box runs a hair (PULSE_LEAD of a layer) ahead of the
        # intervals below, so that at a boundary frame both modes light the layer being entered
        begin[:, 1] += half - PULSE_LEAD * fgrid.pitch
        finish[:, 1] -= half + PULSE_LEAD * fgrid.pitch
        frames = np.stack([start, arrive], axis=1).ravel()
        centers = np.stack([begin, finish], axis=1).reshape(-1, 3)
        keep = np.r_[frames[1:] > frames[:-1], True]   # a zero-length pulse: one key
        _, _, kh, kw = stage.filters.shape
        self.boxes.append(BoxTrack(
            name=self.name(i, "pulse"), role="pulse", size=self._span_size(kw, 1, kh),
            key_frames=frames[keep].astype(np.float32), key_centers=centers[keep].astype(np.float32),
            appear=float(np.float32(start[0])), disappear=float(np.float32(arrive[-1])), targets=tuple(names),
            color=PULSE_COLOR, key_visible=np.tile([True, False], len(start))[keep], interpolation="linear"))
        if not self.highlights:
            return
        # cell of layer c is lit during [start + u/U * run, start + (u+1)/U * run), u its place along the filter
        # (c, and the fold gaps before it) and U the places the box passes (L without gaps)
        run = (arrive - start)[None, :]
        places = float(fgrid.channel_place(layers - 1)) + 1.0
        for f in np.unique(filters):
            track = self.tracks[names[f]]
            mine = filters == f
            c = fgrid.channel_place(track.cells[:, 0])[:, None]
            s = start[mine][None, :] + c / places * run[:, mine]
            e = start[mine][None, :] + (c + 1) / places * run[:, mine]
            cell = np.repeat(np.arange(len(track), dtype=np.int32), int(mine.sum()))
            live = (e > s).ravel()
            self.light(names[f], cell[live], s.astype(np.float32).ravel()[live], e.astype(np.float32).ravel()[live],
                       merged=True)

    def output_track(self, i: int, stage, layout: StageLayout, arrive, end, colors) -> _View:
        """Output cells appear at ``arrive``; with the pulse they are white until their step ends."""
        shape = stage.grid_output.shape
        cells = _cells(shape)
        local = layout.output.local(layout.output_chans[cells[:, 0]], layout.output_rows[cells[:, 1]],
                                    layout.output_cols[cells[:, 2]])
        appear = np.full(len(cells), np.inf, np.float32)
        flat = _flat_index(stage.steps.out, shape)
        appear[flat] = arrive
        name = self.name(i, "output")
        colors = np.asarray(colors, np.float32)[np.arange(shape[0]) % len(colors)]   # depth slices repeat them
        base = colors[cells[:, 0]]
        self.add_track(name, "output", shape, cells, layout.output.origin, local, base, stage.grid_output.ravel(), appear,
                       fold=stage.spec.output_fold)
        self.popped.append(name)
        if self.pulse:      # white until the step ends, and at least one frame after the pop-in completes
            white_end = np.maximum(np.asarray(end, np.float64), arrive + self.timing.pop_frames + 1.0)
            self.light(name, flat, appear[flat], white_end.astype(np.float32))
        first, last = (layout.output.world(layout.output_chans[k[0]], layout.output_rows[k[1]],
                                           layout.output_cols[k[2]]) for k in ((0, 0, 0), np.array(shape) - 1))
        outline = BoxTrack(name=f"{name} outline", role="outline",
                           size=(np.abs(last - first) + pitch_of(self.look)).astype(np.float32),
                           key_frames=np.float32([FRAME_START]),
                           key_centers=((first + last) / 2)[None].astype(np.float32),
                           color=palette.OUTLINE_COLOR)
        self.boxes.append(outline)
        index = np.arange(len(cells)).reshape(shape)
        return _View(name, index, layout.output, layout.output_rows, layout.output_cols, colors, layout.output_chans)

    def _span_size(self, cols: float, channels: float, rows: float) -> np.ndarray:
        """A box around ``cols x channels x rows`` cells whose faces sit mid-gap: it holds exactly their centres."""
        return (np.array([cols, channels, rows], np.float64) * pitch_of(self.look)).astype(np.float32)

    def window_boxes(self, i, stage, layout, view, pad_name, start, end, firsts, lasts):
        steps = stage.steps
        kh, kw = stage.kernel_size
        dh, dw = stage.dilation
        first_c, last_c = plans.channel_span(stage)
        row, col = steps.window[:, 0] + (kh - 1) * dh / 2, steps.window[:, 1] + (kw - 1) * dw / 2
        front, back = layout.input.world(first_c, row, col), layout.input.world(last_c, row, col)
        centers = (front + back) / 2
        size = self._span_size((kw - 1) * dw + 1, 1, (kh - 1) * dh + 1)
        size[1] += abs(front[0, 1] - back[0, 1]) if len(steps) else 0.0   # the channels it spans (and fold gaps)
        # hidden from the end of each pass until the next pass starts (no key where no gap is left)
        pass_end = end[lasts]
        gap_after = np.r_[start[firsts[1:]] > pass_end[:-1], True]
        frames = np.r_[start, pass_end[gap_after]]
        rank = np.r_[np.arange(len(start)) * 2, lasts[gap_after] * 2 + 1]   # a pass end right after its last step
        order = np.argsort(rank, kind="stable")
        hidden_centers = centers[lasts[gap_after]]
        visible = np.r_[np.ones(len(start), bool), np.zeros(int(gap_after.sum()), bool)]
        # a box lights what lies inside it; a depth window of several groups or a dilated depth holds cells it
        # does not read: then the read intervals light them
        inexact = stage.depth is not None and (stage.depth.dilation > 1 or stage.spec.groups > 1)
        targets = () if self.pulse or inexact else (view.track,) + ((pad_name,) if pad_name else ())
        self.boxes.append(BoxTrack(
            name=self.name(i, "window"), role="window",
            size=size.astype(np.float32),
            key_frames=frames[order].astype(np.float32),
            key_centers=np.concatenate([centers, hidden_centers])[order].astype(np.float32),
            appear=float(np.float32(start[0])), disappear=float(np.float32(end[-1])), targets=targets,
            color=palette.WINDOW_COLOR, key_visible=visible[order],
            read_spacing=np.array([dw if dw > 1 else 0, 0, dh if dh > 1 else 0], np.float64) * pitch_of(self.look)))

    def light_reads(self, stage, view: _View, pad_name, start, end):
        """Highlight intervals of the input (and padding) cells: lit while a step reads them."""
        if stage.depth is not None:
            return self.light_depth_reads(stage, view, pad_name, start, end)
        group, spatial, s, e = window_read_intervals(stage, start, end)
        rows, cols = stage.virtual_rows, stage.virtual_cols
        channels, h, w = view.index.shape
        cpg = stage.channels_per_group
        vy, vx = spatial // len(cols), spatial % len(cols)
        real = (rows[vy] >= 0) & (cols[vx] >= 0)
        within = rows[vy[real]].astype(np.int64) * w + cols[vx[real]]
        cell, s_r, e_r = _expand_channels(group[real], within, s[real], e[real], channels, cpg, h * w)
        flat = view.index.ravel()
        if np.array_equal(flat, np.arange(len(flat))):
            self.light(view.track, cell, s_r, e_r, merged=True)
        else:   # the cubes were moved by a shuffle: map to the track's cells, then sort
            self.light(view.track, flat[cell], s_r, e_r)
        if pad_name is not None:
            is_pad = ((rows[:, None] < 0) | (cols[None, :] < 0)).ravel()
            pad_rank = np.cumsum(is_pad) - 1
            cell, s_p, e_p = _expand_channels(group[~real], pad_rank[spatial[~real]], s[~real], e[~real], channels,
                                              cpg, int(is_pad.sum()))
            self.light(pad_name, cell, s_p, e_p, merged=True)

    def light_depth_reads(self, stage, view: _View, pad_name, start, end):
        """:meth:`light_reads` for a depth window: intervals per virtual cell, then to the input's cells (the
        real ones) and the padding's (virtual cells in padding slices, rows or columns, in their order)."""
        vcell, s, e = depth_read_intervals(stage, start, end)
        shape = stage.virtual_shape
        vc, vy, vx = np.unravel_index(vcell, shape)
        chans, rows, cols = stage.virtual_channels, stage.virtual_rows, stage.virtual_cols
        real = (chans[vc] >= 0) & (rows[vy] >= 0) & (cols[vx] >= 0)
        cell = view.index[chans[vc[real]], rows[vy[real]], cols[vx[real]]]
        self.light(view.track, cell, s[real], e[real])
        if pad_name is not None:
            padded = (chans[:, None, None] < 0) | (rows[None, :, None] < 0) | (cols[None, None, :] < 0)
            pad_rank = np.cumsum(padded.ravel()) - 1
            self.light(pad_name, pad_rank[vcell[~real]], s[~real], e[~real])

    # --- shuffles ----------------------------------------------------------------------
    def shuffle_stage(self, i: int, stage, layout: StageLayout, view: _View, previous_end: float):
        """In place: every cell of the view travels to its output place, all at once (:func:`exploded_routes`)."""
        t0 = self.begin_stage(i, previous_end)
        steps = stage.steps
        src, out = steps.src, steps.out
        cell = view.index[src[:, 0], src[:, 1], src[:, 2]]
        if layout.returns:
            times, points = self.returning_routes(cell, t0)
        else:
            half = float(self.timing.shuffle_frames) / 2
            times = np.tile([t0, t0 + half, t0 + 2 * half], (len(cell), 1))
            points = exploded_routes(view.world(src[:, 0], src[:, 1], src[:, 2]),
                                     layout.output.world(layout.output_chans[out[:, 0]], layout.output_rows[out[:, 1]],
                                                         layout.output_cols[out[:, 2]]))
        origin = self.tracks[view.track].origin
        for leg in range(times.shape[1] - 1):
            self.move(view.track, cell, times[:, leg], times[:, leg + 1], points[:, leg] - origin,
                      points[:, leg + 1] - origin)
        self.shuffled = _Shuffled(cell, times, points)
        self.step_frames.append(times[:, -1].astype(np.float32))
        self.stage_spans.append((previous_end, float(times[:, -1].max())))
        index = np.empty(stage.grid_output.shape, np.int64)
        index[out[:, 0], out[:, 1], out[:, 2]] = cell
        self.aliases[self.name(i, "output")] = view.track
        colors = self.base[view.track][index[:, 0, 0]]
        return _View(view.track, index, layout.output, layout.output_rows, layout.output_cols, colors,
                     layout.output_chans), \
            float(times[:, -1].max())

    def returning_routes(self, cell, t0: float):
        """The previous shuffle's routes backwards, in mirrored time: the last cell to arrive leaves first."""
        before = self.shuffled
        row_of_cell = np.empty(int(before.cell.max()) + 1, np.int64)
        row_of_cell[before.cell] = np.arange(len(before.cell))
        rows = row_of_cell[cell]
        last_arrival = before.times[:, -1].max()
        times = t0 + (last_arrival - before.times[rows, ::-1])
        return times, before.points[rows, ::-1]

    # --- the end of the clip ------------------------------------------------------------
    def _move_arrays(self, name):
        pieces = self.moves[name]
        if not pieces:
            return None
        cell, start, end, before, after = (np.concatenate([p[k] for p in pieces]) for k in range(5))
        order = np.lexsort((start, cell))
        return cell[order], start[order], end[order], before[order], after[order]

    def loop_back(self, t: float) -> float:
        """From ``t`` on, undo the clip: cells not back in their places travel their routes backwards in
        mirrored time, then everything that popped in vanishes, then the first filter returns to its
        slot. Returns the frame where the first frame's state is reached again."""
        away = {}
        for name, track in self.tracks.items():
            arrays = self._move_arrays(name)
            if arrays is None:
                continue
            cell, start, end, before, after = arrays
            last = np.r_[cell[1:] != cell[:-1], True]
            final = np.zeros(track.position.shape)
            final[cell[last]] = after[last]
            off = np.any(np.abs(final - track.position) > 1e-5, axis=1)
            moved = np.zeros(len(track), bool)
            moved[cell[last]] = True
            keep = (off & moved)[cell]
            if keep.any():
                away[name] = (cell[keep], start[keep], end[keep], before[keep], after[keep])
        if away:
            first = min(float(a[1].min()) for a in away.values())
            last = max(float(a[2].max()) for a in away.values())
            for name, (cell, start, end, before, after) in away.items():
                self.move(name, cell, t + (last - end), t + (last - start), after, before)
            t += last - first
        for name in self.popped:      # cells replaced in place went earlier (engine/inplace.py)
            track = self.tracks[name]
            track.disappear[:] = np.minimum(track.disappear, np.float32(t))
        if self.active != self.first_filter:
            if self.active is not None:
                t = self.slide(self.active, t, inward=False)
            if self.first_filter is not None:
                t = self.slide(self.first_filter, t, inward=True)
        return t

    def finish(self, frame_end: int, easing: str, pop_frames: int, fps: int) -> Timeline:
        for name, track in self.tracks.items():
            self._finish_track(name, track)
        timeline = Timeline(frame_start=FRAME_START, frame_end=frame_end, fps=fps, pop_frames=pop_frames,
                            easing=easing, tensors=list(self.tracks.values()), boxes=self.boxes,
                            step_frames=np.concatenate(self.step_frames).astype(np.float32),
                            aliases=dict(self.aliases),
                            stage_spans=np.asarray(self.stage_spans, np.float32).reshape(-1, 2))
        low, high = bounds(timeline, self.look)
        timeline.camera_target = (low + high) / 2
        timeline.extent = high - low
        return timeline

    def last_event(self) -> float:
        """The latest frame at which anything still changes."""
        latest = [float(np.max(np.concatenate(self.step_frames)))]
        for name, track in self.tracks.items():
            finite = track.appear[np.isfinite(track.appear)]
            if len(finite):
                latest.append(float(finite.max()) + self.timing.pop_frames)
            latest += [float(p[2].max()) for p in self.moves[name] if len(p[2])]
            latest += [float(k[0].max()) for k in self.keys[name] if len(k[0])]
            latest += [float(np.max(h[2])) for h in self.hl[name] if len(h[2]) and np.isfinite(np.max(h[2]))]
        return max(latest)

    def _finish_track(self, name: str, track: TensorTrack) -> None:
        pieces = self.hl[name]
        if len(pieces) == 1 and pieces[0][3]:
            cell, start, end = pieces[0][:3]
            track.highlight_cell = cell.astype(np.int32, copy=False)
            track.highlight_start = start.astype(np.float32, copy=False)
            track.highlight_end = end.astype(np.float32, copy=False)
        elif pieces:
            cell, start, end = (np.concatenate([p[k] for p in pieces]) for k in range(3))
            track.highlight_cell, track.highlight_start, track.highlight_end = _merge_intervals(cell, start, end, False)
        arrays = self._move_arrays(name)
        if arrays is not None:
            cell, start, end, _, after = arrays
            track.move_cell, track.move_start, track.move_end = cell.astype(np.int32), start.astype(np.float32), \
                end.astype(np.float32)
            track.move_to = after.astype(np.float32)
        if self.keys[name]:
            frames = np.concatenate([k[0] for k in self.keys[name]])
            locations = np.concatenate([k[1] for k in self.keys[name]])
            order = np.argsort(frames, kind="stable")
            frames, locations = frames[order], locations[order]
            # a slide's first key repeats the place where the last one left it: keep one key per frame
            keep = np.r_[frames[1:] != frames[:-1], True]
            track.key_frames = frames[keep].astype(np.float32)
            track.key_locations = locations[keep].astype(np.float32)


def bounds(timeline: Timeline, look: Look) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest world corner of every cube wherever it goes, and of every box."""
    low, high = np.full(3, np.inf), np.full(3, -np.inf)

    def grow(points, half):
        nonlocal low, high
        if len(points):
            low = np.minimum(low, points.min(axis=0) - half)
            high = np.maximum(high, points.max(axis=0) + half)

    half = look.cube_size / 2
    for track in timeline.tensors:
        places = [track.position.astype(np.float64)]
        if len(track.move_to):
            places.append(track.move_to.astype(np.float64))
        local = np.concatenate(places)
        origins = track.key_locations.astype(np.float64) if len(track.key_locations) else track.origin[None]
        span_low, span_high = local.min(axis=0), local.max(axis=0)
        grow(origins + span_low, half)
        grow(origins + span_high, half)
    for box in timeline.boxes:
        grow(box.key_centers.astype(np.float64), box.size.astype(np.float64) / 2)
    if not np.all(np.isfinite(low)):
        return np.zeros(3), np.ones(3)
    return low, high


def build_timeline(plan, timing: Timing = Timing(), look: Look = Look(), highlights: bool = True) -> Timeline:
    """When and where everything happens for a Plan or ChainPlan (see the module notes for the layout; a
    GraphPlan: :mod:`.graph_schedule`, both through :func:`.timeline.build_timeline`)."""
    from .planning import ChainPlan, Plan

    timing, look = check_timing(timing), check_look(look)
    if isinstance(plan, Plan) and plan.reduce in ("add", "concat"):
        raise SpecError("plan", plan.spec.label, f"a plan of a Graph: {plan.spec.op} takes two inputs, which "
                        "a Graph's node names")
    if isinstance(plan, ChainPlan):
        stages, chain = list(plan.stages), True
    elif isinstance(plan, Plan):
        stages, chain = [plan], False
    else:
        raise SpecError("plan", plan, "a Plan, ChainPlan or GraphPlan made by plan(spec)")
    if not isinstance(highlights, bool):
        raise SpecError("highlights", highlights, "true or false")
    layouts = layout_stages(stages, look)
    builder = _Builder(timing, look, chain, highlights, stages, layouts)
    view = builder.first_input()
    t = float(FRAME_START)
    for i, (stage, layout) in enumerate(zip(stages, layouts)):
        view, t = one_input_stage(builder, i, stage, layout, view, t)
    return end_clip(builder, t)


def one_input_stage(builder: _Builder, i: int, stage, layout: StageLayout, view: _View, t: float):
    """Schedule stage ``i`` that reads one tensor (``view``) from frame ``t``: (its output's view, its end)."""
    from . import inplace        # it builds on this module's _Builder
    if layout.kind == "shuffle":
        return builder.shuffle_stage(i, stage, layout, view, t)
    if layout.kind == "elementwise":
        return inplace.sweep_stage(builder, i, stage, layout, view, t)
    return builder.windowed_stage(i, stage, layout, view, t)


def end_clip(builder: _Builder, t: float) -> Timeline:
    """The timeline after the last stage ended at ``t``: the outro, and the way back to the start of a loop."""
    timing = builder.timing
    t = max(t, builder.last_event()) + timing.outro_frames
    if timing.loop:
        frame_end = math.ceil(builder.loop_back(t))
    else:
        frame_end = math.ceil(max(t, builder.last_event()))
    return builder.finish(frame_end, timing.easing, timing.pop_frames, timing.fps)
