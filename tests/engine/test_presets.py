"""Presets: every bundled one loads and computes what PyTorch computes; TOML round trips; overrides."""

import dataclasses
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from animatedai_addon.engine import registry
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.planning import ChainPlan, plan
from animatedai_addon.engine.presets import (PRESET_DIR, Preset, apply_overrides, list_presets, load_preset,
                                             load_preset_file, preset_from_dict, preset_to_toml, save_preset)
from animatedai_addon.engine.spec import (Chain, Conv2d, Graph, PixelShuffle, PixelUnshuffle, depthwise_separable, espcn,
                                          shuffle_loop)
from animatedai_addon.engine.timeline import Look, Timing

#: The Animated AI catalogue (../shared/reference/README.md): these presets must exist.
ANIMATED_AI = ["conv-3x3-valid", "conv-3x3-same", "conv-3x3-stride2-valid", "conv-3x3-stride2-same", "conv-3x3-groups2",
                "conv-3x3-depthwise", "depthwise-separable", "pixel-shuffle-2x2", "pixel-shuffle-3x3",
                "pixel-unshuffle-2x2", "pixel-unshuffle-3x3", "shuffle-loop-2x2", "shuffle-loop-3x3"]
#: Every bundled preset, found in the package.
NAMES = sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def test_the_bundled_presets():
    assert list_presets() == NAMES
    assert set(ANIMATED_AI) <= set(NAMES)


def test_every_operation_has_a_preset():
    shown = set()
    for name in NAMES:
        spec = load_preset(name)
        shown |= {stage.op for stage in (spec.stages if isinstance(spec, (Chain, Graph)) else (spec,))}
    assert shown == set(registry.OPERATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_preset_loads_with_title_and_description(name):
    preset = load_preset_file(name)
    assert preset.name == name and preset.spec == load_preset(name)
    for text in (preset.title, preset.description):
        assert text.strip() and "\n" not in text
    assert isinstance(preset.timing, Timing) and isinstance(preset.look, Look)


@pytest.mark.needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_preset_output_matches_torch(name):
    from tests.engine.test_plan_torch import check_against_torch
    check_against_torch(load_preset(name), seed=3)


def test_animated_ai_shapes():
    for name in ANIMATED_AI[:7]:
        spec = load_preset(name)
        first = spec.stages[0] if isinstance(spec, Chain) else spec
        assert first.input_shape == (8, 8, 8)
        if isinstance(first, Conv2d) and not first.is_depthwise:
            assert first.out_channels == 8
    assert load_preset("conv-3x3-stride2-valid") == Conv2d(8, 8, 8, 8, 3, stride=2, padding="valid")
    assert load_preset("conv-3x3-depthwise").is_depthwise
    assert load_preset("pixel-shuffle-2x2") == PixelShuffle(12, 5, 5, 2)
    assert load_preset("pixel-shuffle-3x3").output_shape == (3, 12, 12)
    assert load_preset("pixel-unshuffle-2x2") == PixelUnshuffle(3, 10, 10, 2)
    assert load_preset("pixel-unshuffle-3x3").output_shape == (27, 4, 4)
    assert load_preset("shuffle-loop-2x2") == shuffle_loop(12, 5, 5, 2)
    assert load_preset("shuffle-loop-3x3") == shuffle_loop(27, 4, 4, 3)
    assert load_preset_file("shuffle-loop-2x2").timing.loop
    assert load_preset("depthwise-separable") == depthwise_separable(8, 8, 8, 8, padding="valid")
    assert load_preset("espcn-x2") == espcn(8, 5, 5, 2)
    assert load_preset("conv-transpose-3x3-stride2").output_shape == (8, 8, 8)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_of_every_preset(name, tmp_path):
    preset = load_preset_file(name)
    text = preset_to_toml(preset)
    assert preset_from_dict(name, tomllib.loads(text)) == preset
    path = save_preset(preset, tmp_path / f"{name}.toml")
    assert load_preset_file(path) == preset
    assert load_preset_file(str(path)) == preset


titles = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
timings = st.builds(Timing, frames_per_step=st.integers(1, 9), hold_frames=st.integers(0, 30),
                    easing=st.sampled_from(["linear", "ease", "constant"]), loop=st.booleans(),
                    fps=st.sampled_from([12, 24, 30, 60]), speedup_after_rows=st.integers(0, 4))
unit = st.floats(0, 1)      # a preset file is held to the same limits as the API (engine.timeline.check_look)
looks = st.builds(Look, cube_size=st.floats(0.01, 10), gap=st.floats(0, 1), value_shading=st.floats(0, 1),
                  input_color=st.tuples(unit, unit, unit, unit),
                  filter_colors=st.lists(st.tuples(unit, unit, unit, unit), max_size=3).map(tuple))


@settings(max_examples=60, deadline=None)
@given(titles, titles, st.sampled_from(NAMES), timings, looks)
def test_round_trip_of_any_preset(title, description, name, timing, look):
    preset = Preset(name="x", title=title, description=description, spec=load_preset(name), timing=timing,
                    look=look)
    assert preset_from_dict("x", tomllib.loads(preset_to_toml(preset))) == preset


def test_preset_file_errors(tmp_path):
    def error_for(text):
        path = tmp_path / "p.toml"
        path.write_text(text)
        with pytest.raises(SpecError) as info:
            load_preset_file(path)
        return info.value

    spec = '[spec]\nop = "max_pool2d"\nin_channels = 1\nheight = 4\nwidth = 4\n'
    assert error_for(spec + "[timing]\nframes_per_stp = 2\n").parameter == "timing.frames_per_stp"
    assert error_for(spec + "[look]\ncolour = 1\n").parameter == "look.colour"
    assert error_for(spec + "[timing]\nfps = 2.5\n").parameter == "timing.fps"
    assert error_for(spec + "[timing]\neasing = \"bounce\"\n").parameter == "timing.easing"
    assert error_for(spec + "[look]\ninput_color = [1, 0]\n").parameter == "look.input_color"
    assert error_for(spec + "[look]\nfilter_colors = [[1, 0, 0]]\n").parameter == "look.filter_colors"
    assert error_for(spec + "[look]\nfilter_colors = [1, 0, 0, 1]\n").parameter == "look.filter_colors"
    assert error_for('titel = "x"\n' + spec).parameter == "titel"
    assert error_for('title = "x"\n').parameter == "spec"
    assert error_for("[spec\n").parameter == "preset"
    assert error_for(spec.replace("height = 4", "height = 0")).parameter == "height"
    with pytest.raises(SpecError) as info:
        load_preset_file(tmp_path / "missing.toml")
    assert info.value.parameter == "preset"


def test_unknown_preset_name():
    with pytest.raises(SpecError) as info:
        load_preset_file("max-pool-3x3")
    assert info.value.parameter == "preset" and "did you mean max-pool-2x2" in str(info.value)
    with pytest.raises(SpecError) as info:
        load_preset("zzzz")
    assert "did you mean" not in str(info.value) and "conv-3x3-valid" in str(info.value)


def test_title_defaults_to_label():
    preset = preset_from_dict("p", {"spec": {"op": "pixel_shuffle", "in_channels": 4, "height": 2, "width": 2}})
    assert preset.title == "pixel shuffle 2x2" and preset.description == ""


# --- overrides -------------------------------------------------------------------------------

def test_overrides_of_spec_timing_and_look():
    base = load_preset_file("conv-3x3-valid")
    changed = apply_overrides(base, ["kernel_size=[3,5]", 'padding="same"', "timing.fps=30", "look.gap=0.2",
                                     "timing.loop=true", "spec.stride=2"])
    assert changed.spec.kernel_size == (3, 5) and changed.spec.padding == "same" and changed.spec.stride == (2, 2)
    assert changed.timing.fps == 30 and changed.timing.loop and changed.look.gap == 0.2
    assert changed.title == base.title and base.spec.kernel_size == (3, 3)   # the original is untouched
    assert apply_overrides(base, ["padding=same"]).spec.padding == "same"
    assert apply_overrides(base, "groups=2").spec.groups == 2
    assert apply_overrides(base, []) == base


def test_a_batch_override_reaches_every_stage_of_a_chain():
    base = load_preset_file("vgg-block")
    changed = apply_overrides(base, ["batch=2"])
    assert [stage.batch for stage in changed.spec.stages] == [2] * len(base.spec.stages)
    assert changed.spec.output_torch_shape == (2,) + base.spec.output_shape
    with pytest.raises(SpecError) as info:
        apply_overrides(base, ["batch=0"])
    assert info.value.parameter == "batch"


def test_colour_overrides_parse_as_on_the_command_line():
    base = load_preset_file("conv-3x3-valid")
    changed = apply_overrides(base, ["look.filter_colors=[[1, 0, 0, 1], [0, 0.5, 1, 1]]",
                                     "look.padding_color=[0, 0, 0, 0.25]", "look.input_color=[1,1,1,1]"])
    assert changed.look.filter_colors == ((1.0, 0.0, 0.0, 1.0), (0.0, 0.5, 1.0, 1.0))
    assert changed.look.padding_color == (0.0, 0.0, 0.0, 0.25) and changed.look.input_color == (1.0, 1.0, 1.0, 1.0)
    assert apply_overrides(changed, ["look.filter_colors=[]"]).look.filter_colors == ()


def test_overrides_keep_earlier_changes():
    base = load_preset_file("shuffle-loop-2x2")
    changed = apply_overrides(base, ["timing.fps=30"])
    assert changed.timing.loop and changed.timing.fps == 30


def test_chain_overrides():
    base = load_preset_file("depthwise-separable")
    changed = apply_overrides(base, ["stages.1.kernel_size=3", "stages.0.padding=same", "stages.1.height=8",
                                     "stages.1.width=8", "name=sep"])
    assert changed.spec.stages[1].kernel_size == (3, 3) and changed.spec.stages[0].padding == "same"
    assert changed.spec.label == "sep" and changed.spec.output_shape == (8, 6, 6)
    with pytest.raises(SpecError) as info:
        apply_overrides(base, ["stages.0.padding=same"])   # the next stage no longer fits
    assert info.value.parameter == "stages[1]"


@pytest.mark.parametrize("item", ["kernel_size", "=3", "kernel_size=", "timing.nope=1", "look=1", "timing.fps.x=1",
                                  "stages.0.kernel_size=3", "op=max_pool2d", 7, "spec.a.b=1"])
def test_malformed_override(item):
    with pytest.raises(SpecError) as info:
        apply_overrides(load_preset_file("conv-3x3-valid"), [item])
    assert info.value.parameter == "set"
    assert "key=value with key one of" in str(info.value) and "timing.fps" in info.value.allowed


def test_chain_override_index_out_of_range():
    with pytest.raises(SpecError) as info:
        apply_overrides(load_preset_file("espcn-x2"), ["stages.2.kernel_size=1"])
    assert info.value.parameter == "set" and "stages.1.upscale_factor" in info.value.allowed


def test_override_with_a_bad_value_names_the_parameter():
    base = load_preset_file("conv-3x3-valid")
    for item, parameter in (("stride=0", "stride"), ("kernel_sise=3", "kernel_sise"), ("timing.fps=fast", "timing.fps"),
                            ("look.gap=[1", "look.gap"), ("groups=3", "groups")):
        with pytest.raises(SpecError) as info:
            apply_overrides(base, [item])
        assert info.value.parameter == parameter, item


def test_overridden_preset_plans():
    preset = apply_overrides(load_preset_file("max-pool-2x2"), ["kernel_size=3", "stride=1", "padding=1"])
    result = plan(preset.spec)
    assert result.output.shape == (8, 8, 8) and not isinstance(result, ChainPlan)
    assert dataclasses.replace(preset, name="y").name == "y"


def test_preset_files_are_toml_in_the_package():
    ops = {tomllib.loads(p.read_text())["spec"]["op"] for p in PRESET_DIR.glob("*.toml")}
    assert ops <= set(registry.OPERATIONS) | {"chain", "graph"}


# The captions of the Animated AI page (../shared/reference/README.md), checked against each preset's spec:
# "same" there means one pixel on every side, also at stride 2 (not TensorFlow's (0, 1, 0, 1)).
CATALOGUE = {
    "conv-3x3-valid": dict(kernel_size=(3, 3), stride=(1, 1), pads=(0, 0, 0, 0), groups=1),
    "conv-3x3-same": dict(kernel_size=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1), groups=1),
    "conv-3x3-stride2-valid": dict(kernel_size=(3, 3), stride=(2, 2), pads=(0, 0, 0, 0), groups=1),
    "conv-3x3-stride2-same": dict(kernel_size=(3, 3), stride=(2, 2), pads=(1, 1, 1, 1), groups=1),
    "conv-3x3-groups2": dict(kernel_size=(3, 3), stride=(1, 1), pads=(0, 0, 0, 0), groups=2),
    "conv-3x3-depthwise": dict(kernel_size=(3, 3), stride=(1, 1), groups=8),
}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_catalogue_presets_match_the_page_captions(name):
    spec = load_preset(name)
    for field, value in CATALOGUE[name].items():
        assert tuple(getattr(spec, field)) == value if isinstance(value, tuple) else getattr(spec, field) == value, \
            (name, field)


def test_depthwise_separable_is_8_groups_then_pointwise():
    stages = load_preset("depthwise-separable").stages
    assert stages[0].groups == 8 and stages[0].kernel_size == (3, 3)
    assert stages[1].kernel_size == (1, 1) and stages[1].groups == 1


def test_shuffle_presets_ask_for_the_flat_light_grey_stage():
    for name in list_presets():
        preset = load_preset_file(name)
        shuffles = "shuffle" in name
        assert preset.template == ("flat" if shuffles else "studio"), name


def test_a_preset_template_round_trips_and_is_checked(tmp_path):
    preset = load_preset_file("pixel-shuffle-2x2")
    path = save_preset(preset, tmp_path / "mine.toml")
    assert load_preset_file(str(path)).template == "flat"
    text = path.read_text().replace('template = "flat"', 'template = "disco"')
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(SpecError) as err:
        load_preset_file(str(tmp_path / "bad.toml"))
    assert err.value.parameter == "template"


# --- the lessons' presets (issue 13) ------------------------------------------------------------

def test_the_lessons_shapes():
    first, relu, second = load_preset("cnn-32x32x3-six-5x5-filters").stages
    assert first.input_shape == (3, 32, 32) and first.out_channels == 6 and first.kernel_size == (5, 5)
    assert first.output_shape == (6, 28, 28) and relu.op == "relu"
    assert second.kernel_size == (3, 3) and second.in_channels == 6
    pointwise_ = load_preset("conv-1x1-64-to-32")
    assert (pointwise_.in_channels, pointwise_.out_channels, pointwise_.kernel_size) == (64, 32, (1, 1))
    pool = load_preset("max-pool-2x2")          # the lesson's 2x2 max pooling, stride 2
    assert pool.kernel_size == (2, 2) and pool.stride == (2, 2)
    vgg = load_preset("vgg-block").stages
    assert [s.op for s in vgg] == ["conv2d", "relu", "conv2d", "relu", "max_pool2d"]
    assert vgg[0].out_channels == 2 * vgg[0].in_channels and vgg[-1].output_shape[1:] == (4, 4)
    assert all(s.kernel_size == (3, 3) and s.padding == "same" for s in vgg if s.op == "conv2d")
    wavenet = load_preset("wavenet-causal-stack").stages
    assert [(s.padding, s.dilation) for s in wavenet] == [("causal", 1), ("causal", 2), ("causal", 4)]


def test_the_lessons_fit_the_default_cube_budget():
    from animatedai_addon.engine.budget import CUBE_BUDGETS, count_cubes
    for name in ("cnn-32x32x3-six-5x5-filters", "conv-1x1-64-to-32", "vgg-block", "digit-sobel-x",
                 "wavenet-causal-stack", "conv-batchnorm-relu6"):
        assert count_cubes(load_preset(name)) <= CUBE_BUDGETS["objects"], name


def test_the_digit_preset_shows_the_edges_of_its_bundled_digit():
    import numpy as np
    preset = load_preset_file("digit-sobel-x")
    sobel, relu = preset.spec.stages
    assert preset.input.endswith("digit-7.npy") and sobel.weights == "sobel_x" and relu.op == "relu"
    result = plan(preset.spec, input=preset.input)
    digit = result.input[0]
    assert digit.shape == (28, 28) and digit.min() == 0.0 and digit.max() == 1.0
    edges = result.stages[0].output[0]
    assert np.array_equal(result.output[0], np.maximum(edges, 0))
    # Sobel x answers where the ink changes along a row: its output is 0 wherever a 3x3 patch has no such change
    padded = np.pad(digit, 1)
    flat_rows = np.array([[np.ptp(padded[y:y + 3, x:x + 3], axis=1).max() == 0 for x in range(28)]
                          for y in range(28)])
    assert not edges[flat_rows].any() and np.abs(edges[~flat_rows]).max() > 2


def test_a_preset_input_is_checked_and_round_trips(tmp_path):
    preset = load_preset_file("digit-sobel-x")
    path = save_preset(preset, tmp_path / "mine.toml")
    assert load_preset_file(str(path)) == dataclasses.replace(preset, name="mine")
    for value, why in (("data/missing.npy", "missing"), (3, "a .npy or image file")):
        table = {"spec": {"op": "relu", "in_channels": 1, "height": 2, "width": 2}, "input": value}
        with pytest.raises(SpecError, match=f"input=.*{why}"):
            preset_from_dict("x", table)
    overridden = apply_overrides(preset, ["stages.0.weights=sobel_y"])
    assert overridden.input == preset.input and overridden.spec.stages[0].weights == "sobel_y"
