"""scripts/compact_gif.py: smaller GIFs with the same frames' content and the same running time."""

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compact_gif.py"
spec = importlib.util.spec_from_file_location("compact_gif", SCRIPT)
compact_gif = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compact_gif)


def noisy_clip(tmp_path, count=12):
    rng = np.random.default_rng(0)
    frames = []
    for i in range(count):
        frame = np.full((40, 64, 3), 90, np.int16) + rng.integers(-3, 4, (40, 64, 3))   # render noise
        frame[10:20, 4 * i:4 * i + 8] = (220, 30, 30)                                    # a travelling cube
        frames.append(Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)))
    path = tmp_path / "noisy.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)
    return path


def red_columns(image):
    rgb = np.asarray(image.convert("RGB"), np.int16)
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 80)
    return np.flatnonzero(red.any(axis=0))


def test_compacting_keeps_motion_and_time_and_shrinks(tmp_path):
    source = noisy_clip(tmp_path)
    target = tmp_path / "small.gif"
    assert compact_gif.main([str(source), str(target), "--threshold", "8"]) == 0
    assert target.stat().st_size < source.stat().st_size
    with Image.open(target) as gif:
        assert gif.n_frames == 12 and gif.info["loop"] == 0
        for i in range(12):
            gif.seek(i)
            assert gif.info["duration"] == 80
            columns = red_columns(gif)
            assert columns.min() == 4 * i and columns.max() == 4 * i + 7   # the cube is where it was, no trail


def test_frame_step_keeps_the_running_time(tmp_path):
    target = tmp_path / "half.gif"
    compact_gif.main([str(noisy_clip(tmp_path)), str(target), "--step", "2"])
    with Image.open(target) as gif:
        total = 0
        for i in range(gif.n_frames):
            gif.seek(i)
            total += gif.info["duration"]
        assert gif.n_frames == 6 and total == 12 * 80
