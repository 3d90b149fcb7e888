"""BatchNorm2d in eval mode: ``torch.nn.functional.batch_norm(..., training=False)``, each cell replaced in place.

Its parameters have PyTorch's names: ``running_mean``, ``running_var`` and, when ``affine``, ``weight`` and
``bias``, one value per channel. ``plan(spec, weights=...)`` takes any of them as a dict (the rest are seeded);
``Plan.weights`` holds all four (``weight``/``bias`` None without ``affine``, as PyTorch's module has them).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import SpecError
from ..operation import Field, Form, Operation
from ..plans import elementwise_plan, input_values, weight_values
from ..specbase import Elementwise2d
from . import fields, torch_text

#: The parameters, by PyTorch's names (``nn.BatchNorm2d``'s buffers and affine parameters).
PARAMETERS = ("running_mean", "running_var", "weight", "bias")
AFFINE_PARAMETERS = ("weight", "bias")
DEFAULT_EPS = 1e-5


@dataclass(frozen=True)
class BatchNorm2d(Elementwise2d):
    """``nn.BatchNorm2d(in_channels, eps, affine)`` in eval mode:
    (x - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] + bias[c]."""

    eps: float = DEFAULT_EPS
    affine: bool = True

    op: ClassVar[str] = "batch_norm2d"

    def __post_init__(self):
        super().__post_init__()
        eps = self.eps
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (math.isfinite(eps) and 0 < eps <= 1):
            raise SpecError("eps", eps, "a number above 0 up to 1 (PyTorch's default 1e-05)")
        self._set("eps", float(eps))
        if not isinstance(self.affine, bool):
            raise SpecError("affine", self.affine, "true or false")

    @property
    def num_features(self) -> int:
        """PyTorch's name for the channels it normalises."""
        return self.in_channels

    @property
    def label(self) -> str:
        return "batchnorm" + ("" if self.affine else " no affine")

    # --- in PyTorch's words (labels and captions; see ops/torch_text.py) ---------------
    def torch_call(self) -> str:
        """``nn.BatchNorm2d(8).eval()``: in eval mode, as the clip computes it (the running statistics, not
        the batch's)."""
        return torch_text.call("BatchNorm2d", (self.num_features,), [
            ("eps", self.eps, DEFAULT_EPS), ("affine", self.affine, True)]) + ".eval()"

    def output_formula(self) -> list[str]:
        return [torch_text.unchanged_line(self.input_shape)]

    def parameter_count(self) -> int:
        """``weight`` and ``bias`` per channel when ``affine``; the running statistics are buffers, which
        ``parameters()`` leaves out."""
        return 2 * self.num_features if self.affine else 0

    def mac_count(self) -> int:
        """0, as torch's flop counter counts (it counts matrix products and convolutions only): in eval mode
        the stage is one multiply-add per cell, usually folded into the convolution before it."""
        return 0


def _seeded(name: str, channels: int, rng) -> np.ndarray:
    """Parameters that visibly change a [-1, 1] input: means near 0, variances 0.25..2, scales 0.5..1.5."""
    if name == "running_var":
        return rng.uniform(0.25, 2.0, channels)
    if name == "weight":
        return rng.uniform(0.5, 1.5, channels)
    return rng.normal(0.0, 0.5, channels)


def batch_norm_parameters(spec: BatchNorm2d, weights, seed: int) -> dict:
    """The four parameters: those given in ``weights`` (a dict by PyTorch's names) checked, the rest seeded."""
    allowed_names = PARAMETERS if spec.affine else PARAMETERS[:2]
    allowed = (f"None or a dict of arrays of shape ({spec.in_channels},) with keys from "
               + ", ".join(allowed_names) + ("" if spec.affine else " (affine=False: no weight or bias)"))
    if weights is None:
        weights = {}
    if not isinstance(weights, dict):
        raise SpecError("weights", "an array" if isinstance(weights, np.ndarray) else weights, allowed)
    for key in weights:
        if key not in allowed_names:
            raise SpecError(f"weights[{key!r}]", "given", allowed)
    rng = np.random.default_rng(seed)
    channels = spec.in_channels
    values = {}
    for name in PARAMETERS:
        seeded = _seeded(name, channels, rng)     # drawn in a fixed order, so one given array leaves the rest
        if name in AFFINE_PARAMETERS and not spec.affine:
            values[name] = None
        elif name in weights:
            values[name] = weight_values(weights[name], (channels,), seed)
        else:
            values[name] = seeded
    if (values["running_var"] < 0).any():
        raise SpecError("weights['running_var']", "negative values", "variances of at least 0")
    return values


def plan_batch_norm2d(spec, input=None, weights=None, seed: int = 0, order: str = "filter"):
    """BatchNorm2d (eval): one step per cell, its new value from its value and its channel's parameters."""
    parameters = batch_norm_parameters(spec, weights, seed)
    scale = 1.0 / np.sqrt(parameters["running_var"] + spec.eps)
    shift = -parameters["running_mean"] * scale
    if spec.affine:
        scale, shift = scale * parameters["weight"], shift * parameters["weight"] + parameters["bias"]

    def normalise(values, channels):
        return values * scale[channels] + shift[channels]

    return elementwise_plan(spec, input_values(spec, input, seed), normalise, parameters, order)


AFFINE = Field("affine", "bool", "Affine", "Scale and shift each channel by learned weight and bias", True)


def _settings(spec):
    if not isinstance(spec, BatchNorm2d) or spec.eps != DEFAULT_EPS:     # the panel keeps PyTorch's eps
        return None
    return {**fields.shape_settings(spec), "affine": spec.affine}


BATCH_NORM_FORM = Form(
    "batch_norm2d", "Batch Norm", "nn.BatchNorm2d in eval mode: each channel normalised by its running mean and "
    "variance, then scaled and shifted", fields.SHAPE_2D + (AFFINE,),
    build=lambda get: BatchNorm2d(get("in_channels"), get("height"), get("width"), affine=get("affine")),
    settings=_settings)

OPERATIONS = (Operation("batch_norm2d", BatchNorm2d, plan_batch_norm2d),)
FORMS = (BATCH_NORM_FORM,)
