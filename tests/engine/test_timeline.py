"""Timelines: timing invariants over the presets and generated small specs, state_at against a slow
per-cell evaluation, loops, validation and cube counts."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from animatedai_addon.engine import palette
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.layout import Grid, pitch_of
from animatedai_addon.engine.specbase import Elementwise2d
from animatedai_addon.engine.planning import ChainPlan, GraphPlan, plan, read_cells
from animatedai_addon.engine.presets import list_presets, load_preset_file
from animatedai_addon.engine.spec import (AvgPool2d, BatchNorm2d, Chain, Conv1d, Conv2d, Conv3d, ConvTranspose2d,
                                          MaxPool2d, PixelShuffle, PixelUnshuffle, ReLU, ReLU6)
from animatedai_addon.engine.timeline import (PULSE_COLOR, EASINGS, FRAME_START, Look, Timing, box_state_at, build_timeline,
                                              check_cube_budget, count_cubes, ease, state_at)

SMALL = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRESETS = list_presets()


# ---------------------------------------------------------------------------------- helpers

CELLS = Look(highlight="cells")


def preset_timeline(name, look_changes=None, **timing_changes):
    preset = load_preset_file(name)
    timing = Timing(**{**vars(preset.timing), **timing_changes})
    look = Look(**{**vars(preset.look), **(look_changes or {})})
    the_plan = plan(preset.spec)
    return the_plan, build_timeline(the_plan, timing, look), preset


def stages_of(the_plan):
    return list(the_plan.stages) if isinstance(the_plan, (ChainPlan, GraphPlan)) else [the_plan]


def stage_name(the_plan, i, base):
    if isinstance(the_plan, GraphPlan):
        return f"{the_plan.spec.nodes[i].name} {base}"
    return f"stage{i} {base}" if isinstance(the_plan, ChainPlan) else base


def input_maps(the_plan, timeline):
    """Per stage: (track name, (C, H, W) -> cell index) of the cubes showing the stage's input, worked out
    from the plan's semantics alone (a windowed or elementwise stage's output is its own track; a shuffle moves
    cubes)."""
    maps = []
    grid = stages_of(the_plan)[0].grid_input.shape
    current = ("input", np.arange(int(np.prod(grid))).reshape(grid))
    for i, stage in enumerate(stages_of(the_plan)):
        maps.append(current)
        if stage.is_windowed or stage.reduce in ("add", "concat", "elementwise"):     # a new track of its own
            shape = stage.grid_output.shape
            current = (stage_name(the_plan, i, "output"), np.arange(int(np.prod(shape))).reshape(shape))
        else:
            index = np.empty(stage.grid_output.shape, np.int64)
            src, out = stage.steps.src, stage.steps.out
            index[out[:, 0], out[:, 1], out[:, 2]] = current[1][src[:, 0], src[:, 1], src[:, 2]]
            current = (current[0], index)
    return maps


def padding_name(the_plan, i):
    return "input padding" if i == 0 else stage_name(the_plan, i, "input padding")


def stage_step_frames(the_plan, timeline):
    """Split Timeline.step_frames per stage."""
    out, at = [], 0
    for stage in stages_of(the_plan):
        out.append(timeline.step_frames[at:at + len(stage.steps)])
        at += len(stage.steps)
    return out


def lit_cells_by_reads(the_plan, timeline, i, s):
    """{track name: set of cells} that step s of stage i reads, from planning.read_cells."""
    stage = stages_of(the_plan)[i]
    reads = read_cells(stage, [s])
    track, index = input_maps(the_plan, timeline)[i]
    wanted = {track: set()}
    real = ~reads.is_padding[0]
    wanted[track] |= set(index[reads.channel[0][real], reads.y[0][real], reads.x[0][real]].tolist())
    if reads.is_padding.any():
        pad = timeline.tensor(padding_name(the_plan, i))
        lookup = {tuple(c): n for n, c in enumerate(pad.cells.tolist())}
        channel = reads.channel if reads.vc is None else reads.vc     # padding cells stand on the virtual grid
        wanted[pad.name] = {lookup[(c, y, x)] for c, y, x in zip(channel[0][~real], reads.vy[0][~real],
                                                                  reads.vx[0][~real])}
    return wanted


def slow_state(track, frame, timeline):
    """One cell at a time, straight from the conventions in engine/timeline.py."""
    n = len(track)
    scale, lit, local = np.zeros(n), np.zeros(n, bool), track.position.astype(np.float64).copy()
    for c in range(n):
        a, d = float(track.appear[c]), float(track.disappear[c])
        if frame >= d or frame < a:
            scale[c] = 0.0
        elif timeline.pop_frames == 0 or a == -np.inf:
            scale[c] = 1.0
        else:
            scale[c] = float(ease((frame - a) / timeline.pop_frames, timeline.easing))
        for k in np.flatnonzero(track.highlight_cell == c):
            if track.highlight_start[k] <= frame < track.highlight_end[k]:
                lit[c] = True
        where = local[c].copy()
        for k in np.flatnonzero(track.move_cell == c):
            s, e, to = float(track.move_start[k]), float(track.move_end[k]), track.move_to[k].astype(np.float64)
            if frame >= e:
                where = to
            elif frame >= s:
                where = where + float(ease((frame - s) / (e - s), timeline.easing)) * (to - where)
                break
            else:
                break
        local[c] = where
    origin = np.asarray(track.origin, np.float64)
    if len(track.key_frames):
        origin = track.key_locations[0].astype(np.float64)
        for k in range(len(track.key_frames)):
            if frame >= track.key_frames[k]:
                origin = track.key_locations[k].astype(np.float64)
                if k + 1 < len(track.key_frames) and frame < track.key_frames[k + 1]:
                    u = (frame - track.key_frames[k]) / (track.key_frames[k + 1] - track.key_frames[k])
                    origin = origin + float(ease(u, timeline.easing)) * (track.key_locations[k + 1] - origin)
    return scale, lit, local, origin + local


def overlapping(positions, half_sizes, eps=1e-4):
    """Index pairs of axis-aligned cubes (centres, half edges) that overlap: a sweep along x."""
    order = np.argsort(positions[:, 0], kind="stable")
    p, h = positions[order], half_sizes[order]
    pairs = []
    for k in range(1, len(p)):
        reach = h[k:] + h[:-k] - eps
        near = p[k:, 0] - p[:-k, 0] < reach
        if not near.any() and (p[k:, 0] - p[:-k, 0]).min() > 2 * h.max():
            break
        hit = near & np.all(np.abs(p[k:] - p[:-k]) < reach[:, None], axis=1)
        for a in np.flatnonzero(hit):
            pairs.append((order[a], order[a + k]))
    return pairs


def cubes_at(timeline, frame, look, only=None):
    """World centres, half sizes and (track, cell) labels of every visible cube at ``frame``."""
    states = state_at(timeline, frame)
    centres, halves, labels = [], [], []
    for track in timeline.tensors:
        if only is not None and track.name not in only:
            continue
        s = states[track.name]
        shown = np.flatnonzero(s.visible)
        centres.append(s.world_position[shown])
        halves.append(s.scale[shown] * look.cube_size / 2)
        labels += [(track.name, int(c)) for c in shown]
    return np.concatenate(centres), np.concatenate(halves), labels


# ---------------------------------------------------------------------------------- strategies

@st.composite
def small_specs(draw):
    """Small single ops and two-stage chains (every kind, with padding, stride, dilation, groups)."""
    kind = draw(st.sampled_from(["conv", "conv", "transpose", "max", "avg", "shuffle", "unshuffle", "chain"]))
    c = draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    try:
        if kind == "conv":
            groups = draw(st.sampled_from([g for g in (1, 2, c) if c % g == 0]))
            return Conv2d(c, h, w, out_channels=groups * draw(st.integers(1, 2)), kernel_size=draw(st.integers(1, 3)),
                          stride=draw(st.integers(1, 2)), dilation=draw(st.integers(1, 2)), groups=groups,
                          padding=draw(st.sampled_from(["valid", "same", "full", 1, (0, 1, 1, 0)])))
        if kind == "transpose":
            return ConvTranspose2d(c, h, w, out_channels=draw(st.integers(1, 3)), kernel_size=draw(st.integers(1, 3)),
                                   stride=draw(st.integers(1, 2)), padding=draw(st.integers(0, 1)))
        if kind == "max":
            return MaxPool2d(c, h, w, kernel_size=draw(st.integers(1, 3)), stride=draw(st.integers(1, 2)),
                             padding=draw(st.integers(0, 1)))
        if kind == "avg":
            return AvgPool2d(c, h, w, kernel_size=draw(st.integers(1, 3)), stride=draw(st.integers(1, 2)))
        if kind == "shuffle":
            r = draw(st.integers(1, 2))
            return PixelShuffle(c * r * r, h, w, upscale_factor=r)
        if kind == "unshuffle":
            r = draw(st.integers(1, 2))
            return PixelUnshuffle(c, h * r, w * r, downscale_factor=r)
        first = draw(st.sampled_from(["conv", "shuffle", "unshuffle"]))
        if first == "conv":
            a = Conv2d(c, h, w, out_channels=4, kernel_size=draw(st.integers(1, 3)), padding="same")
        elif first == "shuffle":
            a = PixelShuffle(4 * c, h, w, upscale_factor=2)
        else:
            a = PixelUnshuffle(c, 2 * h, 2 * w, downscale_factor=2)
        oc, oh, ow = a.output_shape
        second = draw(st.sampled_from(["conv", "pool", "shuffle", "unshuffle", "elementwise"]))
        if second == "elementwise":     # changes the first stage's output in place
            b = draw(st.sampled_from([ReLU, ReLU6, BatchNorm2d]))(oc, oh, ow)
        elif second == "conv":
            b = Conv2d(oc, oh, ow, out_channels=2, kernel_size=draw(st.integers(1, 3)),
                       padding=draw(st.sampled_from(["valid", "same"])))
        elif second == "pool":
            b = MaxPool2d(oc, oh, ow, kernel_size=1)
        elif second == "shuffle":
            b = PixelShuffle(oc, oh, ow, upscale_factor=2 if oc % 4 == 0 else 1)
        else:
            b = PixelUnshuffle(oc, oh, ow, downscale_factor=2 if oh % 2 == 0 and ow % 2 == 0 else 1)
        return Chain((a, b))
    except SpecError:
        assume(False)


timings = st.builds(Timing, frames_per_step=st.integers(1, 3), first_step_frames=st.sampled_from([0, 3, 7]),
                    ramp_steps=st.integers(1, 3), hold_frames=st.integers(0, 3),
                    intro_frames=st.integers(1, 4), outro_frames=st.integers(0, 4), pop_frames=st.integers(0, 3),
                    move_frames=st.integers(1, 6), shuffle_frames=st.integers(1, 6), easing=st.sampled_from(EASINGS),
                    speedup_after_rows=st.integers(0, 2), speedup=st.integers(1, 3), loop=st.booleans())
looks = st.sampled_from([Look(), CELLS])
orders = st.sampled_from(["filter", "position"])


# ---------------------------------------------------------------------------------- invariants

def check_outputs_appear_once(the_plan, timeline):
    for i, (stage, frames) in enumerate(zip(stages_of(the_plan), stage_step_frames(the_plan, timeline))):
        if not stage.is_windowed:
            continue
        out = timeline.tensor(stage_name(the_plan, i, "output"))
        flat = (stage.steps.out[:, 0] * out.shape[1] + stage.steps.out[:, 1]) * out.shape[2] + stage.steps.out[:, 2]
        assert np.array_equal(np.sort(flat), np.arange(len(out))), "every output cell is written by one step"
        assert np.array_equal(out.appear[flat], frames), "a cell pops in at the frame of the step that writes it"
        before = state_at(timeline, float(frames.min()) - 0.5)[out.name]
        assert not before.visible.any()


def check_highlights_are_reads(the_plan, timeline, every=1):
    frames_per_stage = stage_step_frames(the_plan, timeline)
    for i, stage in enumerate(stages_of(the_plan)):
        if not stage.is_windowed:
            continue
        track, _ = input_maps(the_plan, timeline)[i]
        names = [track] + ([padding_name(the_plan, i)] if any(t.name == padding_name(the_plan, i)
                                                               for t in timeline.tensors) else [])
        for s in range(0, len(stage.steps), every):
            frame = float(frames_per_stage[i][s])
            states = state_at(timeline, frame)
            wanted = lit_cells_by_reads(the_plan, timeline, i, s)
            for name in names:
                assert set(np.flatnonzero(states[name].highlighted).tolist()) == wanted.get(name, set()), \
                    (name, s, frame)


def check_window_holds_the_reads(the_plan, timeline, every=1):
    """The window box contains exactly the read cells (up to dilation's holes), as the instanced mode lights them."""
    frames_per_stage = stage_step_frames(the_plan, timeline)
    for i, stage in enumerate(stages_of(the_plan)):
        if not stage.is_windowed:
            continue
        box_name = stage_name(the_plan, i, "window")
        for s in range(0, len(stage.steps), every):
            frame = float(frames_per_stage[i][s])
            visible, centre, size = box_state_at(timeline, frame)[box_name]
            assert visible
            box = next(b for b in timeline.boxes if b.name == box_name)
            states = state_at(timeline, frame)
            wanted = lit_cells_by_reads(the_plan, timeline, i, s)
            for name in box.targets:
                inside = np.all(np.abs(states[name].world_position - centre) <= size / 2 + 1e-4, axis=1)
                got = set(np.flatnonzero(inside).tolist())
                if stage.dilation != (1, 1):     # a dilated window reads every d-th cell of its box
                    spacing = np.where(box.read_spacing > 0, box.read_spacing, 1.0)
                    steps = (states[name].world_position - (centre - size / 2 + pitch_of(Look()) / 2)) / spacing
                    inside &= np.all((np.abs(steps - np.round(steps)) < 1e-3) | (box.read_spacing == 0), axis=1)
                    got = set(np.flatnonzero(inside).tolist())
                assert got == wanted.get(name, set()), (name, s)


def check_range_inclusive(timeline):
    assert isinstance(timeline.frame_start, int) and isinstance(timeline.frame_end, int)
    assert timeline.frame_start == FRAME_START <= timeline.step_frames.min()
    assert timeline.step_frames.max() <= timeline.frame_end
    for track in timeline.tensors:
        finite = track.appear[np.isfinite(track.appear)]
        assert np.all(finite + timeline.pop_frames <= timeline.frame_end)
        assert np.all(track.move_end <= timeline.frame_end) and np.all(track.key_frames <= timeline.frame_end)
        assert np.all(track.highlight_end <= timeline.frame_end)
    last, later = state_at(timeline, timeline.frame_end), state_at(timeline, timeline.frame_end + 50)
    for name, state in last.items():
        assert np.array_equal(state.scale, later[name].scale)
        assert np.allclose(state.world_position, later[name].world_position)


def check_sorted_merged(timeline):
    for track in timeline.tensors:
        c, s, e = track.highlight_cell, track.highlight_start, track.highlight_end
        assert np.all(s < e)
        same = c[1:] == c[:-1]
        assert np.all(np.diff(c) >= 0) and np.all(s[1:][same] > e[:-1][same]), "sorted, no overlap, no touching"
        m = track.move_cell
        assert np.all(np.diff(m) >= 0) and np.all(track.move_start < track.move_end)
        same = m[1:] == m[:-1]
        assert np.all(track.move_start[1:][same] >= track.move_end[:-1][same]), "a cell's moves never overlap"
        assert np.all(np.diff(track.key_frames) > 0)


def check_loop(timeline):
    first, last = state_at(timeline, timeline.frame_start), state_at(timeline, timeline.frame_end)
    for name, state in first.items():
        other = last[name]
        assert np.allclose(state.scale, other.scale), name
        assert np.array_equal(state.highlighted, other.highlighted), name
        assert np.allclose(state.world_position, other.world_position, atol=1e-4), name
    boxes_first, boxes_last = box_state_at(timeline, timeline.frame_start), box_state_at(timeline, timeline.frame_end)
    for name, (visible, centre, size) in boxes_first.items():
        assert visible == boxes_last[name][0], name
        if visible:
            assert np.allclose(centre, boxes_last[name][1]) and np.allclose(size, boxes_last[name][2])


def check_state_matches_slow(timeline, frames):
    for frame in frames:
        states = state_at(timeline, frame)
        for track in timeline.tensors:
            scale, lit, local, world = slow_state(track, frame, timeline)
            got = states[track.name]
            assert np.allclose(got.scale, scale), (track.name, frame)
            assert np.array_equal(got.visible, scale > 0)
            assert np.array_equal(got.highlighted, lit), (track.name, frame)
            assert np.allclose(got.local_position, local, atol=1e-4), (track.name, frame)
            assert np.allclose(got.world_position, world, atol=1e-4), (track.name, frame)


def check_pulse(the_plan, timeline):
    """Look.highlight == "pulse": at each step the white pulse lights one channel layer of the step's filter
    at a time, from channel 0 (the input end) to the last, and nothing else of the filters or the input;
    the pulse box holds exactly the lit filter cells (as the instanced mode lights them); the new output
    cell is white from its first visible frame until the step ends."""
    frames_per_stage = stage_step_frames(the_plan, timeline)
    for i, stage in enumerate(stages_of(the_plan)):
        if not stage.is_windowed:
            continue
        arrive = frames_per_stage[i].astype(np.float64)
        out = timeline.tensor(stage_name(the_plan, i, "output"))
        flat = (stage.steps.out[:, 0] * out.shape[1] + stage.steps.out[:, 1]) * out.shape[2] + stage.steps.out[:, 2]
        assert np.allclose(out.highlight_color[flat], PULSE_COLOR)
        if stage.reduce != "sum":
            continue
        box = next(b for b in timeline.boxes if b.name == stage_name(the_plan, i, "pulse"))
        window = next(b for b in timeline.boxes if b.name == stage_name(the_plan, i, "window"))
        assert window.targets == () and box.role == "pulse"
        starts = window.key_frames[np.asarray(window.key_visible, bool)] if len(window.key_visible) \
            else window.key_frames
        starts = np.asarray(starts, np.float64)[:len(arrive)]
        names = [stage_name(the_plan, i, f"filter{f}") for f in range(stage.filters.shape[0])]
        # the kernel's channels, and a bias layer (one cube) at the output end when the stage has a bias
        layers = stage.filters.shape[1] + (stage.bias is not None)
        assert timeline.tensor(names[0]).shape[0] == layers
        for s in range(0, len(arrive), max(1, len(arrive) // 7)):
            f = int(stage.steps.filter[s])
            # a folded filter (a Conv3d's depth slices) has gaps between its layers: the pulse passes them too
            place = Grid(stage.filters.shape[1:], np.zeros(3), 1.0, 1.0,
                         (stage.spec.filter_fold().depths, 1)).channel_place
            for c in range(layers):
                frame = starts[s] + (place(c) + 0.5) / (place(layers - 1) + 1) * (arrive[s] - starts[s])
                states = state_at(timeline, frame)
                lit = states[names[f]].highlighted
                track = timeline.tensor(names[f])
                assert np.array_equal(lit, track.cells[:, 0] == c), (names[f], s, c)
                assert not any(states[n].highlighted.any() for n in names if n != names[f])
                assert not states[input_maps(the_plan, timeline)[i][0]].highlighted.any() or i > 0
                visible, centre, size = box_state_at(timeline, frame)[box.name]
                inside = np.all(np.abs(states[names[f]].world_position - centre) < size / 2, axis=1)
                assert visible and np.array_equal(inside, lit)
            cell = flat[s]
            shown = timeline.pop_frames if timeline.easing == "constant" else 0.0   # the first visible frame
            first = state_at(timeline, float(out.appear[cell]) + shown + 1e-3)[out.name]
            assert first.visible[cell] and first.highlighted[cell]
            end = float(out.appear[cell]) + max(float(arrive[s] - starts[s]) * 2, timeline.pop_frames + 1.0)
            assert not state_at(timeline, end + 1e-3)[out.name].highlighted[cell]


# ---------------------------------------------------------------------------------- folded tensors

FOLDED = [Conv2d(2, 4, 5, out_channels=2, kernel_size=3, padding="same", stride=(1, 2), batch=3),
          Conv3d(2, 3, 4, 4, out_channels=2, kernel_size=3, padding="same", batch=2),
          Conv3d(4, 4, 3, 3, out_channels=2, kernel_size=(2, 3, 1), padding=(1, 0, 1, 1, 0, 0), groups=2),
          Conv3d(1, 5, 3, 3, out_channels=2, kernel_size=2, dilation=(2, 1, 2), stride=(2, 1, 1), padding=1),
          Conv1d(2, 7, 2, kernel_size=3, padding="causal", dilation=2, batch=2),
          MaxPool2d(2, 4, 4, kernel_size=2, padding=1, batch=2),
          Chain((PixelShuffle(8, 2, 2, 2, batch=2), Conv2d(2, 4, 4, out_channels=2, padding="same", batch=2))),
          Chain((Conv3d(1, 3, 3, 3, out_channels=2, kernel_size=(1, 2, 2), batch=2),
                 Conv3d(2, 3, 2, 2, out_channels=1, kernel_size=(2, 1, 1), padding="same", batch=2)))]


@pytest.mark.parametrize("spec", FOLDED, ids=[s.label for s in FOLDED])
@pytest.mark.parametrize("order", ["filter", "position"])
def test_folded_invariants(spec, order):
    """A batch and a volume fold onto the grid: the same invariants as every preset's, in both highlight modes."""
    the_plan = plan(spec, seed=4, order=order)
    for look in (Look(), CELLS):
        timeline = build_timeline(the_plan, Timing(), look)
        check_outputs_appear_once(the_plan, timeline)
        check_sorted_merged(timeline)
        assert timeline.cube_count == count_cubes(spec)
        if look.highlight == "pulse":
            check_pulse(the_plan, timeline)
        else:
            check_highlights_are_reads(the_plan, timeline)
            check_window_holds_the_reads(the_plan, timeline)


# ---------------------------------------------------------------------------------- presets

@pytest.mark.parametrize("name", PRESETS)
def test_preset_invariants(name):
    the_plan, timeline, preset = preset_timeline(name)
    check_outputs_appear_once(the_plan, timeline)
    check_pulse(the_plan, timeline)
    check_range_inclusive(timeline) if not preset.timing.loop else check_loop(timeline)
    check_sorted_merged(timeline)
    assert timeline.cube_count == count_cubes(preset.spec)
    the_plan, timeline, preset = preset_timeline(name, {"highlight": "cells"})
    check_outputs_appear_once(the_plan, timeline)
    check_highlights_are_reads(the_plan, timeline, every=3)
    check_window_holds_the_reads(the_plan, timeline, every=5)
    check_sorted_merged(timeline)


@pytest.mark.parametrize("name", ["conv-3x3-stride2-valid", "pixel-shuffle-2x2", "espcn-x2", "max-pool-2x2",
                                  "depthwise-separable"])
def test_presets_loop_back_to_their_first_frame(name):
    _, timeline, _ = preset_timeline(name, loop=True)
    check_loop(timeline)


@pytest.mark.parametrize("name", ["conv-3x3-stride2-valid", "pixel-unshuffle-2x2", "espcn-x2"])
def test_state_at_agrees_with_a_per_cell_evaluation(name):
    _, timeline, _ = preset_timeline(name, loop=True)
    rng = np.random.default_rng(0)
    frames = np.r_[timeline.frame_start, timeline.frame_end, rng.uniform(timeline.frame_start, timeline.frame_end, 6),
                   timeline.step_frames[[0, -1]], timeline.step_frames[[3]] + 0.5]
    check_state_matches_slow(timeline, frames)


# ---------------------------------------------------------------------------------- generated specs

def replaces_first_input(spec) -> bool:
    """Whether an elementwise stage changes the clip's first tensor in place (only shuffles, which move its
    cubes, before it)."""
    for stage in (spec.stages if isinstance(spec, Chain) else (spec,)):
        if isinstance(stage, Elementwise2d):
            return True
        if not stage.moves_cells:
            return False
    return False


@SMALL
@given(spec=small_specs(), timing=timings, order=orders, seed=st.integers(0, 3), look=looks)
def test_generated_specs(spec, timing, order, seed, look):
    the_plan = plan(spec, seed=seed, order=order)
    if timing.loop and replaces_first_input(spec):
        with pytest.raises(SpecError) as info:     # the loop could not bring the replaced cubes back
            build_timeline(the_plan, timing, look)
        assert info.value.parameter == "timing.loop"
        return
    timeline = build_timeline(the_plan, timing, look)
    check_outputs_appear_once(the_plan, timeline)
    if look.highlight == "cells":
        check_highlights_are_reads(the_plan, timeline)
        check_window_holds_the_reads(the_plan, timeline)
    else:
        check_pulse(the_plan, timeline)
    check_sorted_merged(timeline)
    if timing.loop:
        check_loop(timeline)
    else:
        check_range_inclusive(timeline)
    assert timeline.cube_count == count_cubes(spec)
    check_state_matches_slow(timeline, [timeline.frame_start, (timeline.frame_start + timeline.frame_end) / 2 + 0.25])


# ---------------------------------------------------------------------------------- timing rules

def test_steps_follow_the_timing():
    spec = Conv2d(2, 5, 5, out_channels=3, kernel_size=3, padding="same")
    timing = Timing(frames_per_step=3, first_step_frames=0, hold_frames=5, intro_frames=7, move_frames=4,
                    speedup_after_rows=2, speedup=3)
    the_plan = plan(spec)
    frames = build_timeline(the_plan, timing, CELLS).step_frames.astype(np.float64)
    assert frames[0] == FRAME_START + 7
    per_filter = frames.reshape(3, 25)
    gaps = np.diff(per_filter, axis=1)
    assert np.allclose(gaps[:, :10], 3.0)                    # the first two rows at full pace
    assert np.allclose(gaps[:, 10:], 1.0)                    # then three steps share one interval
    # between passes: the last step's own interval, the filter out, the next in, the hold
    assert np.allclose(per_filter[1:, 0] - per_filter[:-1, -1], 1.0 + 2 * 4 + 5)


def test_filters_slide_between_home_and_slot():
    the_plan = plan(Conv2d(2, 4, 4, out_channels=3, kernel_size=3))
    timeline = build_timeline(the_plan, Timing(move_frames=8), CELLS)
    slot_frames = timeline.step_frames.reshape(3, 4)
    at_start = state_at(timeline, FRAME_START)
    filters = [timeline.tensor(f"filter{k}") for k in range(3)]
    homes = [f.origin for f in filters]
    assert np.allclose(at_start["filter1"].world_position - filters[1].position, homes[1])
    assert np.allclose(at_start["filter2"].world_position - filters[2].position, homes[2])
    slot = at_start["filter0"].world_position - filters[0].position
    assert not np.allclose(slot, homes[0])
    for k in range(3):
        during = state_at(timeline, float(slot_frames[k, 1]))
        assert np.allclose(during[f"filter{k}"].world_position - filters[k].position, slot[0])
        assert during[f"filter{k}"].highlighted.all()
        assert not any(during[f"filter{j}"].highlighted.any() for j in range(3) if j != k)
    # the first filter went home after its pass and stays there
    assert np.allclose(state_at(timeline, float(slot_frames[2, 0]))["filter0"].world_position - filters[0].position,
                       homes[0])


def test_highlights_false_leaves_input_to_the_window_box():
    the_plan = plan(Conv2d(3, 6, 6, out_channels=2, kernel_size=3, padding="same"))
    lit, plain = build_timeline(the_plan, look=CELLS), build_timeline(the_plan, look=CELLS, highlights=False)
    assert len(plain.tensor("input").highlight_cell) == 0 and len(plain.tensor("input padding").highlight_cell) == 0
    assert len(lit.tensor("input").highlight_cell) > 0
    assert np.array_equal(plain.tensor("filter1").highlight_start, lit.tensor("filter1").highlight_start)
    assert np.array_equal(plain.step_frames, lit.step_frames)
    # the pulse: without per-cell intervals its box alone lights the filters; outputs keep their white
    lit, plain = build_timeline(the_plan), build_timeline(the_plan, highlights=False)
    assert len(plain.tensor("filter1").highlight_cell) == 0 and len(lit.tensor("filter1").highlight_cell) > 0
    assert np.array_equal(plain.tensor("output").highlight_start, lit.tensor("output").highlight_start)
    assert [b.name for b in plain.boxes] == [b.name for b in lit.boxes]


def test_pooling_keeps_the_input_hue_and_has_no_filters():
    look = Look(input_color=(0.1, 0.2, 0.7, 1.0))
    timeline = build_timeline(plan(MaxPool2d(2, 4, 4, kernel_size=2)), Timing(), look)
    assert not any(t.role == "filter" for t in timeline.tensors)
    assert np.allclose(timeline.tensor("output").color, look.input_color)


def test_filter_and_padding_colours_come_from_the_look():
    spec = Conv2d(2, 4, 4, out_channels=3, kernel_size=3, padding="same")
    red, green = (1.0, 0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 1.0)
    timeline = build_timeline(plan(spec), Timing(), Look(filter_colors=[red, green], padding_color=(0, 0, 0, 0.5)))
    palette_third = build_timeline(plan(spec)).tensor("filter2").color[0]
    assert np.allclose(timeline.tensor("filter0").color, red) and np.allclose(timeline.tensor("filter1").color, green)
    assert np.allclose(timeline.tensor("filter2").color, palette_third)       # past the list: the palette's hue
    output = timeline.tensor("output")
    assert np.allclose(output.color[output.cells[:, 0] == 1], green)           # an output channel: its filter's
    assert np.allclose(timeline.tensor("input padding").color, (0, 0, 0, 0.5))


def test_value_shading_follows_the_values():
    the_plan = plan(Conv2d(1, 4, 4, out_channels=1, kernel_size=1))
    flat = build_timeline(the_plan, look=Look(value_shading=0.0)).tensor("input")
    shaded = build_timeline(the_plan, look=Look(value_shading=1.0)).tensor("input")
    assert np.ptp(flat.color[:, :3], axis=0).max() == 0
    order = np.argsort(shaded.value)
    assert np.all(np.diff(shaded.color[order, 1]) >= 0) and shaded.color[order[-1], 1] > shaded.color[order[0], 1]


def test_shuffle_colours_come_in_families():
    timeline = build_timeline(plan(PixelShuffle(12, 2, 2, upscale_factor=2)))
    track = timeline.tensor("input")
    by_channel = track.color.reshape(12, 4, 4)[:, 0, :3]
    assert len({tuple(np.round(c, 5)) for c in by_channel}) == 12
    dominant = np.argmax(by_channel, axis=1)
    # channel 0 stands at the back: blue, green, then red in front (Animated AI's order)
    assert list(dominant) == [2] * 4 + [1] * 4 + [0] * 4
    brightness = by_channel.sum(axis=1)
    assert (np.diff(brightness[8:]) > 0).all()                   # the red family lightens toward the front
    assert timeline.aliases == {"output": "input"}


def test_chain_stage_output_is_the_next_stage_input():
    spec = Chain((Conv2d(2, 4, 4, out_channels=3, kernel_size=3, padding="same"),
                  Conv2d(3, 4, 4, out_channels=2, kernel_size=1)))
    timeline = build_timeline(plan(spec))
    names = [t.name for t in timeline.tensors]
    assert names.count("stage0 output") == 1 and "stage1 input" not in names
    window = next(b for b in build_timeline(plan(spec), look=CELLS).boxes if b.name == "stage1 window")
    assert window.targets == ("stage0 output",)
    assert {"input", "input padding", "stage0 filter0", "stage1 filter1", "stage1 output"} <= set(names)


def test_shuffle_loop_cells_travel_twice_and_come_home():
    timeline = build_timeline(plan(Chain((PixelShuffle(8, 2, 2, 2), PixelUnshuffle(2, 4, 4, 2)))))
    track = timeline.tensor("input")
    assert np.array_equal(np.bincount(track.move_cell), np.full(len(track), 4))   # out and back, each via the middle
    end = state_at(timeline, timeline.frame_end)["input"]
    assert np.allclose(end.local_position, track.position)


# ---------------------------------------------------------------------------------- checks

@pytest.mark.parametrize("field, value", [("frames_per_step", 0), ("hold_frames", -1), ("move_frames", 0),
                                          ("speedup", 0), ("easing", "bounce"), ("fps", 2.5), ("loop", 1),
                                          ("pop_frames", True)])
def test_bad_timing_is_named(field, value):
    with pytest.raises(SpecError) as err:
        build_timeline(plan(Conv2d(1, 3, 3, out_channels=1)), Timing(**{field: value}))
    assert err.value.parameter == f"timing.{field}"
    assert "allowed" in str(err.value)


def test_loop_needs_a_rest_frame():
    with pytest.raises(SpecError, match="timing.intro_frames"):
        build_timeline(plan(Conv2d(1, 3, 3, out_channels=1)), Timing(loop=True, intro_frames=0))


@pytest.mark.parametrize("field, value", [("cube_size", 0.0), ("gap", -0.1), ("tensor_gap", 0.0),
                                          ("value_shading", 1.5), ("highlight_gain", 0.5), ("input_color", (1, 0, 0)),
                                          ("gap", float("nan")), ("padding_color", (0, 0, 0, 2)),
                                          ("filter_colors", ((1, 0, 0),)), ("filter_colors", (1, 0, 0, 1))])
def test_bad_look_is_named(field, value):
    with pytest.raises(SpecError) as err:
        build_timeline(plan(Conv2d(1, 3, 3, out_channels=1)), Timing(), Look(**{field: value}))
    assert err.value.parameter == f"look.{field}"


def test_cube_budget_names_the_count():
    spec = Conv2d(32, 64, 64, out_channels=32, kernel_size=3, padding="same")
    count = count_cubes(spec)
    assert count == 32 * 64 * 64 + 32 * (66 * 66 - 64 * 64) + 32 * 32 * 9 + 32 * 64 * 64
    with pytest.raises(SpecError) as err:
        check_cube_budget(spec, budget=200_000)
    assert err.value.parameter == "cube_budget" and f"{count:,}" in str(err.value)
    assert check_cube_budget(spec, budget=count) == count


def test_highlight_is_a_brighter_same_colour():
    colors = palette.filter_colors(12)
    lit = palette.highlight(colors, 1.6)
    assert np.all(lit[:, :3] >= colors[:, :3]) and np.all(lit <= 1.0)
    assert np.all(lit[:, :3].sum(axis=1) > colors[:, :3].sum(axis=1))
    assert np.array_equal(np.argmax(lit[:, :3], axis=1), np.argmax(colors[:, :3], axis=1))
    assert np.allclose(palette.highlight(colors, 1.0), colors)
    assert len({tuple(np.round(c, 4)) for c in colors}) == 12


def test_ease_matches_a_flat_bezier():
    u = np.linspace(0, 1, 11)
    # a cubic Bezier from (0, 0) to (1, 1) with handles at (1/3, 0) and (2/3, 1): x(t) = t, y(t) = 3t^2 - 2t^3
    t = u
    y = 3 * (1 - t) * t**2 + t**3
    assert np.allclose(ease(u, "ease"), y)
    assert np.allclose(ease(u, "linear"), u)
    assert list(ease([0.5, 1.0, 2.0], "constant")) == [0, 1, 1]
    assert math.isclose(float(ease(np.inf, "ease")), 1.0)


def test_a_zero_length_move_is_a_jump_at_its_frame():
    import numpy as np
    from animatedai_addon.engine.timeline import local_at, TensorTrack
    track = TensorTrack(
        name="t", role="input", shape=(1, 1, 2), cells=np.array([[0, 0, 0], [0, 0, 1]], np.int32),
        origin=np.zeros(3), position=np.array([[0, 0, 0], [1, 0, 0]], np.float32),
        color=np.ones((2, 4), np.float32), highlight_color=np.ones((2, 4), np.float32),
        value=np.zeros(2, np.float32), appear=np.full(2, -np.inf, np.float32), disappear=np.full(2, np.inf, np.float32),
        move_cell=np.array([0], np.int32), move_start=np.array([5], np.float32), move_end=np.array([5], np.float32),
        move_to=np.array([[0, 3, 0]], np.float32))
    np.testing.assert_array_equal(local_at(track, 4, "ease")[0], [0, 0, 0])
    np.testing.assert_array_equal(local_at(track, 5, "ease")[0], [0, 3, 0])   # no NaN, no warning


# ---------------------------------------------------------------------------------- pacing (issue 9)

@pytest.mark.parametrize("name", ["conv-3x3-valid", "conv-3x3-stride2-valid", "conv-3x3-groups2", "max-pool-2x2"])
def test_pacing_follows_the_reference(name):
    """A still hold of >= 12 frames, a first step of >= 24 frames, then steps that speed up smoothly (never a
    jump of more than 25% between neighbours) down to a few frames each; filter swaps never outlast the first
    step; the default clip stays under 40 s."""
    the_plan, timeline, _ = preset_timeline(name)
    window = next(b for b in timeline.boxes if b.role == "window")
    starts = np.asarray(window.key_frames, np.float64)[np.asarray(window.key_visible, bool)]
    assert starts[0] - timeline.frame_start >= 12
    first_pass = starts[:int(np.argmax(np.diff(starts) > 24)) + 1] if len(starts) > 1 else starts
    steps = np.diff(starts)
    assert steps[0] >= 24
    within = np.diff(first_pass)
    assert np.all(np.diff(within) <= 1e-9) and np.all(within[1:] >= 0.75 * within[:-1])
    assert steps.min() <= 3
    for track in timeline.tensors:
        if track.role == "filter" and len(track.key_frames) > 1:
            # one swap (a slide out and the next in, their legs together) is never longer than the first step
            for legs in _slides(track):
                assert legs <= steps[0] + 1e-6, (track.name, legs)
    if name == "conv-3x3-stride2-valid":
        assert timeline.frame_end / timeline.fps < 40


def _slides(track):
    """Durations of a filter's travels: keys closer than a longest slide (12 frames) belong to one travel."""
    frames = np.asarray(track.key_frames, np.float64)
    out, begin = [], frames[0]
    for a, b in zip(frames[:-1], frames[1:]):
        if b - a > 12.0 + 1e-6:       # a pass, not a leg
            out.append(a - begin)
            begin = b
    out.append(frames[-1] - begin)
    return out


def test_a_loop_refuses_a_relu_on_the_first_tensor_after_a_shuffle():
    """The shuffle only moves the first tensor's cubes; the ReLU then replaces them, and no loop brings them back."""
    spec = Chain((PixelShuffle(4, 2, 2, 2), ReLU(1, 4, 4)))
    assert replaces_first_input(spec) and not replaces_first_input(Chain((Conv2d(1, 4, 4, 1, 3), ReLU(1, 2, 2))))
    with pytest.raises(SpecError) as info:
        build_timeline(plan(spec), Timing(loop=True))
    assert info.value.parameter == "timing.loop"
