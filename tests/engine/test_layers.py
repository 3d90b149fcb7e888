"""Bias, Linear and Flatten beyond the PyTorch sweeps (tests/engine/test_plan_torch.py): what the clip shows of
them, their checks, and a clip's source keeping given weights and biases."""

import numpy as np
import pytest

from animatedai_addon.engine import registry
from animatedai_addon.engine.budget import count_cubes
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.planning import plan
from animatedai_addon.engine.spec import Chain, Conv1d, Conv2d, ConvTranspose2d, Flatten, Linear, spec_from_dict
from animatedai_addon.engine.timeline import Look, Timing, build_timeline, state_at
from animatedai_addon.scene import source


@pytest.mark.parametrize("spec", [Conv2d(2, 5, 5, 3, kernel_size=(3, 2), bias=True),
                                  Conv1d(2, 7, 3, kernel_size=4, bias=True),
                                  ConvTranspose2d(2, 3, 3, 2, kernel_size=2, stride=2, bias=True),
                                  Linear(6, 3)])
def test_each_filter_shows_its_bias_as_one_cube_at_its_output_end(spec):
    the_plan = plan(spec, seed=5)
    timeline = build_timeline(the_plan)
    kernel = the_plan.filters.shape[1:]
    assert timeline.cube_count == count_cubes(spec)
    for f in range(the_plan.filters.shape[0]):
        track = timeline.tensor(f"filter{f}")
        assert len(track) == int(np.prod(kernel)) + 1 and track.shape == (kernel[0] + 1,) + kernel[1:]
        np.testing.assert_allclose(track.value[:-1], the_plan.filters[f].ravel().astype(np.float32))
        assert track.value[-1] == np.float32(the_plan.bias[f])
        # alone on the layer nearest the output (-y), centred on the kernel's rows and columns
        bias_at, kernel_at = track.position[-1], track.position[:-1]
        assert bias_at[1] < kernel_at[:, 1].min()
        np.testing.assert_allclose(bias_at[[0, 2]], kernel_at[:, [0, 2]].mean(axis=0), atol=1e-5)


def test_without_bias_the_filters_and_the_cube_count_are_as_before():
    spec = Conv2d(2, 5, 5, 3, 3)
    timeline = build_timeline(plan(spec))
    assert plan(spec).bias is None and len(timeline.tensor("filter0")) == 18
    assert count_cubes(spec.replace(bias=True)) == count_cubes(spec) + 3


def test_the_pulse_lights_the_bias_last_then_the_output_cell_appears():
    spec = Linear(4, 2)
    the_plan = plan(spec)
    timeline = build_timeline(the_plan, Timing(first_step_frames=0, frames_per_step=10), Look(highlight="pulse"))
    track = timeline.tensor("filter0")
    arrive = float(timeline.step_frames[0])
    lit = state_at(timeline, arrive - 0.5)["filter0"].highlighted
    assert lit.tolist() == [False] * 4 + [True]            # the bias cube is the last layer the pulse runs through
    assert not state_at(timeline, arrive - 0.5)["output"].visible[0]
    assert track.value[-1] == np.float32(the_plan.bias[0])


def test_bias_parameter_checks():
    for cls, args in ((Conv2d, (2, 4, 4, 2)), (Conv1d, (2, 4, 2)), (Linear, (4, 2))):
        with pytest.raises(SpecError) as info:
            cls(*args, bias="yes")
        assert info.value.parameter == "bias" and "true or false" in str(info.value)
    assert spec_from_dict({"op": "conv2d", "in_channels": 1, "height": 3, "width": 3, "bias": True}).bias is True
    assert Linear(4, 2).bias is True and Conv2d(1, 3, 3).bias is False     # PyTorch's defaults, and the convs'


def test_linear_checks_and_shapes():
    spec = Linear(12, 5, bias=False)
    assert spec.input_shape == (12,) and spec.input_grid == (12, 1, 1) and spec.output_grid == (5, 1, 1)
    assert spec.filter_cubes() == 60 and spec.reads_per_step() == 12
    assert count_cubes(spec) == 12 + 60 + 5
    for bad in ({"in_features": 0}, {"out_features": 2.5}):
        with pytest.raises(SpecError) as info:
            Linear(**{"in_features": 4, "out_features": 2, **bad})
        assert info.value.parameter == next(iter(bad))


def test_flatten_dims_follow_torch_and_bad_dims_are_named():
    assert Flatten(3, 4, 5).output_shape == (60,)
    assert Flatten(3, 4, 5, start_dim=1).output_shape == (3, 20)
    assert Flatten(3, 4, 5, 0, -2).output_shape == (12, 5)
    assert Flatten(3, 4, 5, 2, 2).output_shape == (3, 4, 5)
    assert Flatten(3, 4, 5, -3, 1) == Flatten(3, 4, 5, 0, 1)
    for kwargs, name in (({"start_dim": 3}, "start_dim"), ({"end_dim": -4}, "end_dim"),
                         ({"start_dim": 2, "end_dim": 1}, "end_dim"), ({"start_dim": "0"}, "start_dim")):
        with pytest.raises(SpecError) as info:
            Flatten(3, 4, 5, **kwargs)
        assert info.value.parameter == name


def test_flattened_cells_end_in_one_column_in_torch_order():
    spec = Flatten(3, 2, 4)
    timeline = build_timeline(plan(spec))
    track = timeline.tensor("input")
    end = state_at(timeline, timeline.frame_end)["input"].world_position
    # every cell in one column along y, at the place of its flat index (c, y, x) -> (c*2 + y)*4 + x,
    # the first flat index at the back (+y)
    assert np.ptp(end[:, 0]) < 1e-4 and np.ptp(end[:, 2]) < 1e-4
    flat = (track.cells[:, 0] * 2 + track.cells[:, 1]) * 4 + track.cells[:, 2]
    assert np.all(np.diff(end[np.argsort(flat), 1]) < 0)
    assert timeline.aliases == {"output": "input"} and timeline.cube_count == 24


def test_a_cnn_head_chain_plans_and_shows():
    spec = Chain((Conv2d(1, 4, 4, 2, 3, bias=True), Flatten(2, 2, 2), Linear(8, 3)))
    timeline = build_timeline(plan(spec))
    assert timeline.cube_count == count_cubes(spec) == 16 + 2 * 10 + 8 + 3 * 9 + 3
    with pytest.raises(SpecError) as info:
        Chain((Conv2d(1, 4, 4, 2, 3), Linear(8, 3)))
    assert info.value.parameter == "stages[1]"


def test_panel_forms_build_and_read_back_linear_flatten_and_bias():
    cases = [("linear", Linear(30, 7, bias=False)), ("flatten", Flatten(2, 3, 4, 1, 2)),
             ("conv2d", Conv2d(2, 5, 5, 3, 3, bias=True)), ("conv1d", Conv1d(2, 9, 3, 3, bias=True)),
             ("conv_transpose2d", ConvTranspose2d(2, 3, 3, 2, 3, bias=True))]
    for name, spec in cases:
        form = registry.form(name)
        values = form.settings(spec)
        assert form.build(values.get) == spec
        assert registry.forms_showing(spec)[0][0].name == name
    assert registry.form("depthwise").settings(Conv2d(2, 5, 5, 2, 3, groups=2, bias=True)) is None


def test_a_clip_source_keeps_given_weights_and_biases():
    spec = Chain((Flatten(2, 2, 2), Linear(8, 3)))
    weights = [None, np.arange(24.0).reshape(3, 8) / 10]
    bias = [None, np.array([1.5, -2.0, 0.25])]
    made = source.ClipSource(spec, Timing(), Look(), seed=2, weights=weights, bias=bias)
    back = source.from_json(source.to_json(made))
    assert back.weights[0] is None and back.bias[0] is None
    np.testing.assert_array_equal(back.weights[1], weights[1])
    np.testing.assert_array_equal(back.bias[1], bias[1])
    np.testing.assert_array_equal(back.plan().output, plan(spec, seed=2, weights=weights, bias=bias).output)
    assert source.from_json(source.to_json(source.ClipSource(spec, Timing(), Look()))).weights is None
