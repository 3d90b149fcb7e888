"""Colours: filter hues, shuffle colour families, highlights. Linear RGBA (what Blender stores).

The hues follow the Animated AI frames: filters red, gold, green, teal, blue,
violet, purple, magenta, then further hues around the HSV circle; the input of a
basic convolution is one teal; padding is a translucent grey; pixel shuffles
colour their channels in families (red, green, blue, then more) of r*r shades.
"""

from __future__ import annotations

import colorsys

import numpy as np

from .values import value_shade

#: sRGB 0..255 of the first eight filters, read off the reference frames.
FILTER_SRGB = (
    (200, 22, 22),     # red
    (196, 150, 34),    # gold
    (52, 168, 40),     # green
    (28, 156, 160),    # teal
    (48, 70, 220),     # blue
    (118, 64, 222),    # violet
    (150, 44, 200),    # purple
    (206, 40, 150),    # magenta
)
#: Hues (0..1) of the shuffle colour families: red, green, blue, then gold, teal, violet, ...
FAMILY_HUES = (0.0, 1 / 3, 2 / 3, 0.12, 0.5, 0.78, 0.9, 0.06)

PADDING_COLOR = (0.32, 0.32, 0.34, 0.35)      # translucent grey
WINDOW_COLOR = (1.0, 1.0, 1.0, 1.0)           # the white wire box on the input
OUTLINE_COLOR = (0.02, 0.02, 0.02, 1.0)       # the dark wire box where the output appears
#: How far value shading may darken a cell (the smallest value keeps this much brightness).
VALUE_FLOOR = 0.2


def srgb_to_linear(srgb) -> np.ndarray:
    """sRGB components in 0..1 -> linear (the IEC 61966-2-1 curve)."""
    c = np.asarray(srgb, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _rgba(rgb_linear) -> np.ndarray:
    rgb = np.asarray(rgb_linear, np.float64).reshape(-1, 3)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1).astype(np.float32)


def _hsv_srgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    return colorsys.hsv_to_rgb(h % 1.0, s, v)


def filter_colors(count: int) -> np.ndarray:
    """(count, 4) linear RGBA: the eight reference hues, then more hues by the golden angle."""
    srgb = [tuple(c / 255 for c in rgb) for rgb in FILTER_SRGB[:count]]
    for k in range(len(srgb), count):
        hue = 0.03 + (k - len(FILTER_SRGB)) * 0.618034
        srgb.append(_hsv_srgb(hue, 0.78, 0.85))
    if count == 0:
        return np.zeros((0, 4), np.float32)
    return _rgba(srgb_to_linear(srgb))


def family_hue(family: int) -> float:
    if family < len(FAMILY_HUES):
        return FAMILY_HUES[family]
    return (0.21 + family * 0.618034) % 1.0


def family_colors(families: int, shades: int) -> np.ndarray:
    """(families, shades, 4) linear RGBA: shade 0 is the lightest, the last the darkest of the family."""
    out = np.zeros((families, shades, 4), np.float32)
    for f in range(families):
        hue = family_hue(f)
        for s in range(shades):
            t = s / (shades - 1) if shades > 1 else 0.5
            saturation = 0.35 + 0.6 * t          # light shades are paler,
            value = 1.0 - 0.55 * t               # dark ones deeper
            out[f, s] = _rgba(srgb_to_linear(_hsv_srgb(hue, saturation, value)))[0]
    return out


def highlight(color, gain: float) -> np.ndarray:
    """A brighter version of the same colour: RGB times ``gain`` (clamped to 1), then lifted towards
    white by ``(gain - 1) / 10`` (linear RGB: a little goes a long way once shown in sRGB), so even
    saturated colours visibly light up while keeping their hue — a lit red filter stays red, not pink. Alpha is kept; ``gain`` 1 returns the colour unchanged."""
    rgba = np.asarray(color, np.float32)
    lifted = np.clip(rgba[..., :3] * np.float32(gain), 0.0, 1.0)
    toward_white = np.float32(min(max((gain - 1.0) * 0.1, 0.0), 1.0))
    lifted = lifted + (1.0 - lifted) * toward_white
    return np.concatenate([lifted, rgba[..., 3:]], axis=-1).astype(np.float32)


def shade_by_value(colors, values, amount: float) -> np.ndarray:
    """Colours whose brightness follows ``values`` by ``amount`` (0: unchanged, 1: fully)."""
    colors = np.asarray(colors, np.float32)
    if amount <= 0 or colors.size == 0:
        return colors.copy()
    shade = value_shade(values).reshape(-1, 1)
    factor = (1.0 - amount) + amount * (VALUE_FLOOR + (1.0 - VALUE_FLOOR) * shade)
    out = colors.copy()
    out[:, :3] *= factor.astype(np.float32)
    return out
