"""Named kernels: ``weights="sobel_x"`` etc. through the spec, plan(), TOML presets and --set overrides."""

import numpy as np
import pytest

from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.kernels import KERNEL_NAMES, KERNELS, with_named_weights
from animatedai_addon.engine.planning import plan
from animatedai_addon.engine.presets import apply_overrides, load_preset_file, preset_from_dict, preset_to_toml
from animatedai_addon.engine.spec import Chain, Conv1d, Conv2d, ReLU, depthwise, spec_from_dict

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", list(KERNELS))
def test_a_named_kernel_fills_every_filter_channel_and_matches_torch(name):
    spec = Conv2d(3, 6, 7, out_channels=2, padding="same", weights=name)
    result = plan(spec, seed=5)
    kernel = np.array(KERNELS[name])
    assert result.weights.shape == (2, 3, 3, 3)
    assert all(np.array_equal(result.weights[f, c], kernel) for f in range(2) for c in range(3))
    expected = torch.nn.functional.conv2d(torch.from_numpy(result.input)[None], torch.from_numpy(result.weights),
                                          padding="same")[0].numpy()
    np.testing.assert_allclose(result.output, expected, rtol=1e-12, atol=1e-12)
    # the same through plan's weights argument, whatever the spec says
    assert np.array_equal(plan(spec.replace(weights="random"), weights=name, seed=5).weights, result.weights)


def test_sobel_finds_edges_of_a_step():
    image = np.zeros((1, 6, 6))
    image[:, :, 3:] = 1.0                      # dark left, bright right: one vertical edge
    across = plan(Conv2d(1, 6, 6, 1, weights="sobel_x"), input=image).output[0]
    down = plan(Conv2d(1, 6, 6, 1, weights="sobel_y"), input=image).output[0]
    assert np.array_equal(across, np.tile([0.0, 4.0, 4.0, 0.0], (4, 1)))     # the edge, and only it
    assert not down.any()
    identity = plan(Conv2d(1, 6, 6, 1, weights="identity"), input=image).output[0]
    assert np.array_equal(identity, image[0, 1:-1, 1:-1])


def test_random_is_the_seeded_default_and_stays_out_of_the_dict():
    spec = Conv2d(2, 5, 5, 2)
    assert spec.weights == "random" and "weights" not in spec.to_dict()
    assert np.array_equal(plan(spec, seed=3).weights, plan(spec, weights="random", seed=3).weights)
    named = Conv2d(2, 5, 5, 2, weights="Sobel_X ")
    assert named.weights == "sobel_x" and named.to_dict()["weights"] == "sobel_x"
    assert spec_from_dict(named.to_dict()) == named
    assert depthwise(4, 5, 5, weights="blur").weights == "blur"


@pytest.mark.parametrize("bad, allowed", [("sobel", "one of 'random', 'sobel_x'"), (3, "one of"),
                                          (None, "one of")])
def test_an_unknown_kernel_is_refused_naming_weights(bad, allowed):
    with pytest.raises(SpecError, match=f"weights=.*{allowed}"):
        Conv2d(1, 5, 5, 1, weights=bad)


def test_named_kernels_are_3x3_only():
    with pytest.raises(SpecError, match="weights='sobel_x'.*3x3 \\(kernel_size 3\\)"):
        Conv2d(1, 8, 8, 1, kernel_size=5, weights="sobel_x")
    with pytest.raises(SpecError, match="weights='blur'.*3x3"):
        plan(Conv2d(1, 8, 8, 1, kernel_size=(3, 1)), weights="blur")
    with pytest.raises(SpecError, match="weights"):     # other operations take arrays only
        plan(Conv1d(1, 8, 1, 3), weights="sobel_x")


def test_overrides_and_presets_carry_the_kernel(tmp_path):
    preset = apply_overrides(load_preset_file("conv-3x3-valid"), ["weights=sobel_x"])
    assert preset.spec.weights == "sobel_x"
    again = preset_from_dict(preset.name, __import__("tomllib").loads(preset_to_toml(preset)))
    assert again.spec == preset.spec
    with pytest.raises(SpecError, match="weights='edges'"):
        apply_overrides(load_preset_file("conv-3x3-valid"), ["weights=edges"])
    chain = apply_overrides(load_preset_file("depthwise-separable"), ["stages.0.weights=sharpen"])
    assert chain.spec.stages[0].weights == "sharpen"


def test_with_named_weights_sets_the_conv_stages():
    conv = Conv2d(1, 6, 6, 2)
    assert with_named_weights(conv, "sobel_y").weights == "sobel_y"
    assert with_named_weights(conv, None) is conv
    chain = Chain((conv, ReLU(2, 4, 4)))
    assert with_named_weights(chain, ["blur", None]).stages[0].weights == "blur"
    with pytest.raises(SpecError, match="weights\\[1\\]=.*conv2d stages, this one is relu"):
        with_named_weights(chain, [None, "blur"])
    with pytest.raises(SpecError, match="a list of 2 entries"):
        with_named_weights(chain, "blur")
    with pytest.raises(SpecError, match="arrays go through engine.plan"):
        with_named_weights(conv, np.ones((2, 1, 3, 3)))
    assert set(KERNEL_NAMES) == {"random", "sobel_x", "sobel_y", "blur", "sharpen", "identity"}
