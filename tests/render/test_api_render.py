"""The scripting API's render(): the same path as scripts/render.py."""

import pytest
from PIL import Image

from animatedai_addon import api
from animatedai_addon.engine import SpecError

pytestmark = [pytest.mark.blender, pytest.mark.render]


def test_api_render_writes_the_frames_and_gif(tmp_path):
    result = api.render(preset="max-pool-2x2", engine="workbench", samples=1, resolution=(48, 27),
                        frames=(28, 30), out=str(tmp_path), formats=("png", "gif"))   # the first output cell pops in
    assert [p.name for p in result.frames] == [f"max-pool-2x2_{f:04d}.png" for f in (28, 29, 30)]
    with Image.open(result.videos[0]) as gif:      # Pillow merges identical frames: count their durations
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
        assert gif.n_frames >= 2 and gif.size == (48, 27)
        assert abs(sum(durations) - 3 * 1000 / 24) <= 3 * 10
    assert result.blend.exists()


def test_api_render_refuses_a_bad_engine_before_writing(tmp_path):
    with pytest.raises(SpecError, match="engine"):
        api.render(preset="max-pool-2x2", engine="povray", out=str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()
