"""A ReLU stage in Blender, in both scene modes: the cells it replaces in place and its sweep box evaluate as the
engine's state_at says, frame by frame across the sweep (a cell changes at its channel's frame)."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon.engine import Chain, Conv2d, ReLU, plan  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402
from animatedai_addon.engine.inplace import changed_cells  # noqa: E402
from animatedai_addon.engine.timeline import Timing, build_timeline, state_at  # noqa: E402
from animatedai_addon.scene import writer  # noqa: E402
from tests.blender.test_instanced import assert_same_cells, engine_cells, evaluated_cells, nonzero  # noqa: E402

CUBE = 0.9


def relu_clip(highlights: bool):
    """conv (2 -> 3 channels) then ReLU: about half the conv's output cells are negative and go grey."""
    result = plan(Chain((Conv2d(2, 5, 5, 3), ReLU(3, 3, 3))), seed=7)
    changed = changed_cells(result.stages[1])
    assert changed.any() and not changed.all()
    timeline = build_timeline(result, Timing(intro_frames=2, first_step_frames=0, outro_frames=2),
                              highlights=highlights)
    return result, timeline


def sweep_frames(timeline):
    """Frames around the sweep: before it, each channel's change frame and the frames after it, the end."""
    replaced = timeline.tensor("stage1 output")
    changes = np.unique(replaced.appear[np.isfinite(replaced.appear)])
    frames = np.r_[changes.min() - 5, np.floor(changes), np.ceil(changes), np.ceil(changes) + 1, timeline.frame_end]
    return np.unique(frames.astype(int))


def test_objects_mode_replaces_the_changed_cells_in_place(mismatches):
    result, timeline = relu_clip(highlights=True)
    clip = writer.write_clip(timeline, "relu test", bpy.context.scene, "objects", cube_size=CUBE)
    assert mismatches(timeline, clip.cells, clip.boxes, sweep_frames(timeline), CUBE) == []
    # after the sweep the new cubes show the ReLU's output: grey where it zeroed a cell
    bpy.context.scene.frame_set(int(timeline.frame_end))
    zeroed = (changed_cells(result.stages[1]) & (result.stages[1].grid_output == 0)).ravel()
    colors = np.array([tuple(o.color) for o in clip.cells["stage1 output"]])
    grey = colors[zeroed]
    assert np.allclose(grey, grey[0]) and not np.isclose(colors[~zeroed], grey[0]).all(axis=1).any()
    assert all(o.scale[0] == 0 for o in clip.cells["stage0 output"])      # the conv's cubes all went


def test_instanced_mode_replaces_the_changed_cells_in_place():
    _, timeline = relu_clip(highlights=False)
    clip = writer.write_clip(timeline, "relu test", bpy.context.scene, "instanced", cube_size=CUBE)
    for frame in sweep_frames(timeline):
        bpy.context.scene.frame_set(int(frame))
        states = state_at(timeline, float(frame))
        for track in timeline.tensors:
            got = nonzero(evaluated_cells(clip.tensors[track.name]))
            want = engine_cells(track, states[track.name], CUBE)
            try:
                assert_same_cells(got, want)
            except AssertionError as error:
                raise AssertionError(f"{track.name} frame {frame}: {error}") from None


def test_the_panel_builds_activations_batch_norm_and_named_kernels():
    import animatedai_addon
    from animatedai_addon.engine import BatchNorm2d, ReLU6
    was_registered = animatedai_addon.is_registered()
    animatedai_addon.ensure_registered()
    try:
        settings = bpy.context.scene.animatedai
        settings.operation = "relu6"
        settings.in_channels, settings.height, settings.width = 3, 4, 5
        assert settings.build_spec() == ReLU6(3, 4, 5)
        settings.operation, settings.affine = "batch_norm2d", False
        assert settings.build_spec() == BatchNorm2d(3, 4, 5, affine=False)
        settings.apply_spec(Conv2d(2, 5, 5, 2, padding="same", weights="sobel_y"))
        assert (settings.operation, settings.weights) == ("conv2d", "sobel_y")
        assert settings.build_spec().weights == "sobel_y"
        settings.kernel_size = (5, 5)          # a named kernel is 3x3: the engine's message, not a clamp
        with pytest.raises(SpecError, match="weights='sobel_y'.*3x3"):
            settings.build_spec()
    finally:
        if not was_registered:
            animatedai_addon.unregister()
