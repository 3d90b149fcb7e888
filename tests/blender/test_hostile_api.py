"""Hostile arguments to api.generate: a clip, or one SpecError with no data-block changed (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

bpy = pytest.importorskip("bpy")

from animatedai_addon import api  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402

from .conftest import count_datablocks, reset_blender  # noqa: E402

ODD = st.one_of(st.none(), st.booleans(), st.integers(-2**65, 2**65), st.floats(allow_nan=True),
                st.text(max_size=6), st.lists(st.integers(-3, 9), max_size=3), st.just(float("inf")),
                st.just(1e308), st.complex_numbers(max_magnitude=3))
SPEC_KEYS = ("in_channels", "height", "width", "out_channels", "kernel_size", "stride", "padding", "dilation",
             "groups", "op", "output_padding", "upscale_factor", "nonsense")
ARGUMENTS = ("mode", "seed", "order", "template", "cube_budget", "input", "timing", "look", "scene")


@st.composite
def hostile_call(draw):
    """A small valid conv spec with one spec key, or one argument of generate, set to something odd."""
    spec = dict(op="conv2d", in_channels=1, height=3, width=3, out_channels=1, kernel_size=2)
    kwargs = {}
    where = draw(st.sampled_from(("spec", "argument", "timing", "look")))
    if where == "spec":
        spec[draw(st.sampled_from(SPEC_KEYS))] = draw(ODD)
    elif where == "argument":
        name = draw(st.sampled_from(ARGUMENTS))
        kwargs[name] = draw(st.one_of(ODD, st.just(np.full((1, 3, 3), 1e308)), st.just(np.ones((2, 2, 2)))))
    else:
        field = draw(st.sampled_from(("fps", "frames_per_step", "easing", "loop", "gap", "cube_size", "highlight",
                                      "input_color", "unknown")))
        kwargs[where] = {field: draw(ODD)}
    return spec, kwargs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_call())
def test_generate_makes_a_clip_or_one_spec_error_and_changes_nothing(call):
    spec, kwargs = call
    reset_blender()
    before = count_datablocks()
    try:
        result = api.generate(spec, **kwargs)
    except SpecError:
        assert count_datablocks() == before
        return
    assert np.all(np.isfinite(result.plan.output))
    assert 1 <= result.timeline.fps <= 240


def test_generate_refuses_an_objects_clip_that_reads_too_many_cells(datablock_counts):
    before = datablock_counts()
    big = dict(op="conv2d", in_channels=2, height=100, width=100, out_channels=1, kernel_size=150, padding=75,
               stride=2)
    with pytest.raises(SpecError) as info:
        api.generate(big, mode="objects", cube_budget=10**6)      # within the budget: the reads are the limit
    assert info.value.parameter == "mode" and "instanced" in str(info.value)
    with pytest.raises(SpecError) as info:
        api.generate(big, mode="instanced", cube_budget=1000)
    assert info.value.parameter == "cube_budget" and "use mode='instanced'" not in str(info.value)
    assert datablock_counts() == before
