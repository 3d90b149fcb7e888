"""scripts/compare_reference.py and its measures (scripts/refmeasure.py).

The segmentation is checked against synthetic images whose answer is known, the whole script end to end on
one clip at 96x54 in Workbench. (The colour maths, CIEDE2000 and sRGB -> CIELAB, is checked without Blender
in tests/test_colour_check.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from .conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import refmeasure  # noqa: E402


def test_reference_segmentation_finds_a_saturated_block():
    """A grey gradient floor with a darker grey box outline and a teal block: the box is the block's."""
    h, w = 54, 96
    image = np.zeros((h, w, 3), np.uint8)
    image[...] = np.linspace(60, 140, h, dtype=np.uint8)[:, None, None]         # grey floor, no chroma
    image[5:45, 70:90] = (30, 30, 30)                                             # a dark wire box: not a cube
    image[10:31, 20:51] = (0, 150, 160)                                           # the cubes
    image[40, 5] = (255, 0, 0)                                                    # one stray pixel
    measured = refmeasure.measure_reference(image, {"input": (250, 150, 450, 250)})
    assert measured["box_px"] == [20, 10, 50, 30]
    assert measured["fill_w"] == pytest.approx(31 / 96)
    assert measured["fill_h"] == pytest.approx(21 / 54)
    assert measured["leaves_frame"] is False
    # the region is in 960x540 reference pixels: scaled by 0.1 it lies inside the block
    assert measured["colors"]["input"] == [0, 150, 160]
    assert measured["lum_p95"] == pytest.approx(float(refmeasure.relative_luminance([0, 150, 160])))


def test_timeline_figures_of_the_presets():
    """The figures follow their definitions on the engine's timeline, whatever the presets' pacing is."""
    import copy

    from animatedai_addon import engine

    def timeline(name):
        preset = engine.load_preset_file(name)
        return engine.build_timeline(engine.plan(preset.spec), preset.timing, preset.look)

    t = timeline("conv-3x3-stride2-valid")
    conv = refmeasure.timeline_figures(t)
    window = next(b for b in t.boxes if b.role == "window")
    keys = np.unique(window.key_frames.astype(float))
    assert conv["kind"] == "windowed"
    assert conv["first_step_start"] == keys[0]
    assert conv["first_step_frames"] == keys[1] - keys[0]
    assert conv["hold_frames"] == keys[0] - t.frame_start
    assert conv["frames"] == t.frame_end - t.frame_start + 1
    assert conv["hold_s"] == pytest.approx(conv["hold_frames"] / t.fps)
    # move the window's keys: the figures move with them
    later = copy.deepcopy(t)
    box = next(b for b in later.boxes if b.role == "window")
    box.key_frames = box.key_frames + np.where(box.key_frames > keys[0], 10.0, 0.0).astype(np.float32) + 5
    moved = refmeasure.timeline_figures(later)
    assert moved["hold_frames"] == conv["hold_frames"] + 5
    assert moved["first_step_frames"] == conv["first_step_frames"] + 10

    s = timeline("pixel-shuffle-2x2")
    shuffle = refmeasure.timeline_figures(s)
    starts = np.concatenate([tr.move_start for tr in s.tensors])
    ends = np.concatenate([tr.move_end for tr in s.tensors])
    assert shuffle["kind"] == "shuffle"
    assert shuffle["hold_frames"] == float(starts.min()) - s.frame_start
    assert shuffle["transform_frames"] == float(ends.max()) - float(starts.min())
    assert 0.0 < shuffle["in_flight_share"] <= 1.0
    # every cell's moves squeezed into one shared interval: at its middle all moved cells are in flight
    together = copy.deepcopy(s)
    for track in together.tensors:
        if len(track.move_cell):
            first = np.r_[True, track.move_cell[1:] != track.move_cell[:-1]]
            track.move_cell, track.move_to = track.move_cell[np.r_[first[1:], True]], \
                track.move_to[np.r_[first[1:], True]]          # keep each cell's last move: its final place
            track.move_start = np.full(len(track.move_cell), starts.min(), np.float32)
            track.move_end = np.full(len(track.move_cell), ends.max(), np.float32)
    at_once = refmeasure.timeline_figures(together)
    track = together.tensors[0]
    moved_cells = np.linalg.norm(track.move_to - track.position[track.move_cell], axis=1) > 1e-4
    assert at_once["in_flight_share"] == pytest.approx(moved_cells.sum() / len(track))
    assert at_once["in_flight_share"] >= shuffle["in_flight_share"] >= 0.8   # issue 9: every cube at once


def test_compare_reference_end_to_end(tmp_path):
    """96x54 Workbench, one clip: a sheet per clip and the figures table with every key."""
    out = tmp_path / "cmp"
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "compare_reference.py"), "--engine", "workbench",
         "--resolution", "96x54", "--samples", "1", "--clips", "pixel-unshuffle-2x2", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=str(REPO))
    assert completed.returncode == 0, completed.stderr[-3000:]
    sheet = out / "pixel-unshuffle-2x2-sheet.png"
    assert sheet.is_file()
    from PIL import Image
    with Image.open(sheet) as image:
        assert image.width >= 2 * 96 and image.height >= 3 * 54          # 3 moments, reference | ours
    table = (out / "figures.md").read_text()
    assert "pixel-unshuffle-2x2" in table and "ΔE2000" in table
    assert "| pixel-unshuffle-2x2 |" in completed.stdout
    figures = json.loads((out / "figures.json").read_text())
    clip = figures["clips"]["pixel-unshuffle-2x2"]
    assert set(clip["timeline"]) >= {"frames", "hold_frames", "transform_frames", "in_flight_share", "fps"}
    assert [m["reference_frame"] for m in clip["moments"]] == [0, 25, 50]
    for moment in clip["moments"]:
        assert set(moment) >= {"reference_frame", "our_frame", "ours", "reference", "delta_e"}
        for side in ("ours", "reference"):
            assert set(moment[side]) >= {"fill_w", "fill_h", "leaves_frame", "colors", "lum_p95"}
        assert 0 < moment["ours"]["fill_w"] <= 1 and 0 < moment["ours"]["fill_h"] <= 1
        assert 0 < moment["reference"]["fill_w"] <= 1
    assert clip["moments"][0]["ours"]["colors"]["input"] is not None
    assert clip["moments"][0]["delta_e"]["input"] is not None


@pytest.mark.parametrize("args, words", [
    (["--engine", "povray"], "engine"),
    (["--resolution", "big"], "resolution"),
    (["--clips", "conv-9x9"], "clips"),
    (["--samples", "0"], "samples"),
])
def test_compare_reference_bad_arguments_exit_2(tmp_path, args, words):
    completed = subprocess.run([sys.executable, str(REPO / "scripts" / "compare_reference.py"),
                                "--out", str(tmp_path / "x"), *args], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert words in completed.stderr
    assert not (tmp_path / "x").exists()
