"""The render's files beside the pictures (issue 14): the caption track (.srt) and the web export (.glb)."""

import re

import bpy
import numpy as np
import pytest

from animatedai_addon import api
from animatedai_addon.engine import SpecError, labels, presets
from animatedai_addon.engine.planning import plan
from animatedai_addon.engine.timeline import build_timeline, state_at
from animatedai_addon.rendering.exports import GLB_MAX_CUBES

pytestmark = [pytest.mark.blender, pytest.mark.render]

SMALL = ("in_channels=1", "out_channels=2", "height=4", "width=4", "timing.intro_frames=2", "timing.outro_frames=2",
         "timing.first_step_frames=0", "look.labels=true")
CUE = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)\n(.+)\n")


def engine_clip(preset: str, overrides=()):
    """The plan and timeline the render's clip was made from, rebuilt by the engine alone."""
    made = presets.apply_overrides(presets.load_preset_file(preset), list(overrides))
    the_plan = plan(made.spec)
    return the_plan, build_timeline(the_plan, made.timing, made.look)


def seconds(h, m, s, ms) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def test_srt_covers_the_whole_clip_whatever_frames_render(tmp_path):
    result = api.render(preset="espcn-x2", formats=("srt",), frames=(5, 6), out=str(tmp_path), resolution=(96, 54))
    assert [p.suffix for p in result.exports] == [".srt"] and not result.frames and not result.videos
    assert not (tmp_path / "espcn-x2" / "frames").exists() or not any((tmp_path / "espcn-x2" / "frames").iterdir())
    the_plan, timeline = engine_clip("espcn-x2")
    cues = CUE.findall(result.exports[0].read_text("utf-8"))
    expected = labels.captions(the_plan, timeline)
    assert [int(c[0]) for c in cues] == list(range(1, len(expected) + 1))
    assert [c[9] for c in cues] == [c.text for c in expected]
    starts = [seconds(*c[1:5]) * timeline.fps + timeline.frame_start for c in cues]
    ends = [seconds(*c[5:9]) * timeline.fps + timeline.frame_start for c in cues]
    assert starts[0] == timeline.frame_start and ends[-1] == pytest.approx(timeline.frame_end + 1, abs=0.03)
    for stage, (first_frame, _) in enumerate(timeline.stage_spans):
        first_cue = next(start for start, cue in zip(starts, expected) if cue.stage == stage)
        assert abs(first_cue - first_frame) <= 1.0, (stage, first_cue, first_frame)


@pytest.mark.parametrize("mode", ["objects", "instanced"])
def test_glb_reimported_moves_as_the_engine_says(tmp_path, mode):
    result = api.render(preset="conv-3x3-valid", overrides=SMALL, formats=("glb",), out=str(tmp_path), mode=mode,
                        resolution=(96, 54))
    glb = result.exports[0]
    assert glb.suffix == ".glb" and glb.stat().st_size > 0 and not result.frames
    _, timeline = engine_clip("conv-3x3-valid", SMALL)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(glb))
    root = np.array(bpy.data.objects["1:clip"].matrix_world.translation)
    cells = [(bpy.data.objects[f"1:{name}"], track.name, i) for track in timeline.tensors
             for i, name in enumerate(track.cell_names())]
    assert len(cells) == timeline.cube_count
    scene = bpy.context.scene
    worst = 0.0
    for frame in range(timeline.frame_start, timeline.frame_end + 1):
        scene.frame_set(frame)
        states = state_at(timeline, frame)
        for obj, tensor, i in cells:
            where = np.array(obj.matrix_world.translation) - root
            worst = max(worst, float(np.abs(where - states[tensor].world_position[i]).max()))
    assert worst <= 1e-4
    assert any(obj.type == "MESH" and obj.name.startswith("1:call") for obj in bpy.data.objects)


def test_glb_refused_above_its_size_before_rendering(tmp_path):
    big = ("in_channels=8", "out_channels=8", "height=40", "width=40")
    with pytest.raises(SpecError, match=f"formats.*{GLB_MAX_CUBES:,} cubes"):
        api.render(preset="conv-3x3-valid", overrides=big, formats=("png", "glb"), mode="instanced",
                   out=str(tmp_path), resolution=(96, 54))
    assert not list(tmp_path.rglob("*.png")) and not list(tmp_path.rglob("*.glb"))


def test_the_farm_refuses_srt_and_glb_before_starting(tmp_path):
    from animatedai_addon import farm, rendering
    job = rendering.RenderJob(preset="max-pool-2x2", formats=("png", "glb"), out=str(tmp_path / "never"))
    with pytest.raises(SpecError, match="formats.*glb without --workers"):
        farm.run_farm([job], workers=1)
    assert not (tmp_path / "never").exists()
