"""Linear, Flatten and bias clips on the real bpy, in both scene modes, and a PyTorch model through api.generate:
what Blender evaluates is what engine.state_at says."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon import api  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402
from animatedai_addon.engine.spec import Chain, Conv2d, Flatten, Linear  # noqa: E402
from animatedai_addon.engine.timeline import Look, build_timeline, state_at  # noqa: E402
from animatedai_addon.scene import clip as clips  # noqa: E402

from .test_api import check_against_engine, sample_frames  # noqa: E402
from .test_instanced import assert_same_cells, engine_cells, evaluated_cells, nonzero  # noqa: E402

CLIPS = {
    "linear": Linear(6, 3),                                                 # with its bias (PyTorch's default)
    "flatten": Flatten(2, 3, 2, start_dim=1),                               # (2, 3, 2) -> (2, 6)
    "cnn head": Chain((Conv2d(1, 4, 4, 2, 3, bias=True), Flatten(2, 2, 2), Linear(8, 2, bias=False))),
}


def check_instanced(result, count=8):
    """The evaluated instances against the engine's full timeline (with its highlights), as objects mode shows."""
    full = build_timeline(result.plan)
    scene = bpy.context.scene
    for frame in sample_frames(full, count):
        scene.frame_set(frame)
        states = state_at(full, float(frame))
        for track in full.tensors:
            got = nonzero(evaluated_cells(result.tensors[track.name]))
            want = engine_cells(track, states[track.name], Look().cube_size)
            try:
                assert_same_cells(got, want)
            except AssertionError as error:
                raise AssertionError(f"{track.name} at frame {frame}: {error}") from None


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_objects_mode_matches_the_engine(name, mismatches):
    result = api.generate(CLIPS[name], seed=3)
    assert sum(len(cells) for cells in result.cells.values()) == result.timeline.cube_count
    check_against_engine(result, mismatches, count=24, seed=3)


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_instanced_mode_matches_the_engine(name):
    result = api.generate(CLIPS[name], mode="instanced", seed=3)
    check_instanced(result)


def test_a_linear_clip_shows_its_bias_cubes_with_their_values():
    result = api.generate(Linear(4, 2), seed=1, look={"value_shading": 1.0})
    for f in range(2):
        track = result.timeline.tensor(f"filter{f}")
        assert len(result.cells[f"filter{f}"]) == 5 and track.value[-1] == np.float32(result.plan.bias[f])


def test_a_torch_model_generates_with_its_own_weights(mismatches):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(12, 4)).double()
    result = api.generate(model, input_shape=(2, 4, 4), mode="instanced", seed=5)
    with torch.no_grad():
        expected = model(torch.from_numpy(result.plan.input)[None])[0].numpy()
    np.testing.assert_allclose(result.plan.output, expected, rtol=1e-10, atol=1e-12)
    # the clip keeps the model's values: rebuilding it from what it stored gives the same output
    stored = clips.read_source(result.collection)
    np.testing.assert_array_equal(stored.plan().output, result.plan.output)
    check_instanced(result, count=4)


def test_model_arguments_are_checked_before_the_scene_changes(datablock_counts):
    torch = pytest.importorskip("torch")
    before = datablock_counts()
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Sigmoid())     # a layer the engine cannot show
    for call, name in ((lambda: api.generate(model, input_shape=(2, 4, 4)), "layers[1]"),
                       (lambda: api.generate(model[:1]), "input_shape"),
                       (lambda: api.generate(model[:1], input_shape=(2, 4, 4), bias=[np.zeros(3)]), "bias"),
                       (lambda: api.generate(Conv2d(2, 4, 4, 3, 3), input_shape=(2, 4, 4)), "input_shape"),
                       (lambda: api.generate(Conv2d(2, 4, 4, 3, 3), bias=np.zeros(3)), "bias")):
        with pytest.raises(SpecError) as info:
            call()
        assert info.value.parameter == name
    assert datablock_counts() == before
