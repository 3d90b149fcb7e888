"""scripts/colour_check.py without Blender: CIEDE2000 against Sharma et al., sRGB -> Lab, the reference
colours, and the palette's shuffle families."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from animatedai_addon.engine import palette

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "colour_check.py"
spec = importlib.util.spec_from_file_location("colour_check", SCRIPT)
colour_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(colour_check)

#: Pair 14 of Sharma et al.'s table sits exactly on the |dh'| = 180 degree discontinuity of the formula
#: (a* = -0.0010 against +0.0010, mirror images): which side the mean hue falls on is decided by float
#: rounding, and the table lists both sides (4.8045 for pairs 13-14, 4.7461 for 15-16).
ON_THE_DISCONTINUITY = 13


def test_ciede2000_matches_sharma_et_al():
    pairs = colour_check.SHARMA_PAIRS
    lab1 = np.array([p[0] for p in pairs])
    lab2 = np.array([p[1] for p in pairs])
    want = np.array([p[2] for p in pairs])
    got = colour_check.ciede2000(lab1, lab2)
    error = np.abs(got - want)
    assert np.delete(error, ON_THE_DISCONTINUITY).max() < 1e-4
    assert got[ON_THE_DISCONTINUITY] == pytest.approx(4.7461, abs=1e-4) or \
        got[ON_THE_DISCONTINUITY] == pytest.approx(4.8045, abs=1e-4)
    assert np.allclose(colour_check.ciede2000(lab2, lab1), got)          # symmetric
    assert colour_check.ciede2000(lab1, lab1).max() == 0.0


def test_srgb_to_lab_known_values():
    lab = colour_check.srgb8_to_lab([[255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]])
    assert np.allclose(lab[0], [100, 0, 0], atol=0.01)
    assert np.allclose(lab[1], [53.24, 80.09, 67.20], atol=0.05)
    assert np.allclose(lab[2], [87.73, -86.18, 83.18], atol=0.05)
    assert np.allclose(lab[3], [32.30, 79.19, -107.86], atol=0.05)
    assert np.allclose(lab[4, 1:], 0, atol=0.01)                         # greys have no chroma


@pytest.mark.skipif(not (colour_check.REFERENCE_DIR / colour_check.CONV_FRAME).is_file(),
                    reason="the Animated AI reference frames are not on this machine")
def test_reference_colours_are_what_the_frames_show():
    assert colour_check.measure_reference() == colour_check.REFERENCE_SRGB


def test_reference_colours_are_saturated_primaries():
    """The measured targets themselves: a deep teal input, a red first filter, and shuffle families whose
    darkest shade is a colour, not black (the old palette's darkest shade read as black)."""
    ref = colour_check.REFERENCE_SRGB
    r, g, b = ref["input"]
    assert g > 3 * r and b > 3 * r
    r, g, b = ref["filter0"]
    assert r > 5 * max(g, b)
    for family in range(3):
        darkest = colour_check.srgb8_to_lab(ref[colour_check.family_key(family, 3)])
        assert darkest[0] > 20 and np.hypot(*darkest[1:]) > 30


def test_family_colors_keep_their_shape():
    four = palette.family_colors(3, 4)
    assert four.shape == (3, 4, 4)
    expected = palette.srgb_to_linear(np.asarray(palette.FAMILY_SRGB, float) / 255.0)
    assert np.allclose(four[..., :3], expected, atol=1e-6)
    nine = palette.family_colors(5, 9)                         # 3x3 shuffles: nine shades along the same curve
    assert np.allclose(nine[:3, 0, :3], four[:, 0, :3]) and np.allclose(nine[:3, -1, :3], four[:, -1, :3])
    lightness = colour_check.srgb8_to_lab(colour_check.linear_to_srgb8(nine[..., :3]))[..., 0]
    assert (np.diff(lightness, axis=1) < 0).all()             # shade 0 the lightest, then darker and darker
    assert lightness.min() > 15                                # the darkest shade is not black


def test_input_and_filters_are_the_reference_hues():
    """Base colours before lighting: the hue of each role is the hue the reference shows (CIEDE2000 of
    the hue alone is not defined, so the check is on the CIELAB hue angle)."""
    def hue(srgb):
        lab = colour_check.srgb8_to_lab(srgb)
        return np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360
    filters = colour_check.linear_to_srgb8(palette.filter_colors(8)[:, :3])
    want = np.array([colour_check.REFERENCE_SRGB[f"filter{i}"] for i in range(8)])
    gap = np.abs((hue(filters) - hue(want) + 180) % 360 - 180)
    assert gap.max() < 12
    ours = colour_check.linear_to_srgb8(np.asarray(palette.input_color()[:3]))
    assert abs((hue(ours) - hue(colour_check.REFERENCE_SRGB["input"]) + 180) % 360 - 180) < 8


def test_retuning_moves_a_base_colour_towards_the_reference():
    base = (150, 20, 20)
    assert colour_check.corrected_base(base, (120, 30, 30), (120, 30, 30)) == base      # already there
    lighter = colour_check.corrected_base(base, (160, 30, 30), (120, 30, 30))            # rendered too dark
    assert lighter[0] > base[0] and lighter[1:] == base[1:]
    assert max(colour_check.corrected_base((250, 250, 250), (255, 255, 255), (10, 10, 10))) == 255   # clipped
