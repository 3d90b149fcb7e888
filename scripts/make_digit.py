"""Draw the bundled handwritten digit: a 28x28 "7" in MNIST's style, made of pen strokes in numpy.

    python scripts/make_digit.py      # writes animatedai_addon/presets/data/digit-7.npy and digit-7.png

No data set is downloaded: the strokes below are drawn here. Like an MNIST digit the figure sits in the middle
20x20 of the 28x28 frame, white (1) on black (0), its pen soft at the edges (anti-aliased) and a little uneven.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "animatedai_addon" / "presets" / "data"
SIZE = 28
#: Pen strokes as (x, y) points in pixels (x right, y down), each with the pen's radius at that point: the top
#: bar with a small lift at its left end, then the long stem bending a little as a hand draws it.
STROKES = [
    [(6.5, 7.5, 1.3), (11.0, 6.6, 1.6), (16.0, 6.2, 1.7), (20.5, 6.4, 1.6)],
    [(20.5, 6.4, 1.6), (18.6, 10.5, 1.7), (16.4, 14.8, 1.8), (14.6, 18.6, 1.7), (13.2, 22.0, 1.4)],
    [(11.5, 14.2, 1.0), (14.5, 14.0, 1.2), (18.0, 13.8, 1.1)],       # the crossbar some people draw
]


def _segment_distance(px, py, a, b):
    """Distance of every pixel centre to segment a-b, and where along it (0..1) the nearest point lies."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy)), t


def draw(strokes=STROKES, size: int = SIZE) -> np.ndarray:
    """(1, size, size) float64 in [0, 1]: each stroke's pen coverage (1 within its radius, fading over a
    pixel), the strokes combined by their maximum."""
    py, px = np.mgrid[0:size, 0:size] + 0.5
    ink = np.zeros((size, size))
    for stroke in strokes:
        for (ax, ay, ar), (bx, by, br) in zip(stroke[:-1], stroke[1:]):
            distance, t = _segment_distance(px, py, (ax, ay), (bx, by))
            radius = ar + t * (br - ar)
            ink = np.maximum(ink, np.clip(radius + 0.5 - distance, 0.0, 1.0))
    return ink[None]


def main() -> None:
    from PIL import Image
    digit = draw()
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "digit-7.npy", digit)
    Image.fromarray(np.round(digit[0] * 255).astype(np.uint8)).save(OUT / "digit-7.png")
    print(OUT / "digit-7.npy")


if __name__ == "__main__":
    main()
