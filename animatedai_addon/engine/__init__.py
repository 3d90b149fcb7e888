"""The numpy engine: specs, plans, timelines and layout. Never imports bpy."""

from .errors import SpecError
from .spec import (AvgPool2d, Chain, Conv2d, ConvTranspose2d, MaxPool2d, PixelShuffle, PixelUnshuffle, Spec,
                   depthwise, depthwise_separable, espcn, mobilenet_block, pointwise, shuffle_loop, spec_from_dict)

__all__ = [
    "SpecError", "Spec", "Conv2d", "ConvTranspose2d", "PixelShuffle", "PixelUnshuffle", "MaxPool2d", "AvgPool2d",
    "Chain", "depthwise", "pointwise", "depthwise_separable", "mobilenet_block", "espcn", "shuffle_loop",
    "spec_from_dict",
]
