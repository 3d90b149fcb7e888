"""The Cycles settings chosen for the README's main command, and the benchmark that times it."""

from __future__ import annotations

import importlib.util

import bpy
import numpy as np
import pytest

from animatedai_addon import api, rendering

from .conftest import REPO, is_blank, read_png


def load_benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_render", REPO / "benchmarks" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cycles_jobs_get_the_speed_settings_over_the_template(tmp_path):
    job = rendering.RenderJob(preset="conv-3x3-stride2-valid", engine="cycles", samples=8, resolution=(64, 36),
                              out=str(tmp_path), formats=("png",), template="studio")
    rendering.prepare_scene(job, api)
    cycles = bpy.context.scene.cycles
    denoise = rendering.cycles_has_openimagedenoise()
    assert cycles.samples == 8
    for name, value in rendering.CYCLES_SPEED_SETTINGS.items():
        if name == "use_denoising":
            assert cycles.use_denoising == denoise
        elif denoise or not name.startswith("denoising_"):
            got = getattr(cycles, name)
            assert got == pytest.approx(value) if isinstance(value, float) else got == value, name
    if denoise:
        assert cycles.denoiser == "OPENIMAGEDENOISE"
    assert bpy.context.scene.render.use_persistent_data is True


def test_denoised_frame_is_smoother_than_the_raw_one(tmp_path):
    """The denoiser is really on: the same frame without it is grainier (a negative control)."""
    if not rendering.cycles_has_openimagedenoise():
        pytest.skip("this Cycles has no OpenImageDenoise")
    job = rendering.RenderJob(preset="conv-3x3-stride2-valid", engine="cycles", samples=8, resolution=(96, 54),
                              out=str(tmp_path), formats=("png",), template="studio")
    rendering.prepare_scene(job, api)
    scene = bpy.context.scene
    rendering.render_one_frame(scene, 20, tmp_path / "denoised.png")
    scene.cycles.use_denoising = False
    rendering.render_one_frame(scene, 20, tmp_path / "raw.png")
    denoised, raw = (read_png(tmp_path / f"{n}.png").astype(float) for n in ("denoised", "raw"))
    assert not is_blank(denoised)

    def grain(image):          # mean absolute difference between horizontal neighbours
        return float(np.abs(np.diff(image, axis=1)).mean())

    assert grain(denoised) < 0.8 * grain(raw)


def test_benchmark_reads_the_main_command():
    benchmark = load_benchmark()
    words = benchmark.main_command_arguments()
    script = (REPO / "scripts" / "setup_and_render.sh").read_text()
    for word in words:
        assert word in script
    job = benchmark.main_command_job("/tmp/unused")
    assert (job.engine, job.resolution, job.preset) == ("cycles", (480, 270), rendering.DEFAULT_PRESET)
    assert f"--samples {job.samples}" in script
    # the frame count comes from the engine's timeline, and follows the preset's timing
    from animatedai_addon import engine
    preset = engine.load_preset_file(job.preset)
    timeline = engine.build_timeline(engine.plan(preset.spec), preset.timing, preset.look)
    assert benchmark.clip_frame_count(job) == timeline.frame_end - timeline.frame_start + 1
    slower = job.replace(overrides=("timing.outro_frames=500",))
    assert benchmark.clip_frame_count(slower) > benchmark.clip_frame_count(job)
