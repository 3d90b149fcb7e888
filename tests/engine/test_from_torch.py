"""from_torch: a PyTorch model's spec and values; the plan's output is the model's own output (float64)."""

import numpy as np
import pytest

from animatedai_addon.engine import from_torch
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.spec import Chain, Conv2d, Flatten, Linear
from animatedai_addon.engine.torch_model import CONVERTERS

torch = pytest.importorskip("torch")
nn = torch.nn

pytestmark = pytest.mark.needs_torch


def model_output(module, values: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(values)[None])[0].numpy()


def check_model(module, input_shape, seed=0):
    module = module.double().eval()
    model = from_torch(module, input_shape)
    result = model.plan(seed=seed)
    np.testing.assert_allclose(result.output, model_output(module, result.input), rtol=1e-10, atol=1e-10)
    return model, result


def test_a_small_cnn_with_nested_sequentials_matches_the_model():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2),
        nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), nn.PixelShuffle(2)),
        nn.AvgPool2d(2, count_include_pad=False), nn.Flatten(), nn.Linear(8, 6), nn.Linear(6, 3, bias=False))
    model, result = check_model(module, (3, 8, 8), seed=4)
    assert isinstance(model.spec, Chain) and len(model.spec.stages) == 8
    assert model.layers == ("layers[0]", "layers[1]", "layers[2][0]", "layers[2][1]", "layers[3]", "layers[4]",
                            "layers[5]", "layers[6]")
    conv = result.stages[0]
    np.testing.assert_array_equal(conv.weights, module[0].weight.detach().numpy())
    np.testing.assert_array_equal(conv.bias, module[0].bias.detach().numpy())
    assert result.stages[2].bias is None and result.stages[7].bias is None
    assert model.spec.stages[5] == Flatten(2, 2, 2) and model.spec.stages[6] == Linear(8, 6)


@pytest.mark.parametrize("module, shape", [
    (nn.Conv1d(2, 3, 3, dilation=2, padding=2), (2, 9)),
    (nn.Sequential(nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2)), (2, 3, 3)),
    (nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(8, 2, 1, padding="same")), (2, 4, 4)),
    (nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, dilation=2), nn.Flatten(2)), (1, 6, 6)),
    (nn.Linear(5, 2), (5,)),
])
def test_each_supported_layer_matches_the_model(module, shape):
    torch.manual_seed(1)
    check_model(module, shape)


def test_a_float32_model_gives_its_weights_as_float64():
    torch.manual_seed(2)
    module = nn.Sequential(nn.Conv2d(1, 2, 2))
    model = from_torch(module, (1, 3, 3))
    assert model.weights.dtype == np.float64 and model.spec == Conv2d(1, 3, 3, 2, 2, bias=True)
    np.testing.assert_array_equal(model.weights, module[0].weight.detach().double().numpy())


def test_an_unsupported_layer_is_named_with_its_place_and_class():
    module = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.Conv2d(2, 2, 1), nn.Dropout()))
    with pytest.raises(SpecError) as info:
        from_torch(module, (1, 5, 5))
    assert info.value.parameter == "layers[1][1]"
    assert "Dropout" in str(info.value) and "nn.Linear" in str(info.value)


class MyConv(nn.Conv2d):
    def forward(self, x):
        return super().forward(x) * 2


@pytest.mark.parametrize("module, shape, where, words", [
    (nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")), (1, 4, 4), "layers[0]", "padding_mode"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, ceil_mode=True)), (1, 5, 5), "layers[1]", "ceil_mode"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(2, 2)), (1, 5, 5), "layers[1]", "Flatten"),
    (nn.Sequential(nn.Flatten(), nn.Linear(30, 2)), (1, 5, 5), "layers[1]", "in_features=25"),
    (nn.Sequential(nn.Flatten(0)), (1, 5, 5), "layers[0]", "batch"),
    (nn.Sequential(nn.Conv2d(2, 2, 3)), (1, 5, 5), "layers[0]", "in_channels"),
    (nn.Sequential(nn.Conv1d(1, 2, 3)), (1, 5, 5), "layers[0]", "(C, L)"),
    (nn.Sequential(MyConv(1, 2, 3)), (1, 5, 5), "layers[0]", "MyConv"),
    (nn.Sequential(nn.BatchNorm2d(1, track_running_stats=False)), (1, 5, 5), "layers[0]", "track_running_stats"),
    (nn.Sequential(nn.BatchNorm2d(2)), (1, 5, 5), "layers[0]", "num_features=1"),
    (nn.Sequential(nn.Flatten(), nn.ReLU()), (1, 5, 5), "layers[1]", "(C, H, W)"),
])
def test_layers_the_engine_cannot_show_are_refused_by_name(module, shape, where, words):
    with pytest.raises(SpecError) as info:
        from_torch(module, shape)
    assert info.value.parameter == where and words in str(info.value)


def test_bad_model_and_shape_arguments():
    for module, shape, name in ((nn.Sequential(), (1, 2, 2), "module"), ("conv", (1, 2, 2), "module"),
                                (nn.Conv2d(1, 1, 1), (1, 2, 2, 2, 2), "input_shape"),
                                (nn.Conv2d(1, 1, 1), (1, 0, 2), "input_shape"),
                                (nn.Conv2d(1, 1, 1), "1,2,2", "input_shape")):
        with pytest.raises(SpecError) as info:
            from_torch(module, shape)
        assert info.value.parameter == name


def test_every_converter_names_a_torch_nn_layer():
    assert all(isinstance(getattr(nn, name, None), type) for name in CONVERTERS)


def test_a_volume_and_an_inverted_residual_body_match_the_model():
    """Conv3d, and the layers of a MobileNetV2 body: 1x1 expand, BatchNorm2d (running statistics, affine),
    ReLU6, 3x3 depthwise, ReLU."""
    torch.manual_seed(3)
    check_model(nn.Sequential(nn.Conv3d(2, 3, (2, 3, 3), padding=1), nn.Conv3d(3, 2, 1, bias=False)), (2, 3, 4, 4))
    body = nn.Sequential(nn.Conv2d(2, 6, 1), nn.BatchNorm2d(6), nn.ReLU6(),
                         nn.Conv2d(6, 6, 3, padding=1, groups=6), nn.BatchNorm2d(6, affine=False), nn.ReLU())
    with torch.no_grad():                 # statistics a trained block would hold, not the initial 0 and 1
        for norm in (body[1], body[4]):
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
        body[1].weight.uniform_(0.5, 1.5)
    model, result = check_model(body, (2, 5, 5))
    assert [stage.op for stage in model.spec.stages] == ["conv2d", "batch_norm2d", "relu6", "conv2d",
                                                         "batch_norm2d", "relu"]
    np.testing.assert_array_equal(result.stages[1].weights["running_var"], body[1].running_var.double().numpy())
