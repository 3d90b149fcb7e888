"""Input values: seeded random, a ``.npy`` array or an image; values -> shades.

Pillow is imported only when an image is read, so the engine's one runtime
dependency stays numpy.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from .errors import SpecError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Largest image (width x height) read as an input: a 24-megapixel photo fits; refused before its pixels are
#: decoded (from the header where the format gives it).
MAX_IMAGE_PIXELS = 25_000_000
#: Largest magnitude of an input or weight value: the timeline keeps values as float32.
MAX_VALUE = float(np.finfo(np.float32).max)
#: .npy element kinds read as numbers: bool, signed and unsigned integers, floats (not complex, dates, objects).
NPY_KINDS = "biuf"
#: Rec. 709 luma weights, for one-channel inputs made from colour images.
LUMA = np.array([0.2126, 0.7152, 0.0722])


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < 2**63:
        raise SpecError("seed", seed, "an integer from 0 to 2**63 - 1")
    return int(seed)


#: Axis names of a tensor by its rank, in PyTorch's order.
AXIS_NAMES = {1: "(C)", 2: "(C, L)", 3: "(C, H, W)", 4: "(C, D, H, W) or (N, C, H, W)",
              5: "(N, C, D, H, W)"}


def _check_shape(shape) -> tuple[int, ...]:
    ok = (isinstance(shape, (tuple, list)) and len(shape) in AXIS_NAMES
          and all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in shape))
    if not ok:
        raise SpecError("shape", shape, "one to five positive integers ([N,] C, *spatial)")
    return tuple(int(n) for n in shape)


def _expected(shape: tuple[int, ...]) -> str:
    return f"shape {AXIS_NAMES[len(shape)]} = {shape}"


def make_input(shape, source=None, seed: int = 0) -> np.ndarray:
    """The input tensor, float64 of ``shape`` (C, *spatial): (C, H, W) for 2-D operations.

    ``source``: None (seeded random values in [-1, 1]), an array, or a path to a
    ``.npy`` file or an image (resized to W x H, values 0..1; C=1 is luminance,
    C=3 is RGB, other channel counts cycle R, G, B).
    """
    shape = _check_shape(shape)
    if source is None:
        rng = np.random.default_rng([check_seed(seed), 1])   # a stream apart from the weights' default_rng(seed)
        return rng.uniform(-1.0, 1.0, size=shape)
    if isinstance(source, (str, os.PathLike)):
        return _read_file(shape, Path(source))
    return _check_array("input", source, shape, "an array of " + _expected(shape))


def _check_array(name: str, values, shape: tuple, allowed: str) -> np.ndarray:
    """A finite float64 copy of ``values``, which must have ``shape``."""
    if isinstance(values, (str, bytes, dict)) or values is None:
        raise SpecError(name, values, allowed)
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise SpecError(name, values, allowed) from None
    if array.shape != tuple(shape):
        raise SpecError(name, f"array of shape {array.shape}", allowed)
    if not np.all(np.isfinite(array)):
        raise SpecError(name, "array with NaN or inf", "finite values: " + allowed)
    if array.size and np.abs(array).max() > MAX_VALUE:
        raise SpecError(name, f"array with values up to {np.abs(array).max():.3g}",
                        f"values within float32's range (|v| <= {MAX_VALUE:.3g}): " + allowed)
    return array


def check_finite_output(output: np.ndarray) -> np.ndarray:
    """``output`` when every value is finite and within float32's range (what the timeline keeps), else
    SpecError naming the input: its values (or the weights') are too large for this operation."""
    if output.size and not (np.all(np.isfinite(output)) and np.abs(output).max() <= MAX_VALUE):
        raise SpecError("input", "values whose output overflows",
                        f"input and weight values small enough that every output stays finite and within "
                        f"float32's range (|v| <= {MAX_VALUE:.3g})")
    return output


def _read_file(shape: tuple[int, int, int], path: Path) -> np.ndarray:
    if not path.is_file():
        raise SpecError("input", str(path), "an existing .npy or image file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _read_npy(shape, path)
    if suffix in IMAGE_SUFFIXES:
        return _read_image(shape, path)
    raise SpecError("input", str(path), "a .npy file or an image (" + ", ".join(IMAGE_SUFFIXES) + ")")


def _read_npy(shape: tuple[int, int, int], path: Path) -> np.ndarray:
    """A .npy file, its header checked first: the shape must be ``shape`` and the dtype a real number
    type, so a header that claims a huge array (or a truncated file) is refused before anything is loaded."""
    allowed = "a .npy array of " + _expected(shape)
    fmt = np.lib.format
    try:
        with open(path, "rb") as handle:
            version = fmt.read_magic(handle)
            if version == (1, 0):
                header_shape, fortran, dtype = fmt.read_array_header_1_0(handle)
            elif version == (2, 0):
                header_shape, fortran, dtype = fmt.read_array_header_2_0(handle)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            if tuple(header_shape) != shape:
                raise SpecError("input", str(path), allowed, f"the file holds shape {tuple(header_shape)}")
            if dtype.hasobject or dtype.kind not in NPY_KINDS:
                raise SpecError("input", str(path), allowed + " of real numbers (bool, int or float)",
                                f"the file holds dtype {dtype}")
            offset = handle.tell()
        expected = offset + int(np.prod(shape)) * dtype.itemsize
        if path.stat().st_size < expected:
            raise ValueError(f"the file is truncated: {path.stat().st_size} bytes, {expected} needed")
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError("input", str(path), allowed, str(exc) or type(exc).__name__) from None
    return _check_array("input", loaded, shape, allowed)


def _read_image(shape: tuple[int, int, int], path: Path) -> np.ndarray:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:   # Blender's own Python ships without Pillow
        raise SpecError("input", str(path), "a .npy file here: reading an image needs Pillow "
                        "(pip install pillow into Blender's Python)") from None

    import warnings

    if len(shape) != 3:
        raise SpecError("input", str(path), f"a .npy file: an image has rows and columns, this input is "
                        f"{AXIS_NAMES[len(shape)]} = {shape}")
    c, h, w = shape
    check_image_size(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:       # reads the header only
                check_image_size(path, image.size)
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise SpecError("input", str(path), f"an image of at most {MAX_IMAGE_PIXELS:,} pixels",
                                    f"it has {image.width}x{image.height}")
                rgb = image.convert("RGB").resize((w, h), Image.Resampling.BILINEAR)
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError("input", str(path), "a readable image file", str(exc)) from None
    return image_to_input(np.asarray(rgb, dtype=np.float64) / 255.0, c)


def image_to_input(rgb, channels: int) -> np.ndarray:
    """(C, H, W) input values from (H, W, 3) RGB in 0..1, top row first: C=1 is luminance, C=3 is RGB,
    other channel counts cycle R, G, B."""
    pixels = np.asarray(rgb, np.float64)
    if channels == 1:
        return (pixels @ LUMA)[None, :, :]
    return np.ascontiguousarray(pixels[:, :, np.arange(channels) % 3].transpose(2, 0, 1))


def check_image_size(path, size=None) -> None:
    """SpecError when an image has more than MAX_IMAGE_PIXELS; ``size`` (width, height) if known, else read
    from the file's header (PNG, JPEG, BMP, GIF; other formats pass until their size is known)."""
    size = image_header_size(path) if size is None else size
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise SpecError("input", str(path), f"an image of at most {MAX_IMAGE_PIXELS:,} pixels",
                        f"this one is {size[0]} x {size[1]}: scale it down first")


def image_header_size(path) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, BMP or GIF file; None for other or unreadable files."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(32)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
            if head[:2] == b"BM" and len(head) >= 26:
                return int.from_bytes(head[18:22], "little"), abs(int.from_bytes(head[22:26], "little", signed=True))
            if head[:2] == b"\xff\xd8":
                return _jpeg_size(handle)
    except OSError:
        return None
    return None


def _jpeg_size(handle) -> tuple[int, int] | None:
    """Walk a JPEG's segments to its frame header (SOF0..SOF15 but DHT, JPG, DAC)."""
    handle.seek(2)
    while True:
        marker = handle.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
            continue
        length = handle.read(2)
        if len(length) < 2:
            return None
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
            frame = handle.read(5)
            return (int.from_bytes(frame[3:5], "big"), int.from_bytes(frame[1:3], "big")) if len(frame) == 5 else None
        handle.seek(int.from_bytes(length, "big") - 2, 1)


def value_shade(values) -> np.ndarray:
    """Brightness in [0, 1] for each value: min-max over the whole tensor; a constant tensor is 0.5."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.full(values.shape, 0.5, np.float32)
    low, high = values[finite].min(), values[finite].max()
    if high - low <= 0:
        return np.full(values.shape, 0.5, np.float32)
    shade = (np.clip(np.where(finite, values, low), low, high) - low) / (high - low)
    return shade.astype(np.float32)
