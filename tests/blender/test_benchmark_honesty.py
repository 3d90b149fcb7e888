"""The benchmarks measure what they claim: benchmarks/render.py's "static" scene is static in both modes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon import api  # noqa: E402

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "render.py"


@pytest.fixture(scope="module")
def render_benchmark():
    spec = importlib.util.spec_from_file_location("render_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mode", ["objects", "instanced"])
def test_the_static_scene_is_static(render_benchmark, scene, mode):
    timeline = api.generate("conv-3x3-stride2-valid", mode=mode).timeline
    first, last = timeline.frame_start, timeline.frame_end
    middle = (first + last) // 2
    assert render_benchmark.evaluated_state(scene, first) != render_benchmark.evaluated_state(scene, middle)
    render_benchmark.freeze_animation(scene, middle)
    render_benchmark.check_static(scene, first, last)
    frozen = render_benchmark.evaluated_state(scene, middle)
    assert frozen == render_benchmark.evaluated_state(scene, first)


def test_instanced_cells_still_move_when_only_objects_are_frozen(render_benchmark, scene, monkeypatch):
    """Negative control: without pinning the Geometry Nodes' scene time, the instanced cells still animate
    (what the benchmark's "static" scene did before)."""
    timeline = api.generate("conv-3x3-stride2-valid", mode="instanced").timeline
    monkeypatch.setattr(render_benchmark, "pin_scene_time", lambda frame, seconds: 0)
    render_benchmark.freeze_animation(scene, (timeline.frame_start + timeline.frame_end) // 2)
    with pytest.raises(RuntimeError, match="still changes"):
        render_benchmark.check_static(scene, timeline.frame_start, timeline.frame_end)
