"""The colour maths of scripts/refmeasure.py (CIEDE2000 against Sharma et al.'s published pairs, sRGB -> CIELAB)
and scripts/colour_check.py without Blender: the reference colours, retuning, the palette's shuffle families."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from animatedai_addon.engine import palette

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import refmeasure  # noqa: E402

spec = importlib.util.spec_from_file_location("colour_check", SCRIPTS / "colour_check.py")
colour_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(colour_check)

# (L1, a1, b1), (L2, a2, b2), ΔE00: Sharma, Wu & Dalal (2005), Table 1, all 34 pairs
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_matches_sharma_table():
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    expected = np.array([p[2] for p in SHARMA])
    got = refmeasure.ciede2000(lab1, lab2)
    assert len(SHARMA) == 34
    np.testing.assert_allclose(got, expected, atol=5e-5)        # the table has 4 decimals
    np.testing.assert_allclose(refmeasure.ciede2000(lab2, lab1), got, atol=1e-12)   # symmetric
    assert refmeasure.ciede2000([50, 10, -20], [50, 10, -20]) == 0.0


def test_ciede2000_is_not_euclidean():
    """A negative control: CIE76 (plain Lab distance) fails the same table, so the test can tell them apart."""
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    expected = np.array([p[2] for p in SHARMA])
    assert np.abs(np.linalg.norm(lab1 - lab2, axis=1) - expected).max() > 1.0


def test_srgb_to_lab_primaries():
    np.testing.assert_allclose(refmeasure.srgb_to_lab([255, 255, 255]), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(refmeasure.srgb_to_lab([255, 0, 0]), [53.24, 80.09, 67.20], atol=0.05)
    np.testing.assert_allclose(refmeasure.srgb_to_lab([0, 255, 0]), [87.73, -86.18, 83.18], atol=0.05)
    np.testing.assert_allclose(refmeasure.srgb_to_lab([0, 0, 255]), [32.30, 79.19, -107.86], atol=0.05)
    np.testing.assert_allclose(refmeasure.srgb_to_lab([128, 128, 128])[1:], 0, atol=0.01)   # greys have no chroma
    assert refmeasure.delta_e_srgb([10, 120, 130], [10, 120, 130]) == 0.0
    assert refmeasure.delta_e_srgb([10, 120, 130], None) is None


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
        darkest = refmeasure.srgb_to_lab(ref[colour_check.family_key(family, 3)])
        assert darkest[0] > 20 and np.hypot(*darkest[1:]) > 30


def test_family_colors_keep_their_shape():
    four = palette.family_colors(3, 4)
    assert four.shape == (3, 4, 4)
    expected = palette.srgb_to_linear(np.asarray(palette.FAMILY_SRGB, float) / 255.0)
    assert np.allclose(four[..., :3], expected, atol=1e-6)
    nine = palette.family_colors(5, 9)                         # 3x3 shuffles: nine shades along the same curve
    assert np.allclose(nine[:3, 0, :3], four[:, 0, :3]) and np.allclose(nine[:3, -1, :3], four[:, -1, :3])
    lightness = refmeasure.srgb_to_lab(255 * refmeasure.linear_to_srgb(nine[..., :3]))[..., 0]
    assert (np.diff(lightness, axis=1) < 0).all()             # shade 0 the lightest, then darker and darker
    assert lightness.min() > 15                                # the darkest shade is not black


def test_input_and_filters_are_the_reference_hues():
    """Base colours before lighting: the hue of each role is the hue the reference shows (CIEDE2000 of
    the hue alone is not defined, so the check is on the CIELAB hue angle)."""
    def hue(srgb):
        lab = refmeasure.srgb_to_lab(srgb)
        return np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360
    filters = 255 * refmeasure.linear_to_srgb(palette.filter_colors(8)[:, :3])
    want = np.array([colour_check.REFERENCE_SRGB[f"filter{i}"] for i in range(8)])
    gap = np.abs((hue(filters) - hue(want) + 180) % 360 - 180)
    assert gap.max() < 12
    ours = 255 * refmeasure.linear_to_srgb(np.asarray(palette.input_color()[:3]))
    assert abs((hue(ours) - hue(colour_check.REFERENCE_SRGB["input"]) + 180) % 360 - 180) < 8


def test_retuning_moves_a_base_colour_towards_the_reference():
    base = (150, 20, 20)
    assert colour_check.corrected_base(base, (120, 30, 30), (120, 30, 30)) == base      # already there
    lighter = colour_check.corrected_base(base, (160, 30, 30), (120, 30, 30))            # rendered too dark
    assert lighter[0] > base[0] and lighter[1:] == base[1:]
    assert max(colour_check.corrected_base((250, 250, 250), (255, 255, 255), (10, 10, 10))) == 255   # clipped
