"""Image input read by Blender's own image loader (Blender's Python has no Pillow).

The image is loaded as a temporary data-block, scaled to the input's width and height by
Blender, its pixels read with one ``foreach_get``, and removed again; the values then go
through the same conversion as the engine's Pillow reader (``engine.values.image_to_input``).
"""

from __future__ import annotations

import os

import bpy
import numpy as np

from ..engine.errors import SpecError
from ..engine.values import check_image_size, image_to_input


def is_image_path(path) -> bool:
    return isinstance(path, (str, os.PathLike)) and os.path.splitext(str(path))[1].lower() in bpy.path.extensions_image


def read_image(path, shape) -> np.ndarray:
    """The (C, H, W) input for ``shape`` from an image file, values 0..1 as stored (no colour management)."""
    c, h, w = shape
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SpecError("input", path, "an existing image file")
    check_image_size(path)                                  # before any pixel is decoded
    try:
        image = bpy.data.images.load(path, check_existing=False)
    except RuntimeError as exc:
        raise SpecError("input", path, "an image file Blender can read", str(exc)) from None
    try:
        size = tuple(image.size)
        if size[0] * size[1] == 0:
            raise SpecError("input", path, "an image file Blender can read", "it has no pixels")
        check_image_size(path, size)
        image.scale(w, h)
        rgba = np.empty(w * h * 4, np.float32)
        image.pixels.foreach_get(rgba)
    finally:
        bpy.data.images.remove(image)
    rgb = rgba.reshape(h, w, 4)[::-1, :, :3]               # Blender's first row is the bottom one
    return image_to_input(rgb, c)
