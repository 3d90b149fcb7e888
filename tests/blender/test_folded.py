"""Folded tensors in Blender: a batch and a volume keep readable names and both scene modes show the
engine's state (cells are on the one grid the timeline uses)."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon import api  # noqa: E402
from animatedai_addon.engine import Conv2d, Conv3d, plan  # noqa: E402
from animatedai_addon.engine.timeline import Look, Timing, build_timeline, state_at  # noqa: E402
from animatedai_addon.scene import instanced, keys  # noqa: E402
from tests.blender.test_instanced import assert_same_cells, engine_cells, evaluated_cells, nonzero  # noqa: E402

pytestmark = pytest.mark.blender

BATCH = Conv2d(2, 3, 4, out_channels=2, kernel_size=3, padding="same", batch=2)
VOLUME = Conv3d(2, 3, 3, 3, out_channels=2, kernel_size=(2, 3, 3), padding=(1, 0, 1, 1, 0, 0))


@pytest.mark.parametrize("spec", [BATCH, VOLUME], ids=["batch", "conv3d"])
def test_objects_are_named_by_their_unfolded_index(spec):
    result = api.generate(spec, mode="objects", location=(0.0, 0.0, 0.0))
    for name, objects in result.cells.items():
        track = result.timeline.tensor(name)
        assert [o.name.partition(":")[2] for o in objects] == track.cell_names()
    names = {o.name for o in result.cells["input"]}
    if spec is BATCH:
        assert "1:input[n1,c1,y2,x3]" in names and "1:input padding[n1,c0,y0,x0]" in {
            o.name for o in result.cells["input padding"]}
    else:
        assert "1:input[c1,d2,y2,x2]" in names and "1:filter1[c1,d1,y2,x2]" in {
            o.name for o in result.cells["filter1"]}


@pytest.mark.parametrize("spec", [BATCH, VOLUME], ids=["batch", "conv3d"])
def test_instanced_cells_follow_the_grid_and_the_engine(scene, spec):
    """Each point's cell index is its grid cell; at frames across the clip the evaluated cells are the
    engine's (the full timeline's state, highlights included)."""
    look = Look(highlight="cells")
    result = api.generate(spec, mode="instanced", location=(0.0, 0.0, 0.0), look=look)
    full = build_timeline(plan(spec), Timing(), look)
    assert full.frame_end == result.timeline.frame_end
    for name, obj in result.tensors.items():
        if instanced.is_point_object(obj):
            track = full.tensor(name)
            assert np.array_equal(instanced.read_attribute(obj.data, "cell"), keys.flat_cell_index(track))
    steps = full.step_frames
    frames = np.unique(np.r_[np.linspace(full.frame_start, full.frame_end, 5).round(),
                             steps[[1, len(steps) // 2, -1]].round() + 1]).astype(int)
    for frame in frames:
        scene.frame_set(int(frame - full.frame_start + result.start_frame))
        states = state_at(full, float(frame))
        for track in full.tensors:
            obj = result.tensors[track.name]
            if not instanced.is_point_object(obj):
                continue
            got = nonzero(evaluated_cells(obj))
            want = engine_cells(track, states[track.name], look.cube_size)
            try:
                assert_same_cells(got, want)
            except AssertionError as error:
                raise AssertionError(f"{track.name} frame {frame}: {error}") from None


def test_made_editable_cells_keep_their_unfolded_names():
    result = api.generate(BATCH, mode="instanced", location=(0.0, 0.0, 0.0))
    made = api.make_editable(result, channels=(1, 1))
    names = {o.name for o in made}
    assert "1:input[n0,c1,y0,x0]" in names and "1:input[n1,c1,y2,x3]" in names
    assert all("[n" in name for name in names if name.startswith(("1:input", "1:output")))


@pytest.mark.parametrize("spec", [BATCH, VOLUME.replace(batch=3)], ids=["batch", "conv3d"])
def test_the_panel_shows_and_builds_batches_and_volumes(spec):
    """Every Operation-menu form carries the Batch field: the panel's settings give the spec back."""
    settings = bpy.context.scene.animatedai
    settings.apply_spec(spec)
    assert settings.operation == spec.op and settings.batch == spec.batch
    assert settings.build_spec() == spec
    settings.batch = 1
    assert settings.build_spec() == spec.replace(batch=1)
