"""``--closeup C,Y,X`` through scripts/render.py's own parsing: the job's scene ends with the close-up and the
clip's range counts its frames; a bad cell exits 2 with one line naming ``closeup`` before anything is written."""

from __future__ import annotations

import pytest

from animatedai_addon import api, rendering
from animatedai_addon.engine import closeup
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.rendering import RenderJob
from tests.render.test_hostile_cli import SCRIPT, files_under, refused, run
from tests.render.test_kernel_option import _render_script


def test_closeup_reaches_the_job_and_the_clips_range(tmp_path):
    script = _render_script()
    args = script.build_parser().parse_args(["--preset", "conv-3x3-valid", "--closeup", "1, 2,3",
                                             "--out", str(tmp_path / "out")])
    job = script.cli.job_from_args(args)
    assert job.closeup == (1, 2, 3)
    plain = rendering.clip_range(job.replace(closeup=None), api)
    first, last = rendering.clip_range(job, api)
    assert (first, last) == (plain[0], plain[1] + closeup.CLOSEUP_FRAMES)
    assert rendering.job_key(job) != rendering.job_key(job.replace(closeup=None))    # other pixels


def test_the_scene_a_job_builds_ends_with_its_closeup(tmp_path):
    job = RenderJob(preset="conv-3x3-valid", closeup=(0, 1, 1), out=str(tmp_path / "out"), formats=("png",),
                    resolution=(96, 54))
    result = rendering.prepare_scene(job, api)
    assert result.closeup is not None and result.closeup.product.cell == (0, 1, 1)
    assert (result.frame_start, result.frame_end) == rendering.clip_range(job, api)
    assert "closeup sum" in result.texts


@pytest.mark.parametrize("cell, fragment", [("0,x,1", "C,Y,X"), ("-1,0,0", "C,Y,X"), ("", "C,Y,X"),
                                            ("9,0,0", "inside the output shape"), ("0,0", "inside the output")])
def test_a_bad_closeup_exits_2_naming_it(tmp_path, cell, fragment):
    for frames in (["--frames", "1-2"], []):
        done = run(SCRIPT, "--preset", "conv-3x3-valid", f"--closeup={cell}", *frames, "--out", tmp_path / "out")
        line = refused(done, "closeup")
        assert fragment in line
    assert files_under(tmp_path) == set()


def test_a_closeup_on_a_clip_without_a_convolution_is_refused():
    with pytest.raises(SpecError, match="closeup.*no convolution"):
        rendering.clip_range(RenderJob(preset="pixel-shuffle-2x2", closeup=(0, 0, 0)), api)
