"""Conv2d padding against PyTorch's own padding arguments and an output-size rule written here.

The main torch sweep (test_plan_torch.py) pads the input with the spec's own ``pads`` before calling
PyTorch, so a wrong ``pads`` would pass there. Here every padding form is handed to PyTorch as PyTorch
takes it (``padding="valid"``, ``"same"``, an int, an (h, w) tuple; ``F.pad`` for explicit sides), and
sizes and 'same' paddings come from rules written in this file, never from the spec:

* output size per axis: ``floor((in + pad_total - dilation*(k-1) - 1) / stride) + 1``;
* 'same' (TensorFlow's rule, as docs/DESIGN.md and the spec promise, for any stride): the output is
  ``ceil(in / stride)`` with the least padding that gives it, split evenly, the odd cell at bottom/right.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from animatedai_addon.engine import Conv2d, SpecError, plan

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.needs_torch

SWEEP = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def output_size(size: int, pad_total: int, kernel: int, stride: int, dilation: int) -> int:
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def tensorflow_same(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) found by search, not by formula: the least total padding whose output is
    ceil(size / stride), split with the odd cell after."""
    wanted = math.ceil(size / stride)
    total = next(t for t in range(dilation * kernel + size) if output_size(size, t, kernel, stride, dilation) == wanted)
    return total // 2, total - total // 2


def pad_totals(spec_args: dict) -> tuple[int, int]:
    """Padding per axis (height, width), totals, from the argument as the user gave it."""
    padding, (kh, kw), (dh, dw) = spec_args["padding"], spec_args["kernel_size"], spec_args["dilation"]
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return 2 * dh * (kh - 1), 2 * dw * (kw - 1)
    if isinstance(padding, int):
        return 2 * padding, 2 * padding
    if len(padding) == 2:
        return 2 * padding[0], 2 * padding[1]
    top, bottom, left, right = padding
    return top + bottom, left + right


def torch_conv(result, **padding) -> np.ndarray:
    spec = result.spec
    x = torch.from_numpy(result.input)[None]
    w = torch.from_numpy(result.weights)
    return F.conv2d(x, w, stride=spec.stride, dilation=spec.dilation, groups=spec.groups, **padding)[0].numpy()


def made(**args):
    try:
        return Conv2d(**args)
    except SpecError:
        assume(False)


@st.composite
def conv_args(draw, padding, stride=st.tuples(st.integers(1, 3), st.integers(1, 3))):
    groups = draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return dict(in_channels=groups * draw(st.integers(1, 2)), height=draw(st.integers(1, 9)),
                width=draw(st.integers(1, 9)), out_channels=groups * draw(st.integers(1, 2)),
                kernel_size=kernel, stride=draw(stride), dilation=dilation, groups=groups, padding=draw(padding))


seeds = st.integers(0, 2**32)
every_padding = st.one_of(st.sampled_from(["valid", "same", "full"]), st.integers(0, 3),
                          st.tuples(st.integers(0, 3), st.integers(0, 3)), st.tuples(*[st.integers(0, 3)] * 4))


@SWEEP
@given(conv_args(st.one_of(st.just("valid"), st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)))),
       seeds)
def test_valid_int_and_pair_padding_match_torchs_padding_argument(args, seed):
    result = plan(made(**args), seed=seed)
    expected = torch_conv(result, padding=args["padding"])
    assert expected.shape == result.output.shape
    np.testing.assert_allclose(result.output, expected, rtol=1e-10, atol=1e-10)


@SWEEP
@given(conv_args(st.tuples(*[st.integers(0, 3)] * 4)), seeds)
def test_explicit_sides_match_torchs_pad(args, seed):
    """(top, bottom, left, right) is F.pad's (left, right, top, bottom)."""
    result = plan(made(**args), seed=seed)
    top, bottom, left, right = args["padding"]
    x = F.pad(torch.from_numpy(result.input)[None], (left, right, top, bottom))
    spec = result.spec
    expected = F.conv2d(x, torch.from_numpy(result.weights), stride=spec.stride, dilation=spec.dilation,
                        groups=spec.groups)[0].numpy()
    np.testing.assert_allclose(result.output, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")   # torch pads a copy: fine
@SWEEP
@given(conv_args(st.just("same"), stride=st.just((1, 1))), seeds)
def test_same_at_stride_one_matches_torchs_same(args, seed):
    result = plan(made(**args), seed=seed)
    assert result.output.shape[1:] == (args["height"], args["width"])
    np.testing.assert_allclose(result.output, torch_conv(result, padding="same"), rtol=1e-10, atol=1e-10)


@SWEEP
@given(conv_args(st.just("same")), seeds)
def test_same_at_any_stride_follows_tensorflows_rule(args, seed):
    """PyTorch refuses padding='same' with stride > 1: pad by the rule searched for here, then convolve."""
    result = plan(made(**args), seed=seed)
    (kh, kw), (sh, sw), (dh, dw) = args["kernel_size"], args["stride"], args["dilation"]
    top, bottom = tensorflow_same(args["height"], kh, sh, dh)
    left, right = tensorflow_same(args["width"], kw, sw, dw)
    assert result.output.shape[1:] == (math.ceil(args["height"] / sh), math.ceil(args["width"] / sw))
    x = F.pad(torch.from_numpy(result.input)[None], (left, right, top, bottom))
    expected = F.conv2d(x, torch.from_numpy(result.weights), stride=(sh, sw), dilation=(dh, dw),
                        groups=args["groups"])[0].numpy()
    np.testing.assert_allclose(result.output, expected, rtol=1e-10, atol=1e-10)
    # the padding cubes the animation shows: exactly those rows and columns, around the input
    for cells, before, size, after in ((result.virtual_rows, top, args["height"], bottom),
                                       (result.virtual_cols, left, args["width"], right)):
        assert cells.tolist() == [-1] * before + list(range(size)) + [-1] * after


@SWEEP
@given(conv_args(st.just("full"), stride=st.just((1, 1))), seeds)
def test_full_is_the_transposed_convolution_at_stride_one(args, seed):
    """'full' correlation equals conv_transpose2d with the kernel flipped (a different torch path)."""
    assume(args["groups"] == 1)
    result = plan(made(**args), seed=seed)
    kernel = torch.from_numpy(result.weights).flip(-1, -2).transpose(0, 1)
    expected = F.conv_transpose2d(torch.from_numpy(result.input)[None], kernel, dilation=args["dilation"])[0]
    np.testing.assert_allclose(result.output, expected.numpy(), rtol=1e-10, atol=1e-10)
    (kh, kw), (dh, dw) = args["kernel_size"], args["dilation"]
    full = torch_conv(result, padding=(dh * (kh - 1), dw * (kw - 1)))
    np.testing.assert_allclose(result.output, full, rtol=1e-10, atol=1e-10)


@settings(max_examples=400, deadline=None)
@given(conv_args(every_padding))
def test_output_shape_follows_the_size_rule(args):
    spec = made(**args)
    (kh, kw), (sh, sw), (dh, dw) = args["kernel_size"], args["stride"], args["dilation"]
    if args["padding"] == "same":
        expected = (math.ceil(args["height"] / sh), math.ceil(args["width"] / sw))
    else:
        total_h, total_w = pad_totals(args)
        expected = (output_size(args["height"], total_h, kh, sh, dh), output_size(args["width"], total_w, kw, sw, dw))
    assert spec.output_shape == (args["out_channels"],) + expected


@settings(max_examples=200, deadline=None)
@given(conv_args(st.one_of(st.just("valid"), st.integers(0, 3), st.tuples(*[st.integers(0, 3)] * 4))))
def test_a_window_that_does_not_fit_is_refused(args):
    """Where the size rule leaves no output, the spec refuses (naming kernel_size or dilation)."""
    (kh, kw), (sh, sw), (dh, dw) = args["kernel_size"], args["stride"], args["dilation"]
    total_h, total_w = pad_totals(args)
    fits = min(output_size(args["height"], total_h, kh, sh, dh), output_size(args["width"], total_w, kw, sw, dw)) >= 1
    if fits:
        assert Conv2d(**args).output_shape[0] == args["out_channels"]
    else:
        with pytest.raises(SpecError) as caught:
            Conv2d(**args)
        assert caught.value.parameter in ("kernel_size", "dilation")


def test_the_same_rule_is_tensorflows_on_known_cases():
    """Hand-worked examples of the rule: 8 wide, k3 s2 -> 4 out, pad 1 total, after; k4 s1 -> pad 1 before, 2 after."""
    assert tensorflow_same(8, 3, 2, 1) == (0, 1)
    assert tensorflow_same(8, 4, 1, 1) == (1, 2)
    assert tensorflow_same(7, 3, 2, 1) == (1, 1)
    assert tensorflow_same(5, 3, 1, 2) == (2, 2)
    assert Conv2d(1, 8, 8, out_channels=1, kernel_size=3, stride=2, padding="same").output_shape == (1, 4, 4)
