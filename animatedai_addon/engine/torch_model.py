"""``from_torch``: a PyTorch model (``nn.Sequential`` of supported layers) as specs with its own weights.

torch stays optional: it is imported only inside :func:`from_torch`, and the table of converters is keyed by
the layer's class name in ``torch.nn`` (matched by exact type, so a subclass with its own ``forward`` is not
mistaken for the layer it extends). Supporting another layer is one entry in :data:`CONVERTERS`: a function
``(layer, shape, where) -> Stage`` that reads the layer's settings for an input of PyTorch shape ``shape``
(C, *spatial), raising SpecError naming ``where`` (e.g. ``layers[3]``) for a setting the engine cannot show.
Values are taken as the layer holds them, in eval mode's sense (a layer with running statistics uses them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import SpecError
from .graph import Chain
from .ops.activation import ReLU, ReLU6
from .ops.batch_norm import BatchNorm2d
from .ops.conv1d import Conv1d
from .ops.conv2d import Conv2d
from .ops.conv3d import Conv3d
from .ops.conv_transpose2d import ConvTranspose2d
from .ops.flatten import Flatten
from .ops.linear import Linear
from .ops.pixel_shuffle import PixelShuffle, PixelUnshuffle
from .ops.pool2d import AvgPool2d, MaxPool2d
from .values import AXIS_NAMES


@dataclass(frozen=True)
class Stage:
    """One converted layer: its spec, and its weights and bias in PyTorch's layout (float64) or None."""

    spec: object
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None


@dataclass(frozen=True)
class TorchModel:
    """A converted model: ``spec`` (one operation's spec, or a Chain), and the module's weights and bias as
    :func:`engine.plan` takes them (one entry per stage for a chain). ``plan()`` plans it with them."""

    spec: object
    weights: object = None
    bias: object = None
    layers: tuple[str, ...] = field(default=())      # where each stage came from: "layers[0]", "layers[2][1]"

    def plan(self, input=None, seed: int = 0, order: str = "filter"):
        from .planning import plan
        return plan(self.spec, input=input, weights=self.weights, seed=seed, order=order, bias=self.bias)


def _array(tensor) -> np.ndarray | None:
    return None if tensor is None else tensor.detach().cpu().to(dtype=_torch().float64).numpy().copy()


def _torch():
    import torch
    return torch


def _refuse(where: str, layer, setting: str, allowed: str):
    raise SpecError(where, f"{type(layer).__name__} with {setting}", allowed)


def _spatial(where: str, layer, shape, rank: int):
    if len(shape) != rank:
        raise SpecError(where, f"{type(layer).__name__} on a tensor of shape {tuple(shape)}",
                        f"a {AXIS_NAMES[rank]} input for {type(layer).__name__} "
                        f"(this layer gets {AXIS_NAMES.get(len(shape), shape)})")


def _in_channels(where: str, layer, shape) -> None:
    if layer.in_channels != shape[0]:
        raise SpecError(where, f"{type(layer).__name__}(in_channels={layer.in_channels}) on {shape[0]} channels",
                        f"in_channels={shape[0]}, the channels of the tensor reaching it {tuple(shape)}")


def _zero_padding(where: str, layer) -> None:
    if getattr(layer, "padding_mode", "zeros") != "zeros":
        _refuse(where, layer, f"padding_mode={layer.padding_mode!r}",
                "padding_mode='zeros' (the engine pads with zeros)")


def _padding(layer):
    """PyTorch's padding: its words as they are, no padding as 'valid' (the same clip, a plainer label)."""
    if isinstance(layer.padding, str):
        return layer.padding
    return "valid" if not any(layer.padding) else tuple(layer.padding)


def _conv2d(layer, shape, where):
    _spatial(where, layer, shape, 3)
    _zero_padding(where, layer)
    _in_channels(where, layer, shape)
    padding = _padding(layer)
    spec = Conv2d(*shape, layer.out_channels, tuple(layer.kernel_size), tuple(layer.stride), padding,
                  tuple(layer.dilation), layer.groups, layer.bias is not None)
    return Stage(spec, _array(layer.weight), _array(layer.bias))


def _conv1d(layer, shape, where):
    _spatial(where, layer, shape, 2)
    _zero_padding(where, layer)
    _in_channels(where, layer, shape)
    padding = _padding(layer)
    padding = padding if isinstance(padding, str) else padding[0]
    spec = Conv1d(*shape, layer.out_channels, layer.kernel_size[0], layer.stride[0], padding, layer.dilation[0],
                  layer.groups, layer.bias is not None)
    return Stage(spec, _array(layer.weight), _array(layer.bias))


def _conv_transpose2d(layer, shape, where):
    _spatial(where, layer, shape, 3)
    _zero_padding(where, layer)
    _in_channels(where, layer, shape)
    spec = ConvTranspose2d(*shape, layer.out_channels, tuple(layer.kernel_size), tuple(layer.stride),
                           tuple(layer.padding), tuple(layer.output_padding), tuple(layer.dilation), layer.groups,
                           layer.bias is not None)
    return Stage(spec, _array(layer.weight), _array(layer.bias))


def _pool_checks(where, layer, shape):
    _spatial(where, layer, shape, 3)
    if layer.ceil_mode:
        _refuse(where, layer, "ceil_mode=True", "ceil_mode=False (the engine's windows stay inside the padding)")


def _max_pool2d(layer, shape, where):
    _pool_checks(where, layer, shape)
    if layer.return_indices:
        _refuse(where, layer, "return_indices=True", "return_indices=False")
    return Stage(MaxPool2d(*shape, layer.kernel_size, layer.stride, layer.padding, layer.dilation))


def _avg_pool2d(layer, shape, where):
    _pool_checks(where, layer, shape)
    if layer.divisor_override is not None:
        _refuse(where, layer, f"divisor_override={layer.divisor_override}", "divisor_override=None")
    return Stage(AvgPool2d(*shape, layer.kernel_size, layer.stride, layer.padding, layer.count_include_pad))


def _pixel_shuffle(layer, shape, where):
    _spatial(where, layer, shape, 3)
    return Stage(PixelShuffle(*shape, layer.upscale_factor))


def _pixel_unshuffle(layer, shape, where):
    _spatial(where, layer, shape, 3)
    return Stage(PixelUnshuffle(*shape, layer.downscale_factor))


def _flatten(layer, shape, where):
    """``nn.Flatten`` counts a batch axis first: its dims 1.. are the engine's 0.. (negative dims are the same)."""
    _spatial(where, layer, shape, 3)
    start, end = (d - 1 if d > 0 else d for d in (layer.start_dim, layer.end_dim))
    if layer.start_dim == 0 or layer.end_dim == 0:
        _refuse(where, layer, f"start_dim={layer.start_dim}, end_dim={layer.end_dim}",
                "dims from 1 (dim 0 is the batch axis, which the engine does not flatten)")
    return Stage(Flatten(*shape, start, end))


def _linear(layer, shape, where):
    if len(shape) != 1:
        raise SpecError(where, f"Linear on a tensor of shape {tuple(shape)}",
                        "a (in_features,) vector: put an nn.Flatten() before the Linear")
    if shape[0] != layer.in_features:
        raise SpecError(where, f"Linear(in_features={layer.in_features}) on {shape[0]} features",
                        f"in_features={shape[0]}, the size of the tensor reaching it")
    spec = Linear(layer.in_features, layer.out_features, layer.bias is not None)
    return Stage(spec, _array(layer.weight), _array(layer.bias))


def _conv3d(layer, shape, where):
    _spatial(where, layer, shape, 4)
    _zero_padding(where, layer)
    _in_channels(where, layer, shape)
    spec = Conv3d(*shape, layer.out_channels, tuple(layer.kernel_size), tuple(layer.stride), _padding(layer),
                  tuple(layer.dilation), layer.groups, layer.bias is not None)
    return Stage(spec, _array(layer.weight), _array(layer.bias))


def _activation(kind):
    def convert(layer, shape, where):
        _spatial(where, layer, shape, 3)
        return Stage(kind(*shape))
    return convert


def _batch_norm2d(layer, shape, where):
    """Eval mode's normalisation by the running statistics (what ``module.eval()(x)`` computes)."""
    _spatial(where, layer, shape, 3)
    if layer.num_features != shape[0]:
        raise SpecError(where, f"BatchNorm2d({layer.num_features}) on {shape[0]} channels",
                        f"num_features={shape[0]}, the channels of the tensor reaching it {tuple(shape)}")
    if layer.running_mean is None or layer.running_var is None:
        _refuse(where, layer, "track_running_stats=False",
                "track_running_stats=True (eval mode normalises by the running statistics)")
    affine = layer.weight is not None
    parameters = {"running_mean": _array(layer.running_mean), "running_var": _array(layer.running_var)}
    if affine:
        parameters.update(weight=_array(layer.weight), bias=_array(layer.bias))
    return Stage(BatchNorm2d(*shape, eps=float(layer.eps), affine=affine), parameters)


#: Converters by the layer's class name in ``torch.nn`` (see the module notes).
CONVERTERS: dict[str, Callable] = {
    "Conv1d": _conv1d,
    "Conv2d": _conv2d,
    "ConvTranspose2d": _conv_transpose2d,
    "MaxPool2d": _max_pool2d,
    "AvgPool2d": _avg_pool2d,
    "PixelShuffle": _pixel_shuffle,
    "PixelUnshuffle": _pixel_unshuffle,
    "Flatten": _flatten,
    "Linear": _linear,
    "Conv3d": _conv3d,
    "ReLU": _activation(ReLU),
    "ReLU6": _activation(ReLU6),
    "BatchNorm2d": _batch_norm2d,
}


def _layers(module, where: str, nn):
    """(where, layer) for every leaf of nested ``nn.Sequential`` s, in order."""
    if type(module) is nn.Sequential:
        for i, child in enumerate(module):
            yield from _layers(child, f"{where}[{i}]", nn)
    else:
        yield where, module


def _converter(layer, where: str, nn) -> Callable:
    name = type(layer).__name__
    if getattr(nn, name, None) is type(layer) and name in CONVERTERS:
        return CONVERTERS[name]
    raise SpecError(where, f"{type(layer).__module__}.{type(layer).__qualname__}",
                    "a layer the engine can show: " + ", ".join(f"nn.{n}" for n in CONVERTERS)
                    + " (or an nn.Sequential of them)")


def _check_shape(input_shape) -> tuple[int, ...]:
    allowed = "PyTorch's shape of one sample, without the batch axis: (C, D, H, W), (C, H, W), (C, L) or (F,)"
    if not isinstance(input_shape, (tuple, list)) or not 1 <= len(input_shape) <= 4:
        raise SpecError("input_shape", input_shape, allowed)
    for n in input_shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise SpecError("input_shape", input_shape, allowed)
    return tuple(int(n) for n in input_shape)


def from_torch(module, input_shape) -> TorchModel:
    """The spec of ``module`` (an ``nn.Sequential``, nested ones included, or one supported layer) on an input of
    PyTorch shape ``input_shape`` (one sample: (C, H, W), (C, L) or (F,)), with its weights and biases (float64).

    ``TorchModel.plan()`` gives a plan whose output equals ``module(x)`` for ``x = plan.input``. A layer the
    engine cannot show is a SpecError naming it (``layers[3]``, nested ``layers[3][1]``) and its class."""
    try:
        torch = _torch()
    except ImportError:
        raise SpecError("module", module, "a torch.nn.Module, which needs PyTorch installed") from None
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise SpecError("module", module, "a torch.nn.Module: an nn.Sequential of "
                        + ", ".join(f"nn.{n}" for n in CONVERTERS))
    shape = _check_shape(input_shape)
    stages, places = [], []
    for where, layer in _layers(module, "layers", nn):
        converter = _converter(layer, where, nn)
        try:
            stage = converter(layer, shape, where)
        except SpecError as error:
            if error.parameter == where:
                raise
            raise SpecError(where, f"{type(layer).__name__}: {error.parameter}={error.value!r}",
                            error.allowed) from None
        stages.append(stage)
        places.append(where)
        shape = stage.spec.output_shape
    if not stages:
        raise SpecError("module", "an empty nn.Sequential", "at least one layer")
    if len(stages) == 1:
        only = stages[0]
        return TorchModel(only.spec, only.weights, only.bias, tuple(places))
    name = type(module).__name__ if type(module) is not nn.Sequential else ""
    return TorchModel(Chain(tuple(s.spec for s in stages), name=name), [s.weights for s in stages],
                      [s.bias for s in stages], tuple(places))
