"""Every operation describes itself in PyTorch's words (issue 14's labels): the call string builds a torch
module that gives the spec's output shape, its parameters' numel() is parameter_count(), torch's flop
counter halves to mac_count() (per sample: a batch=N spec runs on N samples and counts N times as many), and
the output-size formula evaluates to the output shape."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from animatedai_addon.engine import registry
from animatedai_addon.engine.graph import Chain, Graph
from animatedai_addon.engine.ops import torch_text
from animatedai_addon.engine.ops.activation import ReLU, ReLU6
from animatedai_addon.engine.ops.batch_norm import BatchNorm2d
from animatedai_addon.engine.ops.conv3d import Conv3d
from animatedai_addon.engine.ops.flatten import Flatten
from animatedai_addon.engine.ops.linear import Linear
from animatedai_addon.engine.presets import list_presets, load_preset
from animatedai_addon.engine.spec import (AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, PixelShuffle,
                                          PixelUnshuffle)

TEXT_METHODS = ("torch_call", "output_formula", "parameter_count", "mac_count")


def _preset_stages():
    for name in list_presets():
        spec = load_preset(name)
        yield from (spec.stages if isinstance(spec, (Chain, Graph)) else (spec,))


SPECS = list({s: None for s in _preset_stages()}) + [
    Conv2d(3, 32, 32, 6, 5),
    Conv2d(8, 8, 8, 8, 3, 2, "same"),
    Conv2d(3, 9, 8, 4, (3, 2), 2, (1, 0, 2, 1), (2, 1)),
    Conv2d(4, 7, 7, 8, 3, 1, "same", 2, groups=2),
    Conv2d(2, 6, 6, 4, 3, 1, "full"),
    Conv1d(4, 16, 8, 3, padding="causal"),
    Conv1d(4, 17, 6, 4, 3, "same"),
    ConvTranspose2d(4, 4, 4, 2, 3, 2, 1, 1),
    ConvTranspose2d(4, 3, 5, 6, (2, 3), (1, 2), (0, 1), (0, 1), (2, 1), groups=2),
    MaxPool2d(3, 9, 9, 3, 2, 1, 2),
    AvgPool2d(3, 9, 9, 3, 2, 1, False),
    PixelShuffle(8, 4, 4, 2),
    PixelUnshuffle(2, 8, 6, 2),
    Conv2d(3, 8, 8, 4, 3, bias=True),
    Conv1d(2, 9, 3, 3, 2, "same", bias=True),
    ConvTranspose2d(2, 3, 3, 4, 3, 2, bias=True),
    Conv3d(2, 4, 5, 5, 4, 3),
    Conv3d(2, 4, 5, 6, 4, (2, 3, 3), 1, "same", bias=True),
    Conv3d(2, 4, 5, 6, 4, 3, (1, 2, 2), (1, 0, 1, 1, 0, 2), (1, 1, 1), groups=2),
    Flatten(3, 4, 5),
    Flatten(3, 4, 5, 1),
    Flatten(3, 4, 5, 0, -2),
    Flatten(3, 4, 5, 2, 2),
    Linear(16, 8),
    Linear(12, 5, bias=False),
    ReLU(3, 4, 4),
    ReLU6(3, 4, 4),
    BatchNorm2d(3, 4, 4),
    BatchNorm2d(3, 4, 4, eps=1e-3, affine=False),
    Conv2d(3, 8, 8, 4, 3, bias=True, batch=2),
    Linear(16, 8, batch=2),
    Flatten(3, 4, 5, 1, batch=3),
]

#: The formula's names of the dims of a (C, *spatial) shape, by its rank.
DIM_NAMES = {2: ("C", "L"), 3: ("C", "H", "W"), 4: ("C", "D", "H", "W")}


def test_every_operation_describes_itself():
    for name, operation in registry.OPERATIONS.items():
        missing = [m for m in TEXT_METHODS if not callable(getattr(operation.spec_class, m, None))]
        assert not missing, f"{name} ({operation.spec_class.__name__}) lacks {missing}"
    assert {s.op for s in SPECS} == set(registry.OPERATIONS)


@pytest.mark.needs_torch
@pytest.mark.parametrize("spec", [s for s in SPECS if getattr(s, "arity", 1) == 1], ids=lambda s: s.label)
def test_torch_call_counts_and_shape_match_torch(spec):
    """(Add and Concat are torch functions of two inputs, no module: tests/engine/test_graph.py.)"""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    modules = eval(spec.torch_call(), {"nn": torch.nn})     # noqa: S307 - our own string, checked here
    module = torch.nn.Sequential(*modules) if isinstance(modules, tuple) else modules
    assert sum(p.numel() for p in module.parameters()) == spec.parameter_count()
    x = torch.randn((spec.batch,) + spec.input_shape, dtype=torch.float64)
    module = module.double()
    with FlopCounterMode(display=False) as counter:
        y = module(x)
    assert tuple(y.shape) == (spec.batch,) + spec.output_shape
    assert counter.get_total_flops() == 2 * spec.mac_count() * spec.batch


def _output_names(spec) -> tuple[str, ...]:
    """The names the formula gives the output's dims: the input's, a flatten's merged into one (C·H·W)."""
    if isinstance(spec, Linear):
        return ("features",)
    names = DIM_NAMES[len(spec.input_shape)]
    if isinstance(spec, Flatten):
        merged = torch_text.DOT.join(names[spec.start_dim:spec.end_dim + 1])
        return names[:spec.start_dim] + (merged,) + names[spec.end_dim + 1:]
    return names


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label)
def test_output_formula_evaluates_to_the_output_shape(spec):
    """Every output dim is on a line and evaluates to its size, but the channels (a spec's argument) and the
    dims a flatten leaves as they were."""
    lines = spec.output_formula()
    assert lines and all(isinstance(line, str) and "\n" not in line for line in lines)
    names = _output_names(spec)
    arguments = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    found = {}
    for line in lines:
        if line.endswith(torch_text.UNCHANGED):
            assert spec.output_shape == spec.input_shape
            assert line == torch_text.shape_text(spec.output_shape) + torch_text.UNCHANGED
            found.update(zip(names, spec.output_shape))
            continue
        axes, _, formula = line.rpartition(": ")
        expression, _, value = formula.rpartition(" = ")
        assert eval(torch_text.as_python(expression), {}, arguments) == int(value), line      # noqa: S307
        for axis in (axes.split(", ") if axes else names[1:]):
            assert axis not in found, line
            found[axis] = int(value)
    expected = dict(zip(names, spec.output_shape))
    assert {axis: expected.get(axis) for axis in found} == found
    given = dict(zip(DIM_NAMES.get(len(spec.input_shape), ()), spec.input_shape))
    untold = {axis for axis in expected if axis not in found}
    assert all(axis == "C" or (isinstance(spec, Flatten) and given.get(axis) == expected[axis])
               for axis in untold), untold


def test_bias_and_batch_texts():
    with_bias = Conv2d(3, 32, 32, 6, 5, bias=True)
    assert with_bias.torch_call() == "nn.Conv2d(3, 6, kernel_size=5)"
    assert with_bias.parameter_count() == 6 * 3 * 5 * 5 + 6
    assert Linear(16, 8, bias=False).torch_call() == "nn.Linear(16, 8, bias=False)"
    one, two = Conv2d(3, 8, 8, 4, 3), Conv2d(3, 8, 8, 4, 3, batch=2)
    assert [f() for f in (one.torch_call, one.output_formula, one.parameter_count, one.mac_count)] == \
        [f() for f in (two.torch_call, two.output_formula, two.parameter_count, two.mac_count)]
    assert Flatten(3, 4, 5).torch_call() == "nn.Flatten()"
    assert Flatten(3, 4, 5, 1).torch_call() == "nn.Flatten(start_dim=2)"
    assert Flatten(3, 4, 5).output_formula() == ["C\u00b7H\u00b7W: 3\u00b74\u00b75 = 60"]
    assert ReLU(3, 4, 4).output_formula() == ["3\u00d74\u00d74 (unchanged)"]
    assert BatchNorm2d(3, 4, 4).parameter_count() == 6


def test_the_issue_example():
    spec = Conv2d(3, 32, 32, 6, 5)
    assert spec.output_formula() == ["(32 \u2212 5 + 2\u00b70) / 1 + 1 = 28"]
    assert spec.torch_call() == "nn.Conv2d(3, 6, kernel_size=5, bias=False)"
    assert (spec.parameter_count(), spec.mac_count()) == (6 * 3 * 5 * 5, 6 * 28 * 28 * 3 * 5 * 5)
    assert torch_text.shape_text((6, 3, 5, 5)) == "6\u00d73\u00d75\u00d75"
    assert re.fullmatch(r"floor\(.*\) \+ 1 = 3", Conv2d(1, 8, 8, 1, 3, 2).output_formula()[0])
    assert math.isclose(eval(torch_text.as_python("floor((8 \u2212 3 + 2\u00b70) / 2) + 1")), 3)
