"""Input values (random, .npy, image) and value shades."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine import values
from animatedai_addon.engine.values import check_image_size, image_header_size, make_input, value_shade

Image = pytest.importorskip("PIL.Image")


def test_random_input_is_seeded_and_in_range():
    a = make_input((3, 4, 5), seed=1)
    assert a.shape == (3, 4, 5) and a.dtype == np.float64
    assert np.array_equal(a, make_input((3, 4, 5), seed=1))
    assert not np.array_equal(a, make_input((3, 4, 5), seed=2))
    assert a.min() >= -1 and a.max() <= 1 and a.min() < -0.5 < 0.5 < a.max()


def test_array_input_is_copied_as_float64():
    source = np.arange(12, dtype=np.int16).reshape(1, 3, 4)
    values = make_input((1, 3, 4), source)
    assert values.dtype == np.float64 and np.array_equal(values, source)
    values[0, 0, 0] = 99
    assert source[0, 0, 0] == 0
    assert np.array_equal(make_input((1, 1, 2), [[[1, 2]]]), [[[1.0, 2.0]]])


def test_npy_input(tmp_path):
    path = tmp_path / "x.npy"
    data = np.random.default_rng(0).normal(size=(2, 3, 3))
    np.save(path, data)
    assert np.array_equal(make_input((2, 3, 3), path), data)
    assert np.array_equal(make_input((2, 3, 3), str(path)), data)
    with pytest.raises(SpecError) as info:
        make_input((2, 3, 4), path)
    assert info.value.parameter == "input"
    assert "a .npy array of shape (C, H, W) = (2, 3, 4)" in str(info.value)


def test_missing_and_unknown_files(tmp_path):
    for source in (tmp_path / "none.npy", str(tmp_path / "none.png")):
        with pytest.raises(SpecError) as info:
            make_input((1, 2, 2), source)
        assert info.value.parameter == "input"
    (tmp_path / "x.txt").write_text("1 2 3")
    with pytest.raises(SpecError):
        make_input((1, 2, 2), tmp_path / "x.txt")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(SpecError):
        make_input((1, 2, 2), tmp_path / "bad.png")


def write_image(path, pixels: np.ndarray):
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(path)


def test_image_channels(tmp_path):
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[..., 0] = 255          # red everywhere
    pixels[1, :, 2] = 51          # blue 0.2 in the bottom row
    path = tmp_path / "img.png"
    write_image(path, pixels)
    rgb = make_input((3, 2, 3), path)
    assert rgb.shape == (3, 2, 3)
    assert np.allclose(rgb[0], 1) and np.allclose(rgb[1], 0) and np.allclose(rgb[2], [[0] * 3, [0.2] * 3])
    gray = make_input((1, 2, 3), path)
    # Rec. 709 luma, Y = 0.2126 R + 0.7152 G + 0.0722 B, worked by hand: red 1 -> 0.2126; red 1, blue 0.2 -> 0.22704
    assert np.allclose(gray[0, 0], 0.2126) and np.allclose(gray[0, 1], 0.22704)
    five = make_input((5, 2, 3), path)
    assert np.array_equal(five[3], rgb[0]) and np.array_equal(five[4], rgb[1])


def test_one_channel_is_rec709_luma(tmp_path):
    path = tmp_path / "img.png"
    write_image(path, np.array([[[51, 102, 204], [255, 255, 255]]]))   # (0.2, 0.4, 0.8) and white
    gray = make_input((1, 1, 2), path)
    # 0.2126*0.2 + 0.7152*0.4 + 0.0722*0.8 = 0.38636; the weights sum to 1, so white stays 1
    np.testing.assert_allclose(gray, [[[0.38636, 1.0]]], atol=1e-9)


def test_image_is_resized(tmp_path):
    path = tmp_path / "img.jpg"
    write_image(path, np.full((20, 30, 3), 128, np.uint8))
    values = make_input((3, 4, 6), path)
    assert values.shape == (3, 4, 6)
    assert np.allclose(values, 128 / 255, atol=2 / 255)


def test_bad_shapes():
    for shape in ((), (1, 2, 2, 2, 2, 2), (0, 2, 2), (1, 2, 2.0), "1,2,2"):
        with pytest.raises(SpecError):
            make_input(shape)


def test_value_shade_min_max():
    shade = value_shade(np.array([[-2.0, 0.0], [2.0, 1.0]]))
    assert shade.dtype == np.float32
    assert np.allclose(shade, [[0, 0.5], [1, 0.75]])
    assert np.array_equal(value_shade(np.full((2, 3), 4.0)), np.full((2, 3), 0.5, np.float32))
    assert value_shade(np.zeros(0)).shape == (0,)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)),
              elements=st.floats(-1e6, 1e6, allow_nan=False)))
def test_value_shade_is_in_unit_range_and_keeps_order(values):
    shade = value_shade(values)
    assert shade.shape == values.shape and (shade >= 0).all() and (shade <= 1).all()
    order = np.argsort(values.ravel(), kind="stable")
    assert (np.diff(shade.ravel()[order]) >= 0).all()


@pytest.mark.parametrize("suffix", ["png", "jpg", "bmp", "gif"])
def test_image_size_is_read_from_the_header(tmp_path, suffix):
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / f"wide.{suffix}"
    Image.new("RGB", (301, 17)).save(path)
    assert image_header_size(path) == (301, 17)


def test_the_documented_pixel_limit():
    """README: images above 25 megapixels are refused (a 24-megapixel 6000 x 4000 photo fits)."""
    check_image_size("photo.jpg", (6000, 4000))
    check_image_size("square.png", (5000, 5000))
    with pytest.raises(SpecError) as caught:
        check_image_size("big.png", (5000, 5001))
    assert caught.value.parameter == "input" and "5000 x 5001" in str(caught.value)


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path, monkeypatch):
    pytest.importorskip("PIL.Image").new("RGB", (40, 30)).save(tmp_path / "img.png")
    monkeypatch.setattr(values, "MAX_IMAGE_PIXELS", 40 * 30 - 1)
    with pytest.raises(SpecError) as caught:
        make_input((3, 4, 4), source=tmp_path / "img.png")
    assert caught.value.parameter == "input" and "40 x 30" in str(caught.value)
    assert image_header_size(tmp_path / "missing.png") is None
