"""The dot product behind one output cell (issue 14's close-up), from the plan's steps, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from animatedai_addon.engine import SpecError
from animatedai_addon.engine.closeup import dot_product
from animatedai_addon.engine.planning import plan
from animatedai_addon.engine.spec import Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, espcn

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.needs_torch


def torch_cell(spec, the_plan, cell) -> float:
    x = torch.from_numpy(np.ascontiguousarray(the_plan.input))[None]
    w = torch.from_numpy(np.ascontiguousarray(the_plan.weights))
    if isinstance(spec, ConvTranspose2d):
        out = F.conv_transpose2d(x, w, stride=spec.stride, padding=spec.padding, output_padding=spec.output_padding,
                                 dilation=spec.dilation, groups=spec.groups)
    elif isinstance(spec, Conv1d):
        left, right = spec.pads
        out = F.conv1d(F.pad(x, (left, right)), w, stride=spec.stride, dilation=spec.dilation, groups=spec.groups)
    else:
        t, b, l, r = spec.pads
        out = F.conv2d(F.pad(x, (l, r, t, b)), w, stride=spec.stride, dilation=spec.dilation, groups=spec.groups)
    return float(out[0][tuple(cell)])


@pytest.mark.parametrize("spec", [Conv2d(3, 7, 7, 4, 3, 2, "same"), Conv2d(4, 6, 6, 4, 3, 1, 1, 2, groups=2),
                                  ConvTranspose2d(2, 3, 3, 3, 3, 2, 1, 1), Conv1d(3, 9, 2, 3, padding="causal")],
                         ids=lambda s: s.label)
def test_every_cell_sums_to_torch(spec):
    the_plan = plan(spec, seed=3)
    for flat in range(int(np.prod(spec.output_shape))):
        cell = np.unravel_index(flat, spec.output_shape)
        found = dot_product(the_plan, tuple(int(i) for i in cell))
        assert found.total == pytest.approx(torch_cell(spec, the_plan, cell), abs=1e-6)
        assert found.total == pytest.approx(float(the_plan.output[cell]), abs=1e-9)
        assert np.all(found.inputs[found.input_cells[:, 1] < 0] == 0)
        assert found.products.sum() + found.bias == pytest.approx(found.total)


def test_a_chain_stage_and_refusals():
    spec = espcn(2, 3, 3, 2, 1)
    the_plan = plan(spec)
    found = dot_product(the_plan, (1, 2, 0), stage=0)
    assert found.stage == 0 and found.total == pytest.approx(float(the_plan.stages[0].output[1, 2, 0]))
    with pytest.raises(SpecError, match="closeup"):
        dot_product(the_plan, (0, 0, 0))                 # the shuffle multiplies nothing
    with pytest.raises(SpecError, match="closeup"):
        dot_product(plan(MaxPool2d(1, 4, 4, 2)), (0, 0, 0))
    with pytest.raises(SpecError, match="closeup"):
        dot_product(the_plan, (4, 0, 0), stage=0)        # outside the output
    with pytest.raises(SpecError, match="stage"):
        dot_product(the_plan, (0, 0, 0), stage=2)
