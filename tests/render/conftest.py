"""Render tests: real Blender, tiny frames (96x54 or smaller, few samples, one Eevee frame in all)."""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def empty_blender():
    """Every test starts from the same empty file."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield


def read_png(path) -> np.ndarray:
    """(H, W, 3) uint8."""
    from PIL import Image
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def is_blank(pixels: np.ndarray) -> bool:
    """One flat colour (or nearly): nothing was drawn."""
    return float(pixels.reshape(-1, 3).std(axis=0).max()) < 2.0


def srgb_hue(rgba_linear) -> tuple[float, float]:
    """(hue in degrees, saturation) of a linear colour as it shows on screen."""
    rgb = np.clip(np.asarray(rgba_linear, float)[:3], 0.0, 1.0)
    srgb = np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * rgb ** (1 / 2.4) - 0.055)
    h, _, s = colorsys.rgb_to_hls(*srgb)
    return 360.0 * h, s


def pixel_hues(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel (hue in degrees, saturation, value), vectorised HSV."""
    rgb = pixels.reshape(-1, 3).astype(float) / 255.0
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    chroma = high - low
    safe = np.where(chroma > 0, chroma, 1.0)
    r, g, b = rgb.T
    hue = np.select([high == r, high == g], [((g - b) / safe) % 6, (b - r) / safe + 2], (r - g) / safe + 4) * 60.0
    saturation = np.where(high > 0, chroma / np.where(high > 0, high, 1.0), 0.0)
    return hue, saturation, high


def hue_distance(a, b):
    d = np.abs(np.asarray(a) - np.asarray(b)) % 360.0
    return np.minimum(d, 360.0 - d)
