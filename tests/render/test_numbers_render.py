"""Numbers on cells render (issue 14): in Cycles, Eevee and Workbench a frame with numbers has light glyphs on
the dark cubes that the same frame without them lacks."""

import pytest

from animatedai_addon import api

from .conftest import read_png

pytestmark = [pytest.mark.blender, pytest.mark.render]

SMALL = ("in_channels=1", "out_channels=1", "height=4", "width=4", "timing.intro_frames=2", "timing.outro_frames=2",
         "timing.first_step_frames=0")


@pytest.mark.parametrize("engine", ["cycles", "eevee", "workbench"])
def test_numbers_show_in_every_engine(tmp_path, engine):
    frames = {}
    for numbers in (False, True):
        result = api.render(preset="conv-3x3-valid", overrides=SMALL + (f"look.numbers={str(numbers).lower()}",),
                            engine=engine, samples=4, resolution=(480, 270), frames=(10, 10), formats=("png",),
                            out=str(tmp_path / str(numbers)), template="studio")
        frames[numbers] = read_png(result.frames[0]).astype(int)
    # the input's numbers are near white on its teal (the dark filters' too): every channel of those pixels
    # rises, far more than Cycles' noise, which moves with the scene, changes any
    lightened = frames[True].min(axis=2) - frames[False].min(axis=2) > 40
    assert lightened.sum() >= 50, int(lightened.sum())
