"""Colours: filter hues, shuffle colour families, highlights. Linear RGBA (what Blender stores).

The hues follow the Animated AI frames: filters red, gold, yellow-green, green,
teal, blue, violet, magenta, then further hues around the HSV circle; the input of a
basic convolution is one teal; padding is a translucent grey; pixel shuffles
colour their channels in families (red, green, blue, then more) of r*r shades.
"""

from __future__ import annotations

import colorsys

import numpy as np

from .values import value_shade

#: sRGB 0..255 of the first eight filters' base colours: red, gold, yellow-green, green, teal, blue,
#: violet, magenta, the hues of the reference frames. Tuned (scripts/colour_check.py) so that the lit
#: top faces render within CIEDE2000 5 of the reference's in the studio template (Cycles).
FILTER_SRGB = (
    (158, 1, 0),       # red
    (127, 99, 0),      # gold
    (47, 128, 0),      # yellow-green
    (0, 139, 1),       # green
    (2, 126, 133),     # teal
    (73, 93, 194),     # blue
    (117, 44, 200),    # violet
    (164, 1, 141),     # magenta
)
#: sRGB 0..255 of the input of a basic convolution (one teal), tuned like the filters.
INPUT_SRGB = (0, 131, 137)
#: Base colours of the pixel-shuffle colour families, sRGB 0..255, lightest shade first: red, green
#: and blue families of four shades, tuned so that the lit top faces render like the reference's in
#: the flat template. Other shade counts are read off the same curve; further families turn the red
#: family's curve to other hues.
FAMILY_SRGB = (
    ((255, 165, 165), (255, 27, 27), (196, 5, 5), (118, 3, 3)),   # red
    ((3, 255, 3), (3, 198, 2), (2, 141, 2), (2, 84, 2)),   # green
    ((187, 187, 255), (131, 131, 255), (59, 59, 255), (1, 1, 176)),   # blue
)
#: Hues (0..1) of the shuffle colour families: red, green, blue, then gold, teal, violet, ...
FAMILY_HUES = (0.0, 1 / 3, 2 / 3, 0.12, 0.5, 0.78, 0.9, 0.06)

PADDING_COLOR = (0.32, 0.32, 0.34, 0.35)      # translucent grey
WINDOW_COLOR = (0.7, 0.7, 0.72, 1.0)          # the light grey tubes of the window box on the input
OUTLINE_COLOR = (0.008, 0.008, 0.009, 1.0)    # the dark tubes of the box where the output appears
#: How far value shading may darken a cell (the smallest value keeps this much brightness).
VALUE_FLOOR = 0.2


def srgb_to_linear(srgb) -> np.ndarray:
    """sRGB components in 0..1 -> linear (the IEC 61966-2-1 curve)."""
    c = np.asarray(srgb, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _rgba(rgb_linear) -> np.ndarray:
    rgb = np.asarray(rgb_linear, np.float64).reshape(-1, 3)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1).astype(np.float32)


def input_color() -> tuple[float, float, float, float]:
    """Linear RGBA of the input of a basic convolution (``INPUT_SRGB``)."""
    # the shortest decimals of single precision: the value a Blender colour property gives back (the panel
    # round-trips presets exactly)
    return tuple(float(str(np.float32(v))) for v in _rgba(srgb_to_linear(np.asarray(INPUT_SRGB) / 255.0))[0])


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


def _family_curve(family: int) -> np.ndarray:
    """(4, 3) sRGB 0..1 of a family's reference shades, lightest first."""
    if family < len(FAMILY_SRGB):
        return np.asarray(FAMILY_SRGB[family], np.float64) / 255.0
    red = np.asarray(FAMILY_SRGB[0], np.float64) / 255.0
    hsv = [colorsys.rgb_to_hsv(*c) for c in red]
    return np.array([_hsv_srgb(family_hue(family), s, v) for _, s, v in hsv])


def family_colors(families: int, shades: int) -> np.ndarray:
    """(families, shades, 4) linear RGBA: shade 0 is the lightest, the last the darkest of the family.

    Four shades are the family's ``FAMILY_SRGB``; other counts are spread evenly along the same
    curve (interpolated in linear RGB) from its lightest to its darkest shade."""
    out = np.zeros((families, shades, 4), np.float32)
    for f in range(families):
        curve = srgb_to_linear(_family_curve(f))
        at = np.linspace(0.0, len(curve) - 1.0, shades) if shades > 1 else np.array([1.0])
        low = np.minimum(np.floor(at).astype(int), len(curve) - 2)
        frac = (at - low)[:, None]
        out[f] = _rgba(curve[low] * (1 - frac) + curve[low + 1] * frac)
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
