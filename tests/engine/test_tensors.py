"""Tensors of any rank on the one grid: the fold rule, the gaps between blocks, cell names, the budget."""

import math

import numpy as np
import pytest

from animatedai_addon.engine import count_cubes, plan
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.layout import DEPTH_GAP, SAMPLE_GAP, layout_stages, pitch_of
from animatedai_addon.engine.spec import Chain, Conv1d, Conv2d, Conv3d, PixelShuffle, spec_from_dict
from animatedai_addon.engine.tensors import fold_of, from_grid, grid_shape, to_grid
from animatedai_addon.engine.timeline import Look, build_timeline


def test_fold_rule_places_every_axis():
    """Grid cell (d*C + c, y, n*W + x) holds tensor[n, c, d, y, x], computed here index by index."""
    n, c, d, h, w = 2, 3, 4, 2, 5
    values = np.arange(n * c * d * h * w, dtype=float).reshape(n, c, d, h, w)
    grid = to_grid(values, (c, d, h, w), batch=n)
    assert grid.shape == grid_shape((c, d, h, w), n) == (d * c, h, n * w)
    for index in np.ndindex(values.shape):
        s, ch, z, y, x = index
        assert grid[z * c + ch, y, s * w + x] == values[index]
    assert np.array_equal(from_grid(grid, (c, d, h, w), n), values)


@pytest.mark.parametrize("shape, batch, grid", [((3,), 1, (3, 1, 1)), ((3, 7), 1, (3, 1, 7)), ((3, 4, 5), 1, (3, 4, 5)),
                                                ((3, 4, 5), 2, (3, 4, 10)), ((2, 3, 4, 5), 1, (6, 4, 5))])
def test_grid_shapes(shape, batch, grid):
    assert grid_shape(shape, batch) == grid
    values = np.random.default_rng(0).standard_normal(((batch,) if batch > 1 else ()) + shape)
    assert np.array_equal(from_grid(to_grid(values, shape, batch), shape, batch), values)


def test_unbatched_2d_input_is_a_view_of_the_grid():
    result = plan(Conv2d(2, 3, 3, out_channels=1))
    assert np.shares_memory(result.input, result.grid_input)


def test_batch_is_checked_and_kept_out_of_unbatched_dicts():
    with pytest.raises(SpecError) as info:
        Conv2d(2, 3, 3, batch=0)
    assert info.value.parameter == "batch"
    assert "batch" not in Conv2d(2, 3, 3).to_dict()
    spec = Conv3d(2, 3, 4, 4, out_channels=2, batch=2)
    assert spec.to_dict()["batch"] == 2 and spec_from_dict(spec.to_dict()) == spec
    with pytest.raises(SpecError) as info:
        Chain((Conv2d(2, 4, 4, padding="same", out_channels=2, batch=2), Conv2d(2, 4, 4, out_channels=2)))
    assert info.value.parameter == "stages[1].batch"


def test_batched_input_array_in_pytorch_layout():
    spec = Conv2d(2, 3, 4, out_channels=1, kernel_size=1, batch=3)
    values = np.arange(3 * 2 * 3 * 4, dtype=float).reshape(3, 2, 3, 4)
    result = plan(spec, input=values, weights=np.ones((1, 2, 1, 1)))
    assert np.array_equal(result.input, values)
    assert np.array_equal(result.output, values.sum(axis=1, keepdims=True))
    with pytest.raises(SpecError) as info:
        plan(spec, input=values[0])
    assert info.value.parameter == "input"


@pytest.mark.parametrize("spec, first, last", [
    (Conv2d(2, 3, 4, out_channels=1), "input[c0,y0,x0]", "input[c1,y2,x3]"),
    (Conv2d(2, 3, 4, out_channels=1, batch=2), "input[n0,c0,y0,x0]", "input[n1,c1,y2,x3]"),
    (Conv1d(2, 5, 1), "input[c0,x0]", "input[c1,x4]"),
    (Conv3d(2, 3, 4, 4, out_channels=1), "input[c0,d0,y0,x0]", "input[c1,d2,y3,x3]"),
    (Conv3d(2, 3, 4, 4, out_channels=1, batch=2), "input[n0,c0,d0,y0,x0]", "input[n1,c1,d2,y3,x3]"),
])
def test_cell_names_show_the_axes_the_tensor_has(spec, first, last):
    timeline = build_timeline(plan(spec))
    names = timeline.tensor("input").cell_names()
    assert names[0] == first and names[-1] == last and len(set(names)) == len(names)


def test_cell_names_unfold_the_grid_index():
    """Each input cell's name is its PyTorch index: the value at that index is the cell's value."""
    spec = Conv3d(2, 3, 2, 2, out_channels=1, kernel_size=1, batch=2)
    result = plan(spec, seed=2)
    track = build_timeline(result).tensor("input")
    for name, value in zip(track.cell_names(), track.value):
        index = tuple(int(part[1:]) for part in name[len("input["):-1].split(","))
        assert np.float32(result.input[index]) == value


def test_conv3d_filter_and_output_names():
    timeline = build_timeline(plan(Conv3d(2, 3, 3, 3, out_channels=2, kernel_size=(2, 1, 3))))
    assert timeline.tensor("filter1").cell_names()[-1] == "filter1[c1,d1,y0,x2]"
    assert timeline.tensor("output").cell_names()[-1] == "output[c1,d1,y2,x0]"


def test_samples_and_depth_slices_stand_apart():
    """One pitch between neighbours in a block, SAMPLE_GAP / DEPTH_GAP pitches more between blocks."""
    look = Look()
    p = pitch_of(look)
    spec = Conv3d(2, 3, 2, 3, out_channels=1, kernel_size=1, batch=2)
    timeline = build_timeline(plan(spec), look=look)
    track = timeline.tensor("input")
    where = {name: pos for name, pos in zip(track.cell_names(), track.position.astype(float))}
    assert np.isclose(where["input[n0,c0,d0,y0,x1]"][0] - where["input[n0,c0,d0,y0,x0]"][0], p)
    assert np.isclose(where["input[n1,c0,d0,y0,x0]"][0] - where["input[n0,c0,d0,y0,x2]"][0], (1 + SAMPLE_GAP) * p)
    # channels toward the camera (-y) within a slice, the next slice DEPTH_GAP further
    assert np.isclose(where["input[n0,c0,d0,y0,x0]"][1] - where["input[n0,c1,d0,y0,x0]"][1], p)
    assert np.isclose(where["input[n0,c1,d0,y0,x0]"][1] - where["input[n0,c0,d1,y0,x0]"][1], (1 + DEPTH_GAP) * p)


def test_layout_grids_know_their_blocks():
    result = plan(Conv3d(2, 3, 4, 4, out_channels=3, kernel_size=3, padding="same", batch=2))
    layout, = layout_stages([result], Look())
    assert layout.input.blocks == (5, 2)          # 3 slices + 2 padding slices; 2 samples
    assert layout.output.blocks == (3, 2) and layout.filter_grid.blocks == (3, 1)
    assert np.array_equal(layout.input_chans, np.arange(6) + 2)   # the first padding slice holds 2 channels


@pytest.mark.parametrize("spec", [Conv2d(3, 5, 6, out_channels=2, padding="same", stride=2, batch=3),
                                  Conv3d(2, 3, 4, 4, out_channels=2, kernel_size=3, padding="same", batch=2),
                                  Conv1d(2, 7, 3, kernel_size=3, padding="causal", batch=2),
                                  PixelShuffle(8, 2, 3, 2, batch=2)])
def test_budget_counts_every_sample(spec):
    """Counted from shapes here: every sample's input and output and padding, one filter set."""
    batch = spec.batch
    cells = math.prod(spec.input_shape) * batch
    if isinstance(spec, PixelShuffle):
        expected = cells
    else:
        pads = {Conv2d: lambda s: (s.height + sum(s.pads[:2])) * (s.width + sum(s.pads[2:])) * s.in_channels,
                Conv1d: lambda s: (s.length + sum(s.pads)) * s.in_channels,
                Conv3d: lambda s: math.prod(n + s.pads[2 * i] + s.pads[2 * i + 1]
                                            for i, n in enumerate(s.input_shape[1:])) * s.in_channels}[type(spec)]
        filters = spec.out_channels * spec.in_channels // spec.groups * math.prod(np.atleast_1d(spec.kernel_size))
        expected = pads(spec) * batch + filters + math.prod(spec.output_shape) * batch
    assert count_cubes(spec) == expected == build_timeline(plan(spec)).cube_count
    assert fold_of(spec.input_shape, batch).samples == batch


def test_batch_from_presets_and_overrides():
    from animatedai_addon.engine.presets import apply_overrides, load_preset_file, preset_to_toml
    preset = apply_overrides(load_preset_file("conv3d-3x3x3"), ["batch=2"])
    assert preset.spec.batch == 2 and preset.spec.input_torch_shape == (2, 2, 4, 6, 6)
    assert "batch = 2" in preset_to_toml(preset)
    with pytest.raises(SpecError) as info:
        apply_overrides(load_preset_file("conv3d-3x3x3"), ["batch=0"])
    assert info.value.parameter == "batch"
