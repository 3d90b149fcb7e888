"""Bad input raises SpecError naming the parameter, and nothing else ever leaks out."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.planning import plan
from animatedai_addon.engine.presets import load_preset
from animatedai_addon.engine.spec import (OPS, AvgPool2d, Chain, Conv2d, ConvTranspose2d, MaxPool2d, PixelShuffle,
                                          PixelUnshuffle, depthwise, depthwise_separable, espcn, mobilenet_block,
                                          pointwise, shuffle_loop, spec_from_dict)


def raises_naming(parameter, call, *args, **kwargs) -> SpecError:
    with pytest.raises(SpecError) as info:
        call(*args, **kwargs)
    assert info.value.parameter == parameter, str(info.value)
    assert parameter in str(info.value)
    return info.value


# --- named mistakes -----------------------------------------------------------------------

def test_groups_must_divide_in_channels():
    error = raises_naming("groups", Conv2d, 8, 8, 8, out_channels=6, groups=3)
    assert "[1, 2, 4, 8]" in str(error)


def test_kernel_larger_than_padded_input():
    raises_naming("kernel_size", Conv2d, 1, 4, 4, kernel_size=5)
    raises_naming("dilation", Conv2d, 1, 4, 4, kernel_size=3, dilation=2)    # the kernel alone fits: dilation is to blame
    raises_naming("dilation", MaxPool2d, 1, 8, 8, kernel_size=3, dilation=255)
    raises_naming("kernel_size", MaxPool2d, 1, 3, 3, kernel_size=4)
    Conv2d(1, 4, 4, kernel_size=5, padding=1)   # the padded input is 6 wide: fits


def test_stride_zero():
    raises_naming("stride", Conv2d, 1, 4, 4, stride=0)
    raises_naming("stride", ConvTranspose2d, 1, 4, 4, stride=(1, 0))
    raises_naming("stride", AvgPool2d, 1, 4, 4, stride=0)


def test_negative_padding():
    raises_naming("padding", Conv2d, 1, 4, 4, padding=-1)
    raises_naming("padding", Conv2d, 1, 4, 4, padding=(0, 0, -1, 0))
    raises_naming("padding", ConvTranspose2d, 1, 4, 4, padding=-1)
    raises_naming("padding", MaxPool2d, 1, 4, 4, padding=(-1, 0))


def test_padding_words_and_shapes():
    raises_naming("padding", Conv2d, 1, 4, 4, padding="half")
    raises_naming("padding", Conv2d, 1, 4, 4, padding=(1, 2, 3))


def test_upscale_factor_must_fit_channels():
    error = raises_naming("upscale_factor", PixelShuffle, 6, 4, 4, upscale_factor=2)
    assert "[1]" in str(error)
    raises_naming("upscale_factor", PixelShuffle, 8, 4, 4, upscale_factor=3)
    raises_naming("downscale_factor", PixelUnshuffle, 3, 5, 4, downscale_factor=2)


def test_chain_shapes_must_connect():
    error = raises_naming("stages[1]", Chain, (Conv2d(8, 8, 8), Conv2d(8, 8, 8)))
    assert "(8, 6, 6)" in str(error)
    raises_naming("stages", Chain, ())
    raises_naming("stages[0]", Chain, ("conv",))


def test_transposed_conv_limits():
    raises_naming("padding", ConvTranspose2d, 1, 4, 4, kernel_size=3, padding=3)
    raises_naming("output_padding", ConvTranspose2d, 1, 4, 4, stride=2, output_padding=2)
    raises_naming("padding", ConvTranspose2d, 1, 1, 1, kernel_size=2, padding=1)   # output would be 0 high


def test_pool_padding_is_at_most_half_the_kernel():
    raises_naming("padding", MaxPool2d, 1, 8, 8, kernel_size=2, padding=2, dilation=3)


def test_unknown_preset_lists_close_names():
    error = raises_naming("preset", load_preset, "conv-3x3-vald")
    assert "did you mean conv-3x3-valid" in str(error)
    assert "conv-3x3-stride2-valid" in error.allowed   # the whole list


def test_npy_of_wrong_shape(tmp_path):
    path = tmp_path / "values.npy"
    np.save(path, np.zeros((2, 3, 3)))
    error = raises_naming("input", plan, Conv2d(2, 4, 4), input=str(path))
    assert "(2, 4, 4)" in str(error)


def test_plan_arguments():
    spec = Conv2d(2, 4, 4, out_channels=2)
    raises_naming("order", plan, spec, order="row")
    error = raises_naming("weights", plan, spec, weights=np.zeros((2, 2, 2, 2)))
    assert "(2, 2, 3, 3)" in str(error)
    raises_naming("weights", plan, spec, weights=np.full((2, 2, 3, 3), np.nan))
    raises_naming("input", plan, spec, input=np.zeros((2, 4, 5)))
    raises_naming("input", plan, spec, input=np.full((2, 4, 4), np.inf))
    raises_naming("input", plan, spec, input="no/such/file.npy")
    raises_naming("weights", plan, MaxPool2d(2, 4, 4), weights=np.ones(1))
    raises_naming("weights", plan, shuffle_loop(4, 2, 2), weights=np.ones(1))
    raises_naming("seed", plan, spec, seed=-1)
    raises_naming("spec", plan, "conv-3x3-valid")
    raises_naming("op", spec_from_dict, {"op": "conv4d"})
    raises_naming("kernel", spec_from_dict, {"op": "conv2d", "in_channels": 1, "height": 3, "width": 3, "kernel": 3})


# --- fuzz: garbage in, SpecError out ----------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, 2.0, -0.0, 1e300]), st.text(max_size=8),
    st.sampled_from(["valid", "same", "full", "conv2d", "chain", "", "3"]), st.binary(max_size=4),
    st.builds(np.int64, st.integers(-3, 70)), st.builds(object), st.just(np.zeros((2, 2))),
)
garbage = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(st.one_of(st.text(max_size=6), st.integers()),
                                                                          inner, max_size=3)), max_leaves=10)
plausible = st.one_of(st.integers(-2, 12), st.tuples(st.integers(-1, 5), st.integers(-1, 5)),
                      st.sampled_from(["valid", "same", "full", True, None]))
values = st.one_of(garbage, plausible, plausible)

SPEC_CLASSES = list(OPS.values())
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_spec_errors(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except SpecError:
        return None


@FUZZ
@given(st.sampled_from(SPEC_CLASSES), st.data())
def test_fuzz_spec_constructors(cls, data):
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {name: data.draw(values, label=name) for name in names
              if name in cls.SHAPE_FIELDS or data.draw(st.booleans())}
    spec = only_spec_errors(cls, **kwargs)
    if spec is not None:   # whatever was accepted can be planned
        assert all(1 <= n for n in spec.output_shape)


@FUZZ
@given(st.one_of(garbage, st.dictionaries(st.sampled_from(
    ["op", "in_channels", "height", "width", "length", "out_channels", "kernel_size", "stride", "padding", "dilation",
     "groups", "output_padding", "upscale_factor", "downscale_factor", "count_include_pad", "stages", "name"]),
    values, max_size=8).map(lambda d: d | {"op": d.get("op", "conv2d")}),
    st.builds(lambda stages, name: {"op": "chain", "stages": stages, "name": name},
              st.lists(st.one_of(garbage, st.just({"op": "conv2d", "in_channels": 1, "height": 3, "width": 3})),
                       max_size=3), values)))
def test_fuzz_spec_from_dict(data):
    only_spec_errors(spec_from_dict, data)


NAMED = [(depthwise, 3, 5), (pointwise, 4, 4), (depthwise_separable, 4, 5), (mobilenet_block, 3, 5),
         (espcn, 3, 5), (shuffle_loop, 3, 4)]


@settings(max_examples=80, deadline=None)
@given(st.lists(values, min_size=5, max_size=5), st.lists(st.one_of(garbage, st.just(Conv2d(1, 3, 3))), max_size=3))
def test_fuzz_chain_and_named_constructors(args, stages):
    only_spec_errors(Chain, stages, args[0])
    only_spec_errors(Chain, args[0], args[1])
    for make, required, most in NAMED:
        only_spec_errors(make, *args[:required])
        only_spec_errors(make, *args[:most])


SMALL_SPECS = [Conv2d(2, 4, 4, out_channels=2), ConvTranspose2d(2, 3, 3, out_channels=2), MaxPool2d(2, 4, 4),
               PixelShuffle(4, 2, 2), shuffle_loop(4, 2, 2)]


@FUZZ
@given(st.one_of(st.sampled_from(SMALL_SPECS), garbage), st.one_of(st.none(), garbage),
       st.one_of(st.none(), garbage), st.one_of(st.just(0), garbage), st.one_of(st.just("filter"), garbage))
def test_fuzz_plan(spec, input, weights, seed, order):
    only_spec_errors(plan, spec, input, weights, seed, order)
