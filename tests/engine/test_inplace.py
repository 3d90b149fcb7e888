"""Elementwise stages on the timeline: the tensor changes in place and exactly the changed cells show it."""

import numpy as np
import pytest

from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.inplace import ZERO_DIM, change_frames, changed_cells
from animatedai_addon.engine.planning import plan
from animatedai_addon.engine.spec import BatchNorm2d, Chain, Conv2d, MaxPool2d, PixelShuffle, ReLU, ReLU6
from animatedai_addon.engine.timeline import Look, Timing, box_state_at, build_timeline, count_cubes, state_at

CASES = {
    "relu alone": ReLU(3, 4, 5),
    "conv then relu": Chain((Conv2d(3, 6, 6, 4), ReLU(4, 4, 4))),
    "conv, batchnorm, relu6, conv same": Chain((Conv2d(2, 5, 5, 3), BatchNorm2d(3, 3, 3), ReLU6(3, 3, 3),
                                                Conv2d(3, 3, 3, 2, padding="same"))),
    "shuffle then relu": Chain((PixelShuffle(4, 3, 3, 2), ReLU(1, 6, 6))),
    "relu then pool": Chain((ReLU(2, 4, 4), MaxPool2d(2, 4, 4))),
}


def _elementwise_stages(result):
    stages = result.stages if hasattr(result, "stages") else [result]
    return [(i, s) for i, s in enumerate(stages) if s.reduce == "elementwise"]


def _names(timeline, i, chain):
    out = f"stage{i} output" if chain else "output"
    before = "input" if i == 0 else f"stage{i - 1} output"
    return timeline.aliases.get(before, before), out


def _shown(timeline, frame, old, new, old_index, new_index):
    """Per cell of the stage: the larger scale of its two cubes (old, new) and the colour of that cube."""
    states = state_at(timeline, frame)
    a, b = states[old].scale[old_index], states[new].scale[new_index]
    color = np.where((b >= a)[:, None], timeline.tensor(new).color[new_index], timeline.tensor(old).color[old_index])
    return np.maximum(a, b), color


@pytest.mark.parametrize("name", CASES)
def test_exactly_the_changed_cells_change_on_screen(name):
    spec = CASES[name]
    result = plan(spec, seed=4)
    timing = Timing(pop_frames=3)
    timeline = build_timeline(result, timing)
    assert timeline.cube_count == count_cubes(spec)
    chain = hasattr(result, "stages")
    for i, stage in _elementwise_stages(result):
        changed = changed_cells(stage).ravel()
        assert changed.any() and not changed.all() or isinstance(stage.spec, BatchNorm2d)
        old, new = _names(timeline, i, chain)
        new_track = timeline.tensor(new)
        n = len(new_track)
        new_index = np.arange(n)
        # the old cube of each cell: the track cell standing where the new one stands
        old_track = timeline.tensor(old)
        first = min(new_track.appear)
        at_rest = state_at(timeline, first - 1)
        where = {tuple(np.round(p, 6)): k for k, p in enumerate(at_rest[old].world_position) if at_rest[old].visible[k]}
        new_world = state_at(timeline, new_track.appear.max() + timing.pop_frames)[new].world_position
        old_index = np.array([where[tuple(np.round(p, 6))] for p in new_world])   # same place: in place
        frames = np.arange(np.floor(first) - 1, np.ceil(new_track.appear.max()) + timing.pop_frames + 2, 0.25)
        looks = [_shown(timeline, f, old, new, old_index, new_index) for f in frames]
        scale = np.stack([s for s, _ in looks])
        color = np.stack([c for _, c in looks])
        animated = (scale != scale[0]).any(axis=0) | (color != color[0]).any(axis=(0, 2))
        assert np.array_equal(animated, changed), name
        # a cell zeroed by the stage ends dim grey (the padding's hue, darkened); the rest keep the tensor's colour
        zeroed = changed & (stage.grid_output.ravel() == 0)
        grey = np.r_[np.float32(Look().padding_color)[:3] * ZERO_DIM, 1.0]
        assert np.allclose(new_track.color[zeroed], grey)
        assert not np.isclose(new_track.color[~zeroed], grey).all(axis=1).any()
        assert np.array_equal(new_track.value, stage.grid_output.ravel().astype(np.float32))


def test_the_sweep_stands_on_each_channel_when_it_changes():
    spec = Chain((Conv2d(3, 6, 6, 4), ReLU(4, 4, 4)))
    result = plan(spec, seed=1)
    timing = Timing()
    timeline = build_timeline(result, timing)
    track = timeline.tensor("stage1 output")
    t0 = float(np.min(track.appear[changed_cells(result.stages[1]).ravel()])) - timing.shuffle_frames / 8
    when = change_frames(4, t0, timing.shuffle_frames)
    for c, frame in enumerate(when):
        visible, center, size = box_state_at(timeline, frame)["stage1 sweep"]
        cells = state_at(timeline, frame)["stage1 output"].world_position[track.cells[:, 0] == c]
        assert visible and np.isclose(center[1], cells[0, 1]) and np.allclose(center[[0, 2]],
                                                                              cells.mean(axis=0)[[0, 2]])
        assert size[1] == pytest.approx(Look().cube_size + Look().gap)
    assert not box_state_at(timeline, when[-1] + timing.shuffle_frames)["stage1 sweep"][0]
    # every step happens when its channel changes
    steps = result.stages[1].steps
    assert np.allclose(timeline.step_frames[-len(steps):], when[steps.out[:, 0]])


def test_a_loop_returns_to_the_first_frame():
    timeline = build_timeline(plan(Chain((Conv2d(2, 5, 5, 3), ReLU(3, 3, 3))), seed=2), Timing(loop=True))
    first, last = state_at(timeline, timeline.frame_start), state_at(timeline, timeline.frame_end)
    for name in first:
        assert np.array_equal(first[name].visible, last[name].visible), name
    replaced = timeline.tensor("stage0 output")
    assert (replaced.disappear < timeline.frame_end).all()


def test_a_loop_cannot_bring_back_the_first_input():
    with pytest.raises(SpecError, match="timing.loop"):
        build_timeline(plan(ReLU(2, 3, 3)), Timing(loop=True))
