"""Make a rendered GIF small enough for a README: hold still pixels still, one palette, optional frame step.

    python scripts/compact_gif.py IN.gif OUT.gif [--threshold 6] [--colors 128] [--step 1]

Path-traced frames at few samples differ everywhere by a little noise, so a GIF encoder can crop nothing
and every frame is stored whole. A pixel whose change from the previous shown frame stays under
``--threshold`` (0-255, largest channel difference) keeps its previous value: cubes that pop in, light up
or travel change far more than that, the floor's noise far less. ``--step 2`` keeps every second frame
(each shown twice as long, so the clip keeps its length).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from PIL import Image, ImageSequence


def read_frames(path: str) -> tuple[list[np.ndarray], list[int]]:
    with Image.open(path) as gif:
        frames, durations = [], []
        for frame in ImageSequence.Iterator(gif):
            frames.append(np.asarray(frame.convert("RGB"), dtype=np.int16))
            durations.append(int(frame.info.get("duration", 100)))
    return frames, durations


def hold_still_pixels(frames: list[np.ndarray], threshold: int) -> list[np.ndarray]:
    held = [frames[0]]
    for frame in frames[1:]:
        moved = np.abs(frame - held[-1]).max(axis=2, keepdims=True) > threshold
        held.append(np.where(moved, frame, held[-1]))
    return held


def every_nth(frames: list, durations: list[int], step: int) -> tuple[list, list[int]]:
    kept = frames[::step]
    spans = [sum(durations[i:i + step]) for i in range(0, len(durations), step)]
    return kept, spans


def write_gif(frames: list[np.ndarray], durations: list[int], path: str, colors: int) -> None:
    images = [Image.fromarray(f.astype(np.uint8)) for f in frames]
    # one palette for every frame, from a strip of sample frames, no dithering (flat colours stay flat)
    sample = np.concatenate([f for f in frames[:: max(1, len(frames) // 8)]], axis=0).astype(np.uint8)
    palette = Image.fromarray(sample).quantize(colors=colors, method=Image.Quantize.MEDIANCUT,
                                               dither=Image.Dither.NONE)
    indexed = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    indexed[0].save(path, save_all=True, append_images=indexed[1:], duration=durations, loop=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="compact_gif.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--threshold", type=int, default=6, help="0-255 (default 6)")
    parser.add_argument("--colors", type=int, default=128, help="palette size, 2-256 (default 128)")
    parser.add_argument("--step", type=int, default=1, help="keep every Nth frame (default 1: all)")
    args = parser.parse_args(argv)
    if not 0 <= args.threshold <= 255 or not 2 <= args.colors <= 256 or args.step < 1:
        parser.error("--threshold must be 0-255, --colors 2-256 and --step at least 1")
    frames, durations = read_frames(args.source)
    frames, durations = every_nth(hold_still_pixels(frames, args.threshold), durations, args.step)
    write_gif(frames, durations, args.target, args.colors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
