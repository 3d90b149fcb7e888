"""Every operation describes itself in PyTorch's words (issue 14's labels): the call string builds a torch
module that gives the spec's output shape, its parameters' numel() is parameter_count(), torch's flop
counter halves to mac_count(), and the output-size formula evaluates to the output shape."""

from __future__ import annotations

import math
import re

import pytest

from animatedai_addon.engine import registry
from animatedai_addon.engine.graph import Chain, Graph
from animatedai_addon.engine.ops import torch_text
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
]


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
    x = torch.randn((1,) + spec.input_shape, dtype=torch.float64)
    module = module.double()
    with FlopCounterMode(display=False) as counter:
        y = module(x)
    assert tuple(y.shape[1:]) == spec.output_shape
    assert counter.get_total_flops() == 2 * spec.mac_count()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label)
def test_output_formula_evaluates_to_the_output_shape(spec):
    lines = spec.output_formula()
    assert lines and all(isinstance(line, str) and "\n" not in line for line in lines)
    found = {}
    spatial = ("L",) if len(spec.input_shape) == 2 else ("H", "W")
    for line in lines:
        axes, _, formula = line.rpartition(": ")
        expression, _, value = formula.rpartition(" = ")
        assert eval(torch_text.as_python(expression)) == int(value), line      # noqa: S307
        for axis in (axes.split(", ") if axes else spatial):
            found[axis] = int(value)
    names = (("C",) if "C" in found else ()) + spatial
    shape = spec.output_shape if "C" in found else spec.output_shape[1:]
    assert found == dict(zip(names, shape))


def test_the_issue_example():
    spec = Conv2d(3, 32, 32, 6, 5)
    assert spec.output_formula() == ["(32 \u2212 5 + 2\u00b70) / 1 + 1 = 28"]
    assert spec.torch_call() == "nn.Conv2d(3, 6, kernel_size=5, bias=False)"
    assert (spec.parameter_count(), spec.mac_count()) == (6 * 3 * 5 * 5, 6 * 28 * 28 * 3 * 5 * 5)
    assert torch_text.shape_text((6, 3, 5, 5)) == "6\u00d73\u00d75\u00d75"
    assert re.fullmatch(r"floor\(.*\) \+ 1 = 3", Conv2d(1, 8, 8, 1, 3, 2).output_formula()[0])
    assert math.isclose(eval(torch_text.as_python("floor((8 \u2212 3 + 2\u00b70) / 2) + 1")), 3)
